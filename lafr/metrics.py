"""Measuring a face restorer: the metrics of the paper's Tables 1 and 2 (Sec. 3.1), and result tables.

Full-reference metrics compare a restored face with its ground truth; no-reference metrics judge a
restored face alone; set metrics compare two sets of faces.

| metric | what it measures | network | offline here |
|---|---|---|---|
| PSNR, SSIM | pixels (RGB; pyiqa ``psnr`` and ``ssimc``) | none | yes |
| LPIPS, DISTS | deep-feature distance (pyiqa) | AlexNet / VGG, ImageNet-trained | no: weights download |
| Deg | identity: the angle between face embeddings (degrees) | ``identity_metric_net`` of the profile | dlib's ResNet (``lafr.dlibnet``) |
| LMD | geometry: mean distance of 68 landmarks (pixels) | dlib's 68-point predictor | yes |
| NIQE, MUSIQ, CLIPIQA, MANIQA | no-reference quality (pyiqa) | various | no: weights download |
| PIQE | no-reference quality (pyiqa; not in the paper) | none | yes |
| FID, FID-F | set distance in Inception features (pyiqa's clean-fid), against the ground truth (or a folder), and against FFHQ's statistics | Inception | no: weights download |
| FD-dlib | the same Frechet distance, in dlib's identity embedding (not FID) | dlib's ResNet | yes |

Conventions, so that numbers can be compared: images are float tensors in [0, 1], N x 3 x H x W (a
list when sizes differ).  PSNR and SSIM are on RGB (the paper does not say; OSEDiff, its base
framework, reports Y, which pyiqa calls ``psnry`` and ``ssim``); PSNR of identical images is pyiqa's
cap, 80 dB.  Deg and LMD find the face on the *ground truth* (dlib's HOG detector, on a copy enlarged
to at least 256 px) and read the restored face in the same box, so every restorer is judged on the
same faces; an image whose ground truth has no detectable face gets no Deg or LMD (``None``, with
the reason in ``Results.notes``), never a made-up number.  LMD is in pixels of the image as given.

A metric whose network cannot be had (offline, no weights) is reported as unavailable with the
reason, and the others still run.  The networks that judge are never those the loss trained with
(``check_judges``): the paper trains with CLIP and measures identity with ArcFace; the tiny profile
trains with its toy identity network and measures with dlib's.

Taught in notebook 06; ``lafr evaluate`` is its command line.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import io
import math
import os
import re
import socket
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

FULL_REFERENCE = ("psnr", "ssim", "lpips", "dists", "deg", "lmd")
NO_REFERENCE = ("niqe", "musiq", "clipiqa", "maniqa", "piqe")
SET_METRICS = ("fid", "fid_ffhq", "fd_dlib")  # fid: against the ground truth (or a folder); fid_ffhq: FFHQ's statistics
PAPER_NAMES = {  # our metric name -> the paper's column name (Tables 1, 2, 5, 7, 11)
    "psnr": "PSNR", "ssim": "SSIM", "lpips": "LPIPS", "dists": "DISTS", "deg": "Deg.", "lmd": "LMD",
    "niqe": "NIQE", "musiq": "M-IQ", "clipiqa": "C-IQA", "maniqa": "M-IQA", "fid": "FID", "fid_ffhq": "FID-F",
}  # fmt: skip
OTHER_NAMES = {"piqe": "PIQE", "fd_dlib": "FD-dlib", "lmd_true": "LMD-true"}  # metrics the paper does not report


def label(name: str) -> str:
    """How a metric is printed: the paper's column name, or ours for the metrics it does not report."""
    return PAPER_NAMES.get(name) or OTHER_NAMES.get(name, name)


LOWER_IS_BETTER = {"psnr": False, "ssim": False, "lpips": True, "dists": True, "deg": True, "lmd": True, "lmd_true": True,
                   "niqe": True, "musiq": False, "clipiqa": False, "maniqa": False, "piqe": True, "fid": True, "fid_ffhq": True, "fd_dlib": True}  # fmt: skip
