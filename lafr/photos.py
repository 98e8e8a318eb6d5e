"""Whole photos: find every face, cut it as FFHQ cut its faces, and paste the restored face back.

A face restorer has only ever seen faces cut the way its training set was cut. FFHQ (and so LAFR's
stage 1 and 2, and every face restorer trained on it) was cut by NVlabs' ``recreate_aligned_images``
from dlib's 68 landmarks:

1. **Detect** every face. dlib's HOG detector looks for faces of about 80 px and more (eyes about 30
   px apart), so a photo of up to ``DETECT_PIXELS`` is searched at twice its size, which finds faces
   down to eyes about 15 px apart (``smallest_eye_distance``; measured: 14 and 18 px on the packaged
   portraits shrunk). HOG is fast but fooled by some patterns (the mission patch on scikit-image's
   astronaut); a detection it is unsure of (score below ``HOG_SURE``) is kept only if dlib's CNN
   face detector (mmod), run on a small crop around it, finds a face there too.
   ``detector="cnn"`` runs the CNN over the whole photo instead, at its own size and in tiles (its
   memory is about 1 GB per megapixel): about 10 s per megapixel on a CPU, and it finds faces down
   to eyes about 30 px apart. (We have not measured which detector misses fewer faces.)
2. **Landmarks**: dlib's 68 points of each face.
3. **The FFHQ crop** (``ffhq_quad``): the eye centres (points 36-41, 42-47) and the mouth corners (48,
   54) give a square, turned with the face, about four eye-to-eye distances wide and centred a
   little below the eyes. ``crop_matrix`` is the similarity transform that maps that square onto
   the restorer's working size. On the FFHQ photos themselves (already cut this way) it comes back
   within a few pixels of the whole image (the median face's farthest corner 4.6 px of 512); the
   5-point template that facexlib fits for GFPGAN and CodeFormer lands 3.3 times farther (15.4 px;
   both measured in tests/test_photos.py on 12 FFHQ faces).
4. **Left out, never silently**: a face whose eyes are closer than ``MIN_EYE_DISTANCE`` pixels (too
   little to restore), one turned too far (``MAX_TURN``: the far side is hidden), and a second
   detection of the same face. Each ``Face`` says why in ``left_out``.
5. **Paste back**: the restored crop goes back through the inverse transform, weighted by a soft
   mask made in the crop (``soft_mask``: 1 in the middle, falling smoothly to 0 at the crop's
   edge), so that no seam shows where the crop ends. Faces are pasted one after another, each once.
   Only each face's own rectangle of the photo is touched: memory grows with the photo's pixels (a
   few float32 copies) and its number of faces (one crop each at the working size, kept with the
   result), not with the size of the faces. Both warps are bicubic: a crop cut and pasted back unchanged
   comes back to within 50 dB of the photo (bilinear warps lose 15 dB of that).

Photos here are float32 arrays H x W x 3 in [0, 1] (``lafr.data.load_photo`` reads them with their
form: grey, alpha, 16 bit); a grey photo's faces are pasted back grey. Taught in notebook 07.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np

MIN_EYE_DISTANCE = 16.0  # pixels between the eye centres, in the photo; below: too small to restore
MAX_TURN = 0.9  # ``turn`` above this: turned too far (0 frontal, 1 a profile; FFHQ's samples reach 0.62, a
# three-quarter view of the Solvay photo 0.83: both restorable; above 0.9 the nose tip nearly touches the jaw's outline)
HOG_SURE = 0.5  # HOG detections scoring below this are checked by the CNN detector
HOG_THRESHOLD = -0.5  # HOG's own cut-off: lower than dlib's 0, since the CNN checks the doubtful ones
DETECT_PIXELS = 25_000_000  # HOG searches photos up to this many pixels at twice their size (HOG: 0.1 s per megapixel)
SMALLEST_EYES = 30.0  # px: about the closest eyes of a face dlib's detectors find (faces of about 80 px)
CNN_TILE, CNN_OVERLAP = 1024, 384  # px: the CNN detector's tiles (about 1 GB of memory per megapixel)
MAX_OUTPUT_PIXELS = 100_000_000  # the largest photo --upscale may make (lafr.data.MAX_PIXELS: the largest it reads)
FEATHER = 0.1  # the soft mask falls from 1 to 0 over this fraction of the crop's side, at its edges


@dataclass
class Face:
    """One face found in a photo; coordinates in the photo's pixels (x right, y down, pixel centres
    at whole numbers). ``left_out`` is empty for a face to restore, else the reason it is not."""

    box: tuple[float, float, float, float]  # the detector's (left, top, right, bottom)
    score: float  # the detector's confidence (HOG's score, or the CNN's)
    landmarks: np.ndarray  # 68 x 2, dlib's points
    quad: np.ndarray = field(init=False)  # 4 x 2: the FFHQ crop's corners, from the top left anticlockwise
    eye_distance: float = field(init=False)
    turn: float = field(init=False)
    left_out: str = ""

    def __post_init__(self):
        self.quad = ffhq_quad(self.landmarks)
        left, right = self.landmarks[36:42].mean(0), self.landmarks[42:48].mean(0)
        self.eye_distance = float(np.hypot(*(right - left)))
        self.turn = turn(self.landmarks)

    @property
    def eyes(self) -> np.ndarray:
        """The midpoint between the eye centres."""
        return (self.landmarks[36:42].mean(0) + self.landmarks[42:48].mean(0)) / 2


# ---- the FFHQ crop ------------------------------------------------------------------------------------


def ffhq_quad(landmarks: np.ndarray) -> np.ndarray:
    """The corners of FFHQ's crop (4 x 2: top-left, bottom-left, bottom-right, top-right) from dlib's
    68 landmarks, as NVlabs' ``recreate_aligned_images`` computes them. Taught in notebook 07."""
    lm = np.asarray(landmarks, dtype=np.float64)
    eye_left, eye_right = lm[36:42].mean(0), lm[42:48].mean(0)
    eye_avg, eye_to_eye = (eye_left + eye_right) / 2, eye_right - eye_left
    mouth_avg = (lm[48] + lm[54]) / 2
    eye_to_mouth = mouth_avg - eye_avg
    x = eye_to_eye - np.flipud(eye_to_mouth) * [-1, 1]  # the crop's horizontal axis: between the two directions
    x /= np.hypot(*x)
    x *= max(np.hypot(*eye_to_eye) * 2.0, np.hypot(*eye_to_mouth) * 1.8)  # half the side
    y = np.flipud(x) * [-1, 1]
    c = eye_avg + eye_to_mouth * 0.1
    return np.stack([c - x - y, c - x + y, c + x + y, c + x - y])


