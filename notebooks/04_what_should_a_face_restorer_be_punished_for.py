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
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/lafr-course/lafr/blob/main/notebooks/04_what_should_a_face_restorer_be_punished_for.ipynb)
#
# # 04 · What should a face restorer be punished for?
#
# Stage 2 of LAFR fine-tunes a one-step UNet to restore faces (notebook 05). What it learns is what
# its loss punishes. The paper's loss (Sec. 2.4) works at three levels, image, identity and structure:
#
# $$\mathcal{L}_{res} = \lVert I_{res} - I_{GT} \rVert_2^2 + \lambda\,\mathrm{LPIPS}(I_{res}, I_{GT}), \qquad \lambda = 2$$
#
# $$\mathcal{L}_{id} = 1 - \cos\big(F_{id}(I_{res}),\, F_{id}(I_{GT})\big) \quad (1) \qquad\qquad \mathcal{L}_{fs} = 1 - \cos\big(F_{fs}(I_{res}),\, F_{fs}(I_{GT})\big) \quad (2)$$
#
# $$\mathcal{L}_{total} = \mathcal{L}_{res} + \mathcal{L}_{id} + \mathcal{L}_{fs} \quad (3;\ \text{"All loss terms are weighted with a coefficient of 1"}, \text{Sec. 3.1})$$
#
# $F_{id}$ is an identity encoder (the paper writes $\mathcal{F}_{clip}$: IP-Adapter's CLIP image encoder)
# and $F_{fs}$ a facial structure extractor (the paper: D3DFR, a network that regresses a 3D face model's
# coefficients).
#
# **You will learn to**
# - say which network plays which role in each profile, and what the offline stand-ins are and are not;
# - draw the same synthetic person under several views (pose, light, background, smile), the
#   ingredient an identity encoder needs;
# - read each term's curve against degradation, against a change of identity, a change of view, a
#   geometric warp and a colour shift: what each term punishes and what it lets pass;
# - see where on a face each term pushes (gradient maps);
# - see why the paper uses cosines rather than L2 distances for the identity and structure terms (Table 5);
# - check the balance of the terms at the start of training: is one of them drowning the others?
#
# **Runtime**: tiny profile 56 s on 2 idle CPU cores of a slow VM (about 30 s on a fast one), offline. Paper profile: a few minutes on a
# GPU; it downloads IP-Adapter's CLIP image encoder (2.5 GB), D3DFR's R-Net, LPIPS's VGG backbone and
# SD 2.1, and section 9 needs a stage-1 adapter (`lafr train-adapter --profile paper --out
# runs/adapter-paper`; pass the folder as `adapter_weights`). The paper profile's networks see
# synthetic faces here too (section 1 says why): read their numbers as a check of the machinery.
# Numbers quoted in the text are the tiny profile's.

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
n_faces = 16  # faces (or people) per measurement (lower it on a small GPU in the paper profile)
adapter_weights = None  # None: the profile's trained adapter (tiny: the committed toy adapter); section 9

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F

from lafr import degrade, facenets, losses, models, pretrain_facenets, viz
from lafr.config import get_profile
from lafr.synthetic import HELDOUT_OFFSET, synthetic_face

cfg = get_profile(profile, **settings)
torch.manual_seed(seed)
device = "cuda" if torch.cuda.is_available() else "cpu"
size = cfg.resolution
print(f"profile {cfg.name!r} on {device}: {size} px faces")

# %% [markdown]
# ## 1. Who is this? The same person, several photos
#
# An identity loss needs faces whose identity we know. The synthetic faces of notebook 01 now split
# their random attributes in two. **Identity**: face shape, skin, hair (colour, style, hairline,
# strands), and the shapes and colours of eyes, brows, nose and mouth. **Nuisance**: position, roll,
# yaw and pitch, gaze, smile, light and background. `synthetic_face(seed, index, view=v)` redraws the
# nuisance only, so views 1, 2, ... are other photos of person `index`; view 0 is the face every
# earlier notebook used, bit for bit (the toy models were trained on it). These are the only faces
# whose identity we control offline, so sections 1 to 8 use them in both profiles.

# %%
people, views = 4, 5
grid = [synthetic_face(seed, HELDOUT_OFFSET + p, size, view=v)[0] for p in range(people) for v in range(views)]
titles = [f"person {p + 1}, view {v}" for p in range(people) for v in range(views)]
fig = viz.image_grid(
    grid, titles, ncols=views, size=1.5, suptitle="Each row is one person; each column another photo of them"
)
viz.save_figure(fig, "04_people_and_views")
plt.show()

# %% [markdown]
# ## 2. Which network plays which role
#
# | term | role | `paper` profile | `tiny` profile (offline) |
# |---|---|---|---|
# | $\mathcal{L}_{res}$ | pixels and perceptual similarity | MSE + 2 x LPIPS with its ImageNet VGG backbone (VGG is OSEDiff's choice; the paper names none) | MSE + 2 x LPIPS (AlexNet) with a seeded **random** backbone and LPIPS's own linear layers |
# | $\mathcal{L}_{id}$ | $F_{id}$, identity | IP-Adapter's CLIP image encoder (ViT-H/14, 1024-D) | toy identity encoder: a small CNN trained here with an ArcFace loss on synthetic people under many views (128-D) |
# | $\mathcal{L}_{fs}$ | $F_{fs}$, facial structure | D3DFR's R-Net (ResNet-50): shape, expression, pose and position coefficients of a 3D face model (150 of its 257; which ones is our choice, as is comparing coefficients rather than the 3D shapes A.3.5 describes) | toy structure network: a small CNN trained here to find the synthetic faces' 19 landmarks; its feature is the landmarks minus the mean face's |
#
# The toy identity encoder is trained the way ArcFace is: to tell people apart and to *ignore* pose,
# light and expression. The paper chose CLIP over ArcFace on purpose (A.3.5): "CLIP retains rich
# visual-semantic details (expressions, textures) essential for realistic reconstruction, unlike
# ArcFace, which prioritizes identity discrimination by suppressing non-identity variations". So the
# toy $F_{id}$ is more view-blind than the paper's; keep that in mind in section 5.
#
# The toy networks are made by `lafr pretrain-toy --stage identity` and `--stage structure` and ship
# with lafr, with a manifest each (how they were made and how well they do). What the offline LPIPS is
# and is not: LPIPS weighs differences between a backbone's features with linear layers that were
# fitted to human judgements *of an ImageNet backbone's features*. With a random backbone those
# weights no longer mean what they meant; what remains is a multi-scale distance between random
# convolutional features, which still rises with damage, at about a tenth of real LPIPS's scale. Read
# it as "a perceptual-style distance", not as LPIPS.
#
# None of these networks judges a restorer later: notebook 06 measures identity and landmarks with
# other networks (dlib's), as the paper trains with CLIP and measures with ArcFace.

