"""Copy the toy restorers that tools/train_toy_restorers.sh trained into lafr/weights/, and write the
measurements notebook 05 shows beside them (``lafr/weights/toy_restorer/measurements.json``):

- ``timestep_sweep``: the results of ``tools/stage2_sweep.py`` runs (one or more results.json);
- ``seeds``: the held-out numbers of the full method and of the no-adapter ablation at every seed
  trained (their manifests);
- ``budget``: held-out numbers along one longer run (``tools/stage2_sweep.py --eval-every``).

    python tools/collect_toy_restorers.py --runs RUNS_DIR \
        --sweeps runs/sweep-a/results.json runs/sweep-b/*/results.json --budget runs/budget/results.json
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from lafr.pipeline import TOY_SYSTEMS  # noqa: E402

RUN_OF = {  # built-in name: the run folder under --runs (tools/train_toy_restorers.sh)
    "lafr-toy-restorer": "toy-restorer",
    "lafr-toy-restorer-no-adapter": "toy-restorer-no-adapter",
    "lafr-toy-restorer-attention": "toy-restorer-attention",
    "lafr-toy-restorer-res-only": "toy-restorer-res-only",
}
SEED_RUNS = (
    "toy-restorer",
    "toy-restorer-no-adapter",
    "seeds/toy-restorer-seed*",
    "seeds/toy-restorer-no-adapter-seed*",
)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", required=True, help="the runs/ folder the training script wrote")
    p.add_argument("--sweeps", nargs="+", required=True, help="results.json files of tools/stage2_sweep.py")
    p.add_argument(
        "--sweep-note", default="", help="a note on the sweeps (for example, a code version that was not recorded)"
    )
    p.add_argument("--budget", help="results.json of a stage2_sweep.py run with --eval-every")
    p.add_argument("--note", default="", help="a note added to each copied manifest (how the runs ran)")
    p.add_argument("--machine", default="", help="the machine, for manifests written before train-lora recorded it")
    args = p.parse_args(argv)
    runs = Path(args.runs)
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
    for path in args.sweeps:
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

    seeds = {"runs": []}
    for pattern in SEED_RUNS:
        for folder in sorted(runs.glob(pattern)):
            if not (folder / "system" / "manifest.json").is_file():
                continue  # a log file, or a run that has not finished
            m = json.loads((folder / "system" / "manifest.json").read_text())
            seeds["runs"].append(
                {
                    "run": folder.name,
                    "command": m["command"],
                    "seed": m["seed"],
                    "adapter": m["adapter"],
                    "code_version": m["code_version"],
                    "quality": m["quality"],
                }
            )
    measurements = {"timestep_sweep": sweep, "seeds": seeds}
    if args.budget:
        r = json.loads(Path(args.budget).read_text())
        (run,) = r["runs"]
        measurements["budget"] = {
            "command": r["command"],
            "code_version": r.get("code_version", "not recorded"),
            **{k: run[k] for k in ("timestep", "steps", "lr", "batch", "views", "terms", "adapter")},
            "heldout_by_step": run["heldout_by_step"],
        }
    out = TOY_SYSTEMS["lafr-toy-restorer"] / "measurements.json"
    out.write_text(json.dumps(measurements, indent=1) + "\n")
    print(f"wrote {out.relative_to(ROOT)}: {len(sweep['runs'])} timesteps, {len(seeds['runs'])} seeded runs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
