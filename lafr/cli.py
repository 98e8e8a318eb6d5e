"""The ``lafr`` command line.

    lafr tour      run every notebook headless in a profile, write executed copies and figures
    lafr profile   print a profile's values, each labelled: the paper's (quoted), another work's, or ours

    lafr pretrain-toy   make the tiny profile's toy models and loss networks
    lafr train-adapter  stage 1: the latent alignment adapter
    lafr train-lora     stage 2: conv-only LoRA on the pruned one-step UNet

    lafr restore        restore every face of whole photos (or aligned crops) with a trained system
    lafr evaluate       judge restored faces: against ground truth, or no-reference

This module holds the commands' flags (``build_parser``), ``tour`` and ``profile``; the other
commands live beside it: ``lafr.cli_train``, ``lafr.cli_restore`` and ``lafr.cli_evaluate``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from lafr import cli_evaluate, cli_restore, cli_train, config


def _add_set(parser) -> None:
    """The training commands' ``--set NAME=VALUE`` (``config.parse_overrides``)."""
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a profile value, e.g. --set resolution=256 --set train_images=100 (repeatable; the manifest "
        "records it)",
    )


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def _notebooks_dir() -> Path:
    """``./notebooks`` when run from the repository, else the one beside the installed package."""
    here = Path.cwd() / "notebooks"
    return here if here.is_dir() else Path(__file__).resolve().parents[1] / "notebooks"


def cmd_tour(args) -> int:
    """Execute notebooks with papermill in the chosen profile; print wall time and pass/fail."""
    folder = Path(args.notebooks_dir) if args.notebooks_dir else _notebooks_dir()
    notebooks = [Path(p) for p in args.notebooks] or sorted(folder.glob("[0-9][0-9]_*.ipynb"))
    if not notebooks:
        raise FileNotFoundError(f"no notebooks found in {folder}")
    missing = [str(nb) for nb in notebooks if not nb.is_file()]
    if missing:
        raise FileNotFoundError(f"notebook(s) not found: {', '.join(missing)}")
    out = (
        Path(args.out).expanduser()
        if args.out
        else Path(os.environ.get("LAFR_CACHE", Path.home() / ".cache" / "lafr")) / "tour"
    )
    out.mkdir(parents=True, exist_ok=True)
    args.parameters = {"profile": args.profile, **_parse_params(args.param)}
    if args.set:
        settings = config.parse_overrides(args.set)
        config.get_profile(args.profile, **settings)  # a wrong value stops here, not in a kernel
        # papermill writes lists, not tuples, into the parameters cell; Profile.replace turns them back
        args.parameters["settings"] = {k: list(v) if isinstance(v, tuple) else v for k, v in settings.items()}
    args.accepts = _notebook_parameters(notebooks, args.parameters)
    unknown = sorted(set(args.parameters) - set().union(*args.accepts.values()))
    if unknown:
        known = ", ".join(sorted(set().union(*args.accepts.values())))
        raise ValueError(f"-p {', '.join(unknown)}: no such parameter in these notebooks; they take: {known}")
    print(f"lafr tour: profile {args.profile}, {len(notebooks)} notebook(s), executed copies in {out}")
    if len(args.parameters) > 1:
        print("  parameters: " + ", ".join(f"{k}={v!r}" for k, v in args.parameters.items() if k != "profile"))
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


def _notebook_parameters(notebooks, wanted) -> dict:
    """Each notebook's parameter names (its ``parameters`` cell, as papermill reads it)."""
    try:
        import papermill
    except ImportError:
        return {nb: set(wanted) for nb in notebooks}  # _run_notebook says how to install papermill
    return {nb: set(papermill.inspect_notebook(str(nb))) for nb in notebooks}


def _parse_params(pairs) -> dict:
    """``["n_faces=4", "adapter_weights=runs/a"]`` -> ``{"n_faces": 4, "adapter_weights": "runs/a"}``: notebook
    parameters (``-p``, as papermill's), each a Python literal, else a string."""
    import ast

    out = {}
    for pair in pairs or ():
        key, sep, text = pair.partition("=")
        if not sep or not key.strip().isidentifier():
            raise ValueError(f"-p {pair!r}: expected NAME=VALUE with NAME a notebook parameter")
        try:
            out[key.strip()] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            out[key.strip()] = text
    return out


