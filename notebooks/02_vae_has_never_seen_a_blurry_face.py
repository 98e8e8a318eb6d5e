# ---
# jupyter:
#   jupytext:
#     notebook_metadata_filter: -jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/lafr-course/lafr/blob/main/notebooks/02_vae_has_never_seen_a_blurry_face.ipynb)
#
# # 02 · The VAE has never seen a blurry face
#
# Latent diffusion restorers do not work on pixels. They encode the low-quality (LQ) image with the
# VAE of Stable Diffusion and restore in its latent space. That VAE was trained on high-quality
# images only. The paper's premise (Sec. 2.1): "When LQ inputs are passed through this encoder, the
# resulting latent representations diverge from the HQ latent distribution, distorting semantic cues
# that are crucial for accurate reconstruction." LAFR's adapter (notebook 03) exists to fix this.
# The paper's own evidence that fixing it pays is appendix A.3.2: Table 7's rows #4 and #5 differ
# only in the adapter (both pruned, both conv-only LoRA), and "#5 shows a clear performance gain over
# #4" (PSNR 25.99 to 26.26, FID 26.83 to 17.66). Row #1, with no adapter but an unpruned UNet and full
# LoRA, scores a higher PSNR (26.42) than #5, so #1 against #5 says nothing about the adapter alone.
#
# **You will learn to**
# - encode and decode with a VAE, applying the latent scaling factor exactly once;
# - judge a VAE where faces are judged: PSNR inside the eyes and the mouth, not only over the whole face;
# - measure the LQ-to-HQ latent gap, and put it on the scale of how much faces differ from each other;
# - test the paper's premise itself (are LQ latents off the HQ latents' distribution?) with a linear
#   probe and nearest neighbours, and see which part holds at toy scale;
# - meet the tiny profile's "pretrained" diffusion prior, trained on HQ faces only, and check that it
#   draws faces three ways: face space, diversity and sharpness.
#
# **Runtime**: tiny profile 81 s on 2 idle CPU cores of a slow VM (about 45 s on a fast one), offline. Paper profile: a few minutes on a GPU with Stable Diffusion 2.1 base (about 5 GB
# download on first use) and CelebA-Test's HQ faces.

# %%
# Setup: installs lafr only on Colab (locally, follow the README).
import subprocess
import sys

# Paper profile on Colab: True keeps runs/ and the downloads on your Google Drive, so that a new session
# resumes training where the last one stopped (README, "Colab").
keep_on_drive = False

if "google.colab" in sys.modules:
    requirement = "lafr @ git+https://github.com/lafr-course/lafr@main"
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "-q", requirement], capture_output=True, text=True)
    if pip.returncode != 0:
        raise RuntimeError(
            f"pip could not install {requirement!r}:\n{pip.stderr.strip()[-1500:]}\n\n"
            "If that address is wrong or the repository is private, put the right address in `requirement` "
            "above and run this cell again. Or upload a copy of the repository to Colab (Files panel, or "
            "`git clone` it) and run `pip install -e <its folder>` in a cell."
        )
    if keep_on_drive:
        import importlib

        importlib.invalidate_caches()  # see the package pip has just installed
        import lafr

        print("kept on Google Drive:", lafr.keep_on_drive())

# %% tags=["parameters"]
# Parameters (papermill and `lafr tour` override these).
profile = None  # None: the LAFR_PROFILE environment variable, else "tiny"
settings = {}  # profile values to change, as `lafr tour --set`: e.g. {"resolution": 256} on a small GPU
seed = 0
n_faces = 64  # held-out faces to measure on
n_reference = 300  # other HQ faces: the HQ latent distribution that LQ latents are compared with
n_samples = 32  # faces to draw from the prior
sample_steps = 50  # DDIM steps per drawn face (the prior's claims were checked at 50)
# degradation strengths, from the mildest end of the preset (0.0) to its full range (1.0)
strengths = [0.0, 0.25, 0.5, 0.75, 1.0]

# %%
import json
from pathlib import Path

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F

from lafr import analysis, data, degrade, models, pretrain, regions, vae as vae_io, viz, widgets
from lafr.config import get_profile
from lafr.synthetic import HELDOUT_OFFSET, synthetic_face

