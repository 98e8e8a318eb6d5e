"""Thin ipywidgets front-ends over pure functions.

Each explorer has a pure function that draws one matplotlib figure (used for the static fallback
cell, so nbval and non-interactive readers get the figure) and a widget that redraws it when a
slider moves.  Taught in notebooks 02 (the latent gap) and 03 (the codebook).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import torch

from lafr import degrade, vae as vae_io
from lafr.data import from_model, to_model


def latent_gap_figure(vae, face: torch.Tensor, preset: str, strength: float, seed: int = 0):
    """One face at one degradation strength: HQ, LQ, the VAE's decoding of the LQ latent, and the
    map of the latent difference |z_LQ - z_HQ| (mean over channels).  ``face`` is 3 x H x W in [0, 1]."""
    lq, _ = degrade.degrade(face, preset, seed=seed, strength=strength)
    z = vae_io.encode(vae, to_model(torch.stack([face, lq])))
    dec = from_model(vae_io.decode(vae, z).float())
    gap = (z[1] - z[0]).abs().mean(0).float()
    fig, axes = plt.subplots(1, 4, figsize=(9.4, 2.6))
    panels = [(face, "HQ"), (lq, f"LQ (strength {strength:.2f})"), (dec[1], "the LQ latent, decoded")]
    for ax, (img, title) in zip(axes, panels):
        ax.imshow(img.permute(1, 2, 0).clamp(0, 1).numpy())
        ax.set_title(title, fontsize=8)
    im = axes[3].imshow(gap.numpy(), cmap="magma", vmin=0)
    axes[3].set_title(f"where the latent moved (mean {float(gap.mean()):.3f})", fontsize=8)
    fig.colorbar(im, ax=axes[3], fraction=0.046, label="mean |latent difference|")
    for ax in axes:
        ax.axis("off")
    fig.tight_layout()
    return fig


def _face_and_strength_sliders(draw, n_faces: int, strength: float):
    """A face slider and a strength slider; ``draw(face_index, strength)`` returns the figure to show."""
    import ipywidgets as w
    from IPython.display import display

    face = w.IntSlider(0, 0, n_faces - 1, description="face")
    level = w.FloatSlider(strength, min=0.0, max=1.0, step=0.125, description="strength")
    out = w.Output()

    def redraw(*_):
        with out:
            out.clear_output(wait=True)
            fig = draw(face.value, level.value)
            display(fig)
            plt.close(fig)

    face.observe(redraw, "value")
    level.observe(redraw, "value")
    redraw()
    return w.VBox([w.HBox([face, level]), out])


def latent_explorer(vae, faces: torch.Tensor, preset: str):
    """Sliders for the face and the degradation strength over ``latent_gap_figure``."""
    return _face_and_strength_sliders(lambda i, s: latent_gap_figure(vae, faces[i], preset, s, seed=i), len(faces), 0.5)


@torch.no_grad()
def codebook_map_figure(
    adapter,
    vae,
    face: torch.Tensor,
    preset: str,
    share: torch.Tensor,
    strength: float = 1.0,
    seed: int = 0,
    chance: float | None = None,
):
    """Which kind of codebook entry one degraded face uses where: HQ, LQ, decode(z_aligned), and a
    map of the chosen entry at each latent position, coloured by ``share``: the fraction of that
    entry's uses, over other faces, that fall at the eyes or mouth (``lafr.adapter.entry_region_share``).
    Bright eyes and mouth on a dark face mean the codebook keeps entries for them.  ``chance`` (the
    eyes' and mouth's share of all positions) is marked on the colour bar.  ``face`` is 3 x H x W in
    [0, 1].  Taught in notebook 03."""
    lq, _ = degrade.degrade(face, preset, seed=seed, strength=strength)
    z = vae_io.encode(vae, to_model(lq[None]))
    aligned, idx = adapter(z.to(adapter.dtype), return_indices=True)
    dec = from_model(vae_io.decode(vae, aligned.to(z.dtype)).float())[0]
    entry_share = share.cpu()[idx[0].cpu()]
    fig, axes = plt.subplots(1, 4, figsize=(10, 2.8))
    for ax, (img, title) in zip(
        axes, [(face, "HQ face"), (lq, f"degraded (strength {strength:.2f})"), (dec, "decoded aligned latent")]
    ):
        ax.imshow(img.permute(1, 2, 0).clamp(0, 1).numpy())
        ax.set_title(title, fontsize=8)
    cmap = plt.get_cmap("inferno").with_extremes(bad="0.6")  # grey: an entry never chosen by the counting faces
    im = axes[3].imshow(entry_share.numpy(), cmap=cmap, vmin=0, vmax=1)
    axes[3].set_title(
        f"chosen entry: how often it is used\nat the eyes or mouth ({len(idx.unique())} distinct entries)", fontsize=8
    )
    bar = fig.colorbar(im, ax=axes[3], fraction=0.046)
    if chance is not None:
        bar.ax.axhline(chance, c="c", lw=2)
        bar.ax.text(1.6, chance, "chance", va="center", fontsize=7, transform=bar.ax.get_yaxis_transform())
    for ax in axes:
        ax.axis("off")
    fig.tight_layout()
    return fig


def codebook_explorer(adapter, vae, faces: torch.Tensor, preset: str, share: torch.Tensor, chance: float | None = None):
    """Sliders for the face and the degradation strength over ``codebook_map_figure``."""
    draw = lambda i, s: codebook_map_figure(adapter, vae, faces[i], preset, share, s, seed=i, chance=chance)
    return _face_and_strength_sliders(draw, len(faces), 1.0)
