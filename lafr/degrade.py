"""Synthetic blind degradation: blur, downsample, noise, JPEG, resize back.

The classic recipe of GFPGAN (``train_gfpgan_v1.yml``), which face restoration papers use to make
training pairs and CelebA-Test (the LAFR paper does not give its own):

    y = JPEG_q( (x * k_sigma) downsampled by r  +  n_delta )  resized back to x's size

Every number is drawn per image from a seeded generator, so the same seed gives the same LQ image
on every run, and ``degrade`` returns the numbers it drew.  Presets:

* ``gfpgan``: GFPGAN's ranges, set for 512 px faces.
* ``codeformer``: the heavier ranges of CodeFormer and VQFR.
* ``celeba_test``: GFPGAN's ranges with the 4x downsampling that the paper states for CelebA-Test
  (Sec. 3.2); the exact recipe of CelebA-Test is not published, so this is our reading.
* ``tiny``: comparable *relative* damage for the tiny profile's 64 px faces.  GFPGAN's ranges at
  64 px would destroy the face (a sigma-10 blur is wider than an eye; an 8x downsample leaves 8
  pixels), so blur is scaled with the image and downsampling is gentler.

Images are [0, 1] float tensors, 3 x H x W or N x 3 x H x W.  Taught in notebook 01.
"""

from __future__ import annotations

import io
import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image


@dataclass(frozen=True)
class Preset:
    """Ranges the degradation parameters are drawn from (uniformly), GFPGAN-style."""

    name: str
    kernel_size: int  # blur kernel size (odd), in pixels
    sigma: tuple[float, float]  # blur standard deviation, pixels
    anisotropic_prob: float  # share of anisotropic (elliptic, rotated) kernels
    scale: tuple[float, float]  # downsampling factor
    noise: tuple[float, float]  # Gaussian noise standard deviation, in 0..255 units
    jpeg: tuple[int, int]  # JPEG quality
    reference_size: int  # the image size these ranges were set for

    def as_dict(self) -> dict:
        return asdict(self)


PRESETS: dict[str, Preset] = {
    "gfpgan": Preset("gfpgan", 41, (0.1, 10.0), 0.5, (0.8, 8.0), (0.0, 20.0), (60, 100), 512),
    "codeformer": Preset("codeformer", 41, (1.0, 15.0), 0.5, (1.0, 30.0), (0.0, 20.0), (30, 90), 512),
    "celeba_test": Preset("celeba_test", 41, (0.1, 10.0), 0.5, (4.0, 4.0), (0.0, 20.0), (60, 100), 512),
    # 64 px: blur up to ~2.8% of the width (GFPGAN: 10 px = 2% of 512), downsampling to no fewer
    # than ~18 px (below that no eye survives), noise and JPEG a little milder than GFPGAN's.
    "tiny": Preset("tiny", 11, (0.2, 1.8), 0.5, (1.0, 3.5), (0.0, 12.0), (50, 95), 64),
}


def get_preset(preset: str | Preset) -> Preset:
    if isinstance(preset, Preset):
        return preset
    if preset not in PRESETS:
        raise ValueError(f"unknown degradation preset {preset!r}; choose one of {sorted(PRESETS)}")
    return PRESETS[preset]