# %%
loss = losses.build_loss(cfg, device=device)
roles = {"identity (F_id)": loss.identity_net, "structure (F_fs)": loss.structure_net, "LPIPS": loss.lpips_net}
for role, net in roles.items():
    n_params = sum(p.numel() for p in net.parameters())
    print(
        f"{role:<17} {type(net).__name__:<20} {n_params / 1e6:6.2f}M parameters, trainable: "
        f"{any(p.requires_grad for p in net.parameters())}"
    )
print(
    f"LPIPS: net {cfg.lpips_net!r}, backbone {cfg.lpips_backbone!r}; weights: res {loss.weights['res']}, "
    f"id {loss.weights['id']}, fs {loss.weights['fs']}, lambda {loss.lpips_weight}"
)

# %%
# Claim: the networks in use are the ones the table names for this profile, and all are frozen.
# A wiring check: it checks the networks' kinds, not their weights (swapping F_id and F_fs fails it).
expected = {
    "identity (F_id)": {"lafr-toy-identity": facenets.ToyIdentityEncoder}.get(cfg.identity_net, facenets.ClipIdentity),
    "structure (F_fs)": {"lafr-toy-structure": facenets.ToyStructureNet}.get(cfg.structure_net, facenets.D3DFRNet),
}
for role, cls in expected.items():
    assert isinstance(roles[role], cls), (role, type(roles[role]))
assert roles["LPIPS"].pnet_rand == (cfg.lpips_backbone == "random") and roles["LPIPS"].pnet_type == cfg.lpips_net
assert not any(p.requires_grad for net in roles.values() for p in net.parameters())

# %% [markdown]
# ### How good are the toy networks?
#
# Their manifests record how they were trained and what they scored on people and faces they never
# saw. The identity encoder is judged as a face-verification system: given two photos, same person or
# not? The structure network by its landmark error in pixels, on clean faces and on degraded ones.

# %%
import json

manifests = {}
for name in (cfg.identity_net, cfg.structure_net):
    path = facenets.TOY_DIRS.get(name)
    if path is not None and (path / "manifest.json").is_file():
        manifests[name] = json.loads((path / "manifest.json").read_text())
        print(f"{name}: {manifests[name]['command']}\n  {manifests[name]['quality']}\n")
if not manifests:
    print("(this profile's loss networks are downloaded, not made by lafr: no manifest)")

# %% [markdown]
# In words (tiny profile): given two photos of people it never saw, the identity encoder says "same
# person" or not correctly 99.5% of the time, and 99.25% of the time when the second photo is drawn by
# the toy VAE (its round trip); the structure network places the 19 landmarks within about 0.35 px on
# clean faces, 0.4 px on their round trips and 0.8 px on degraded ones, where guessing the average
# face's landmarks is off by 2.3 px.
#
# Verification in pictures: the cosine between the embeddings of two photos of the same person
# (another view) against two photos of different people, on people the encoder never saw.

# %%
pairs = pretrain_facenets.identity_faces(seed, n_faces * 4, 2, size=size, offset=HELDOUT_OFFSET, degrade_share=0.0)
emb = pretrain_facenets.embed(loss.identity_net, pairs["hq"], device=device)
same_cos = F.cosine_similarity(emb[0::2], emb[1::2])
other_cos = F.cosine_similarity(emb[0::2], emb[1::2].roll(1, 0))
fig, ax = plt.subplots(figsize=(6, 2.8))
bins = np.linspace(-1, 1, 41)
ax.hist(same_cos.numpy(), bins, alpha=0.7, label="same person, another view")
ax.hist(other_cos.numpy(), bins, alpha=0.7, label="different people")
ax.set(
    xlabel="cosine between identity embeddings",
    ylabel="pairs",
    title="The identity encoder tells people apart across views",
)
ax.legend()
viz.save_figure(fig, "04_identity_cosines")
plt.show()
print(f"mean cosine: same person {same_cos.mean():.3f}, different people {other_cos.mean():.3f}")

# %%
# Claim: on people it never saw, two photos of one person are on average more than 0.5 closer in
# cosine than photos of two people. (An encoder that has learnt nothing puts every pair near 1.)
assert same_cos.mean() - other_cos.mean() > 0.5, (same_cos.mean(), other_cos.mean())

# %%
faces = torch.stack([synthetic_face(seed, HELDOUT_OFFSET + i, size)[0] for i in range(n_faces)])
truth = torch.stack([synthetic_face(seed, HELDOUT_OFFSET + i, size)[1] for i in range(n_faces)])
lq, _ = degrade.degrade(faces, cfg.test_degradation, seed=list(range(HELDOUT_OFFSET, HELDOUT_OFFSET + n_faces)))
if hasattr(loss.structure_net, "landmarks"):  # the toy structure network finds landmarks; D3DFR gives 3DMM coefficients
    with torch.no_grad():
        found = {
            k: loss.structure_net.landmarks((x * 2 - 1).to(device)).cpu()
            for k, x in (("clean", faces), ("degraded", lq))
        }
    err = {k: (v - truth).norm(dim=-1).mean().item() for k, v in found.items()}
    show = [0, 1, 2, 3]
    fig = viz.image_grid(
        [*faces[show], *lq[show]],
        ["clean" for _ in show] + ["degraded" for _ in show],
        ncols=4,
        size=1.8,
        landmarks=[*found["clean"][show], *found["degraded"][show]],
        suptitle=f"Landmarks the structure network finds (error {err['clean']:.2f} px clean, {err['degraded']:.2f} "
        "px degraded)",
    )
    viz.save_figure(fig, "04_structure_landmarks")
    plt.show()

