"""Procedural synthetic faces: the tiny profile's training and test data.

Every face is drawn from a seeded random generator, so ``synthetic_face(seed, index)`` is the same
picture on every machine.  The faces vary in the ways real aligned face crops vary (face shape, skin
tone, hair style and colour, eyes, brows, nose, mouth, pose, lighting, background) and they keep
the structural regularity that makes faces easy to learn: two eyes above a nose above a mouth, in
roughly the same place.  They also carry fine *structured* detail (eyelashes, iris rings, hair
strands, brow hairs, lip lines): detail that degradation destroys and that a learned prior can put
back.  There is deliberately no i.i.d. pixel noise: no model can encode or recover it.

Each face comes with landmarks (``LANDMARK_NAMES``), in pixel coordinates (x right, y down, pixel
centres at integers).  "left" and "right" are the image's left and right.

Drawing works in normalised image coordinates u, v in [-1, 1], so the same face can be rendered at
any resolution; every edge is anti-aliased over about one pixel.

Taught in notebook 01; the toy models of notebook 02 are trained on these faces.
"""

from __future__ import annotations

import copy

import numpy as np
import torch

LANDMARK_NAMES = (
    "brow_left", "brow_right",
    "eye_left_outer", "eye_left", "eye_left_inner",
    "eye_right_inner", "eye_right", "eye_right_outer",
    "nose_bridge", "nose_tip", "nostril_left", "nostril_right",
    "mouth_left", "lip_top", "lip_bottom", "mouth_right",
    "jaw_left", "chin", "jaw_right",
)  # fmt: skip

# Index ranges of the synthetic data: training sets use indices from 0, held-out test faces start here.
HELDOUT_OFFSET = 100_000

_SKIN_LIGHT = np.array([0.97, 0.83, 0.72])
_SKIN_DARK = np.array([0.33, 0.20, 0.13])
_HAIR = np.array([
    [0.06, 0.05, 0.05], [0.20, 0.12, 0.07], [0.36, 0.22, 0.11], [0.62, 0.45, 0.25],
    [0.85, 0.70, 0.45], [0.55, 0.20, 0.08], [0.62, 0.62, 0.62], [0.88, 0.88, 0.86],
])  # fmt: skip
_IRIS = np.array([
    [0.25, 0.14, 0.06], [0.42, 0.26, 0.10], [0.20, 0.38, 0.62], [0.30, 0.48, 0.30],
    [0.45, 0.50, 0.55], [0.10, 0.07, 0.05],
])  # fmt: skip


def _soft(sd: np.ndarray, px: float) -> np.ndarray:
    """Coverage of a shape from its (approximate) signed distance: 1 inside, 0 outside, a ramp of
    one pixel (``px``, in normalised units) across the edge."""
    return np.clip(0.5 - sd / px, 0.0, 1.0)


def _ellipse_sd(x, y, rx, ry):
    """Approximate signed distance to an axis-aligned ellipse centred at 0 (normalised units)."""
    d = np.sqrt((x / rx) ** 2 + (y / ry) ** 2)
    return (d - 1.0) * min(rx, ry)


def _paint(img, alpha, color):
    """Composite ``color`` (RGB triple or HxWx3 array) over ``img`` with coverage ``alpha``."""
    a = alpha[..., None]
    img *= 1.0 - a
    img += a * color


