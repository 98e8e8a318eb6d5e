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
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/lafr-course/lafr/blob/main/notebooks/06_measuring_a_face_restorer.ipynb)
#
# # 06 · Measuring a face restorer
#
# Notebook 05 judged the restorers by PSNR and by the loss's own terms. Neither can say whether a
# restored face is still *the same person*: PSNR rewards a blurry average, and the networks inside the
# loss are the ones the restorer was trained to please. The paper measures identity with ArcFace while
# training with CLIP (Sec. 3.1): **a network that trains the model never also judges it.** This notebook
# builds the paper's metric suite (Tables 1 and 2), checks that each judge sees what it claims to,
# and reads our numbers beside the paper's, saying which are comparable and which are not.
#
# **You will learn to**
# - name, for every metric, the network that produces it, and check in code that none of them is a
#   network the loss trains with;
# - check that the identity angle (Deg) and the landmark distance (LMD) rank real degradations sensibly
#   before trusting them;
# - judge the committed toy restorers and every simpler option on held-out faces, per face, with
#   bootstrap intervals;
# - print our results beside the paper's Table 1, and toy Tables 5 and 7 with identity and landmarks;
# - judge real photos without ground truth (no-reference metrics), and with a ground truth we made;
# - measure any folder of restored faces with `lafr evaluate`.
#
# **Runtime**: tiny profile 133 s on 2 idle CPU cores of a slow VM (about 70 s on a fast one), offline: identity and landmarks come
# from dlib's networks, which the install brings; the metrics that download weights (LPIPS, DISTS,
# NIQE, MUSIQ, CLIP-IQA, MANIQA, FID) are not asked for in the tiny profile (section 1 lists them). Paper profile: a GPU, the trained
# systems of notebook 05, CelebA-Test, LFW-Test, WebPhoto-Test and Wider-Test (downloaded, a few GB) and
# pyiqa's metric weights. Numbers quoted in the text are the tiny profile's.

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
n_faces = 128  # held-out faces the restorers are judged on (notebook 05 and the manifests use 128)
n_real = 8  # images per real benchmark restored in section 6 (None: the whole set, as the paper; FID needs it)
restorer_weights = None  # None: the profile's trained restorer (tiny: the committed toy restorer)
live_ablations = False  # True: also restore and judge the ablations here (section 5; tiny: about 25 s more)

# %%
import json
import re

import matplotlib.pyplot as plt
import numpy as np
import torch

from lafr import data, datasets, degrade, metrics, paper, pipeline, results as tables, train, viz
from lafr.config import get_profile

cfg = get_profile(profile, **settings)
torch.manual_seed(seed)
device = "cuda" if torch.cuda.is_available() else "cpu"
restorer_weights = restorer_weights or cfg.restorer_weights
print(f"profile {cfg.name!r} on {device}: {cfg.resolution} px faces; metrics asked for: {', '.join(cfg.eval_metrics)}")

# %% [markdown]
# ## 1. Who judges: every metric and the network behind it
#
# | metric | measures | needs ground truth | the paper's column |
# |---|---|---|---|
# | PSNR, SSIM | pixel fidelity | yes | PSNR, SSIM |
# | LPIPS, DISTS | distance between deep features | yes | LPIPS, DISTS |
# | Deg | identity: the angle between face-recognition embeddings, in degrees (the paper's "Degree of Degradation") | yes | Deg. |
# | LMD | geometry: mean distance between detected landmarks (dlib's 68, or FAN's 98 in the paper profile), in pixels | yes | LMD |
# | NIQE, MUSIQ, CLIP-IQA, MANIQA | how natural an image looks, alone | no | NIQE, M-IQ, C-IQA, M-IQA |
# | FID | distance between two *sets* of faces in Inception features: against the ground truth, and against FFHQ | a reference set | FID, FID-F |
# | lmd_true | on synthetic faces only: distance from dlib's landmarks to the renderer's true ones (eye corners and centres, nose tip, mouth corners, chin), in pixels; about 1.6 px even on the clean face, dlib's own offset | the true landmarks | none |
# | PIQE | a no-download, hand-made no-reference score (pyiqa) | no | none |
# | FD-dlib | FID's formula in dlib's 128-D identity embedding: a stand-in offline, *not* FID; it needs at least 256 faces | yes | none |
#
# The paper (Sec. 3.1): "we compute Deg. and LMD using the embedding angle of ArcFace", following prior work. Offline there
# is one real face-recognition network: **dlib's ResNet** (29 convolutions, 128-D embeddings, trained on
# about 3 million real faces), which `lafr.dlibnet` reads from dlib's own weight file and runs in
# PyTorch; and dlib's **68-point landmark predictor**. The tiny profile judges with both.
#
# The paper does not say which ArcFace, or which landmark network, it used. The paper profile follows
# the metric scripts VQFR published (`metric_paper/` in TencentARC/VQFR):
#
# | | Deg | LMD |
# |---|---|---|
# | network | ArcFace ResNet-18 (arcface-pytorch's `resnet_face18`, no SE blocks), 512-D | FAN, 4 hourglasses, 98 WFLW landmarks |
# | weights | GFPGAN's release `arcface_resnet18.pth` (VQFR's script loads `resnet18_110.pth`) | facexlib's release `alignment_WFLW_4HG.pth`, as VQFR's |
# | input | the whole aligned face, grayscale, resized to 128 px (OpenCV, bilinear), in [-1, 1] | the whole aligned face, RGB, resized to 256 px, in [0, 1] |
# | value | the angle arccos(cos) in degrees | the mean L2 distance over the 98 landmarks, in pixels |
#
# What we could not check, and one choice: that GFPGAN's `arcface_resnet18.pth` holds the same weights
# as the `resnet18_110.pth` VQFR's script loads (both are arcface-pytorch's ResNet-18; their contents
# are not published side by side), so Deg is the same network and recipe, possibly not the same
# weights. VQFR's script leaves pairs closer than 1 degree out of its mean and counts them apart; ours
# keeps them in the mean and notes how many there were (restorations are rarely that close). IR-SE50
# (`identity_net="arcface_irse50"`, on crops aligned by dlib's landmarks) stays a named option. So the
# paper profile's Deg and LMD are computed as Table 1's baselines were, to the limits above. The tiny profile
# asks only for metrics that need no download; `lafr.metrics.Suite` reports any metric it cannot build
# or measure, with the reason, and never a number for it.
#
# **A network that trains the model never also judges it.** The paper trains with CLIP and measures
# identity with ArcFace; we make that a rule, checked in code below. Two exceptions remain, as in the
# paper: LPIPS is in the loss and among the metrics (here with different backbones: the tiny loss's is
# random, the metric's pretrained), and CLIP-IQA is a CLIP model too (not IP-Adapter's). FID, FID-F and
# FD-dlib are set metrics: they mean something on whole test sets only, so this notebook measures per
# face and leaves them to `lafr evaluate` on a whole set (section 4).

