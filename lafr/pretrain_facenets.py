"""``lafr pretrain-toy --stage identity | structure``: train and measure the tiny profile's loss networks.

The tiny profile's F_id and F_fs (``lafr.facenets``) are small CNNs trained here, once and from a
seed, on synthetic people seen under many views (pose, light, background, smile), half of them
degraded, and half of all of them shown as the toy VAE renders them (``render_share``): a restorer's
output is a VAE decoding, so the loss networks must judge identity and geometry in a decoded face,
not the look of the VAE's rendering.  A rendered face is decode((1 - u) z_in + u z_HQ) for a random
u: the round trip decode(z_HQ) when the face is clean, anything between decode(z_LQ) and decode(z_HQ)
(what a restorer may produce on its way) when it is degraded.  The rendered faces keep their person's
label and landmarks.  Trained on these:

* the identity encoder with an ArcFace loss (additive angular margin), to tell people apart under
  any view;
* the structure network by regressing the renderer's 19 landmarks, on clean and degraded faces.

Each is measured on people it never saw and saved in ``lafr/weights`` (fp16) with a manifest of how,
and how well.  CI never retrains them.  Taught in notebook 04.
"""

from __future__ import annotations

import json
import math
import os
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from lafr import provenance, vae as vae_io
from lafr.degrade import degrade
from lafr.facenets import TOY_DIRS, TOY_IDENTITY, TOY_STRUCTURE, ToyIdentityEncoder, ToyStructureNet, load_toy
from lafr.models import TOY_NAME, load_base
from lafr.pretrain import warmup_cosine
from lafr.synthetic import HELDOUT_OFFSET, synthetic_face

# ---- data for training and measuring them --------------------------------------------------------


def _face(args):
    seed, index, view, size, degrade_seed, strength, pooled = args
    if pooled:
        torch.set_num_threads(1)  # one thread per worker process: the pool already fills the cores
    img, pts = synthetic_face(seed, index, size, view=view)
    lq = degrade(img, "tiny", seed=degrade_seed, strength=strength)[0] if strength > 0 else img
    # numpy, not torch: a pool passes torch tensors as file descriptors, and runs out of them
    return (img * 255 + 0.5).to(torch.uint8).numpy(), (lq * 255 + 0.5).to(torch.uint8).numpy(), pts.numpy()


def identity_faces(
    seed: int,
    identities: int,
    views: int,
    size: int = 64,
    offset: int = 0,
    degrade_share: float = 0.5,
    workers: int = 1,
    render_share: float = 0.0,
    vae=None,
) -> dict:
    """Synthetic people seen under several views: ``identities * views`` faces, with a label (which
    person), their landmarks, and the training input of each in ``lq``: degraded (``tiny`` preset at a
    random strength in [0, 1]) for a share ``degrade_share`` of them, the clean face otherwise; then,
    for a share ``render_share``, that input as ``vae`` renders it (``render``; default VAE: the toy
    one).  ``form`` says which each is: 0 clean, 1 degraded, 2 rendered clean (the round trip),
    3 rendered degraded.  uint8 images."""
    rng = np.random.default_rng([seed, offset, 7])
    strengths = np.where(
        rng.uniform(size=identities * views) < degrade_share, rng.uniform(size=identities * views), 0.0
    )
    jobs = [
        (
            seed,
            offset + i,
            v,
            size,
            (seed * 1_000_003 + offset + i) * 64 + v,
            float(strengths[i * views + v]),
            workers > 1,
        )
        for i in range(identities)
        for v in range(views)
    ]
    if workers > 1:
        with Pool(workers) as pool:
            faces = pool.map(_face, jobs, chunksize=64)
    else:
        faces = [_face(j) for j in jobs]
    out = {
        "hq": torch.from_numpy(np.stack([f[0] for f in faces])),
        "lq": torch.from_numpy(np.stack([f[1] for f in faces])),
        "landmarks": torch.from_numpy(np.stack([f[2] for f in faces])),
        "label": torch.arange(identities).repeat_interleave(views),
        "strength": torch.from_numpy(strengths).float(),
        "form": torch.from_numpy((strengths > 0).astype(np.int64)),
    }
    if render_share > 0:
        chosen = torch.from_numpy(np.flatnonzero(rng.uniform(size=identities * views) < render_share))
        u = torch.from_numpy(rng.uniform(size=len(chosen))).float()
        vae = vae if vae is not None else load_base(TOY_NAME).vae
        out["lq"][chosen] = render(vae, out["hq"][chosen], out["lq"][chosen], u)
        out["form"][chosen] += 2
    return out


