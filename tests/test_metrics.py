"""lafr.metrics: what each metric gives for identical images, that identity and landmark metrics
rank real degradations sensibly, that unavailable metrics say so, and that loss networks never judge."""

import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lafr import config, data, judges, metrics, results
from lafr.synthetic import synthetic_face

pytest.importorskip("dlib", reason="dlib-bin is not installed (pip install dlib-bin face-recognition-models)")


@pytest.fixture(scope="module")
def suite():
    return metrics.Suite(["psnr", "ssim", "deg", "lmd", "lmd_true", "fd_dlib", "lpips"])


@pytest.fixture(scope="module")
def faces():
    pairs = [synthetic_face(0, 100_000 + i) for i in range(6)]
    return [f for f, _ in pairs], [p for _, p in pairs]


def _blur(images, sigma=1.5):
    from lafr import degrade

    kernel = degrade.blur_kernel(int(4 * sigma) * 2 + 1, sigma, sigma, 0.0)
    return [degrade.blur(x, kernel) for x in images]


def test_identical_images_score_perfectly(suite, faces):
    images, landmarks = faces
    ref = suite.reference(images, true_landmarks=landmarks)
    assert all(b is not None for b in ref.boxes), "dlib found no face in a synthetic ground truth"
    res = suite.evaluate(images, ref)
    s = res.summary
    assert s["psnr"] == 80.0  # pyiqa's cap for identical images (the module docstring says so)
    assert s["ssim"] == pytest.approx(1.0, abs=1e-9)
    assert s["deg"] == pytest.approx(0.0, abs=1e-3) and s["lmd"] == 0.0
    assert "needs at least 256 faces" in res.unavailable["fd_dlib"]  # 6 faces in 128 dimensions: no number
    # dlib's landmarks on a clean synthetic face sit about 1.6 px from the renderer's (its own offset);
    # with the left and right eye swapped in the mapping they would be about 11 px away
    assert s["lmd_true"] < 3.0


def test_degradation_makes_every_full_reference_metric_worse(suite, faces):
    images, landmarks = faces
    ref = suite.reference(images, true_landmarks=landmarks)
    same, blurred = suite.evaluate(images, ref).summary, suite.evaluate(_blur(images), ref).summary
    shifted = suite.evaluate([torch.roll(x, 4, dims=2) for x in images], ref).summary  # the face moved 4 px right
    assert blurred["psnr"] < same["psnr"] and blurred["ssim"] < same["ssim"] and blurred["deg"] > 1.0
    assert shifted["lmd"] > 2.0 > same["lmd"]  # the landmarks followed the face
    assert shifted["lmd_true"] > same["lmd_true"] + 2.0  # and left the renderer's true positions


def test_lpips_is_zero_for_identical_images_when_its_weights_can_be_had(suite, faces):
    if "lpips" in suite.unavailable:
        pytest.skip(f"LPIPS unavailable here: {suite.unavailable['lpips']}")
    images, _ = faces
    assert suite.evaluate(images, suite.reference(images)).summary["lpips"] == pytest.approx(0.0, abs=1e-6)


def test_a_metric_that_cannot_be_built_is_reported_not_faked(monkeypatch):
    def refuse(name, device):
        raise judges.Unavailable(f"no weights for {name} here")

    monkeypatch.setattr(metrics, "_pyiqa_metric", refuse)
    s = metrics.Suite(["psnr", "lmd"])
    assert set(s.unavailable) == {"psnr"} and "no weights for psnr" in s.unavailable["psnr"]
    images = [synthetic_face(0, 100_000)[0]]
    res = s.evaluate(images, s.reference(images))
    assert "psnr" not in res.summary and res.unavailable["psnr"]
    assert "Not measured" in results.markdown([res]) and "no weights for psnr" in results.markdown([res])


def test_a_ground_truth_without_a_face_leaves_deg_and_lmd_empty(suite, faces):
    images, _ = faces
    flat = torch.full_like(images[0], 0.5)  # no face to find
    ref = suite.reference([images[0], flat])
    res = suite.evaluate([images[0], flat], ref)
    assert res.per_image["deg"][1] is None and res.per_image["lmd"][1] is None and res.per_image["psnr"][1] == 80.0
    assert res.measured("deg") == 1 and any("0001" in n and "no face" in n for n in res.notes)
    assert not math.isnan(res.summary["deg"])


def test_sizes_must_match_their_ground_truth(suite, faces):
    images, _ = faces
    with pytest.raises(ValueError, match="0000: restored image is"):
        suite.evaluate([F.interpolate(images[0][None], size=32)[0]], suite.reference(images[:1]))


