"""The face tools behind Deg and LMD: dlib's detector and landmarks, and the identity networks' crops.

* ``DlibFaces`` finds a face (dlib's HOG detector), reads its 68 landmarks, and aligns it into the
  chip an identity network reads: dlib's 150 px chip (for ``lafr.dlibnet``, the tiny profile's
  judge) or ArcFace's 112 px crop (``ArcFaceIdentity``, the paper profile's judge).
* ``synthetic_points`` maps dlib's 68 landmarks onto the synthetic faces' own, so that LMD can also
  be measured against the renderer's true landmarks.

A tool whose network or weights cannot be had raises ``Unavailable``, saying why and how to get it;
``lafr.metrics`` then reports that metric as not measured.  None of these networks trains the model.
Taught in notebook 06.
"""

from __future__ import annotations

import contextlib
import functools
import io
import math
import socket
import urllib.parse
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from lafr.synthetic import LANDMARK_NAMES

DETECT_SIZE = 256  # faces are enlarged to at least this many pixels before dlib's HOG detector looks


class Unavailable(RuntimeError):
    """A metric whose network or weights cannot be had; the message says why and how to get them."""


@functools.cache
def _reachable(endpoint: str, timeout: float = 3.0) -> bool:
    """Whether a connection to the Hub at ``endpoint`` opens (huggingface.co, or the mirror or local
    copy that ``HF_ENDPOINT`` names; asked once per process and endpoint)."""
    url = urllib.parse.urlsplit(endpoint)
    try:
        port = url.port or (443 if url.scheme == "https" else 80)
        socket.create_connection((url.hostname, port), timeout=timeout).close()
        return True
    except (OSError, ValueError, TypeError):  # no answer; a malformed endpoint has no host or port to ask
        return False


@contextlib.contextmanager
def quiet_downloads():
    """Silence download chatter, and put the Hugging Face Hub client in offline mode when the Hub it
    asks (``HF_ENDPOINT`` where set) cannot be reached (else timm retries each file for half a minute
    before giving up)."""
    import huggingface_hub.constants as hub

    was = hub.HF_HUB_OFFLINE
    hub.HF_HUB_OFFLINE = was or not _reachable(hub.ENDPOINT)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        hub.HF_HUB_OFFLINE = was


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
        tform = (
            SimilarityTransform.from_estimate(ARCFACE_TEMPLATE, five)
            if hasattr(SimilarityTransform, "from_estimate")
            else None
        )
        if tform is None:
            tform = SimilarityTransform()
            tform.estimate(ARCFACE_TEMPLATE, five)
        crop = warp(
            img.detach().float().clamp(0, 1).permute(1, 2, 0).cpu().numpy(), tform, output_shape=(112, 112), order=1
        )
        return torch.from_numpy(np.ascontiguousarray(crop, dtype=np.float32)).permute(2, 0, 1)


# Where ArcFace's 112 px crops put the eye centres, the nose tip and the mouth corners (InsightFace).
ARCFACE_TEMPLATE = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]]
)


_ARCFACE_POINTS = [list(range(36, 42)), list(range(42, 48)), [30], [48], [54]]  # the same five, from dlib's 68


def _weights(name: str) -> dict:
    """The state dict of judging network ``name`` (``lafr.datasets.network_file``: a download once),
    without DataParallel's ``module.`` prefix; ``Unavailable`` saying where to put the file."""
    from lafr.datasets import DatasetError, network_file

    try:
        path = network_file(name)
    except DatasetError as e:
        raise Unavailable(str(e)) from None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - a truncated or foreign file: say which
        raise Unavailable(
            f"{path}: not a PyTorch weight file ({type(e).__name__}: {str(e)[:120]}); delete it"
        ) from None
    state = state.get("state_dict", state)
    return {k.removeprefix("module."): v for k, v in state.items()}


def _load(model: nn.Module, name: str, device) -> nn.Module:
    state = _weights(name)
    try:
        model.load_state_dict(state)
    except RuntimeError as e:  # keys or shapes that do not fit: another network's file
        raise Unavailable(
            f"{name}: the weight file does not fit the network ({str(e).splitlines()[0][:160]})"
        ) from None
    return model.to(device).eval()


# ---- ArcFace IR-SE50 on aligned 112 px crops ------------------------------------------------------