@torch.no_grad()
def render(vae, hq_u8: torch.Tensor, x_u8: torch.Tensor, u: torch.Tensor, batch: int = 128) -> torch.Tensor:
    """How a latent restorer's output looks: decode((1 - u) z_x + u z_HQ) per face, with z the VAE
    latents of the clean faces ``hq_u8`` and of the inputs ``x_u8`` (uint8); ``u`` in [0, 1] per face.
    u = 1, or a clean input, gives the round trip decode(z_HQ); u = 0 the VAE alone, decode(z_x)."""
    out = []
    for i in range(0, len(hq_u8), batch):
        hq, x, w = _images(hq_u8[i : i + batch], "cpu"), _images(x_u8[i : i + batch], "cpu"), u[i : i + batch]
        z_hq = vae_io.encode(vae, hq)
        same = (x == hq).flatten(1).all(1)  # a clean input: no second encoding needed
        z_x = z_hq.clone()
        if not same.all():
            z_x[~same] = vae_io.encode(vae, x[~same])
        w = w.view(-1, 1, 1, 1).to(z_hq)
        y = vae_io.decode(vae, (1 - w) * z_x + w * z_hq)
        out.append(((y + 1) * 127.5 + 0.5).clamp(0, 255).to(torch.uint8).cpu())
    return torch.cat(out)


def _images(u8: torch.Tensor, device) -> torch.Tensor:
    return u8.to(device).float() / 127.5 - 1.0


@torch.no_grad()
def embed(net: nn.Module, images_u8: torch.Tensor, batch: int = 256, device="cpu") -> torch.Tensor:
    """Features of uint8 images, in batches, on the CPU."""
    return torch.cat(
        [net(_images(images_u8[i : i + batch], device)).float().cpu() for i in range(0, len(images_u8), batch)]
    )


# ---- training: ArcFace for identity, landmark regression for structure ---------------------------


def arcface_logits(
    emb: torch.Tensor, weight: torch.Tensor, labels: torch.Tensor, scale: float, margin: float
) -> torch.Tensor:
    """ArcFace (Deng et al. 2019): cosine logits to each class centre, with an additive angular
    margin on the true class (cos(theta + m)), all times ``scale``."""
    cos = F.normalize(emb) @ F.normalize(weight).T
    sin = (1 - cos.square()).clamp(min=1e-7).sqrt()
    with_margin = cos * math.cos(margin) - sin * math.sin(margin)
    # past theta = pi - m, cos(theta + m) stops decreasing; fall back to a linear penalty (insightface)
    with_margin = torch.where(cos > math.cos(math.pi - margin), with_margin, cos - math.sin(math.pi - margin) * margin)
    target = F.one_hot(labels, weight.shape[0]).bool()
    return scale * torch.where(target, with_margin, cos)


