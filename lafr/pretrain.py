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

The VAE's decoder was later made sharper with the encoder frozen (``lafr.pretrain_decoder``), and
the loss's toy networks are trained by ``lafr.pretrain_facenets``: the other ``--stage`` values of
``lafr pretrain-toy``.

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
import time
from multiprocessing import Pool
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

from lafr import models, provenance, vae as vae_io
from lafr.checkpoints import load_checkpoint, save_checkpoint
from lafr.datasets import cache_dir
from lafr.degrade import degrade
from lafr.regions import REGIONS, region_psnr
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


def warmup_cosine(lr: float, step: int, steps: int, warmup: int) -> float:
    """A linear warm-up over ``warmup`` steps, then a cosine from lr down to lr/20 at ``steps``."""
    frac = max(0.0, (step - warmup) / max(1, steps - warmup))
    return lr * min(1.0, step / warmup) * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * frac)))


def plan_steps(steps: int, warmup: int, time_limit: float, per_step: float, what: str, log) -> int:
    """How many steps fit the time limit at the speed measured so far (never fewer than the warm-up
    and one).  The run is planned once, early, so its schedule ends where it stops; a machine that
    gets busier later makes it run longer than the limit."""
    planned = min(steps, max(warmup + 1, int(time_limit / per_step)))
    log(f"{what}: {per_step * 1000:.0f} ms a step; planning {planned} steps for the {time_limit:.0f} s limit")
    return planned


# ---- stage 1: the VAE ----------------------------------------------------------------------------


def train_vae(
    faces_u8,
    steps: int,
    batch_size: int,
    lr: float,
    device,
    seed: int,
    kl_weight: float = 1e-6,
    time_limit: float | None = None,
    log=print,
):
    """Train the toy VAE on HQ faces; returns (vae, steps done, loss history)."""
    torch.manual_seed(seed)
    vae = models.build_toy_vae().to(device).train()
    opt = torch.optim.AdamW(vae.parameters(), lr=lr, weight_decay=0.0)
    gen = torch.Generator().manual_seed(seed)
    start, history, step, warmup = time.perf_counter(), [], 0, 200
    while step < steps:
        step += 1
        if time_limit and step == 51:
            steps = plan_steps(steps, warmup, time_limit, (time.perf_counter() - start) / 50, "vae", log)
        for g in opt.param_groups:
            g["lr"] = warmup_cosine(lr, step, steps, warmup)
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
            log(
                f"vae step {step}/{steps}: L1 {float(loss_rec.detach()):.4f}  KL {float(loss_kl.detach()):.2f}  "
                f"{time.perf_counter() - start:.0f} s"
            )
    return vae.eval(), step, history


@torch.no_grad()
def latent_scaling_factor(vae, faces_u8, device, n: int = 2048) -> float:
    """1 / std of the VAE's latent means over faces: the toy model's 0.18215."""
    vae.register_to_config(scaling_factor=1.0)  # measure raw latents
    x = faces_u8[:n].to(device).float() / 127.5 - 1.0
    z = vae_io.encode(vae, x, batch_size=256)
    return float(1.0 / z.float().std())


# ---- stage 2: the diffusion prior ----------------------------------------------------------------


def train_prior(
    latents,
    prompt_embeds,
    steps: int,
    batch_size: int,
    lr: float,
    device,
    seed: int,
    ema_decay: float = 0.999,
    time_limit: float | None = None,
    log=print,
    checkpoint=None,
    state_file: Path | None = None,
    resume: bool = False,
    checkpoint_every: int = 500,
):
    """Train the toy UNet to predict the noise added to latents (SD's objective); returns the
    EMA weights, the steps done and the loss history.

    Every ``checkpoint_every`` steps ``checkpoint(ema, step)`` is called and, with ``state_file``, the whole training
    state (weights, EMA, AdamW, random generator, step) is saved there, so that ``resume=True``
    continues exactly where a run stopped, in this session or a later one."""
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
def sample_prior(
    unet, scheduler_config, prompt_embeds, n: int, steps: int = 50, seed: int = 0, device="cpu"
) -> torch.Tensor:
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
    quality["regions"] = "; ".join(
        f"{k}: {w}x{h} px boxes centred on {', '.join('+'.join(g) for g in groups)}"
        for k, (groups, (w, h)) in REGIONS.items()
    )
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
    return cache_dir() / "pretrain-toy" / "prior_state.safetensors"