# %% [markdown]
# ### Why the structure feature is zero-centred
#
# The toy structure network's output is 19 landmarks. Why not compare the landmark coordinates
# themselves by cosine? Because every face has two eyes above a nose above a mouth in about the same
# place: the raw coordinate vectors of any two faces point almost the same way, and their cosine is
# close to 1 whatever the faces. What tells two faces' geometry apart is how each departs from the
# average face, so the feature is the landmarks minus the mean face's (as a 3D face model's
# coefficients are departures from its mean face). The cell below measures three candidates on pairs
# of *different* people: raw coordinates, zero-centred coordinates, and the network's penultimate layer.

# %%
if hasattr(loss.structure_net, "landmarks"):
    net = loss.structure_net

    def candidates(images):
        x = (images * 2 - 1).to(device)
        return {
            "raw landmarks": net.normalised_landmarks(x).flatten(1),
            "zero-centred landmarks": net(x),
            "penultimate layer": net.penultimate(x),
        }

    with torch.no_grad():
        f_gt = candidates(faces)
        f_warp = candidates(degrade.warp(faces, 2 * size / 64, seed=seed))
        f_tint = candidates(degrade.colour_shift(faces, 0.3))
    print(
        f"{'1 - cos, mean over faces':<24}{'two different faces':>22}{'a face, warped 2 px':>22}"
        f"{'a face, colour-shifted':>24}"
    )
    for name in f_gt:
        dist = lambda a, b: (1 - F.cosine_similarity(a, b)).mean().item()
        print(
            f"{name:<24}{dist(f_gt[name], f_gt[name].roll(1, 0)):22.4f}{dist(f_gt[name], f_warp[name]):22.4f}"
            f"{dist(f_gt[name], f_tint[name]):24.4f}"
        )

# %% [markdown]
# Read the table row by row. Raw coordinates make every pair of faces look alike (a cosine distance of
# a few hundredths between *different* people) and hardly notice a warp. The penultimate layer is not
# much better: its values pass through a ReLU, so they are all positive, and any two such vectors
# point roughly the same way. The zero-centred landmarks spread different faces far apart, notice a
# 2-pixel warp, and barely notice a colour shift. That is why they are the toy structure feature.
# A cosine has a blind spot, though: it compares directions only. A face whose landmarks sit half way
# between the ground truth's and the average face's has the same direction, so it costs nothing; and
# for a face close to the average, the direction is ill-defined. (A 3D face model's coefficients,
# D3DFR's feature, share both properties.)

# %% [markdown]
# ### Do they judge who is in a decoded face, or how the VAE draws it?
#
# A restorer's output is always a VAE decoding. So the identity and structure networks must judge the
# person and the geometry *in a decoded face*, not the look of the VAE's rendering. The first toy
# networks never saw a decoded face, and it showed: they rated the raw LQ photo closer to the truth
# than any decoded output, the trained restorer's included, and their terms pulled the restorers
# towards what they liked (notebook 06 found the restorer trained on $\mathcal{L}_{res}$ alone closer
# in identity by dlib's judge). The committed networks were trained again, half of all their training
# faces shown as the toy VAE renders them: decode($(1-u)\,z_{in} + u\,z_{HQ}$) with $u$ drawn between 0
# and 1, anything from the VAE alone on the degraded face ($u = 0$) to the clean face's round trip
# ($u = 1$), with the same person's label and the same landmarks (`pretrain_facenets.render`).
#
# The cell measures each term on three versions of the held-out faces: the LQ photo, decode(z_LQ) (the
# VAE alone: encode the LQ photo, decode it) and decode(z_HQ) (the round trip of the clean face, the
# best any latent restorer with this VAE can do).

# %%
vae = models.load_base(cfg.base_model, prompt=cfg.prompt, device=device).vae
shown = pretrain_facenets.renderings((faces * 255 + 0.5).to(torch.uint8), vae, preset=cfg.test_degradation)
with torch.no_grad():
    shown_terms = {
        k: loss(x.to(device).float() / 127.5 - 1, (faces * 2 - 1).to(device), reduce=False) for k, x in shown.items()
    }
print(f"{'mean over ' + str(len(faces)) + ' held-out faces':<30}{'identity term':>15}{'structure term':>16}{'MSE':>9}")
for k, t in shown_terms.items():
    print(f"{k:<30}{t['id'].mean():>15.4f}{t['fs'].mean():>16.4f}{t['mse'].mean():>9.4f}")

# %%
# Claim: both terms put the clean face's round trip, decode(z_HQ), near the truth: on average under a
# fifth of the LQ photo's term. (The first identity network, which never saw a decoded face, fails it:
# its term for the round trip was about a quarter of the LQ photo's. A network with a constant output
# fails it too: 0 is not under a fifth of 0.)
for term in ("id", "fs"):
    assert shown_terms["decode(z_HQ)"][term].mean() < 0.2 * shown_terms["LQ photo"][term].mean(), term

