"""Whole photos: where the time goes (detection, landmarks and cut, restoration, paste-back) and the
peak memory, for photos of growing size with the same faces in them.

    python benchmarks/bench_photos.py                       # the tiny profile's restorer, CPU
    python benchmarks/bench_photos.py --megapixels 1 6 24   # the photo sizes to try

Each photo is a grey card, a given number of megapixels in 3:2, holding the two packaged portraits
(scikit-image's astronaut, matplotlib's Grace Hopper) enlarged with it, so the faces grow with the
photo as they would in a sharper camera. Each size runs in a fresh process, so its peak resident
memory (Linux's ru_maxrss) is its own; the baseline is the same process after loading the
restorer and dlib's models. ``lafr.photos`` touches only each face's rectangle, so memory should grow with the photo's
pixels (a few float32 copies: 12 bytes per pixel each), not with the faces. Run on idle cores.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time


def one(megapixels: float, profile: str) -> dict:
    import cv2
    import numpy as np
    import torch

    from lafr import config, data, photos
    from lafr.pipeline import LAFRPipeline

    pipe = LAFRPipeline.from_pretrained(config.get_profile(profile).restorer_weights)
    photos.find_faces(np.zeros((64, 64, 3), np.float32))  # dlib's models loaded (about 100 MB), for the baseline
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    w = int(round((megapixels * 1e6 * 1.5) ** 0.5))
    h = int(round(w / 1.5))
    s = h / 700  # the portraits' card (700 x 1100 at 1 x) scaled to this photo
    card = np.full((h, w, 3), 0.5, np.float32)
    portraits = data.packaged_portraits()
    for name, (top, left) in (("grace_hopper", (50, 40)), ("astronaut", (100, 570))):
        img = portraits[name].permute(1, 2, 0).numpy()
        big = cv2.resize(img, (round(img.shape[1] * s), round(img.shape[0] * s)), interpolation=cv2.INTER_CUBIC)
        y, x = round(top * s), round(left * s)
        card[y : y + big.shape[0], x : x + big.shape[1]] = np.clip(big[: h - y, : w - x], 0, 1)
    times = {}
    start = time.perf_counter()
    faces = photos.find_faces(card)
    times["detect + landmarks"] = time.perf_counter() - start

    def restore(crops):
        t = time.perf_counter()
        out = pipe([torch.from_numpy(c).permute(2, 0, 1) for c in crops])
        times["restore"] = time.perf_counter() - t
        return [o.permute(1, 2, 0).numpy() for o in out]

    start = time.perf_counter()
    result = photos.restore_photo(card, restore, pipe.resolution, faces=faces)
    times["cut + paste"] = time.perf_counter() - start - times.get("restore", 0.0)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    return {
        "size": f"{w} x {h}",
        "faces": len(result.restored_faces),
        "times": times,
        "peak_gib_above_model": (peak - base),
        "photo_gib": card.nbytes / 2**30,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--megapixels", type=float, nargs="+", default=[1, 6, 24])
    ap.add_argument("--profile", default="tiny")
    ap.add_argument("--child", type=float, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child is not None:
        print(json.dumps(one(args.child, args.profile)))
        return
    print(f"whole photos, the {args.profile} profile's restorer, CPU; a fresh process per size")
    for mp in args.megapixels:
        run = subprocess.run(
            [sys.executable, __file__, "--child", str(mp), "--profile", args.profile], capture_output=True, text=True
        )
        if run.returncode != 0:
            print(f"  {mp:g} MP: failed\n{run.stderr[-2000:]}")
            continue
        r = json.loads(run.stdout.strip().splitlines()[-1])
        parts = ", ".join(f"{k} {v:.2f} s" for k, v in r["times"].items())
        above = r["peak_gib_above_model"]
        print(
            f"  {mp:g} MP ({r['size']}, {r['faces']} faces): {parts}; peak memory {above:.2f} GiB above the loaded "
            f"models, {above / r['photo_gib']:.1f} times the photo's float32 pixels"
        )


if __name__ == "__main__":
    main()
