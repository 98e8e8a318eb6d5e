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
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from lafr.synthetic import LANDMARK_NAMES

DETECT_SIZE = 256  # faces are enlarged to at least this many pixels before dlib's HOG detector looks


class Unavailable(RuntimeError):
    """A metric whose network or weights cannot be had; the message says why and how to get them."""


@functools.cache
def _reachable(host: str = "huggingface.co", timeout: float = 3.0) -> bool:
    """Whether a TLS connection to ``host`` opens (asked once per process)."""
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


@contextlib.contextmanager
def quiet_downloads():
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


ARCFACE_URL = "https://github.com/xinntao/facexlib/releases/download/v0.1.0/recognition_arcface_ir_se50.pth"


# Where ArcFace's 112 px crops put the eye centres, the nose tip and the mouth corners (InsightFace).
ARCFACE_TEMPLATE = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]]
)


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
        with quiet_downloads():
            state = torch.hub.load_state_dict_from_url(ARCFACE_URL, map_location="cpu", progress=False)
    except Exception as e:  # noqa: BLE001 - urllib, ssl, ... : report it with the way out
        where = Path(torch.hub.get_dir()) / "checkpoints" / ARCFACE_URL.rsplit("/", 1)[1]
        raise Unavailable(
            f"ArcFace's weights could not be downloaded ({str(e)[:120]}); put {ARCFACE_URL} at {where}"
        ) from None
    model.net.load_state_dict(state)
    return model.to(device).eval()


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
