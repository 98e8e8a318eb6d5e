"""The training commands of ``lafr``: ``pretrain-toy``, ``train-adapter`` (stage 1) and ``train-lora``
(stage 2).  Their flags are in ``lafr.cli``.  ``pretrain-toy`` runs the toy models' pretraining
(``lafr.pretrain``, ``lafr.pretrain_decoder``, ``lafr.pretrain_facenets``); ``train-adapter`` and
``train-lora`` load the profile, train through ``lafr.train``, judge what they saved on held-out
faces, and write its manifest.
Taught in notebooks 03 (stage 1) and 05 (stage 2); the toy models' training in notebook 02.
"""

from __future__ import annotations

import os
import shlex
import time
from pathlib import Path

from lafr import config, provenance

TOY_OUT = str(Path(__file__).resolve().parent / "weights" / "toy")  # where pretrain-toy writes by default


def cmd_pretrain_toy(args) -> int:
    from lafr.pretrain import pretrain_toy

    if args.device.startswith("cuda"):
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    out = Path(args.out)
    if args.resume and args.stage != "prior":
        raise ValueError("--resume continues the prior's training: use it with --stage prior")
    if args.stage in ("prior", "decoder") and not (
        (out / "vae" / "config.json").is_file() and (out / "manifest.json").is_file()
    ):
        raise FileNotFoundError(
            f"{out} holds no toy VAE (vae/config.json and manifest.json); --stage {args.stage} starts from the VAE "
            f"saved there. Make one first with `lafr pretrain-toy --out {out}`, or point --out at a folder that has "
            "one."
        )
    if args.resume:
        from lafr.pretrain import prior_state_file

        state = prior_state_file()
        if not state.is_file():
            raise FileNotFoundError(f"{state}: no prior training state to resume from; run without --resume")
    if args.stage in ("identity", "structure"):
        from lafr.pretrain_facenets import pretrain_toy_network

        pretrain_toy_network(
            args.stage,
            None if args.out == TOY_OUT else out,
            device=args.device,
            seed=args.seed,
            identities=args.identities,
            views=args.views,
            steps=args.net_steps,
            batch=args.net_batch,
            lr=args.net_lr,
            render_share=args.render_share,
            time_limit=args.time_limit * 60 if args.time_limit else None,
        )
        return 0
    if args.stage == "decoder":
        from lafr.pretrain_decoder import finetune_toy_decoder

        finetune_toy_decoder(
            out,
            device=args.device,
            seed=args.seed,
            faces=args.faces,
            steps=args.decoder_steps,
            batch=args.decoder_batch,
            lr=args.decoder_lr,
            region_weight=args.decoder_region_weight,
            time_limit=args.time_limit * 60 if args.time_limit else None,
        )
        return 0
    if args.stage == "all" and out.exists() and any(out.iterdir()) and not args.overwrite:
        raise FileExistsError(f"{out} is not empty; pass --overwrite to replace the toy models there")
    pretrain_toy(
        out,
        device=args.device,
        seed=args.seed,
        faces=args.faces,
        vae_steps=args.vae_steps,
        vae_batch=args.vae_batch,
        vae_lr=args.vae_lr,
        prior_steps=args.prior_steps,
        prior_batch=args.prior_batch,
        prior_lr=args.prior_lr,
        time_limit=args.time_limit * 60 if args.time_limit else None,
        stage=args.stage,
        resume=args.resume,
    )
    return 0


def _earlier_seconds(args) -> float | None:
    """Seconds an interrupted run had trained up to the checkpoint that --resume continues from (0 for
    a fresh run; None for a checkpoint from a version of lafr that did not count them), so that a
    resumed run's manifest reports its whole training time."""
    from lafr import checkpoints

    if not args.resume:
        return 0.0
    return checkpoints.read_state(Path(args.out) / "checkpoint.safetensors").get("seconds")


