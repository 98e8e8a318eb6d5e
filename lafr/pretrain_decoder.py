"""``lafr pretrain-toy --stage decoder``: a sharper decoder for the toy VAE, the latent space unchanged.

The toy VAE's first decoder drew the whole face well but turned pupils and irises into pale blobs,
so no restorer built on it could show a sharp eye.  Like Stability AI's improved SD VAE decoders,
the decoder alone is fine-tuned here, with the encoder frozen: the latent space, and so the prior
and every adapter trained in it, stay bit for bit the same.  Taught in notebook 02.
"""

from __future__ import annotations

import copy
import json
import os
import time
from pathlib import Path

import torch

from lafr import models, provenance, vae as vae_io
from lafr.pretrain import evaluate, make_faces, plan_steps, warmup_cosine
from lafr.regions import region_masks, region_psnr


def _diffs(t: torch.Tensor, mean: bool = False):
    """Horizontal and vertical finite differences of images (or, with ``mean``, the average of
    neighbouring values, to weight the differences)."""
    if mean:
        return (t[..., :, 1:] + t[..., :, :-1]) / 2, (t[..., 1:, :] + t[..., :-1, :]) / 2
    return t[..., :, 1:] - t[..., :, :-1], t[..., 1:, :] - t[..., :-1, :]


def finetune_decoder(
    vae,
    faces_u8,
    landmarks,
    steps: int,
    batch_size: int,
    lr: float,
    device,
    seed: int,
    region_weight: float = 4.0,
    grad_weight: float = 1.0,
    ema_decay: float = 0.999,
    warmup: int = 100,
    time_limit: float | None = None,
    log=print,
    validate=None,
    validate_every: int = 250,
):
    """Fine-tune the decoder alone, as Stability AI made SD's improved VAE decoders: the encoder, and
    so the latent space and every model trained in it (prior, adapters), stay exactly as they were.

    Loss: L1 plus the L1 of finite-difference image gradients (edges: pupils, lashes, hair strands),
    both weighted ``1 + region_weight`` inside the eye and mouth boxes (``REGIONS``).  Latents are
    sampled from the frozen encoder's posterior, as in the VAE's own training.  AdamW with a linear
    warm-up then a cosine to lr/20, and an exponential moving average of the weights, which is what
    is returned (with the steps done and the loss history).  ``validate(vae)`` is called with the
    EMA weights every ``validate_every`` steps and its result logged.  Taught in notebook 02."""
    torch.manual_seed(seed)
    vae = vae.to(device).float().requires_grad_(False)
    trainable = torch.nn.ModuleDict({"post_quant_conv": vae.post_quant_conv, "decoder": vae.decoder})
    trainable.requires_grad_(True).train()
    ema = copy.deepcopy(trainable).eval().requires_grad_(False)
    opt = torch.optim.AdamW(trainable.parameters(), lr=lr, weight_decay=0.0)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():  # the encoder is frozen: its posterior for every training face, once
        stats = [
            vae.encode(faces_u8[i : i + 256].to(device).float() / 127.5 - 1).latent_dist
            for i in range(0, len(faces_u8), 256)
        ]
        mean, std = torch.cat([d.mean for d in stats]), torch.cat([d.std for d in stats])
        masks = region_masks(landmarks, faces_u8.shape[-1])
        weight = (1 + region_weight * (masks["eyes"] | masks["mouth"]).float()).to(device)

    def with_ema(fn):
        live = {k: v.clone() for k, v in trainable.state_dict().items()}
        trainable.load_state_dict(ema.state_dict())
        try:
            return fn(vae.eval())
        finally:
            trainable.load_state_dict(live)
            trainable.train()

    start, history, step = time.perf_counter(), [], 0
    while step < steps:
        step += 1
        if time_limit and step == 21:
            steps = plan_steps(steps, warmup, time_limit, (time.perf_counter() - start) / 20, "decoder", log)
        for g in opt.param_groups:
            g["lr"] = warmup_cosine(lr, step, steps, warmup)
        idx = torch.randint(len(faces_u8), (batch_size,), generator=gen)
        x = faces_u8[idx].to(device).float() / 127.5 - 1
        z = mean[idx] + std[idx] * torch.randn(mean[idx].shape, generator=gen).to(device)
        rec = vae.decode(z).sample
        w = weight[idx]
        loss_l1 = (w * (rec - x).abs()).mean() / w.mean()
        loss_grad = (
            sum((wi * (a - b).abs()).mean() for wi, a, b in zip(_diffs(w, mean=True), _diffs(rec), _diffs(x)))
            / w.mean()
        )
        loss = loss_l1 + grad_weight * loss_grad
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        d = min(ema_decay, (1 + step) / (10 + step))
        with torch.no_grad():
            for pe, p in zip(ema.parameters(), trainable.parameters()):
                pe.lerp_(p, 1 - d)
        if step % 50 == 0 or step == steps:
            history.append((step, float(loss_l1.detach()), float(loss_grad.detach())))
        if validate and (step % validate_every == 0 or step == steps):
            log(
                f"decoder step {step}/{steps}: L1 {float(loss_l1.detach()):.4f}  gradient L1 "
                f"{float(loss_grad.detach()):.4f}  "
                f"EMA: {with_ema(validate)}  {time.perf_counter() - start:.0f} s"
            )
    trainable.load_state_dict(ema.state_dict())
    return vae.eval().requires_grad_(False), step, history


