"""``lafr pretrain-toy``: make the tiny profile's "pretrained" VAE and diffusion prior.

LAFR starts from Stable Diffusion, whose VAE and UNet were trained on billions of high-quality
images and never on degraded ones.  The tiny profile needs the same premise at toy scale, so this
module trains, once and reproducibly from a seed:

1. a small ``AutoencoderKL`` on high-quality synthetic faces only (L1 reconstruction plus a tiny
   KL term, as in latent diffusion);
2. its latent scaling factor, 1 / std of the latents, as SD's 0.18215 was found;
3. a small ``UNet2DConditionModel`` prior on those latents: epsilon prediction under SD 2.1's DDPM
   noise schedule, conditioned on a constant prompt embedding (the toy has no text encoder), with
   an exponential moving average of its weights.

The result is saved in the diffusers layout (``vae/``, ``unet/``, ``scheduler/``,
``prompt_embeds.safetensors``) with a ``manifest.json``: the exact command, seed, code version,
device, training time and quality numbers, so ``lafr.models.load_base("lafr-toy")`` loads it
through the same path as SD 2.1.  Weights are stored in fp16 to keep the repository small; the
quality numbers are measured after that round trip.

Minutes of training are not enough (a 3-minute CPU trial gave a 17 dB VAE and brown blobs): the
committed weights were trained on a GPU for a few minutes; on 2 CPU cores the same command takes
hours.  CI never retrains them.  Taught in notebook 02.
"""

from __future__ import annotations

import copy
import json
import math
import os
import platform
import subprocess
import sys
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

from lafr import models, vae as vae_io
from lafr.degrade import degrade
from lafr.synthetic import synthetic_face


# ---- data ----------------------------------------------------------------------------------------


def _face_u8(args):
    seed, index, size = args
    img, pts = synthetic_face(seed, index, size)
    return (img * 255 + 0.5).to(torch.uint8), pts


def make_faces(seed: int, n: int, size: int, offset: int = 0, workers: int = 1, landmarks: bool = False):
    """``n`` synthetic faces as a uint8 tensor n x 3 x size x size (compact in memory); with
    ``landmarks=True`` also their landmarks (n x K x 2 pixels)."""
    jobs = [(seed, offset + i, size) for i in range(n)]
    if workers > 1:
        with Pool(workers) as pool:
            faces = pool.map(_face_u8, jobs, chunksize=64)
    else:
        faces = [_face_u8(j) for j in jobs]
    images = torch.stack([f[0] for f in faces])
    return (images, torch.stack([f[1] for f in faces])) if landmarks else images


def _batch(faces_u8: torch.Tensor, idx: torch.Tensor, device) -> torch.Tensor:
    """uint8 faces -> float [-1, 1] on the device, with random horizontal flips (augmentation)."""
    x = faces_u8[idx].to(device).float() / 127.5 - 1.0
    flip = torch.rand(len(x), device=device) < 0.5
    return torch.where(flip[:, None, None, None], x.flip(-1), x)


