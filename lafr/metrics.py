"""Measuring a face restorer: the metrics of the paper's Tables 1 and 2 (Sec. 3.1).

Full-reference metrics compare a restored face with its ground truth; no-reference metrics judge a
restored face alone; set metrics compare two sets of faces.

| metric | what it measures | network | offline here |
|---|---|---|---|
| PSNR, SSIM | pixels (RGB; pyiqa ``psnr`` and ``ssimc``) | none | yes |
| LPIPS, DISTS | deep-feature distance (pyiqa) | AlexNet / VGG, ImageNet-trained | no: weights download |
| Deg | identity: the angle between face embeddings (degrees) | the profile's ``identity_metric_net`` | dlib's ResNet |
| LMD | geometry: mean distance between landmarks (pixels) | the profile's ``landmark_metric_net`` | dlib's 68 |
| NIQE, MUSIQ, CLIPIQA, MANIQA | no-reference quality (pyiqa) | various | no: weights download |
| PIQE | no-reference quality (pyiqa; not in the paper) | none | yes |
| FID, FID-F | Inception-feature set distance (clean-fid): to the ground truth; FID-F to FFHQ | Inception | no |
| FD-dlib | the same Frechet distance, in dlib's identity embedding (not FID) | dlib's ResNet | yes |

Conventions, so that numbers can be compared: images are float tensors in [0, 1], N x 3 x H x W (a
list when sizes differ).  PSNR and SSIM are on RGB (the paper does not say; OSEDiff, its base
framework, reports Y, which pyiqa calls ``psnry`` and ``ssim``); PSNR of identical images is pyiqa's
cap, 80 dB.  The paper profile's Deg and LMD follow VQFR's published metric scripts (ArcFace
ResNet-18 on the whole aligned face, grayscale 128 px; FAN's 98 landmarks on the whole face at
256 px), which find no face and crop nothing.  VQFR's Deg script leaves pairs within 1 degree out of
its mean; ours keeps them and says how many there were (``Results.notes``).  dlib's judges (the tiny
profile's, and IR-SE50's crops) find the face on the *ground truth* (dlib's HOG detector, on a copy
enlarged to at least 256 px) and read the restored face in the same box, so every restorer is judged
on the same faces; an image whose ground truth has no detectable face gets no value from them
(``None``, with the reason in ``Results.notes``), never a made-up number.  LMD is in pixels of the
image as given.

A metric whose network cannot be had (offline, no weights) is reported as unavailable with the
reason, and the others still run.  The networks that judge are never those the loss trained with
(``check_judges``): the paper trains with CLIP and measures identity with ArcFace; the tiny profile
trains with its toy identity network and measures with dlib's.

Taught in notebook 06; ``lafr evaluate`` is its command line.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from lafr.judges import (
    SYNTHETIC_ORDER,
    DlibFaces,
    Unavailable,
    fan_landmarks,
    load_arcface,
    load_arcface_r18,
    load_fan,
    quiet_downloads,
    synthetic_points,
    vqfr_gray,
)
from lafr.results import LOWER_IS_BETTER, Results

FULL_REFERENCE = ("psnr", "ssim", "lpips", "dists", "deg", "lmd")
NO_REFERENCE = ("niqe", "musiq", "clipiqa", "maniqa", "piqe")
SET_METRICS = ("fid", "fid_ffhq", "fd_dlib")  # fid: against the ground truth (or a folder); fid_ffhq: FFHQ's statistics


PYIQA_NAMES = {"psnr": "psnr", "ssim": "ssimc", "lpips": "lpips", "dists": "dists", "niqe": "niqe", "musiq": "musiq",
               "clipiqa": "clipiqa", "maniqa": "maniqa", "piqe": "piqe", "fid": "fid", "fid_ffhq": "fid"}  # fmt: skip


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


def _pyiqa_metric(name: str, device) -> Metric:
    import pyiqa

    pyiqa_name = PYIQA_NAMES[name]
    try:
        with quiet_downloads():
            model = pyiqa.create_metric(pyiqa_name, device=torch.device(device), as_loss=False)
    except ImportError as e:  # e.g. CLIP-IQA's openai-clip imports pkg_resources, gone from setuptools >= 81
        raise Unavailable(
            f"pyiqa's {pyiqa_name!r} needs a package that fails to import here ({e}); "
            "for openai-clip: pip install 'setuptools<81'"
        ) from None
    except Exception as e:  # noqa: BLE001 - pyiqa raises whatever its download raised: report it, do not guess
        reason = str(e).splitlines()[0][:200] if str(e) else type(e).__name__
        raise Unavailable(
            f"pyiqa could not build {pyiqa_name!r} ({type(e).__name__}; its weights are downloaded at first use): "
            f"{reason}"
        ) from None
    needs_gt = name in FULL_REFERENCE
    nets = {
        "psnr": "none (pixels, RGB; identical images give pyiqa's cap, 80 dB)",
        "ssim": "none (pixels, RGB: pyiqa's ssimc)",
        "piqe": "none (hand-made statistics; not a metric of the paper)",
    }

    def fn(restored, ref):
        out = []
        for i, x in enumerate(restored):
            with torch.no_grad():
                args = (x[None].to(device), ref.images[i][None].to(device)) if needs_gt else (x[None].to(device),)
                out.append(float(model(*args)))
        return out

    return Metric(name, needs_gt, nets.get(name, f"pyiqa {pyiqa_name} with its published weights"), fn, model)


# ---- the distances behind Deg and the set metrics -------------------------------------------------


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


# ---- the networks that judge Deg and LMD ----------------------------------------------------------

# name -> (what the results say, whether it reads the face in dlib's box, embedding width)
IDENTITY_NETS = {
    "arcface_r18": (
        "ArcFace ResNet-18 (arcface_resnet18.pth) on the whole face, grayscale 128 px, as VQFR's Deg script",
        False,
        512,
    ),
    "arcface_irse50": (
        "ArcFace IR-SE50 (recognition_arcface_ir_se50) on 112 px crops aligned by dlib's landmarks",
        True,
        512,
    ),
    "dlib": (
        "dlib's face-recognition ResNet (dlib_face_recognition_resnet_model_v1, ported to PyTorch) on dlib's "
        "150 px chips",
        True,
        128,
    ),
}
LANDMARK_NETS = {
    "fan": "FAN (alignment_WFLW_4HG.pth, 98 landmarks) on the whole face at 256 px, as VQFR's LMD script",
    "dlib": "dlib's 68-point shape predictor (shape_predictor_68_face_landmarks), in the ground truth's HOG box",
}


# ---- the reference: ground truth, measured once --------------------------------------------------


@dataclass
class Reference:
    """Ground-truth faces and what the face metrics need from them, computed once and reused for
    every restorer judged against them (``Suite.reference``)."""

    images: list
    names: list
    boxes: list = field(default_factory=list)  # per face: (l, t, r, b) or None
    landmarks: list = field(default_factory=list)  # per face: the landmark network's K x 2, or None
    embeddings: torch.Tensor | None = None  # per face: the identity embedding (NaN rows where no face)
    true_landmarks: list | None = None  # per face: the renderer's landmarks (synthetic faces only)


class Suite:
    """The metrics that can run here, the networks behind them, and those that cannot, with why.

    ``Suite(names, device)`` builds each metric of ``names`` (default: all of ``FULL_REFERENCE``,
    ``NO_REFERENCE`` and ``SET_METRICS``); ``suite.unavailable`` maps the others to their reason.
    ``identity_net`` names the network behind Deg and ``landmark_net`` the one behind LMD
    (``IDENTITY_NETS``, ``LANDMARK_NETS``: the prior work's ``"arcface_r18"`` and ``"fan"``, or dlib's
    networks, offline).  FID compares the
    restored set with ``fid_reference``: a folder of images, ``"FFHQ"`` (clean-fid's stored FFHQ
    statistics at 1024 px, as prior work), or None for the ground-truth set.  Taught in notebook 06."""

    def __init__(
        self,
        names=None,
        device="cpu",
        identity_net: str = "dlib",
        landmark_net: str = "dlib",
        batch_size: int = 32,
        fid_reference: str | None = None,
    ):
        names = list(names or FULL_REFERENCE + NO_REFERENCE + SET_METRICS)
        unknown = [n for n in names if n not in LOWER_IS_BETTER]
        if unknown:
            raise ValueError(f"unknown metric(s) {unknown}; known: {sorted(LOWER_IS_BETTER)}")
        self.device, self.batch_size, self.identity_net, self.fid_reference = (
            device,
            batch_size,
            identity_net,
            fid_reference,
        )
        self.metrics: dict[str, Metric] = {}
        self.unavailable: dict[str, str] = {}
        self.landmark_net = landmark_net  # both checked when a metric that needs them is built
        self.faces = self.embedder = self.crop = self.fan = None
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
        """The identity network (``identity_net``, one of ``IDENTITY_NETS``) and the crop it reads."""
        if self.identity_net not in IDENTITY_NETS:
            raise ValueError(f"unknown identity network {self.identity_net!r}; known: {sorted(IDENTITY_NETS)}")
        if self.embedder is None:
            if self.identity_net == "arcface_r18":
                self.embedder, self.crop = load_arcface_r18(self.device), vqfr_gray
            elif self.identity_net == "arcface_irse50":
                self._face_tools()
                self.embedder, self.crop = load_arcface(self.device), self.faces.arcface_crop
            else:
                from lafr.dlibnet import load_dlib_resnet

                self._face_tools()
                try:
                    self.embedder, self.crop = load_dlib_resnet(device=self.device), self.faces.chip
                except (FileNotFoundError, ImportError, ValueError) as e:
                    raise Unavailable(str(e)) from None
        return self.embedder

    def _in_box(self, name: str) -> bool:
        """Whether metric ``name`` reads the face inside dlib's box of the ground truth."""
        return {
            "deg": IDENTITY_NETS[self.identity_net][1],
            "fd_dlib": True,
            "lmd": self.landmark_net != "fan",
            "lmd_true": True,
        }.get(name, False)

    def _build(self, name: str) -> Metric:
        if name in ("deg", "fd_dlib"):
            self._identity()
            net = IDENTITY_NETS[self.identity_net][0]
            if name == "deg":
                return Metric(name, True, net, self._deg)
            if self.identity_net != "dlib":
                raise Unavailable(
                    "FD-dlib is defined in dlib's embedding space; this suite's identity network is "
                    + self.identity_net
                )
            return Metric(name, True, net + "; a Frechet distance like FID's, but NOT FID", self._fd)
        if name == "lmd" and self.landmark_net not in LANDMARK_NETS:
            raise ValueError(f"unknown landmark network {self.landmark_net!r}; known: {sorted(LANDMARK_NETS)}")
        if name == "lmd" and self.landmark_net == "fan":
            self.fan = load_fan(self.device)
            return Metric(name, True, LANDMARK_NETS["fan"], self._lmd)
        if name in ("lmd", "lmd_true"):
            self._face_tools()
            return Metric(name, True, LANDMARK_NETS["dlib"], self._lmd if name == "lmd" else self._lmd_true)
        if name in ("fid", "fid_ffhq"):
            self._fid_model = _pyiqa_metric("fid", self.device).model  # raises Unavailable offline (Inception weights)
            where = "FFHQ" if name == "fid_ffhq" else self.fid_reference
            fn = lambda restored, ref: self._fid(restored, ref, where)
            return Metric(
                name,
                name == "fid" and where is None,
                f"pyiqa fid (Inception, clean-fid), against {where or 'the ground-truth set'}",
                fn,
            )
        return _pyiqa_metric(name, self.device)

    # -- the reference --
    def reference(self, images, names=None, true_landmarks=None) -> Reference:
        """Measure the ground-truth faces once: face boxes, landmarks and embeddings, as the metrics
        that are available need them."""
        images = list(images)
        ref = Reference(images, list(names or [f"{i:04d}" for i in range(len(images))]), true_landmarks=true_landmarks)
        if any(self._in_box(m) for m in self.metrics):  # dlib finds the face once, on the ground truth
            ref.boxes = [self.faces.box(x) for x in images]
        if "lmd" in self.metrics:
            ref.landmarks = [self._landmarks(x, b) for x, b in zip(images, self._boxes(ref, "lmd"))]
        if self.embedder is not None and any(m in self.metrics for m in ("deg", "fd_dlib")):
            ref.embeddings = self._embed(images, self._boxes(ref, "deg"))
        return ref

    def measured(self, ref: Reference) -> list[int]:
        """Indices of the faces the face metrics (Deg, LMD) read: those whose ground truth dlib found a
        face in, when a metric reads dlib's box; else every face.  Taught in notebook 06."""
        if not any(self._in_box(m) for m in self.metrics):
            return list(range(len(ref.images)))
        return [i for i, b in enumerate(ref.boxes) if b is not None]

    def _boxes(self, ref: Reference, name: str) -> list:
        """Where metric ``name`` reads each face: dlib's box of the ground truth (None: no face found),
        or ``"whole"`` for a network that reads the whole aligned face."""
        return ref.boxes if self._in_box(name) else ["whole"] * len(ref.images)

    def _landmarks(self, img, box):
        if box is None:
            return None
        return fan_landmarks(self.fan, img) if self.landmark_net == "fan" else self.faces.landmarks(img, box)

    def _embed(self, images, boxes) -> torch.Tensor:
        chips = [self.crop(x, b) for x, b in zip(images, boxes) if b is not None]
        width = IDENTITY_NETS[self.identity_net][2]
        out = torch.full((len(images), width), float("nan"), dtype=torch.float64)
        if chips:
            with torch.no_grad():
                parts = [
                    self.embedder(torch.stack(chips[i : i + self.batch_size]).to(self.device)).double().cpu()
                    for i in range(0, len(chips), self.batch_size)
                ]
            out[[i for i, b in enumerate(boxes) if b is not None]] = torch.cat(parts)
        return out

    # -- the face metrics --
    def _deg(self, restored, ref):
        boxes = self._boxes(ref, "deg")
        emb = self._embed(restored, boxes)
        angles = angle_degrees(emb, ref.embeddings)
        return [None if b is None else float(a) for a, b in zip(angles, boxes)]

    def _fd(self, restored, ref):
        ok = [b is not None for b in ref.boxes]
        need = 2 * ref.embeddings.shape[1]  # a covariance of d dimensions needs well over d samples
        if sum(ok) < need:
            raise Unavailable(
                f"a Frechet distance in {ref.embeddings.shape[1]} dimensions needs at least {need} faces; "
                f"dlib found {sum(ok)} in the ground truth"
            )
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
            with quiet_downloads():
                return float(self._fid_model(*args, **kwargs))

    def _lmd(self, restored, ref):
        return [
            None if b is None else float(np.linalg.norm(self._landmarks(x, b) - lm, axis=1).mean())
            for x, b, lm in zip(restored, self._boxes(ref, "lmd"), ref.landmarks)
        ]

    def _lmd_true(self, restored, ref):
        if ref.true_landmarks is None:
            raise Unavailable(
                "needs the renderer's true landmarks (synthetic faces only: Suite.reference(..., true_landmarks=))"
            )
        out = []
        for x, b, true in zip(restored, ref.boxes, ref.true_landmarks):
            if b is None:
                out.append(None)
                continue
            found = synthetic_points(self.faces.landmarks(x, b))
            out.append(float(np.linalg.norm(found - np.asarray(true)[SYNTHETIC_ORDER], axis=1).mean()))
        return out

    # -- judging --
    def evaluate(self, restored, ref: Reference, label: str = "", progress: bool = False) -> Results:
        """Every available metric of this suite on ``restored`` (a list or N x 3 x H x W tensor in
        [0, 1], in the order of ``ref``), per image, with the means in ``Results.summary``."""
        restored = list(restored)
        if len(restored) != len(ref.images):
            raise ValueError(f"{len(restored)} restored images for {len(ref.images)} references")
        for name, x, g in zip(ref.names, restored, ref.images):
            if tuple(x.shape) != tuple(g.shape):
                raise ValueError(f"{name}: restored image is {tuple(x.shape)}, its ground truth {tuple(g.shape)}")
        from tqdm.auto import tqdm

        res = Results(
            label=label,
            names=list(ref.names),
            networks={k: m.network for k, m in self.metrics.items()},
            unavailable=dict(self.unavailable),
        )
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
        label = {"deg": "Deg", "lmd": "LMD", "lmd_true": "LMD-true", "fd_dlib": "FD-dlib"}
        in_box = [label[m] for m in self.metrics if self._in_box(m)]
        res.notes = [
            f"{n}: no face found in the ground truth by dlib's HOG detector; {', '.join(in_box)} left empty"
            for n, b in zip(ref.names, ref.boxes)
            if b is None
        ]
        close = [a for a in res.per_image.get("deg", []) if a is not None and a < 1.0]
        if close:
            res.notes.append(
                f"deg: {len(close)} of {len(res.per_image['deg'])} faces are within 1 degree of their ground truth; "
                "they count in the mean here (VQFR's script leaves them out of its mean and counts them apart)"
            )
        return res


# ---- the loss's networks never judge -------------------------------------------------------------


def loss_networks(cfg) -> dict[str, str]:
    """The networks a profile's loss trains with (``lafr.losses``): role -> name."""
    return {
        "identity": cfg.identity_net,
        "structure": cfg.structure_net,
        "lpips": f"lpips {cfg.lpips_net} ({cfg.lpips_backbone} backbone)",
    }


def _keys(name: str) -> set[str]:
    """Spellings of one network's name that must all be recognised: lower case, letters and digits
    only, the file or folder name without its extension, and a built-in toy network's folder."""
    from lafr.facenets import TOY_DIRS

    norm = lambda s: re.sub(r"[^a-z0-9]", "", s.lower())
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
    clash = {
        k: m.network
        for k, m in suite.metrics.items()
        if any(t in re.sub(r"[^a-z0-9]", "", m.network.lower()) for t in trained)
    }
    if clash:
        raise ValueError(f"metrics judged by a network the loss trains with: {clash}")