# %%
suite = metrics.Suite(
    [m for m in cfg.eval_metrics if m not in metrics.SET_METRICS],
    device=device,
    identity_net=cfg.identity_metric_net,
    landmark_net=cfg.landmark_metric_net,
)  # per-face metrics; set metrics need whole sets
everything = metrics.FULL_REFERENCE + metrics.NO_REFERENCE + metrics.SET_METRICS + ("lmd_true",)
for name in everything:
    label = tables.label(name)
    if name in metrics.SET_METRICS:
        print(
            f"{label:<9} a set metric: {'asked for' if name in cfg.eval_metrics else 'not asked for'} in the "
            f"{cfg.name} "
            "profile; measured on whole sets with lafr evaluate (section 4)"
        )
    elif name in suite.metrics:
        print(f"{label:<9} measured by  {suite.metrics[name].network}")
    elif name in suite.unavailable:
        print(f"{label:<9} NOT measured: {suite.unavailable[name]}")
    else:
        print(f"{label:<9} not asked for in the {cfg.name} profile (its eval_metrics)")
print("\nthe loss trains with:", metrics.loss_networks(cfg))

# %%
# Claim: no metric is computed by a network the loss trains with. (The false case, the loss's own
# identity network made the judge of Deg, is refused, as the second check shows.)
metrics.check_judges(cfg, suite)
wrong = metrics.Suite(["psnr"], identity_net=cfg.identity_net)
try:
    metrics.check_judges(cfg, wrong)
    refused = False
except ValueError as err:
    refused = True
    print("refused, as it should be:", err)
assert refused

# %% [markdown]
# ## 2. Do the judges see what they claim? Real photos first
#
# A metric earns trust by ranking cases whose answer we know. Two real portraits ship inside installed
# packages (scikit-image's astronaut, Eileen Collins, and matplotlib's Grace Hopper), here at 256 px. Each is blurred more and more, and degraded by the paper profile's
# test recipe (GFPGAN's ranges, 4x down); the other person is the case that must score worst. A judge
# of identity must also see through what does not change the person: the same photo mirrored, darker,
# brighter, or in grey must stay closer than the other person, and the mirrored photo, which has lost
# no information at all, closer than the heaviest blur. (A judge that compares raw pixels ranks blur
# correctly and keeps these copies closer than the other person, but puts the mirrored photo far
# beyond the heaviest blur: 38.8 and 27.8 against 5.9 and 11.5 degrees, measured.)

# %%
photos = data.packaged_face_photos(256)
names = list(photos)
clean = list(photos.values())
blur = lambda x, s: degrade.blur(x, degrade.blur_kernel(int(4 * s) * 2 + 1, s, s, 0.0))
cases = {f"blurred, sigma {s}": [blur(x, s) for x in clean] for s in (1, 2, 4)}
cases["test recipe (4x down)"] = [degrade.degrade(x, "celeba_test", seed=seed + i)[0] for i, x in enumerate(clean)]
face_suite = metrics.Suite(
    ["deg", "lmd"], device=device, identity_net=cfg.identity_metric_net, landmark_net=cfg.landmark_metric_net
)
ref_photos = face_suite.reference(clean, names)
ladder = {case: face_suite.evaluate(images, ref_photos).per_image for case, images in cases.items()}
other = float(metrics.angle_degrees(ref_photos.embeddings[0], ref_photos.embeddings[1]))
same_person = {  # changes that keep the person; each image's face is found afresh (a mirrored face moves)
    "mirrored": [x.flip(-1) for x in clean],
    "darker (gamma 2)": [x**2 for x in clean],
    "brighter (gamma 0.5)": [x**0.5 for x in clean],
    "grey": [x.mean(0, keepdim=True).expand(3, -1, -1) for x in clean],
}
kept = {
    change: metrics.angle_degrees(face_suite.reference(images).embeddings, ref_photos.embeddings).tolist()
    for change, images in same_person.items()
}
judge_name = face_suite.metrics["deg"].network.split(" (")[0]

fig, axes = plt.subplots(1, 2, figsize=(12, 3.3), constrained_layout=True)
for k, (ax, metric, unit) in enumerate(zip(axes, ("deg", "lmd"), ("degrees", "pixels (256 px image)"))):
    width = 0.38
    for j, name in enumerate(names):
        ax.bar(
            np.arange(len(ladder)) + (j - 0.5) * width,
            [ladder[c][metric][j] for c in ladder],
            width,
            label=name.replace("_", " "),
        )
    if metric == "deg":
        ax.axhline(other, color="k", ls="--", label="the other person")
    ax.set_xticks(range(len(ladder)), list(ladder), fontsize=8)
    ax.set(
        ylabel=unit, title=["Identity angle to the clean photo (Deg)", "Landmark distance to the clean photo (LMD)"][k]
    )
    ax.legend(fontsize=8)
