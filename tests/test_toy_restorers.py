"""The committed toy restorers (the full method and three ablations): they load through
``LAFRPipeline.from_pretrained``, their manifests say how they were made, and the held-out numbers
the manifests report are what they measure now.

CI never retrains them (``lafr train-lora --profile tiny ...``, about 10 minutes each on one CPU
core; the commands are in the manifests)."""

import json

import pytest
import torch

from lafr import data, losses, models, pipeline, train
from lafr.config import get_profile

CFG = get_profile("tiny")
SYSTEMS = {  # name: what its manifest must say
    "lafr-toy-restorer": {"targets": "conv", "terms": ["res", "id", "fs"], "adapter": "lafr-toy-adapter"},
    "lafr-toy-restorer-no-adapter": {"targets": "conv", "terms": ["res", "id", "fs"], "adapter": "none"},
    "lafr-toy-restorer-attention": {
        "targets": "attention",
        "terms": ["res", "id", "fs"],
        "adapter": "lafr-toy-adapter",
    },
    "lafr-toy-restorer-res-only": {"targets": "conv", "terms": ["res"], "adapter": "lafr-toy-adapter"},
}


@pytest.fixture(scope="module")
def heldout():
    """What `lafr train-lora` judges on: 128 held-out faces, one degraded view each, and their landmarks."""
    hq, z_lq, _ = train.heldout_pairs(models.load_base(models.TOY_NAME).vae, CFG, 128)
    return hq, z_lq, data.face_landmarks(CFG.eval_faces, 128, CFG.resolution, seed=CFG.seed), losses.build_loss(CFG)


def test_every_committed_system_is_listed():
    assert set(SYSTEMS) == set(pipeline.TOY_SYSTEMS)
    assert CFG.restorer_weights in pipeline.TOY_SYSTEMS


@pytest.mark.parametrize("name", sorted(SYSTEMS))
def test_committed_system_matches_its_manifest(name, heldout):
    folder = pipeline.TOY_SYSTEMS[name]
    manifest = json.loads((folder / "manifest.json").read_text())
    expected = SYSTEMS[name]
    assert manifest["command"].startswith("lafr train-lora --profile tiny")
    assert manifest["code_version"] and "uncommitted" not in manifest["code_version"] and manifest["seconds"] > 0
    assert manifest["lora"]["targets"] == expected["targets"] and manifest["terms"] == expected["terms"]
    assert manifest["adapter"] == expected["adapter"] and manifest["timestep"] == CFG.timestep
    assert (manifest["steps"], manifest["lr"], manifest["batch_size"]) == (
        CFG.stage2_steps,
        CFG.stage2_lr,
        CFG.stage2_batch_size,
    )
    assert "/root/" not in json.dumps(manifest) and "/home/" not in json.dumps(manifest)  # no machine paths
    assert (folder / "loss.csv").read_text().count("\n") == CFG.stage2_steps + 1  # the whole curve, for notebook 05

    pipe = pipeline.LAFRPipeline.from_pretrained(name)
    assert (pipe.adapter is None) == (expected["adapter"] == "none")
    hq, z_lq, landmarks, judge = heldout
    with torch.no_grad():
        restored = (pipe.decode(pipe.restore_latents(z_lq)) + 1) / 2
    measured, reported = train.evaluate_restorer(restored, hq, landmarks, judge), manifest["quality"]["restored"]
    for key in ("psnr_face", "psnr_eyes", "psnr_mouth"):
        assert measured[key] == pytest.approx(reported[key], abs=0.01), key
    for key in ("mse", "lpips", "id", "fs"):
        assert measured[key] == pytest.approx(reported[key], rel=2e-3, abs=2e-5), key


def test_the_measurements_behind_the_tiny_profiles_choices():
    """The timestep sweep (the tiny profile's t is its best) and the seeded runs notebooks 05 and 06
    report: every committed system at three training seeds or more, judged by dlib too, the committed
    seed-0 systems among them with the numbers their manifests give."""
    m = json.loads((pipeline.TOY_SYSTEMS["lafr-toy-restorer"] / "measurements.json").read_text())
    runs = m["timestep_sweep"]["runs"]
    assert len({r["timestep"] for r in runs}) >= 5 and all(r["steps"] == CFG.stage2_steps for r in runs)
    # the rule behind the tiny profile's t: the largest timestep within 0.05 dB of the best
    best = max(r["trained"]["psnr_face"] for r in runs)
    assert CFG.timestep == max(r["timestep"] for r in runs if r["trained"]["psnr_face"] >= best - 0.05)
    seeded = m["seeds"]["runs"]
    for name, expected in SYSTEMS.items():
        manifest = json.loads((pipeline.TOY_SYSTEMS[name] / "manifest.json").read_text())
        mine = [r for r in seeded if r["system"] == name]
        assert any(r["quality"] == manifest["quality"] and r["seed"] == manifest["seed"] for r in mine), name
        assert len({r["seed"] for r in mine}) >= 3, name
        for r in mine:
            assert (r["adapter"], r["targets"], r["terms"]) == (
                expected["adapter"],
                expected["targets"],
                expected["terms"],
            ), r["run"]
            assert set(r["judged"]) == {"deg", "lmd", "lmd_true", "detail_hair", "detail_eyes"}, r["run"]
            assert r["judged"]["deg"] > 0 and 0 < r["judged"]["detail_hair"] < 1 and 0 < r["judged"]["detail_eyes"] < 1
            assert r["command"].startswith("lafr train-lora --profile tiny") and r["seed"] == (
                int(r["command"].split("--seed ")[1].split()[0]) if "--seed " in r["command"] else 0
            ), r["run"]


def test_the_budget_run_passes_through_the_committed_restorer():
    """The 3,000-step budget run (stopped and resumed every 250 steps, same settings) must give the
    committed full method's held-out numbers at the profile's step count: training is deterministic and
    resuming exact, across code versions."""
    m = json.loads((pipeline.TOY_SYSTEMS["lafr-toy-restorer"] / "measurements.json").read_text())["budget"]
    manifest = json.loads((pipeline.TOY_SYSTEMS["lafr-toy-restorer"] / "manifest.json").read_text())
    assert (m["timestep"], m["lr"], m["batch"], m["views"]) == (
        manifest["timestep"],
        manifest["lr"],
        manifest["batch_size"],
        manifest["views"],
    )
    at_budget = m["heldout_by_step"][str(CFG.stage2_steps)]
    for key in ("psnr_face", "psnr_eyes", "psnr_mouth", "mse", "lpips", "id", "fs"):
        assert at_budget[key] == pytest.approx(manifest["quality"]["restored"][key], abs=1e-3), key
