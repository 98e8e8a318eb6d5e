"""``lafr restore``: aligned face crops in, one restored PNG per input out.

Files and folders are read with ``lafr.data``, restored in batches by ``lafr.pipeline.LAFRPipeline``
and written at each input's size.  A file that cannot be read is named and skipped (and the command
exits non-zero); nothing is ever overwritten without ``--overwrite``, and an input never is.
Taught in notebook 05.
"""

from __future__ import annotations

import sys
from pathlib import Path

from lafr import config


def cmd_restore(args) -> int:
    """Restore aligned face crops: files and folders in, one PNG per input out."""
    import torch
    from tqdm.auto import tqdm

    from lafr import data
    from lafr.pipeline import LAFRPipeline

    out = Path(args.output).expanduser()
    files, input_folders = [], []
    for item in map(Path, args.inputs):
        if item.is_dir():
            input_folders.append(item.resolve())
            files += data.list_images(item)
        elif item.exists():
            files.append(item)
        else:
            raise FileNotFoundError(f"{item}: no such file or folder")
    if not files:
        raise ValueError(f"no image files among {', '.join(args.inputs)} ({', '.join(data.IMAGE_EXTENSIONS)})")
    if out.resolve() in input_folders or any(out.resolve() == f.resolve().parent for f in files):
        raise ValueError(
            f"{out}: is where inputs are; choose another output folder, so that no input can be overwritten"
        )
    targets = {}
    for f in files:
        targets.setdefault(out / (f.stem + ".png"), []).append(str(f))
    clashes = [f"{t.name} <- {', '.join(v)}" for t, v in targets.items() if len(v) > 1]
    if clashes:
        raise ValueError("several inputs would be written to the same file: " + "; ".join(clashes))
    existing = [str(t) for t in targets if t.exists()]
    if existing and not args.overwrite:
        raise FileExistsError(
            f"would overwrite {', '.join(existing[:5])}{' ...' if len(existing) > 5 else ''}; pass --overwrite"
        )
    cfg = config.get_profile(args.profile)
    dtype = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}[args.dtype]
    pipe = LAFRPipeline.from_pretrained(args.model or cfg.restorer_weights, device=args.device, dtype=dtype)
    skipped = []
    bar = tqdm(total=len(files), desc="restoring", unit="image")
    for start in range(0, len(files), args.batch_size):
        chunk, images = files[start : start + args.batch_size], []
        for f in chunk:
            try:
                images.append((f, data.load_image(f)))
            # lafr.data.ImageError (a ValueError): unreadable, empty, not an image ... (its message names the file)
            except ValueError as e:
                why = str(e) if str(f) in str(e) else f"{f}: {e}"
                skipped.append(why)
                print(f"lafr restore: skipped {why}", file=sys.stderr)
        if images:
            for (f, _), restored in zip(images, pipe([x for _, x in images])):
                data.save_image(restored, out / (f.stem + ".png"), overwrite=args.overwrite)
        bar.update(len(chunk))
    bar.close()
    print(f"restored {len(files) - len(skipped)} of {len(files)} image(s) into {out}")
    if skipped:
        print(f"lafr restore: {len(skipped)} input(s) skipped:\n  " + "\n  ".join(skipped), file=sys.stderr)
        return 1
    return 0
