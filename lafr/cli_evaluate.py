"""``lafr evaluate``: judge a folder of restored faces, against ground truth paired by name or alone.

Every metric of ``lafr.metrics`` that can run here is measured; those that cannot are listed with
the reason.  The means are printed as a markdown table and the per-image values written as CSV
(``lafr.results``).  Taught in notebook 06.
"""

from __future__ import annotations

import sys
from pathlib import Path

from lafr import config


def _by_stem(files, folder) -> dict:
    """Files by name without extension; two files with one name (a.png, a.jpg) are an error."""
    seen = {}
    for f in files:
        seen.setdefault(f.stem, []).append(f.name)
    twins = [" and ".join(v) for v in seen.values() if len(v) > 1]
    if twins:
        raise ValueError(
            f"{folder}: several files share a name (extension aside), so pairing is ambiguous: {'; '.join(twins)}"
        )
    return {f.stem: f for f in files}


def cmd_evaluate(args) -> int:
    """Judge restored faces: full-reference metrics against a ground-truth folder (files paired by
    name), or no-reference metrics alone; a markdown table printed, a CSV written."""
    import torch
    from tqdm.auto import tqdm

    from lafr import data, metrics, results

    restored_files = data.list_images(args.restored) if Path(args.restored).is_dir() else None
    if restored_files is None:
        raise FileNotFoundError(f"{args.restored}: not a folder of images")
    if not restored_files:
        raise ValueError(f"{args.restored}: no image files ({', '.join(data.IMAGE_EXTENSIONS)})")
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"--device {args.device}: no CUDA GPU here; use --device cpu")
    mine = _by_stem(restored_files, args.restored)
    pairs = [(f, None) for f in restored_files]
    if args.gt:
        if not Path(args.gt).is_dir():
            raise FileNotFoundError(f"{args.gt}: not a folder of images")
        gt = _by_stem(data.list_images(args.gt), args.gt)
        missing, extra = sorted(set(mine) - set(gt)), sorted(set(gt) - set(mine))
        if missing or extra:
            raise ValueError(
                "restored and ground-truth files must pair by name (without extension): "
                + (f"no ground truth for {', '.join(missing)}" if missing else "")
                + ("; " if missing and extra else "")
                + (f"nothing restored for {', '.join(extra)}" if extra else "")
            )
        pairs = [(mine[k], gt[k]) for k in sorted(mine)]
    default = (
        metrics.FULL_REFERENCE + metrics.SET_METRICS
        if args.gt
        else metrics.NO_REFERENCE + ("fid_ffhq",) + (("fid",) if args.fid_reference else ())
    )
    names = args.metrics or list(default)
    needs_gt = [
        n for n in names if n not in metrics.NO_REFERENCE + ("fid_ffhq",) and not (n == "fid" and args.fid_reference)
    ]
    if not args.gt and needs_gt:
        raise ValueError(
            f"{', '.join(needs_gt)} {'need' if len(needs_gt) > 1 else 'needs'} ground truth: pass --gt FOLDER"
        )
    out = Path(args.out)
    if out.exists() and not args.overwrite:
        raise FileExistsError(f"{out} exists; pass --overwrite or choose another --out")
    images, refs, keys, bad = [], [], [], []
    for f, g in tqdm(pairs, desc="reading", unit="image"):
        try:
            x = data.load_image(f)
            y = data.load_image(g) if g else x
        except ValueError as e:  # lafr.data.ImageError names the file
            bad.append(str(e))
            continue
        images.append(x), refs.append(y), keys.append(f.stem)
    if bad:
        raise ValueError(f"{len(bad)} unreadable image(s):\n  " + "\n  ".join(bad))
    sizes = [
        f"{k}: restored {tuple(x.shape[-2:])}, ground truth {tuple(y.shape[-2:])}"
        for k, x, y in zip(keys, images, refs)
        if x.shape != y.shape
    ]
    if sizes:
        raise ValueError(
            f"{len(sizes)} pair(s) differ in size (restore at the ground truth's size):\n  " + "\n  ".join(sizes)
        )
    suite = metrics.Suite(
        names,
        device=args.device,
        identity_net=config.get_profile(args.profile).identity_metric_net,
        landmark_net=config.get_profile(args.profile).landmark_metric_net,
        fid_reference=args.fid_reference,
    )
    metrics.check_judges(config.get_profile(args.profile), suite)
    ref = suite.reference(refs, keys)
    result = suite.evaluate(images, ref, label=Path(args.restored).name, progress=True)
    print(results.markdown([result]))
    for note in result.notes:
        print(f"lafr evaluate: {note}", file=sys.stderr)
    if not result.summary:
        print(
            "lafr evaluate: no metric could be measured here (see 'Not measured' above); nothing written",
            file=sys.stderr,
        )
        return 2
    result.to_csv(out, overwrite=args.overwrite)
    print(f"per-image values written to {out}")
    return 0