fig.suptitle(
    "Two real portraits, damaged step by step: distance of identity (left) and landmarks (right) to the clean photo"
)
viz.save_figure(fig, "06_judges_on_real_photos")
plt.show()
print(f"identity judge: {judge_name}; the other person: {other:.1f} degrees")
for change, values in kept.items():
    print(f"{change:<24} Deg {', '.join(f'{v:.1f}' for v in values)}")
for case, values in ladder.items():
    print(
        f"{case:<24} Deg {', '.join(f'{v:.1f}' for v in values['deg'])}   LMD "
        f"{', '.join(f'{v:.2f}' for v in values['lmd'])}"
    )

# %%
# Claims, on real photos: the identity angle ranks the same person blurred (sigma 2), mirrored, darker,
# brighter or grey below a different person, and the mirrored photo below the heaviest blur, for both
# portraits; more blur (sigma 1, 2, 4) gives a larger angle and a larger landmark distance. (An
# identity network that gives every image the same embedding scores 0 for the other person and fails
# the first; one that compares raw pixels fails the mirror against the blur; a landmark predictor
# that returns a fixed template fails the last.)
deg_sigma2 = ladder["blurred, sigma 2"]["deg"]
assert other > 1.0 and max(deg_sigma2) < other, (
    deg_sigma2,
    other,
)  # a real judge puts another person degrees away, not 0
for change, values in kept.items():
    assert max(values) < other, (change, values, other)
for j in range(len(names)):
    assert kept["mirrored"][j] < ladder["blurred, sigma 4"]["deg"][j], (names[j], kept["mirrored"][j])
for metric in ("deg", "lmd"):
    for j in range(len(names)):
        steps = [ladder[f"blurred, sigma {s}"][metric][j] for s in (1, 2, 4)]
        assert steps[0] < steps[1] < steps[2], (metric, names[j], steps)

# %% [markdown]
# (Tiny profile.) Both judges pass on real photos. On the synthetic faces the restorers know, dlib's
# network (trained on real faces only) sees people as more alike: two different synthetic people are about 21 degrees
# apart on average, and the same person in another view (pose, light, smile) about 11. The next cell
# measures that scale, to read the tables below by.

# %%
from lafr.synthetic import HELDOUT_OFFSET, synthetic_face

eight_bit = train.eight_bit  # every image judged as it would be saved (PNG)
hq = eight_bit(data.image_set(cfg.eval_faces, n_faces, cfg.resolution, seed=seed)[0])
landmarks = data.face_landmarks(cfg.eval_faces, n_faces, cfg.resolution, seed=seed)
true_landmarks = (
    list(landmarks) if cfg.eval_faces == "synthetic" else None
)  # the renderer's landmarks, synthetic faces only
ref = suite.reference(list(hq), true_landmarks=true_landmarks)
found = suite.measured(ref)  # the faces Deg and LMD read: where dlib found one, for dlib's judges; else all
print(f"Deg and LMD read {len(found)} of {len(hq)} held-out ground truths (dlib's judges: those it found a face in)")
emb = ref.embeddings[found]
people = metrics.angle_degrees(emb[:-1], emb[1:])
print(f"two different people: {people.mean():.1f} degrees on average (5% of pairs below {people.quantile(0.05):.1f})")
if cfg.eval_faces == "synthetic":
    views = [synthetic_face(seed, HELDOUT_OFFSET + i, cfg.resolution, view=1)[0] for i in range(n_faces)]
    same_person = suite.evaluate(views, ref).summary["deg"]
    print(f"the same person in another view: {same_person:.1f} degrees")

# %% [markdown]
# ## 3. The committed restorers on held-out faces
#
# The held-out faces and their degraded photos are notebook 05's (the same draw). Every simpler option
# is judged beside the full method: the LQ photo, the same photo enlarged by **bicubic** or **Lanczos**
# interpolation, the VAE alone (**decode(z_LQ)**), the **adapter alone**, and **decode(z_HQ)**, the VAE round trip of the clean face: the best a latent restorer with this VAE
# can do. The degraded photos follow the profile's test recipe (tiny: the same as training's; paper:
# GFPGAN's ranges at 4x down). Every image is rounded to 8 bits before it is judged, as it is when
# saved: the rounding alone moves dlib's angle for one face by 0.4 degrees on average and up to 2.9, so
# read single faces loosely and compare systems face by face (paired), as the intervals below do.
#
# The table has every system of this section (with `live_ablations = True`, the ablations of notebook 05
# too; section 5 reads them from the committed measurement over seeds either way). PSNR and SSIM are
# means over all faces; Deg and LMD over the faces dlib found in the ground truth. In the lines below
# it, "better by" is always positive for an improvement (a lower angle or distance, a higher PSNR).

# %%
# every system's output for the held-out faces, under the test recipe (tiny: the same as training's)
hq, outputs = train.heldout_outputs(
    cfg.replace(restorer_weights=restorer_weights), n_faces, seed=seed, device=device, ablations=live_ablations
)
full = pipeline.LAFRPipeline.from_pretrained(restorer_weights, device=device)  # restores the photos of section 6
unrounded = (
    metrics.Suite(["deg"], device=device, identity_net=cfg.identity_metric_net)
    .evaluate(list(outputs["LAFR (full method)"]), ref)
    .per_image["deg"]
)
outputs = {name: eight_bit(x) for name, x in outputs.items()}
results = {name: suite.evaluate(list(x), ref, label=name) for name, x in outputs.items()}
print(tables.markdown(list(results.values())))
moved = [abs(a - b) for a, b in zip(unrounded, results["LAFR (full method)"].per_image["deg"]) if a is not None]
if "lmd_true" in suite.metrics and true_landmarks is not None:
    floor = metrics.Suite(["lmd_true"]).evaluate(list(hq), ref).summary["lmd_true"]
    print(f"\nthe ground truth itself: LMD-true {floor:.2f} px (dlib's own offset from the renderer's landmarks)")
