"""Stage-2 sweep for the tiny profile: train conv-only LoRA at several timesteps (or other settings)
and judge each on held-out faces, beside the simple baselines. The measurement behind the tiny
profile's timestep (notebook 05 shows it).

    python tools/stage2_sweep.py --out runs/sweep-t --timesteps 99 249 499 999 --steps 1500

Writes ``OUT/results.json`` (one record per run, with the command) and each run's ``loss.csv``.
Held-out faces: ``train.heldout_pairs`` (128 synthetic faces never trained on, one degraded view each).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from lafr import adapter as adapter_mod, data, losses, models, pipeline, provenance, train  # noqa: E402
from lafr.config import get_profile  # noqa: E402

judge = train.evaluate_restorer


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True)
    p.add_argument("--timesteps", type=int, nargs="+", default=[249])
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--views", type=int, default=4)
    p.add_argument("--rank", type=int, default=4)
    p.add_argument("--terms", nargs="+", default=list(losses.TERMS))
    p.add_argument("--no-adapter", action="store_true")
    p.add_argument("--heldout", type=int, default=128)
    p.add_argument(
        "--eval-every", type=int, help="also judge the held-out faces every this many steps (the budget's curve)"
    )
    args = p.parse_args(argv)
    cfg = get_profile("tiny")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    loss = losses.build_loss(cfg, terms=tuple(args.terms))
    judge_loss = losses.build_loss(cfg)  # every term, for the report
    faces = train.training_faces(cfg)
    base = models.load_base(cfg.base_model)
    hq, z_lq_h, z_hq_h = train.heldout_pairs(base.vae, cfg, args.heldout)
    landmarks = data.face_landmarks(cfg.eval_faces, args.heldout, cfg.resolution, seed=cfg.seed)
    lq_images = train.heldout_lq_images(hq, cfg)
    adapter = None if args.no_adapter else adapter_mod.load_trained_adapter(cfg.adapter_weights)[0].eval()

    results = {
        "command": "python tools/stage2_sweep.py " + shlex.join(argv or sys.argv[1:]),
        "code_version": provenance.git_version(),
        "runs": [],
    }
    plain = pipeline.LAFRPipeline.from_base(models.load_base(cfg.base_model), 249, cfg.resolution, adapter=adapter)
    with torch.no_grad():
        results["baselines"] = {
            "lq image": judge(lq_images, hq, landmarks, judge_loss),
            "decode(z_LQ)": judge((plain.decode(z_lq_h) + 1) / 2, hq, landmarks, judge_loss),
            "decode(z_HQ)": judge((plain.decode(z_hq_h) + 1) / 2, hq, landmarks, judge_loss),
        }
        if adapter is not None:
            results["baselines"]["adapter only"] = judge(
                (plain.decode(adapter(z_lq_h)) + 1) / 2, hq, landmarks, judge_loss
            )
    print(json.dumps(results["baselines"], indent=1), flush=True)
    for t in args.timesteps:
        start = time.perf_counter()
        pipe = pipeline.LAFRPipeline.from_base(
            models.load_base(cfg.base_model), t, cfg.resolution, adapter=adapter, lora_rank=args.rank
        )
        with torch.no_grad():
            zero_shot = judge((pipe.decode(pipe.restore_latents(z_lq_h)) + 1) / 2, hq, landmarks, judge_loss)
        z_in = train.stage2_inputs(pipe, faces, cfg.degradation, views=args.views, seed=cfg.seed)
        marks = list(range(args.eval_every, args.steps, args.eval_every)) if args.eval_every else []
        curve = {}
        for k, stop in enumerate(marks + [args.steps]):
            history = train.train_lora(
                cfg,
                pipe,
                loss,
                z_in,
                faces,
                out / f"t{t}",
                steps=args.steps,
                batch_size=args.batch,
                lr=args.lr,
                progress=False,
                stop_after=stop,
                resume=k > 0,
            )
            with torch.no_grad():
                curve[stop] = judge((pipe.decode(pipe.restore_latents(z_lq_h)) + 1) / 2, hq, landmarks, judge_loss)
            print(json.dumps({"timestep": t, "step": stop, **curve[stop]}), flush=True)
        trained = curve[args.steps]
        record = {
            "timestep": t,
            "steps": args.steps,
            "lr": args.lr,
            "batch": args.batch,
            "views": args.views,
            "rank": args.rank,
            "terms": args.terms,
            "adapter": adapter is not None,
            "zero_shot": zero_shot,
            "trained": trained,
            "final_total": history[-1]["total"],
            **({"heldout_by_step": curve} if marks else {}),
            "seconds": round(time.perf_counter() - start, 1),
        }
        results["runs"].append(record)
        (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
        print(json.dumps(record), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