def _failed_cells(executed: Path) -> list[str]:
    """'cell N (its first line): Error: message' for each code cell of an executed notebook that raised; N counts
    the notebook's own cells from 1, as a reader finds them (the cells papermill adds are skipped)."""
    import nbformat

    cells = [
        c
        for c in nbformat.read(executed, as_version=4).cells
        if not {"injected-parameters", "papermill-error-cell-tag"} & set(c.metadata.get("tags", []))  # papermill's
    ]
    said = []
    for number, cell in enumerate(cells, 1):
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if output.get("output_type") == "error":
                message = (output.get("evalue") or "").strip().splitlines()
                first = next((line.strip() for line in cell.source.splitlines() if line.strip()), "")
                said.append(f"cell {number} ({first[:60]}): {output['ename']}: {message[0][:160] if message else ''}")
    return said


def _run_notebook(nb: Path, out: Path, args) -> int:
    """Run one notebook; print its wall time and status (with --keep-going, every failing cell); return 1 if it
    failed."""
    try:
        import papermill
    except ImportError:
        raise ModuleNotFoundError(
            "lafr tour runs the notebooks with papermill: pip install 'lafr[dev]' (or pip install papermill)"
        ) from None

    start = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(nb),
            str(out / nb.name),
            parameters={
                k: v for k, v in args.parameters.items() if k in args.accepts[nb]
            },  # each -p only where the notebook has it
            cwd=str(nb.resolve().parent),
            progress_bar=False,
            execution_timeout=args.timeout,
            allow_errors=args.keep_going,  # nbclient runs the remaining cells; papermill still raises at the end
        )
        status, failed = "passed", 0
    except Exception as e:  # noqa: BLE001 - report every notebook, then fail at the end
        last = str(e).strip().splitlines()[-1][:200] if str(e).strip() else ""
        status, failed = f"FAILED ({type(e).__name__}: {last})", 1
    print(f"  {nb.name:<45} {time.perf_counter() - start:7.1f} s  {status}", flush=True)
    if failed and args.keep_going and (out / nb.name).is_file():
        for line in _failed_cells(out / nb.name):
            print(f"      {line}", flush=True)
    return failed


