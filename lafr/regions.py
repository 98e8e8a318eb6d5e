"""Where a face restorer must get things right: the eyes and the mouth, and PSNR inside them.

A whole-face PSNR of 29 dB can hide eyes at 19 dB.  The synthetic faces carry their landmarks, so
boxes around both eyes (pupil, iris, lashes) and the mouth (lip lines) can be drawn on every face,
at any resolution, and at a latent's resolution too.  Taught in notebook 02; the latent boxes in
notebook 03.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from lafr.synthetic import LANDMARK_NAMES


def psnr(a: torch.Tensor, b: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """PSNR in dB per image of [0, 1] images (N x 3 x H x W); with ``mask`` (N x 1 x H x W, 0/1)
    only over the pixels it marks."""
    err = (a.float() - b.float()) ** 2
    if mask is None:
        mse = err.flatten(1).mean(1)
    else:
        m = mask.float().expand_as(err)
        mse = (err * m).flatten(1).sum(1) / m.flatten(1).sum(1).clamp_min(1)
    return 10 * torch.log10(1.0 / mse.clamp_min(1e-10))


# The regions a face restorer must get right, as boxes (width, height in pixels at 64 px) centred
# on landmarks of the synthetic faces: both eyes (pupil, iris, lashes) and the mouth (lip lines).
REGIONS = {"eyes": ((("eye_left",), ("eye_right",)), (12, 8)),
           "mouth": ((("mouth_left", "lip_top", "lip_bottom", "mouth_right"),), (16, 8))}  # fmt: skip


def region_masks(landmarks: torch.Tensor, size: int) -> dict[str, torch.Tensor]:
    """0/1 masks N x 1 x size x size of each region in ``REGIONS`` for faces with these landmarks
    (N x K x 2, pixel coordinates of a 64 px face scaled to ``size``).  Taught in notebook 02."""
    scale = size / 64
    ys, xs = torch.arange(size).view(1, size, 1), torch.arange(size).view(1, 1, size)
    masks = {}
    for name, (groups, (w, h)) in REGIONS.items():
        m = torch.zeros(len(landmarks), size, size, dtype=torch.bool)
        for group in groups:
            centre = landmarks[:, [LANDMARK_NAMES.index(k) for k in group]].float().mean(1)  # N x 2
            x0 = torch.round(centre[:, 0] - w * scale / 2).view(-1, 1, 1)
            y0 = torch.round(centre[:, 1] - h * scale / 2).view(-1, 1, 1)
            m |= (xs >= x0) & (xs < x0 + round(w * scale)) & (ys >= y0) & (ys < y0 + round(h * scale))
        masks[name] = m[:, None]
    return masks


def latent_regions(landmarks: torch.Tensor, size: int, factor: int) -> torch.Tensor:
    """The eye and mouth boxes at a latent's resolution: a 0/1 map N x size/factor x size/factor,
    1 where at least half of the latent position's pixels lie in a box.  Taught in notebook 03."""
    m = region_masks(landmarks, size)
    inside = (m["eyes"] | m["mouth"]).float()
    return (F.avg_pool2d(inside, factor)[:, 0] >= 0.5).long()


def region_psnr(images: torch.Tensor, hq: torch.Tensor, landmarks: torch.Tensor) -> dict[str, torch.Tensor]:
    """PSNR per image over the whole face and inside each region (``REGIONS``) of [0, 1] images.
    A whole-face PSNR of 29 dB can hide eyes at 19 dB.  Taught in notebook 02."""
    out = {"face": psnr(images, hq)}
    for name, m in region_masks(landmarks, hq.shape[-1]).items():
        out[name] = psnr(images, hq, m)
    return out