class ArcFaceIdentity(nn.Module):
    """ArcFace (IR-SE50, InsightFace_Pytorch's weights as facexlib ships them): 112 x 112 aligned
    faces in [0, 1] -> 512-D embeddings.  A named option for Deg (``identity_net="arcface_irse50"``);
    the prior work's Deg uses ``ArcFaceResNet18``.  Taught in notebook 06."""

    def __init__(self):
        super().__init__()
        from facexlib.recognition.arcface_arch import Backbone

        self.net = Backbone(num_layers=50, drop_ratio=0.6, mode="ir_se")

    def forward(self, faces: torch.Tensor) -> torch.Tensor:
        return self.net((faces - 0.5) / 0.5)


def load_arcface(device="cpu") -> ArcFaceIdentity:
    """ArcFace IR-SE50 with its trained weights (registry entry ``arcface_irse50``), or ``Unavailable``."""
    model = ArcFaceIdentity()
    _load(model.net, "arcface_irse50", device)
    return model.to(device).eval()


# ---- the prior work's judges: VQFR's metric scripts (GFPGAN, VQFR, CodeFormer-era tables) -----------
#
# VQFR's calculate_cos_dist.py reads each whole aligned face as grayscale (cv2.imread(path, 0)),
# resizes it to 128 x 128 (cv2.resize, bilinear), maps it to [-1, 1] and embeds it with a ResNet-18
# ArcFace; Deg = arccos(cos) / pi * 180.  Its calculate_landmark_distance.py gives the whole face, in
# RGB, resized to 256 x 256, to FAN (98 WFLW landmarks) and averages the L2 distances.  Neither finds
# or crops a face: both read the aligned 512 px face as it is.


