"""The two training stages: the latent alignment adapter, then conv-only LoRA (paper Sec. 2.3, 2.4, 3.1).

Stage 1 trains only the adapter, the VAE frozen:  L_align = || adapter(z_LQ) - z_HQ ||_1, AdamW,
lr 1e-4, batch 16, 100 epochs over the 600 training faces (paper profile; the tiny profile scales
the numbers down).  Latents are computed once, before training: each face is degraded ``views``
times with different seeds, and both versions are encoded.

The loop is plain PyTorch driven by ``accelerate`` (CPU, one GPU, or several with
``accelerate launch``).  Everything random is derived from (seed, epoch, step), so a run that is
stopped and resumed from its checkpoint (``lafr.checkpoints``) ends with exactly the weights of an
uninterrupted run.  The loss goes to a CSV.

Stage 2 trains only the LoRA weights of the pruned one-step UNet (``lafr.unet``, ``lafr.pipeline``)
with the multilevel loss (``lafr.losses``) on decoded images, the adapter and the VAE frozen.

Taught in notebooks 03 (stage 1) and 05 (stage 2).
"""

from __future__ import annotations

import csv
import math
import os
import time
from pathlib import Path

import torch

from lafr import vae as vae_io
from lafr.adapter import LatentAlignmentAdapter, codebook_usage
from lafr.checkpoints import load_checkpoint, save_checkpoint
from lafr.data import to_model
from lafr.degrade import degrade

# ---- data ----------------------------------------------------------------------------------------


