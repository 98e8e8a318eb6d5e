"""The ``lafr`` command line.

    lafr tour      run every notebook headless in a profile, write executed copies and figures
    lafr profile   print a profile's values, each with the paper section it comes from

Later chapters add ``pretrain-toy``, ``train-adapter``, ``train-lora``, ``restore`` and ``evaluate``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from lafr import config


def _notebooks_dir() -> Path:
    """``./notebooks`` when run from the repository, else the one beside the installed package."""
    here = Path.cwd() / "notebooks"
    return here if here.is_dir() else Path(__file__).resolve().parents[1] / "notebooks"


def cmd_tour(args) -> int:
    """Execute notebooks with papermill in the chosen profile; print wall time and pass/fail."""
    folder = Path(args.notebooks_dir) if args.notebooks_dir else _notebooks_dir()
    notebooks = [Path(p) for p in args.notebooks] or sorted(folder.glob("[0-9][0-9]_*.ipynb"))
    if not notebooks:
        print(f"no notebooks found in {folder}", file=sys.stderr)
        return 2
    out = Path(args.out).expanduser() if args.out else Path(os.environ.get("LAFR_CACHE", Path.home() / ".cache" / "lafr")) / "tour"
    out.mkdir(parents=True, exist_ok=True)
    print(f"lafr tour: profile {args.profile}, {len(notebooks)} notebook(s), executed copies in {out}")
    failures = 0
    previous = os.environ.get("LAFR_PROFILE")
    os.environ["LAFR_PROFILE"] = args.profile  # the kernels inherit it
    try:
        for nb in notebooks:
            failures += _run_notebook(nb, out, args)
    finally:
        if previous is None:
            os.environ.pop("LAFR_PROFILE")
        else:
            os.environ["LAFR_PROFILE"] = previous
    print(f"{len(notebooks) - failures} passed, {failures} failed")
    return 1 if failures else 0


def _run_notebook(nb: Path, out: Path, args) -> int:
    """Run one notebook; print its wall time and status; return 1 if it failed."""
    import papermill

    start = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(nb), str(out / nb.name), parameters={"profile": args.profile},
            cwd=str(nb.resolve().parent), progress_bar=False, execution_timeout=args.timeout,
        )  # fmt: skip
        status, failed = "passed", 0
    except Exception as e:  # noqa: BLE001 - report every notebook, then fail at the end
        last = str(e).strip().splitlines()[-1][:200] if str(e).strip() else ""
        status, failed = f"FAILED ({type(e).__name__}: {last})", 1
    print(f"  {nb.name:<45} {time.perf_counter() - start:7.1f} s  {status}", flush=True)
    return failed


def cmd_profile(args) -> int:
    cfg = config.get_profile(args.name)
    print(f"profile {cfg.name!r}")
    for key, value in cfg.as_dict().items():
        if key != "name":
            paper = config.PAPER.as_dict()[key]
            note = config.source(key) if key in config.PAPER_SOURCES else ""
            differs = "" if value == paper or cfg is config.PAPER else f"   (paper: {paper!r})"
            print(f"  {key:<26} {value!r:<42}{differs}  {note}".rstrip())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lafr", description="LAFR, reproduced and taught: notebooks, training and restoration.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    tour = sub.add_parser("tour", help="run every notebook headless and write the figures")
    tour.add_argument("notebooks", nargs="*", help="notebooks to run (default: all in notebooks/)")
    tour.add_argument("--profile", default=os.environ.get("LAFR_PROFILE", "tiny"), choices=sorted(config.PROFILES))
    tour.add_argument("--out", help="folder for the executed copies (default: $LAFR_CACHE/tour or ~/.cache/lafr/tour)")
    tour.add_argument("--notebooks-dir", help="folder of notebooks (default: ./notebooks)")
    tour.add_argument("--timeout", type=int, default=1800, help="seconds allowed per cell (default 1800)")
    tour.set_defaults(func=cmd_tour)

    prof = sub.add_parser("profile", help="print a profile's values and where in the paper they come from")
    prof.add_argument("name", nargs="?", default=None, choices=sorted(config.PROFILES))
    prof.set_defaults(func=cmd_profile)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