def pretrain_toy(
    out: str | os.PathLike,
    device: str = "cpu",
    seed: int = 1,
    faces: int = 20_000,
    vae_steps: int = 20_000,
    vae_batch: int = 32,
    vae_lr: float = 1e-3,
    prior_steps: int = 20_000,
    prior_batch: int = 64,
    prior_lr: float = 2e-4,
    time_limit: float | None = None,
    workers: int | None = None,
    stage: str = "all",
    resume: bool = False,
    log=print,
) -> dict:
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
    machine = provenance.machine(device)
    common = f"lafr pretrain-toy --out {out} --device {device} --seed {seed} --faces {faces}"

    if stage == "all":
        t0 = time.perf_counter()
        vae, vae_done, vae_hist = train_vae(
            faces_u8, vae_steps, vae_batch, vae_lr, device, seed, time_limit=time_limit, log=log
        )
        sf = latent_scaling_factor(vae, faces_u8, device)
        vae.register_to_config(scaling_factor=sf)
        log(f"latent scaling factor {sf:.4f}")
        gen = torch.Generator().manual_seed(seed)
        prompt_embeds = torch.randn(models.TOY_PROMPT_SHAPE, generator=gen)  # the toy's constant "prompt"
        manifest = {
            "seed": seed,
            "training_faces": f"{faces} synthetic faces, seed {seed}, {size} px "
            "(HQ only: the VAE never sees a degraded face)",
            "weights_dtype": "float16",
            "vae": {
                "command": f"{common} --vae-steps {vae_done} --vae-batch {vae_batch} --vae-lr {vae_lr}",
                "code_version": provenance.git_version(),
                "device": machine,
                "torch": torch.__version__,
                "steps": vae_done,
                "batch": vae_batch,
                "lr": vae_lr,
                "loss": "L1 + 1e-6 KL",
                "seconds": round(time.perf_counter() - t0, 1),
                "scaling_factor": sf,
                "final_l1": vae_hist[-1][1] if vae_hist else None,
            },
        }
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
            "code_version": provenance.git_version(),
            "device": machine,
            "torch": torch.__version__,
            "steps": steps_done,
            "status": status,
            "batch": prior_batch,
            "lr": prior_lr,
            "objective": "epsilon, SD 2.1 DDPM schedule",
            "ema": 0.999,
            "seconds": round(time.perf_counter() - t0, 1),
            "reproduce": f"{common} --stage prior --prior-steps {steps_done} --prior-batch {prior_batch} "
            f"--prior-lr {prior_lr}",
            "resumable_state": f"pretrain-toy/{state_file.name} in the lafr cache (LAFR_CACHE, default ~/.cache/lafr); "
            "not committed; `--resume` continues from it",
        }

    def checkpoint(ema, step):  # keep the latest prior, and its record, on disk while a long run goes on
        copy.deepcopy(ema).to("cpu", torch.float16).save_pretrained(out / "unet")
        manifest["prior"] = prior_record(step, f"in progress: {step} of {prior_steps} steps")
        (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        log(f"prior checkpoint saved at step {step}")

    out.mkdir(parents=True, exist_ok=True)
    if stage == "all":
        save_toy(out, vae, models.build_toy_unet(), prompt_embeds, manifest)
    manifest["quality"] = evaluate(models.load_base(out))  # the VAE's numbers; the prior cannot change them
    unet, prior_done, prior_hist = train_prior(
        latents,
        prompt_embeds,
        prior_steps,
        prior_batch,
        prior_lr,
        device,
        seed,
        time_limit=time_limit,
        log=log,
        checkpoint=checkpoint,
        state_file=state_file,
        resume=resume,
    )
    status = (
        "done" if prior_done >= prior_steps else f"stopped by the time limit at {prior_done} of {prior_steps} steps"
    )
    manifest["prior"] = prior_record(prior_done, status)
    manifest["prior"]["final_mse"] = prior_hist[-1][1] if prior_hist else None
    save_toy(out, vae, unet, prompt_embeds, manifest)
    base = models.load_base(out)  # measure what was saved, after the fp16 round trip
    manifest["quality"] = evaluate(base)
    manifest["total_seconds_last_run"] = round(time.perf_counter() - started, 1)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    log(json.dumps(manifest["quality"]))
    return manifest
