import matplotlib

matplotlib.use("Agg")

import torch  # noqa: E402
from diffusers import AutoencoderKL  # noqa: E402

from lafr import widgets  # noqa: E402


def _vae():
    return AutoencoderKL(block_out_channels=(8, 8), down_block_types=("DownEncoderBlock2D",) * 2,
                         up_block_types=("UpDecoderBlock2D",) * 2, norm_num_groups=4, latent_channels=4)


def test_static_figure_and_widget():
    faces = torch.rand(3, 3, 32, 32)
    fig = widgets.latent_gap_figure(_vae(), faces[0], "tiny", strength=0.5, seed=1)
    assert len(fig.axes) == 5  # four panels and the colour bar
    box = widgets.latent_explorer(_vae(), faces, "tiny")
    face_slider, strength_slider = box.children[0].children
    assert face_slider.max == 2 and strength_slider.value == 0.5
    strength_slider.value = 1.0  # redraws without error


def test_codebook_figure_and_explorer():
    from lafr.adapter import LatentAlignmentAdapter

    adapter = LatentAlignmentAdapter(hidden=8, codebook_size=16, blocks=1).eval()
    faces = torch.rand(2, 3, 32, 32)
    fig = widgets.codebook_map_figure(adapter, _vae(), faces[0], "tiny", strength=1.0, seed=0, top=5)
    assert len(fig.axes) == 5
    bars = fig.axes[4].patches
    assert 1 <= len(bars) <= 5 and sum(b.get_height() for b in bars) <= 16 * 16  # at most one entry per position
    box = widgets.codebook_explorer(adapter, _vae(), faces, "tiny")
    face_slider, strength_slider = box.children[0].children
    assert face_slider.max == 1 and strength_slider.value == 1.0
    face_slider.value = 1  # redraws without error
