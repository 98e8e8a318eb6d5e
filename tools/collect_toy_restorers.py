"""Copy the toy restorers that tools/train_toy_restorers.sh trained into lafr/weights/, and write the
measurements notebook 05 shows beside them (``lafr/weights/toy_restorer/measurements.json``):

- ``timestep_sweep``: the results of ``tools/stage2_sweep.py`` runs (one or more results.json);
- ``seeds``: the held-out numbers of the full method and of each ablation at every seed trained
  (their manifests), and what dlib's judges say of each (``judged``: Deg, LMD and LMD-true means on
  notebook 06's held-out faces, every output rounded to 8 bits, as notebook 06 judges), with the share
  of the truth's fine detail the outputs keep in the hair and eye regions (``detail_hair``,
  ``detail_eyes``: ``analysis.detail_kept``, notebook 05);
- ``budget``: held-out numbers along one longer run (``tools/stage2_sweep.py --eval-every``);
- ``experiments``: the full method with one value changed (``runs/experiments/``: the number of
  training faces, the LPIPS weight, the LoRA rank, the timestep, the skip-connection adapter, a harsher
  degradation), each seed judged as above, and the stage-1 runs they needed (``stage1``: the harsher
  degradation's adapter); the committed ones are kept when ``--runs`` has none.

With ``--experiments-only`` nothing else changes: no system is copied, the committed seeded runs,
sweep and budget run are kept, and only the experiments not committed yet are judged and added (a run
committed already is judged again only when its manifest changed), so each finished experiment can be
committed as it finishes.

Without ``--sweeps`` (or ``--budget``) the committed file's sweep (or budget run) is kept as it is,
with the loss networks' version it was measured with.

    python tools/collect_toy_restorers.py --runs RUNS_DIR \
        --sweeps runs/sweep-a/results.json runs/sweep-b/*/results.json --budget runs/budget/results.json
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import torch  # noqa: E402

from lafr import analysis, data, metrics, pipeline, regions, train  # noqa: E402
from lafr.config import get_profile  # noqa: E402
from lafr.pipeline import TOY_SYSTEMS  # noqa: E402


class DlibJudge:
    """Notebook 06's judging of a restorer: its 128 held-out faces (seed 0) under the tiny profile's
    test degradation (or ``preset``), every output rounded to 8 bits, Deg and LMD by dlib, LMD-true by
    the renderer."""

    def __init__(self, n: int = 128, seed: int = 0, preset: str | None = None):
        self.cfg = get_profile("tiny")
        hq = train.eight_bit(data.image_set(self.cfg.eval_faces, n, self.cfg.resolution, seed=seed)[0])
        test = self.cfg.replace(degradation=preset or self.cfg.test_degradation)
        vae = pipeline.LAFRPipeline.from_pretrained(self.cfg.restorer_weights).vae
        _, self.z_lq, _ = train.heldout_pairs(vae, test, n, seed=seed)
        landmarks = data.face_landmarks(self.cfg.eval_faces, n, self.cfg.resolution, seed=seed)
        self.suite = metrics.Suite(
            ["deg", "lmd", "lmd_true"],
            identity_net=self.cfg.identity_metric_net,
            landmark_net=self.cfg.landmark_metric_net,
        )
        self.ref = self.suite.reference(list(hq), true_landmarks=list(landmarks))
        self.hq = hq
        self.masks = {  # where fine detail lives: the hair (with brows and lashes) and the eye boxes
            "hair": data.hair_masks(self.cfg.eval_faces, n, self.cfg.resolution, seed=seed),
            "eyes": regions.region_masks(landmarks, self.cfg.resolution)["eyes"],
        }

    @torch.no_grad()
    def __call__(self, folder) -> dict:
        pipe = pipeline.LAFRPipeline.from_pretrained(folder)
        out = train.eight_bit((pipe.decode(pipe.restore_latents(self.z_lq, batch_size=16), batch_size=16) + 1) / 2)
        summary = self.suite.evaluate(list(out), self.ref).summary
        judged = {m: round(float(summary[m]), 3) for m in ("deg", "lmd", "lmd_true")}
        for region, mask in self.masks.items():  # the truth's fine detail the outputs hold (1: as much)
            judged[f"detail_{region}"] = round(analysis.detail_kept(out, self.hq, mask), 3)
        return judged


RUN_OF = {  # built-in name: the run folder under --runs (tools/train_toy_restorers.sh)
    "lafr-toy-restorer": "toy-restorer",
    "lafr-toy-restorer-no-adapter": "toy-restorer-no-adapter",
    "lafr-toy-restorer-attention": "toy-restorer-attention",
    "lafr-toy-restorer-res-only": "toy-restorer-res-only",
}
SEED_RUNS = (*RUN_OF.values(), *(f"seeds/{run}-seed*" for run in RUN_OF.values()))


def collect_experiments(runs: Path, committed: dict | None = None) -> dict:
    """The finished runs under runs/experiments/, each judged as the seeded runs (under its own test
    degradation); a run in ``committed`` whose manifest has not changed keeps its committed entry."""
    kept = {r["run"]: r for r in (committed or {}).get("runs", [])}
    experiments = {
        "about": "the full method with one value changed (tools/train_toy_restorers.sh: facesK, lpipsW, rankR, "
        "tT, residual, harsh-full and harsh-no-adapter), judged as the seeded runs",
        "stage1": dict((committed or {}).get("stage1", {})),
        "runs": [],
    }
    by_preset = {}

    def judge(preset):  # an experiment is judged under its own test degradation
        if preset not in by_preset:
            by_preset[preset] = DlibJudge(preset=preset)
        return by_preset[preset]

    for folder in sorted(runs.glob("experiments/*")):
        if folder.is_dir() and not re.search(r"-seed\d+$", folder.name) and (folder / "manifest.json").is_file():
            m = json.loads((folder / "manifest.json").read_text())  # a stage-1 run (an adapter)
            experiments["stage1"][folder.name] = {
                k: m.get(k)
                for k in (
                    "command",
                    "code_version",
                    "overrides",
                    "epochs",
                    "training_pairs",
                    "seconds",
                    "heldout",
                    "quality",
                )
            }
    for folder in sorted(runs.glob("experiments/*-seed*")):
        if not (folder / "system" / "manifest.json").is_file():
            continue  # a log file or a run that has not finished
        m = json.loads((folder / "system" / "manifest.json").read_text())
        entry = {
            "run": folder.name,
            "experiment": re.sub(r"-seed\d+$", "", folder.name),
            "command": m["command"],
            "seed": m["seed"],
            "training_faces": m["training_faces"],
            "steps": m["steps"],
            "timestep": m["timestep"],
            "rank": m["lora"]["rank"],
            "adapter": m["adapter"],
            "overrides": m.get("overrides", {}),
            "code_version": m["code_version"],
            "machine": m.get("machine"),
            "seconds": m.get("seconds"),
            "quality": m["quality"],
        }
        if "earlier_seconds" in m:  # the interrupted runs' share of "seconds" (0 for a fresh run, null if not counted)
            entry["earlier_seconds"] = m["earlier_seconds"]
        old = kept.pop(folder.name, None)
        if old and all(old.get(k) == v for k, v in entry.items()):
            experiments["runs"].append(old)
            continue
        entry["judged"] = judge(m.get("overrides", {}).get("test_degradation"))(folder / "system")
        experiments["runs"].append(entry)
        print(f"{folder.name}: {entry['judged']}")
    experiments["runs"] += kept.values()  # committed runs whose folders are not here
    experiments["runs"].sort(key=lambda r: r["run"])
    return experiments


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", required=True, help="the runs/ folder the training script wrote")
    p.add_argument(
        "--sweeps", nargs="+", help="results.json files of tools/stage2_sweep.py (default: keep the committed sweep)"
    )
    p.add_argument(
        "--sweep-note", default="", help="a note on the sweeps (for example, a code version that was not recorded)"
    )
    p.add_argument("--budget", help="results.json of a stage2_sweep.py run with --eval-every")
    p.add_argument("--note", default="", help="a note added to each copied manifest (how the runs ran)")
    p.add_argument("--machine", default="", help="the machine, for manifests written before train-lora recorded it")
    p.add_argument(
        "--experiments-only",
        action="store_true",
        help="add the experiments not committed yet, and change nothing else (no system copied, nothing re-judged)",
    )
    args = p.parse_args(argv)
    runs = Path(args.runs)
    out = TOY_SYSTEMS["lafr-toy-restorer"] / "measurements.json"
    committed = json.loads(out.read_text()) if out.is_file() else {}
    if args.experiments_only:
        measurements = {**committed, "experiments": collect_experiments(runs, committed.get("experiments"))}
        out.write_text(json.dumps(measurements, indent=1) + "\n")
        print(f"wrote {out.relative_to(ROOT)}: {len(measurements['experiments']['runs'])} experiment runs")
        return 0
    for name, run in RUN_OF.items():
        src, dest = runs / run / "system", TOY_SYSTEMS[name]
        if not (src / "manifest.json").is_file():
            raise FileNotFoundError(f"{src}: no finished run here (no manifest.json)")
        if dest.exists():
            shutil.rmtree(dest)
        shutil.copytree(src, dest)
        shutil.copy2(runs / run / "loss.csv", dest / "loss.csv")
        manifest = json.loads((dest / "manifest.json").read_text())
        if args.machine and "machine" not in manifest:
            manifest["machine"] = args.machine
        if args.note:
            manifest["note"] = args.note
        (dest / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        print(f"{name}: {src} -> {dest.relative_to(ROOT)}")

    sweep = {"commands": [], "code_versions": [], "note": args.sweep_note, "baselines": None, "runs": []}
    if not args.sweeps:
        sweep = committed["timestep_sweep"]
    for path in args.sweeps or []:
        r = json.loads(Path(path).read_text())
        sweep["commands"].append(r["command"])
        sweep["code_versions"].append(r.get("code_version", "not recorded"))
        if sweep["baselines"] is None:
            sweep["baselines"] = r["baselines"]
        elif r["baselines"] != sweep["baselines"]:
            raise ValueError(
                f"{path}: its baselines differ from the first sweep's: not the same held-out faces or models"
            )
        sweep["runs"] += r["runs"]
    sweep["runs"].sort(key=lambda r: r["timestep"])
    seen = set()

    seeds = {
        "runs": [],
        "judged_by": "dlib's face recognition (Deg, degrees) and 68 landmarks (LMD, px); "
        "LMD-true: the renderer's landmarks; notebook 06's 128 held-out faces, 8-bit outputs; "
        "detail_hair, detail_eyes: high-frequency energy against the truth's (analysis.detail_kept)",
    }
    judge = DlibJudge()
    for pattern in SEED_RUNS:
        for folder in sorted(runs.glob(pattern)):
            if not (folder / "system" / "manifest.json").is_file() or folder in seen:
                continue  # a log file, a run that has not finished, or one listed already
            seen.add(folder)
            m = json.loads((folder / "system" / "manifest.json").read_text())
            seeds["runs"].append(
                {
                    "run": folder.name,
                    "system": {run: name for name, run in RUN_OF.items()}[re.sub(r"-seed\d+$", "", folder.name)],
                    "command": m["command"],
                    "seed": m["seed"],
                    "adapter": m["adapter"],
                    "targets": m["lora"]["targets"],
                    "terms": m["terms"],
                    "code_version": m["code_version"],
                    "quality": m["quality"],
                    "judged": judge(folder / "system"),
                }
            )
            print(f"{folder.name}: {seeds['runs'][-1]['judged']}")
    experiments = collect_experiments(runs)
    measurements = {"timestep_sweep": sweep, "seeds": seeds}
    if experiments["runs"] or experiments["stage1"]:
        measurements["experiments"] = experiments
    elif "experiments" in committed:
        measurements["experiments"] = committed["experiments"]
    if "budget" in committed and not args.budget:
        measurements["budget"] = committed["budget"]
    if args.budget:
        r = json.loads(Path(args.budget).read_text())
        (run,) = r["runs"]
        measurements["budget"] = {
            "command": r["command"],
            "code_version": r.get("code_version", "not recorded"),
            **{k: run[k] for k in ("timestep", "steps", "lr", "batch", "views", "terms", "adapter")},
            "heldout_by_step": run["heldout_by_step"],
        }
    out.write_text(json.dumps(measurements, indent=1) + "\n")
    print(f"wrote {out.relative_to(ROOT)}: {len(sweep['runs'])} timesteps, {len(seeds['runs'])} seeded runs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