# %% [markdown]
# (Tiny profile, these 16 faces.) Both terms now put the clean face's round trip almost on top of the
# truth (identity 0.008, structure 0.005) and the LQ photo far from it (0.103 and 0.125), on every one
# of the 16 faces. The VAE alone on the LQ photo is another matter: the identity term rates it a little
# *further* than the LQ photo (0.124 against 0.103), the structure term a little closer (0.114 against
# 0.125). Which is right? Neither network can say, and dlib, which never trains anything, rates
# decode(z_LQ) clearly closer than the LQ photo (notebook 06: 19.7 against 23.5 degrees). The toy
# identity encoder learned, ArcFace-style, to *ignore* degradation (half its training faces are
# degraded views of the same person), so the LQ photo costs it little; the paper's CLIP encoder was
# chosen for the opposite reason (A.3.5: it "retains rich visual-semantic details"). The next cell asks
# the question that matters for training: do the terms rank whole restorers as a judge does?

# %% [markdown]
# Does that make the loss networks agree with a judge? `tools/judge_agreement.py` restored notebook
# 06's 128 held-out faces with every committed restorer and baseline, and measured each face with the
# loss's identity and structure terms and with dlib's networks (Deg, the identity angle, and LMD, the
# landmark distance; dlib never trains anything). It did so for the first networks and for the
# committed ones. If the loss networks judge what dlib judges, the systems line up in the same order.

# %%
agreement_file = facenets.TOY_DIRS[facenets.TOY_IDENTITY] / "agreement_with_dlib.json"
if cfg.identity_net == facenets.TOY_IDENTITY and agreement_file.is_file():
    agreement = json.loads(agreement_file.read_text())
    runs = {"first networks (no decoded faces)": agreement["previous"], "committed networks": agreement}
    pairs_ = {"identity_term_against_deg": ("identity term", "Deg (degrees)"),
              "structure_term_against_lmd": ("structure term", "LMD (pixels)")}  # fmt: skip
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2), constrained_layout=True)
    for ax, (key, (xlabel, ylabel)) in zip(axes, pairs_.items()):
        for (run_name, run), marker in zip(runs.items(), ("o", "s")):
            r = run[key]
            xs, ys = list(r["loss_term_means"].values()), list(r["judge_means"].values())
            ax.scatter(xs, ys, marker=marker, label=f"{run_name} (rank correlation {r['over_systems']:+.2f})")
            for name, x_, y_ in zip(r["loss_term_means"], xs, ys):
                ax.annotate(name, (x_, y_), fontsize=6, xytext=(3, 2), textcoords="offset points")
        ax.set(xlabel=f"loss's {xlabel} (mean 1 - cos)", ylabel=f"dlib's {ylabel}", title=f"{xlabel} against {ylabel}")
        ax.legend(fontsize=7, loc="lower right")
    fig.suptitle("Each system's mean on 128 held-out faces: does the loss rank them as dlib does?")
    viz.save_figure(fig, "04_loss_networks_against_dlib")
    plt.show()
    for run_name, run in runs.items():
        for key in pairs_:
            r = run[key]
            print(
                f"{run_name:<36}{pairs_[key][0]:<16} rank correlation with dlib: "
                f"over systems {r['over_systems']:+.2f}, within a face {r['within_face_mean']:+.2f}, "
                f"over (system, face) pairs {r['over_system_face_pairs']:+.2f}"
            )
    print(f"\nrerun: {agreement['command']}")
else:
    print("(a tiny-profile measurement; this profile's loss networks are not the toy ones)")
# %% [markdown]
# ## 3. Every term is at its minimum for a perfect restoration
#
# Each term compares a restored face with the ground truth. Give it the ground truth itself and every
# term must be 0: $\lVert 0 \rVert^2 = 0$, LPIPS of identical images is 0, and $1 - \cos(f, f) = 0$.

# %%
gt = faces.to(device) * 2 - 1  # images enter the loss in [-1, 1]
with torch.no_grad():
    at_gt = loss(gt, gt.clone(), reduce=False)
print({k: f"{v.abs().max().item():.1e}" for k, v in at_gt.items()})

# %%
# Claim: every term is 0 (its minimum) when the restored face is the ground truth. A wiring check:
# it holds for any network, but a loss that compared each face's features with another face's in
# the batch fails it (identity term up to 1.25).
for term, values in at_gt.items():
    assert values.abs().max() < 1e-4, (term, values)

# %% [markdown]
# ## 4. Every term against degradation strength
#
# A restorer's output starts out looking like its degraded input. Degrade each face at growing
# strength (the same draw of the profile's degradation, scaled from mild to full) and evaluate every
# term. The curves show each term's scale, too: at weight 1, a term with a larger scale speaks louder.

# %%
strengths = [0.0, 0.25, 0.5, 0.75, 1.0]
seeds = list(range(HELDOUT_OFFSET, HELDOUT_OFFSET + n_faces))
terms = ["mse", "lpips", "id", "fs", "total"]
lpips_name = "LPIPS" if cfg.lpips_backbone == "pretrained" else "LPIPS, random backbone"
names = {
    "mse": "MSE",
    "lpips": lpips_name,
    "id": "identity (1 - cos)",
    "fs": "structure (1 - cos)",
    "total": "weighted total",
}
curves = {t: [] for t in terms}
with torch.no_grad():
    for s in strengths:
        degraded, _ = degrade.degrade(faces, cfg.test_degradation, seed=seeds, strength=s)
        out = loss(degraded.to(device) * 2 - 1, gt, reduce=False)
        for t in terms:
            curves[t].append(out[t].cpu())
curves = {t: torch.stack(v, 1) for t, v in curves.items()}  # faces x strengths

fig, axes = plt.subplots(1, len(terms), figsize=(3.4 * len(terms), 2.9), gridspec_kw={"wspace": 0.45})
for ax, t in zip(axes, terms):
    ax.plot(strengths, curves[t].mean(0), "o-")
    ax.fill_between(strengths, curves[t].quantile(0.25, 0), curves[t].quantile(0.75, 0), alpha=0.2)
    ax.set(title=names[t], xlabel="degradation strength")
axes[0].set_ylabel("mean over faces\n(band: middle half of faces)")
fig.suptitle("Every term rises as the face is degraded more", y=1.04)
viz.save_figure(fig, "04_terms_vs_strength")
plt.show()

