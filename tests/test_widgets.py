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