def cmd_profile(args) -> int:
    """Print a profile's values, each labelled with where it comes from (``config.origin``)."""
    cfg = config.get_profile(args.name)
    print(f"profile {cfg.name!r}; each value is labelled with where it comes from:")
    for kind, meaning in config.ORIGINS.items():
        print(f"  {'[' + kind + ']':<13} {meaning}")
    print()
    for key, value in cfg.as_dict().items():
        if key == "name":
            continue
        kind, note = config.origin(key)
        paper_value = getattr(config.PAPER, key)
        if value != paper_value:  # a value of this profile's own; the label is the paper profile's
            kind, note = "ours", f"this profile's; the paper profile's {paper_value!r} is [{kind}] {note}"
        print(f"  {key:<26} {value!r:<40} {'[' + kind + ']':<13} {note}".rstrip())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lafr", description="LAFR, reproduced and taught: notebooks, training and restoration."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    tour = sub.add_parser("tour", help="run every notebook headless and write the figures")
    tour.add_argument("notebooks", nargs="*", help="notebooks to run (default: all in notebooks/)")
    tour.add_argument("--profile", default=os.environ.get("LAFR_PROFILE", "tiny"), choices=sorted(config.PROFILES))
    tour.add_argument("--out", help="folder for the executed copies (default: $LAFR_CACHE/tour or ~/.cache/lafr/tour)")
    tour.add_argument("--notebooks-dir", help="folder of notebooks (default: ./notebooks)")
    tour.add_argument("--timeout", type=int, default=1800, help="seconds allowed per cell (default 1800)")
    tour.add_argument(
        "--set",
        action="append",
        metavar="NAME=VALUE",
        help="change a profile value in every notebook (their `settings` parameter), e.g. --set resolution=256",
    )
    tour.add_argument(
        "-p",
        "--param",
        action="append",
        metavar="NAME=VALUE",
        help="set a notebook parameter (a Python literal, else a string), e.g. -p n_faces=16",
    )
    tour.add_argument(
        "--keep-going",
        action="store_true",
        help="run every cell even after one fails, and list each failing cell (the notebook still counts as failed)",
    )
    tour.set_defaults(func=cmd_tour)

    pre = sub.add_parser(
        "pretrain-toy", help="train the tiny profile's toy VAE and diffusion prior (hours on a CPU, minutes on a GPU)"
    )
    pre.add_argument(
        "--out",
        default=cli_train.TOY_OUT,
        help="folder to write (default: the committed toy models' folder; "
        "for --stage identity or structure, lafr/weights/toy_identity or toy_structure)",
    )
    pre.add_argument("--device", default="cuda" if _cuda() else "cpu")
    pre.add_argument("--seed", type=int, default=1)
    pre.add_argument("--faces", type=int, default=20_000, help="synthetic HQ faces to train on")
    pre.add_argument("--vae-steps", type=int, default=20_000)
    pre.add_argument("--vae-batch", type=int, default=32)
    pre.add_argument("--vae-lr", type=float, default=1e-3)
    pre.add_argument("--prior-steps", type=int, default=20_000)
    pre.add_argument("--prior-batch", type=int, default=64)
    pre.add_argument("--prior-lr", type=float, default=2e-4)
    pre.add_argument("--time-limit", type=float, help="minutes per stage; stops early and records the steps done")
    pre.add_argument("--decoder-steps", type=int, default=6000)
    pre.add_argument("--decoder-batch", type=int, default=16)
    pre.add_argument("--decoder-lr", type=float, default=2e-4)
    pre.add_argument(
        "--decoder-region-weight", type=float, default=4.0, help="extra loss weight inside the eye and mouth boxes"
    )
    pre.add_argument(
        "--identities", type=int, default=4000, help="--stage identity/structure: synthetic people to train on"
    )
    pre.add_argument("--views", type=int, default=6, help="--stage identity/structure: views of each person")
    pre.add_argument("--net-steps", type=int, default=2000, help="--stage identity/structure: training steps")
    pre.add_argument("--net-batch", type=int, default=128)
    pre.add_argument(
        "--render-share",
        type=float,
        default=0.5,
        help="--stage identity/structure: share of the training faces shown as the toy VAE renders them",
    )
    pre.add_argument("--net-lr", type=float, default=2e-3)
    pre.add_argument(
        "--stage",
        choices=("all", "prior", "decoder", "identity", "structure"),
        default="all",
        help="'prior': keep the VAE saved in --out and train only the prior; "
        "'decoder': fine-tune only the VAE's decoder (the latent space stays); "
        "'identity', 'structure': the loss's toy identity encoder or structure network (notebook 04)",
    )
    pre.add_argument(
        "--resume", action="store_true", help="with --stage prior: continue the prior's training from its saved state"
    )
    pre.add_argument("--overwrite", action="store_true", help="replace existing toy models in --out")
    pre.set_defaults(func=cli_train.cmd_pretrain_toy)

    ta = sub.add_parser("train-adapter", help="stage 1: train the latent alignment adapter (L1 to the HQ latents)")
    ta.add_argument("--profile", default=os.environ.get("LAFR_PROFILE", "tiny"), choices=sorted(config.PROFILES))
    ta.add_argument("--data", help="a folder of aligned HQ faces (default: the profile's training faces)")
    ta.add_argument("--out", required=True, help="folder for the checkpoint, loss.csv, the adapter and its manifest")
    ta.add_argument("--resume", action="store_true", help="continue from --out/checkpoint.safetensors")
    ta.add_argument("--model", help="base model: hub id or local folder (default: the profile's)")
    ta.add_argument(
        "--device",
        default="cuda" if _cuda() else "cpu",
        help="where the VAE encodes the faces (training itself uses a GPU when accelerate finds one)",
    )
    ta.add_argument("--views", type=int, help="degraded versions of each training face (default: the profile's)")
    ta.add_argument("--epochs", type=int, help="override the profile's stage-1 epochs")
    ta.add_argument("--lr", type=float, help="override the profile's stage-1 learning rate")
    ta.add_argument("--soft", action="store_true", help="soft argmin instead of straight-through (A.2.2 gives both)")
    ta.add_argument(
        "--residual",
        action="store_true",
        help="ablation, not the paper's method: add z_LQ to the adapter's output (a skip connection)",
    )
    ta.add_argument("--stop-after", type=int, help="stop after this many steps (resume later with --resume)")
    ta.add_argument("--eval-faces", type=int, default=128, help="held-out faces to evaluate on")
    _add_set(ta)
    ta.set_defaults(func=cli_train.cmd_train_adapter)

    tl = sub.add_parser(
        "train-lora", help="stage 2: conv-only LoRA on the pruned one-step UNet, with the multilevel loss"
    )
    tl.add_argument("--profile", default=os.environ.get("LAFR_PROFILE", "tiny"), choices=sorted(config.PROFILES))
    tl.add_argument(
        "--out", required=True, help="folder for the checkpoint, loss.csv and the trained system (out/system)"
    )
    tl.add_argument("--data", help="a folder of aligned HQ faces (default: the profile's training faces)")
    tl.add_argument("--model", help="base model: hub id or local folder (default: the profile's)")
    tl.add_argument(
        "--adapter", help="stage-1 adapter folder or built-in name (default: the profile's); 'none' trains without one"
    )
    tl.add_argument(
        "--targets",
        choices=("conv", "attention"),
        default="conv",
        help="LoRA on the convolutions (the paper's) or the attention projections (Table 7)",
    )
    tl.add_argument(
        "--terms",
        nargs="+",
        choices=("res", "id", "fs"),
        default=["res", "id", "fs"],
        help="loss levels to train with (Table 5)",
    )
    tl.add_argument("--id-form", choices=("cosine", "l2"), default="cosine")
    tl.add_argument("--fs-form", choices=("cosine", "l2"), default="cosine")
    tl.add_argument("--timestep", type=int, help="override the profile's fixed timestep")
    tl.add_argument("--rank", type=int, help="override the profile's LoRA rank")
    tl.add_argument("--steps", type=int, help="override the profile's stage-2 steps")
    tl.add_argument("--batch-size", type=int, help="override the profile's stage-2 batch size")
    tl.add_argument("--lr", type=float, help="override the profile's stage-2 learning rate")
    tl.add_argument(
        "--views", type=int, help="degraded versions of each training face (default: the profile's stage1_views)"
    )
    tl.add_argument(
        "--device",
        default="cuda" if _cuda() else "cpu",
        help="where the models load (training uses a GPU when accelerate finds one)",
    )
    tl.add_argument("--resume", action="store_true", help="continue from --out/checkpoint.safetensors")
    tl.add_argument("--stop-after", type=int, help="stop after this many steps (resume later with --resume)")
    tl.add_argument("--eval-faces", type=int, default=128, help="held-out faces to judge the restorer on")
    _add_set(tl)
    tl.add_argument(
        "--seed",
        type=int,
        help="training seed: LoRA's random start and the batch order (default: the profile's "
        "seed; the training pairs and held-out faces always use the profile's seed)",
    )
    tl.add_argument(
        "--grad-accum", type=int, default=1, help="micro-batches per optimizer step (--steps counts micro-batches)"
    )
    tl.add_argument(
        "--mixed-precision",
        choices=("no", "fp16", "bf16"),
        default="no",
        help="accelerate's autocast for the forward pass",
    )
    tl.add_argument(
        "--gradient-checkpointing",
        action="store_true",
        help="recompute UNet and decoder activations in the backward pass (less memory)",
    )
    tl.add_argument(
        "--lora-dtype",
        choices=("float32", "float16"),
        default="float32",
        help="dtype of the saved LoRA weights (float16 halves the file; "
        "the manifest's numbers are measured after saving)",
    )
    tl.set_defaults(func=cli_train.cmd_train_lora)

    rs = sub.add_parser(
        "restore",
        help="restore every face of whole photos (or, with --aligned, aligned face crops)",
        description="Restore faces with a trained LAFR system. By default each input is a whole photo: every "
        "face is found (dlib), cut as FFHQ cut its faces, restored and pasted back, and OUT holds "
        "final_results/ (the photos), cropped_faces/, restored_faces/ and cmp/ (side by side). With --aligned "
        "each input is already an aligned, square face crop (FFHQ-style) and is restored whole into OUT/NAME.png.",
    )
    rs.add_argument("inputs", nargs="+", help="image files and folders of images")
    rs.add_argument("-o", "--output", required=True, help="output folder (must not be an input folder)")
    rs.add_argument(
        "--aligned", action="store_true", help="the inputs are aligned face crops: restore each whole, no detection"
    )
    rs.add_argument("--profile", default=os.environ.get("LAFR_PROFILE", "tiny"), choices=sorted(config.PROFILES))
    rs.add_argument(
        "--model", help="a trained system (the out/system folder of `lafr train-lora`); default: the profile's"
    )
    rs.add_argument(
        "--detector",
        choices=("hog", "cnn"),
        help="hog (default): dlib's HOG detector, fast, doubtful faces confirmed by its CNN, finds faces down to "
        "eyes about 15 px apart; cnn: dlib's CNN (mmod) detector over the whole photo, in tiles, about 10 s per "
        "megapixel on a CPU, down to eyes about 30 px apart",
    )
    rs.add_argument("--only-center-face", action="store_true", help="restore only the face nearest the centre")
    rs.add_argument(
        "--min-eye-distance",
        type=float,
        help="leave faces whose eyes are closer than this many pixels as they are (listed in the log); "
        "default: lafr.photos.MIN_EYE_DISTANCE, 16",
    )
    rs.add_argument(
        "--upscale", type=int, help="enlarge the photo N times (background: Lanczos; faces: restored); default 1"
    )
    rs.add_argument("--device", default="cuda" if _cuda() else "cpu")
    rs.add_argument("--dtype", choices=("float32", "float16", "bfloat16"), default="float32")
    rs.add_argument("--batch-size", type=int, default=8, help="faces restored at once")
    rs.add_argument(
        "--overwrite",
        action="store_true",
        help="replace existing files in the output folder (inputs are never replaced)",
    )
    rs.set_defaults(func=cli_restore.cmd_restore)

    ev = sub.add_parser(
        "evaluate",
        help="judge restored faces: metrics against ground truth (paired by name), or no-reference",
        description="Every available full-reference metric (PSNR, SSIM, LPIPS, DISTS, Deg, LMD) when --gt is given, "
        "every available no-reference metric otherwise. Metrics whose weights cannot be had are listed "
        "as not measured, with the reason.",
    )
    ev.add_argument("restored", help="folder of restored images")
    ev.add_argument(
        "--gt", help="folder of ground-truth images, paired with the restored ones by file name (extension aside)"
    )
    ev.add_argument("--metrics", nargs="+", help="metric names (default: all that apply); see lafr.metrics")
    ev.add_argument(
        "--fid-reference",
        help="FID's reference set: a folder of images (default: the --gt folder); "
        "FID-F is always against FFHQ's statistics",
    )
    ev.add_argument("--out", default="results.csv", help="CSV of per-image values (default results.csv)")
    ev.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    ev.add_argument(
        "--profile",
        default=os.environ.get("LAFR_PROFILE", "tiny"),
        choices=sorted(config.PROFILES),
        help="whose loss networks must not judge (checked)",
    )
    ev.add_argument("--device", default="cuda" if _cuda() else "cpu")
    ev.set_defaults(func=cli_evaluate.cmd_evaluate)

    prof = sub.add_parser(
        "profile", help="print a profile's values and where each comes from (the paper, another work, or us)"
    )
    prof.add_argument("name", nargs="?", default=None, choices=sorted(config.PROFILES))
    prof.set_defaults(func=cmd_profile)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(argv) if argv is not None else sys.argv[1:]
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return args.func(args)
    except Exception as e:  # noqa: BLE001 - expected failures get their message; anything else is a bug
        if not isinstance(e, _expected_errors()):
            raise
        print(f"lafr {args.command}: error: {e}", file=sys.stderr)
        return 2


def _expected_errors() -> tuple[type[Exception], ...]:
    """Failures a user can cause and fix (bad input, missing weights, files or datasets), which
    ``main`` reports as one message: OSError covers lafr.models.ModelNotFoundError, ValueError
    covers lafr.data.ImageError and bad values, ModuleNotFoundError an optional package that is
    not installed.  lafr.datasets is not imported when it has not been used, so neither can its
    DatasetError have been raised."""
    datasets = sys.modules.get("lafr.datasets")
    return (OSError, ValueError, ModuleNotFoundError) + ((datasets.DatasetError,) if datasets else ())


if __name__ == "__main__":
    sys.exit(main())