PYIQA_NAMES = {"psnr": "psnr", "ssim": "ssimc", "lpips": "lpips", "dists": "dists", "niqe": "niqe", "musiq": "musiq",
               "clipiqa": "clipiqa", "maniqa": "maniqa", "piqe": "piqe", "fid": "fid", "fid_ffhq": "fid"}  # fmt: skip
DETECT_SIZE = 256  # faces are enlarged to at least this many pixels before dlib's HOG detector looks


class Unavailable(RuntimeError):
    """A metric whose network or weights cannot be had; the message says why and how to get them."""


@dataclass
class Metric:
    """One metric: its name, whether it needs ground truth, which network produced it, and
    ``fn(restored, reference) -> list of per-image values (None where it could not be measured)``."""

    name: str
    needs_gt: bool
    network: str
    fn: Callable = field(repr=False)
    model: object = field(default=None, repr=False)  # the pyiqa model behind it, if any


# ---- pyiqa's metrics -----------------------------------------------------------------------------


@functools.lru_cache(maxsize=None)
def _reachable(host: str = "huggingface.co", timeout: float = 3.0) -> bool:
    """Whether a TLS connection to ``host`` opens (asked once per process)."""
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


@contextlib.contextmanager
def _quiet_downloads():
    """Silence download chatter, and put the Hugging Face Hub client in offline mode when the Hub
    cannot be reached (else timm retries each file for half a minute before giving up)."""
    import huggingface_hub.constants as hub

    was = hub.HF_HUB_OFFLINE
    hub.HF_HUB_OFFLINE = was or not _reachable()
    try:
        with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        hub.HF_HUB_OFFLINE = was


def _pyiqa_metric(name: str, device) -> Metric:
    import pyiqa

    pyiqa_name = PYIQA_NAMES[name]
    try:
        with _quiet_downloads():
            model = pyiqa.create_metric(pyiqa_name, device=torch.device(device), as_loss=False)
    except ImportError as e:  # e.g. CLIP-IQA's openai-clip imports pkg_resources, gone from setuptools >= 81
        raise Unavailable(f"pyiqa's {pyiqa_name!r} needs a package that fails to import here ({e}); "
                          "for openai-clip: pip install 'setuptools<81'") from None  # fmt: skip
    except Exception as e:  # noqa: BLE001 - pyiqa raises whatever its download raised: report it, do not guess
        reason = str(e).splitlines()[0][:200] if str(e) else type(e).__name__
        raise Unavailable(f"pyiqa could not build {pyiqa_name!r} ({type(e).__name__}; its weights are downloaded at first use): {reason}") from None
    needs_gt = name in FULL_REFERENCE
    nets = {"psnr": "none (pixels, RGB; identical images give pyiqa's cap, 80 dB)", "ssim": "none (pixels, RGB: pyiqa's ssimc)",
            "piqe": "none (hand-made statistics; not a metric of the paper)"}  # fmt: skip

    def fn(restored, ref):
        out = []
        for i, x in enumerate(restored):
            with torch.no_grad():
                args = (x[None].to(device), ref.images[i][None].to(device)) if needs_gt else (x[None].to(device),)
                out.append(float(model(*args)))
        return out

    return Metric(name, needs_gt, nets.get(name, f"pyiqa {pyiqa_name} with its published weights"), fn, model)


# ---- faces, found and read by dlib ---------------------------------------------------------------


def dlib_model_file(name: str) -> Path:
    """The path of one of dlib's model files, or ``Unavailable`` saying how to install it."""
    from lafr.dlibnet import MISSING, model_file

    path = model_file(name)
    if path is None:
        raise Unavailable(f"{name} not found: {MISSING}")
    return path


def _uint8(img: torch.Tensor) -> np.ndarray:
    """[0, 1] 3 x H x W -> H x W x 3 uint8, C-contiguous (dlib silently misreads a strided array)."""
    return np.ascontiguousarray((img.detach().float().clamp(0, 1) * 255).round().byte().permute(1, 2, 0).cpu().numpy())