def _training_faces_and_model(args, cfg):
    """For the training commands: check that --resume has a checkpoint, then load the training faces
    (uint8; before the models, so a bad folder fails fast), and name the base model (--model, else
    LAFR_BASE_MODEL, else the profile's, as ModelNotFoundError advises)."""
    import torch

    from lafr import data, train

    if args.resume and not (Path(args.out) / "checkpoint.safetensors").is_file():  # where both trainers save it
        raise FileNotFoundError(
            f"{Path(args.out) / 'checkpoint.safetensors'}: no checkpoint to resume from; run without --resume"
        )
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
    from accelerate import PartialState

    from lafr import models, train

    cfg = config.get_profile(args.profile, **config.parse_overrides(args.set))
    if args.epochs is not None:
        cfg = cfg.replace(stage1_epochs=args.epochs)
    if args.lr is not None:
        cfg = cfg.replace(stage1_lr=args.lr)
    if args.soft:
        cfg = cfg.replace(argmin_straight_through=False)
    start = time.perf_counter()
    faces, model = _training_faces_and_model(args, cfg)
    earlier = _earlier_seconds(args)
    base = models.load_base(model, prompt=cfg.prompt, device=args.device)
    views = args.views or cfg.stage1_views
    print(f"stage 1, profile {cfg.name}: {len(faces)} training faces x {views} degraded views")
    z_lq, z_hq = train.latent_pairs(base.vae, faces, cfg.degradation, views=views, seed=cfg.seed)
    overrides = {"residual": True} if args.residual else {}
    adapter, history = train.train_adapter(
        cfg, z_lq, z_hq, args.out, resume=args.resume, stop_after=args.stop_after, adapter_overrides=overrides
    )
    if not PartialState().is_main_process:  # several processes (accelerate launch): the main one judges and reports
        return 0
    if not (Path(args.out) / "adapter").is_dir():  # train_adapter saves the adapter only when it finishes
        print(f"stopped after step {history[-1]['step'] if history else 0}; continue with --resume")
        return 0
    _, t_lq, t_hq = train.heldout_pairs(base.vae, cfg, args.eval_faces)
    trained_on = next(adapter.parameters()).device  # accelerate picks it: a GPU when there is one
    result = train.evaluate_adapter(adapter, t_lq.to(trained_on), t_hq.to(trained_on))
    quality = {
        k: round(v, 4) if isinstance(v, float) else v for k, v in result.items() if k not in ("aligned", "counts")
    }
    manifest = {
        "command": "lafr " + shlex.join(args.argv),
        "profile": cfg.name,
        "overrides": config.parse_overrides(args.set),  # --set
        "seed": cfg.seed,
        "code_version": provenance.git_version(),
        "torch": torch.__version__,
        "device": str(trained_on.type),
        "vae_device": args.device,
        "training_pairs": len(z_lq),
        "views": views,
        "lr_schedule": cfg.stage1_lr_schedule,
        "epochs": cfg.stage1_epochs,
        "batch_size": cfg.stage1_batch_size,
        "lr": cfg.stage1_lr,
        "seconds": round((earlier or 0.0) + time.perf_counter() - start, 1),  # earlier runs' training included
        "earlier_seconds": earlier,  # interrupted runs' training up to the checkpoint resumed from (None: not counted)
        "adapter": dict(adapter.config),
        "parameters": adapter.parameter_table()["total"],
        "heldout": f"{args.eval_faces} faces of {cfg.eval_faces!r}, one degraded view each",
        "quality": quality,
    }
    (Path(args.out) / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(
        f"held-out latent L1 to HQ: LQ {quality['l1_lq']:.4f} -> aligned {quality['l1_aligned']:.4f} "
        f"({100 * quality['reduction']:.1f}% lower); codebook: {quality['used']} entries used, perplexity "
        f"{quality['perplexity']:.1f}"
    )
    return 0


def cmd_train_lora(args) -> int:
    """Stage 2: attach conv-only LoRA to the pruned one-step UNet, train it with the multilevel loss,
    judge the restorer on held-out faces, and write a manifest."""
    import json

    import torch
    from accelerate import PartialState

    from lafr import adapter as adapter_mod, data, losses, models, pipeline, train, unet as unet_mod

    cfg = config.get_profile(args.profile, **config.parse_overrides(args.set))
    changes = {
        k: v
        for k, v in {
            "stage2_steps": args.steps,
            "stage2_batch_size": args.batch_size,
            "stage2_lr": args.lr,
            "timestep": args.timestep,
            "lora_rank": args.rank,
        }.items()
        if v is not None
    }
    cfg = cfg.replace(**changes)
    start = time.perf_counter()
    faces, model = _training_faces_and_model(args, cfg)
    earlier = _earlier_seconds(args)
    adapter = (
        None
        if args.adapter == "none"
        else adapter_mod.load_trained_adapter(args.adapter or cfg.adapter_weights)[0].eval()
    )
    names = unet_mod.CONV_NAMES if args.targets == "conv" else unet_mod.ATTENTION_NAMES
    base = models.load_base(model, prompt=cfg.prompt, device=args.device)
    seed = cfg.seed if args.seed is None else args.seed
    pipe = pipeline.LAFRPipeline.from_base(
        base, cfg.timestep, cfg.resolution, adapter=adapter, lora_rank=cfg.lora_rank, lora_names=names, lora_seed=seed
    )
    if adapter is not None:
        adapter.to(args.device)
    views = args.views or cfg.stage1_views
    print(
        f"stage 2, profile {cfg.name}: {len(faces)} training faces x {views} degraded views; t = {cfg.timestep}; "
        f"LoRA rank {cfg.lora_rank} on {args.targets} layers "
        f"({unet_mod.trainable_parameters(pipe.unet):,} parameters); "
        f"terms {', '.join(args.terms)}; adapter: {'yes' if adapter is not None else 'no'}"
    )
    z_in = train.stage2_inputs(pipe, faces, cfg.degradation, views=views, seed=cfg.seed)
    loss = losses.build_loss(
        cfg, device=args.device, terms=tuple(args.terms), id_form=args.id_form, fs_form=args.fs_form
    )
    adapter_name = args.adapter or cfg.adapter_weights if adapter is not None else None
    history = train.train_lora(
        cfg,
        pipe,
        loss,
        z_in,
        faces,
        args.out,
        seed=seed,
        resume=args.resume,
        stop_after=args.stop_after,
        adapter_name=adapter_name if adapter_name in adapter_mod.TOY_ADAPTERS else None,
        lora_dtype=getattr(torch, args.lora_dtype),
        grad_accum=args.grad_accum,
        mixed_precision=args.mixed_precision,
        gradient_checkpointing=args.gradient_checkpointing,
    )
    if not PartialState().is_main_process:  # several processes (accelerate launch): the main one judges and reports
        return 0
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
    quality = {
        "restored": train.evaluate_restorer(restored, hq, landmarks, judge),
        "lq_image": train.evaluate_restorer(lq_images, hq, landmarks, judge),
    }
    manifest = {
        "command": "lafr " + shlex.join(args.argv),
        "profile": cfg.name,
        "overrides": config.parse_overrides(args.set),  # --set
        "seed": seed,
        "data_seed": cfg.seed,
        "code_version": provenance.git_version(),
        "torch": torch.__version__,
        "device": str(pipe.device),
        "machine": provenance.machine(pipe.device),
        "training_faces": len(faces),
        "views": views,
        "steps": cfg.stage2_steps,
        "batch_size": cfg.stage2_batch_size,
        "grad_accum": args.grad_accum,
        "mixed_precision": args.mixed_precision,
        "lr": cfg.stage2_lr,
        "timestep": cfg.timestep,
        "lora": {"rank": cfg.lora_rank, "targets": args.targets, "parameters": trained},
        "terms": args.terms,
        "id_form": args.id_form,
        "fs_form": args.fs_form,
        "adapter": args.adapter or cfg.adapter_weights,
        "seconds": round((earlier or 0.0) + time.perf_counter() - start, 1),  # earlier runs' training included
        "earlier_seconds": earlier,  # interrupted runs' training up to the checkpoint resumed from (None: not counted)
        "heldout": f"{args.eval_faces} faces of {cfg.eval_faces!r}, one degraded view each",
        "quality": quality,
    }
    (Path(args.out) / "system" / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    r, q = quality["restored"], quality["lq_image"]
    print(
        f"held-out PSNR: restored {r['psnr_face']:.2f} dB (eyes {r['psnr_eyes']:.2f}), "
        f"LQ image {q['psnr_face']:.2f} dB "
        f"(eyes {q['psnr_eyes']:.2f}); the trained system is in {Path(args.out) / 'system'}"
    )
    return 0