def crop_matrix(quad: np.ndarray, size: int) -> np.ndarray:
    """The 2 x 3 similarity transform from photo pixels to crop pixels that maps the quad's square onto
    a ``size`` x ``size`` crop (as ``cv2.warpAffine`` takes it). NVlabs maps the quad's corners, as
    pixel centres shifted by half a pixel, onto the crop's outer corners; so does this."""
    src = np.asarray(quad, dtype=np.float64)[:3] + 0.5  # corner coordinates (pixel centres at .5)
    dst = np.array([[0, 0], [0, size], [size, size]], dtype=np.float64)
    m = cv2.getAffineTransform(src.astype(np.float32), dst.astype(np.float32)).astype(np.float64)
    m[:, 2] += m[:, :2].sum(1) * 0.5 - 0.5  # back to pixel-centre coordinates on both sides
    return m


def turn(landmarks: np.ndarray) -> float:
    """How far a face is turned sideways: 0 when the nose tip (point 30) is as far from both sides of
    the jaw (points 2 and 14), towards 1 for a profile."""
    lm = np.asarray(landmarks, dtype=np.float64)
    left, right = np.hypot(*(lm[30] - lm[2])), np.hypot(*(lm[30] - lm[14]))
    return float(abs(left - right) / max(left + right, 1e-9))