class _IRBlock(nn.Module):
    """arcface-pytorch's IRBlock without SE: BN, conv, BN, PReLU, conv (stride), BN, plus the shortcut,
    then the same PReLU.  Parameter names as in the released weights."""

    def __init__(self, inplanes: int, planes: int, stride: int = 1):
        super().__init__()
        self.bn0, self.bn1, self.bn2 = nn.BatchNorm2d(inplanes), nn.BatchNorm2d(inplanes), nn.BatchNorm2d(planes)
        self.conv1 = nn.Conv2d(inplanes, inplanes, 3, padding=1, bias=False)
        self.conv2 = nn.Conv2d(inplanes, planes, 3, stride=stride, padding=1, bias=False)
        self.prelu = nn.PReLU()
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(
                nn.Conv2d(inplanes, planes, 1, stride=stride, bias=False), nn.BatchNorm2d(planes)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn2(self.conv2(self.prelu(self.bn1(self.conv1(self.bn0(x))))))
        return self.prelu(out + (x if self.downsample is None else self.downsample(x)))


class ArcFaceResNet18(nn.Module):
    """The ResNet-18 ArcFace of VQFR's Deg script: arcface-pytorch's ``resnet_face18(use_se=False)``,
    which GFPGAN releases as ``arcface_resnet18.pth`` (``ResNetArcFace(block='IRBlock',
    layers=(2, 2, 2, 2), use_se=False)``); facexlib does not include it, so it is written out here.
    1 x 128 x 128 grayscale in [-1, 1] -> 512-D embeddings (``vqfr_gray`` prepares the input).
    The paper profile's judge of Deg.  Taught in notebook 06."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 64, 3, padding=1, bias=False)
        self.bn1, self.prelu, self.maxpool = nn.BatchNorm2d(64), nn.PReLU(), nn.MaxPool2d(2, 2)
        width = 64
        for i, (planes, stride) in enumerate(((64, 1), (128, 2), (256, 2), (512, 2)), start=1):
            setattr(self, f"layer{i}", nn.Sequential(_IRBlock(width, planes, stride), _IRBlock(planes, planes)))
            width = planes
        self.bn4, self.dropout = nn.BatchNorm2d(512), nn.Dropout()
        self.fc5, self.bn5 = nn.Linear(512 * 8 * 8, 512), nn.BatchNorm1d(512)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.prelu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.bn5(self.fc5(self.dropout(self.bn4(x)).flatten(1)))


def load_arcface_r18(device="cpu") -> ArcFaceResNet18:
    """``ArcFaceResNet18`` with its released weights (registry entry ``arcface_resnet18``), or
    ``Unavailable`` saying where to put the file.  Taught in notebook 06."""
    return _load(ArcFaceResNet18(), "arcface_resnet18", device)


def vqfr_gray(img: torch.Tensor, box=None) -> torch.Tensor:
    """A whole face image (3 x H x W in [0, 1]) as VQFR's Deg script reads it: 8-bit, grayscale by
    OpenCV's weights (0.299 R + 0.587 G + 0.114 B), resized to 128 x 128 by ``cv2.resize``
    (bilinear, no antialiasing), then (v - 127.5) / 127.5: 1 x 128 x 128.  ``box`` is ignored: the
    script reads the aligned face as it is.  (VQFR's ``cv2.imread(path, 0)`` converts while decoding
    the PNG; its rounding can differ from ``cv2.cvtColor``'s by one grey level.)"""
    import cv2

    gray = cv2.cvtColor(_uint8(img), cv2.COLOR_RGB2GRAY)
    small = cv2.resize(gray, (128, 128), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    return torch.from_numpy((small - 127.5) / 127.5)[None]


def load_fan(device="cpu") -> nn.Module:
    """FAN (facexlib's ``awing_arch.FAN``, 4 hourglasses, 98 landmarks) with the weights VQFR's LMD
    script uses (registry entry ``fan_wflw``), or ``Unavailable``.  Taught in notebook 06."""
    from facexlib.alignment.awing_arch import FAN

    return _load(FAN(num_modules=4, num_landmarks=98, device=str(device)), "fan_wflw", device)


def heatmap_points(heatmaps: np.ndarray) -> np.ndarray:
    """Landmarks (N x K x 2, x and y in heatmap cells) from FAN's heatmaps (N x K x H x W): each map's
    peak, moved a quarter cell towards its larger neighbour in x and in y, plus half a cell.  The
    rule of facexlib's and VQFR's ``calculate_points``, except on a map's edge, where ours does not
    shift along that axis (theirs wraps to the next row, or reads the last cell of the map for every
    point of the batch as soon as one peak sits on the last row)."""
    n, k, h, w = heatmaps.shape
    flat = heatmaps.reshape(n, k, h * w)
    peak = flat.argmax(-1)
    y, x = peak // w, peak % w
    maps = heatmaps.reshape(n * k, h, w)
    rows, ys, xs = np.arange(n * k), y.ravel(), x.ravel()

    def at(yy, xx):
        return maps[rows, np.clip(yy, 0, h - 1), np.clip(xx, 0, w - 1)]

    inside_x, inside_y = (xs > 0) & (xs < w - 1), (ys > 0) & (ys < h - 1)  # on an edge: no shift along it
    dx = (np.sign(at(ys, xs + 1) - at(ys, xs - 1)) * inside_x).reshape(n, k)
    dy = (np.sign(at(ys + 1, xs) - at(ys - 1, xs)) * inside_y).reshape(n, k)
    return np.stack([x + 0.25 * dx, y + 0.25 * dy], -1).astype(np.float64) + 0.5


@torch.no_grad()
def fan_landmarks(model: nn.Module, img: torch.Tensor) -> np.ndarray:
    """FAN's 98 landmarks (98 x 2, pixels of ``img`` as given) of a whole aligned face (3 x H x W in
    [0, 1]), read as VQFR's LMD script reads it: 8-bit RGB resized to 256 x 256 (``cv2.resize``,
    bilinear), in [0, 1]; heatmap cells scaled back by W / 64 and H / 64."""
    import cv2

    arr = _uint8(img)
    h, w = arr.shape[:2]
    small = cv2.resize(arr, (256, 256), interpolation=cv2.INTER_LINEAR)
    x = torch.from_numpy(np.ascontiguousarray(small.transpose(2, 0, 1))).float().div(255)[None]
    device = next(model.parameters()).device
    heatmaps = model(x.to(device))[0][-1][:, :-1].float().cpu().numpy()  # the last stack; the boundary map dropped
    return heatmap_points(heatmaps)[0] * np.array([w / 64, h / 64])


# dlib's 68 points -> the synthetic renderer's landmarks it has a counterpart for
_SYNTHETIC_PAIRS = {
    "eye_left_outer": [36], "eye_left": list(range(36, 42)), "eye_left_inner": [39],
    "eye_right_inner": [42], "eye_right": list(range(42, 48)), "eye_right_outer": [45],
    "nose_tip": [30], "mouth_left": [48], "mouth_right": [54], "chin": [8],
}  # fmt: skip


def _synthetic_order():
    return [LANDMARK_NAMES.index(n) for n in _SYNTHETIC_PAIRS]


SYNTHETIC_ORDER = _synthetic_order()


def synthetic_points(points68: np.ndarray) -> np.ndarray:
    """dlib's 68 landmarks -> the synthetic faces' landmarks they correspond to (eye corners and
    centres, nose tip, mouth corners, chin), in the order of ``_SYNTHETIC_PAIRS``."""
    return np.stack([points68[idx].mean(0) for idx in _SYNTHETIC_PAIRS.values()])
