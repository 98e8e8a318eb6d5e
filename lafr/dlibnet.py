"""dlib's face-recognition ResNet in PyTorch, read from dlib's own weight file by our own reader.

The network is the one behind the ``face_recognition`` package: a 29-convolution ResNet that maps an
aligned 150 x 150 face chip to a 128-D descriptor; dlib calls two faces the same person when their
descriptors lie less than 0.6 apart (Euclidean).  Its weights are dlib's file
``dlib_face_recognition_resnet_model_v1.dat``, shipped by the ``face-recognition-models`` package
(lafr's install brings it).  We parse that file ourselves (``read_dlib_resnet``) and run the
network in PyTorch (``DlibFaceResNet``); the dlib library is only needed to cut face chips
(``face_chip``) and, in the tests, to check that we compute what dlib computes.

It judges identity in notebook 06: is a restored face still the same person?  It is never used by
the training loss (that is ``lafr.facenets``), so no restorer has learned to please it.

The file is dlib's serialization of the whole network object, written recursively: each layer writes
its format version, then the layers below it, then its own settings.  So the file opens with the
versions of all layers from the output down to the input, then the input layer (mean colour, chip
size), then each layer's settings and parameters from the input up.  Integers are a control byte
(sign bit, byte count) and that many little-endian bytes; doubles an integer mantissa then exponent;
strings a length then characters; tensors four sizes then raw little-endian float32 values.
Taught in notebook 06.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

CHIP_SIZE = 150
MODEL_FILE = "dlib_face_recognition_resnet_model_v1.dat"


class DlibFormatError(ValueError):
    """The file is not laid out as dlib's face-recognition ResNet."""


def _layout() -> list[tuple]:
    """The network's layers from the input up, as dlib nests them (dnn_face_recognition_ex.cpp):
    ``(kind, *settings)``.  Tags and skips only route a residual shortcut and hold no data."""
    layers = [("con", "conv", 32, 7, 2), ("affine", "affine"), ("relu",), ("max_pool", 3, 2)]
    b = 0
    for width, n_blocks, first_stride in ((32, 3, 1), (64, 4, 2), (128, 3, 2), (256, 3, 2), (256, 1, 2)):
        for i in range(n_blocks):
            stride, p = (first_stride if i == 0 else 1), f"blocks.{b}."
            layers += [
                ("tag",),
                ("con", p + "conv1", width, 3, stride),
                ("affine", p + "affine1"),
                ("relu",),
                ("con", p + "conv2", width, 3, 1),
                ("affine", p + "affine2"),
            ]
            layers += [("tag",), ("skip",), ("avg_pool", 2, 2)] if stride == 2 else []
            layers += [("add_prev",), ("relu",)]
            b += 1
    return layers + [("avg_pool", 0, 1), ("fc", "fc", 128)]


class _Reader:
    """Walks the bytes of a dlib file in order; every failure names the file and the byte offset."""

    def __init__(self, path: Path):
        self.path, self.data, self.pos = path, path.read_bytes(), 0

    def fail(self, what: str):
        raise DlibFormatError(
            f"{self.path} is not dlib's face-recognition ResNet ({MODEL_FILE}): "
            f"{what} at byte offset {self.pos} of {len(self.data)}"
        )

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            self.fail(f"the file ends early (needed {n} more bytes)")
        self.pos += n
        return self.data[self.pos - n : self.pos]

    def expect(self, value, got, what: str):
        if got != value:
            self.fail(f"expected {what} = {value!r}, found {got!r}")

    def int(self) -> int:
        control = self.take(1)[0]
        if control & 0x0F > 8:
            self.fail(f"bad integer control byte {control:#04x}")
        value = int.from_bytes(self.take(control & 0x0F), "little")
        return -value if control & 0x80 else value

    def ints(self, n: int) -> tuple[int, ...]:
        return tuple(self.int() for _ in range(n))

    def string(self) -> str:
        n = self.int()
        if not 0 <= n <= 256:
            self.fail(f"implausible string length {n}")
        return self.take(n).decode("latin-1")

    def double(self) -> float:
        mantissa, exponent = self.int(), self.int()
        return {32000: float("inf"), 32001: -float("inf"), 32002: float("nan")}.get(exponent, mantissa * 2.0**exponent)

    def bool(self) -> bool:
        c = self.take(1)
        if c not in (b"0", b"1"):  # dlib writes bools as the characters '0' and '1'
            self.fail(f"expected a bool ('0' or '1'), found {c!r}")
        return c == b"1"

    def tensor(self, n_values: int | None = None, what: str = "tensor") -> np.ndarray:
        self.expect(2, self.int(), f"{what} format version")
        shape = self.ints(4)
        n = int(np.prod(shape))
        if min(shape) < 0 or n != (n if n_values is None else n_values) or 4 * n > len(self.data):
            self.fail(f"{what} of shape {shape} where {n_values} values were expected")
        return np.frombuffer(self.take(4 * n), dtype="<f4").copy()

    def alias(self, shape: tuple, what: str):  # how a layer views a slice of its parameter tensor
        self.expect(1, self.int(), f"{what} view version")
        self.expect(shape, self.ints(4), f"{what} view shape")