class DlibFaces:
    """dlib's HOG face detector and its 5- and 68-point shape predictors, on images in [0, 1].

    Small faces are enlarged (bicubic) by a whole factor to at least ``DETECT_SIZE`` pixels; boxes and
    landmarks are returned in the coordinates of the image as given.  Taught in notebook 06."""

    def __init__(self):
        try:
            import dlib
        except ImportError:
            raise Unavailable("dlib is not installed: pip install dlib-bin face-recognition-models") from None
        self.dlib = dlib
        self.detector = dlib.get_frontal_face_detector()
        self.predict68 = dlib.shape_predictor(str(dlib_model_file("shape_predictor_68_face_landmarks.dat")))
        dlib_model_file("shape_predictor_5_face_landmarks.dat")  # the chips' aligner (lafr.dlibnet.face_chip)

    @staticmethod
    def _enlarged(img: torch.Tensor) -> tuple[np.ndarray, int]:
        scale = max(1, math.ceil(DETECT_SIZE / min(img.shape[-2:])))
        if scale > 1:
            img = F.interpolate(img[None].float(), scale_factor=scale, mode="bicubic", align_corners=False)[0]
        return _uint8(img), scale

    def box(self, img: torch.Tensor) -> tuple[float, float, float, float] | None:
        """The largest detected face as (left, top, right, bottom) in pixels, or None."""
        arr, scale = self._enlarged(img)
        found = self.detector(arr, 0)
        if len(found) == 0:
            return None
        r = max(found, key=lambda r: r.width() * r.height())
        return r.left() / scale, r.top() / scale, r.right() / scale, r.bottom() / scale

    def landmarks(self, img: torch.Tensor, box) -> np.ndarray:
        """dlib's 68 landmarks (68 x 2, x and y in pixels) of the face inside ``box``."""
        arr, scale = self._enlarged(img)
        shape = self.predict68(arr, self.dlib.rectangle(*(round(v * scale) for v in box)))
        return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64) / scale

    def chip(self, img: torch.Tensor, box) -> torch.Tensor:
        """The face inside ``box`` aligned into dlib's 150 px chip (``lafr.dlibnet.face_chip``: the
        5-point predictor, then ``dlib.get_face_chip``): 3 x 150 x 150 in [0, 1]."""
        from lafr.dlibnet import face_chip

        arr, scale = self._enlarged(img)
        chip = face_chip(arr, box=tuple(v * scale for v in box))
        return torch.from_numpy(np.ascontiguousarray(chip)).permute(2, 0, 1).float() / 255

    def arcface_crop(self, img: torch.Tensor, box) -> torch.Tensor:
        """The face inside ``box`` warped onto ArcFace's 112 px template (a similarity transform of
        the eye centres, nose tip and mouth corners from dlib's 68 landmarks): 3 x 112 x 112 in [0, 1]."""
        from skimage.transform import SimilarityTransform, warp

        pts = self.landmarks(img, box)
        five = np.stack([pts[idx].mean(0) for idx in _ARCFACE_POINTS])
        tform = SimilarityTransform.from_estimate(ARCFACE_TEMPLATE, five) if hasattr(SimilarityTransform, "from_estimate") else None
        if tform is None:
            tform = SimilarityTransform()
            tform.estimate(ARCFACE_TEMPLATE, five)
        crop = warp(img.detach().float().clamp(0, 1).permute(1, 2, 0).cpu().numpy(), tform, output_shape=(112, 112), order=1)
        return torch.from_numpy(np.ascontiguousarray(crop, dtype=np.float32)).permute(2, 0, 1)