print(
    f"\n8-bit rounding alone moves the full method's Deg per face by {np.mean(moved):.2f} degrees on average, at "
    f"most {max(moved):.2f}"
)


# %%
def gain(ours, other, metric, gen):
    """per-face improvement of `ours` over `other` (positive = better), its mean, 95% bootstrap interval, wins"""
    pairs = [
        (a, b)
        for a, b in zip(results[ours].per_image[metric], results[other].per_image[metric])
        if a is not None and b is not None
    ]
    sign = -1 if tables.LOWER_IS_BETTER[metric] else 1
    d = torch.tensor([sign * (a - b) for a, b in pairs], dtype=torch.float64)
    boot = torch.stack([d[torch.randint(len(d), (len(d),), generator=gen)].mean() for _ in range(1000)])
    return {
        "mean": d.mean().item(),
        "low": boot.quantile(0.025).item(),
        "high": boot.quantile(0.975).item(),
        "wins": int((d > 0).sum()),
        "n": len(d),
    }


gen = torch.Generator().manual_seed(seed)
judged = [
    m for m in ("psnr", "ssim", "deg", "lmd", "lmd_true") if m in suite.metrics and results["LQ photo"].measured(m)
]
margins = {
    other: {m: gain("LAFR (full method)", other, m, gen) for m in judged}
    for other in ("LQ photo", "bicubic", "Lanczos", "decode(z_LQ)", "adapter only")
}
for other, by_metric in margins.items():
    print(f"LAFR against {other}:")
    for m, g in by_metric.items():
        print(
            f"   {tables.label(m):<9} better by {g['mean']:+.3f} (95% interval {g['low']:+.3f} to {g['high']:+.3f}), "
            f"on {g['wins']} of {g['n']} faces"
        )

# %%
show = [0, 1, 2, 3]
columns = ["LQ photo", "bicubic", "adapter only", "LAFR (full method)"]
grid, titles = [], []
for i in show:
    for name in columns:
        r = results[name]
        deg, lmd = r.per_image["deg"][i], r.per_image["lmd"][i]
        grid.append(outputs[name][i])
        titles.append(
            f"{name}\n{r.per_image['psnr'][i]:.1f} dB, "
            + ("no face found" if deg is None else f"Deg {deg:.0f}, LMD {lmd:.1f}")
        )
    grid.append(hq[i])
    titles.append("ground truth")
fig = viz.image_grid(
    grid,
    titles,
    ncols=len(columns) + 1,
    size=2.1,
    suptitle="Held-out faces (the first four, not chosen): PSNR, identity angle (degrees) and landmark distance "
    "(pixels)",
)
viz.save_figure(fig, "06_side_by_side")
plt.show()

# %%
# Claims, on held-out faces: the full method beats the LQ photo, bicubic resizing and the VAE alone
# (decode(z_LQ)) on PSNR, SSIM, Deg and LMD, with the lower end of the 95% bootstrap interval of the
# per-face gain above 0. (The LQ photo passed off as the restorer's output gains exactly 0 on every
# metric and fails; so does decode(z_LQ) passed off as it.)
for other in ("LQ photo", "bicubic", "decode(z_LQ)"):
    for m in ("psnr", "ssim", "deg", "lmd"):
        assert margins[other][m]["low"] > 0, (other, m, margins[other][m])

# %% [markdown]
# (Tiny profile.) The full method beats every resizing baseline and the VAE alone on PSNR, SSIM, Deg
# and LMD, the resizing baselines by a wide margin: identity angle 16.57 degrees against 23.53 for the
# LQ photo (better on 118 of the 123 faces dlib found), landmarks 1.00 px against 1.72. Read the angles
# on the scale of section 2: the LQ photo is, to dlib, further from the truth than *another synthetic
# person* is on average (21 degrees); the restored face lies between the same person in another photo
# (11) and another person. Even the VAE round trip of the clean face, the best this VAE allows, sits
# 12.8 degrees away. The gain over the adapter alone is small (0.93 degrees, interval 0.51 to 1.32), as
# it was in PSNR in notebook 05. PIQE, a no-reference score that knows nothing of the truth, prefers
# the noisy LQ photo and the resized ones (lower is better): no-reference scores alone cannot say
# whether a face is the right one.
#
# Bicubic and Lanczos enlargements score slightly better than the bilinear LQ photo on PSNR, not on
# SSIM, and within 0.15 degrees of it on Deg (no paired test run).

# %% [markdown]
# ## 4. Beside the paper's Table 1
#
# What is comparable, and what is not:
#
# - **Not the values.** The paper compares restorers of several kinds (GAN-based, multi-step and
#   one-step diffusion) on CelebA-Test (3,000 faces at 512 px as released; the paper states neither
#   number). Ours are 64 px synthetic faces judged against toy models. Angles from different networks
#   are not on one scale: read ours against our own anchors (dlib on synthetic faces: 11 degrees for the
#   same person in another view, 21 for another person), not against Table 1's 42.45. The tiny profile's Deg
#   is dlib's angle, not ArcFace's; LMD comes from dlib's 68 landmarks in 64 px images, so its pixels
#   are eight times larger than a 512 px image's; PSNR and SSIM are on RGB (the paper does not say
#   which; OSEDiff reports Y). LPIPS, DISTS, FID and the no-reference columns need downloads: blank in
#   the tiny profile.
# - **The definitions and directions are.** Higher PSNR and SSIM, lower Deg and LMD are better in both,
#   so the order of rows can be compared: does the method beat simpler options, and by how much in
#   each metric's own units?
# - **The paper profile** runs these cells on CelebA-Test's HQ faces degraded by the profile's test
#   recipe, not on the LQ images CelebA-Test publishes, and measures no set metric. For numbers
#   measured as Table 1's were, restore the whole published LQ folder and judge it against the HQ
#   folder (both inside `lafr.datasets.dataset_path("celeba_test")`):
#   `lafr restore --aligned CELEBA/celeba_512_validation_lq -o restored/ --profile paper` then
#   `lafr evaluate restored/ --gt CELEBA/celeba_512_validation --profile paper` (FID against the
#   ground truth, FID-F against FFHQ, Deg by ArcFace ResNet-18 and LMD by FAN, as VQFR's scripts).