def training_faces(cfg) -> torch.Tensor:
    """The profile's training faces, n x 3 x R x R uint8: ``cfg.train_images`` synthetic faces, or the
    seeded FFHQ subset (fetched on first use, resized once and kept: ``datasets.ffhq_subset``,
    ``data.load_square``).  Taught in notebook 03."""
    from tqdm.auto import tqdm

    from lafr import data, datasets
    from lafr.synthetic import synthetic_face

    if cfg.train_data == "synthetic":
        faces = [synthetic_face(cfg.seed, i, cfg.resolution)[0] for i in range(cfg.train_images)]
    else:
        files = datasets.ffhq_subset(cfg.train_images, cfg.train_subset_seed)  # fetched once
        kept = datasets.ffhq_root() / "resized" / f"{cfg.resolution}px"  # resized once
        faces = [data.load_square(f, cfg.resolution, cache=kept) for f in tqdm(files, desc="FFHQ faces", leave=False)]
    return to_uint8(torch.stack(faces))


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Images in [0, 1] -> uint8, rounded: how faces are kept in memory before encoding (4x smaller)."""
    return (images.clamp(0, 1) * 255 + 0.5).to(torch.uint8)


@torch.no_grad()
def latent_pairs(
    vae, faces_u8: torch.Tensor, preset: str, views: int = 1, seed: int = 0, batch_size: int | None = None
):
    """Encode each face and ``views`` degraded versions of it: returns (z_LQ, z_HQ), each
    (n * views) x C x h x w, pairs in the same order.  Degradation seeds are seed * 10**6 +
    view * 10**5 + index, so every (face, view) has its own LQ image.  Taught in notebook 03."""
    hq = faces_u8.float() / 255
    z_hq = vae_io.encode(vae, to_model(hq), batch_size=batch_size).float().cpu()
    z_lq = []
    for v in range(views):
        seeds = [seed * 10**6 + v * 10**5 + i for i in range(len(hq))]
        lq, _ = degrade(hq, preset, seed=seeds)
        z_lq.append(vae_io.encode(vae, to_model(lq), batch_size=batch_size).float().cpu())
    return torch.cat(z_lq), z_hq.repeat(views, 1, 1, 1)


def heldout_pairs(vae, cfg, n: int = 128, seed: int | None = None):
    """The held-out faces stage 1 is judged on, never trained on: ``n`` faces of ``cfg.eval_faces``
    and one degraded view of each (degradation seeds from ``seed + 1``).  Returns (faces in [0, 1],
    z_LQ, z_HQ).  ``lafr train-adapter``, its manifest test and notebook 03 all measure on these."""
    from lafr import data

    seed = cfg.seed if seed is None else seed
    faces, _ = data.image_set(cfg.eval_faces, n, cfg.resolution, seed=seed)
    return (faces, *latent_pairs(vae, to_uint8(faces), cfg.degradation, views=1, seed=seed + 1))


def heldout_lq_images(faces: torch.Tensor, cfg, seed: int | None = None, upsample: str = "bilinear") -> torch.Tensor:
    """The degraded images behind ``heldout_pairs``' z_LQ (the same draw), in [0, 1]; with
    ``upsample="bicubic"`` the same LQ photos enlarged back by bicubic interpolation instead (the
    resizing baseline of notebook 05)."""
    seed = cfg.seed if seed is None else seed
    hq = to_uint8(faces).float() / 255  # as latent_pairs sees them
    return degrade(hq, cfg.degradation, seed=[(seed + 1) * 10**6 + i for i in range(len(hq))], upsample=upsample)[0]


def eight_bit(images: torch.Tensor) -> torch.Tensor:
    """Images in [0, 1] rounded to 8 bits, as a PNG keeps them: notebook 06 judges every output as
    it would be saved (the rounding alone moves dlib's angle for a face by 0.4 degrees on average)."""
    return (images.clamp(0, 1) * 255).round() / 255


@torch.no_grad()
def heldout_outputs(
    cfg, n: int = 128, seed: int | None = None, device="cpu", resizers=("bicubic", "lanczos"), ablations: bool = True
):
    """Notebook 06's comparison: ``n`` held-out faces (8-bit, in [0, 1]) and what every simpler option
    and every committed restorer makes of their degraded photos, under the profile's test recipe.

    Returns (faces, {name: images in [0, 1], not yet rounded}): the LQ photo; the same photo enlarged
    by each of ``resizers``; decode(z_LQ); the adapter alone; the full method; each ablation of
    ``cfg.restorer_ablation_weights`` (one not trained yet is left out, with a warning; none with
    ``ablations=False``); decode(z_HQ), the best a latent restorer with this VAE can do.
    ``tools/judge_agreement.py`` ranks the same outputs by the loss's terms."""
    import warnings

    from lafr import data, models, pipeline

    seed = cfg.seed if seed is None else seed
    test = cfg.replace(degradation=cfg.test_degradation)
    hq = eight_bit(data.image_set(cfg.eval_faces, n, cfg.resolution, seed=seed)[0])
    full = pipeline.LAFRPipeline.from_pretrained(cfg.restorer_weights, device=device)
    _, z_lq, z_hq = heldout_pairs(full.vae, test, n, seed=seed)
    z_lq = z_lq.to(device)

    def decoded(pipe, z):
        return ((pipe.decode(z.to(device), batch_size=16) + 1) / 2).cpu()

    def restored_by(pipe):
        return decoded(pipe, pipe.restore_latents(z_lq, batch_size=16))

    outputs = {"LQ photo": heldout_lq_images(hq, test, seed=seed)}
    for r in resizers:
        outputs[{"lanczos": "Lanczos"}.get(r, r)] = heldout_lq_images(hq, test, seed=seed, upsample=r)
    outputs["decode(z_LQ)"] = decoded(full, z_lq)
    outputs["adapter only"] = decoded(full, torch.cat([full.adapter(z_lq[i : i + 16]) for i in range(0, n, 16)]))
    outputs["LAFR (full method)"] = restored_by(full)
    for label, where in cfg.restorer_ablation_weights if ablations else ():
        try:
            outputs[label] = restored_by(pipeline.LAFRPipeline.from_pretrained(where, device=device))
        except models.ModelNotFoundError as err:
            warnings.warn(f"{label}: not trained yet ({err})", stacklevel=2)
    outputs["decode(z_HQ)"] = decoded(full, z_hq)
    return hq, outputs


# ---- the loop ------------------------------------------------------------------------------------


def build_adapter(cfg, latent_channels: int = 4, **overrides) -> LatentAlignmentAdapter:
    """The adapter with the profile's sizes (``overrides`` for ablations, e.g. residual=True)."""
    kw = dict(
        latent_channels=latent_channels,
        hidden=cfg.adapter_hidden,
        codebook_size=cfg.codebook_size,
        blocks=cfg.adapter_blocks,
        beta=cfg.argmin_beta,
        straight_through=cfg.argmin_straight_through,
    )
    kw.update(overrides)
    return LatentAlignmentAdapter(**kw)


def reseed_dead_entries(
    adapter: LatentAlignmentAdapter, features: torch.Tensor, counts: torch.Tensor, generator
) -> int:
    """Move codebook entries that were never chosen (``counts``: how often each entry was chosen
    since the last re-seeding) onto randomly picked features of the current batch: the usual remedy
    for dead codes in VQ training.  Returns how many moved.  Taught in notebook 03."""
    dead = (counts == 0).nonzero().flatten()
    if len(dead) == 0:
        return 0
    pool = features.permute(0, 2, 3, 1).reshape(-1, features.shape[1])
    pick = torch.randint(len(pool), (len(dead),), generator=generator).to(pool.device)
    with torch.no_grad():
        adapter.codebook.data[dead] = pool[pick].detach().to(adapter.codebook.dtype)
    return len(dead)


def recipe(cfg) -> str:
    """How a profile's restorers are trained, in one line: what notebooks 05 and 06 print under every
    table of restorers over training seeds (the degradation, the faces, the stage-2 budget, t)."""
    return (
        f"degradation '{cfg.degradation}' (test '{cfg.test_degradation}'); {cfg.train_images} training faces x "
        f"{cfg.stage1_views} degraded views; {cfg.stage2_steps:,} stage-2 steps at batch {cfg.stage2_batch_size}, "
        f"t = {cfg.timestep}"
    )


def lr_at(step: int, total: int, lr: float, schedule: str) -> float:
    """The learning rate at ``step`` of ``total``: ``constant``, or ``cosine`` decay from lr to 0."""
    if schedule == "constant":
        return lr
    if schedule == "cosine":
        return lr * 0.5 * (1 + math.cos(math.pi * step / total))
    raise ValueError(f"unknown learning-rate schedule {schedule!r}; use 'constant' or 'cosine'")


def train_adapter(
    cfg,
    z_lq: torch.Tensor,
    z_hq: torch.Tensor,
    out: str | os.PathLike,
    *,
    epochs: int | None = None,
    batch_size: int | None = None,
    lr: float | None = None,
    seed: int | None = None,
    stop_after: int | None = None,
    resume: bool = False,
    reseed_every: int = 100,
    checkpoint_every: int = 200,
    adapter_overrides: dict | None = None,
    progress: bool = True,
):
    """Stage 1: train the adapter on latent pairs; returns (adapter, history rows).

    Writes ``out/checkpoint.safetensors`` (resumable), ``out/loss.csv`` and, at the end,
    ``out/adapter`` (``save_pretrained``).  ``stop_after`` stops early after that many steps (to
    show resuming); ``resume=True`` continues from the checkpoint.  Codebook entries that no
    position chose during the last ``reseed_every`` steps are re-seeded onto features of the current
    batch, during the first half of training (0 turns this off).  Taught in notebook 03.
    """
    from accelerate import Accelerator
    from tqdm.auto import tqdm

    epochs = epochs if epochs is not None else cfg.stage1_epochs
    batch_size = cfg.stage1_batch_size if batch_size is None else batch_size
    lr = cfg.stage1_lr if lr is None else lr
    seed = cfg.seed if seed is None else seed
    out = Path(out)
    ckpt, log_path = out / "checkpoint.safetensors", out / "loss.csv"

    accelerator = Accelerator(cpu=not torch.cuda.is_available())
    torch.manual_seed(seed)
    adapter = build_adapter(cfg, z_lq.shape[1], **(adapter_overrides or {}))
    optimizer = torch.optim.AdamW(adapter.parameters(), lr=lr)
    state = {"step": 0, "usage": [0] * adapter.config.codebook_size}
    if resume:
        if not ckpt.exists():
            raise FileNotFoundError(f"{ckpt}: no checkpoint to resume from")
        state = {"usage": [0] * adapter.config.codebook_size, **load_checkpoint(ckpt, adapter, optimizer)}
        if not accelerator.is_main_process:  # the checkpoint holds every process's usage, summed: count it once
            state["usage"] = [0] * adapter.config.codebook_size
    adapter, optimizer = accelerator.prepare(adapter, optimizer)
    model = accelerator.unwrap_model(adapter)

    n, world, rank = len(z_lq), accelerator.num_processes, accelerator.process_index
    per_epoch = n // (batch_size * world)
    total = per_epoch * epochs
    if per_epoch == 0:
        raise ValueError(f"{n} training pairs are fewer than one batch of {batch_size} x {world} processes")
    if accelerator.is_main_process:
        out.mkdir(parents=True, exist_ok=True)
        if not resume:
            log_path.write_text("step,epoch,loss\n")
    history = []
    bar = tqdm(
        total=total,
        initial=state["step"],
        desc="stage 1 (adapter)",
        disable=not progress or not accelerator.is_main_process,
    )
    step = state["step"]
    clock = time.perf_counter() - state.get("seconds", 0.0)  # seconds trained, earlier runs' included
    usage = torch.tensor(state["usage"])  # how often each entry was chosen since the last re-seeding
    while step < total and (stop_after is None or step < stop_after):
        epoch, k = divmod(step, per_epoch)
        perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed * 100_003 + epoch))
        idx = perm[(k * world + rank) * batch_size : (k * world + rank + 1) * batch_size]
        x, y = z_lq[idx].to(accelerator.device), z_hq[idx].to(accelerator.device)
        for group in optimizer.param_groups:  # a function of the step alone, so resuming is exact
            group["lr"] = lr_at(step, total, lr, cfg.stage1_lr_schedule)
        aligned, indices = adapter(x, return_indices=True)
        loss = (aligned - y).abs().mean()
        usage += torch.bincount(indices.flatten().cpu(), minlength=len(usage))
        optimizer.zero_grad(set_to_none=True)
        accelerator.backward(loss)
        optimizer.step()
        step += 1
        if reseed_every and step % reseed_every == 0 and step <= total // 2:
            with torch.no_grad():  # the whole batch's features, in process order: what one process would see
                features = accelerator.gather(model.extractor(x))
            counts = accelerator.reduce(usage.to(accelerator.device), reduction="sum").cpu()  # all processes' usage
            reseed_dead_entries(model, features, counts, torch.Generator().manual_seed(seed * 7919 + step))
            if world > 1:  # every process must hold the same codebook: take the main process's
                torch.distributed.broadcast(model.codebook.data, src=0)
            usage.zero_()
        # the loss of the whole batch (every process's share), as one process with that batch would log it
        history.append({"step": step, "epoch": epoch, "loss": float(accelerator.reduce(loss.detach(), "mean"))})
        if step % checkpoint_every == 0 or step == total or step == stop_after:
            summed = accelerator.reduce(usage.to(accelerator.device), reduction="sum").cpu()  # every process's
            if accelerator.is_main_process:
                save_checkpoint(
                    ckpt,
                    model,
                    optimizer,
                    {"step": step, "usage": summed.tolist(), "seconds": round(time.perf_counter() - clock, 3)},
                )
        if accelerator.is_main_process:
            with open(log_path, "a", newline="") as f:
                csv.writer(f).writerow([step, epoch, f"{history[-1]['loss']:.6f}"])
        bar.update(1)
        bar.set_postfix(loss=f"{history[-1]['loss']:.4f}")
    bar.close()
    if step >= total and accelerator.is_main_process:
        model.save_pretrained(out / "adapter")
    accelerator.wait_for_everyone()  # no process returns before the main one has saved
    return model, history