ARCFACE_URL = "https://github.com/xinntao/facexlib/releases/download/v0.1.0/recognition_arcface_ir_se50.pth"
# Where ArcFace's 112 px crops put the eye centres, the nose tip and the mouth corners (InsightFace).
ARCFACE_TEMPLATE = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]])
_ARCFACE_POINTS = [list(range(36, 42)), list(range(42, 48)), [30], [48], [54]]  # the same five, from dlib's 68


class ArcFaceIdentity(torch.nn.Module):
    """ArcFace (IR-SE50, InsightFace_Pytorch's weights as facexlib ships them): 112 x 112 aligned
    faces in [0, 1] -> unit-length 512-D embeddings.  The paper profile's judge of Deg, as prior
    work measures identity; a download.  Taught in notebook 06."""

    def __init__(self):
        super().__init__()
        from facexlib.recognition.arcface_arch import Backbone

        self.net = Backbone(num_layers=50, drop_ratio=0.6, mode="ir_se")

    def forward(self, faces: torch.Tensor) -> torch.Tensor:
        return self.net((faces - 0.5) / 0.5)


def load_arcface(device="cpu") -> ArcFaceIdentity:
    """ArcFace with its trained weights (downloaded once into torch's hub cache,
    ``$TORCH_HOME/hub/checkpoints``), or ``Unavailable`` saying where to put the file."""
    model = ArcFaceIdentity()
    try:
        with _quiet_downloads():
            state = torch.hub.load_state_dict_from_url(ARCFACE_URL, map_location="cpu", progress=False)
    except Exception as e:  # noqa: BLE001 - urllib, ssl, ... : report it with the way out
        where = Path(torch.hub.get_dir()) / "checkpoints" / ARCFACE_URL.rsplit("/", 1)[1]
        raise Unavailable(f"ArcFace's weights could not be downloaded ({str(e)[:120]}); put {ARCFACE_URL} at {where}") from None
    model.net.load_state_dict(state)
    return model.to(device).eval()