# %%
ours = [
    r
    for name, r in results.items()
    if name in ("LQ photo", "bicubic", "adapter only", "LAFR (full method)", "decode(z_HQ)")
]
rows = tables.results_table(ours)
columns_1 = ["Method"] + [
    c
    for c in ("PSNR", "SSIM", "LPIPS", "DISTS", "Deg.", "LMD", "FID-F", "FID")
    if any(r.get(c) is not None for r in rows)
]
print(
    f"Ours ({cfg.name} profile, {len(hq)} held-out faces at {cfg.resolution} px, Deg and LMD over the {len(found)} "
    f"where a face was found; Deg by {suite.metrics['deg'].network.split(' (')[0]}):"
)
print(paper.format_table([{k: r.get(k) for k in columns_1 if r.get(k) is not None} for r in rows]))
print("\nThe paper, Table 1 (CelebA-Test; Deg by ArcFace):")
print(
    paper.format_table(
        [
            {k: r[k] for k in ["Method", "PSNR", "SSIM", "LPIPS", "DISTS", "Deg.", "LMD", "FID-F", "FID"]}
            for r in paper.TABLE_1
        ]
    )
)

# %% [markdown]
# ## 5. Toy Tables 5 and 7, now with identity and landmarks
#
# Notebook 05 left one question open: do the identity and structure terms of the loss buy *identity*,
# their purpose? Judged by the networks that trained them they could not tell. Judged by dlib they can.
#
# One training seed is not enough to answer (notebook 05: a seed alone moves a restorer by up to 0.05 dB),
# so the numbers are the committed measurement over three training seeds per restorer: each seed's
# outputs judged exactly as section 3 judges the full method (`tools/collect_toy_restorers.py`, about 10
# minutes for all twelve). With `live_ablations = True` the committed seed-0 ablations are also restored
# and judged here, face by face against the full method.

# %%
ablations = ["LAFR (full method)"] + [label for label, _ in cfg.restorer_ablation_weights if label in results]
if len(ablations) == 1:
    print("the ablations are not judged live here (live_ablations = False); the committed measurement follows")
toy = [
    {
        "ours": name,
        **{
            tables.PAPER_NAMES[m]: results[name].summary[m]
            for m in ("psnr", "ssim", "deg", "lmd")
            if m in results[name].summary
        },
    }
    for name in ablations
]
if len(ablations) > 1:
    print(f"Ours ({cfg.name} profile, held-out faces; Deg by {suite.metrics['deg'].network.split(' (')[0]}):")
    print(paper.format_table(toy))
pairwise = {
    label: {m: gain("LAFR (full method)", label, m, gen) for m in ("psnr", "deg", "lmd")} for label in ablations[1:]
}
for label, by_metric in pairwise.items():
    print(
        f"full method against {label}: "
        + "; ".join(
            f"{tables.PAPER_NAMES[m]} {g['mean']:+.2f} ({g['low']:+.2f} to {g['high']:+.2f})"
            for m, g in by_metric.items()
        )
    )
tiny = get_profile("tiny")
label_of = {
    tiny.restorer_weights: "LAFR (full method)",
    **{where: label for label, where in tiny.restorer_ablation_weights},
}
over_seeds = {}  # label -> {seed: {"psnr": ..., "deg": ..., "lmd": ...}} (committed measurement, tiny profile)
measurements = pipeline.TOY_SYSTEMS["lafr-toy-restorer"] / "measurements.json"
seed_runs = json.loads(measurements.read_text())["seeds"]
for record in seed_runs["runs"]:
    over_seeds.setdefault(label_of[record["system"]], {})[record["seed"]] = {
        "psnr": record["quality"]["restored"]["psnr_face"],
        **record["judged"],
    }
seeds_run = sorted({s for by_seed in over_seeds.values() for s in by_seed})
print("\nOver training seeds (tiny profile, committed measurement): mean (lowest to highest)")
print(f"{train.recipe(tiny)}; training seeds {', '.join(map(str, seeds_run))}")
print(f"judged by {seed_runs['judged_by']}")
print(tables.seed_table(over_seeds, {m: tables.PAPER_NAMES[m] for m in ("psnr", "deg", "lmd")}))


def over_seeds_vs(a: str, b: str, metric: str) -> dict:
    """System a against system b on one metric, every seed of each (results.seed_comparison)."""
    values = [[q[metric] for q in over_seeds[system].values()] for system in (a, b)]
    return tables.seed_comparison(*values, lower_is_better=tables.LOWER_IS_BETTER[metric])


for label in [system for system in over_seeds if system != "LAFR (full method)"]:
    verdicts = []
    for m in ("psnr", "deg", "lmd"):
        ours_first, theirs_first = (
            over_seeds_vs("LAFR (full method)", label, m),
            over_seeds_vs(label, "LAFR (full method)", m),
        )
        margin = max(ours_first["worst_gap"], theirs_first["worst_gap"])
        verdicts.append(
            f"{tables.PAPER_NAMES[m]} {ours_first['verdict']}"
            + (
                f" (by {margin:.2f} or more" + (", clear)" if ours_first["clear"] or theirs_first["clear"] else ")")
                if margin > 0
                else ""
            )
        )
    print(f"full method against {label}: " + "; ".join(verdicts))
print("\nThe paper, Table 5 (loss terms; CelebA-Test):")
print(paper.format_table(paper.TABLE_5))
print("\nThe paper, Table 7 (alignment, pruning, LoRA type; CelebA-Test):")
print(paper.format_table(paper.TABLE_7))