# ---- finding faces --------------------------------------------------------------------------------------


class _Dlib:
    """dlib's detectors and 68-point predictor, loaded once."""

    _tools = None

    @classmethod
    def get(cls):
        if cls._tools is None:
            from lafr.dlibnet import MISSING, model_file

            try:
                import dlib
            except ImportError:
                raise ImportError("dlib is not installed: pip install dlib-bin face-recognition-models") from None
            files = {
                n: model_file(n) for n in ("shape_predictor_68_face_landmarks.dat", "mmod_human_face_detector.dat")
            }
            missing = [n for n, p in files.items() if p is None]
            if missing:
                raise FileNotFoundError(f"{', '.join(missing)} not found: {MISSING}")
            cls._tools = (
                dlib,
                dlib.get_frontal_face_detector(),
                dlib.cnn_face_detection_model_v1(str(files["mmod_human_face_detector.dat"])),
                dlib.shape_predictor(str(files["shape_predictor_68_face_landmarks.dat"])),
            )
        return cls._tools


def _uint8(photo: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray((np.clip(photo, 0, 1) * 255 + 0.5).astype(np.uint8))  # dlib misreads strided arrays


def _cnn_agrees(image: np.ndarray, box) -> bool:
    """Does dlib's CNN detector find a face in a crop around ``box`` (scaled so the box is 100 px)?"""
    cnn = _Dlib.get()[2]
    left, top, right, bottom = box
    side = max(right - left, bottom - top, 1.0)
    s = 100.0 / side
    cx, cy = (left + right) / 2, (top + bottom) / 2
    m = np.array([[s, 0, 100 - cx * s], [0, s, 100 - cy * s]], dtype=np.float64)
    crop = cv2.warpAffine(image, m, (200, 200), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)
    return len(cnn(np.ascontiguousarray(crop), 0)) > 0


def search_scale(shape, detector: str = "hog") -> int:
    """How many times enlarged dlib searches a photo of ``shape`` (H, W, ...): HOG at twice the size up
    to ``DETECT_PIXELS``, else at its own size; the CNN always at its own size (its memory)."""
    return 2 if detector == "hog" and shape[0] * shape[1] <= DETECT_PIXELS else 1


def smallest_eye_distance(shape, detector: str = "hog") -> float:
    """About the closest eyes (in the photo's pixels) of a face the detector can find in a photo of
    ``shape``: both detectors look for faces of about 80 px, eyes about 30 px apart."""
    return SMALLEST_EYES / search_scale(shape, detector)


def _enlarged(photo: np.ndarray, detector: str = "hog") -> tuple[np.ndarray, int]:
    """The photo as dlib reads it (uint8), enlarged ``search_scale`` times."""
    image = _uint8(photo)
    h, w = image.shape[:2]
    scale = search_scale(image.shape, detector)
    return (cv2.resize(image, (w * scale, h * scale), interpolation=cv2.INTER_CUBIC) if scale > 1 else image), scale


def _overlap(a, b) -> float:
    """Intersection over union of two boxes (left, top, right, bottom)."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h
    return w * h / union


def _cnn_boxes(image: np.ndarray) -> list[tuple]:
    """dlib's CNN over ``image`` in tiles of at most ``CNN_TILE`` px (its memory is about 1 GB per
    megapixel), overlapping by ``CNN_OVERLAP`` so that a face up to that size lies whole in one tile,
    plus the whole image shrunk to one tile for larger faces; boxes overlapping by more than a third
    are one face (the most confident box kept). Returns (left, top, right, bottom, confidence)."""
    cnn = _Dlib.get()[2]
    h, w = image.shape[:2]

    def run(img, scale=1.0, x=0, y=0):
        """The CNN's boxes in ``img`` (a tile at x, y, or the image shrunk by ``scale``), in the image's pixels."""
        return [
            (
                (r.rect.left() + 0.5) / scale - 0.5 + x,
                (r.rect.top() + 0.5) / scale - 0.5 + y,
                (r.rect.right() + 0.5) / scale - 0.5 + x,
                (r.rect.bottom() + 0.5) / scale - 0.5 + y,
                float(r.confidence),
            )
            for r in cnn(np.ascontiguousarray(img), 0)
        ]

    if max(h, w) <= CNN_TILE:
        return run(image)
    found, step = [], CNN_TILE - CNN_OVERLAP
    for y in range(0, max(h - CNN_OVERLAP, 1), step):
        for x in range(0, max(w - CNN_OVERLAP, 1), step):
            found += run(image[y : y + CNN_TILE, x : x + CNN_TILE], x=x, y=y)
    s = CNN_TILE / max(h, w)
    found += run(cv2.resize(image, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA), scale=s)
    kept = []
    for box in sorted(found, key=lambda b: -b[4]):
        if all(_overlap(box, k) <= 1 / 3 for k in kept):
            kept.append(box)
    return kept


def _detect(image: np.ndarray, detector: str) -> list[tuple]:
    """(dlib rectangle, score, kept) for every candidate the detector reports on ``image`` (uint8)."""
    if detector not in ("hog", "cnn"):
        raise ValueError(f"detector must be 'hog' or 'cnn', got {detector!r}")
    dlib, hog, _, _ = _Dlib.get()
    if detector == "cnn":
        return [(dlib.rectangle(*(round(v) for v in b[:4])), b[4], True) for b in _cnn_boxes(image)]
    rects, scores, _ = hog.run(image, 0, HOG_THRESHOLD)
    out = []
    for r, score in zip(rects, scores):
        box = (r.left(), r.top(), r.right(), r.bottom())
        out.append((r, float(score), score >= HOG_SURE or _cnn_agrees(image, box)))
    return out


def detections(photo: np.ndarray, detector: str = "hog") -> list[tuple[tuple, float, bool]]:
    """What the detector saw before any landmark: ``(box, score, kept)`` for every candidate, the box
    (left, top, right, bottom) in the photo's pixels; ``kept`` is False for a HOG candidate scoring
    below ``HOG_SURE`` in which the CNN found no face. Taught in notebook 07."""
    big, scale = _enlarged(photo, detector)
    return [
        (tuple((v + 0.5) / scale - 0.5 for v in (r.left(), r.top(), r.right(), r.bottom())), score, kept)
        for r, score, kept in _detect(big, detector)
    ]


def find_faces(
    photo: np.ndarray,
    detector: str = "hog",
    min_eye_distance: float = MIN_EYE_DISTANCE,
    max_turn: float = MAX_TURN,
) -> list[Face]:
    """Every face in ``photo`` (H x W x 3 in [0, 1]), left to right, each with its 68 landmarks and FFHQ
    crop; those not to restore carry the reason in ``left_out``. ``detector``: "hog" (dlib's HOG,
    doubtful detections confirmed by the CNN) or "cnn" (dlib's mmod CNN over the whole photo).
    Taught in notebook 07."""
    predictor = _Dlib.get()[3]
    big, scale = _enlarged(photo, detector)
    faces = []
    for r, s, kept in _detect(big, detector):
        if not kept:
            continue
        points = predictor(big, r).parts()
        landmarks = np.array([(p.x, p.y) for p in points], dtype=np.float64)
        landmarks = (landmarks + 0.5) / scale - 0.5  # pixel centres of the enlarged photo -> the photo's
        box = tuple((v + 0.5) / scale - 0.5 for v in (r.left(), r.top(), r.right(), r.bottom()))
        faces.append(Face(box=box, score=s, landmarks=landmarks))
    return sort_out(faces, min_eye_distance, max_turn)


def sort_out(faces: list[Face], min_eye_distance: float = MIN_EYE_DISTANCE, max_turn: float = MAX_TURN) -> list[Face]:
    """``faces`` ordered left to right, each marked with why it is left out, if it is: found twice (its
    eyes within half an eye distance of an earlier face's), too small, or turned too far."""
    faces = sorted(faces, key=lambda f: (float(f.eyes[0]), float(f.eyes[1])))
    for i, f in enumerate(faces):
        f.left_out = ""
        near = [np.hypot(*(g.eyes - f.eyes)) < 0.5 * max(g.eye_distance, f.eye_distance) for g in faces[:i]]
        same = [j for j, yes in enumerate(near) if yes]
        if same:
            f.left_out = f"the same face as face {same[0]} (found twice)"
        elif f.eye_distance < min_eye_distance:
            f.left_out = f"too small: eyes {f.eye_distance:.0f} px apart, below {min_eye_distance:g}"
        elif f.turn > max_turn:
            f.left_out = f"turned too far: {f.turn:.2f} on a scale from 0 (frontal) to 1 (profile), above {max_turn:g}"
    return faces


# ---- cutting and pasting --------------------------------------------------------------------------------


def cut_face(photo: np.ndarray, matrix: np.ndarray, size: int) -> np.ndarray:
    """The ``size`` x ``size`` crop that ``matrix`` (``crop_matrix``) cuts from ``photo`` (H x W x C in
    [0, 1]). Beyond the photo's edge it is mirrored, as FFHQ's recipe pads. A face much larger than
    the crop is first shrunk by area averaging, so the crop does not alias. Taught in notebook 07."""
    m = np.asarray(matrix, dtype=np.float64)
    inv = cv2.invertAffineTransform(m)
    corners = np.array([[-0.5, -0.5], [size - 0.5, -0.5], [size - 0.5, size - 0.5], [-0.5, size - 0.5]])
    where = corners @ inv[:, :2].T + inv[:, 2]  # the crop's corners in the photo
    h, w = photo.shape[:2]
    x0, y0 = (max(0, math.floor(v) - 2) for v in where.min(0))
    x1, y1 = (min(n, math.ceil(v) + 3) for v, n in zip(where.max(0), (w, h)))
    if x0 >= x1 or y0 >= y1:
        raise ValueError("the crop lies wholly outside the photo")
    region = photo[y0:y1, x0:x1]
    m = m.copy()
    m[:, 2] += m[:, :2] @ [x0, y0]  # the same transform, from the region's pixels
    shrink = int(1 / math.sqrt(abs(np.linalg.det(m[:, :2]))))  # photo pixels per crop pixel, whole
    if shrink >= 2:
        rh, rw = max(1, region.shape[0] // shrink), max(1, region.shape[1] // shrink)
        region = cv2.resize(region, (rw, rh), interpolation=cv2.INTER_AREA)
        sx, sy = region.shape[1] / (x1 - x0), region.shape[0] / (y1 - y0)
        # region pixel centre x' = (x + 0.5) * sx - 0.5, so photo x = (x' + 0.5) / sx - 0.5
        to_region = np.array([[1 / sx, 0, 0.5 / sx - 0.5], [0, 1 / sy, 0.5 / sy - 0.5], [0, 0, 1]])
        m = m @ to_region
    crop = cv2.warpAffine(
        np.ascontiguousarray(region, dtype=np.float32),
        m,
        (size, size),
        flags=cv2.INTER_CUBIC,
        borderMode=cv2.BORDER_REFLECT101,
    )
    return np.clip(crop.reshape(size, size, -1), 0, 1)


def soft_mask(size: int, feather: float = FEATHER) -> np.ndarray:
    """A ``size`` x ``size`` weight for pasting a crop back: 1 in the middle, falling smoothly (a
    smoothstep) to 0 at the crop's edge over ``feather`` of its side. ``feather=0`` gives the hard
    mask, 1 everywhere, whose edge is a visible seam. Taught in notebook 07."""
    if feather <= 0:
        return np.ones((size, size), dtype=np.float32)
    edge = np.minimum(np.arange(size) + 0.5, size - 0.5 - np.arange(size))  # distance to the nearest edge
    t = np.clip(edge / (feather * size), 0, 1)
    ramp = t * t * (3 - 2 * t)
    return np.minimum.outer(ramp, ramp).astype(np.float32)


def upscale_matrix(matrix: np.ndarray, upscale: int) -> np.ndarray:
    """``matrix`` (photo -> crop) for the photo enlarged ``upscale`` times (pixel centres kept aligned:
    the enlarged photo's pixel x' covers the photo's (x' + 0.5) / upscale - 0.5)."""
    u = float(upscale)
    from_big = np.array([[1 / u, 0, 0.5 / u - 0.5], [0, 1 / u, 0.5 / u - 0.5], [0, 0, 1]])
    return np.asarray(matrix, dtype=np.float64) @ from_big


def paste_face(canvas: np.ndarray, crop: np.ndarray, matrix: np.ndarray, mask: np.ndarray) -> None:
    """Blend ``crop`` back into ``canvas`` (H x W x C, in place) where ``matrix`` (canvas -> crop) cut
    it from, weighted by ``mask`` (``soft_mask``). Only the crop's own rectangle of the canvas is
    touched. Taught in notebook 07."""
    size = crop.shape[0]
    inv = cv2.invertAffineTransform(np.asarray(matrix, dtype=np.float64))
    corners = np.array([[-0.5, -0.5], [size - 0.5, -0.5], [size - 0.5, size - 0.5], [-0.5, size - 0.5]])
    where = corners @ inv[:, :2].T + inv[:, 2]
    h, w = canvas.shape[:2]
    x0, y0 = (max(0, math.floor(v)) for v in where.min(0))
    x1, y1 = (min(n, math.ceil(v) + 1) for v, n in zip(where.max(0), (w, h)))
    if x0 >= x1 or y0 >= y1:
        return
    back = inv.copy()
    back[:, 2] -= [x0, y0]  # crop -> the canvas region's pixels
    region = (x1 - x0, y1 - y0)
    crop = np.ascontiguousarray(crop, dtype=np.float32)
    # beyond the crop's edge, its own edge pixels: no dark fringe under a mask that is not 0 there
    face = cv2.warpAffine(crop, back, region, flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    weight = cv2.warpAffine(np.ascontiguousarray(mask, dtype=np.float32), back, region, flags=cv2.INTER_LINEAR)
    face, weight = np.clip(face.reshape(region[1], region[0], -1), 0, 1), np.clip(weight, 0, 1)[..., None]
    canvas[y0:y1, x0:x1] = weight * face + (1 - weight) * canvas[y0:y1, x0:x1]


def seam(before: np.ndarray, after: np.ndarray, matrix: np.ndarray, size: int) -> float:
    """How visible the edge of a pasted crop is: the largest step between neighbouring pixels that
    pasting added (``after - before``), along the edge of the crop's footprint (``matrix``: photo ->
    crop, as pasted). A hard mask leaves the whole difference between the restored face and the
    photo as a step there; a soft mask leaves almost none. Taught in notebook 07."""
    footprint = np.zeros(before.shape[:2], dtype=np.float32)
    paste_face(footprint[..., None], np.ones((size, size, 1), np.float32), matrix, soft_mask(size, 0))
    inside = (footprint > 0.5).astype(np.uint8)
    kernel = np.ones((3, 3), np.uint8)
    edge = (cv2.dilate(inside, kernel) - cv2.erode(inside, kernel)).astype(bool)
    diff = (np.asarray(after, np.float64) - np.asarray(before, np.float64)).reshape(*before.shape[:2], -1)
    step = np.zeros(before.shape[:2])
    step[:, 1:] = np.abs(np.diff(diff, axis=1)).max(-1)
    step[1:, :] = np.maximum(step[1:, :], np.abs(np.diff(diff, axis=0)).max(-1))
    return float(step[edge].max(initial=0.0))


def is_grey(photo: np.ndarray, tolerance: float = 1.5 / 255) -> bool:
    """True when every pixel's three channels agree (a black-and-white photo stored as colour)."""
    return photo.ndim == 2 or photo.shape[2] == 1 or float(np.ptp(photo, axis=2).max(initial=0)) <= tolerance


def to_grey(rgb: np.ndarray) -> np.ndarray:
    """RGB -> three equal channels of its luma (ITU-R BT.601, as PIL's ``convert("L")``)."""
    from lafr.data import luma_of

    return np.repeat(luma_of(rgb)[..., None], 3, axis=2).astype(np.float32)


@dataclass
class PhotoResult:
    """What ``restore_photo`` gives back: the photo with its faces restored (at ``upscale`` times the
    size), every face found (those left out say why), and each restored face's crop before and after."""

    photo: np.ndarray
    faces: list[Face]
    crops: list[np.ndarray]
    restored: list[np.ndarray]
    upscale: int = 1

    @property
    def restored_faces(self) -> list[Face]:
        return [f for f in self.faces if not f.left_out]


def restore_photo(
    photo: np.ndarray,
    restore: Callable[[list[np.ndarray]], list[np.ndarray]],
    size: int,
    upscale: int = 1,
    detector: str = "hog",
    only_center_face: bool = False,
    feather: float = FEATHER,
    faces: list[Face] | None = None,
    min_eye_distance: float = MIN_EYE_DISTANCE,
    max_turn: float = MAX_TURN,
) -> PhotoResult:
    """Find the faces in ``photo`` (H x W x 3 in [0, 1]), cut each as FFHQ did at ``size`` px, restore
    them with ``restore`` (a list of size x size x 3 crops in [0, 1] -> the restored crops), and paste
    them back into the photo enlarged ``upscale`` times (Lanczos for the background). A grey photo
    gets grey faces. ``faces`` skips the detection (from ``find_faces``). ``only_center_face`` restores
    only the face nearest the photo's centre (the others are listed as left out). Taught in notebook 07."""
    photo = np.asarray(photo, dtype=np.float32)
    if photo.ndim != 3 or photo.shape[2] != 3:
        raise ValueError(f"a photo is H x W x 3; got shape {tuple(photo.shape)}")
    if int(upscale) != upscale or upscale < 1:
        raise ValueError(f"upscale must be a whole number from 1, got {upscale}")
    upscale = int(upscale)
    h, w = photo.shape[:2]
    if h * w * upscale**2 > MAX_OUTPUT_PIXELS:
        raise ValueError(
            f"upscale {upscale} would make a {w * upscale} x {h * upscale} photo, over {MAX_OUTPUT_PIXELS / 1e6:.0f} "
            "megapixels; choose a smaller upscale"
        )
    if faces is None:
        faces = find_faces(photo, detector, min_eye_distance, max_turn)
    faces = [copy.copy(f) for f in faces]  # marking one "not the centre face" must not change the caller's
    if only_center_face:
        kept = [f for f in faces if not f.left_out]
        if kept:
            centre = np.array([photo.shape[1] - 1, photo.shape[0] - 1]) / 2
            chosen = min(kept, key=lambda f: np.hypot(*(f.eyes - centre)))
            for f in kept:
                if f is not chosen:
                    f.left_out = "not the centre face (--only-center-face)"
    todo = [f for f in faces if not f.left_out]
    matrices = [crop_matrix(f.quad, size) for f in todo]
    crops = [cut_face(photo, m, size) for m in matrices]
    restored = [np.clip(np.asarray(r, dtype=np.float32), 0, 1) for r in restore(crops)] if crops else []
    if len(restored) != len(crops):
        raise ValueError(f"the restorer gave {len(restored)} faces for {len(crops)}")
    grey = is_grey(photo)
    if grey:
        restored = [to_grey(r) for r in restored]
    if upscale == 1:
        canvas = photo.copy()
    else:
        canvas = np.clip(cv2.resize(photo, (w * upscale, h * upscale), interpolation=cv2.INTER_LANCZOS4), 0, 1)
    mask = soft_mask(size, feather)
    for m, face in zip(matrices, restored):
        paste_face(canvas, face, upscale_matrix(m, upscale), mask)
    return PhotoResult(canvas, faces, crops, restored, upscale)
