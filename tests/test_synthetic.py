import copy

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


# --- identity and views (notebook 04) ----------------------------------------------------------

_IDENTITY = (
    "a",
    "b",
    "chin",
    "skin",
    "hair",
    "hair_long",
    "hair_length",
    "hairline",
    "parting",
    "bald",
    "eye_x",
    "eye_y",
    "eye_w",
    "eye_h",
    "iris_r",
    "iris",
    "brow_y",
    "brow_arch",
    "brow_h",
    "nose_y",
    "nose_w",
    "mouth_y",
    "mouth_w",
    "lip_h",
    "lip",
    "strand_freq",
    "phase",
)
_NUISANCE = (
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
)


def test_view_0_is_the_face_the_toy_models_were_trained_on():
    """The committed toy models were trained on the faces drawn before views existed: view 0 must
    reproduce them bit for bit (reference saved from that code, tests/data)."""
    ref = np.load(__import__("pathlib").Path(__file__).parent / "data" / "synthetic_faces_view0.npz")
    for (seed, index), img, pts in zip(ref["keys"], ref["images"], ref["landmarks"]):
        a, pa = synthetic_face(int(seed), int(index), 64)
        b, pb = synthetic_face(int(seed), int(index), 64, view=0)
        assert np.array_equal(a.numpy(), img) and np.array_equal(pa.numpy(), pts), (seed, index)
        assert torch.equal(a, b) and torch.equal(pa, pb)


def test_a_view_redraws_the_nuisance_and_keeps_the_identity():
    from lafr.synthetic import _Face

    def face(view):
        rng = np.random.default_rng([2, 9])
        return _Face(rng, np.random.default_rng([2, 9, view]) if view else None)

    f0, f1, f2 = face(0), face(1), face(2)
    for k in _IDENTITY:
        assert np.array_equal(getattr(f0, k), getattr(f1, k)), k
    for k in _NUISANCE:
        assert not np.array_equal(getattr(f0, k), getattr(f1, k)), k
        assert not np.array_equal(getattr(f1, k), getattr(f2, k)), k
    covered = set(_IDENTITY) | set(_NUISANCE)
    assert covered == set(vars(f0)), set(vars(f0)) ^ covered  # every attribute is one or the other


def test_views_move_the_landmarks_and_look_alike():
    """Landmarks follow the view; two views of one person are closer in their central face region
    than two different people (the skin, eyes and hair stay)."""
    a, pa = synthetic_face(5, 3, 64, view=0)
    b, pb = synthetic_face(5, 3, 64, view=1)
    assert (pa - pb).abs().max() > 0.5 and (pb > 0).all() and (pb < 64).all()
    assert not torch.equal(synthetic_face(5, 3, 64, view=1)[0], synthetic_face(5, 3, 64, view=2)[0])
    c = slice(20, 44)
    same = np.mean(
        [(synthetic_face(5, i, 64)[0] - synthetic_face(5, i, 64, view=1)[0])[:, c, c].abs().mean() for i in range(20)]
    )
    other = np.mean(
        [(synthetic_face(5, i, 64)[0] - synthetic_face(5, i + 1, 64)[0])[:, c, c].abs().mean() for i in range(20)]
    )
    assert same < 0.8 * other, (same, other)
    with pytest.raises(ValueError, match="view"):
        synthetic_face(0, 0, 64, view=-1)


def test_nuisance_from_puts_a_person_into_another_persons_photo():
    """Same view, other identity: person 4 drawn with person 9's position, pose, light and
    background.  The background matches person 9's photo; the landmarks do not match person 4's."""
    from lafr.synthetic import NUISANCE

    assert set(NUISANCE) == set(_NUISANCE)  # the module's list is the test's own
    mixed, pm = synthetic_face(1, 4, 64, view=2, nuisance_from=9)
    scene, ps = synthetic_face(1, 9, 64, view=2)
    own, po = synthetic_face(1, 4, 64, view=2)
    corner = (slice(None), slice(0, 6), slice(0, 6))  # background, outside any face and hair
    assert torch.allclose(mixed[corner], scene[corner]) and not torch.allclose(mixed[corner], own[corner])
    assert not torch.equal(pm, po)
    assert torch.equal(synthetic_face(1, 4, 64, view=2, nuisance_from=4)[0], own)


def test_blend_walks_from_one_face_to_another():
    """t = 0 is the first face and t = 1 the second, exactly: another person in the same photo
    (identity), or another photo of the same person (nuisance); half way is half way."""
    from lafr import synthetic

    a, b, a1 = synthetic.face_params(3, 1), synthetic.face_params(3, 2), synthetic.face_params(3, 1, view=1)
    assert torch.equal(synthetic.render(synthetic.blend(a, b, 0.0))[0], synthetic_face(3, 1, 64)[0])
    assert torch.equal(synthetic.render(synthetic.blend(a, b, 1.0))[0], synthetic_face(3, 2, 64, nuisance_from=1)[0])
    assert torch.equal(
        synthetic.render(synthetic.blend(a, a1, 1.0, "nuisance"))[0], synthetic_face(3, 1, 64, view=1)[0]
    )
    half = synthetic.blend(a, b, 0.5)
    assert (
        half.a == pytest.approx((a.a + b.a) / 2)
        and half.cx == a.cx
        and half.skin == pytest.approx((a.skin + b.skin) / 2)
    )
    assert synthetic.blend(a, a1, 0.5, "nuisance").yaw == pytest.approx((a.yaw + a1.yaw) / 2)
    with pytest.raises(ValueError, match="what"):
        synthetic.blend(a, b, 0.5, "pose")


def test_hair_mask_is_where_the_hair_is():
    from lafr import data, synthetic

    face = copy.copy(synthetic.face_params(0, 3))
    face.hair_long = False  # short hair: on top of the head only
    mask = synthetic.hair_mask(face, 64)
    assert mask.shape == (1, 64, 64) and mask.dtype == torch.bool
    img, pts = synthetic.render(face, 64)
    # short hair is on top of the head: above the brows, the mask covers far more than below the mouth
    brow_y = int(pts[synthetic.LANDMARK_NAMES.index("brow_left"), 1])
    mouth_y = int(pts[synthetic.LANDMARK_NAMES.index("lip_bottom"), 1])
    assert mask[0, :brow_y].float().mean() > 5 * mask[0, mouth_y:].float().mean()
    # repainting the hair changes the image inside the mask only
    other = copy.copy(face)
    other.hair = face.hair * 0.5
    changed = (synthetic.render(other, 64)[0] - img).abs().amax(0) > 0.02
    assert changed.any() and not (changed & ~mask[0]).any()
    # long hair covers more than the same person's short hair
    short, long_ = copy.copy(face), copy.copy(face)
    short.hair_long, long_.hair_long = False, True
    assert synthetic.hair_mask(long_, 64).sum() > 1.3 * synthetic.hair_mask(short, 64).sum()
    # held-out synthetic faces carry their own; aligned photos get the typical region, the same for every face
    own = data.hair_masks("synthetic", 3, 64)
    assert own.shape == (3, 1, 64, 64) and not torch.equal(own[0], own[1])
    typical = data.hair_masks("celeba_hq", 2, 64)
    assert torch.equal(typical[0], typical[1]) and 0.05 < typical.float().mean() < 0.4
