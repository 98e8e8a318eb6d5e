"""The committed toy restorers (the full method and three ablations): they load through
``LAFRPipeline.from_pretrained``, their manifests say how they were made, and the held-out numbers
the manifests report are what they measure now.

CI never retrains them (``lafr train-lora --profile tiny ...``, about 10 minutes each on one CPU
core; the commands are in the manifests)."""

import json
import re

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


EXPERIMENT_CHANGE = {  # an experiment's name (tools/train_toy_restorers.sh) -> what its runs must differ in
    "faces": lambda r, v: r["training_faces"] == int(v) and r["overrides"] == {"train_images": int(v)},
    "lpips": lambda r, v: r["overrides"] == {"lpips_weight": float(v)},
    "rank": lambda r, v: r["rank"] == int(v) and not r["overrides"],
    "t": lambda r, v: r["timestep"] == int(v) and not r["overrides"],
    "residual": lambda r, v: r["adapter"] == "lafr-toy-adapter-residual" and not r["overrides"],
    "harsh-full": lambda r, v: (
        r["adapter"] == "runs/experiments/harsh-adapter"
        and r["overrides"] == {"degradation": "gfpgan", "test_degradation": "gfpgan"}
    ),
    "harsh-no-adapter": lambda r, v: (
        r["adapter"] == "none" and r["overrides"] == {"degradation": "gfpgan", "test_degradation": "gfpgan"}
    ),
}


def test_each_committed_experiment_changes_one_value():
    """Every experiment run notebook 05 reads (runs/experiments/NAME-seedN) is the full method with the
    one change its name says, everything else as the profile's, and judged as the seeded runs; the
    harsher degradation's runs come with the stage-1 run of their adapter."""
    m = json.loads((pipeline.TOY_SYSTEMS["lafr-toy-restorer"] / "measurements.json").read_text())
    full = json.loads((pipeline.TOY_SYSTEMS["lafr-toy-restorer"] / "manifest.json").read_text())
    for r in m.get("experiments", {}).get("runs", []):
        found = re.fullmatch(r"(faces|lpips|rank|t)(\d+)|(residual|harsh-full|harsh-no-adapter)", r["experiment"])
        assert found, f"{r['run']}: not an experiment of tools/train_toy_restorers.sh"
        name, value = found[1] or found[3], found[2]
        assert EXPERIMENT_CHANGE[name](r, value), r["run"]
        defaults = {
            "training_faces": CFG.train_images,
            "timestep": CFG.timestep,
            "rank": full["lora"]["rank"],
            "steps": CFG.stage2_steps,
        }
        changed = {"faces": "training_faces", "t": "timestep", "rank": "rank"}.get(name)
        assert all(r[k] == v for k, v in defaults.items() if k != changed), r["run"]
        assert (
            r["run"] == f"{r['experiment']}-seed{r['seed']}" and f"--out runs/experiments/{r['run']} " in r["command"]
        )
        assert set(r["judged"]) == {"deg", "lmd", "lmd_true", "detail_hair", "detail_eyes"}, r["run"]
        if name.startswith("harsh"):
            stage1 = m["experiments"]["stage1"]["harsh-adapter"]
            assert (
                stage1["overrides"] == r["overrides"] and stage1["quality"]["l1_aligned"] < stage1["quality"]["l1_lq"]
            )


def test_collecting_experiments_judges_only_what_changed(tmp_path, monkeypatch):
    """tools/collect_toy_restorers.py --experiments-only keeps a committed run whose manifest has not
    changed (nothing is judged again), and judges a run that is new or changed."""
    import importlib.util
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location("collect", root / "tools" / "collect_toy_restorers.py")
    collect = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(collect)
    judged = []

    class FakeJudge:  # stands in for dlib: records what it was asked to judge
        def __init__(self, preset=None):
            pass

        def __call__(self, folder):
            judged.append(folder.parent.name)
            return {"deg": 1.0}

    monkeypatch.setattr(collect, "DlibJudge", FakeJudge)
    committed = {
        "stage1": {},
        "runs": [
            {
                "run": "faces150-seed0", "experiment": "faces150", "command": "c", "seed": 0, "training_faces": 150,
                "steps": 1500, "timestep": 49, "rank": 4, "adapter": "lafr-toy-adapter",
                "overrides": {"train_images": 150}, "code_version": "v", "machine": "m", "seconds": 1.0,
                "quality": {"restored": {"psnr_face": 27.0}}, "judged": {"deg": 16.0},
            }
        ],
    }  # fmt: skip
    r = committed["runs"][0]
    manifest = {
        **{k: r[k] for k in ("command", "seed", "training_faces", "steps", "timestep", "adapter", "overrides")},
        **{k: r[k] for k in ("code_version", "machine", "seconds", "quality")},
        "lora": {"rank": 4},
    }
    resumed = {"seconds": 1001.0, "earlier_seconds": 1000.0}  # faces300-seed0 was stopped and resumed
    for run, changes in (
        ("faces150-seed0", {}),
        ("faces300-seed0", {"quality": {"restored": {"psnr_face": 27.1}}, **resumed}),
    ):
        (tmp_path / "experiments" / run / "system").mkdir(parents=True)
        (tmp_path / "experiments" / run / "system" / "manifest.json").write_text(json.dumps({**manifest, **changes}))
    out = collect.collect_experiments(tmp_path, committed)
    assert judged == ["faces300-seed0"] and out["runs"][0] == r and out["runs"][1]["judged"] == {"deg": 1.0}
    assert {k: out["runs"][1].get(k) for k in resumed} == resumed  # the resumed run's time, and how much came before
    manifest["quality"] = {"restored": {"psnr_face": 26.0}}  # a retrained run: judged again
    (tmp_path / "experiments" / "faces150-seed0" / "system" / "manifest.json").write_text(json.dumps(manifest))
    out = collect.collect_experiments(tmp_path, committed)
    assert judged[1:] == ["faces150-seed0", "faces300-seed0"] and out["runs"][0]["judged"] == {"deg": 1.0}
