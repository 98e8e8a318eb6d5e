import numpy as np
import pytest
import torch

from lafr.synthetic import LANDMARK_NAMES, SyntheticFaces, synthetic_face


def test_deterministic_and_varied():
    a, pa = synthetic_face(3, 10, 64)
    b, pb = synthetic_face(3, 10, 64)
    assert torch.equal(a, b) and torch.equal(pa, pb)
    others = [synthetic_face(3, i, 64)[0] for i in range(11, 16)] + [synthetic_face(4, 10, 64)[0]]
    for o in others:
        assert (a - o).abs().mean() > 0.03


def test_shapes_ranges_and_landmarks():
    img, pts = synthetic_face(0, 0, 96)
    assert img.shape == (3, 96, 96) and img.dtype == torch.float32
    assert 0 <= img.min() and img.max() <= 1
    assert pts.shape == (len(LANDMARK_NAMES), 2)
    assert (pts > 0).all() and (pts < 96).all()


def test_landmarks_scale_with_resolution():
    _, p64 = synthetic_face(0, 5, 64)
    _, p256 = synthetic_face(0, 5, 256)
    # pixel centres: x_256 + 0.5 = 4 (x_64 + 0.5)
    assert torch.allclose(p256 + 0.5, 4 * (p64 + 0.5), atol=1e-3)


def test_face_layout():
    """Averaged over many faces: eyes above the nose above the mouth above the chin, left eye on
    the left, and the pupils darker than the skin between the eyes."""
    idx = {n: i for i, n in enumerate(LANDMARK_NAMES)}
    ys, dark = [], []
    for i in range(40):
        img, p = synthetic_face(7, i, 128)
        ys.append([p[idx[k], 1] for k in ("eye_left", "nose_tip", "lip_top", "chin")])
        assert p[idx["eye_left"], 0] < p[idx["eye_right"], 0]
        gray = img.mean(0)
        ex, ey = p[idx["eye_left"]].round().long()
        bx, by = p[idx["nose_bridge"]].round().long()
        dark.append(float(gray[ey, ex] < gray[by, bx]))
    ys = np.array(ys)
    assert (np.diff(ys, axis=1) > 0).all()
    assert np.mean(dark) > 0.9


def test_dataset():
    ds = SyntheticFaces(5, size=32, seed=1, offset=10)
    item = ds[2]
    assert len(ds) == 5 and item["index"] == 12
    assert torch.equal(item["hq"], synthetic_face(1, 12, 32)[0])
    with pytest.raises(IndexError):
        ds[5]
    with pytest.raises(ValueError, match="at least 16"):
        synthetic_face(0, 0, 8)
