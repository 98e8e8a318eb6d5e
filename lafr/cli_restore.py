"""``lafr restore``: whole photos in, the same photos with every face restored out (or, with
``--aligned``, aligned face crops in, one restored PNG per crop out).

Whole photos (the default) go through ``LAFRPipeline.restore_photo`` (``lafr.photos``): every face is
found, cut as FFHQ cut its faces, restored, and pasted back. The output folder is laid out as
GFPGAN's and CodeFormer's users expect::

    OUT/final_results/NAME.png       the photo, every face restored (in the photo's own form: grey,
                                     transparent, 16-bit grey), --upscale times the size
    OUT/cropped_faces/NAME_KK.png    face KK as the restorer saw it (the FFHQ crop at the working size)
    OUT/restored_faces/NAME_KK.png   face KK restored
    OUT/cmp/NAME_KK.png              the two side by side

A line per photo says how many faces were found and restored, and names each face left out with the
reason (too small, turned too far, found twice, not the centre face). Aligned crops (``--aligned``)
are restored whole, each written as OUT/NAME.png at its own size. Either way a file that cannot be
read is named and skipped (and the command exits non-zero); nothing is ever overwritten without
``--overwrite``, and an input never is. Taught in notebooks 05 (crops) and 07 (photos).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from lafr import config

PHOTO_FOLDERS = ("final_results", "cropped_faces", "restored_faces", "cmp")
PHOTO_ONLY = ("--detector", "--upscale", "--only-center-face", "--min-eye-distance")  # meaningless with --aligned


def _face_files(folder: Path, stem: str) -> list[Path]:
    """The faces an earlier run wrote for the photo ``stem`` in ``folder``: STEM_00.png, STEM_01.png, ...
    (never another photo's: "a_01_00.png" belongs to the photo "a_01", not to "a")."""
    pattern = re.compile(re.escape(stem) + r"_\d{2,}\.png")
    return sorted(p for p in folder.glob(f"{stem}_*.png") if pattern.fullmatch(p.name)) if folder.is_dir() else []


def _inputs(args) -> tuple[list[Path], list[Path]]:
    from lafr import data

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
    return files, input_folders


def _check_targets(files, input_folders, out: Path, aligned: bool, overwrite: bool) -> None:
    """Refuse an output folder among the inputs, two inputs written to one file, and (without
    ``overwrite``) any file that is already there."""
    places = [out] if aligned else [out, *(out / sub for sub in PHOTO_FOLDERS)]
    inputs_at = set(input_folders) | {f.resolve().parent for f in files}
    if any(p.resolve() in inputs_at for p in places):
        raise ValueError(
            f"{out}: is where inputs are; choose another output folder, so that no input can be overwritten"
        )
    targets = {}
    for f in files:
        targets.setdefault(f.stem, []).append(str(f))
    clashes = [f"{stem}.png <- {', '.join(v)}" for stem, v in targets.items() if len(v) > 1]
    if clashes:
        raise ValueError("several inputs would be written to the same file: " + "; ".join(clashes))
    if overwrite:
        return
    existing = []
    for stem in targets:
        if aligned:
            existing += [p for p in [out / f"{stem}.png"] if p.exists()]
        else:
            existing += [p for p in [out / "final_results" / f"{stem}.png"] if p.exists()]
            existing += [p for sub in PHOTO_FOLDERS[1:] for p in _face_files(out / sub, stem)]
    if existing:
        shown = ", ".join(map(str, existing[:5]))
        raise FileExistsError(f"would overwrite {shown}{' ...' if len(existing) > 5 else ''}; pass --overwrite")


def _skip(f, error, skipped) -> None:
    why = str(error) if str(f) in str(error) else f"{f}: {error}"
    skipped.append(why)
    print(f"lafr restore: skipped {why}", file=sys.stderr)


def _restore_crops(pipe, files, out, args, skipped) -> None:
    from tqdm.auto import tqdm

    from lafr import data

    bar = tqdm(total=len(files), desc="restoring", unit="image")
    for start in range(0, len(files), args.batch_size):
        chunk, images = files[start : start + args.batch_size], []
        for f in chunk:
            try:
                images.append((f, data.load_image(f)))
            # lafr.data.ImageError (a ValueError): unreadable, empty, not an image ... (its message names the file)
            except ValueError as e:
                _skip(f, e, skipped)
        if images:
            for (f, _), restored in zip(images, pipe([x for _, x in images])):
                data.save_image(restored, out / (f.stem + ".png"), overwrite=args.overwrite)
        bar.update(len(chunk))
    bar.close()


def _photo_line(name: str, result, smallest: float, min_eye_distance: float) -> str:
    """One log line: faces found and restored, each one left out with the reason, and, when the photo
    is too large to be searched for every face worth restoring, how small a face could be missed."""
    found, kept = len(result.faces), len(result.restored_faces)
    missed = (
        f" (here the detector finds faces down to eyes about {smallest:.0f} px apart; smaller ones may be missed)"
        if smallest > min_eye_distance
        else ""
    )
    if not found:
        return f"{name}: no face found{missed}; written unchanged (an aligned face crop? pass --aligned)"
    line = f"{name}: {found} face{'s' if found > 1 else ''} found, {kept} restored"
    left = [f"face {k:02d} at ({f.eyes[0]:.0f}, {f.eyes[1]:.0f}): {f.left_out}" for k, f in enumerate(result.faces)]
    left = [text for text, f in zip(left, result.faces) if f.left_out]
    return line + ("; left out: " + "; ".join(left) if left else "") + missed


def _restore_photos(pipe, files, out, args, skipped) -> None:
    import numpy as np

    from lafr import data, photos

    limits = {} if args.min_eye_distance is None else {"min_eye_distance": args.min_eye_distance}
    for f in files:
        try:
            photo, form = data.load_photo(f)
        except ValueError as e:  # lafr.data.ImageError names the file and the problem
            _skip(f, e, skipped)
            continue
        result = pipe.restore_photo(
            photo,
            upscale=1 if args.upscale is None else args.upscale,
            detector=args.detector or "hog",  # (the default, kept None so that --aligned can refuse it)
            only_center_face=args.only_center_face,
            batch_size=args.batch_size,
            **limits,
        )
        data.save_photo(result.photo, out / "final_results" / f"{f.stem}.png", form, overwrite=args.overwrite)
        for stale in (p for sub in PHOTO_FOLDERS[1:] for p in _face_files(out / sub, f.stem)):
            stale.unlink()  # only with --overwrite (checked before): an earlier run's faces of this photo
        numbers = [k for k, face in enumerate(result.faces) if not face.left_out]
        for k, crop, restored in zip(numbers, result.crops, result.restored):
            name = f"{f.stem}_{k:02d}.png"
            data.save_photo(crop, out / "cropped_faces" / name, overwrite=args.overwrite)
            data.save_photo(restored, out / "restored_faces" / name, overwrite=args.overwrite)
            data.save_photo(np.concatenate([crop, restored], axis=1), out / "cmp" / name, overwrite=args.overwrite)
        detector = args.detector or "hog"
        smallest = photos.smallest_eye_distance(photo.shape, detector)
        limit = photos.MIN_EYE_DISTANCE if args.min_eye_distance is None else args.min_eye_distance
        print(_photo_line(f.name, result, smallest, limit), flush=True)


def cmd_restore(args) -> int:
    """Restore the faces of whole photos (or, with ``--aligned``, aligned face crops)."""
    import torch

    from lafr.pipeline import LAFRPipeline

    out = Path(args.output).expanduser()
    given = [o for o in PHOTO_ONLY if getattr(args, o[2:].replace("-", "_")) not in (None, False)]
    if args.aligned and given:
        raise ValueError(f"{', '.join(given)}: for whole photos; --aligned crops are restored whole, without them")
    if args.upscale is not None and args.upscale < 1:
        raise ValueError(f"--upscale must be a whole number from 1, got {args.upscale}")
    files, input_folders = _inputs(args)
    _check_targets(files, input_folders, out, args.aligned, args.overwrite)
    cfg = config.get_profile(args.profile)
    dtype = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}[args.dtype]
    pipe = LAFRPipeline.from_pretrained(args.model or cfg.restorer_weights, device=args.device, dtype=dtype)
    skipped = []
    (_restore_crops if args.aligned else _restore_photos)(pipe, files, out, args, skipped)
    what = "aligned crop(s)" if args.aligned else "photo(s)"
    print(f"restored {len(files) - len(skipped)} of {len(files)} {what} into {out}")
    if skipped:
        print(f"lafr restore: {len(skipped)} input(s) skipped:\n  " + "\n  ".join(skipped), file=sys.stderr)
        return 1
    return 0