def angle_degrees(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The angle in degrees between rows of ``a`` and ``b`` (float64, cosine clamped to [-1, 1])."""
    cos = F.cosine_similarity(a.double(), b.double(), dim=-1).clamp(-1, 1)
    return torch.rad2deg(torch.arccos(cos))


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """The Frechet distance between Gaussians fitted to two sets of feature vectors (rows), the
    formula of FID: |mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2)).  Taught in notebook 06."""
    from scipy import linalg

    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if len(a) < 2 or len(b) < 2:
        raise ValueError(f"a Frechet distance needs at least 2 vectors per set, got {len(a)} and {len(b)}")
    mu, s_a, s_b = a.mean(0) - b.mean(0), np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = linalg.sqrtm(s_a @ s_b)
    return max(0.0, float(mu @ mu + np.trace(s_a + s_b - 2 * root.real)))  # >= 0; rounding can dip below


# ---- the reference: ground truth, measured once --------------------------------------------------


@dataclass
class Reference:
    """Ground-truth faces and what the face metrics need from them, computed once and reused for
    every restorer judged against them (``Suite.reference``)."""

    images: list
    names: list
    boxes: list = field(default_factory=list)  # per face: (l, t, r, b) or None
    landmarks: list = field(default_factory=list)  # per face: dlib's 68 x 2, or None
    embeddings: torch.Tensor | None = None  # per face: the identity embedding (NaN rows where no face)
    true_landmarks: list | None = None  # per face: the renderer's landmarks (synthetic faces only)


class Suite:
    """The metrics that can run here, the networks behind them, and those that cannot, with why.

    ``Suite(names, device)`` builds each metric of ``names`` (default: all of ``FULL_REFERENCE``,
    ``NO_REFERENCE`` and ``SET_METRICS``); ``suite.unavailable`` maps the others to their reason.
    ``identity_net`` names the network behind Deg (``"dlib"``: ``lafr.dlibnet``).  FID compares the
    restored set with ``fid_reference``: a folder of images, ``"FFHQ"`` (clean-fid's stored FFHQ
    statistics at 1024 px, as prior work), or None for the ground-truth set.  Taught in notebook 06."""

    def __init__(self, names=None, device="cpu", identity_net: str = "dlib", batch_size: int = 32, fid_reference: str | None = None):
        names = list(names or FULL_REFERENCE + NO_REFERENCE + SET_METRICS)
        unknown = [n for n in names if n not in LOWER_IS_BETTER]
        if unknown:
            raise ValueError(f"unknown metric(s) {unknown}; known: {sorted(LOWER_IS_BETTER)}")
        self.device, self.batch_size, self.identity_net, self.fid_reference = device, batch_size, identity_net, fid_reference
        self.metrics: dict[str, Metric] = {}
        self.unavailable: dict[str, str] = {}
        self.faces = self.embedder = self.crop = None
        for name in names:
            try:
                self.metrics[name] = self._build(name)
            except Unavailable as e:
                self.unavailable[name] = str(e)

    # -- building --
    def _face_tools(self):
        if self.faces is None:
            self.faces = DlibFaces()
        return self.faces

    def _identity(self):
        """The identity network (``identity_net``: "dlib" or "arcface") and the crop it reads."""
        if self.embedder is None:
            if self.identity_net == "arcface":
                self.embedder, self.crop = load_arcface(self.device), self.faces.arcface_crop
            elif self.identity_net == "dlib":
                from lafr.dlibnet import load_dlib_resnet

                try:
                    self.embedder, self.crop = load_dlib_resnet(device=self.device), self.faces.chip
                except (FileNotFoundError, ImportError, ValueError) as e:
                    raise Unavailable(str(e)) from None
            else:
                raise ValueError(f"unknown identity network {self.identity_net!r}: 'dlib' or 'arcface'")
        return self.embedder

    def _build(self, name: str) -> Metric:
        if name in ("deg", "fd_dlib"):
            self._face_tools(), self._identity()
            net = {"dlib": "dlib's face-recognition ResNet (dlib_face_recognition_resnet_model_v1, ported to PyTorch) on dlib's 150 px chips",
                   "arcface": "ArcFace IR-SE50 (recognition_arcface_ir_se50) on 112 px crops aligned by dlib's landmarks"}[self.identity_net]
            if name == "deg":
                return Metric(name, True, net, self._deg)
            if self.identity_net != "dlib":
                raise Unavailable("FD-dlib is defined in dlib's embedding space; this suite's identity network is " + self.identity_net)
            return Metric(name, True, net + "; a Frechet distance like FID's, but NOT FID", self._fd)
        if name in ("lmd", "lmd_true"):
            self._face_tools()
            return Metric(name, True, "dlib's 68-point shape predictor (shape_predictor_68_face_landmarks), in the ground truth's HOG box",
                          self._lmd if name == "lmd" else self._lmd_true)  # fmt: skip
        if name in ("fid", "fid_ffhq"):
            self._fid_model = _pyiqa_metric("fid", self.device).model  # raises Unavailable offline (Inception weights)
            where = "FFHQ" if name == "fid_ffhq" else self.fid_reference
            fn = lambda restored, ref: self._fid(restored, ref, where)  # noqa: E731
            return Metric(name, name == "fid" and where is None, f"pyiqa fid (Inception, clean-fid), against {where or 'the ground-truth set'}", fn)
        return _pyiqa_metric(name, self.device)

    # -- the reference --
    def reference(self, images, names=None, true_landmarks=None) -> Reference:
        """Measure the ground-truth faces once: face boxes, landmarks and embeddings, as the metrics
        that are available need them."""
        images = list(images)
        ref = Reference(images, list(names or [f"{i:04d}" for i in range(len(images))]), true_landmarks=true_landmarks)
        if self.faces is not None and any(m in self.metrics for m in ("deg", "lmd", "lmd_true", "fd_dlib")):
            ref.boxes = [self.faces.box(x) for x in images]
            ref.landmarks = [None if b is None else self.faces.landmarks(x, b) for x, b in zip(images, ref.boxes)]
            if self.embedder is not None:
                ref.embeddings = self._embed(images, ref.boxes)
        return ref

    def _embed(self, images, boxes) -> torch.Tensor:
        chips = [self.crop(x, b) for x, b in zip(images, boxes) if b is not None]
        width = 512 if self.identity_net == "arcface" else 128
        out = torch.full((len(images), width), float("nan"), dtype=torch.float64)
        if chips:
            with torch.no_grad():
                parts = [self.embedder(torch.stack(chips[i : i + self.batch_size]).to(self.device)).double().cpu()
                         for i in range(0, len(chips), self.batch_size)]  # fmt: skip
            out[[i for i, b in enumerate(boxes) if b is not None]] = torch.cat(parts)
        return out

    # -- the face metrics --
    def _deg(self, restored, ref):
        emb = self._embed(restored, ref.boxes)
        angles = angle_degrees(emb, ref.embeddings)
        return [None if b is None else float(a) for a, b in zip(angles, ref.boxes)]

    def _fd(self, restored, ref):
        ok = [b is not None for b in ref.boxes]
        need = 2 * ref.embeddings.shape[1]  # a covariance of d dimensions needs well over d samples
        if sum(ok) < need:
            raise Unavailable(f"a Frechet distance in {ref.embeddings.shape[1]} dimensions needs at least {need} faces; "
                              f"dlib found {sum(ok)} in the ground truth")  # fmt: skip
        emb = self._embed(restored, ref.boxes)
        return frechet_distance(emb[ok].numpy(), ref.embeddings[ok].numpy())

    def _fid(self, restored, ref, reference):
        """FID of the restored set against the reference (pyiqa reads folders: both are written as PNGs)."""
        import tempfile

        if len(restored) < 2:
            raise Unavailable(f"FID compares sets: got {len(restored)} image(s)")

        from lafr.data import save_image

        with tempfile.TemporaryDirectory() as tmp:
            for i, x in enumerate(restored):
                save_image(x, Path(tmp) / "restored" / f"{i:06d}.png")
            kwargs = {"verbose": False, "num_workers": 0}
            if reference is None:
                for i, x in enumerate(ref.images):
                    save_image(x, Path(tmp) / "reference" / f"{i:06d}.png")
                args = (str(Path(tmp) / "restored"), str(Path(tmp) / "reference"))
            elif Path(reference).is_dir():
                args = (str(Path(tmp) / "restored"), str(reference))
            else:  # clean-fid's stored statistics, e.g. "FFHQ" (1024 px, trainval70k)
                args = (str(Path(tmp) / "restored"),)
                kwargs.update(dataset_name=reference, dataset_res=1024, dataset_split="trainval70k")
            with _quiet_downloads():
                return float(self._fid_model(*args, **kwargs))

    def _lmd(self, restored, ref):
        return [None if b is None else float(np.linalg.norm(self.faces.landmarks(x, b) - lm, axis=1).mean())
                for x, b, lm in zip(restored, ref.boxes, ref.landmarks)]  # fmt: skip

    def _lmd_true(self, restored, ref):
        if ref.true_landmarks is None:
            raise Unavailable("needs the renderer's true landmarks (synthetic faces only: Suite.reference(..., true_landmarks=))")
        out = []
        for x, b, true in zip(restored, ref.boxes, ref.true_landmarks):
            if b is None:
                out.append(None)
                continue
            found = synthetic_points(self.faces.landmarks(x, b))
            out.append(float(np.linalg.norm(found - np.asarray(true)[_SYNTHETIC_ORDER], axis=1).mean()))
        return out

    # -- judging --
    def evaluate(self, restored, ref: Reference, label: str = "", progress: bool = False) -> "Results":
        """Every available metric of this suite on ``restored`` (a list or N x 3 x H x W tensor in
        [0, 1], in the order of ``ref``), per image, with the means in ``Results.summary``."""
        restored = list(restored)
        if len(restored) != len(ref.images):
            raise ValueError(f"{len(restored)} restored images for {len(ref.images)} references")
        for name, x, g in zip(ref.names, restored, ref.images):
            if tuple(x.shape) != tuple(g.shape):
                raise ValueError(f"{name}: restored image is {tuple(x.shape)}, its ground truth {tuple(g.shape)}")
        from tqdm.auto import tqdm

        res = Results(label=label, names=list(ref.names), networks={k: m.network for k, m in self.metrics.items()},
                      unavailable=dict(self.unavailable))  # fmt: skip
        for name, metric in tqdm(self.metrics.items(), desc="measuring", unit="metric", disable=not progress):
            try:
                value = metric.fn(restored, ref)
            except Unavailable as e:  # not applicable to these images (e.g. no true landmarks)
                res.unavailable[name] = str(e)
                res.networks.pop(name, None)
                continue
            if isinstance(value, list):
                res.per_image[name] = value
            else:
                res.set_values[name] = value
        res.notes = [f"{n}: no face found in the ground truth by dlib's HOG detector; Deg and LMD left empty"
                     for n, b in zip(ref.names, ref.boxes) if b is None]  # fmt: skip
        return res


# dlib's 68 points -> the synthetic renderer's landmarks it has a counterpart for
_SYNTHETIC_PAIRS = {"eye_left_outer": [36], "eye_left": list(range(36, 42)), "eye_left_inner": [39], "eye_right_inner": [42],
                    "eye_right": list(range(42, 48)), "eye_right_outer": [45], "nose_tip": [30], "mouth_left": [48],
                    "mouth_right": [54], "chin": [8]}  # fmt: skip


def _synthetic_order():
    from lafr.synthetic import LANDMARK_NAMES

    return [LANDMARK_NAMES.index(n) for n in _SYNTHETIC_PAIRS]


_SYNTHETIC_ORDER = _synthetic_order()


def synthetic_points(points68: np.ndarray) -> np.ndarray:
    """dlib's 68 landmarks -> the synthetic faces' landmarks they correspond to (eye corners and
    centres, nose tip, mouth corners, chin), in the order of ``_SYNTHETIC_PAIRS``."""
    return np.stack([points68[idx].mean(0) for idx in _SYNTHETIC_PAIRS.values()])


# ---- results -------------------------------------------------------------------------------------


@dataclass
class Results:
    """What ``Suite.evaluate`` measured: per-image values (None where not measurable), set values,
    the network behind each metric, and the metrics that could not run, with why."""

    label: str = ""
    names: list = field(default_factory=list)
    per_image: dict = field(default_factory=dict)  # metric -> [value or None per image]
    set_values: dict = field(default_factory=dict)  # metric -> one value for the whole set
    networks: dict = field(default_factory=dict)
    unavailable: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)

    @property
    def summary(self) -> dict:
        """metric -> mean over the images where it was measured (NaN where none was), and set values."""
        out = {}
        for k, v in self.per_image.items():
            vals = [x for x in v if x is not None]
            out[k] = float(np.mean(vals)) if vals else float("nan")
        out.update(self.set_values)
        return out

    def measured(self, metric: str) -> int:
        return sum(v is not None for v in self.per_image.get(metric, []))

    def to_csv(self, path: str | os.PathLike, overwrite: bool = False) -> Path:
        """One row per image, one column per metric (empty where not measured), then a 'mean' row
        (per-image metrics), a 'whole set' row (FID and other set metrics) and a 'network' row (what
        produced each column)."""
        path = Path(path)
        if path.exists() and not overwrite:
            raise FileExistsError(f"{path} exists; choose another name or delete it")
        path.parent.mkdir(parents=True, exist_ok=True)
        cols = list(self.per_image) + list(self.set_values)
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["image"] + cols)
            for i, n in enumerate(self.names):
                w.writerow([n] + [_cell(self.per_image[c][i]) if c in self.per_image else "" for c in cols])
            w.writerow(["mean"] + [_cell(self.summary[c]) if c in self.per_image else "" for c in cols])
            if self.set_values:
                w.writerow(["whole set"] + [_cell(self.set_values[c]) if c in self.set_values else "" for c in cols])
            w.writerow(["network"] + [self.networks.get(c, "") for c in cols])  # what produced each column
        return path


def _cell(v) -> str:
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.6g}"


def results_table(results: list[Results], paper_names: bool = True, decimals: dict | None = None) -> list[dict]:
    """Rows for ``lafr.paper.format_table``: one per result, its label under "Method" and each
    metric's mean under the paper's column name (``PAPER_NAMES``) where it has one."""
    rows = []
    for r in results:
        row = {"Method": r.label}
        for k, v in r.summary.items():
            row[PAPER_NAMES.get(k, k) if paper_names else k] = None if math.isnan(v) else round(v, 6)
        rows.append(row)
    return rows


def markdown(results: list[Results]) -> str:
    """The mean of each metric per result as a markdown table, with each metric's direction, the
    network behind it, and what could not be measured and why."""
    cols = list(dict.fromkeys(k for r in results for k in r.summary))
    arrow = {k: "\u2193" if LOWER_IS_BETTER.get(k) else "\u2191" for k in cols}
    lines = ["| method | " + " | ".join(f"{label(k)} {arrow[k]}" for k in cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for r in results:
        s = r.summary
        lines.append(f"| {r.label} | " + " | ".join(_fmt(s.get(k)) for k in cols) + " |")
    first = results[0] if results else Results()
    lines += ["", "Networks:"] + [f"- {label(k)}: {v}" for k, v in first.networks.items()]
    if first.unavailable:
        lines += ["", "Not measured:"] + [f"- {label(k)}: {v}" for k, v in first.unavailable.items()]
    return "\n".join(lines)


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    return f"{v:.4f}" if abs(v) < 1 else f"{v:.2f}"


# ---- the loss's networks never judge -------------------------------------------------------------


def loss_networks(cfg) -> dict[str, str]:
    """The networks a profile's loss trains with (``lafr.losses``): role -> name."""
    return {"identity": cfg.identity_net, "structure": cfg.structure_net, "lpips": f"lpips {cfg.lpips_net} ({cfg.lpips_backbone} backbone)"}