@torch.no_grad()
def evaluate_adapter(
    adapter: LatentAlignmentAdapter, z_lq: torch.Tensor, z_hq: torch.Tensor, batch_size: int = 256
) -> dict:
    """Latent L1 to HQ before (z_LQ) and after (z_aligned) the adapter, and codebook health."""
    adapter.eval()
    aligned, indices = [], []
    for i in range(0, len(z_lq), batch_size):
        out, idx = adapter(z_lq[i : i + batch_size], return_indices=True)
        aligned.append(out)
        indices.append(idx)
    aligned = torch.cat(aligned)
    before, after = float((z_lq - z_hq).abs().mean()), float((aligned - z_hq).abs().mean())
    usage = codebook_usage(torch.cat(indices), adapter.config.codebook_size)
    return {
        "l1_lq": before,
        "l1_aligned": after,
        "reduction": 1 - after / before,
        "aligned": aligned,
        "perplexity": usage["perplexity"],
        "used": usage["used"],
        "dead": usage["dead"],
        "counts": usage["counts"],
    }


# ---- stage 2: conv-only LoRA on the pruned one-step UNet (Sec. 2.4, 3.1) -----------------------------


class _Trainable(torch.nn.Module):
    """A model's trainable tensors (LoRA's), as a module of their own: what a stage-2 checkpoint
    holds. The tensors are shared with the model, so loading this module loads the model's LoRA."""

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.params = torch.nn.ParameterList([p for p in model.parameters() if p.requires_grad])