# %%
# Claims: every term rises with degradation strength on average (the mean over faces rises at every
# step), and the identity and structure terms reach at least 0.02 at full strength (1% of a cosine
# distance's range, 0 to 2). Networks that saw only the average colour, or had learnt nothing,
# rise by millionths and fail the second: degradation keeps the colours.
for t in terms:
    m = curves[t].mean(0)
    assert (m[1:] > m[:-1]).all(), (t, m)
for t in ("id", "fs"):
    assert curves[t][:, -1].mean() >= 0.02, (t, curves[t][:, -1].mean())

# %% [markdown]
# ## 5. Another person, or another photo of the same person?
#
# A restorer that returns another person has failed, however sharp the result; one that returns the
# same person slightly softer, or lit a little differently, has only partly failed. Walk a face away
# from its ground truth along two paths, each in five steps from $t = 0$ (the ground truth) to $t = 1$:
#
# - **towards another person**: the identity attributes blend into another person's, in the same
#   photo (same pose, light, background);
# - **towards another photo**: the nuisance attributes blend into another view of the same person
#   (pose, light, background, gaze, smile).
#
# `synthetic.blend` does the blending (yes/no attributes such as long hair switch half way). The dashed
# line is a third change for scale: a mild blur of the ground truth (one pixel at 64 px).

# %%
from lafr import synthetic

ts = [0.0, 0.25, 0.5, 0.75, 1.0]
ids = [HELDOUT_OFFSET + i for i in range(n_faces)]
paths = {
    "towards another person": [
        [synthetic.blend(synthetic.face_params(seed, i), synthetic.face_params(seed, i + n_faces), t) for i in ids]
        for t in ts
    ],
    "towards another photo": [
        [
            synthetic.blend(synthetic.face_params(seed, i), synthetic.face_params(seed, i, view=1), t, "nuisance")
            for i in ids
        ]
        for t in ts
    ],
}
walk = {}
with torch.no_grad():
    for path, steps in paths.items():
        outs = [
            loss(torch.stack([synthetic.render(f, size)[0] for f in step]).to(device) * 2 - 1, gt, reduce=False)
            for step in steps
        ]
        walk[path] = {term: torch.stack([o[term].cpu() for o in outs], 1) for term in outs[0]}  # faces x steps
    sigma = size / 64  # one pixel at 64 px
    kernel = degrade.blur_kernel(int(4 * sigma) * 2 + 1, sigma, sigma, 0.0)
    blurred = loss(torch.stack([degrade.blur(f, kernel) for f in faces]).to(device) * 2 - 1, gt, reduce=False)

row = lambda path: [synthetic.render(step[0], size)[0] for step in paths[path]]  # the first face along each path
fig = viz.image_grid(
    row("towards another person") + row("towards another photo"),
    [f"t = {t:g}" for t in ts] * 2,
    ncols=len(ts),
    size=1.6,
    suptitle="Top: towards another person (same photo). Bottom: towards another photo (same person)",
)
viz.save_figure(fig, "04_two_paths")
plt.show()

fig, axes = plt.subplots(1, 4, figsize=(14, 3), gridspec_kw={"wspace": 0.35})
for ax, t in zip(axes, ["mse", "lpips", "id", "fs"]):
    for path, style in zip(walk, ("o-", "s-")):
        ax.plot(ts, walk[path][t].mean(0), style, label=path)
    ax.axhline(blurred[t].mean().item(), color="gray", ls="--", lw=1, label="mild blur")
    ax.set(title=names[t], xlabel="t (0: the ground truth)")
axes[0].legend(fontsize=7)
fig.suptitle(
    "Pixels punish a new photo about as much as a new person; the identity term punishes the new person\n"
    "(dashed: a mild blur, near zero for the identity and structure terms)",
    y=1.1,
)
viz.save_figure(fig, "04_identity_view_blur")
plt.show()
for path in walk:
    print(
        f"{path:<24} at t = 1: "
        + "  ".join(f"{t} {walk[path][t][:, -1].mean().item():.4f}" for t in ["mse", "lpips", "id", "fs"])
    )
print(
    f"{'mild blur':<24}          "
    + "  ".join(f"{t} {blurred[t].mean().item():.4f}" for t in ["mse", "lpips", "id", "fs"])
)

# %%
# Claims: another person costs the identity term more than 0.5 (embeddings over 60 degrees apart),
# more than a mild blur of the same photo, and more than twice what another photo of the same
# person costs; along the way to another person the term rises at every step. (Raw pixels in place
# of the identity network fail the third: to pixels, a new photo is about as far as a new person.
# An identity encoder that has learnt nothing scores every change near 0 and fails the first.)
id_person, id_photo = walk["towards another person"]["id"].mean(0), walk["towards another photo"]["id"].mean(0)
assert id_person[-1] > 0.5, id_person
assert id_person[-1] > blurred["id"].mean(), (id_person, blurred["id"].mean())
assert id_person[-1] > 2 * id_photo[-1], (id_person, id_photo)
assert (id_person[1:] > id_person[:-1]).all(), id_person

# %% [markdown]
# (Tiny profile.) MSE cannot tell the two paths apart: a new photo of the same person moves about as
# many pixels as a new person in the same photo. LPIPS rates the new person worse, but still counts the
# new photo as a large error. The identity term is the only one that says clearly which failure is
# worse, and it lets a new pose, light or background pass almost free. That is the ArcFace-like
# behaviour our toy encoder was trained for; the paper's CLIP encoder keeps more of the expression
# and texture (A.3.5), so it would charge the new photo more than this. Notice also the structure
# term: it punishes the new photo *more* than the new person. That is not a bug. A new photo moves
# and turns the head, so every landmark moves. The cell below changes one group of nuisance attributes
# at a time, from view 0 to view 1 of each person. Pose is part of what the paper asks the structure
# term to keep ("contours, pose, and expressions", Sec. 2.4). The two terms split the work: identity
# says *who*, structure says *where and how the face is posed*.