def psnr(a: torch.Tensor, b: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """PSNR in dB per image of [0, 1] images (N x 3 x H x W); with ``mask`` (N x 1 x H x W, 0/1)
    only over the pixels it marks."""
    err = (a.float() - b.float()) ** 2
    if mask is None:
        mse = err.flatten(1).mean(1)
    else:
        m = mask.float().expand_as(err)
        mse = (err * m).flatten(1).sum(1) / m.flatten(1).sum(1).clamp_min(1)
    return 10 * torch.log10(1.0 / mse.clamp_min(1e-10))


# The regions a face restorer must get right, as boxes (width, height in pixels at 64 px) centred
# on landmarks of the synthetic faces: both eyes (pupil, iris, lashes) and the mouth (lip lines).
REGIONS = {"eyes": ((("eye_left",), ("eye_right",)), (12, 8)),
           "mouth": ((("mouth_left", "lip_top", "lip_bottom", "mouth_right"),), (16, 8))}  # fmt: skip


def region_masks(landmarks: torch.Tensor, size: int) -> dict[str, torch.Tensor]:
    """0/1 masks N x 1 x size x size of each region in ``REGIONS`` for faces with these landmarks
    (N x K x 2, pixel coordinates of a 64 px face scaled to ``size``).  Taught in notebook 02."""
    from lafr.synthetic import LANDMARK_NAMES

    scale = size / 64
    ys, xs = torch.arange(size).view(1, size, 1), torch.arange(size).view(1, 1, size)
    masks = {}
    for name, (groups, (w, h)) in REGIONS.items():
        m = torch.zeros(len(landmarks), size, size, dtype=torch.bool)
        for group in groups:
            centre = landmarks[:, [LANDMARK_NAMES.index(k) for k in group]].float().mean(1)  # N x 2
            x0 = torch.round(centre[:, 0] - w * scale / 2).view(-1, 1, 1)
            y0 = torch.round(centre[:, 1] - h * scale / 2).view(-1, 1, 1)
            m |= (xs >= x0) & (xs < x0 + round(w * scale)) & (ys >= y0) & (ys < y0 + round(h * scale))
        masks[name] = m[:, None]
    return masks


def latent_regions(landmarks: torch.Tensor, size: int, factor: int) -> torch.Tensor:
    """The eye and mouth boxes at a latent's resolution: a 0/1 map N x size/factor x size/factor,
    1 where at least half of the latent position's pixels lie in a box.  Taught in notebook 03."""
    m = region_masks(landmarks, size)
    inside = (m["eyes"] | m["mouth"]).float()
    return (F.avg_pool2d(inside, factor)[:, 0] >= 0.5).long()


def region_psnr(images: torch.Tensor, hq: torch.Tensor, landmarks: torch.Tensor) -> dict[str, torch.Tensor]:
    """PSNR per image over the whole face and inside each region (``REGIONS``) of [0, 1] images.
    A whole-face PSNR of 29 dB can hide eyes at 19 dB.  Taught in notebook 02."""
    out = {"face": psnr(images, hq)}
    for name, m in region_masks(landmarks, hq.shape[-1]).items():
        out[name] = psnr(images, hq, m)
    return out


def _warmup_cosine(lr: float, step: int, steps: int, warmup: int) -> float:
    """A linear warm-up over ``warmup`` steps, then a cosine from lr down to lr/20 at ``steps``."""
    frac = max(0.0, (step - warmup) / max(1, steps - warmup))
    return lr * min(1.0, step / warmup) * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * frac)))


def _plan(steps: int, warmup: int, time_limit: float, per_step: float, what: str, log) -> int:
    """How many steps fit the time limit at the speed measured so far (never fewer than the warm-up
    and one).  The run is planned once, early, so its schedule ends where it stops; a machine that
    gets busier later makes it run longer than the limit."""
    planned = min(steps, max(warmup + 1, int(time_limit / per_step)))
    log(f"{what}: {per_step * 1000:.0f} ms a step; planning {planned} steps for the {time_limit:.0f} s limit")
    return planned


# ---- stage 1: the VAE ----------------------------------------------------------------------------


def train_vae(faces_u8, steps: int, batch_size: int, lr: float, device, seed: int,
              kl_weight: float = 1e-6, time_limit: float | None = None, log=print):  # fmt: skip
    """Train the toy VAE on HQ faces; returns (vae, steps done, loss history)."""
    torch.manual_seed(seed)
    vae = models.build_toy_vae().to(device).train()
    opt = torch.optim.AdamW(vae.parameters(), lr=lr, weight_decay=0.0)
    gen = torch.Generator().manual_seed(seed)
    start, history, step, warmup = time.perf_counter(), [], 0, 200
    while step < steps:
        step += 1
        if time_limit and step == 51:
            steps = _plan(steps, warmup, time_limit, (time.perf_counter() - start) / 50, "vae", log)
        for g in opt.param_groups:
            g["lr"] = _warmup_cosine(lr, step, steps, warmup)
        x = _batch(faces_u8, torch.randint(len(faces_u8), (batch_size,), generator=gen), device)
        post = vae.encode(x).latent_dist
        rec = vae.decode(post.sample()).sample
        loss_rec = (rec - x).abs().mean()
        loss_kl = post.kl().mean() / x[0].numel()
        loss = loss_rec + kl_weight * loss_kl
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % 100 == 0 or step == steps:
            history.append((step, float(loss_rec.detach())))
            log(f"vae step {step}/{steps}: L1 {float(loss_rec.detach()):.4f}  KL {float(loss_kl.detach()):.2f}  {time.perf_counter() - start:.0f} s")
    return vae.eval(), step, history