@torch.no_grad()
def stage2_inputs(
    pipe, faces_u8: torch.Tensor, preset: str, views: int = 1, seed: int = 0, batch_size: int = 64
) -> torch.Tensor:
    """What the UNet sees in stage 2, computed once: the aligned latents ``adapter(z_LQ)`` of
    ``views`` degraded versions of each face (the adapter and VAE are frozen in stage 2), in the
    order of ``latent_pairs``: face i's views at i, n + i, ... Without an adapter, z_LQ itself.
    Taught in notebook 05."""
    z_lq, _ = latent_pairs(pipe.vae, faces_u8, preset, views=views, seed=seed)
    if pipe.adapter is None:
        return z_lq
    p = next(pipe.adapter.parameters())
    return torch.cat(
        [
            pipe.adapter(z_lq[i : i + batch_size].to(p.device, p.dtype)).float().cpu()
            for i in range(0, len(z_lq), batch_size)
        ]
    )


def stage2_losses(pipe, loss_fn, z: torch.Tensor, hq: torch.Tensor) -> dict[str, torch.Tensor]:
    """One forward pass of stage 2: aligned latents ``z`` -> the UNet once -> the frozen decoder ->
    ``loss_fn`` (a ``MultilevelLoss``) against the HQ faces ``hq`` in [-1, 1].  ``train_lora`` takes a
    step on its ``total``; ``benchmarks/predict_gpu.py`` runs it to predict a step's memory and FLOPs.
    Taught in notebook 05."""
    return loss_fn(pipe.decode(pipe.denoise(z), clamp=False), hq)


