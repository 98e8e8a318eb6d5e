"""Throughput of the tiny profile's data pipeline on ONE CPU core, as ratios to its targets.

    python benchmarks/bench_data.py [--size 128] [--seconds 5]

Targets (the foundation issue): at least 200 synthetic faces per second and at least 100 degraded
images per second, at 128 x 128, on one core.  A ratio >= 1.00 meets the target.
"""

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core, before numpy/torch start their pools

import torch  # noqa: E402

from lafr import degrade  # noqa: E402
from lafr.synthetic import synthetic_face  # noqa: E402

torch.set_num_threads(1)


def rate(fn, seconds: float) -> float:
    fn(0)  # warm up
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn(n)
        n += 1
    return n / (time.perf_counter() - start)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--seconds", type=float, default=5.0)
    args = ap.parse_args()
    faces = [synthetic_face(0, i, args.size)[0] for i in range(64)]
    rows = [("synthetic faces", rate(lambda i: synthetic_face(0, i, args.size), args.seconds), 200.0)]
    for preset in ("tiny", "gfpgan", "codeformer"):
        one = lambda i: degrade.degrade(faces[i % 64], preset, seed=i)  # noqa: B023 - timed at once, in this iteration
        rows.append((f"degrade ({preset})", rate(one, args.seconds), 100.0))
    print(f"one CPU core, {args.size} x {args.size}, torch {torch.__version__}")
    print(f"{'':<22} {'images/s':>9} {'target':>7} {'ratio':>6}")
    for name, r, target in rows:
        print(f"{name:<22} {r:9.1f} {target:7.0f} {r / target:6.2f}")


if __name__ == "__main__":
    main()
