"""lafr.dlibnet, our PyTorch port of dlib's face-recognition ResNet, checked against dlib itself.

dlib's descriptors have entries up to about 0.4.  Float32 summation order moves them by ~3e-7; the
smallest mistakes we tried (dropping the convolutions' biases, dividing the input by 255 instead of
256) move them by 1.5e-4 to 3e-4, most by 0.04 to 0.7.  So "matches dlib" means agreeing to 1e-4.
"""

import shutil

import numpy as np
import pytest
import torch

dlib = pytest.importorskip("dlib", reason="dlib is not installed (pip install dlib-bin face-recognition-models)")

from lafr import dlibnet  # noqa: E402 - after the skip for a missing dlib
from lafr.synthetic import synthetic_face  # noqa: E402

MODEL = dlibnet.default_model_path()
pytestmark = pytest.mark.skipif(
    MODEL is None, reason="dlib's model files are not installed (pip install face-recognition-models)"
)
ATOL = 1e-4


@pytest.fixture(scope="module")
def port():
    return dlibnet.load_dlib_resnet()


@pytest.fixture(scope="module")
def reference():
    return dlib.face_recognition_model_v1(str(MODEL))


def _photos():
    from matplotlib import cbook, image
    from skimage import data

    with cbook.get_sample_data("grace_hopper.jpg") as f:
        hopper = image.imread(f)
    return {"astronaut": data.astronaut(), "grace_hopper": hopper}


def _ours(port, chips):
    x = torch.stack([torch.from_numpy(np.asarray(c)).permute(2, 0, 1).float() / 255 for c in chips])
    with torch.no_grad():
        return port(x).numpy()


def _dlibs(reference, chips):
    return np.array([np.array(reference.compute_face_descriptor(np.ascontiguousarray(c))) for c in chips])


def test_parameter_count(port):
    # false case: convolutions without their bias terms (5,611,040)
    assert sum(p.numel() for p in port.parameters()) == 5_614_592


def test_matches_dlib_on_photo_chips(port, reference):
    """Chips cut from two real photos: our descriptors are dlib's."""
    chips = [dlibnet.face_chip(img) for img in _photos().values()]
    assert all(c is not None and c.shape == (150, 150, 3) for c in chips)
    diff = np.abs(_ours(port, chips) - _dlibs(reference, chips)).max()
    assert diff < ATOL, f"max |ours - dlib| = {diff:.3g}"


def test_matches_dlib_on_synthetic_faces_and_noise(port, reference):
    """Synthetic faces rendered at 150 px and a random-noise image, fed as chips."""
    chips = [(synthetic_face(11, i, 150)[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8) for i in range(3)]
    chips.append(np.random.default_rng(0).integers(0, 256, (150, 150, 3), dtype=np.uint8))
    diff = np.abs(_ours(port, chips) - _dlibs(reference, chips)).max()
    assert diff < ATOL, f"max |ours - dlib| = {diff:.3g}"


def test_face_chip_is_dlibs_alignment(port, reference):
    """dlib's descriptor of a whole photo and a detected face equals ours of ``face_chip``'s chip
    (same detector, landmarks, padding)."""
    img = _photos()["grace_hopper"]
    _, detector, predictor = dlibnet._dlib_tools()
    face = predictor(img, detector(img, 1)[0])
    want = np.array(reference.compute_face_descriptor(img, face))
    diff = np.abs(_ours(port, [dlibnet.face_chip(img)])[0] - want).max()
    assert diff < ATOL, f"max |ours - dlib| = {diff:.3g}"


def test_face_chip_reads_views_and_finds_no_face_in_blank():
    """A transposed view (what ``tensor.permute(1, 2, 0).numpy()`` gives) is chipped as its
    contiguous copy; a blank image has no face; a known box skips the detector."""
    img = _photos()["astronaut"]
    view = torch.from_numpy(img).permute(2, 0, 1).contiguous().permute(1, 2, 0).numpy()
    assert not view.flags["C_CONTIGUOUS"]
    chip = dlibnet.face_chip(view)
    assert chip is not None and np.array_equal(chip, dlibnet.face_chip(img))
    assert dlibnet.face_chip(np.full((200, 200, 3), 128, np.uint8)) is None
    assert np.abs(dlibnet.face_chip(img, box=(175, 76, 265, 166)).astype(int) - chip).mean() < 1


def test_bad_files_raise_a_clear_error(tmp_path):
    """A truncated copy, the 5-point landmark model and dlib's face-detector network fail with the
    file's name and a byte offset; so does a copy with a byte appended."""
    truncated = tmp_path / "truncated.dat"
    truncated.write_bytes(MODEL.read_bytes()[:5_000_000])
    landmarks = MODEL.parent / "shape_predictor_5_face_landmarks.dat"
    detector = MODEL.parent / "mmod_human_face_detector.dat"  # another dlib network
    for bad in (truncated, landmarks, detector):
        with pytest.raises(dlibnet.DlibFormatError, match=r"byte offset \d+") as err:
            dlibnet.read_dlib_resnet(bad)
        assert str(bad) in str(err.value)
    extra = tmp_path / "extra.dat"
    shutil.copy(MODEL, extra)
    with open(extra, "ab") as f:
        f.write(b"\x00")
    with pytest.raises(dlibnet.DlibFormatError, match="after the network"):
        dlibnet.read_dlib_resnet(extra)


def test_missing_model_says_what_to_install(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="no dlib model file"):
        dlibnet.load_dlib_resnet(tmp_path / "missing.dat")
    monkeypatch.setattr(dlibnet.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(FileNotFoundError, match="pip install"):
        dlibnet.load_dlib_resnet()


def test_rejects_other_sizes(port):
    with pytest.raises(ValueError, match="150"):
        port(torch.zeros(1, 3, 160, 160))


def test_gradient_reaches_the_input(port):
    """The input gradient is the true one: it matches a central difference along a random
    direction (in float64).  The step is tiny because ReLU and max-pool kinks bend the loss: at
    1e-4 a kink crossed within the step shifts the difference by 2%; at 1e-7 rounding adds ~1e-8."""
    model = dlibnet.load_dlib_resnet().double()
    x = torch.rand(1, 3, 150, 150, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    target = torch.randn(1, 128, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    loss = lambda im: (model(im) - target).pow(2).sum()
    x.requires_grad_(True)
    loss(x).backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and (x.grad != 0).float().mean() > 0.5
    v = torch.randn(x.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    eps = 1e-7
    with torch.no_grad():
        numeric = (loss(x + eps * v) - loss(x - eps * v)) / (2 * eps)
    analytic = (x.grad * v).sum()
    assert abs(numeric - analytic) < 1e-4 * abs(analytic), f"{numeric.item():.6g} vs {analytic.item():.6g}"