def _loop(
    net,
    head_params,
    loss_fn,
    n: int,
    steps: int,
    batch: int,
    lr: float,
    seed: int,
    log,
    validate=None,
    every: int = 250,
    time_limit: float | None = None,
):
    """AdamW with a warm-up and cosine decay over random batches of ``n`` samples."""
    gen = torch.Generator().manual_seed(seed)
    params = list(net.parameters()) + list(head_params)
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=5e-4)
    history, start = [], time.perf_counter()
    net.train()
    for step in range(1, steps + 1):
        for g in opt.param_groups:
            g["lr"] = warmup_cosine(lr, step, steps, warmup=max(1, min(200, steps // 10)))
        idx = torch.randint(n, (batch,), generator=gen)
        loss = loss_fn(idx, gen)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        history.append(loss.item())
        if step % every == 0 or step == steps:
            msg = f"step {step}/{steps}  loss {np.mean(history[-every:]):.4f}  {time.perf_counter() - start:.0f} s"
            if validate is not None:
                net.eval()
                msg += f"  {validate(net)}"
                net.train()
            log(msg)
        if time_limit and time.perf_counter() - start > time_limit:
            log(f"time limit reached at step {step}")
            break
    net.eval()
    return step, history


def train_identity(
    faces: dict,
    steps: int,
    batch: int = 128,
    lr: float = 2e-3,
    seed: int = 1,
    scale: float = 32.0,
    margin: float = 0.3,
    device="cpu",
    log=print,
    validate=None,
    time_limit=None,
):
    """Train a ``ToyIdentityEncoder`` with the ArcFace loss on ``identity_faces`` (their ``lq`` copies:
    degraded or clean; random horizontal flips: a mirrored face is the same person)."""
    torch.manual_seed(seed)
    net = ToyIdentityEncoder(image_size=faces["hq"].shape[-1]).to(device)
    n_ids = int(faces["label"].max()) + 1
    centres = nn.Parameter(torch.randn(n_ids, net.config.embed_dim, device=device) * 0.01)

    def loss_fn(idx, gen):
        x = _images(faces["lq"][idx], device)  # the degraded copy, or the clean face when it has none
        flip = (torch.rand(len(idx), generator=gen) < 0.5).to(device)
        x = torch.where(flip[:, None, None, None], x.flip(-1), x)
        return F.cross_entropy(
            arcface_logits(net(x), centres, faces["label"][idx].to(device), scale, margin),
            faces["label"][idx].to(device),
        )

    done, history = _loop(
        net, [centres], loss_fn, len(faces["label"]), steps, batch, lr, seed, log, validate, time_limit=time_limit
    )
    return net, done, history


def train_structure(
    faces: dict,
    steps: int,
    batch: int = 128,
    lr: float = 2e-3,
    seed: int = 1,
    device="cpu",
    log=print,
    validate=None,
    time_limit=None,
):
    """Train a ``ToyStructureNet`` to regress the landmarks (L1 in pixels) of clean and degraded faces."""
    torch.manual_seed(seed)
    size = faces["hq"].shape[-1]
    net = ToyStructureNet(image_size=size).to(device)
    target = (faces["landmarks"] + 0.5) / size * 2 - 1  # normalised coordinates
    net.mean_shape.copy_(target.mean(0))

    def loss_fn(idx, gen):
        pred = net.normalised_landmarks(_images(faces["lq"][idx], device))
        return (pred - target[idx].to(device)).abs().mean() * size / 2  # pixels

    done, history = _loop(net, [], loss_fn, len(target), steps, batch, lr, seed, log, validate, time_limit=time_limit)
    return net, done, history


# ---- how good they are ---------------------------------------------------------------------------


def _pairs(n: int, views: int):
    """Same-person pairs (view 0, view 1 of each person) and different-person pairs (view 0 of
    person i, view 1 of person i + 1), as flat indices into ``identity_faces`` order."""
    same = [(i * views, i * views + 1) for i in range(n)]
    other = [(i * views, ((i + 1) % n) * views + 1) for i in range(n)]
    return same, other


def _cos(e: torch.Tensor, pairs) -> torch.Tensor:
    a, b = zip(*pairs)
    return F.cosine_similarity(e[list(a)], e[list(b)])


def renderings(hq_u8: torch.Tensor, vae=None, preset: str = "tiny", first_seed: int = HELDOUT_OFFSET) -> dict:
    """Faces (uint8) as a restorer's loss meets them: the LQ photo (``preset`` at full strength,
    degradation seeds from ``first_seed``), decode(z_LQ) (the VAE alone) and decode(z_HQ) (the clean
    face's round trip: the best a latent restorer with this VAE can do), all uint8.  Default VAE: the
    toy one.  Taught in notebook 04."""
    n = len(hq_u8)
    lq, _ = degrade(hq_u8.float() / 255, preset, seed=list(range(first_seed, first_seed + n)))
    lq = (lq * 255 + 0.5).to(torch.uint8)
    vae = vae if vae is not None else load_base(TOY_NAME).vae
    return {
        "LQ photo": lq,
        "decode(z_LQ)": render(vae, hq_u8, lq, torch.zeros(n)),
        "decode(z_HQ)": render(vae, hq_u8, hq_u8, torch.ones(n)),
    }


@torch.no_grad()
def evaluate_identity(net, identities: int = 200, seed: int = 0, vae=None) -> dict:
    """Held-out verification of a toy identity encoder on people it never saw (seed 0, indices from
    ``HELDOUT_OFFSET``; the threshold is chosen on other people, indices from 200,000): accuracy on
    same-person (another view) versus different-person pairs, the mean cosines, and the cosine
    between a face and its ``tiny``-preset degraded copy.  Then what a restorer's loss needs: the
    identity term (1 - cosine to the clean face) of the LQ photo, of decode(z_LQ) and of decode(z_HQ);
    how often decode(z_HQ) is closer to the truth than the LQ photo; and verification again with the
    second photo of each pair (another view) shown as the VAE renders it (its round trip), at the same
    threshold: does the encoder still tell people apart in decoded faces?"""

    def cosines(offset):
        faces = identity_faces(seed, identities, 2, offset=offset, degrade_share=0.0)
        e = embed(net, faces["hq"])
        same, other = _pairs(identities, 2)
        return faces, e, _cos(e, same), _cos(e, other)

    _, _, v_same, v_other = cosines(200_000)
    grid = torch.linspace(-1, 1, 401)
    acc = torch.stack([((v_same > t).float().mean() + (v_other <= t).float().mean()) / 2 for t in grid])
    threshold = float(grid[acc.argmax()])
    faces, e, same, other = cosines(HELDOUT_OFFSET)
    hq0, e0 = faces["hq"][::2], e[::2]
    shown = {k: embed(net, x) for k, x in renderings(hq0, vae).items()}
    term = {k: 1 - F.cosine_similarity(e0, v) for k, v in shown.items()}
    rt1 = embed(
        net, render(vae or load_base(TOY_NAME).vae, faces["hq"][1::2], faces["hq"][1::2], torch.ones(identities))
    )
    same_rt, other_rt = F.cosine_similarity(e0, rt1), F.cosine_similarity(e0, rt1.roll(1, 0))
    return {
        "heldout": f"{identities} people never trained on (synthetic seed {seed}, indices {HELDOUT_OFFSET}+), "
        "views 0 and 1",
        "verification_accuracy": round(
            float(((same > threshold).float().mean() + (other <= threshold).float().mean()) / 2), 4
        ),
        "threshold": round(threshold, 3),
        "cos_same_person_other_view": round(float(same.mean()), 4),
        "cos_different_people": round(float(other.mean()), 4),
        "cos_gap": round(float(same.mean() - other.mean()), 4),
        "cos_same_face_degraded_tiny": round(float(1 - term["LQ photo"].mean()), 4),
        "cos_same_face_vae_round_trip": round(float(1 - term["decode(z_HQ)"].mean()), 4),
        "identity_term_lq_photo": round(float(term["LQ photo"].mean()), 4),
        "identity_term_decode_z_lq": round(float(term["decode(z_LQ)"].mean()), 4),
        "identity_term_decode_z_hq": round(float(term["decode(z_HQ)"].mean()), 4),
        "share_decode_z_hq_closer_than_lq_photo": round(
            float((term["decode(z_HQ)"] < term["LQ photo"]).float().mean()), 4
        ),
        "verification_accuracy_other_view_rendered": round(
            float(((same_rt > threshold).float().mean() + (other_rt <= threshold).float().mean()) / 2), 4
        ),
        "cos_same_person_other_view_rendered": round(float(same_rt.mean()), 4),
        "cos_different_people_other_view_rendered": round(float(other_rt.mean()), 4),
    }


@torch.no_grad()
def evaluate_structure(net, n: int = 256, seed: int = 0, vae=None) -> dict:
    """Landmark error of a toy structure network in pixels (mean distance to the renderer's true
    landmarks) on held-out faces, clean, under the ``tiny`` preset and after the VAE round trip, and the
    mean-face baseline; then the structure term (1 - cosine of the zero-centred landmarks, as the loss
    computes it) of the LQ photo, decode(z_LQ) and decode(z_HQ) against the clean face, and how often
    decode(z_HQ) is closer than the LQ photo."""
    faces = identity_faces(seed, n, 1, offset=HELDOUT_OFFSET, degrade_share=0.0)
    shown = renderings(faces["hq"], vae)
    size = faces["hq"].shape[-1]
    truth = faces["landmarks"]
    mean = (net.mean_shape.cpu() + 1) / 2 * size - 0.5

    def err(images_u8):
        return float((net.landmarks(_images(images_u8, "cpu")) - truth).norm(dim=-1).mean())

    f_hq = net(_images(faces["hq"], "cpu"))
    term = {k: 1 - F.cosine_similarity(f_hq, net(_images(x, "cpu"))) for k, x in shown.items()}
    return {
        "heldout": f"{n} faces never trained on (synthetic seed {seed}, indices {HELDOUT_OFFSET}+), {size} px",
        "landmark_error_px_clean": round(err(faces["hq"]), 3),
        "landmark_error_px_degraded_tiny": round(err(shown["LQ photo"]), 3),
        "landmark_error_px_vae_round_trip": round(err(shown["decode(z_HQ)"]), 3),
        "landmark_error_px_mean_face": round(float((mean - truth).norm(dim=-1).mean()), 3),
        "structure_term_lq_photo": round(float(term["LQ photo"].mean()), 4),
        "structure_term_decode_z_lq": round(float(term["decode(z_LQ)"].mean()), 4),
        "structure_term_decode_z_hq": round(float(term["decode(z_HQ)"].mean()), 4),
        "share_decode_z_hq_closer_than_lq_photo": round(
            float((term["decode(z_HQ)"] < term["LQ photo"]).float().mean()), 4
        ),
    }


# ---- `lafr pretrain-toy --stage identity | structure` --------------------------------------------


def pretrain_toy_network(
    stage: str,
    out: str | os.PathLike | None = None,
    device: str = "cpu",
    seed: int = 1,
    identities: int = 4000,
    views: int = 6,
    steps: int = 2000,
    batch: int = 128,
    lr: float = 2e-3,
    time_limit: float | None = None,
    workers: int | None = None,
    render_share: float = 0.5,
    log=print,
) -> dict:
    """Train the toy identity encoder (``stage="identity"``) or structure network (``"structure"``)
    on ``identities`` synthetic people x ``views`` views (half of them degraded; a share
    ``render_share`` of all shown as the toy VAE renders them), measure it on
    held-out people, and save it (fp16) with a manifest: the command, seed, code version, device,
    time, and the quality numbers measured on what was saved."""
    if stage not in ("identity", "structure"):
        raise ValueError(f"stage must be 'identity' or 'structure', got {stage!r}")
    name = TOY_IDENTITY if stage == "identity" else TOY_STRUCTURE
    out = Path(out) if out else TOY_DIRS[name]
    started = time.perf_counter()
    workers = workers or os.cpu_count() or 1
    log(f"making {identities} synthetic people x {views} views (seed {seed}) with {workers} worker(s)")
    faces = identity_faces(seed, identities, views, workers=workers, render_share=render_share)
    log(f"faces ready, {render_share:.0%} of them rendered by the toy VAE: {time.perf_counter() - started:.0f} s")
    if stage == "identity":

        def validate(net):
            return json.dumps({k: v for k, v in evaluate_identity(net, 100, seed=0).items() if k != "heldout"})

        net, done, history = train_identity(
            faces, steps, batch, lr, seed, device=device, log=log, validate=validate, time_limit=time_limit
        )
        what = {
            "loss": "ArcFace (additive angular margin 0.3, scale 32) over the training people",
            "augmentation": "horizontal flips",
        }
    else:

        def validate(net):
            return json.dumps({k: v for k, v in evaluate_structure(net, 64).items() if k != "heldout"})

        net, done, history = train_structure(
            faces, steps, batch, lr, seed, device=device, log=log, validate=validate, time_limit=time_limit
        )
        what = {
            "loss": "L1 of the landmarks, in pixels",
            "feature": "the landmarks minus the training faces' mean (zero-centred)",
        }
    out.mkdir(parents=True, exist_ok=True)
    net.to("cpu").half().save_pretrained(out)
    saved = load_toy(str(out))  # measure what was saved, after the fp16 round trip
    quality = evaluate_identity(saved) if stage == "identity" else evaluate_structure(saved)
    machine = provenance.machine(device)
    manifest = {
        "name": name,
        "command": f"lafr pretrain-toy --stage {stage} --out {provenance.shown_path(out)} --device {device} "
        f"--seed {seed} --identities {identities} --views {views} --net-steps {done} --net-batch {batch} "
        f"--net-lr {lr} --render-share {render_share}",
        "code_version": provenance.git_version(),
        "device": machine,
        "torch": torch.__version__,
        "seed": seed,
        "training_faces": f"{identities} synthetic people (seed {seed}, indices 0..{identities - 1}) x {views} views; "
        f"half degraded with the tiny preset at a random strength; {render_share:.0%} of all shown as the toy VAE "
        "renders them, decode((1 - u) z_in + u z_HQ) with u uniform in [0, 1]",
        "steps": done,
        "batch": batch,
        "lr": lr,
        "schedule": "warm-up, cosine decay (AdamW, weight decay 5e-4)",
        **what,
        "parameters": sum(p.numel() for p in saved.parameters()),
        "weights_dtype": "float16",
        "final_loss": round(float(np.mean(history[-100:])), 4) if history else None,
        "seconds": round(time.perf_counter() - started, 1),
        "quality": quality,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    log(json.dumps(quality))
    return manifest