def finetune_toy_decoder(
    out: str | os.PathLike,
    device: str = "cpu",
    seed: int = 1,
    faces: int = 8000,
    steps: int = 6000,
    batch: int = 16,
    lr: float = 2e-4,
    region_weight: float = 4.0,
    time_limit: float | None = None,
    workers: int | None = None,
    log=print,
) -> dict:
    """``lafr pretrain-toy --stage decoder``: fine-tune the decoder of the toy VAE saved in ``out``
    on the faces it was trained on (``finetune_decoder``), save it there, and record the run and the
    before/after numbers (whole face, eyes, mouth) in the manifest.  The encoder's weights are saved
    unchanged, so the prior and the adapters stay valid."""
    out = Path(out)
    started = time.perf_counter()
    manifest = json.loads((out / "manifest.json").read_text())
    base = models.load_base(out, device=device)
    before = evaluate(models.load_base(out))
    workers = workers or os.cpu_count() or 1
    log(f"making {faces} synthetic faces (seed {seed}) with {workers} worker(s); before: {before}")
    faces_u8, pts = make_faces(seed, faces, base.vae.config.sample_size, workers=workers, landmarks=True)
    val, val_pts = make_faces(0, 64, base.vae.config.sample_size, offset=200_000, landmarks=True)  # not the test faces
    val = val.float() / 255

    @torch.no_grad()
    def validate(vae):
        rec = (vae_io.decode(vae, vae_io.encode(vae, (val * 2 - 1).to(device))).float().cpu() + 1) / 2
        return ", ".join(f"{k} {float(v.mean()):.2f} dB" for k, v in region_psnr(rec, val, val_pts).items())

    encoder_before = {
        k: v.clone() for k, v in base.vae.state_dict().items() if k.startswith(("encoder.", "quant_conv."))
    }
    vae, done, history = finetune_decoder(
        base.vae,
        faces_u8.to(device),
        pts,
        steps,
        batch,
        lr,
        device,
        seed,
        region_weight=region_weight,
        time_limit=time_limit,
        log=log,
        validate=validate,
    )
    assert all(torch.equal(v, vae.state_dict()[k]) for k, v in encoder_before.items()), "the encoder changed"
    vae.to("cpu", torch.float16).save_pretrained(out / "vae")
    after = evaluate(models.load_base(out))  # what was saved, after the fp16 round trip
    machine = provenance.machine(device)
    manifest["decoder"] = {
        "command": f"lafr pretrain-toy --out {out} --device {device} --seed {seed} --faces {faces} --stage decoder "
        f"--decoder-steps {done} --decoder-batch {batch} --decoder-lr {lr} --decoder-region-weight {region_weight}",
        "what": "the decoder alone fine-tuned from the VAE above; encoder and latent space unchanged "
        "(checked bit for bit)",
        "code_version": provenance.git_version(),
        "device": machine,
        "torch": torch.__version__,
        "steps": done,
        "batch": batch,
        "lr": lr,
        "schedule": "100-step warm-up, cosine to lr/20",
        "ema": 0.999,
        "loss": f"L1 + L1 of image gradients, weighted {1 + region_weight:g}x inside the eye and mouth boxes",
        "seconds": round(time.perf_counter() - started, 1),
        "before": before,
        "final_l1": history[-1][1] if history else None,
    }
    manifest["quality"] = after
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    log(json.dumps(after))
    return manifest