# %%
# Claims (tiny profile, the committed measurement over three training seeds, judged by dlib, which trains
# nothing): (1) the identity and structure terms do not buy identity at toy scale: the Deg of the full
# loss and of L_res alone overlap over seeds, while the toy identity network that trained the full method
# rates it better on every seed; (2) the adapter costs identity: without it Deg is lower, a clear order
# (results.seed_comparison). (Had the terms bought half a degree or more on every seed, (1) fails: checked
# by moving the full method's three Deg values down 0.5 degrees; the paper's Table 5 gap is 3.7 degrees.
# It fails too if the loss's own network did not prefer the full method. Had the adapter helped
# identity, (2) fails.)
committed = {get_profile("tiny").restorer_weights, *dict(get_profile("tiny").restorer_ablation_weights).values()}
if {restorer_weights, *dict(cfg.restorer_ablation_weights).values()} == committed:
    terms = over_seeds_vs("LAFR (full method)", "L_res only", "deg")
    assert terms["verdict"] == "seeds overlap", terms
    own_judge = tables.seed_comparison(
        *[[r["quality"]["restored"]["id"] for r in seed_runs["runs"] if label_of[r["system"]] == system]
          for system in ("LAFR (full method)", "L_res only")],
        lower_is_better=True,
    )  # fmt: skip
    assert own_judge["verdict"] == "better on every seed", own_judge
    assert over_seeds_vs("without the adapter", "LAFR (full method)", "deg")["clear"], over_seeds
else:
    print("skipped: these claims are about the committed toy restorers, and other restorers are loaded")

# %% [markdown]
# (Tiny profile; three training seeds per restorer, judged by dlib, which none of them trained against.)
# **Here, the multilevel loss neither bought identity nor cost any.** Over three seeds the restorer
# trained with the identity and structure terms and the one trained on $\mathcal{L}_{res}$ alone overlap
# in identity angle (16.58 degrees on average, 16.49 to 16.68, against 16.52, 16.35 to 16.65) and in
# landmarks. The toy identity network that trained the full method does rate it better, on every seed
# (identity term 0.088 against 0.093); dlib does not see the difference. The paper reports a clear gain
# (Table 5, #6 against #1: Deg 42.45 against 46.13). Before notebook 04 retrained the toy identity and
# structure networks on the VAE's renderings, the two terms even *cost* identity (16.95 against 16.54
# degrees, one seed): networks that rated how a decoded face is drawn rather than who it is pulled the
# restorer towards what they liked. Retrained, they no longer pull it away; at this scale they do not
# pull it closer either.
#
# The adapter costs identity, a clear order over seeds (without it 16.01 to 16.16 degrees, with it 16.49
# to 16.68), as it cost PSNR in notebook 05. Conv and attention LoRA overlap on Deg; conv is better on
# LMD on every seed, by less than a clear margin (0.015 px between the closest seeds). The toy models are
# small and know synthetic faces only: none of this contradicts the paper at its scale. It is what holds
# here, measured by a judge that none of the restorers trained against.

# %% [markdown]
# ### How many faces are enough? A toy Table 11
#
# The paper's headline is that 600 training faces (0.9% of FFHQ) suffice: in its Table 11, restorers
# trained on 100 to 900 faces, and on 7,000, lie within 0.9 dB and 5.7 degrees of one another with no
# trend (25.74 to 26.64 dB; Deg 41.73 to 47.45), and those trained on 21,000 or more mostly score worse
# (24.77 to 25.81 dB; Deg 46.71 to 53.44). We trained the full method on
# 150, 300, 600 and 1,200 synthetic faces, stage 2 only (every run uses the committed adapter, which
# stage 1 trained on 600 faces), with the same budget: 1,500 steps at batch 8, eight degraded views per
# face, so a run on fewer faces sees each face more often. Judged as above, on the same held-out faces.
# Rerun one (the number of faces, then the seed), then collect its held-out numbers into `measurements.json`:
#
#     bash tools/train_toy_restorers.sh faces150-0
#     python tools/collect_toy_restorers.py --runs runs --experiments-only

# %%
experiments = json.loads(measurements.read_text()).get("experiments", {"runs": []})
by_faces = {tiny.train_images: over_seeds["LAFR (full method)"]}  # the committed seeds: 600 faces
for r in experiments["runs"]:
    if re.fullmatch(r"faces\d+", r["experiment"]):
        by_faces.setdefault(r["training_faces"], {})[r["seed"]] = {
            "psnr": r["quality"]["restored"]["psnr_face"],
            **r["judged"],
        }
by_faces = dict(sorted(by_faces.items()))
fig, axes = plt.subplots(1, 3, figsize=(13, 3.4), constrained_layout=True)
for ax, m in zip(axes, ("psnr", "deg", "lmd")):
    for n, by_seed in by_faces.items():
        values = [q[m] for q in by_seed.values()]
        ax.plot([n] * len(values), values, "k_", ms=12, label="one training seed" if n == min(by_faces) else None)
        ax.plot(n, np.mean(values), "o", color="tab:blue", label="mean over the seeds" if n == min(by_faces) else None)
    ax.plot(list(by_faces), [np.mean([q[m] for q in s.values()]) for s in by_faces.values()], color="tab:blue", lw=1)
    ax.set_xscale("log")
    ax.set_xticks(list(by_faces), [f"{n:,}" for n in by_faces])
    ax.minorticks_off()
    better = "lower" if tables.LOWER_IS_BETTER[m] else "higher"
    ax.set(xlabel="training faces (log scale)", title=f"{tables.PAPER_NAMES[m]} ({better} is better)")