# %%
import copy

groups = {
    "position": ("cx", "cy"),
    "pose (roll, yaw, pitch)": ("roll", "yaw", "pitch"),
    "gaze": ("gaze",),
    "smile": ("smile",),
    "light and background": ("light", "light_strength", "bg", "bg_angle", "bg_blobs", "bg_blob_colors"),
}
with torch.no_grad():
    for group, attrs in groups.items():
        changed = []
        for i in ids:
            face, other = copy.copy(synthetic.face_params(seed, i)), synthetic.face_params(seed, i, view=1)
            for a in attrs:
                setattr(face, a, getattr(other, a))
            changed.append(synthetic.render(face, size)[0])
        out = loss(torch.stack(changed).to(device) * 2 - 1, gt)
        print(
            f"only the {group:<22} changed: identity {out['id'].item():.3f}, structure {out['fs'].item():.3f}, MSE "
            f"{out['mse'].item():.4f}"
        )

# %% [markdown]
# ## 6. Geometry or colour?
#
# The structure term is meant for "contours, pose, and expressions" (Sec. 2.4). Two controlled
# changes with the same pixel error tell whether it reads geometry or colour: a **warp** (a smooth
# random displacement field; features move and bend, colours stay) and a **colour shift** (a warm
# tint; nothing moves). Plot each term against the change's MSE, so that the two families are
# compared at equal pixel error.

# %%
scale = size / 64
warps = {px: degrade.warp(faces, px * scale, seed=seed) for px in (0.5, 1.0, 1.5, 2.0, 3.0)}
tints = {a: degrade.colour_shift(faces, a) for a in (0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.6)}
with torch.no_grad():
    warp_terms = {k: loss(x.to(device) * 2 - 1, gt, reduce=False) for k, x in warps.items()}
    tint_terms = {k: loss(x.to(device) * 2 - 1, gt, reduce=False) for k, x in tints.items()}

fig, axes = plt.subplots(1, 3, figsize=(11, 3))
for ax, t in zip(axes, ["lpips", "id", "fs"]):
    for fam, res, style in (("warp", warp_terms, "o-"), ("colour shift", tint_terms, "s--")):
        ax.plot(
            [r["mse"].mean().item() for r in res.values()], [r[t].mean().item() for r in res.values()], style, label=fam
        )
    ax.set(title=names[t], xlabel="pixel error of the change (MSE)")
axes[0].legend()
fig.suptitle("At equal pixel error, the structure term punishes moved features, not new colours", y=1.04)
viz.save_figure(fig, "04_warp_vs_colour")
plt.show()
fig = viz.image_grid(
    [faces[0], warps[2.0][0], tints[0.3][0]],
    ["ground truth", "warped by up to 2 px", "colour-shifted (0.3)"],
    ncols=3,
    size=1.8,
    suptitle="A warp moves features; a colour shift keeps them",
)
viz.save_figure(fig, "04_warp_and_colour_examples")
plt.show()

# %%
# Claim: the structure term rises more than twice as much for a 2-pixel warp as for a colour shift
# with at least the same pixel error. (A structure network that read raw pixels or average colours
# fails it, and so does one that has learnt nothing.)
w = warp_terms[2.0]
tint_match = next(r for r in tint_terms.values() if r["mse"].mean() >= w["mse"].mean())
print(
    f"warp 2 px: MSE {w['mse'].mean():.4f}, structure {w['fs'].mean():.4f}; "
    f"colour shift: MSE {tint_match['mse'].mean():.4f}, structure {tint_match['fs'].mean():.4f}"
)
assert w["fs"].mean() > 2 * tint_match["fs"].mean(), (w["fs"].mean(), tint_match["fs"].mean())

# %% [markdown]
# The left panel is the control: LPIPS cannot tell a warp from a colour shift of the same pixel error.
# The structure term rises steeply with the warp and hardly moves with the tint. The identity term
# does the opposite: in these synthetic faces skin and hair colour *are* part of who someone is, so a
# tint looks like a change of person, while a small warp does not.

# %% [markdown]
# ## 7. Where on the face does each term push?
#
# During training, a term acts on the restorer through its gradient with respect to the restored
# image. Take a degraded face as the "restored" image and draw, for each term, the size of that
# gradient at every pixel (summed over colour channels, scaled to its own maximum). The boxes mark
# the eyes and the mouth, the regions a restorer most needs to get right.

# %%
from lafr.regions import region_masks

restored = (lq.to(device) * 2 - 1).requires_grad_(True)
grads = {}
for t in ["mse", "lpips", "id", "fs"]:
    restored.grad = None
    loss(restored, gt)[t].backward()
    grads[t] = restored.grad.abs().sum(1).cpu()  # faces x H x W
masks = region_masks(truth, size)
features = (masks["eyes"] | masks["mouth"])[:, 0].float()  # faces x H x W
area = features.mean().item()
share = {t: ((g * features).flatten(1).sum(1) / g.flatten(1).sum(1)).mean().item() for t, g in grads.items()}

i = 0
fig, axes = plt.subplots(1, 5, figsize=(16, 3.4))
axes[0].imshow(lq[i].permute(1, 2, 0).numpy())
axes[0].set_title("degraded face\n(the 'restored' image)", fontsize=10)
for ax, (t, g) in zip(axes[1:], grads.items()):
    im = ax.imshow(g[i] / g[i].max(), cmap="magma", vmin=0, vmax=1)
    ax.contour(features[i].numpy(), levels=[0.5], colors="cyan", linewidths=0.8)
    ax.set_title(f"{names[t]}\n{100 * share[t]:.0f}% of it in the boxes", fontsize=10)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.03)
fig.text(0.995, 0.5, "gradient size, as a share of its largest", rotation=90, va="center", ha="right", fontsize=9)
for ax in axes:
    ax.axis("off")