@torch.no_grad()
def latent_scaling_factor(vae, faces_u8, device, n: int = 2048) -> float:
    """1 / std of the VAE's latent means over faces: the toy model's 0.18215."""
    vae.register_to_config(scaling_factor=1.0)  # measure raw latents
    x = faces_u8[:n].to(device).float() / 127.5 - 1.0
    z = vae_io.encode(vae, x, batch_size=256)
    return float(1.0 / z.float().std())


# ---- stage 1b: a sharper decoder -----------------------------------------------------------------


def _diffs(t: torch.Tensor, mean: bool = False):
    """Horizontal and vertical finite differences of images (or, with ``mean``, the average of
    neighbouring values, to weight the differences)."""
    if mean:
        return (t[..., :, 1:] + t[..., :, :-1]) / 2, (t[..., 1:, :] + t[..., :-1, :]) / 2
    return t[..., :, 1:] - t[..., :, :-1], t[..., 1:, :] - t[..., :-1, :]


def finetune_decoder(vae, faces_u8, landmarks, steps: int, batch_size: int, lr: float, device, seed: int,
                     region_weight: float = 4.0, grad_weight: float = 1.0, ema_decay: float = 0.999,
                     warmup: int = 100, time_limit: float | None = None, log=print, validate=None,
                     validate_every: int = 250):  # fmt: skip
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
        stats = [vae.encode(faces_u8[i : i + 256].to(device).float() / 127.5 - 1).latent_dist for i in range(0, len(faces_u8), 256)]
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
            steps = _plan(steps, warmup, time_limit, (time.perf_counter() - start) / 20, "decoder", log)
        for g in opt.param_groups:
            g["lr"] = _warmup_cosine(lr, step, steps, warmup)
        idx = torch.randint(len(faces_u8), (batch_size,), generator=gen)
        x = faces_u8[idx].to(device).float() / 127.5 - 1
        z = mean[idx] + std[idx] * torch.randn(mean[idx].shape, generator=gen).to(device)
        rec = vae.decode(z).sample
        w = weight[idx]
        loss_l1 = (w * (rec - x).abs()).mean() / w.mean()
        loss_grad = sum((wi * (a - b).abs()).mean() for wi, a, b in zip(_diffs(w, mean=True), _diffs(rec), _diffs(x))) / w.mean()
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
            log(f"decoder step {step}/{steps}: L1 {float(loss_l1.detach()):.4f}  gradient L1 {float(loss_grad.detach()):.4f}  "
                f"EMA: {with_ema(validate)}  {time.perf_counter() - start:.0f} s")  # fmt: skip
    trainable.load_state_dict(ema.state_dict())
    return vae.eval().requires_grad_(False), step, history


# ---- stage 2: the diffusion prior ----------------------------------------------------------------


def train_prior(latents, prompt_embeds, steps: int, batch_size: int, lr: float, device, seed: int,
                ema_decay: float = 0.999, time_limit: float | None = None, log=print, checkpoint=None,
                state_file: Path | None = None, resume: bool = False, checkpoint_every: int = 500):  # fmt: skip
    """Train the toy UNet to predict the noise added to latents (SD's objective); returns the
    EMA weights, the steps done and the loss history.

    Every ``checkpoint_every`` steps ``checkpoint(ema, step)`` is called and, with ``state_file``, the whole training
    state (weights, EMA, AdamW, random generator, step) is saved there, so that ``resume=True``
    continues exactly where a run stopped, in this session or a later one."""
    from lafr.train import load_checkpoint, save_checkpoint

    torch.manual_seed(seed)
    unet = models.build_toy_unet().to(device).train()
    ema = copy.deepcopy(unet).eval().requires_grad_(False)
    both = torch.nn.ModuleDict({"unet": unet, "ema": ema})
    sched = models.noise_scheduler()
    alphas = sched.alphas_cumprod.to(device)
    opt = torch.optim.AdamW(unet.parameters(), lr=lr, weight_decay=0.0)
    gen = torch.Generator().manual_seed(seed + 1)
    emb = prompt_embeds.to(device)
    start, history, step = time.perf_counter(), [], 0
    if resume:
        if not (state_file and state_file.exists()):
            raise FileNotFoundError(f"{state_file}: no prior training state to resume from")
        state = load_checkpoint(state_file, both, opt)
        step = state["step"]
        gen.set_state(torch.tensor(state["rng"], dtype=torch.uint8))
        log(f"prior: resumed at step {step} from {state_file}")
    while step < steps:
        step += 1
        for g in opt.param_groups:
            g["lr"] = lr * min(1.0, step / 500)
        idx = torch.randint(len(latents), (batch_size,), generator=gen)
        z0 = latents[idx].to(device)
        z0 = torch.where((torch.rand(len(z0), generator=gen) < 0.5).to(device)[:, None, None, None], z0.flip(-1), z0)
        t = torch.randint(0, sched.config.num_train_timesteps, (batch_size,), generator=gen).to(device)
        noise = torch.randn(z0.shape, generator=gen).to(device)
        a = alphas[t].view(-1, 1, 1, 1)
        zt = a.sqrt() * z0 + (1 - a).sqrt() * noise
        pred = unet(zt, t, emb.expand(batch_size, -1, -1)).sample
        loss = F.mse_loss(pred, noise)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(unet.parameters(), 1.0)
        opt.step()
        d = min(ema_decay, (1 + step) / (10 + step))
        with torch.no_grad():
            for pe, p in zip(ema.parameters(), unet.parameters()):
                pe.lerp_(p, 1 - d)
        if step % 100 == 0 or step == steps:
            history.append((step, float(loss.detach())))
            log(f"prior step {step}/{steps}: MSE {float(loss.detach()):.4f}  {time.perf_counter() - start:.0f} s")
        if step % checkpoint_every == 0:
            if state_file:
                save_checkpoint(state_file, both, opt, {"step": step, "rng": gen.get_state().tolist()})
            if checkpoint:
                checkpoint(ema, step)
        if time_limit and time.perf_counter() - start > time_limit:
            log(f"prior: time limit reached after {step} steps")
            break
    return ema, step, history