def sample_params(preset: str | Preset, seed: int, strength: float = 1.0) -> dict:
    """Draw one image's degradation parameters from a preset with a seeded generator.

    ``strength`` in [0, 1] shrinks every range towards its mildest end (1 = the full preset), for
    plots of "damage versus strength".  Taught in notebook 01.
    """
    p = get_preset(preset)
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"strength must be in [0, 1], got {strength}")
    rng = np.random.default_rng(int(seed))

    def draw(lo, hi):
        return float(rng.uniform(lo, lo + (hi - lo) * strength))

    aniso = bool(rng.uniform() < p.anisotropic_prob)
    s1 = draw(*p.sigma)
    s2 = draw(*p.sigma) if aniso else s1
    theta = float(rng.uniform(-math.pi, math.pi)) if aniso else 0.0
    jpeg_lo, jpeg_hi = p.jpeg
    quality = int(round(rng.uniform(jpeg_hi - (jpeg_hi - jpeg_lo) * strength, jpeg_hi)))
    return {
        "preset": p.name,
        "seed": int(seed),
        "strength": float(strength),
        "kernel_size": p.kernel_size,
        "anisotropic": aniso,
        "sigma_x": s1,
        "sigma_y": s2,
        "theta": theta,
        "scale": draw(*p.scale),
        "noise": draw(*p.noise),
        "jpeg_quality": quality,
        "noise_seed": int(rng.integers(2**31)),
    }


def blur_kernel(size: int, sigma_x: float, sigma_y: float, theta: float) -> torch.Tensor:
    """A normalised Gaussian kernel, size x size, with standard deviations sigma_x and sigma_y along
    axes rotated by theta (isotropic when they are equal)."""
    r = torch.arange(size, dtype=torch.float64) - size // 2
    y, x = torch.meshgrid(r, r, indexing="ij")
    c, s = math.cos(theta), math.sin(theta)
    xr, yr = c * x + s * y, -s * x + c * y
    k = torch.exp(-0.5 * ((xr / sigma_x) ** 2 + (yr / sigma_y) ** 2))
    return (k / k.sum()).float()