cfg = get_profile(profile, **settings)
torch.manual_seed(seed)
device = "cuda" if torch.cuda.is_available() else "cpu"
base = models.load_base(cfg.base_model, prompt=cfg.prompt, device=device)
vae = base.vae
print(f"profile {cfg.name!r}: base model {cfg.base_model!r} on {device}")
print(
    f"VAE: {sum(p.numel() for p in vae.parameters()) / 1e6:.2f}M parameters, downsamples x{vae_io.vae_factor(vae)}, "
    f"{vae.config.latent_channels} latent channels, scaling factor {base.scaling_factor:.5f}"
)
print(f"UNet: {sum(p.numel() for p in base.unet.parameters()) / 1e6:.2f}M parameters")
manifest_path = Path(models.resolve(cfg.base_model)) / "manifest.json"
manifest = (
    json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
)  # the toy models say how they were made
if manifest:
    print("\nHow these models were made:")
    for stage in ("vae", "decoder", "prior"):  # "decoder": the decoder alone, fine-tuned after the VAE
        if stage in manifest:
            m = manifest[stage]
            print(f"  {stage}: {m['steps']} steps on {m['device']} in {m['seconds']:.0f} s\n     {m['command']}")


def encode(images):  # images in [0, 1] -> scaled latents, on the CPU
    return vae_io.encode(vae, data.to_model(images.to(device))).float().cpu()


def decode(latents):  # scaled latents -> images in [0, 1], on the CPU
    return data.from_model(vae_io.decode(vae, latents.to(device)).float().cpu())


# %% [markdown]
# ## 1. Encode, decode, and the scaling factor
#
# `lafr.vae.encode` maps images in [-1, 1] to the mean of the VAE's latent distribution and
# multiplies it by the **scaling factor**, so that latents have roughly unit variance, as the
# diffusion model expects (0.18215 for SD 2.1; the toy VAE's was measured the same way, as 1 / std of
# its latents). `lafr.vae.decode` divides by it before decoding. These are the only two places the
# factor appears in `lafr`, which is how we make sure it is applied once.
#
# First, the premise. On HQ faces it never saw, the VAE must reconstruct well: otherwise nothing
# downstream could restore anything.

# %%
faces, _ = data.image_set(cfg.eval_faces, 2 * n_faces + n_reference, cfg.resolution, seed)
hq = faces[:n_faces]  # the held-out faces every section measures on
other = faces[n_faces : 2 * n_faces]  # as many other faces, for a false case in section 2
ref = faces[2 * n_faces :]  # the reference faces: what HQ latents look like
z_hq = encode(hq)
rec = decode(z_hq)
lq_full, _ = degrade.degrade(hq, cfg.degradation, seed=seed)  # the preset's full range
vae_psnr, lq_psnr = float(regions.psnr(rec, hq).mean()), float(regions.psnr(lq_full, hq).mean())
print(f"VAE reconstruction of held-out HQ faces: {vae_psnr:.2f} dB PSNR (bar: {cfg.vae_psnr_bar} dB)")
print(f"the degraded input, for comparison:      {lq_psnr:.2f} dB PSNR ({cfg.degradation} preset, full strength)")
fig = viz.image_grid(
    [*hq[:8], *rec[:8]], ncols=8, size=1.3, suptitle="held-out HQ faces (top) and the VAE's reconstructions (bottom)"
)
viz.save_figure(fig, "02_vae_reconstruction")
plt.show()

# %%
# Claims: the VAE reconstructs HQ faces at the quality bar, clearly better than the LQ input scores.
assert vae_psnr >= cfg.vae_psnr_bar, vae_psnr
assert vae_psnr > lq_psnr + 2.0, (vae_psnr, lq_psnr)

# %% [markdown]
# ### Measure what matters: the eyes
#
# A whole-face PSNR is mostly skin, hair and background, which are easy. People judge a restored face
# by its eyes and mouth: pupils, irises, lashes, lip lines. `lafr.regions.region_psnr` measures PSNR
# inside boxes centred on landmarks: a 12x8 px box on each eye and a 16x8 px box on the mouth (sizes
# at 64 px, scaled with the image). Only the synthetic faces come with landmarks, so this subsection
# draws held-out synthetic faces at the profile's resolution with `lafr.synthetic.synthetic_face`
# (in the tiny profile these are the same faces as above).
#
# The first toy decoder showed why this matters: it scored well over the whole face but drew pupils
# and irises as pale blobs, and inside the eye boxes it was barely better than the degraded input.
# Its decoder was then fine-tuned alone, with extra weight on edges and on the eye and mouth boxes;
# the encoder, and so the latent space and every model trained in it, did not change. The manifest's
# `decoder` record, printed below, has the numbers before and after.

