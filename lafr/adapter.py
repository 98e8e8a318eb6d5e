"""The latent codebook alignment adapter (paper Sec. 2.3 and appendix A.2.2).

Read this file next to Sec. 2.3.  The adapter maps the VAE latent of a low-quality face, z_LQ, to
an aligned latent z_aligned that should be close to the latent of the clean face, z_HQ:

    f      = FeatureExtractor(z_LQ)                  a shallow conv net, d features per position
    c*     = argmin_{c_i in C} || f - c_i ||_2      nearest codebook entry, at every position
    z_al   = MappingNetwork(c*)                     a small conv net back to the latent's channels

trained with L_align = || z_aligned - z_HQ ||_1 (``lafr.train``), the VAE frozen.

Two details the paper leaves loose, settled here (DESIGN.md section 6):

* **Per position.** The codebook is queried at every spatial position of the latent, like a VQ
  layer.  One global vector per image could only ever produce ``codebook_size`` distinct latents.
* **The differentiable argmin.**  A.2.2's straight-through ``forward`` returns ``argmax``: a bug,
  the nearest entry is the argmin of the distances.  And an index is not a vector: we turn the
  choice into a codebook vector as ``weights @ codebook``.  Soft mode uses the softmax of
  ``-beta * distance`` as weights in both passes; straight-through mode uses the hard one-hot in the
  forward pass and the soft weights' gradient in the backward pass.

Trained adapters are loaded by ``load_trained_adapter``: from the folder ``lafr train-adapter``
wrote, or by the built-in name of a committed toy adapter (``TOY_ADAPTERS``).

Taught in notebook 03.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
import torch.nn.functional as F
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn


def differentiable_argmin(distances: torch.Tensor, beta: float, straight_through: bool) -> torch.Tensor:
    """Weights over codebook entries (last dimension) that pick the nearest entry, differentiably.

    ``distances`` is (..., K).  Soft mode returns softmax(-beta * d).  Straight-through mode returns
    the one-hot of argmin(d) in the forward pass, with the gradient of the soft weights (the
    fix of A.2.2's ``STArgmin``).  Multiply by the codebook to get the chosen vector.
    Taught in notebook 03.
    """
    soft = torch.softmax(-beta * distances, dim=-1)
    if not straight_through:
        return soft
    hard = F.one_hot(distances.argmin(dim=-1), distances.shape[-1]).to(soft.dtype)
    return hard + (soft - soft.detach())  # value: exactly hard (the bracket is exactly 0); gradient: soft's


class ResBlock(nn.Module):
    """GroupNorm, SiLU, 3x3 conv, twice, plus the input."""

    def __init__(self, width: int, groups: int = 32):
        super().__init__()
        self.block = nn.Sequential(
            nn.GroupNorm(min(groups, width), width),
            nn.SiLU(),
            nn.Conv2d(width, width, 3, padding=1),
            nn.GroupNorm(min(groups, width), width),
            nn.SiLU(),
            nn.Conv2d(width, width, 3, padding=1),
        )

    def forward(self, x):
        return x + self.block(x)


class LatentAlignmentAdapter(ModelMixin, ConfigMixin):
    """Feature extractor -> per-position codebook lookup -> mapping network.

    ``latent_channels``: the VAE's (4 for SD 2.1).  ``hidden``: the width of both conv nets and of
    the codebook entries (256 in the paper).  ``codebook_size``: the number of entries (1024).
    ``blocks``: residual blocks in each conv net.  ``residual``: add z_LQ to the output, an
    ablation that is *not* the paper's method (it is off by default).  Works for any latent height
    and width.  Taught in notebook 03.
    """

    @register_to_config
    def __init__(
        self,
        latent_channels: int = 4,
        hidden: int = 256,
        codebook_size: int = 1024,
        blocks: int = 2,
        beta: float = 10.0,
        straight_through: bool = True,
        residual: bool = False,
    ):
        super().__init__()
        self.extractor = nn.Sequential(
            nn.Conv2d(latent_channels, hidden, 3, padding=1),
            *[ResBlock(hidden) for _ in range(blocks)],
            nn.GroupNorm(min(32, hidden), hidden),
            nn.SiLU(),
            nn.Conv2d(hidden, hidden, 1),
        )
        self.codebook = nn.Parameter(torch.randn(codebook_size, hidden) / hidden**0.5)
        self.mapping = nn.Sequential(
            nn.Conv2d(hidden, hidden, 1),
            *[ResBlock(hidden) for _ in range(blocks)],
            nn.GroupNorm(min(32, hidden), hidden),
            nn.SiLU(),
            nn.Conv2d(hidden, latent_channels, 3, padding=1),
        )

    def distances(self, features: torch.Tensor) -> torch.Tensor:
        """Squared Euclidean distances from every position's feature (B, d, H, W) to every entry:
        (B, H, W, K)."""
        f = features.permute(0, 2, 3, 1)  # B, H, W, d
        c = self.codebook
        return (f * f).sum(-1, keepdim=True) - 2 * f @ c.T + (c * c).sum(-1)

    def quantize(self, z_lq: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(codebook vectors c* as B x d x H x W, indices of the nearest entries B x H x W)."""
        d = self.distances(self.extractor(z_lq))
        weights = differentiable_argmin(d, self.config.beta, self.config.straight_through)
        chosen = (weights @ self.codebook).permute(0, 3, 1, 2)
        return chosen, d.argmin(-1)

    def forward(self, z_lq: torch.Tensor, return_indices: bool = False):
        """z_LQ (B x C x H x W, scaled latents) -> z_aligned, the same shape (and, with
        ``return_indices``, the chosen entries, B x H x W)."""
        chosen, indices = self.quantize(z_lq)
        out = self.mapping(chosen)
        out = out + z_lq if self.config.residual else out
        return (out, indices) if return_indices else out

    def parameter_table(self) -> dict[str, int]:
        """Parameters per part: feature extractor, codebook, mapping network, total."""
        count = lambda m: sum(p.numel() for p in m.parameters())
        table = {
            "feature extractor": count(self.extractor),
            "codebook": self.codebook.numel(),
            "mapping network": count(self.mapping),
        }
        table["total"] = sum(table.values())
        return table


def codebook_usage(indices: torch.Tensor, codebook_size: int) -> dict:
    """Health of a codebook from the indices it chose: a usage histogram, perplexity (the effective
    number of entries in use; at most ``codebook_size``) and the number of dead entries (never
    chosen).  Taught in notebook 03."""
    counts = torch.bincount(indices.flatten().cpu(), minlength=codebook_size).float()
    p = counts / counts.sum()
    entropy = -(p[p > 0] * p[p > 0].log()).sum()
    return {
        "counts": counts,
        "perplexity": float(entropy.exp()),
        "dead": int((counts == 0).sum()),
        "used": int((counts > 0).sum()),
    }


def entry_region_share(indices: torch.Tensor, regions: torch.Tensor, codebook_size: int) -> torch.Tensor:
    """For each codebook entry, the fraction of its uses that fall inside a region of interest.

    ``indices`` are the chosen entries (N x H x W), ``regions`` a 0/1 map of the same shape (for
    example the eye and mouth boxes at the latent's resolution).  Entries never chosen get NaN.  An
    entry with a share far above the region's share of all positions is one the codebook keeps for
    that region.  Taught in notebook 03."""
    idx, inside = indices.flatten().cpu(), regions.flatten().cpu().float()
    uses = torch.bincount(idx, minlength=codebook_size).float()
    hits = torch.bincount(idx, weights=inside, minlength=codebook_size).float()
    return torch.where(uses > 0, hits / uses.clamp_min(1), torch.full_like(uses, float("nan")))


# ---- trained adapters ---------------------------------------------------------------------------

_WEIGHTS = Path(__file__).resolve().parent / "weights"


TOY_ADAPTERS = {  # built-in names of the committed toy adapters (tiny profile)
    "lafr-toy-adapter": _WEIGHTS / "toy_adapter",  # the paper's form
    "lafr-toy-adapter-residual": _WEIGHTS / "toy_adapter_residual",  # the skip-connection ablation
}


def load_trained_adapter(where: str | os.PathLike) -> tuple[LatentAlignmentAdapter, dict | None]:
    """(adapter, manifest or None) from the ``--out`` folder of ``lafr train-adapter`` (or its
    ``adapter`` subfolder), or a name of ``TOY_ADAPTERS``, the committed toy adapters.  Taught in
    notebook 03."""
    folder = TOY_ADAPTERS.get(str(where), Path(where).expanduser())
    model_dir = folder / "adapter" if (folder / "adapter" / "config.json").is_file() else folder
    if not (model_dir / "config.json").is_file():
        from lafr.models import ModelNotFoundError  # an OSError that names the model and how to supply it

        raise ModelNotFoundError(
            f"no trained adapter in {folder.resolve()} (looked for {folder / 'adapter' / 'config.json'} and "
            f"{folder / 'config.json'}). Train one with `lafr train-adapter --out {folder}` (add --profile and "
            "--data as needed), or point at the --out folder of an earlier run."
        )
    manifest = folder / "manifest.json"
    adapter = LatentAlignmentAdapter.from_pretrained(model_dir)
    return adapter.eval(), json.loads(manifest.read_text()) if manifest.is_file() else None