def _keys(name: str) -> set[str]:
    """Spellings of one network's name that must all be recognised: lower case, letters and digits
    only, the file or folder name without its extension, and a built-in toy network's folder."""
    from lafr.facenets import TOY_DIRS

    norm = lambda s: re.sub(r"[^a-z0-9]", "", s.lower())  # noqa: E731
    stem = Path(name.strip()).stem
    keys = {norm(name), norm(stem)}
    if name.strip() in TOY_DIRS:
        keys.add(norm(TOY_DIRS[name.strip()].name))
    return {k for k in keys if k}


def check_judges(cfg, suite: Suite) -> None:
    """Raise ``ValueError`` if a metric of ``suite`` is computed by a network the loss of profile
    ``cfg`` trains with (the paper: CLIP in the loss, ArcFace in the metric).  Names are compared
    however they are spelled (case, separators, a path or a file name).  The paper trains with CLIP
    and measures identity with ArcFace; we make that a rule.  LPIPS stays the exception, as in the
    paper: it is in the loss and among the metrics, here with different backbones (the tiny loss's is
    random; the metric's is pretrained).  Taught in notebook 06."""
    trained = set().union(*(_keys(v) for v in loss_networks(cfg).values() if not v.startswith("lpips ")))
    if _keys(suite.identity_net) & trained:
        raise ValueError(f"Deg would be judged by {suite.identity_net!r}, which the loss trains with")
    clash = {k: m.network for k, m in suite.metrics.items() if any(t in re.sub(r"[^a-z0-9]", "", m.network.lower()) for t in trained)}
    if clash:
        raise ValueError(f"metrics judged by a network the loss trains with: {clash}")
