"""Figures: image grids, labelled comparisons, and saving figures to ``figures/``.

Taught in notebook 01 and used by every notebook.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch


def figures_dir() -> Path:
    """Where figures go: ``LAFR_FIGURES`` if set, else ``figures/`` at the top of the repository
    that contains the current folder (so notebooks run from ``notebooks/`` write to the same place),
    else ``./figures``."""
    env = os.environ.get("LAFR_FIGURES")
    if env:
        d = Path(env)
    else:
        here = Path.cwd().resolve()
        top = next(
            (p for p in (here, *here.parents) if (p / "pyproject.toml").is_file() and (p / "lafr").is_dir()), None
        )
        d = (top or here) / "figures"
    d.mkdir(parents=True, exist_ok=True)
    return d


def save_figure(fig, name: str) -> Path:
    """Save a matplotlib figure as ``figures/<name>.png`` (150 dpi) and return the path."""
    path = figures_dir() / f"{name}.png"
    fig.savefig(path, dpi=150, bbox_inches="tight")
    return path


def _hwc(img) -> np.ndarray:
    if isinstance(img, torch.Tensor):
        img = img.detach().float().cpu()
        if img.dim() == 3 and img.shape[0] in (1, 3):
            img = img.permute(1, 2, 0)
        img = img.numpy()
    img = np.clip(np.asarray(img, dtype=np.float32), 0, 1)
    return img[..., 0] if img.ndim == 3 and img.shape[-1] == 1 else img


def image_grid(images, titles=None, ncols: int = 8, size: float = 1.6, suptitle: str | None = None, landmarks=None):
    """A figure showing images ([0, 1] tensors 3 x H x W or arrays H x W x 3) in a grid, with
    optional titles and optional landmark points (K x 2 pixel coordinates per image)."""
    n = len(images)
    ncols = min(ncols, n)
    nrows = (n + ncols - 1) // ncols
    title_lines = max((str(t).count("\n") + 1 for t in titles), default=0) if titles is not None else 0
    row_height = size + 0.15 * title_lines  # room for each row's titles, so they never overlap the row above
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(size * ncols, row_height * nrows + (0.4 if suptitle else 0)), squeeze=False
    )
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        img = _hwc(images[i])
        ax.imshow(img, cmap="gray" if img.ndim == 2 else None, vmin=0, vmax=1, interpolation="nearest")
        if titles is not None:
            ax.set_title(titles[i], fontsize=7)
        if landmarks is not None and landmarks[i] is not None:
            pts = np.asarray(landmarks[i])
            ax.scatter(pts[:, 0], pts[:, 1], s=4, c="lime")
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    fig.tight_layout()
    return fig