# %%
drawn = [synthetic_face(seed, HELDOUT_OFFSET + i, cfg.resolution) for i in range(n_faces)]
eye_hq, landmarks = torch.stack([f for f, _ in drawn]), torch.stack([p for _, p in drawn])
eye_lq, _ = degrade.degrade(eye_hq, cfg.degradation, seed=seed)
eye_rec = decode(encode(eye_hq))
box_blur = lambda x, k: F.avg_pool2d(F.pad(x, (k // 2,) * 4, mode="replicate"), k, stride=1)  # k x k box blur
rows = {
    "VAE reconstruction": eye_rec,
    "degraded input (LQ)": eye_lq,
    "false case: reconstruction, 3x3-blurred": box_blur(eye_rec, 3),
}
region_db = {
    name: {k: float(v.mean()) for k, v in regions.region_psnr(x, eye_hq, landmarks).items()} for name, x in rows.items()
}
print(f"PSNR (dB) on {n_faces} held-out faces  {'whole face':>11} {'eyes':>6} {'mouth':>6}")
for name, r in region_db.items():
    print(f"  {name:<38} {r['face']:11.2f} {r['eyes']:6.2f} {r['mouth']:6.2f}")
if "decoder" in manifest:
    d = manifest["decoder"]
    print(
        f"\nThe decoder stage: {d['command']}\n  {d['steps']} steps on {d['device']} in {d['seconds']:.0f} s; "
        f"{d['loss']}"
    )
    for label, q in (("before", d["before"]), ("after", manifest["quality"])):
        print(
            f"  {label:>6}, {q['heldout_faces']}: VAE {q['vae_psnr_hq_db']:.2f} dB whole face, "
            f"{q['vae_psnr_hq_eyes_db']:.2f} eyes, {q['vae_psnr_hq_mouth_db']:.2f} mouth; "
            f"LQ {q['lq_psnr_db']:.2f} / {q['lq_psnr_eyes_db']:.2f} / {q['lq_psnr_mouth_db']:.2f}"
        )

masks = regions.region_masks(landmarks[:1], cfg.resolution)
ys, xs = torch.nonzero(masks["eyes"][0, 0], as_tuple=True)
pad = cfg.resolution // 32
band = lambda x, i: x[
    i, :, max(0, int(ys.min()) - pad) : int(ys.max()) + 1 + pad, max(0, int(xs.min()) - pad) : int(xs.max()) + 1 + pad
]
fig = plt.figure(figsize=(11, 3.6))
grid = fig.add_gridspec(3, 5, width_ratios=[1.6, 1, 1, 1, 1])
ax = fig.add_subplot(grid[:, 0])
ax.imshow(eye_hq[0].permute(1, 2, 0).numpy(), interpolation="nearest")
for name, colour in (("eyes", "yellow"), ("mouth", "cyan")):
    ax.contour(masks[name][0, 0].float().numpy(), levels=[0.5], colors=colour, linewidths=1)
ax.set_title("eye boxes (yellow), mouth box (cyan)", fontsize=8)
ax.axis("off")
for row, (label, x) in enumerate((("HQ", eye_hq), ("LQ", eye_lq), ("VAE reconstruction", eye_rec))):
    for col in range(4):  # the eye band of the first face's boxes: these faces are roughly aligned
        ax = fig.add_subplot(grid[row, col + 1])
        ax.imshow(band(x, col).permute(1, 2, 0).clamp(0, 1).numpy(), interpolation="nearest")
        ax.axis("off")
        if col == 0:
            ax.set_title(label, fontsize=8, loc="left")
fig.suptitle("The eyes of four held-out faces: clean, degraded, and through the VAE", fontsize=10)
viz.save_figure(fig, "02_eye_crops")
plt.show()


# %%
# Claim: the decoder draws eyes. Inside the eye boxes the reconstruction scores at least 22 dB (an RMS
# error of 8% of the range, about 20 grey levels of 255) and at least 2 dB above the degraded input,
# the same margin section 1 asks over the whole face.
def draws_eyes(rec_eyes_db, lq_eyes_db):
    return rec_eyes_db >= 22.0 and rec_eyes_db >= lq_eyes_db + 2.0


rec_eyes, lq_eyes = region_db["VAE reconstruction"]["eyes"], region_db["degraded input (LQ)"]["eyes"]
print(
    "blurred reconstruction passes the check:",
    draws_eyes(region_db["false case: reconstruction, 3x3-blurred"]["eyes"], lq_eyes),
)
if "decoder" in manifest:
    b = manifest["decoder"]["before"]
    print(
        "the first decoder (manifest 'before') passes the check:",
        draws_eyes(b["vae_psnr_hq_eyes_db"], b["lq_psnr_eyes_db"]),
    )
assert draws_eyes(rec_eyes, lq_eyes), (rec_eyes, lq_eyes)

# %% [markdown]
# ## 2. The LQ-to-HQ latent gap
#
# Now degrade every face at several strengths (the same seed per face, so only the strength
# changes), encode LQ and HQ, and compare the latents position by position:
#
# - **L1**: mean absolute difference, $\frac{1}{CHW}\lVert z_{LQ} - z_{HQ} \rVert_1$ (the loss LAFR's adapter minimises);
# - **cosine distance**: $1 - \cos(z_{LQ}, z_{HQ})$ of the flattened latents;
# - **per-channel statistics**: the mean and spread of each latent channel, LQ versus HQ.
#
# A gap needs a scale. The **spread** of the HQ latents, the mean L1 between a face's latent and the
# mean HQ latent, says how much faces differ from each other in the same units.

# %%
spread = float((z_hq - z_hq.mean(0)).abs().mean())
rows, z_lq = [], {}
for s in strengths:
    lq, _ = degrade.degrade(hq, cfg.degradation, seed=seed, strength=s)
    z = encode(lq)
    z_lq[s] = (lq, z)
    cos = torch.nn.functional.cosine_similarity(z.flatten(1), z_hq.flatten(1), dim=1)
    rows.append(
        {
            "strength": s,
            "lq_psnr": float(regions.psnr(lq, hq).mean()),
            "l1": float((z - z_hq).abs().mean()),
            "cos_dist": float((1 - cos).mean()),
        }
    )
print(f"{'strength':>8} {'LQ PSNR':>8} {'latent L1':>10} {'1 - cos':>8}")
for r in rows:
    print(f"{r['strength']:8.2f} {r['lq_psnr']:8.2f} {r['l1']:10.4f} {r['cos_dist']:8.4f}")
z_lq_full = encode(lq_full)
gap = float((z_lq_full - z_hq).abs().mean())
print(
    f"\nfor scale: at full strength the gap is {gap:.3f}; the HQ latents' spread is {spread:.3f} ({gap / spread:.0%} "
    "of it)"
)
print("\nper-channel mean / std of the latents (HQ, then LQ at full strength):")
for c in range(z_hq.shape[1]):
    print(
        f"  channel {c}: HQ {float(z_hq[:, c].mean()):+.3f} / {float(z_hq[:, c].std()):.3f}   "
        f"LQ {float(z_lq_full[:, c].mean()):+.3f} / {float(z_lq_full[:, c].std()):.3f}"
    )

# %%
factor = vae_io.vae_factor(vae)


def pool(images):  # an average pool of the pixels down to the latent's size: an "encoder" that learned nothing
    return F.avg_pool2d(data.to_model(images), factor)


p_hq = pool(hq)
p_spread = float((p_hq - p_hq.mean(0)).abs().mean())
pool_rel = [float((pool(z_lq[s][0]) - p_hq).abs().mean()) / p_spread for s in strengths]
fig, ax = plt.subplots(figsize=(5, 3.2))
ax.plot(strengths, [r["l1"] / spread for r in rows], "o-", label="the VAE's latents")
ax.plot(strengths, pool_rel, "s--", c="tab:gray", label=f"{factor}x{factor} average pool of the pixels")
ax.set_xlabel(f"degradation strength ({cfg.degradation} preset)")
ax.set_ylabel("L1 gap / spread between faces")
ax.set_ylim(bottom=0)
ax.grid(alpha=0.3)
ax.legend(fontsize=8)
ax.set_title("The gap grows with degradation: for the VAE and for a plain pooling alike", fontsize=9)
fig.tight_layout()
viz.save_figure(fig, "02_latent_gap_vs_strength")
plt.show()
print(
    "gap / spread at each strength:",
    ", ".join(f"VAE {r['l1'] / spread:.3f} pool {p:.3f}" for r, p in zip(rows, pool_rel)),
)

# %% [markdown]
# The gap grows with the damage, but so does the gap of an average pool of the pixels down to the
# latent's size (4x4 in the tiny profile, 8x8 in the paper profile), which has learned nothing about
# faces: a fixed encoder maps a more damaged image further from the clean one. That curve cannot be
# the paper's point. And the full-strength gap is a small fraction of how much faces
# differ from each other (the spread printed above).
#
# ### Off the HQ distribution?
#
# The premise is that LQ latents "diverge from the HQ latent distribution": they are not simply the
# latents of other, plausible HQ faces. Two tests, both fitted on the `n_reference` other faces and
# asked about the held-out faces, which they never saw:
#
# - **a linear probe**: a logistic regression trained to tell HQ latents from LQ latents (each
#   reference face and one degraded version of it). If LQ latents were drawn from the HQ
#   distribution, no probe could beat chance (50%, balanced accuracy) on new faces. We ask for at
#   least 75%, halfway between chance and perfect.
# - **nearest neighbours**: how far a latent is from its nearest HQ reference latent. If LQ latents
#   landed in empty space, away from every HQ face, they would be farther than held-out HQ latents are.
#
# False cases run alongside. For the probe: a "restorer" whose output is an HQ face, but another
# one (the HQ latents of as many other faces: on the HQ distribution, yet far from the right face),
# and an encoder that undoes the damage (its LQ latent *is* the HQ latent). And the average pool.

# %%
ref_lq, _ = degrade.degrade(ref, cfg.degradation, seed=seed + n_faces)  # one degraded version of each
z_ref, z_ref_lq = encode(ref), encode(ref_lq)
probe = analysis.fit_linear_probe(z_ref, z_ref_lq, seed=seed)
probe_acc = analysis.probe_accuracy(probe, z_hq, z_lq_full)
wrong_face = analysis.probe_accuracy(probe, z_hq, encode(other))  # false case: other faces' HQ latents
undone = analysis.probe_accuracy(probe, z_hq, z_hq)  # false case: LQ latent = HQ latent (0.5 by construction)
pool_probe = analysis.fit_linear_probe(pool(ref), pool(ref_lq), seed=seed)
pool_acc = analysis.probe_accuracy(pool_probe, pool(hq), pool(lq_full))
print("linear probe, held-out faces (balanced accuracy; chance 0.50, bar 0.75):")
print(
    f"  the VAE's latents {probe_acc:.3f}\n  false cases: other faces' HQ latents {wrong_face:.3f}, "
    f"LQ latent = HQ latent {undone:.3f}\n  the {factor}x{factor} average pool of the pixels: {pool_acc:.3f}"
)

d_hq, d_lq = analysis.nearest_distances(z_hq, z_ref), analysis.nearest_distances(z_lq_full, z_ref)
farther = float((d_lq > d_hq).float().mean())
print(
    f"\nnearest HQ reference latent (mean L1 per element): held-out HQ {float(d_hq.mean()):.3f}, "
    f"held-out LQ {float(d_lq.mean()):.3f}"
)
print(f"faces whose LQ latent is farther from the HQ reference latents than their HQ latent is: {farther:.0%}")
print(f"for scale: LQ-to-HQ gap {gap:.3f}, spread between faces {spread:.3f}")

# %%
# Claim: on faces it never saw, a linear probe tells LQ latents from HQ latents far better than chance
# (at least 75%, halfway to perfect), and it does not mistake other faces' HQ latents for LQ ones.
assert wrong_face < 0.75, wrong_face
assert probe_acc >= 0.75, probe_acc

# %% [markdown]
# What this shows, in the tiny profile (the paper profile prints its own numbers above):
#
# - **The probe holds.** LQ latents are a population a linear probe can pick out on new faces: they
#   are off the HQ distribution, as the paper says. Other faces' HQ latents, though much farther from
#   the right face than any LQ latent, score near chance: the probe detects damage, not distance.
# - **But not because the VAE is special.** The average pool of the pixels passes the probe too: a
#   degraded face is off the distribution of clean faces in pixels already, and the VAE, trained on HQ
#   faces only, does not undo that. An encoder that did would be the adapter's job done for free.
# - **The nearest-neighbour test fails at toy scale.** LQ latents are *not* farther from the nearest HQ
#   reference latent than new HQ latents are: the mean distances printed above are about equal, and
#   fewer than half the faces have the farther LQ latent. The damage moves a latent a short way (the
#   gap) compared with the distance to the nearest other face. So LQ latents do not sit in empty
#   space; they sit a short, consistent step off the HQ distribution, in a direction a linear probe
#   can find.
#
# The figure shows both views of the same held-out latents. On the left, a t-SNE as in the paper's
# Figure 7: each face's LQ latent lands on its own HQ latent, because t-SNE keeps neighbours together
# and the gap is small against the spread between faces; it shows no shift at this scale. On the
# right, the same latents placed along the direction in which faces differ most (the first principal
# component of the reference HQ latents) and along the probe's direction: there LQ latents sit mostly
# on one side of the probe's line and HQ latents on the other, the step the probe finds.

# %%
both = torch.cat([z_hq, z_lq_full])
emb = analysis.tsne_2d(both.flatten(1).numpy(), seed=seed)
axis = analysis.FaceSpace(z_ref, k=1)
face_axis = ((both.flatten(1) - axis.mean) @ axis.components[0]).numpy()
probe_axis = probe.decision_function(both.flatten(1).numpy())
n = len(z_hq)
fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
for ax, (x, y) in zip(axes, ((emb[:, 0], emb[:, 1]), (face_axis, probe_axis))):
    for i in range(0, n, 4):  # some pairs, joined
        ax.plot([x[i], x[n + i]], [y[i], y[n + i]], c="gray", lw=0.5)
    ax.scatter(x[:n], y[:n], s=12, label="HQ latents")
    ax.scatter(x[n:], y[n:], s=12, label="LQ latents (full strength)")
    ax.legend(fontsize=8)
axes[0].set_xticks([])
axes[0].set_yticks([])
axes[0].set_title("t-SNE (as in the paper's Figure 7): LQ on top of HQ", fontsize=9)
axes[1].axhline(0, c="k", lw=0.6, ls=":")
axes[1].set_xlabel("position along the main direction faces differ in")
axes[1].set_ylabel("position along the probe's direction")
axes[1].set_title("The same latents on two chosen axes: LQ sits a step off HQ", fontsize=9)
fig.tight_layout()
viz.save_figure(fig, "02_tsne_lq_hq_latents")
plt.show()

# %% [markdown]
# ## 3. What a misaligned latent looks like
#
# Below: HQ, LQ, and the decoding of the LQ latent, with a map of where the latent moved (the
# mean over channels of $|z_{LQ} - z_{HQ}|$ at each latent position; one colour scale for all rows).
#
# Decoding the LQ latent does not give back the LQ image. The noise and JPEG blocks are mostly gone,
# because a VAE that only ever saw clean faces has no way to draw them: the decoded face looks
# cleaner than the input. But most of the blur stays. Hair strands and lashes that the degradation
# erased are not redrawn, and in the heavily blurred faces the eyes come back as pale shapes, without
# their irises (a mildly degraded face keeps its irises).
# The decoded face is closer to the LQ image than to the HQ face, and it holds far less fine detail
# than the decoded HQ latent does (the numbers under the figure). Nothing in the latent says "this was a sharp face". The gap maps show
# where the latent moved: mostly along edges (the hair line, the outline of the face, the eyes),
# where the detail was; flat background hardly moves.

# %%
lq6, z6 = lq_full[:4], z_lq_full[:4]
dec_lq = decode(z_lq_full)
gap_map = (z6 - z_hq[:4]).abs().mean(1)
fig, axes = plt.subplots(4, 4, figsize=(7.6, 7.4))
for i in range(4):
    for ax, img in zip(axes[i, :3], (hq[i], lq6[i], dec_lq[i])):
        ax.imshow(img.permute(1, 2, 0).clamp(0, 1).numpy(), interpolation="nearest")
    im = axes[i, 3].imshow(gap_map[i].numpy(), cmap="magma", vmin=0, vmax=float(gap_map.max()))
for ax, title in zip(axes[0], ("HQ", "LQ", "LQ latent, decoded", "where it moved")):
    ax.set_title(title, fontsize=9)
for ax in axes.flat:
    ax.axis("off")
fig.colorbar(im, ax=axes[:, 3], shrink=0.6, label="mean absolute latent difference")
viz.save_figure(fig, "02_decoded_lq_latents")
plt.show()
print(
    f"the decoded LQ latent against the LQ image: {float(regions.psnr(dec_lq, lq_full).mean()):.2f} dB; "
    f"against the HQ face: {float(regions.psnr(dec_lq, hq).mean()):.2f} dB (the LQ image itself: {lq_psnr:.2f} dB)"
)
hf = {
    name: float(analysis.high_frequency_energy(x).mean())
    for name, x in (("HQ", hq), ("LQ", lq_full), ("decoded LQ latent", dec_lq), ("VAE reconstruction", rec))
}
print("fine detail (energy a 3x3 blur removes, x1e4):", ", ".join(f"{k} {v * 1e4:.1f}" for k, v in hf.items()))

# %% [markdown]
# ## 4. Real photos: outside the toy VAE's world
#
# The tiny profile's VAE was trained on synthetic faces only, and it knows nothing else. With its
# first decoder, the project measured it on 100 real aligned face photos at 64 px: 23.0 dB, against
# 29.3 dB on synthetic faces (those photos do not ship with `lafr`). The sharper decoder raised the
# synthetic faces to about 32.6 dB but not the real ones: on 12 real FFHQ photos the project keeps for
# its tests, 23.0 dB before and 23.2 dB after. Below are the two real
# portraits that ship inside scikit-image and matplotlib. In the tiny profile, expect them to reconstruct
# worse than the synthetic faces of section 1: nothing in the tiny profile restores real photos. For real photos use
# the paper profile, whose VAE is Stable Diffusion 2.1's.

# %%
photos = data.packaged_face_photos(cfg.resolution)
real = torch.stack(list(photos.values()))
z_real = encode(real)
real_rec = decode(z_real)
real_lq, _ = degrade.degrade(real, cfg.degradation, seed=seed)
real_gap = (encode(real_lq) - z_real).abs().flatten(1).mean(1)
for i, name in enumerate(photos):
    print(
        f"{name}: VAE reconstruction {float(regions.psnr(real_rec[i : i + 1], real[i : i + 1])):.2f} dB, "
        f"latent gap at full strength {float(real_gap[i]):.3f}"
    )
print(f"held-out synthetic faces (section 1): {vae_psnr:.2f} dB, latent gap {gap:.3f}")
fig = viz.image_grid(
    [*real, *real_rec], ncols=len(real), size=1.8, suptitle="real photos (top) and their VAE reconstructions (bottom)"
)
viz.save_figure(fig, "02_real_photos")
plt.show()

# %% [markdown]
# ## 5. Explore
#
# Pick a face and a degradation strength. The explorer needs a live kernel; the cell after it draws
# the same figure statically, for readers of a rendered notebook.

# %%
widgets.latent_explorer(vae, hq[:16], cfg.degradation)

# %%
fig = widgets.latent_gap_figure(vae, hq[3], cfg.degradation, strength=0.75, seed=3)
viz.save_figure(fig, "02_latent_explorer_static")
plt.show()

# %% [markdown]
# ## 6. The pretrained diffusion prior is real
#
# Later chapters fine-tune a diffusion UNet into a one-step restorer. In the paper profile that is
# SD 2.1's UNet; in the tiny profile, a small UNet trained (by `lafr pretrain-toy`) to denoise the toy
# VAE's latents of HQ faces, with SD 2.1's noise schedule. Drawing from it (DDIM, 50 steps) should give faces.
#
# "These are faces" needs numbers, and one number is easy to fool. Three checks, each against
# held-out real faces:
#
# - **face space** ("eigenfaces"): the share of each image's variation that the top 32 principal
#   components of many HQ faces explain. Near 1 for faces, near 0 for noise. Bar: 85% of what real
#   faces score, set before the prior was trained (an early prior, trained for 687 steps, scored
#   about 68% and drew blobs). A blurred face, or the mean face in a random tint, passes it.
# - **diversity**: the mean RMS difference between two samples, after removing each image's mean
#   colour. A prior that collapsed to one face scores near 0. Bar: at least half of real faces'.
# - **sharpness**: the energy a 3x3 blur removes (`analysis.high_frequency_energy`). A blurry prior
#   scores low. Bar: at least half of real faces'. Samples pass through the decoder, so this checks
#   the decoder too.
#
# Each false case must fail at least one check: held-out faces box-blurred (3x3 and 9x9), the mean
# face in random tints, uniform noise, and the prior's own starting noise, decoded (a prior that
# does nothing).

# %%
samples = pretrain.sample_faces(base, n=n_samples, steps=sample_steps, seed=seed)
if samples.shape[-1] != cfg.resolution:
    samples = data.resize_square(samples, cfg.resolution)
fig = viz.image_grid(
    list(samples[:32]), ncols=8, size=1.1, suptitle=f"Samples from the pretrained prior (DDIM, {sample_steps} steps)"
)
viz.save_figure(fig, "02_prior_samples")
plt.show()

space = analysis.FaceSpace(ref[: 256 if cfg.resolution <= 128 else 64], k=32)
real_checks = {
    "face space": float(space.score(hq).mean()),
    "diversity": analysis.diversity(hq),
    "sharpness": float(analysis.high_frequency_energy(hq).mean()),
}
bars = {"face space": 0.85, "diversity": 0.5, "sharpness": 0.5}


def prior_checks(images):  # each check as a fraction of what held-out real faces score
    got = {
        "face space": float(space.score(images).mean()),
        "diversity": analysis.diversity(images),
        "sharpness": float(analysis.high_frequency_energy(images).mean()),
    }
    return {k: got[k] / real_checks[k] for k in bars}


g = torch.Generator().manual_seed(seed)
z_start = torch.randn((n_samples, *z_hq.shape[1:]), generator=g)
cases = {
    "prior samples": samples,
    "false: held-out faces, 3x3 box blur": box_blur(hq[:n_samples], 3),
    "false: held-out faces, 9x9 box blur": box_blur(hq[:n_samples], 9),
    "false: mean face, random tints": (ref.mean(0) + 0.4 * torch.rand(n_samples, 3, 1, 1, generator=g) - 0.2).clamp(
        0, 1
    ),
    "false: uniform noise": torch.rand(samples.shape, generator=g),
    "false: starting noise, decoded": decode(z_start),
}
results = {name: prior_checks(x) for name, x in cases.items()}
print(f"{'fraction of real faces':<38}" + "".join(f"{k:>12}" for k in bars) + "   passes all")
print(f"{'bar':<38}" + "".join(f"{v:12.2f}" for v in bars.values()))
for name, r in results.items():
    print(f"{name:<38}" + "".join(f"{r[k]:12.2f}" for k in bars) + f"   {all(r[k] >= bars[k] for k in bars)}")
print("\nraw values for real faces:", ", ".join(f"{k} {v:.4g}" for k, v in real_checks.items()))

# %%
# Claim: the prior draws faces: as face-like, at least half as varied and at least half as sharp as real
# faces. Every false case fails at least one of the three checks.
passes = {name: all(r[k] >= bars[k] for k in bars) for name, r in results.items()}
assert not any(v for name, v in passes.items() if name.startswith("false")), passes
assert passes["prior samples"], results["prior samples"]

# %% [markdown]
# ## What this shows, and what it does not
#
# - A VAE trained only on HQ faces reconstructs HQ faces well, and with its fine-tuned decoder it
#   draws their eyes too (check the eyes, not only the whole-face PSNR).
# - It does not undo the damage: decoding the LQ latent gives back a clean-looking but blurry face. The LQ latent lands a short step away from the HQ latent, short against how much
#   faces differ, and further the heavier the degradation (as it does for a plain pooling of the pixels).
# - The paper's premise, narrowly: a linear probe tells LQ latents from HQ latents on faces it never
#   saw, so LQ latents are off the HQ distribution. At toy scale they are not farther from the nearest HQ
#   face than new HQ faces are; the misalignment is a consistent step, not a jump into empty space.
#   That step is what the paper's adapter (notebook 03) learns to remove.
# - The tiny profile's models know synthetic faces only (about 23 dB on 100 real aligned photos the
#   project measured, and the two portraits above print their own, lower numbers, against 32.6 dB on
#   synthetic faces). Real photos are the paper profile's job.
# - The prior draws varied faces, about half as sharp as real ones, by three checks that each reject a
#   different way of faking it (a blurred face, one face in many tints, noise).
#
# Next: **03 · A codebook that pulls LQ latents home.**