def blur(img: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Convolve a C x H x W image with a kernel, reflecting at the borders.

    Computed as a product of Fourier transforms (the same result as a direct convolution, to float
    precision), so a 41 x 41 kernel costs no more than a 3 x 3 one."""
    k = kernel.shape[-1]
    pad = min(k // 2, img.shape[-1] - 1, img.shape[-2] - 1)
    if pad < k // 2:  # an image smaller than the kernel: crop the kernel to what reflection allows
        c = k // 2
        kernel = kernel[c - pad : c + pad + 1, c - pad : c + pad + 1]
        kernel = kernel / kernel.sum()
        k = kernel.shape[-1]
    x = F.pad(img[None], (pad, pad, pad, pad), mode="reflect")[0]
    hp, wp = x.shape[-2:]
    spectrum = torch.fft.rfft2(x) * torch.fft.rfft2(kernel.to(img.dtype).flip(0, 1), s=(hp, wp))
    y = torch.fft.irfft2(spectrum, s=(hp, wp))  # circular; the valid part starts at k - 1
    return y[:, k - 1 : k - 1 + img.shape[-2], k - 1 : k - 1 + img.shape[-1]]


def jpeg(img: torch.Tensor, quality: int) -> torch.Tensor:
    """JPEG-compress and decompress a 3 x H x W image in [0, 1] (8-bit, 4:2:0, via Pillow)."""
    arr = (img.clamp(0, 1).permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="JPEG", quality=int(quality))
    out = np.asarray(Image.open(buf).convert("RGB"), dtype=np.float32) / 255.0
    return torch.from_numpy(out).permute(2, 0, 1).contiguous()


def apply(img: torch.Tensor, params: dict, upsample: str = "bilinear") -> torch.Tensor:
    """Degrade one 3 x H x W image in [0, 1] with given parameters (from ``sample_params``);
    ``upsample`` is how the small image is resized back ("bilinear"; "bicubic" or "lanczos" for the
    resizing baselines of notebooks 05 and 06: the same LQ photo, enlarged more sharply)."""
    h, w = img.shape[-2:]
    x = img.float()
    x = blur(x, blur_kernel(params["kernel_size"], params["sigma_x"], params["sigma_y"], params["theta"]))
    small = (max(1, round(h / params["scale"])), max(1, round(w / params["scale"])))
    x = F.interpolate(x[None], size=small, mode="bilinear", align_corners=False)[0]
    gen = torch.Generator().manual_seed(params["noise_seed"])
    x = x + torch.randn(x.shape, generator=gen) * (params["noise"] / 255.0)
    x = jpeg(x.clamp(0, 1), params["jpeg_quality"])
    if upsample == "lanczos":  # PIL's Lanczos (3 lobes); the JPEG step left exact 8-bit values
        small_u8 = Image.fromarray((x * 255).round().byte().permute(1, 2, 0).numpy())
        x = torch.from_numpy(np.array(small_u8.resize((w, h), Image.Resampling.LANCZOS))).permute(2, 0, 1).float() / 255
    else:
        x = F.interpolate(x[None], size=(h, w), mode=upsample, align_corners=False)[0]
    return x.clamp(0, 1)


def degrade(
    img: torch.Tensor,
    preset: str | Preset = "gfpgan",
    seed: int | list[int] = 0,
    strength: float = 1.0,
    upsample: str = "bilinear",
):
    """Blind-degrade an image (3 x H x W) or a batch (N x 3 x H x W) in [0, 1].

    ``seed`` is one int per image (a batch with an int seed uses seed, seed + 1, ...).
    Returns ``(lq, params)``: lq has the input's shape, params is a dict (or a list of dicts, one
    per image) of the numbers drawn. ``upsample``: see ``apply``.  Taught in notebook 01.
    """
    if img.dim() == 3:
        params = sample_params(preset, int(seed), strength)
        return apply(img, params, upsample), params
    if img.dim() != 4:
        raise ValueError(f"expected 3 x H x W or N x 3 x H x W, got shape {tuple(img.shape)}")
    seeds = [int(seed) + i for i in range(len(img))] if isinstance(seed, int) else list(seed)
    if len(seeds) != len(img):
        raise ValueError(f"got {len(seeds)} seeds for {len(img)} images")
    params = [sample_params(preset, s, strength) for s in seeds]
    return torch.stack([apply(x, p, upsample) for x, p in zip(img, params)]), params


# ---- two controlled changes for notebook 04: geometry versus colour -------------------------------


def warp(img: torch.Tensor, pixels: float, seed: int = 0, cells: int = 4) -> torch.Tensor:
    """Move a face's geometry, not its colours: a smooth random displacement field whose largest
    shift is ``pixels`` (at the image's size), bilinear resampling.  The field is a ``cells`` x
    ``cells`` grid of random offsets, upsampled smoothly, so eyes, nose and mouth move and bend
    while each stays itself.  Image(s) in [0, 1] (or [-1, 1]), 3 x H x W or N x 3 x H x W, one
    field for all.  Taught in notebook 04."""
    x = img[None] if img.dim() == 3 else img
    h, w = x.shape[-2:]
    gen = torch.Generator().manual_seed(int(seed))
    field = torch.rand(1, 2, cells, cells, generator=gen) * 2 - 1
    field = F.interpolate(field, size=(h, w), mode="bicubic", align_corners=True)
    field = field / field.abs().amax().clamp(min=1e-8) * float(pixels)  # the largest shift, in pixels
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij")
    gx = (xs + field[0, 0]) / (w - 1) * 2 - 1
    gy = (ys + field[0, 1]) / (h - 1) * 2 - 1
    grid = torch.stack([gx, gy], -1)[None].expand(len(x), -1, -1, -1).to(x.dtype)
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=True)
    return out[0] if img.dim() == 3 else out


def colour_shift(img: torch.Tensor, amount: float) -> torch.Tensor:
    """Change a face's colours, not its geometry: a warm tint (red up, green and blue down) of
    relative size ``amount``, on images in [0, 1], clipped.  Taught in notebook 04."""
    gain = torch.tensor([1.0 + 0.5 * amount, 1.0 - 0.1 * amount, 1.0 - 0.5 * amount], dtype=img.dtype).view(3, 1, 1)
    return (img * gain).clamp(0, 1)