axes[0].legend(fontsize=7)
fig.suptitle("How many training faces does the toy restorer need? (tiny profile, held-out faces)", y=1.04)
viz.save_figure(fig, "06_training_faces")
plt.show()
print(f"Ours (tiny profile, the full method as committed, {train.recipe(tiny)}; each row changes the number of faces):")
faces_rows = {f"{n:,} faces": by_seed for n, by_seed in by_faces.items()}
print(tables.seed_table(faces_rows, {m: tables.PAPER_NAMES[m] for m in ("psnr", "deg", "lmd")}))


def faces_vs(a: int, b: int, metric: str) -> dict:
    """The full method trained on a faces against b faces, every seed of each (results.seed_comparison)."""
    values = [[q[metric] for q in by_faces[n].values()] for n in (a, b)]
    return tables.seed_comparison(*values, lower_is_better=tables.LOWER_IS_BETTER[metric])


for n in [n for n in by_faces if n != tiny.train_images]:
    verdicts = []
    for m in ("psnr", "deg", "lmd"):
        values = [[q[m] for q in by_faces[k].values()] for k in (n, tiny.train_images)]
        verdicts.append(f"{tables.PAPER_NAMES[m]} {tables.seed_verdict(*values, tables.LOWER_IS_BETTER[m])}")
    print(f"{n:,} faces against {tiny.train_images:,}: " + "; ".join(verdicts))
print("\nThe paper, Table 11 (CelebA-Test; Deg by ArcFace):")
print(
    paper.format_table([{k: r[k] for k in ("Training Images Amount", "PSNR", "Deg.", "LMD")} for r in paper.TABLE_11])
)

# %%
# Claim (tiny profile, the committed measurement; three training seeds on each side): trained on 600 faces
# rather than 150, with the same budget, the full method scores better on PSNR, identity (Deg) and
# landmarks (LMD), a clear order (results.seed_comparison: better on every seed, the means more than twice
# the spread apart). (Had 150 faces been enough, as the paper's Table 11 finds for 100, this fails: checked
# with the 600-face values in place of the 150-face ones; it fails too with the 150-face Deg moved 0.3
# degrees closer, about half the gap.)
for m in ("psnr", "deg", "lmd"):
    more_faces = faces_vs(tiny.train_images, 150, m)
    assert more_faces["clear"], (m, more_faces, by_faces[150])

# %% [markdown]
# (Tiny profile; the seeds of each row are in the table.) **At toy scale more faces still help.** With
# 150 faces the full method scores 26.60 to 26.61 dB and Deg 17.04 to 17.24 over three
# seeds, with 600 faces 27.04 to 27.09 dB and 16.49 to 16.68 (three seeds): four times the faces gain
# 0.46 dB and half a degree on average, on every seed and by more than twice what a seed alone moves a
# result (asserted above, with LMD). Between them, 300 faces score 26.79 to 26.80 dB and Deg 16.82 to
# 16.94 over two seeds, between 150 and 600 faces on every seed and every metric; beyond them, 1,200
# faces score 27.14 dB and 16.32, one seed so far. Read as a gain that shrinks by 1,200 faces (0.19,
# then 0.27, then 0.08 dB for each doubling), but not asserted: a clear order needs three seeds on each
# side, and a seed alone moves the full method by up to 0.05 dB and 0.2 degrees, more than half the last
# step. The paper's rows from 100 to 900 faces show no such trend. One reading:
# SD 2.1's prior has seen a vast collection of images, so a few hundred faces suffice to steer it, while
# the toy prior learnt faces from 8,000 synthetic ones (notebook 02), so its restorer still learns from
# each new face; and with a fixed budget, fewer faces are seen more often, which favours memorising them.

# %% [markdown]
# ## 6. Real photos: no ground truth, and a ground truth we made
#
# The paper's real-world benchmarks (LFW-Test, WebPhoto-Test, Wider-Test; Table 2) have no clean
# versions, so only **no-reference** metrics can judge them. The tiny profile has no such set; its
# stand-in is the two packaged portraits, degraded by us (the tiny recipe at 64 px). Because we made
# the damage, we also know the clean photo, and can measure identity against it.
#
# Remember what the toy models know: synthetic faces only (notebook 02: the toy VAE reconstructs
# synthetic faces at about 32.6 dB and real photos at about 23). The restorer is not expected to help here in the tiny profile; the paper profile
# restores real photos.

# %%
nr_names = metrics.NO_REFERENCE  # per image; FID-F (Table 2's FID) needs the whole set: lafr evaluate
nr_suite = metrics.Suite([m for m in cfg.eval_metrics if m in nr_names], device=device)
print(
    "no-reference metrics measured:",
    list(nr_suite.metrics) or "none",
    "| could not be measured:",
    {k: v[:60] for k, v in nr_suite.unavailable.items()} or "none",
    "| not asked for in this profile:",
    [m for m in nr_names if m not in cfg.eval_metrics] or "none",
)
real = {}
for bench in cfg.real_benchmarks:
    try:
        lq, lq_names = data.real_lq_faces(bench, n=n_real, size=cfg.resolution, preset=cfg.test_degradation, seed=seed)
    except datasets.DatasetError as err:
        print(f"{bench}: not available ({err})")
        continue
    fixed = full(lq)
    real[bench] = {
        kind: nr_suite.evaluate(images, nr_suite.reference(images, lq_names), label=f"{bench}: {kind}")
        for kind, images in (("LQ input", lq), ("restored", fixed))
    }
    print(tables.markdown(list(real[bench].values())).split("\n\nNetworks")[0], "\n")
print("The paper, Table 2 (Wider-Test):")
print(paper.format_table(paper.TABLE_2["Wider-Test"]))