def read_dlib_resnet(path) -> dict[str, torch.Tensor]:
    """Parse dlib's face-recognition ResNet file into named float32 tensors, named as
    ``DlibFaceResNet``'s parameters: ``mean_rgb`` (3); per convolution ``<name>.weight`` (out x in x
    k x k) and ``<name>.bias``; per affine layer (batch norm folded into a scale and shift)
    ``<name>.gamma`` and ``<name>.beta``; ``fc.weight`` (128 x 256; dlib stores it as in x out).
    Raises ``DlibFormatError``, naming the file and the byte offset, if the layout is not the
    expected one.  Taught in notebook 06."""
    r, out, channels = _Reader(Path(path)), {}, 3
    r.expect(1, r.int(), "loss layer version")
    r.expect("loss_metric_2", r.string(), "loss type")
    r.double(), r.double()  # the metric loss's margin and distance threshold (training only)
    layers = _layout()
    versions = [1 if kind[0] in ("tag", "skip") else 2 for kind in layers]
    versions[0] = 3  # the layer on top of the input has a format of its own
    for want in reversed(versions):
        r.expect(want, r.int(), "layer format version")
    r.expect("input_rgb_image_sized", r.string(), "input layer")
    out["mean_rgb"] = torch.tensor([r.double() for _ in range(3)], dtype=torch.float32)
    r.expect((CHIP_SIZE, CHIP_SIZE), r.ints(2), "input size")
    names = {
        "con": "con_4",
        "affine": "affine_",
        "relu": "relu_",
        "max_pool": "max_pool_2",
        "avg_pool": "avg_pool_2",
        "add_prev": "add_prev_",
        "fc": "fc_2",
    }
    for i, (kind, *spec) in enumerate(layer for layer in layers if layer[0] not in ("tag", "skip")):
        r.expect(names[kind], r.string(), "layer type")
        if kind == "con":
            name, n_out, k, stride = spec
            params = r.tensor(n_out * (channels * k * k + 1), f"{name} parameters")
            r.expect((n_out, k, k, stride, stride), r.ints(5), "filters, rows, columns, strides")
            r.expect((0, 0) if stride == 2 else (k // 2, k // 2), r.ints(2), "padding")
            r.alias((n_out, channels, k, k), "filter"), r.alias((1, n_out, 1, 1), "bias")
            r.double(), r.double(), r.double(), r.double()  # learning-rate and weight-decay multipliers
            out[name + ".weight"] = torch.from_numpy(params[:-n_out].reshape(n_out, channels, k, k))
            out[name + ".bias"], channels = torch.from_numpy(params[-n_out:]), n_out
        elif kind == "affine":
            params = r.tensor(2 * channels, f"{spec[0]} parameters")
            r.alias((1, channels, 1, 1), "gamma"), r.alias((1, channels, 1, 1), "beta")
            r.expect(0, r.int(), "affine mode (0: one scale per channel)")
            out[spec[0] + ".gamma"], out[spec[0] + ".beta"] = map(torch.from_numpy, np.split(params, 2))
        elif kind in ("max_pool", "avg_pool"):
            size, stride = spec
            r.expect((size, size, stride, stride, 0, 0), r.ints(6), "pooling window, strides, padding")
        elif kind == "fc":
            r.expect((spec[1], channels), r.ints(2), "fc outputs, inputs")
            params = r.tensor(channels * spec[1], "fc parameters")
            r.alias((channels, spec[1], 1, 1), "fc weight"), r.alias((0, 0, 0, 0), "fc bias")
            r.expect(1, r.int(), "fc bias mode (1: no bias)")
            r.double(), r.double(), r.double(), r.double()
            out["fc.weight"] = torch.from_numpy(params.reshape(channels, spec[1]).T.copy())
        r.bool(), r.bool(), r.bool()  # training-state flags
        r.tensor(), r.tensor()  # gradient and output caches (empty in a saved model)
        r.tensor() if i > 0 else (r.tensor(), r.int())  # parameter gradient | input gradient, samples per input
    if r.pos != len(r.data):
        r.fail("unexpected bytes after the network")
    return out


class _Affine(nn.Module):
    """A per-channel scale and shift: dlib's inference form of batch norm."""

    def __init__(self, channels: int):
        super().__init__()
        self.gamma, self.beta = nn.Parameter(torch.ones(channels)), nn.Parameter(torch.zeros(channels))

    def forward(self, x):
        return x * self.gamma[:, None, None] + self.beta[:, None, None]


def _add_padded(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """dlib's add_prev: a + b, each zero-padded at the end of every dimension to the larger size."""
    size = [max(p, q) for p, q in zip(a.shape[1:], b.shape[1:])]
    pad = lambda t: F.pad(t, (0, size[2] - t.shape[3], 0, size[1] - t.shape[2], 0, size[0] - t.shape[1]))
    return pad(a) + pad(b)


class _Block(nn.Module):
    """A residual block: conv-affine-relu-conv-affine plus the input (2x2 average-pooled where the
    block downsamples), then relu.  Stride-2 convolutions have no padding, as in dlib."""

    def __init__(self, c_in: int, width: int, stride: int):
        super().__init__()
        self.stride = stride
        self.conv1 = nn.Conv2d(c_in, width, 3, stride, 1 if stride == 1 else 0)
        self.conv2 = nn.Conv2d(width, width, 3, 1, 1)
        self.affine1, self.affine2 = _Affine(width), _Affine(width)

    def forward(self, x):
        y = self.affine2(self.conv2(F.relu(self.affine1(self.conv1(x)))))
        return F.relu(_add_padded(y, x if self.stride == 1 else F.avg_pool2d(x, 2, 2)))


class DlibFaceResNet(nn.Module):
    """dlib's face-recognition ResNet (5,614,592 parameters).  ``forward(images)``: images N x 3 x
    150 x 150, float RGB in [0, 1], aligned as dlib's face chips (``face_chip``); returns the N x 128
    descriptors dlib computes (not unit length).  Differentiable.  Taught in notebook 06."""

    def __init__(self):
        super().__init__()
        self.register_buffer("mean_rgb", torch.zeros(3))
        self.conv, self.affine = nn.Conv2d(3, 32, 7, 2, 0), _Affine(32)
        firsts = [layer for layer in _layout() if layer[0] == "con" and layer[1].endswith("conv1")]
        widths = [32] + [layer[2] for layer in firsts]
        self.blocks = nn.ModuleList(_Block(c_in, layer[2], layer[4]) for c_in, layer in zip(widths, firsts))
        self.fc = nn.Linear(widths[-1], 128, bias=False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if images.shape[1:] != (3, CHIP_SIZE, CHIP_SIZE):
            raise ValueError(f"expected N x 3 x {CHIP_SIZE} x {CHIP_SIZE} face chips, got {tuple(images.shape)}")
        x = (images * 255 - self.mean_rgb[:, None, None]) / 256  # dlib's input normalisation
        x = F.max_pool2d(F.relu(self.affine(self.conv(x))), 3, 2)
        for block in self.blocks:
            x = block(x)
        return self.fc(x.mean(dim=(2, 3)))


def model_file(name: str = MODEL_FILE) -> Path | None:
    """Where the installed ``face-recognition-models`` package keeps one of dlib's model files
    (``dlib_face_recognition_resnet_model_v1.dat``, ``shape_predictor_5_face_landmarks.dat``,
    ``shape_predictor_68_face_landmarks.dat``), or None.  Found without importing the package: its
    ``__init__`` imports ``pkg_resources``, which current setuptools no longer ships."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "models" / name
    return path if path.is_file() else None


def default_model_path() -> Path | None:
    """Where the installed ``face-recognition-models`` package keeps the ResNet's file, or None."""
    return model_file(MODEL_FILE)


MISSING = "pip install dlib-bin face-recognition-models (lafr's install brings both)"


def load_dlib_resnet(path=None, device="cpu") -> DlibFaceResNet:
    """dlib's face-recognition ResNet with its trained weights, in eval mode.  ``path``: the
    ``.dat`` file; None finds it in the installed ``face-recognition-models`` package.
    Taught in notebook 06."""
    path = default_model_path() if path is None else Path(path)
    if path is None:
        raise FileNotFoundError(f"{MODEL_FILE} not found: {MISSING}; or pass its path: load_dlib_resnet(path=...)")
    if not path.is_file():
        raise FileNotFoundError(f"no dlib model file at {path}")
    model = DlibFaceResNet()
    model.load_state_dict(read_dlib_resnet(path))
    return model.to(device).eval()


@functools.lru_cache(maxsize=1)
def _dlib_tools():
    import dlib  # only the chip maker needs dlib itself

    five = model_file("shape_predictor_5_face_landmarks.dat")
    if five is None:
        raise FileNotFoundError(f"shape_predictor_5_face_landmarks.dat not found: {MISSING}")
    return dlib, dlib.get_frontal_face_detector(), dlib.shape_predictor(str(five))


def face_chip(image: np.ndarray, box=None, upsample: int = 1) -> np.ndarray | None:
    """dlib's aligned 150 x 150 x 3 uint8 face chip of the most confidently detected face in
    ``image`` (H x W x 3 RGB uint8), or None if no face is found.  As dlib's
    ``compute_face_descriptor(image, shape)``: HOG face detector (on the image enlarged ``upsample``
    times: a face of ~27 px needed 2), 5-point landmarks, ``dlib.get_face_chip`` with padding 0.25.
    ``box=(left, top, right, bottom)`` skips the detector.  Taught in notebook 06."""
    dlib, detector, predictor = _dlib_tools()
    image = np.ascontiguousarray(image, dtype=np.uint8)  # dlib finds no faces in a strided view
    if box is None:
        faces, scores, _ = detector.run(image, upsample, 0.0)
        if len(faces) == 0:
            return None
        rect = faces[int(np.argmax(scores))]
    else:
        rect = dlib.rectangle(*(round(v) for v in box))
    return dlib.get_face_chip(image, predictor(image, rect), size=CHIP_SIZE, padding=0.25)