fig.suptitle(f"Where each term pushes (cyan: eye and mouth boxes, {100 * area:.0f}% of the image)", y=1.06)
viz.save_figure(fig, "04_gradient_maps")
plt.show()
print(
    "share of each term's gradient inside the eye and mouth boxes (mean over faces):",
    {t: round(v, 3) for t, v in share.items()},
    f"; the boxes' share of the image: {area:.3f}",
)

# %% [markdown]
# MSE pushes wherever the pixels are wrong: along every edge of the face, and hardest where the
# degraded eyes differ most from the sharp ones. LPIPS (with its random backbone) pushes everywhere
# a little, like texture noise. The identity and structure terms put a larger share of their push
# into the eyes and mouth than the pixel terms do: the features that say who the face is and how it
# is posed.

# %% [markdown]
# ## 8. Cosine or L2? (Table 5)
#
# The paper compares its cosine forms with L2 forms, $\lVert F(I_{res}) - F(I_{GT}) \rVert^2$, and
# finds the cosine better for both identity (Table 5, #2 against #3) and structure (#5 against #4).
# `MultilevelLoss(..., id_form="l2", fs_form="l2")` gives the L2 forms (here the mean over the
# feature's entries). Two things differ. **Scale**: a cosine distance lies between 0 and 2 whatever the
# network, while an L2 distance is in the feature's own units, so at weight 1 it can drown the other
# terms or vanish beside them. **What it measures**: the cosine ignores a feature's length and
# compares only its direction; the L2 distance also punishes a change of length.

# %%
l2_loss = losses.MultilevelLoss(
    loss.identity_net, loss.structure_net, loss.lpips_net, lpips_weight=cfg.lpips_weight, id_form="l2", fs_form="l2"
)
changes = {
    "mild blur": torch.stack([degrade.blur(f, kernel) for f in faces]),
    "another photo": torch.stack([synthetic.render(f, size)[0] for f in paths["towards another photo"][-1]]),
    "another person": torch.stack([synthetic.render(f, size)[0] for f in paths["towards another person"][-1]]),
}
settings = {
    "strength 1": degrade.degrade(faces, cfg.test_degradation, seed=seeds)[0],
    **changes,
    "warp 2 px": warps[2.0],
    "colour shift 0.3": tints[0.3],
}
rows = {}
with torch.no_grad():
    for name, x in settings.items():
        cos_out, l2_out = loss(x.to(device) * 2 - 1, gt), l2_loss(x.to(device) * 2 - 1, gt)
        rows[name] = {
            "res": cos_out["res"].item(),
            "id cos": cos_out["id"].item(),
            "id L2": l2_out["id"].item(),
            "fs cos": cos_out["fs"].item(),
            "fs L2": l2_out["fs"].item(),
        }
print(f"{'':<18}" + "".join(f"{k:>10}" for k in next(iter(rows.values()))))
for name, r in rows.items():
    print(f"{name:<18}" + "".join(f"{v:10.4f}" for v in r.values()))

fig, axes = plt.subplots(1, 2, figsize=(11, 3.2))
for ax, (term, what) in zip(
    axes,
    (("id", ["mild blur", "another photo", "another person"]), ("fs", ["colour shift 0.3", "warp 2 px", "strength 1"])),
):
    for k, form in enumerate(("cos", "L2")):
        vals = [rows[w][f"{term} {form}"] for w in what]
        ax.bar(np.arange(3) + 0.4 * k - 0.2, vals, width=0.4, label=f"{form} form")
    ax.axhline(rows["strength 1"]["res"], color="black", ls="--", lw=1, label="image term at strength 1")
    ax.set_xticks(range(3), what)
    ax.set_yscale("log")
    ax.set(title=f"{names[term].split(' (')[0]} term", ylabel="value (log scale)")
    ax.legend(fontsize=7)
fig.suptitle("The same changes through the cosine and the L2 form: the scales differ by orders of magnitude", y=1.04)
viz.save_figure(fig, "04_cosine_vs_l2")
plt.show()

# %% [markdown]
# (Tiny profile.) The paper says only that its L2 rows are "implemented in L_2 type" (Table 5); our
# L2 form is the *mean* squared difference over the feature's entries (with the sum it would be 128
# times larger for identity and 38 times for structure). The two forms order the identity changes
# alike (blur, then another photo, then another person); for structure they disagree on whether a
# 2-pixel warp or full degradation is worse. Scale differs most. The L2 identity term is about twice
# its cosine, for a reason particular to this network: its embedding ends in a batch norm, so every
# embedding has a length of about $\sqrt{D}$, and for two vectors of equal length $|f|$ the mean
# squared difference is $2(1 - \cos)\,|f|^2 / D \approx 2(1 - \cos)$. Where a change alters the
# length, as the colour shift does, the L2 form charges more. The L2 structure term, in the normalised
# coordinates of the landmarks, is a few ten-thousandths: at weight 1 it would be lost beside
# $\mathcal{L}_{res}$ (the dashed line). A cosine always lies between 0 and 2, so its weight does not
# depend on the units of the network's feature; an L2 form's does. Whether the cosine also trains a
# better restorer, as Table 5 reports (#3 against #2, #5 against #4), can only be measured by training
# with each form: that is stage 2 (notebook 05).

# %% [markdown]
# ## 9. The balance of the terms at the start of training
#
# Stage 2 starts from the untrained restorer: the LQ face encoded, aligned by the adapter (notebook
# 03), one step of the base UNet at the profile's timestep, the DDPM formula for $x_0$, and the
# decoder: `LAFRPipeline`, which notebook 05 builds and trains (at the start LoRA changes nothing, so
# here it has none). With every weight at 1, how much does each term contribute to the total, and, what
# matters for training, to the gradient that reaches the restored image?

# %%
from lafr import adapter as adapter_mod, models, pipeline

