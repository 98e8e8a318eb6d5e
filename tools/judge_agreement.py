"""Do the loss's identity and structure networks rank restorers as the judges do?

The tiny profile's loss networks (``lafr pretrain-toy --stage identity | structure``) train the
restorers; dlib's networks judge them (notebook 06) and never train anything.  This script restores
notebook 06's held-out faces with every committed system and baseline, and measures, per face:

- the loss's identity term (1 - cosine of the toy identity embeddings to the ground truth's) and
  dlib's identity angle Deg (degrees);
- the loss's structure term (1 - cosine of the zero-centred toy landmarks) and dlib's landmark
  distance LMD (pixels).

Then three rank correlations (Spearman) between each loss term and its judge: over the systems (their
means), within each face (how the systems rank on that face, averaged over faces), and over all
(system, face) pairs.  Notebook 04 shows the result; rerun with

    python tools/judge_agreement.py --out lafr/weights/toy_identity/agreement_with_dlib.json

(about 4 minutes on 2 CPU cores).  ``--identity-net`` / ``--structure-net`` measure other networks
(folders written by ``lafr pretrain-toy --out``); ``--previous FILE`` keeps an earlier run's result
beside the new one (the networks before a retraining).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from scipy.stats import spearmanr

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from lafr import data, facenets, metrics, provenance, train  # noqa: E402
from lafr.config import get_profile  # noqa: E402


@torch.no_grad()
def term(net, x: torch.Tensor, hq: torch.Tensor) -> np.ndarray:
    """1 - cosine between the network's features of ``x`` and of ``hq`` (images in [0, 1]), per face."""
    return (1 - F.cosine_similarity(net(x * 2 - 1).float(), net(hq * 2 - 1).float())).numpy()


def agreement(loss_term: dict, judge: dict) -> dict:
    """Spearman correlations between a loss term and a judge, both {system: per-face values}; faces
    the judge could not read (None) are left out."""
    systems = list(loss_term)
    keep = [i for i in range(len(judge[systems[0]])) if all(judge[s][i] is not None for s in systems)]
    a = np.array([[loss_term[s][i] for i in keep] for s in systems])  # systems x faces
    b = np.array([[judge[s][i] for i in keep] for s in systems], dtype=float)
    within = [spearmanr(a[:, j], b[:, j]).statistic for j in range(len(keep))]
    return {
        "faces": len(keep),
        "over_systems": round(float(spearmanr(a.mean(1), b.mean(1)).statistic), 3),
        "within_face_mean": round(float(np.nanmean(within)), 3),
        "over_system_face_pairs": round(float(spearmanr(a.ravel(), b.ravel()).statistic), 3),
        "loss_term_means": {s: round(float(a[k].mean()), 4) for k, s in enumerate(systems)},
        "judge_means": {s: round(float(b[k].mean()), 3) for k, s in enumerate(systems)},
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True, help="JSON file to write")
    p.add_argument("--identity-net", default=facenets.TOY_IDENTITY, help="toy identity network (name or folder)")
    p.add_argument("--structure-net", default=facenets.TOY_STRUCTURE, help="toy structure network (name or folder)")
    p.add_argument("--faces", type=int, default=128, help="held-out faces (notebook 06 uses 128)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--previous", help="an earlier result of this script to keep beside the new one")
    args = p.parse_args(argv)
    started = time.perf_counter()
    cfg = get_profile("tiny")
    hq, outputs = train.heldout_outputs(cfg, args.faces, seed=args.seed, resizers=("bicubic",))
    outputs = {name: train.eight_bit(x) for name, x in outputs.items()}
    id_net, fs_net = facenets.load_toy(args.identity_net), facenets.load_toy(args.structure_net)
    landmarks = data.face_landmarks(cfg.eval_faces, args.faces, cfg.resolution, seed=args.seed)
    suite = metrics.Suite(["deg", "lmd"], identity_net=cfg.identity_metric_net, landmark_net=cfg.landmark_metric_net)
    ref = suite.reference(list(hq), true_landmarks=list(landmarks))
    judged = {k: suite.evaluate(list(x), ref, label=k).per_image for k, x in outputs.items()}
    result = {
        "command": "python tools/judge_agreement.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "code_version": provenance.git_version(),
        "machine": provenance.machine("cpu"),
        "held_out": f"notebook 06's {args.faces} held-out faces (seed {args.seed}), the tiny profile's test "
        "degradation; every output rounded to 8 bits",
        "identity_net": {"name": args.identity_net, **_made_by(args.identity_net)},
        "structure_net": {"name": args.structure_net, **_made_by(args.structure_net)},
        "identity_term_against_deg": agreement(
            {k: term(id_net, x, hq) for k, x in outputs.items()}, {k: v["deg"] for k, v in judged.items()}
        ),
        "structure_term_against_lmd": agreement(
            {k: term(fs_net, x, hq) for k, x in outputs.items()}, {k: v["lmd"] for k, v in judged.items()}
        ),
        "seconds": round(time.perf_counter() - started, 1),
    }
    if args.previous:
        result["previous"] = json.loads(Path(args.previous).read_text())
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    for what in ("identity_term_against_deg", "structure_term_against_lmd"):
        r = result[what]
        print(
            f"{what}: over systems {r['over_systems']:+.3f}, within a face {r['within_face_mean']:+.3f}, "
            f"over (system, face) pairs {r['over_system_face_pairs']:+.3f} ({r['faces']} faces)"
        )
    return 0


def _made_by(name: str) -> dict:
    folder = facenets.TOY_DIRS.get(name, Path(name))
    m = json.loads((Path(folder) / "manifest.json").read_text())
    return {"command": m["command"], "code_version": m["code_version"]}


if __name__ == "__main__":
    raise SystemExit(main())
