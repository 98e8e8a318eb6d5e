import matplotlib

matplotlib.use("Agg")

import torch  # noqa: E402
from diffusers import AutoencoderKL  # noqa: E402

from lafr import widgets  # noqa: E402


def _vae():
    return AutoencoderKL(
        block_out_channels=(8, 8),
        down_block_types=("DownEncoderBlock2D",) * 2,
        up_block_types=("UpDecoderBlock2D",) * 2,
        norm_num_groups=4,
        latent_channels=4,
    )


def test_static_figure_and_widget():
    faces = torch.rand(3, 3, 32, 32)
    fig = widgets.latent_gap_figure(_vae(), faces[0], "tiny", strength=0.5, seed=1)
    assert len(fig.axes) == 5  # four panels and the colour bar
    assert fig.axes[4].get_ylabel() == "mean |latent difference|"  # the bar says what it measures
    assert fig.axes[3].images[0].get_clim()[0] == 0  # the gap map's scale starts at no change
    box = widgets.latent_explorer(_vae(), faces, "tiny")
    face_slider, strength_slider = box.children[0].children
    assert face_slider.max == 2 and strength_slider.value == 0.5
    strength_slider.value = 1.0  # redraws without error


def test_codebook_figure_and_explorer():
    from lafr.adapter import LatentAlignmentAdapter

    adapter = LatentAlignmentAdapter(hidden=8, codebook_size=16, blocks=1).eval()
    faces = torch.rand(2, 3, 32, 32)
    share = torch.linspace(0, 1, 16)  # entry k is used at the eyes or mouth k/15 of the time
    vae = _vae()
    fig = widgets.codebook_map_figure(adapter, vae, faces[0], "tiny", share, strength=1.0, seed=0, chance=0.1)
    assert len(fig.axes) == 5  # four panels and the colour bar
    shown = fig.axes[3].images[0].get_array()
    lq, _ = widgets.degrade.degrade(faces[0], "tiny", seed=0)
    _, idx = adapter(widgets.vae_io.encode(vae, widgets.to_model(lq[None])), return_indices=True)
    assert torch.allclose(torch.as_tensor(shown.data), share[idx[0]])  # each position shows its entry's share
    box = widgets.codebook_explorer(adapter, vae, faces, "tiny", share)
    face_slider, strength_slider = box.children[0].children
    assert face_slider.max == 1 and strength_slider.value == 1.0
    face_slider.value = 1  # redraws without error


def test_entry_region_share():
    from lafr.adapter import entry_region_share

    indices = torch.tensor([[[0, 0], [1, 2]]])
    regions = torch.tensor([[[1, 0], [1, 0]]])
    share = entry_region_share(indices, regions, 4)
    assert share[0] == 0.5 and share[1] == 1.0 and share[2] == 0.0 and torch.isnan(share[3])