adapter, _ = adapter_mod.load_trained_adapter(adapter_weights or cfg.adapter_weights)
untrained = pipeline.LAFRPipeline.from_base(
    models.load_base(cfg.base_model, prompt=cfg.prompt, device=device),
    cfg.timestep,
    cfg.resolution,
    adapter=adapter.to(device).eval(),
)
with torch.no_grad():
    start = untrained.restore(lq.to(device) * 2 - 1)  # encode, align, one UNet step, decode: [-1, 1]

weight = {
    "mse": loss.weights["res"],
    "lpips": loss.weights["res"] * loss.lpips_weight,
    "id": loss.weights["id"],
    "fs": loss.weights["fs"],
}


def balance(criterion):
    """Each weighted term's value, and the size of its gradient on the restored images."""
    restored = start.clone().requires_grad_(True)
    out = criterion(restored, gt)
    value, push = {}, {}
    for term, w in weight.items():
        restored.grad = None
        (w * out[term]).backward(retain_graph=True)
        value[term], push[term] = w * out[term].item(), restored.grad.norm().item()
    return value, push


value, push = balance(loss)

fig, axes = plt.subplots(1, 3, figsize=(12, 3))
axes[0].imshow(((start[0].detach().cpu() + 1) / 2).clamp(0, 1).permute(1, 2, 0).numpy())
axes[0].set_title(f"untrained restorer's output (t = {cfg.timestep})")
axes[0].axis("off")
labels = ["MSE", f"{loss.lpips_weight:g} x LPIPS", "identity", "structure"]
for ax, d, title in (
    (axes[1], value, "share of the weighted total"),
    (axes[2], push, "share of the gradient on the image"),
):
    total = sum(d.values())
    ax.bar(labels, [v / total for v in d.values()], color=["tab:gray", "tab:purple", "tab:red", "tab:green"])
    ax.set(title=title, ylim=(0, 1))
fig.suptitle("At weight 1, which term drives the start of training?", y=1.04)
viz.save_figure(fig, "04_balance_at_start")
plt.show()
for term in weight:
    print(
        f"{term:<6} weighted value {value[term]:.4f} ({100 * value[term] / sum(value.values()):4.1f}%)   "
        f"gradient norm {push[term]:.4f} ({100 * push[term] / sum(push.values()):4.1f}%)"
    )
with torch.no_grad():
    lengths = loss.structure_net(start).norm(dim=1).mean().item(), loss.structure_net(gt).norm(dim=1).mean().item()
print(f"length of the structure feature: untrained output {lengths[0]:.3f}, ground truth {lengths[1]:.3f}")
if hasattr(loss.structure_net, "landmarks"):
    with torch.no_grad():
        moved = (loss.structure_net.landmarks(start) - truth.to(device)).norm(dim=-1).mean().item()
    print(
        f"landmarks of the untrained output are {moved:.2f} px from the truth (the average face's: "
        f"{manifests[cfg.structure_net]['quality']['landmark_error_px_mean_face']:.2f} px)"
    )
l2_value, l2_push = balance(l2_loss)
print(
    "with the L2 forms instead, shares of the gradient: "
    + ", ".join(f"{t} {100 * v / sum(l2_push.values()):.1f}%" for t, v in l2_push.items())
)

# %% [markdown]
# In the tiny profile one term does dominate at weight 1: the **structure term** carries most of the
# gradient on the image (about 60%), though the identity term is the larger share of the total. The
# printout says why. At the tiny profile's small timestep ($t = 49$, chosen in notebook 05) the untrained
# restorer's output is close to the adapter's: its landmarks are under a pixel from the truth, far better
# than the average face's 2.3 px. But its structure feature is shorter than the ground truth's, and the
# gradient of a cosine grows as the vector shrinks (it scales with one over the length), so the small
# remaining error in the feature's direction pushes hard. Three more things tilt the balance: MSE is a
# mean over pixels, so each pixel's share of its gradient is small; the offline LPIPS runs at about a
# tenth of real LPIPS's scale, so its weight of 2 acts more like 0.2; and with the L2 forms the balance
# flips to the identity term (the last line). This is a gradient on the image, not yet on the LoRA
# weights, and Adam rescales each weight's step, so it does not say how training will go; it says which
# term the image is pushed by first. The paper keeps every weight at 1 and so do we; notebook 05 trains
# with them and shows what happens (the structure and identity terms fall most).

# %%
# Claim (the tiny profile's networks): at the start of training, at weight 1, the structure term
# carries more than half of the gradient on the restored image. (At a structure weight of 0.1 it
# carries about 13%; a structure network that has learnt nothing carries none.)
if isinstance(loss.structure_net, facenets.ToyStructureNet):
    assert push["fs"] > 0.5 * sum(push.values()), push

# %% [markdown]
# ## What this shows, and what it does not
#
# - Each term has a job. MSE and LPIPS punish any difference of pixels, including a harmless change of
#   view; the identity term punishes another person far more than another photo of the same one; the
#   structure term punishes moved features (and a turned head) far more than new colours at the same
#   pixel error.
# - The offline stand-ins are honest but small. The toy identity encoder and structure network know
#   synthetic faces only, and the offline LPIPS is a random-feature distance with LPIPS's linear
#   layers, not LPIPS. The paper profile loads the real networks (CLIP, D3DFR, LPIPS with VGG).
# - The cosine forms are scale-free (between 0 and 2 whatever the network); the L2 forms carry the
#   units of the feature and rank the same changes alike. The paper's Table 5 measures the restorers
#   trained with each; that needs stage 2 (notebook 05), so here we show only what the forms do to
#   the same changes.
# - At weight 1 the terms are far from balanced at the start of training: in the tiny profile the
#   structure term carries most of the gradient. Notebook 05 trains with the paper's weights anyway
#   and shows what happens.
# - None of these networks judges the restorer: notebook 06 measures identity and landmarks with
#   dlib's networks, never with the networks of the loss.
#
# Next: **05 · Prune, then tune only the convolutions** (the one-step restorer and its training).