class _Face:
    """Random face parameters, and the map from face coordinates to image coordinates.

    The parameters are of two kinds.  *Identity* (who the person is): face shape, skin, hair (colour,
    style, hairline, strand pattern), and the geometry and colours of eyes, brows, nose and mouth.
    *Nuisance* (how this photo of them was taken): position, roll, yaw and pitch, gaze, smile,
    lighting and background.  ``view`` redraws the nuisance ones only, from its own generator, so
    ``view=1, 2, ...`` are other photos of the same person; ``view=0`` is the first draw, in the
    order the committed toy models were trained on (so it never changes).
    """

    def __init__(self, rng: np.random.Generator, view_rng: np.random.Generator | None = None):
        r = rng.uniform
        self._place(rng)
        self.a, self.b = r(0.52, 0.64), r(0.66, 0.78)  # half width / half height of the face
        self.chin = r(0.15, 0.45)  # how much the jaw narrows towards the chin
        self._pose(rng)
        t = rng.beta(1.3, 1.3)
        self.skin = _SKIN_LIGHT * (1 - t) + _SKIN_DARK * t + rng.normal(0, 0.015, 3)
        self.hair = _HAIR[rng.integers(len(_HAIR))] * r(0.85, 1.15)
        self.hair_long = r(0, 1) < 0.5
        self.hair_length = r(0.2, 1.4)
        self.hairline = r(-0.78, -0.48)
        self.parting = r(-0.5, 0.5)
        self.bald = r(0, 1) < 0.07
        self.eye_x, self.eye_y = r(0.34, 0.44), r(-0.22, -0.10)
        self.eye_w, self.eye_h = r(0.17, 0.23), r(0.065, 0.10)
        self.iris_r = r(0.50, 0.62)  # iris radius, as a fraction of the eye's half width
        self.iris = _IRIS[rng.integers(len(_IRIS))] * r(0.85, 1.15)
        self._gaze(rng)
        self.brow_y, self.brow_arch = r(0.14, 0.24), r(0.02, 0.10)
        self.brow_h = r(0.025, 0.055)
        self.nose_y, self.nose_w = r(0.20, 0.32), r(0.10, 0.16)
        self.mouth_y, self.mouth_w = r(0.50, 0.62), r(0.22, 0.34)
        self.lip_h = r(0.035, 0.065)
        self._smile(rng)
        self.lip = self.skin * np.array([0.95, 0.62, 0.62]) + np.array([0.10, 0.0, 0.02]) * r(0, 1)
        self._scene(rng)
        self.strand_freq = r(50, 75)
        self.phase = rng.uniform(0, 2 * np.pi, 4)  # phases of the fine structured detail
        if view_rng is not None:  # another photo of the same person: redraw every nuisance value
            for draw in (self._place, self._pose, self._gaze, self._smile, self._scene):
                draw(view_rng)

    # The nuisance values, one group per method (the identity values are drawn inline above).
    def _place(self, rng):
        self.cx, self.cy = rng.uniform(-0.05, 0.05), rng.uniform(0.0, 0.08)

    def _pose(self, rng):
        self.roll = rng.uniform(-0.18, 0.18)
        self.yaw = rng.uniform(-0.30, 0.30)  # shifts the features sideways, shrinks the far side
        self.pitch = rng.uniform(-0.06, 0.06)

    def _gaze(self, rng):
        self.gaze = rng.uniform(-0.25, 0.25)

    def _smile(self, rng):
        self.smile = rng.uniform(-0.04, 0.10)

    def _scene(self, rng):
        self.light = rng.uniform(-np.pi, np.pi)  # direction of the key light in the image plane
        self.light_strength = rng.uniform(0.10, 0.35)
        self.bg = rng.uniform(0.1, 0.95, (2, 3))
        self.bg_angle = rng.uniform(-np.pi, np.pi)
        self.bg_blobs = rng.uniform(-1, 1, (3, 2))
        self.bg_blob_colors = rng.uniform(0.1, 0.95, (3, 3))

    def to_face(self, u, v):
        """Image coordinates -> face coordinates (x in units of a, y in units of b)."""
        c, s = np.cos(self.roll), np.sin(self.roll)
        du, dv = u - self.cx, v - self.cy
        return (c * du + s * dv) / self.a, (-s * du + c * dv) / self.b

    def to_image(self, fx, fy):
        c, s = np.cos(self.roll), np.sin(self.roll)
        x, y = fx * self.a, fy * self.b
        return self.cx + c * x - s * y, self.cy + s * x + c * y

    def feature_x(self, side: float, x: float) -> float:
        """Face-x of a feature at ``x`` on side ``side`` (-1 left, +1 right), with yaw applied."""
        squeeze = 1.0 - 0.45 * self.yaw * side  # the far side looks narrower
        return self.yaw * 0.45 + side * x * squeeze


def _detail(period: float, px: float) -> float:
    """Contrast for a fine pattern of the given period: full when it spans 4+ pixels, fading to 0
    at 2 pixels, so that detail finer than the resolution can carry is left out, not aliased."""
    return float(np.clip((period / px - 2.0) / 2.0, 0.0, 1.0))