# %%
portraits = data.packaged_face_photos(cfg.resolution)
clean_small = list(portraits.values())
lq_small, _ = data.real_lq_faces("packaged_photos", size=cfg.resolution, preset=cfg.test_degradation, seed=seed)
bicubic_small = [
    degrade.degrade(x, cfg.test_degradation, seed=seed + i, upsample="bicubic")[0] for i, x in enumerate(clean_small)
]
ref_small = suite.reference(clean_small, list(portraits))
fixed_small = list(full(lq_small))
judged_real = {
    kind: suite.evaluate(images, ref_small, label=kind)
    for kind, images in (("LQ photo", lq_small), ("bicubic", bicubic_small), ("LAFR (full method)", fixed_small))
}
angle = lambda d: "no face found" if d is None else f"Deg {d:.0f}"
print(tables.markdown(list(judged_real.values())).split("\n\nNetworks")[0])
fig = viz.image_grid(
    [*lq_small, *fixed_small, *clean_small],
    [
        f"{n.replace('_', ' ')}: degraded by us\n{angle(d)}"
        for n, d in zip(portraits, judged_real["LQ photo"].per_image["deg"])
    ]
    + [f"restored\n{angle(d)}" for d in judged_real["LAFR (full method)"].per_image["deg"]]
    + ["clean"] * 2,
    ncols=2,
    size=2.3,
    suptitle="Real portraits: outside what the toy models know (Deg: identity angle to the clean photo, degrees)",
)
viz.save_figure(fig, "06_real_portraits")
plt.show()

# %% [markdown]
# (Tiny profile.) Read this as a warning, not a result. On two real portraits at 64 px the toy
# restorer makes everything worse: PSNR 17.6 dB against 21.3 for the LQ photo, identity angle 29.5
# degrees against 21.3, landmarks 1.84 px against 0.93, and PIQE too. It draws the synthetic faces it
# knows. Two photos are no benchmark either. The paper profile runs the same cells on the
# paper's real-world sets, with its restorer and the no-reference metrics of Table 2.

# %% [markdown]
# ## 7. Any folder, one command: `lafr evaluate`
#
# `lafr evaluate RESTORED --gt GT` pairs files by name (a missing or extra file is an error that lists
# them all), runs every available full-reference metric, prints a markdown table, and writes one CSV
# row per image. Without `--gt` it runs the no-reference metrics. Here: the first 16 held-out faces,
# restored, as PNG files.

# %%
import csv
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

work = Path(tempfile.mkdtemp())
n_cli = min(16, len(hq))  # faces handed to the command
for i in range(n_cli):
    data.save_image(outputs["LAFR (full method)"][i], work / "restored" / f"face_{i:02d}.png")
    data.save_image(hq[i], work / "gt" / f"face_{i:02d}.png")
run = subprocess.run(
    [
        sys.executable,
        "-m",
        "lafr",
        "evaluate",
        str(work / "restored"),
        "--gt",
        str(work / "gt"),
        "--metrics",
        "psnr",
        "ssim",
        "deg",
        "lmd",
        "--out",
        str(work / "results.csv"),
        "--device",
        device,
        "--profile",
        cfg.name,
    ],
    capture_output=True,
    text=True,
)
print(run.stdout)
with open(work / "results.csv") as f:
    rows_csv = list(csv.DictReader(f))
print("CSV:", len(rows_csv), "rows; first:", rows_csv[0])
print("last, what produced each column:", rows_csv[-1])

# %%
# Claim: `lafr evaluate` measures what the notebook measures: exit code 0, one CSV row per image plus
# the mean, and per-image PSNR and Deg equal to section 3's on the same (8-bit) faces, to the CSV's
# six significant digits. (A command that paired the files wrongly, e.g. shifted by one, is off by
# several dB and degrees.)
assert run.returncode == 0, run.stderr
assert [r["image"] for r in rows_csv] == [f"face_{i:02d}" for i in range(n_cli)] + [
    "mean",
    "network",
]  # no set metric was asked for
mine = results["LAFR (full method)"].per_image
for i, row in enumerate(rows_csv[:n_cli]):
    assert abs(float(row["psnr"]) - mine["psnr"][i]) < 1e-3, (i, row["psnr"], mine["psnr"][i])
    assert (row["deg"] == "") == (mine["deg"][i] is None), (i, row["deg"], mine["deg"][i])
    if row["deg"]:
        assert abs(float(row["deg"]) - mine["deg"][i]) < 1e-3, (i, row["deg"], mine["deg"][i])
shutil.rmtree(work)

# %% [markdown]
# ## What this shows, and what it does not
#
# - **Judges that never trained the model.** Identity (Deg) and landmarks (LMD) come from dlib's
#   networks (ArcFace for Deg in the paper profile), checked in code to be none of the loss's; both rank
#   real degradations as they should, and the identity judge keeps mirrored, re-lit and grey copies
#   (4 to 8 degrees) closer than another person (28.9).
# - **The method works, by every full-reference judge we have.** On held-out faces the full method
#   beats the LQ photo, bicubic and Lanczos resizing and the VAE alone on PSNR, SSIM, Deg and LMD,
#   paired by face, with intervals clear of 0.
# - **Two of the paper's claims do not hold at toy scale**, measured on identity too and over three
#   training seeds: the adapter costs (without it Deg is lower, a clear order), and the identity and
#   structure terms of the loss neither buy identity nor cost any as dlib sees it, although the toy
#   identity network they train with prefers the full method on every seed.
# - **How many faces?** At toy scale more training faces still help: 600 faces beat 150 on PSNR, Deg and
#   LMD on every one of three seeds (0.46 dB on average); 300 faces (two seeds) and 1,200 (one so far)
#   suggest the gain shrinks by 1,200. The paper's Table 11 is flat from 100 to 900.
# - **Comparable in direction, not in value.** Ours are 64 px synthetic faces and dlib's networks; the
#   paper's are 512 px CelebA-Test faces and ArcFace. The tiny profile measures no LPIPS, DISTS, FID or
#   no-reference quality except PIQE: they need downloads.
# - **Not shown here**: the toy restorer restoring real photos (it does not), FID and FID-F (set
#   metrics, for whole test sets: `lafr evaluate`, with Inception's weights), and the paper's scale (the
#   paper profile, on a GPU).