def train_lora(
    cfg,
    pipe,
    loss_fn,
    z_in: torch.Tensor,
    hq_u8: torch.Tensor,
    out: str | os.PathLike,
    *,
    steps: int | None = None,
    batch_size: int | None = None,
    lr: float | None = None,
    seed: int | None = None,
    stop_after: int | None = None,
    resume: bool = False,
    checkpoint_every: int = 100,
    progress: bool = True,
    adapter_name: str | None = None,
    lora_dtype: torch.dtype = torch.float32,
    grad_accum: int = 1,
    mixed_precision: str = "no",
    gradient_checkpointing: bool = False,
) -> list[dict]:
    """Stage 2: train the LoRA weights of ``pipe``'s UNet (attach them first, ``LAFRPipeline.from_base``)
    so that ``decode(denoise(z_in))`` matches the HQ faces under ``loss_fn`` (a ``MultilevelLoss``);
    ``z_in`` from ``stage2_inputs``, ``hq_u8`` the faces (z_in[k] belongs to face k mod n). AdamW at a
    constant lr (the paper gives no schedule). Writes ``out/checkpoint.safetensors`` (the LoRA weights,
    AdamW state and step: resumable, exactly), ``out/loss.csv`` (every term) and, at the end,
    ``out/system`` (``LAFRPipeline.save_pretrained``, given ``adapter_name`` and ``lora_dtype``).
    ``seed`` orders the batches. For large models on small GPUs: ``grad_accum`` micro-batches per
    optimizer step (``steps`` counts micro-batches; checkpoints fall on optimizer steps),
    ``mixed_precision`` ("no", "fp16", "bf16": accelerate's autocast) and ``gradient_checkpointing``
    (UNet and VAE decoder recompute activations in the backward pass). Returns the history. Taught
    in notebook 05."""
    from accelerate import Accelerator
    from tqdm.auto import tqdm

    steps = cfg.stage2_steps if steps is None else steps
    batch_size = cfg.stage2_batch_size if batch_size is None else batch_size
    lr = cfg.stage2_lr if lr is None else lr
    seed = cfg.seed if seed is None else seed
    out = Path(out)
    ckpt, log_path = out / "checkpoint.safetensors", out / "loss.csv"
    trainable = _Trainable(pipe.unet)
    if not len(trainable.params):
        raise ValueError(
            "the UNet has no trainable parameters: attach LoRA first (LAFRPipeline.from_base(..., lora_rank=4))"
        )
    for name, value in (
        ("steps", steps),
        ("checkpoint_every", checkpoint_every),
        ("stop_after", stop_after or grad_accum),
    ):
        if value % grad_accum:
            raise ValueError(
                f"{name} = {value} is not a multiple of grad_accum = {grad_accum}: a checkpoint must fall on an "
                "optimizer step"
            )
    accelerator = Accelerator(
        cpu=not torch.cuda.is_available(), gradient_accumulation_steps=grad_accum, mixed_precision=mixed_precision
    )
    if gradient_checkpointing:
        pipe.unet.enable_gradient_checkpointing()
        pipe.vae.enable_gradient_checkpointing()
    optimizer = torch.optim.AdamW(trainable.parameters(), lr=lr)
    state = {"step": 0}
    if resume:
        if not ckpt.exists():
            raise FileNotFoundError(f"{ckpt}: no checkpoint to resume from")
        state = load_checkpoint(ckpt, trainable, optimizer)
    unet, optimizer = accelerator.prepare(pipe.unet, optimizer)
    plain_unet, pipe.unet = pipe.unet, unet  # train through the prepared UNet (DDP on several GPUs)
    pipe.vae.to(accelerator.device)
    loss_fn.to(accelerator.device)

    n, world, rank = len(z_in), accelerator.num_processes, accelerator.process_index
    per_epoch = n // (batch_size * world)
    if per_epoch == 0:
        raise ValueError(f"{n} training inputs are fewer than one batch of {batch_size} x {world} processes")
    terms = ("total", "mse", "lpips", "id", "fs")
    if accelerator.is_main_process:
        out.mkdir(parents=True, exist_ok=True)
        if not resume:
            log_path.write_text("step,epoch," + ",".join(terms) + "\n")
    history, step = [], state["step"]
    clock = time.perf_counter() - state.get("seconds", 0.0)  # seconds trained, earlier runs' included
    bar = tqdm(
        total=steps, initial=step, desc="stage 2 (LoRA)", disable=not progress or not accelerator.is_main_process
    )
    try:
        while step < steps and (stop_after is None or step < stop_after):
            epoch, k = divmod(step, per_epoch)
            perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed * 100_003 + epoch))
            idx = perm[(k * world + rank) * batch_size : (k * world + rank + 1) * batch_size]
            z = z_in[idx].to(accelerator.device)
            hq = hq_u8[idx % len(hq_u8)].to(accelerator.device).float() / 127.5 - 1
            with accelerator.accumulate(unet), accelerator.autocast():
                losses = stage2_losses(pipe, loss_fn, z, hq)
                accelerator.backward(losses["total"])  # divided by grad_accum
                optimizer.step()  # a no-op until the last micro-batch of an accumulation
                optimizer.zero_grad(set_to_none=True)
            step += 1
            # each term over the whole batch (every process's share), as one process with that batch would log it
            logged = accelerator.reduce(torch.stack([losses[t].detach().float() for t in terms]), "mean")
            history.append({"step": step, "epoch": epoch, **dict(zip(terms, logged.tolist()))})
            if accelerator.is_main_process:
                with open(log_path, "a", newline="") as f:
                    csv.writer(f).writerow([step, epoch] + [f"{history[-1][t]:.6f}" for t in terms])
                if step % checkpoint_every == 0 or step == steps or step == stop_after:
                    save_checkpoint(
                        ckpt, trainable, optimizer, {"step": step, "seconds": round(time.perf_counter() - clock, 3)}
                    )
            bar.update(1)
            bar.set_postfix(loss=f"{history[-1]['total']:.4f}")
    finally:
        bar.close()
        pipe.unet = plain_unet
    if step >= steps and accelerator.is_main_process:
        pipe.save_pretrained(out / "system", adapter_name=adapter_name, lora_dtype=lora_dtype)
    accelerator.wait_for_everyone()  # no process returns before the main one has saved
    return history


@torch.no_grad()
def evaluate_restorer(
    images: torch.Tensor, hq: torch.Tensor, landmarks: torch.Tensor, loss, batch_size: int = 16
) -> dict:
    """How close restored ``images`` are to the ``hq`` faces (both N x 3 x H x W in [0, 1]): PSNR over
    the whole face and inside the eye and mouth boxes (``regions.region_psnr``), and the mean of each
    term of ``loss`` (a ``MultilevelLoss``). Taught in notebook 05."""
    from lafr import regions

    out = {
        f"psnr_{k}": round(float(v.mean()), 3)
        for k, v in regions.region_psnr(images.float(), hq.float(), landmarks).items()
    }
    device = next(loss.parameters()).device
    terms = {k: [] for k in ("mse", "lpips", "id", "fs")}
    for i in range(0, len(images), batch_size):  # per image, on the loss's device, a batch at a time
        part = loss(
            images[i : i + batch_size].to(device).float() * 2 - 1,
            hq[i : i + batch_size].to(device).float() * 2 - 1,
            reduce=False,
        )
        for k in terms:
            terms[k].append(part[k].float().cpu())
    out.update({k: round(float(torch.cat(v).mean()), 5) for k, v in terms.items()})
    return out