def _render(face: _Face, size: int) -> tuple[np.ndarray, np.ndarray]:
    f = face
    px = 2.0 / size  # one pixel, in normalised image units
    lin = ((np.arange(size, dtype=np.float32) + 0.5) / size * 2 - 1).astype(np.float32)
    u, v = np.meshgrid(lin, lin)  # u: x (right), v: y (down)
    FX, FY = f.to_face(u, v)
    fpx = px / min(f.a, f.b)  # one pixel in face units (roughly)

    def window(x0, x1, y0, y1):
        """Pixel slices covering the face-coordinate box [x0, x1] x [y0, y1] (with a margin)."""
        corners = np.array([f.to_image(x, y) for x in (x0, x1) for y in (y0, y1)])
        (umin, vmin), (umax, vmax) = corners.min(0), corners.max(0)
        c0, c1 = int((umin + 1) / px) - 1, int((umax + 1) / px) + 2
        r0, r1 = int((vmin + 1) / px) - 1, int((vmax + 1) / px) + 2
        return np.s_[max(r0, 0) : max(min(r1, size), 0), max(c0, 0) : max(min(c1, size), 0)]

    # background: a two-colour gradient and a few soft colour blobs
    t = np.clip(0.5 + 0.5 * (np.cos(f.bg_angle) * u + np.sin(f.bg_angle) * v), 0, 1)[..., None]
    img = (f.bg[0] * (1 - t) + f.bg[1] * t).astype(np.float32)
    for (bx, by), col in zip(f.bg_blobs, f.bg_blob_colors):  # a Gaussian blob is separable
        w = np.outer(np.exp(-((lin - by) ** 2) / 0.35), 0.5 * np.exp(-((lin - bx) ** 2) / 0.35))
        img += w[..., None] * (col - img)

    # long hair behind the head, with wavy vertical strands
    if f.hair_long and not f.bald:
        s = window(-1.3, 1.3, -1.2, f.hair_length + 0.7)
        fx, fy = FX[s], FY[s]
        hy = fy - (f.hair_length - 0.9) * 0.5
        sd = np.maximum(_ellipse_sd(fx, hy, 1.25, 1.05 + f.hair_length * 0.5), fy - f.hair_length - 0.6)
        k = 0.18 * _detail(2 * np.pi / 36 * f.a, px)
        strands = np.sin(fx * 36 + 1.5 * np.sin(fy * 4 + f.phase[1]) + f.phase[1])
        _paint(img[s], _soft(sd, fpx), f.hair * 0.85 * (0.92 + k * strands)[..., None])

    # neck and ears
    s = window(-0.6, 0.6, 0.4, 3.0)
    neck = np.maximum(np.abs(FX[s] - f.yaw * 0.2) - 0.42, -(FY[s] - 0.6))
    _paint(img[s], _soft(neck, fpx), f.skin * 0.78)
    for side in (-1.0, 1.0):
        ex = side * (1.0 - 0.25 * f.yaw * side) - f.yaw * 0.1
        s = window(ex - 0.2, ex + 0.2, -0.35, 0.3)
        _paint(img[s], _soft(_ellipse_sd(FX[s] - ex, FY[s] + 0.05, 0.13, 0.22), fpx), f.skin * 0.88)

    # the face: an ellipse whose lower half narrows towards the chin, with soft 3-D shading
    s = window(-1.05, 1.05, -1.05, 1.05)
    fx, fy = FX[s], FY[s]
    width = 1.0 - f.chin * np.clip(fy, 0, None) ** 2
    d = np.sqrt((fx / width) ** 2 + fy**2)
    nz = np.sqrt(np.clip(1.0 - d**2, 0, 1))  # the normal's z on a pseudo-ellipsoid
    lx, ly = np.cos(f.light), np.sin(f.light)
    shade = 0.78 + 0.22 * nz + f.light_strength * (lx * fx + ly * fy) * 0.6
    skin = f.skin.astype(np.float32) * shade[..., None]
    for side in (-1.0, 1.0):  # cheeks: a little warmth
        w = np.exp(-((fx - f.feature_x(side, 0.5)) ** 2 + (fy - 0.25) ** 2) / 0.03)[..., None] * 0.25
        skin *= 1 + w * np.array([0.05, -0.15, -0.15], dtype=np.float32)
    _paint(img[s], _soft(d - 1.0, fpx), skin)
    SHADE = np.ones((size, size), np.float32)
    SHADE[s] = shade

    # nose: a bridge highlight, a shadow beside it, the tip and two nostrils
    nx = f.feature_x(0, 0) + f.yaw * 0.15
    ny, ey0 = f.nose_y + f.pitch, f.eye_y + f.pitch
    s = window(nx - 0.3, nx + 0.3, ey0, ny + 0.12)
    fx, fy = FX[s], FY[s]
    along = np.clip((fy - ey0) / (ny - ey0), 0, 1) * (fy < ny)
    bridge = np.exp(-((fx - nx) ** 2) / 0.004) * along
    shadow = np.exp(-((fx - nx - 0.08 * np.sign(lx + 1e-6)) ** 2) / 0.003) * along
    img[s] *= (1.0 + 0.10 * bridge - 0.12 * shadow)[..., None]
    tip = _soft(_ellipse_sd(fx - nx, fy - ny + 0.02, f.nose_w * 0.7, 0.07), fpx)
    _paint(img[s], 0.5 * tip, f.skin * 0.9 * SHADE[s][..., None])
    for side in (-1.0, 1.0):
        sd = _ellipse_sd(fx - nx - side * f.nose_w * 0.55, fy - ny - 0.03, 0.045, 0.025)
        _paint(img[s], 0.85 * _soft(sd, fpx), f.skin * 0.35)

    # mouth: lips with vertical lip lines and a dark parting line, bent by the smile
    mx, my = f.feature_x(0, 0), f.mouth_y + f.pitch
    mw = f.mouth_w * (1.0 - 0.3 * abs(f.yaw))
    s = window(mx - mw - 0.05, mx + mw + 0.05, my - 0.2, my + 0.25)
    fx, fy = FX[s], FY[s]
    xm = np.clip((fx - mx) / mw, -1.5, 1.5)
    curve = my - f.smile * (np.clip(xm, -1, 1) ** 2 - 0.5)  # corners go up when smiling
    lip_lines = 1.0 + 0.14 * _detail(2 * np.pi / 28 * mw * f.a, px) * np.sin(xm * 28 + f.phase[2])
    upper = _ellipse_sd(fx - mx, fy - curve + f.lip_h * 0.5, mw, f.lip_h * 0.8)
    lower = _ellipse_sd(fx - mx, fy - curve - f.lip_h * 0.6, mw * 0.85, f.lip_h)
    lips = _soft(np.minimum(upper, lower), fpx)
    _paint(img[s], lips, f.lip * (lip_lines * (0.9 + 0.1 * SHADE[s]))[..., None])
    gap = np.maximum(np.abs(fy - curve) - 0.008, np.abs(xm) - 0.97)
    _paint(img[s], _soft(gap, fpx * 0.8), f.lip * 0.35)

    # eyes: sclera, iris with rings and spokes, pupil, highlight, upper lid, lashes and brow
    landmarks = {}
    for side, name in ((-1.0, "left"), (1.0, "right")):
        ex, ey = f.feature_x(side, f.eye_x), ey0
        ew, eh = f.eye_w * (1.0 - 0.45 * f.yaw * side), f.eye_h
        s = window(ex - 1.4 * ew, ex + 1.4 * ew, ey - f.brow_y - f.brow_arch - 2 * f.brow_h - 0.03, ey + eh + 0.03)
        fx, fy, im = FX[s], FY[s], img[s]
        dx, dy = fx - ex, fy - ey
        pinch = np.clip(1 - 0.35 * (dx / ew) ** 2, 0.2, None)  # an almond: pinched at the corners
        almond = np.sqrt((dx / ew) ** 2 + (dy / (eh * pinch)) ** 2)
        eye = _soft((almond - 1.0) * eh, fpx)
        _paint(im, eye, np.array([0.93, 0.91, 0.88], np.float32) * (0.85 + 0.15 * SHADE[s])[..., None])
        ir = ew * f.iris_r * 0.75
        ix = ex + f.gaze * ew * 0.4
        rr = np.sqrt(((fx - ix) / ir) ** 2 + ((fy - ey) / (ir * f.a / f.b)) ** 2)
        spokes = _detail(2 * np.pi / 12 * ir * f.a, px) * np.sin(np.arctan2(fy - ey, fx - ix) * 12 + f.phase[3])
        rings = _detail(ir * f.a * 0.67, px) * np.cos(rr * 3 * np.pi)
        limbal = 1.0 - 0.45 * np.clip(rr - 0.75, 0, 0.25) / 0.25
        _paint(
            im, _soft((rr - 1.0) * ir, fpx) * eye, f.iris * ((0.85 + 0.12 * rings + 0.08 * spokes) * limbal)[..., None]
        )
        _paint(im, _soft((rr - 0.42) * ir, fpx) * eye, np.float32(0.03))
        hl = np.sqrt((fx - ix + 0.3 * ir) ** 2 + (fy - ey + 0.3 * ir) ** 2) - 0.2 * ir
        _paint(im, 0.9 * _soft(hl, fpx) * eye, np.float32(1.0))
        upper_half = dy < 0.0
        _paint(im, _soft(np.abs(almond - 1.0) * eh - 0.012, fpx) * upper_half, f.hair * 0.4)
        lash_gain = _detail(np.pi / 10 * ew * f.a, px)
        lash_ang = np.arctan2(dy, dx * eh / ew)
        band = np.clip(1.35 - almond, 0, 0.35) / 0.35 * (almond > 1.0) * upper_half
        _paint(im, 0.8 * lash_gain * (np.sin(lash_ang * 20) > 0.2) * band, f.hair * 0.3)
        by = ey - f.brow_y - f.brow_arch * (1 - (dx / (ew * 1.3)).clip(-1, 1) ** 2)
        brow = np.maximum(np.abs(fy - by) - f.brow_h, np.abs(dx) - ew * 1.25)
        hairs = 1.0 - 0.3 * _detail(0.06, px) * (0.5 + 0.5 * np.sin((fx * 3 - side * fy * 2) * 30))
        _paint(im, _soft(brow * f.b, fpx) * hairs, f.hair * 0.55)
        landmarks[f"brow_{name}"] = (ex, ey - f.brow_y - f.brow_arch)
        landmarks[f"eye_{name}_outer"] = (ex + side * ew, ey)
        landmarks[f"eye_{name}"] = (ix, ey)
        landmarks[f"eye_{name}_inner"] = (ex - side * ew, ey)

    # hair on top of the head, down to a hairline with a side parting; strands fan out from a crown
    if not f.bald:
        s = window(-1.2, 1.2, -1.2, 0.2)
        fx, fy = FX[s], FY[s]
        hairline = f.hairline + 0.35 * np.abs(fx) ** 1.5 + 0.12 * np.abs(fx - f.parting)
        cap = np.maximum(_ellipse_sd(fx, fy + 0.04, 1.07, 1.06), (fy - hairline) * 0.5)
        ang = np.arctan2(fx - f.parting * 0.6, fy + 2.2)
        strands = _detail(0.1, px) * np.sin(ang * f.strand_freq + f.phase[0] + 2.0 * np.sin(fy * 3.0))
        _paint(img[s], _soft(cap, fpx), f.hair * (1.0 + 0.22 * strands)[..., None])

    img = np.clip(img, 0.0, 1.0)
    jaw = np.sqrt(1 - 0.5**2) * (1 - f.chin * 0.25)
    landmarks.update({
        "nose_bridge": (nx, ey0), "nose_tip": (nx, ny),
        "nostril_left": (nx - f.nose_w * 0.55, ny + 0.03), "nostril_right": (nx + f.nose_w * 0.55, ny + 0.03),
        "mouth_left": (mx - mw, my - f.smile * 0.5), "lip_top": (mx, my + f.smile * 0.5 - f.lip_h * 1.3),
        "lip_bottom": (mx, my + f.smile * 0.5 + f.lip_h * 1.6), "mouth_right": (mx + mw, my - f.smile * 0.5),
        "jaw_left": (-jaw, 0.5), "chin": (0.0, 1.0), "jaw_right": (jaw, 0.5),
    })  # fmt: skip
    pts = np.array([f.to_image(*landmarks[k]) for k in LANDMARK_NAMES], dtype=np.float32)
    pts = (pts + 1.0) / 2.0 * size - 0.5  # normalised -> pixel coordinates
    return img, pts