@torch.no_grad()
def sample_prior(unet, scheduler_config, prompt_embeds, n: int, steps: int = 50, seed: int = 0, device="cpu") -> torch.Tensor:
    """Draw ``n`` latents from the prior with DDIM (``steps`` steps, eta 0).  Taught in notebook 02."""
    from diffusers import DDIMScheduler

    sched = DDIMScheduler.from_config(scheduler_config)
    sched.set_timesteps(steps)
    c = unet.config
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn((n, c.in_channels, c.sample_size, c.sample_size), generator=gen).to(device)
    emb = prompt_embeds.to(device=device, dtype=next(unet.parameters()).dtype).expand(n, -1, -1)
    for t in sched.timesteps:
        eps = unet(z.to(emb.dtype), t, emb).sample.float()
        z = sched.step(eps, t, z).prev_sample
    return z


# ---- the whole recipe ----------------------------------------------------------------------------


def _git_version() -> str:
    if os.environ.get("LAFR_CODE_VERSION"):  # set when the checkout travels without its .git
        return os.environ["LAFR_CODE_VERSION"]
    root = Path(__file__).resolve().parents[1]
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "lafr/*.py"], cwd=root, capture_output=True, text=True).stdout.strip()
        return rev + ("+uncommitted changes in lafr/*.py" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"


@torch.no_grad()
def evaluate(base: models.BaseModels, n: int = 256, seed: int = 0, offset: int = 100_000, preset: str = "tiny") -> dict:
    """Quality numbers of a toy VAE on held-out faces: reconstruction PSNR of HQ faces, over the
    whole face and inside the eye and mouth boxes, and the same for their degraded versions
    against the same faces (the bar to beat)."""
    hq, pts = make_faces(seed, n, base.vae.config.sample_size, offset=offset, landmarks=True)
    hq = hq.float() / 255
    lq, _ = degrade(hq, preset, seed=offset)
    rec = (vae_io.decode(base.vae, vae_io.encode(base.vae, hq * 2 - 1)).float().cpu() + 1) / 2
    quality = {"heldout_faces": f"synthetic seed {seed}, indices {offset}..{offset + n - 1}"}
    for what, images in (("vae_psnr_hq", rec), ("lq_psnr", lq)):
        for region, value in region_psnr(images, hq, pts).items():
            quality[what + ("" if region == "face" else f"_{region}") + "_db"] = round(float(value.mean()), 2)
    quality["regions"] = "; ".join(f"{k}: {w}x{h} px boxes centred on {', '.join('+'.join(g) for g in groups)}"
                                   for k, (groups, (w, h)) in REGIONS.items())  # fmt: skip
    quality["lq_preset"] = preset
    return quality


@torch.no_grad()
def sample_faces(base: models.BaseModels, n: int = 32, steps: int = 50, seed: int = 0) -> torch.Tensor:
    """``n`` faces drawn from the toy prior (DDIM) and decoded: n x 3 x H x W in [0, 1]."""
    device = next(base.unet.parameters()).device
    z = sample_prior(base.unet, base.scheduler.config, base.prompt_embeds, n, steps, seed, device)
    return (vae_io.decode(base.vae, z).float().cpu() + 1) / 2


def save_toy(out: Path, vae, unet, prompt_embeds, manifest: dict) -> None:
    """Save in the diffusers layout, weights in fp16, plus the manifest."""
    out.mkdir(parents=True, exist_ok=True)
    vae.to("cpu", torch.float16).save_pretrained(out / "vae")
    unet.to("cpu", torch.float16).save_pretrained(out / "unet")
    models.noise_scheduler().save_pretrained(out / "scheduler")
    save_file({"prompt_embeds": prompt_embeds.to(torch.float16).contiguous()}, str(out / "prompt_embeds.safetensors"))
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


def prior_state_file() -> Path:
    """Where the prior's whole training state is kept between runs (``--resume``); not committed."""
    from lafr.data import cache_dir

    return cache_dir() / "pretrain-toy" / "prior_state.safetensors"


def pretrain_toy(out: str | os.PathLike, device: str = "cpu", seed: int = 1, faces: int = 20_000,
                 vae_steps: int = 20_000, vae_batch: int = 32, vae_lr: float = 1e-3,
                 prior_steps: int = 20_000, prior_batch: int = 64, prior_lr: float = 2e-4,
                 time_limit: float | None = None, workers: int | None = None, stage: str = "all",
                 resume: bool = False, log=print) -> dict:  # fmt: skip
    """Train and save the toy VAE and prior (see the module docstring); returns the manifest.

    ``stage="prior"`` keeps the VAE already saved in ``out`` and (re)trains only the prior, so the
    two stages may run on different machines; the manifest records each stage's own command."""
    if stage not in ("all", "prior"):
        raise ValueError(f"stage must be 'all' or 'prior', got {stage!r}")
    out = Path(out)
    started = time.perf_counter()
    if str(device).startswith("cuda"):  # same seed, same weights on the same GPU and software
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
    workers = workers or os.cpu_count() or 1
    size = models.TOY_VAE_CONFIG["sample_size"]
    log(f"making {faces} synthetic faces (seed {seed}) with {workers} worker(s)")
    faces_u8 = make_faces(seed, faces, size, workers=workers).to(device)  # uint8: 12 kB a face
    machine = torch.cuda.get_device_name() if str(device).startswith("cuda") else f"CPU ({os.cpu_count()} cores)"
    common = f"lafr pretrain-toy --out {out} --device {device} --seed {seed} --faces {faces}"

    if stage == "all":
        t0 = time.perf_counter()
        vae, vae_done, vae_hist = train_vae(faces_u8, vae_steps, vae_batch, vae_lr, device, seed, time_limit=time_limit, log=log)
        sf = latent_scaling_factor(vae, faces_u8, device)
        vae.register_to_config(scaling_factor=sf)
        log(f"latent scaling factor {sf:.4f}")
        gen = torch.Generator().manual_seed(seed)
        prompt_embeds = torch.randn(models.TOY_PROMPT_SHAPE, generator=gen)  # the toy's constant "prompt"
        manifest = {
            "seed": seed,
            "training_faces": f"{faces} synthetic faces, seed {seed}, {size} px (HQ only: the VAE never sees a degraded face)",
            "weights_dtype": "float16",
            "vae": {"command": f"{common} --vae-steps {vae_done} --vae-batch {vae_batch} --vae-lr {vae_lr}",
                    "code_version": _git_version(), "device": machine, "torch": torch.__version__,
                    "steps": vae_done, "batch": vae_batch, "lr": vae_lr, "loss": "L1 + 1e-6 KL",
                    "seconds": round(time.perf_counter() - t0, 1), "scaling_factor": sf,
                    "final_l1": vae_hist[-1][1] if vae_hist else None},
        }  # fmt: skip
    else:
        base = models.load_base(out, device=device)
        vae, prompt_embeds = base.vae.float(), base.prompt_embeds.float().cpu()
        manifest = json.loads((out / "manifest.json").read_text())

    latents = vae_io.encode(vae, faces_u8.float() / 127.5 - 1.0, batch_size=512).float()

    state_file = prior_state_file()
    t0 = time.perf_counter()

    def prior_record(steps_done: int, status: str) -> dict:
        flags = f"--stage prior --prior-steps {prior_steps} --prior-batch {prior_batch} --prior-lr {prior_lr}"
        return {
            "command": f"{common} {flags}" if stage == "prior" else f"(trained with the vae) {flags}",
            "code_version": _git_version(), "device": machine, "torch": torch.__version__,
            "steps": steps_done, "status": status, "batch": prior_batch, "lr": prior_lr,
            "objective": "epsilon, SD 2.1 DDPM schedule", "ema": 0.999,
            "seconds": round(time.perf_counter() - t0, 1),
            "reproduce": f"{common} --stage prior --prior-steps {steps_done} --prior-batch {prior_batch} --prior-lr {prior_lr}",
            "resumable_state": f"pretrain-toy/{state_file.name} in the lafr cache (LAFR_CACHE, default ~/.cache/lafr); "
                               "not committed; `--resume` continues from it",
        }  # fmt: skip

    def checkpoint(ema, step):  # keep the latest prior, and its record, on disk while a long run goes on
        copy.deepcopy(ema).to("cpu", torch.float16).save_pretrained(out / "unet")
        manifest["prior"] = prior_record(step, f"in progress: {step} of {prior_steps} steps")
        (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        log(f"prior checkpoint saved at step {step}")

    out.mkdir(parents=True, exist_ok=True)
    if stage == "all":
        save_toy(out, vae, models.build_toy_unet(), prompt_embeds, manifest)
    manifest["quality"] = evaluate(models.load_base(out))  # the VAE's numbers; the prior cannot change them
    unet, prior_done, prior_hist = train_prior(latents, prompt_embeds, prior_steps, prior_batch, prior_lr, device, seed,
                                               time_limit=time_limit, log=log, checkpoint=checkpoint,
                                               state_file=state_file, resume=resume)  # fmt: skip
    status = "done" if prior_done >= prior_steps else f"stopped by the time limit at {prior_done} of {prior_steps} steps"
    manifest["prior"] = prior_record(prior_done, status)
    manifest["prior"]["final_mse"] = prior_hist[-1][1] if prior_hist else None
    save_toy(out, vae, unet, prompt_embeds, manifest)
    base = models.load_base(out)  # measure what was saved, after the fp16 round trip
    manifest["quality"] = evaluate(base)
    manifest["total_seconds_last_run"] = round(time.perf_counter() - started, 1)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    log(json.dumps(manifest["quality"]))
    return manifest


def finetune_toy_decoder(out: str | os.PathLike, device: str = "cpu", seed: int = 1, faces: int = 8000,
                         steps: int = 6000, batch: int = 16, lr: float = 2e-4, region_weight: float = 4.0,
                         time_limit: float | None = None, workers: int | None = None, log=print) -> dict:  # fmt: skip
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

    encoder_before = {k: v.clone() for k, v in base.vae.state_dict().items() if k.startswith(("encoder.", "quant_conv."))}
    vae, done, history = finetune_decoder(base.vae, faces_u8.to(device), pts, steps, batch, lr, device, seed,
                                          region_weight=region_weight, time_limit=time_limit, log=log, validate=validate)  # fmt: skip
    assert all(torch.equal(v, vae.state_dict()[k]) for k, v in encoder_before.items()), "the encoder changed"
    vae.to("cpu", torch.float16).save_pretrained(out / "vae")
    after = evaluate(models.load_base(out))  # what was saved, after the fp16 round trip
    machine = torch.cuda.get_device_name() if str(device).startswith("cuda") else f"CPU ({os.cpu_count()} cores)"
    manifest["decoder"] = {
        "command": f"lafr pretrain-toy --out {out} --device {device} --seed {seed} --faces {faces} --stage decoder "
                   f"--decoder-steps {done} --decoder-batch {batch} --decoder-lr {lr} --decoder-region-weight {region_weight}",
        "what": "the decoder alone fine-tuned from the VAE above; encoder and latent space unchanged (checked bit for bit)",
        "code_version": _git_version(), "device": machine, "torch": torch.__version__,
        "steps": done, "batch": batch, "lr": lr, "schedule": "100-step warm-up, cosine to lr/20", "ema": 0.999,
        "loss": f"L1 + L1 of image gradients, weighted {1 + region_weight:g}x inside the eye and mouth boxes",
        "seconds": round(time.perf_counter() - started, 1),
        "before": before, "final_l1": history[-1][1] if history else None,
    }  # fmt: skip
    manifest["quality"] = after
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    log(json.dumps(after))
    return manifest
