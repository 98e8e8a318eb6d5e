import numpy as np
import pytest
import torch

from lafr import analysis, data


def test_intra_class_distance_by_hand():
    pts = np.array([[0.0, 0.0], [3.0, 4.0], [0.0, 8.0]])
    # pairs: 5, 8, 5 -> mean 6
    assert analysis.intra_class_distance(pts) == pytest.approx(6.0)
    with pytest.raises(ValueError):
        analysis.intra_class_distance(pts[:1])


def test_compactness_separates_a_tight_class_from_a_spread_one():
    rng = np.random.default_rng(0)
    tight = rng.normal(0, 0.3, (50, 8)) + 2.0
    spread = rng.normal(0, 2.0, (50, 8))
    m = analysis.compactness(np.vstack([tight, spread]), np.array([1] * 50 + [0] * 50))
    assert m["intra_faces"] < m["intra_natural"] and m["ratio"] < 0.3 and m["silhouette"] > 0.2
    shuffled = analysis.compactness(np.vstack([spread, rng.normal(0, 2.0, (50, 8))]), np.array([1] * 50 + [0] * 50))
    assert abs(shuffled["silhouette"]) < 0.05 and 0.8 < shuffled["ratio"] < 1.2


def test_ratio_interval_brackets_the_ratio_and_separates_classes():
    rng = np.random.default_rng(0)
    tight, spread = rng.normal(0, 0.3, (60, 8)), rng.normal(0, 2.0, (60, 8))
    ratio = analysis.intra_class_distance(tight) / analysis.intra_class_distance(spread)
    lo, hi = analysis.ratio_interval(tight, spread, seed=0)
    assert lo < ratio < hi < 0.3
    # pairs of samples of one distribution: the 95% interval should contain the true ratio, 1, most of
    # the time (percentile bootstrap: about 0.9 here; a 50% interval would manage about half)
    covered = [
        lo < 1 < hi
        for lo, hi in (
            analysis.ratio_interval(rng.normal(0, 2.0, (60, 8)), rng.normal(0, 2.0, (60, 8)), seed=k) for k in range(40)
        )
    ]
    assert sum(covered) >= 30
    # seeded, and a narrower level gives a narrower interval inside it
    assert analysis.ratio_interval(tight, spread, seed=3) == analysis.ratio_interval(tight, spread, seed=3)
    lo50, hi50 = analysis.ratio_interval(spread, spread[::-1], level=0.5, seed=1)
    lo95, hi95 = analysis.ratio_interval(spread, spread[::-1], level=0.95, seed=1)
    assert lo95 < lo50 < hi50 < hi95
    with pytest.raises(ValueError):
        analysis.ratio_interval(tight[:1], spread)


def test_resnet_features_offline_are_seeded():
    x = torch.rand(3, 3, 40, 40)
    a = analysis.ResNetFeatures(weights=None, size=64, seed=1)(x)
    b = analysis.ResNetFeatures(weights=None, size=64, seed=1)(x)
    c = analysis.ResNetFeatures(weights=None, size=64, seed=2)(x)
    assert a.shape == (3, 2048) and torch.equal(a, b) and not torch.equal(a, c)


def test_missing_weights_error_says_how_to_supply_them(monkeypatch):
    import torchvision.models

    def offline(*a, **k):
        raise OSError("no network")

    monkeypatch.setattr(torchvision.models, "resnet50", offline)
    with pytest.raises(RuntimeError, match="TORCH_HOME.*feature_weights=None"):
        analysis.ResNetFeatures(weights="IMAGENET1K_V2")


def test_tsne_shape():
    emb = analysis.tsne_2d(np.random.default_rng(0).normal(size=(20, 5)), seed=0)
    assert emb.shape == (20, 2)


def test_packaged_photos_are_offline_and_sized():
    faces = data.packaged_face_photos(32)
    assert set(faces) == {"astronaut", "grace_hopper"} and all(f.shape == (3, 32, 32) for f in faces.values())
    assert len(data.packaged_natural_photos()) >= 12
    f, nf = data.lfw_subset()
    assert f.shape == nf.shape == (100, 3, 25, 25)
    imgs, src = data.image_set("packaged_natural", 30, 24, seed=0)
    assert imgs.shape == (30, 3, 24, 24) and src.count("crop") == 30 - len(data.packaged_natural_photos())
    imgs, src = data.image_set("synthetic+photos", 10, 24, seed=0)
    assert imgs.shape == (10, 3, 24, 24) and src[:2] == ["photo:astronaut", "photo:grace_hopper"]


def test_face_space_scores_faces_above_noise():
    faces, _ = data.image_set("synthetic", 120, 32, seed=0)
    space = analysis.FaceSpace(faces[:100], k=16)
    held_out = space.score(faces[100:])
    assert held_out.shape == (20,) and float(held_out.mean()) > 0.6
    assert float(space.score(torch.rand(10, 3, 32, 32)).mean()) < 0.2