def test_frechet_distance_of_shifted_gaussians_is_the_squared_shift():
    a = np.random.default_rng(0).normal(size=(4000, 3))
    assert metrics.frechet_distance(a, a) == pytest.approx(0, abs=1e-6)
    assert metrics.frechet_distance(a, a + [2, 0, 0]) == pytest.approx(4, abs=1e-6)


def test_the_loss_networks_never_judge():
    suite = metrics.Suite(["psnr"])
    for name in config.PROFILES:
        metrics.check_judges(
            config.get_profile(name), suite
        )  # dlib judges identity; the loss trains with CLIP / the toy net
    suite.identity_net = config.get_profile(
        "tiny"
    ).identity_net  # the false case: the loss's identity network as the judge
    with pytest.raises(ValueError, match="the loss trains with"):
        metrics.check_judges(config.get_profile("tiny"), suite)


def _real_faces():
    root = data.shared_faces_dir()
    if root is None:
        pytest.skip("no real test photos (../shared/data or LAFR_DATA_DIR)")
    files = sorted((root / "ffhq-samples").glob("*.png"))[:8]
    return [F.interpolate(data.load_image(f)[None], size=256, mode="area")[0] for f in files]


def test_deg_ranks_the_same_person_blurred_below_different_people_on_real_photos(suite):
    """On real FFHQ faces at 256 px: the same face blurred (sigma 2) stays closer, by dlib's identity
    angle, than any two different people.  False case: an identity net that ignores the face."""
    faces = _real_faces()
    ref = suite.reference(faces)
    assert all(b is not None for b in ref.boxes)
    blurred = suite.evaluate(_blur(faces, 2.0), ref).per_image["deg"]
    emb = ref.embeddings
    others = [
        float(metrics.angle_degrees(emb[i], emb[j])) for i in range(len(faces)) for j in range(len(faces)) if i < j
    ]
    assert max(blurred) < min(others), (blurred, others)


def test_fid_hands_pyiqa_the_restored_set_and_its_reference_as_folders(monkeypatch, faces, tmp_path):
    """pyiqa's FID reads folders: the restored set and the ground truth (default), a folder, or stored
    statistics by name. (A fake stands in for pyiqa's Inception, which is a download.)"""
    seen = []

    def fake_fid(fdir1, fdir2=None, **kwargs):
        seen.append(
            (
                sorted(p.name for p in Path(fdir1).iterdir()),
                fdir2 and sorted(p.name for p in Path(fdir2).iterdir()),
                kwargs,
            )
        )
        return 12.5

    real = metrics._pyiqa_metric
    monkeypatch.setattr(
        metrics,
        "_pyiqa_metric",
        lambda name, device: (
            metrics.Metric(name, True, "fake", None, fake_fid) if name == "fid" else real(name, device)
        ),
    )
    images, _ = faces
    s = metrics.Suite(["fid_ffhq"])
    assert (
        s.evaluate(images, s.reference(images)).set_values["fid_ffhq"] == 12.5 and seen[-1][2]["dataset_name"] == "FFHQ"
    )
    assert seen[-1][1] is None and not s.metrics["fid_ffhq"].needs_gt and "FFHQ" in s.metrics["fid_ffhq"].network
    for reference, expect in ((None, 6), (tmp_path / "ref", 2), ("FFHQ", None)):
        if reference:
            (tmp_path / "ref").mkdir(exist_ok=True)
            for i in range(2):
                data.save_image(images[i], tmp_path / "ref" / f"{i}.png", overwrite=True)
        s = metrics.Suite(["fid"], fid_reference=None if reference is None else str(reference))
        res = s.evaluate(images, s.reference(images))
        assert res.set_values["fid"] == 12.5 and len(seen[-1][0]) == 6
        assert (
            (seen[-1][1] is None and seen[-1][2]["dataset_name"] == "FFHQ")
            if expect is None
            else len(seen[-1][1]) == expect
        )


def test_arcface_irse50_judges_deg_when_its_weights_are_in_lafrs_cache(faces):
    """The named option IR-SE50: its weights come from lafr's network cache (a download there; here a
    locally saved file with random weights); without them, Deg is unavailable with the path."""
    from lafr import datasets

    missing = metrics.Suite(["deg", "psnr"], identity_net="arcface_irse50")
    assert (
        "deg" in missing.unavailable
        and "recognition_arcface_ir_se50.pth" in missing.unavailable["deg"]
        and "psnr" in missing.metrics
    )
    torch.manual_seed(0)
    target = datasets.cache_dir() / "networks" / "recognition_arcface_ir_se50.pth"
    target.parent.mkdir(parents=True, exist_ok=True)
    torch.save(judges.ArcFaceIdentity().net.state_dict(), target)
    suite = metrics.Suite(["deg"], identity_net="arcface_irse50")
    assert "IR-SE50" in suite.metrics["deg"].network
    images, _ = faces
    ref = suite.reference(images)
    assert ref.embeddings.shape == (len(images), 512)
    assert suite.evaluate(images, ref).summary["deg"] == pytest.approx(0.0, abs=1e-3)