NUISANCE = (
    "cx",
    "cy",
    "roll",
    "yaw",
    "pitch",
    "gaze",
    "smile",
    "light",
    "light_strength",
    "bg",
    "bg_angle",
    "bg_blobs",
    "bg_blob_colors",
)  # what a view redraws; every other attribute of _Face is identity


def _face(seed: int, index: int, view: int) -> _Face:
    rng = np.random.default_rng([int(seed), int(index)])
    return _Face(rng, np.random.default_rng([int(seed), int(index), int(view)]) if int(view) else None)


def synthetic_face(
    seed: int, index: int, size: int = 64, view: int = 0, nuisance_from: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """One synthetic face and its landmarks.

    Returns ``(image, landmarks)``: image is a float tensor 3 x size x size in [0, 1]; landmarks is
    a float tensor K x 2 of (x, y) pixel coordinates in the order of ``LANDMARK_NAMES``.
    The same (seed, index, size, view) gives the same face on every run and machine.

    ``(seed, index)`` is a person; ``view`` is a photo of them: another view keeps the identity
    (face shape, skin, hair, the features' shapes and colours) and redraws position, pose, gaze,
    smile, light and background.  ``view=0`` is the face every earlier chapter uses.
    ``nuisance_from=j`` puts this person into person j's photo instead (j's position, pose, gaze,
    smile, light and background in that view): the same view, another identity.
    Taught in notebook 01; views in notebook 04.
    """
    if size < 16:
        raise ValueError(f"size must be at least 16 pixels, got {size}")
    if int(view) < 0:
        raise ValueError(f"view must be 0 or more, got {view}")
    face = _face(seed, index, view)
    if nuisance_from is not None:
        scene = _face(seed, nuisance_from, view)
        for name in NUISANCE:
            setattr(face, name, getattr(scene, name))
    img, pts = _render(face, int(size))
    return torch.from_numpy(np.ascontiguousarray(img, dtype=np.float32)).permute(
        2, 0, 1
    ).contiguous(), torch.from_numpy(pts)


def face_params(seed: int, index: int, view: int = 0) -> _Face:
    """The drawn parameters of a synthetic face (what ``synthetic_face`` renders), to inspect or
    blend.  Taught in notebook 04."""
    return _face(seed, index, view)


def blend(a: _Face, b: _Face, t: float, what: str = "identity") -> _Face:
    """A face part way from ``a`` to ``b``: the ``what`` attributes ("identity" or "nuisance")
    interpolated linearly (t = 0: a's, t = 1: b's; yes/no attributes such as long hair switch at
    t = 0.5), every other attribute a's.  ``blend(person_a, person_b, t)`` morphs one person into
    another in the same photo; ``blend(view_0, view_1, t, "nuisance")`` turns one photo of a person
    into another.  Render it with ``render``.  Taught in notebook 04."""
    if what not in ("identity", "nuisance"):
        raise ValueError(f"what must be 'identity' or 'nuisance', got {what!r}")
    out = copy.copy(a)
    for name in vars(a):
        if (name in NUISANCE) != (what == "nuisance"):
            continue
        x, y = getattr(a, name), getattr(b, name)
        setattr(
            out, name, (y if t >= 0.5 else x) if isinstance(x, (bool, np.bool_)) else x * (1 - float(t)) + y * float(t)
        )
    return out


def render(face: _Face, size: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    """Render drawn (or blended) face parameters: ``(image, landmarks)`` as ``synthetic_face``."""
    img, pts = _render(face, int(size))
    return torch.from_numpy(np.ascontiguousarray(img, dtype=np.float32)).permute(
        2, 0, 1
    ).contiguous(), torch.from_numpy(pts)


def hair_mask(face: _Face, size: int = 64) -> torch.Tensor:
    """Where a face's hair shows, 1 x size x size (bool): everything drawn in the hair's colour (the
    hair on the head, long hair, brows and lashes), found as the pixels that change when the same
    face is rendered with black hair and with white hair (by more than 0.1).  Pass ``face_params``'
    result.  Where texture lives, for the detail measurement of notebook 05."""
    dark, light = copy.copy(face), copy.copy(face)
    dark.hair, light.hair = np.zeros(3, np.float32), np.ones(3, np.float32)
    change = np.abs(_render(light, int(size))[0] - _render(dark, int(size))[0]).mean(-1)
    return torch.from_numpy(change > 0.1)[None]


class SyntheticFaces(torch.utils.data.Dataset):
    """``n`` synthetic faces for a given seed, as a map-style dataset of dicts with ``hq``
    (3 x size x size in [0, 1]), ``landmarks`` (K x 2 pixels) and ``index``.  Taught in notebook 01."""

    def __init__(self, n: int, size: int = 64, seed: int = 0, offset: int = 0):
        self.n, self.size, self.seed, self.offset = int(n), int(size), int(seed), int(offset)

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict:
        if not 0 <= i < self.n:
            raise IndexError(f"index {i} out of range for {self.n} synthetic faces")
        img, pts = synthetic_face(self.seed, self.offset + i, self.size)
        return {"hq": img, "landmarks": pts, "index": self.offset + i}
