"""Into and out of the latent space: VAE encode and decode, with the scaling factor applied once.

Stable Diffusion multiplies the VAE's latent by a scaling factor (0.18215 for SD 2.1) after
encoding, so the diffusion model sees latents of roughly unit variance, and divides by it before
decoding.  Getting this wrong (applying it twice, or not at all) is the classic silent bug, so
every encode and decode in ``lafr`` goes through these two functions.

Images here are in [-1, 1] (``lafr.data.to_model`` converts from [0, 1]); height and width must
be multiples of the VAE's downsampling factor (``vae_factor``): we raise a clear error rather than
pad, because padding would silently change what the restorer sees.  Works for the real SD 2.1
VAE and the toy one, batched, in fp32, fp16 or bf16 (inputs are cast to the VAE's dtype).

Taught in notebook 02.
"""

from __future__ import annotations

import torch
from diffusers import AutoencoderKL

# Images per batch when none is given: at most 32, and at most 8 of 512 x 512 pixels.  SD 2.1's encoder
# holds about 0.6 GiB of activations per 512 px image: 32 of them need 24 GiB, more than a T4 or an L4
# has (benchmarks/predict_gpu.py).  At the toy's 64 px and the rehearsal's 128 px the cap of 32 applies.
BATCH_PIXELS = 8 * 512 * 512


def batch_for(height: int, width: int, cap: int = 32) -> int:
    """How many images of ``height`` x ``width`` pixels ``encode`` and ``decode`` take at a time by default."""
    return max(1, min(cap, BATCH_PIXELS // (height * width)))


def vae_factor(vae: AutoencoderKL) -> int:
    """How much the VAE shrinks height and width (8 for SD 2.1, 4 for the toy VAE)."""
    return 2 ** (len(vae.config.block_out_channels) - 1)


def _check_size(vae, h: int, w: int, what: str):
    f = vae_factor(vae)
    if h % f or w % f:
        raise ValueError(
            f"{what} is {h}x{w}, but the VAE needs height and width divisible by {f}; "
            f"resize or crop it first (for example with lafr.data.resize_square)"
        )


@torch.no_grad()
def encode(
    vae: AutoencoderKL, images: torch.Tensor, sample: bool = False, generator=None, batch_size: int | None = None
) -> torch.Tensor:
    """Images N x 3 x H x W in [-1, 1] -> latents N x C x H/f x W/f, times the scaling factor.

    ``sample=False`` takes the mean of the latent distribution (deterministic); ``sample=True``
    draws from it (with ``generator``).  ``batch_size`` images at a time (default: ``batch_for``).
    Taught in notebook 02.
    """
    if images.dim() != 4 or images.shape[1] != vae.config.in_channels:
        raise ValueError(f"expected images N x {vae.config.in_channels} x H x W, got {tuple(images.shape)}")
    _check_size(vae, images.shape[-2], images.shape[-1], "the image")
    batch_size = batch_size or batch_for(images.shape[-2], images.shape[-1])
    p = next(vae.parameters())
    out = []
    for i in range(0, len(images), batch_size):
        dist = vae.encode(images[i : i + batch_size].to(device=p.device, dtype=p.dtype)).latent_dist
        z = dist.sample(generator=generator) if sample else dist.mean
        out.append(z * vae.config.scaling_factor)
    return torch.cat(out)


@torch.no_grad()
def decode(
    vae: AutoencoderKL, latents: torch.Tensor, batch_size: int | None = None, clamp: bool = True
) -> torch.Tensor:
    """Latents (times the scaling factor) -> images N x 3 x H x W in [-1, 1], ``batch_size`` at a time
    (default: ``batch_for``).  Taught in notebook 02."""
    if latents.dim() != 4 or latents.shape[1] != vae.config.latent_channels:
        raise ValueError(f"expected latents N x {vae.config.latent_channels} x h x w, got {tuple(latents.shape)}")
    f = vae_factor(vae)
    batch_size = batch_size or batch_for(latents.shape[-2] * f, latents.shape[-1] * f)
    p = next(vae.parameters())
    out = []
    for i in range(0, len(latents), batch_size):
        z = latents[i : i + batch_size].to(device=p.device, dtype=p.dtype) / vae.config.scaling_factor
        out.append(vae.decode(z).sample)
    x = torch.cat(out)
    return x.clamp(-1, 1) if clamp else x