def test_arcface_crops_put_the_eyes_where_arcface_expects_them():
    """The 112 px crop is aligned so that dlib finds the eyes of the real portrait at ArcFace's template
    positions (a crop warped the wrong way round puts them elsewhere or loses the face)."""
    faces = judges.DlibFaces()
    img = data.packaged_face_photos(256)["astronaut"]
    crop = faces.arcface_crop(img, faces.box(img))
    box = faces.box(crop)
    assert box is not None
    pts = faces.landmarks(crop, box)
    eyes = np.stack([pts[36:42].mean(0), pts[42:48].mean(0)])
    assert np.abs(eyes - judges.ARCFACE_TEMPLATE[:2]).max() < 4.0, eyes


def test_seed_comparison_asserts_only_a_clear_order():
    from lafr.results import seed_comparison

    # the toy conv and attention restorers' held-out PSNR at seeds 0, 1, 2 (measurements.json)
    conv, attention = [27.037, 27.068, 27.086], [26.932, 26.923, 26.965]
    c = seed_comparison(conv, attention)
    assert c["verdict"] == "better on every seed" and c["clear"], c
    assert abs(c["worst_gap"] - (27.037 - 26.965)) < 1e-9 and abs(c["spread"] - (27.086 - 27.037)) < 1e-9
    # the other way round: worse on every seed, not clear
    r = seed_comparison(attention, conv)
    assert r["verdict"] == "worse on every seed" and not r["clear"] and r["worst_gap"] < 0
    # one seed of a beats one of b, but another does not: no order
    assert seed_comparison([1.0, 3.0, 2.0], [2.5, 0.0, 1.0])["verdict"] == "seeds overlap"
    # every seed better, but the means closer than twice the spread: an order, not a clear one
    near = seed_comparison([1.00, 1.10, 1.20], [0.95, 0.90, 0.80])
    assert near["verdict"] == "better on every seed" and not near["clear"], near
    # one seed each has no spread to compare with: never clear
    assert not seed_comparison([2.0], [1.0])["clear"]
    # lower is better (Deg, LMD): the smaller values win
    deg = seed_comparison([16.16, 16.14, 16.01], [16.57, 16.49, 16.68], lower_is_better=True)
    assert deg["verdict"] == "better on every seed" and deg["worst_gap"] > 0.3 and deg["clear"], deg
    with pytest.raises(ValueError, match="at least one value"):
        seed_comparison([], [1.0])


def test_seed_verdict_says_clear_in_either_direction():
    from lafr.results import seed_verdict

    conv, attention = [27.037, 27.068, 27.086], [26.932, 26.923, 26.965]
    assert seed_verdict(conv, attention) == "better on every seed, clear"
    assert seed_verdict(attention, conv) == "worse on every seed, clear"  # b's clear win is a's clear loss
    assert seed_verdict([1.00, 1.10, 1.20], [0.95, 0.90, 0.80]) == "better on every seed"  # means too close
    assert seed_verdict([16.16, 16.14, 16.01], [16.57, 16.49, 16.68], lower_is_better=True).endswith("clear")


def test_seed_table_prints_each_systems_mean_and_range_over_its_seeds():
    from lafr.results import seed_table

    systems = {
        "full method": {
            0: {"psnr": 27.05, "id": 0.08771},
            2: {"psnr": 27.1, "id": 0.089},
            1: {"psnr": 27.06, "id": 0.0885},
        },
        "other": {1: {"psnr": 26.0, "id": 0.1}},
    }
    table = seed_table(systems, {"psnr": "PSNR", "id": "identity term"}, decimals={"id": 4})
    header, full, other = table.splitlines()
    assert header.split() == ["seeds", "PSNR", "identity", "term"]
    assert full.split()[:3] == ["full", "method", "0,1,2"]
    assert "27.07 (27.05 to 27.10)" in full and "0.0884 (0.0877 to 0.0890)" in full
    assert "26.00 (26.00 to 26.00)" in other and other.split()[1] == "1"
    assert len({len(line) for line in (header, full, other)}) == 1  # columns line up
