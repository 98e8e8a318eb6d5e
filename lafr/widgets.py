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
    fig, axes = plt.subplots(1, 4, figsize=(9, 2.6))
    panels = [(face, "HQ"), (lq, f"LQ (strength {strength:.2f})"), (dec[1], "decode(encode(LQ))")]
    for ax, (img, title) in zip(axes, panels):
        ax.imshow(img.permute(1, 2, 0).clamp(0, 1).numpy())
        ax.set_title(title, fontsize=8)
    im = axes[3].imshow(gap.numpy(), cmap="magma")
    axes[3].set_title(f"|z_LQ - z_HQ|, mean {float(gap.mean()):.3f}", fontsize=8)
    fig.colorbar(im, ax=axes[3], fraction=0.046)
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
def codebook_map_figure(adapter, vae, face: torch.Tensor, preset: str, strength: float = 1.0, seed: int = 0, top: int = 12):
    """Which codebook entries one degraded face uses: HQ, LQ, decode(z_aligned), the map of chosen
    entries (one colour per entry, the same colour for the same entry everywhere), and the entries
    this face uses most.  ``face`` is 3 x H x W in [0, 1].  Taught in notebook 03."""
    lq, _ = degrade.degrade(face, preset, seed=seed, strength=strength)
    z = vae_io.encode(vae, to_model(lq[None]))
    aligned, idx = adapter(z.to(adapter.dtype), return_indices=True)
    dec = from_model(vae_io.decode(vae, aligned.to(z.dtype)).float())[0]
    idx = idx[0].cpu()
    k = adapter.config.codebook_size
    colours = plt.get_cmap("hsv")(torch.randperm(k, generator=torch.Generator().manual_seed(0)).numpy() / k)
    counts = torch.bincount(idx.flatten(), minlength=k)
    order = counts.argsort(descending=True)[:top]
    order = order[counts[order] > 0]
    fig, axes = plt.subplots(1, 5, figsize=(12, 2.6), gridspec_kw={"width_ratios": [1, 1, 1, 1, 1.6]})
    for ax, (img, title) in zip(axes, [(face, "HQ"), (lq, f"LQ (strength {strength:.2f})"), (dec, "decode(z_aligned)")]):
        ax.imshow(img.permute(1, 2, 0).clamp(0, 1).numpy())
        ax.set_title(title, fontsize=8)
        ax.axis("off")
    axes[3].imshow(colours[idx.numpy()])
    axes[3].set_title(f"chosen entry per position\n{len(idx.unique())} distinct of {k}", fontsize=8)
    axes[3].axis("off")
    axes[4].bar(range(len(order)), counts[order].numpy(), color=colours[order.numpy()])
    axes[4].set_xticks(range(len(order)), [str(int(i)) for i in order], rotation=90, fontsize=7)
    axes[4].set_title("most used entries (positions)", fontsize=8)
    fig.tight_layout()
    return fig


def codebook_explorer(adapter, vae, faces: torch.Tensor, preset: str):
    """Sliders for the face and the degradation strength over ``codebook_map_figure``."""
    return _face_and_strength_sliders(lambda i, s: codebook_map_figure(adapter, vae, faces[i], preset, s, seed=i), len(faces), 1.0)
