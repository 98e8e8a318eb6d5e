"""The ``lafr`` command line.

    lafr tour      run every notebook headless in a profile, write executed copies and figures
    lafr profile   print a profile's values, each labelled: the paper's (quoted), another work's, or ours

    lafr pretrain-toy   make the tiny profile's toy models and loss networks
    lafr train-adapter  stage 1: the latent alignment adapter
    lafr train-lora     stage 2: conv-only LoRA on the pruned one-step UNet

    lafr restore        restore aligned face crops with a trained system

A later chapter adds ``evaluate``.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from pathlib import Path

from lafr import config


_TOY_OUT = str(Path(__file__).resolve().parent / "weights" / "toy")


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
    try:
        import papermill
    except ImportError:
        raise ModuleNotFoundError("lafr tour runs the notebooks with papermill: pip install 'lafr[dev]' (or pip install papermill)") from None

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


def cmd_pretrain_toy(args) -> int:
    from lafr.pretrain import pretrain_toy

    if args.device.startswith("cuda"):
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    out = Path(args.out)
    if args.resume and args.stage != "prior":
        raise ValueError("--resume continues the prior's training: use it with --stage prior")
    if args.stage in ("prior", "decoder") and not ((out / "vae" / "config.json").is_file() and (out / "manifest.json").is_file()):
        raise FileNotFoundError(
            f"{out} holds no toy VAE (vae/config.json and manifest.json); --stage {args.stage} starts from the VAE "
            f"saved there. Make one first with `lafr pretrain-toy --out {out}`, or point --out at a folder that has one."
        )
    if args.resume:
        from lafr.pretrain import prior_state_file

        state = prior_state_file()
        if not state.is_file():
            raise FileNotFoundError(f"{state}: no prior training state to resume from; run without --resume")
    if args.stage in ("identity", "structure"):
        from lafr.facenets import pretrain_toy_network

        pretrain_toy_network(args.stage, None if args.out == _TOY_OUT else out, device=args.device, seed=args.seed,
                             identities=args.identities, views=args.views, steps=args.net_steps, batch=args.net_batch,
                             lr=args.net_lr, time_limit=args.time_limit * 60 if args.time_limit else None)  # fmt: skip
        return 0
    if args.stage == "decoder":
        from lafr.pretrain import finetune_toy_decoder

        finetune_toy_decoder(out, device=args.device, seed=args.seed, faces=args.faces, steps=args.decoder_steps,
                             batch=args.decoder_batch, lr=args.decoder_lr, region_weight=args.decoder_region_weight,
                             time_limit=args.time_limit * 60 if args.time_limit else None)  # fmt: skip
        return 0
    if args.stage == "all" and out.exists() and any(out.iterdir()) and not args.overwrite:
        raise FileExistsError(f"{out} is not empty; pass --overwrite to replace the toy models there")
    pretrain_toy(
        out, device=args.device, seed=args.seed, faces=args.faces,
        vae_steps=args.vae_steps, vae_batch=args.vae_batch, vae_lr=args.vae_lr,
        prior_steps=args.prior_steps, prior_batch=args.prior_batch, prior_lr=args.prior_lr,
        time_limit=args.time_limit * 60 if args.time_limit else None, stage=args.stage, resume=args.resume,
    )  # fmt: skip
    return 0


def _training_faces_and_model(args, cfg):
    """For the training commands: check that --resume has a checkpoint, then load the training faces
    (uint8; before the models, so a bad folder fails fast), and name the base model (--model, else
    LAFR_BASE_MODEL, else the profile's, as ModelNotFoundError advises)."""
    import torch

    from lafr import data, train

    if args.resume and not (Path(args.out) / "checkpoint.safetensors").is_file():  # where both trainers save it
        raise FileNotFoundError(f"{Path(args.out) / 'checkpoint.safetensors'}: no checkpoint to resume from; run without --resume")
    if args.data:
        folder = data.FaceFolder(args.data, cfg.resolution)
        faces = train.to_uint8(torch.stack([folder[i]["hq"] for i in range(len(folder))]))
    else:
        faces = train.training_faces(cfg)
    return faces, args.model or os.environ.get("LAFR_BASE_MODEL") or cfg.base_model


def cmd_train_adapter(args) -> int:
    """Stage 1: encode the training faces and their degraded versions, train the adapter, report."""
    import json

    import torch

    from lafr import models, train
    from lafr.pretrain import _git_version

    cfg = config.get_profile(args.profile)
    if args.epochs is not None:
        cfg = cfg.replace(stage1_epochs=args.epochs)
    if args.lr is not None:
        cfg = cfg.replace(stage1_lr=args.lr)
    if args.soft:
        cfg = cfg.replace(argmin_straight_through=False)
    start = time.perf_counter()
    faces, model = _training_faces_and_model(args, cfg)
    base = models.load_base(model, prompt=cfg.prompt, device=args.device)
    views = args.views or cfg.stage1_views
    print(f"stage 1, profile {cfg.name}: {len(faces)} training faces x {views} degraded views")
    z_lq, z_hq = train.latent_pairs(base.vae, faces, cfg.degradation, views=views, seed=cfg.seed)
    overrides = {"residual": True} if args.residual else {}
    adapter, history = train.train_adapter(cfg, z_lq, z_hq, args.out, resume=args.resume, stop_after=args.stop_after,
                                           adapter_overrides=overrides)  # fmt: skip
    if not (Path(args.out) / "adapter").is_dir():  # train_adapter saves the adapter only when it finishes
        print(f"stopped after step {history[-1]['step'] if history else 0}; continue with --resume")
        return 0
    _, t_lq, t_hq = train.heldout_pairs(base.vae, cfg, args.eval_faces)
    trained_on = next(adapter.parameters()).device  # accelerate picks it: a GPU when there is one
    result = train.evaluate_adapter(adapter, t_lq.to(trained_on), t_hq.to(trained_on))
    quality = {k: round(v, 4) if isinstance(v, float) else v for k, v in result.items() if k not in ("aligned", "counts")}
    manifest = {
        "command": "lafr " + shlex.join(args.argv),
        "profile": cfg.name, "seed": cfg.seed, "code_version": _git_version(), "torch": torch.__version__,
        "device": str(trained_on.type), "vae_device": args.device, "training_pairs": len(z_lq), "views": views, "lr_schedule": cfg.stage1_lr_schedule, "epochs": cfg.stage1_epochs,
        "batch_size": cfg.stage1_batch_size, "lr": cfg.stage1_lr, "seconds": round(time.perf_counter() - start, 1),
        "adapter": dict(adapter.config), "parameters": adapter.parameter_table()["total"],
        "heldout": f"{args.eval_faces} faces of {cfg.eval_faces!r}, one degraded view each", "quality": quality,
    }  # fmt: skip
    (Path(args.out) / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"held-out latent L1 to HQ: LQ {quality['l1_lq']:.4f} -> aligned {quality['l1_aligned']:.4f} "
          f"({100 * quality['reduction']:.1f}% lower); codebook: {quality['used']} entries used, perplexity {quality['perplexity']:.1f}")
    return 0


def _machine(device) -> str:
    """What a training run ran on, for its manifest: the GPU's name, or the CPU cores and threads used."""
    import platform

    import torch

    if torch.device(device).type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{platform.machine()} CPU, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads"


def cmd_train_lora(args) -> int:
    """Stage 2: attach conv-only LoRA to the pruned one-step UNet, train it with the multilevel loss,
    judge the restorer on held-out faces, and write a manifest."""
    import json

    import torch

    from lafr import data, losses, models, pipeline, train, unet as unet_mod
    from lafr.pretrain import _git_version

    cfg = config.get_profile(args.profile)
    changes = {k: v for k, v in {"stage2_steps": args.steps, "stage2_batch_size": args.batch_size, "stage2_lr": args.lr,
                                  "timestep": args.timestep, "lora_rank": args.rank}.items() if v is not None}  # fmt: skip
    cfg = cfg.replace(**changes)
    start = time.perf_counter()
    faces, model = _training_faces_and_model(args, cfg)
    adapter = None if args.adapter == "none" else train.load_trained_adapter(args.adapter or cfg.adapter_weights)[0].eval()
    names = unet_mod.CONV_NAMES if args.targets == "conv" else unet_mod.ATTENTION_NAMES
    base = models.load_base(model, prompt=cfg.prompt, device=args.device)
    seed = cfg.seed if args.seed is None else args.seed
    pipe = pipeline.LAFRPipeline.from_base(base, cfg.timestep, cfg.resolution, adapter=adapter, lora_rank=cfg.lora_rank,
                                           lora_names=names, lora_seed=seed)  # fmt: skip
    if adapter is not None:
        adapter.to(args.device)
    views = args.views or cfg.stage1_views
    print(f"stage 2, profile {cfg.name}: {len(faces)} training faces x {views} degraded views; t = {cfg.timestep}; "
          f"LoRA rank {cfg.lora_rank} on {args.targets} layers ({unet_mod.trainable_parameters(pipe.unet):,} parameters); "
          f"terms {', '.join(args.terms)}; adapter: {'yes' if adapter is not None else 'no'}")
    z_in = train.stage2_inputs(pipe, faces, cfg.degradation, views=views, seed=cfg.seed)
    loss = losses.build_loss(cfg, device=args.device, terms=tuple(args.terms), id_form=args.id_form, fs_form=args.fs_form)
    adapter_name = args.adapter or cfg.adapter_weights if adapter is not None else None
    history = train.train_lora(cfg, pipe, loss, z_in, faces, args.out, seed=seed, resume=args.resume, stop_after=args.stop_after,
                               adapter_name=adapter_name if adapter_name in train.TOY_ADAPTERS else None,
                               lora_dtype=getattr(torch, args.lora_dtype), grad_accum=args.grad_accum,
                               mixed_precision=args.mixed_precision, gradient_checkpointing=args.gradient_checkpointing)  # fmt: skip
    if not (Path(args.out) / "system").is_dir():
        print(f"stopped after step {history[-1]['step'] if history else 0}; continue with --resume")
        return 0
    hq, z_lq, _ = train.heldout_pairs(pipe.vae, cfg, args.eval_faces)
    landmarks = data.face_landmarks(cfg.eval_faces, args.eval_faces, cfg.resolution, seed=cfg.seed)
    lq_images = train.heldout_lq_images(hq, cfg)
    judge = losses.build_loss(cfg, device=args.device)  # every term, whatever trained
    trained = unet_mod.trainable_parameters(pipe.unet)
    pipe = pipeline.LAFRPipeline.from_pretrained(Path(args.out) / "system", device=args.device)  # judge what was saved
    with torch.no_grad():
        restored = (pipe.decode(pipe.restore_latents(z_lq, batch_size=16), batch_size=16).cpu() + 1) / 2
    quality = {"restored": train.evaluate_restorer(restored, hq, landmarks, judge),
               "lq_image": train.evaluate_restorer(lq_images, hq, landmarks, judge)}  # fmt: skip
    manifest = {
        "command": "lafr " + shlex.join(args.argv), "profile": cfg.name, "seed": seed, "data_seed": cfg.seed, "code_version": _git_version(),
        "torch": torch.__version__, "device": str(pipe.device), "machine": _machine(pipe.device), "training_faces": len(faces), "views": views,
        "steps": cfg.stage2_steps, "batch_size": cfg.stage2_batch_size, "grad_accum": args.grad_accum,
        "mixed_precision": args.mixed_precision, "lr": cfg.stage2_lr, "timestep": cfg.timestep,
        "lora": {"rank": cfg.lora_rank, "targets": args.targets, "parameters": trained},
        "terms": args.terms, "id_form": args.id_form, "fs_form": args.fs_form, "adapter": args.adapter or cfg.adapter_weights,
        "seconds": round(time.perf_counter() - start, 1),
        "heldout": f"{args.eval_faces} faces of {cfg.eval_faces!r}, one degraded view each", "quality": quality,
    }  # fmt: skip
    (Path(args.out) / "system" / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    r, q = quality["restored"], quality["lq_image"]
    print(f"held-out PSNR: restored {r['psnr_face']:.2f} dB (eyes {r['psnr_eyes']:.2f}), LQ image {q['psnr_face']:.2f} dB "
          f"(eyes {q['psnr_eyes']:.2f}); the trained system is in {Path(args.out) / 'system'}")
    return 0


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
        raise ValueError(f"{out}: is where inputs are; choose another output folder, so that no input can be overwritten")
    targets = {}
    for f in files:
        targets.setdefault(out / (f.stem + ".png"), []).append(str(f))
    clashes = [f"{t.name} <- {', '.join(v)}" for t, v in targets.items() if len(v) > 1]
    if clashes:
        raise ValueError("several inputs would be written to the same file: " + "; ".join(clashes))
    existing = [str(t) for t in targets if t.exists()]
    if existing and not args.overwrite:
        raise FileExistsError(f"would overwrite {', '.join(existing[:5])}{' ...' if len(existing) > 5 else ''}; pass --overwrite")
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
            except ValueError as e:  # lafr.data.ImageError: unreadable, empty, not an image ... (its message names the file)
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


def _by_stem(files, folder) -> dict:
    """Files by name without extension; two files with one name (a.png, a.jpg) are an error."""
    seen = {}
    for f in files:
        seen.setdefault(f.stem, []).append(f.name)
    twins = [" and ".join(v) for v in seen.values() if len(v) > 1]
    if twins:
        raise ValueError(f"{folder}: several files share a name (extension aside), so pairing is ambiguous: {'; '.join(twins)}")
    return {f.stem: f for f in files}


def cmd_evaluate(args) -> int:
    """Judge restored faces: full-reference metrics against a ground-truth folder (files paired by
    name), or no-reference metrics alone; a markdown table printed, a CSV written."""
    from tqdm.auto import tqdm

    from lafr import data, metrics

    restored_files = data.list_images(args.restored) if Path(args.restored).is_dir() else None
    if restored_files is None:
        raise FileNotFoundError(f"{args.restored}: not a folder of images")
    if not restored_files:
        raise ValueError(f"{args.restored}: no image files ({', '.join(data.IMAGE_EXTENSIONS)})")
    if args.device.startswith("cuda") and not _cuda():
        raise ValueError(f"--device {args.device}: no CUDA GPU here; use --device cpu")
    mine = _by_stem(restored_files, args.restored)
    pairs = [(f, None) for f in restored_files]
    if args.gt:
        if not Path(args.gt).is_dir():
            raise FileNotFoundError(f"{args.gt}: not a folder of images")
        gt = _by_stem(data.list_images(args.gt), args.gt)
        missing, extra = sorted(set(mine) - set(gt)), sorted(set(gt) - set(mine))
        if missing or extra:
            raise ValueError("restored and ground-truth files must pair by name (without extension): "
                             + (f"no ground truth for {', '.join(missing)}" if missing else "")
                             + ("; " if missing and extra else "")
                             + (f"nothing restored for {', '.join(extra)}" if extra else ""))  # fmt: skip
        pairs = [(mine[k], gt[k]) for k in sorted(mine)]
    default = metrics.FULL_REFERENCE + metrics.SET_METRICS if args.gt else metrics.NO_REFERENCE + ("fid_ffhq",) + (("fid",) if args.fid_reference else ())
    names = args.metrics or list(default)
    needs_gt = [n for n in names if n not in metrics.NO_REFERENCE + ("fid_ffhq",) and not (n == "fid" and args.fid_reference)]
    if not args.gt and needs_gt:
        raise ValueError(f"{', '.join(needs_gt)} {'need' if len(needs_gt) > 1 else 'needs'} ground truth: pass --gt FOLDER")
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
    sizes = [f"{k}: restored {tuple(x.shape[-2:])}, ground truth {tuple(y.shape[-2:])}" for k, x, y in zip(keys, images, refs) if x.shape != y.shape]
    if sizes:
        raise ValueError(f"{len(sizes)} pair(s) differ in size (restore at the ground truth's size):\n  " + "\n  ".join(sizes))
    suite = metrics.Suite(names, device=args.device, identity_net=config.get_profile(args.profile).identity_metric_net,
                          fid_reference=args.fid_reference)
    metrics.check_judges(config.get_profile(args.profile), suite)
    ref = suite.reference(refs, keys)
    result = suite.evaluate(images, ref, label=Path(args.restored).name, progress=True)
    print(metrics.markdown([result]))
    for note in result.notes:
        print(f"lafr evaluate: {note}", file=sys.stderr)
    if not result.summary:
        print("lafr evaluate: no metric could be measured here (see 'Not measured' above); nothing written", file=sys.stderr)
        return 2
    result.to_csv(out, overwrite=args.overwrite)
    print(f"per-image values written to {out}")
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

    pre = sub.add_parser("pretrain-toy", help="train the tiny profile's toy VAE and diffusion prior (hours on a CPU, minutes on a GPU)")
    pre.add_argument("--out", default=_TOY_OUT, help="folder to write (default: the committed toy models' folder; "
                     "for --stage identity or structure, lafr/weights/toy_identity or toy_structure)")
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
    pre.add_argument("--decoder-region-weight", type=float, default=4.0, help="extra loss weight inside the eye and mouth boxes")
    pre.add_argument("--identities", type=int, default=4000, help="--stage identity/structure: synthetic people to train on")
    pre.add_argument("--views", type=int, default=6, help="--stage identity/structure: views of each person")
    pre.add_argument("--net-steps", type=int, default=2000, help="--stage identity/structure: training steps")
    pre.add_argument("--net-batch", type=int, default=128)
    pre.add_argument("--net-lr", type=float, default=2e-3)
    pre.add_argument("--stage", choices=("all", "prior", "decoder", "identity", "structure"), default="all",
                     help="'prior': keep the VAE saved in --out and train only the prior; "
                          "'decoder': fine-tune only the VAE's decoder (the latent space stays); "
                          "'identity', 'structure': the loss's toy identity encoder or structure network (notebook 04)")
    pre.add_argument("--resume", action="store_true", help="with --stage prior: continue the prior's training from its saved state")
    pre.add_argument("--overwrite", action="store_true", help="replace existing toy models in --out")
    pre.set_defaults(func=cmd_pretrain_toy)

    ta = sub.add_parser("train-adapter", help="stage 1: train the latent alignment adapter (L1 to the HQ latents)")
    ta.add_argument("--profile", default=os.environ.get("LAFR_PROFILE", "tiny"), choices=sorted(config.PROFILES))
    ta.add_argument("--data", help="a folder of aligned HQ faces (default: the profile's training faces)")
    ta.add_argument("--out", required=True, help="folder for the checkpoint, loss.csv, the adapter and its manifest")
    ta.add_argument("--resume", action="store_true", help="continue from --out/checkpoint.safetensors")
    ta.add_argument("--model", help="base model: hub id or local folder (default: the profile's)")
    ta.add_argument("--device", default="cuda" if _cuda() else "cpu", help="where the VAE encodes the faces (training itself uses a GPU when accelerate finds one)")
    ta.add_argument("--views", type=int, help="degraded versions of each training face (default: the profile's)")
    ta.add_argument("--epochs", type=int, help="override the profile's stage-1 epochs")
    ta.add_argument("--lr", type=float, help="override the profile's stage-1 learning rate")
    ta.add_argument("--soft", action="store_true", help="soft argmin instead of straight-through (A.2.2 gives both)")
    ta.add_argument("--residual", action="store_true",
                    help="ablation, not the paper's method: add z_LQ to the adapter's output (a skip connection)")
    ta.add_argument("--stop-after", type=int, help="stop after this many steps (resume later with --resume)")
    ta.add_argument("--eval-faces", type=int, default=128, help="held-out faces to evaluate on")
    ta.set_defaults(func=cmd_train_adapter)

    tl = sub.add_parser("train-lora", help="stage 2: conv-only LoRA on the pruned one-step UNet, with the multilevel loss")
    tl.add_argument("--profile", default=os.environ.get("LAFR_PROFILE", "tiny"), choices=sorted(config.PROFILES))
    tl.add_argument("--out", required=True, help="folder for the checkpoint, loss.csv and the trained system (out/system)")
    tl.add_argument("--data", help="a folder of aligned HQ faces (default: the profile's training faces)")
    tl.add_argument("--model", help="base model: hub id or local folder (default: the profile's)")
    tl.add_argument("--adapter", help="stage-1 adapter folder or built-in name (default: the profile's); 'none' trains without one")
    tl.add_argument("--targets", choices=("conv", "attention"), default="conv", help="LoRA on the convolutions (the paper's) or the attention projections (Table 7)")
    tl.add_argument("--terms", nargs="+", choices=("res", "id", "fs"), default=["res", "id", "fs"], help="loss levels to train with (Table 5)")
    tl.add_argument("--id-form", choices=("cosine", "l2"), default="cosine")
    tl.add_argument("--fs-form", choices=("cosine", "l2"), default="cosine")
    tl.add_argument("--timestep", type=int, help="override the profile's fixed timestep")
    tl.add_argument("--rank", type=int, help="override the profile's LoRA rank")
    tl.add_argument("--steps", type=int, help="override the profile's stage-2 steps")
    tl.add_argument("--batch-size", type=int, help="override the profile's stage-2 batch size")
    tl.add_argument("--lr", type=float, help="override the profile's stage-2 learning rate")
    tl.add_argument("--views", type=int, help="degraded versions of each training face (default: the profile's stage1_views)")
    tl.add_argument("--device", default="cuda" if _cuda() else "cpu", help="where the models load (training uses a GPU when accelerate finds one)")
    tl.add_argument("--resume", action="store_true", help="continue from --out/checkpoint.safetensors")
    tl.add_argument("--stop-after", type=int, help="stop after this many steps (resume later with --resume)")
    tl.add_argument("--eval-faces", type=int, default=128, help="held-out faces to judge the restorer on")
    tl.add_argument("--seed", type=int, help="training seed: LoRA's random start and the batch order (default: the profile's "
                    "seed; the training pairs and held-out faces always use the profile's seed)")
    tl.add_argument("--grad-accum", type=int, default=1, help="micro-batches per optimizer step (--steps counts micro-batches)")
    tl.add_argument("--mixed-precision", choices=("no", "fp16", "bf16"), default="no", help="accelerate's autocast for the forward pass")
    tl.add_argument("--gradient-checkpointing", action="store_true", help="recompute UNet and decoder activations in the backward pass (less memory)")
    tl.add_argument("--lora-dtype", choices=("float32", "float16"), default="float32",
                    help="dtype of the saved LoRA weights (float16 halves the file; the manifest's numbers are measured after saving)")
    tl.set_defaults(func=cmd_train_lora)

    rs = sub.add_parser("restore", help="restore aligned face crops (files or folders) into PNGs",
                        description="Restore aligned face crops with a trained LAFR system. The input must be an aligned, "
                                    "roughly square face crop (FFHQ-style alignment); other images are restored as if they were one.")
    rs.add_argument("inputs", nargs="+", help="image files and folders of images")
    rs.add_argument("-o", "--output", required=True, help="output folder (must not be an input folder); one PNG per input")
    rs.add_argument("--profile", default=os.environ.get("LAFR_PROFILE", "tiny"), choices=sorted(config.PROFILES))
    rs.add_argument("--model", help="a trained system (the out/system folder of `lafr train-lora`); default: the profile's")
    rs.add_argument("--device", default="cuda" if _cuda() else "cpu")
    rs.add_argument("--dtype", choices=("float32", "float16", "bfloat16"), default="float32")
    rs.add_argument("--batch-size", type=int, default=8)
    rs.add_argument("--overwrite", action="store_true", help="replace existing files in the output folder (inputs are never replaced)")
    rs.set_defaults(func=cmd_restore)

    ev = sub.add_parser("evaluate", help="judge restored faces: metrics against ground truth (paired by name), or no-reference",
                        description="Every available full-reference metric (PSNR, SSIM, LPIPS, DISTS, Deg, LMD) when --gt is given, "
                                    "every available no-reference metric otherwise. Metrics whose weights cannot be had are listed "
                                    "as not measured, with the reason.")
    ev.add_argument("restored", help="folder of restored images")
    ev.add_argument("--gt", help="folder of ground-truth images, paired with the restored ones by file name (extension aside)")
    ev.add_argument("--metrics", nargs="+", help="metric names (default: all that apply); see lafr.metrics")
    ev.add_argument("--fid-reference", help="FID's reference set: a folder of images (default: the --gt folder); "
                                            "FID-F is always against FFHQ's statistics")
    ev.add_argument("--out", default="results.csv", help="CSV of per-image values (default results.csv)")
    ev.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    ev.add_argument("--profile", default=os.environ.get("LAFR_PROFILE", "tiny"), choices=sorted(config.PROFILES),
                    help="whose loss networks must not judge (checked)")
    ev.add_argument("--device", default="cuda" if _cuda() else "cpu")
    ev.set_defaults(func=cmd_evaluate)

    prof = sub.add_parser("profile", help="print a profile's values and where each comes from (the paper, another work, or us)")
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
    not installed.  lafr.data is not imported when it has not been
    used (it pulls in torch), so neither can its DatasetError have been raised."""
    data = sys.modules.get("lafr.data")
    return (OSError, ValueError, ModuleNotFoundError) + ((data.DatasetError,) if data else ())


if __name__ == "__main__":
    sys.exit(main())
