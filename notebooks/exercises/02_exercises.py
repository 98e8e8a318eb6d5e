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
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/lafr-course/lafr/blob/main/notebooks/exercises/02_exercises.ipynb)
#
# # Exercises for chapter 02 · The VAE has never seen a blurry face
#
# Work through [notebook 02](../02_vae_has_never_seen_a_blurry_face.ipynb) first. Each exercise has a
# task, a cell for your answer (replace `raise NotImplementedError()`), and a check cell: run it, and it
# passes when your answer is right. Do not edit the check cells.
#
# | exercise | kind | level | time |
# |---|---|---|---|
# | 2.1 Into the latent space, scaled exactly once | implement a piece against a test | beginner | 15 min |
# | 2.2 What does the VAE make of an LQ face? | predict, then check | beginner | 10 min |
# | 2.3 Break the claim that the decoder draws eyes | break a claim on purpose | intermediate | 20 min |
#
# **Runtime**: the tiny profile, offline, about 15 s on 2 CPU cores once your answers are in.

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
# Parameters
seed = 0
n_faces = 32  # held-out faces to measure on

# %%
import torch
import torch.nn.functional as F

from lafr import data, degrade, models, regions, vae as vae_io
from lafr.config import get_profile

cfg = get_profile("tiny")  # the exercises use the tiny profile: offline, on a CPU
vae = models.load_base(cfg.base_model).vae
hq, _ = data.image_set(cfg.eval_faces, n_faces, cfg.resolution, seed=seed)  # held-out faces in [0, 1]
landmarks = data.face_landmarks(cfg.eval_faces, n_faces, cfg.resolution, seed=seed)
lq, _ = degrade.degrade(hq, cfg.degradation, seed=list(range(n_faces)))


def round_trip(images):
    """Images in [0, 1] through the VAE and back, with lafr's own encode and decode."""
    with torch.no_grad():
        return (vae_io.decode(vae, vae_io.encode(vae, data.to_model(images))) + 1) / 2


# %% [markdown]
# ## Exercise 2.1 · Into the latent space, scaled exactly once (implement, 15 min)
#
# Write `to_latent(vae, images)`: images are N x 3 x H x W **in [0, 1]**; return the latents the
# diffusion model works with. Three things to get right: the VAE expects images in [-1, 1]; take the
# *mean* of the latent distribution (`vae.encode(x).latent_dist.mean`); and multiply by the scaling
# factor `vae.config.scaling_factor`, exactly once (notebook 02, section 1). No gradients are needed.
# The check compares your latents with `lafr.vae.encode`'s.


# %% nbgrader={"grade": false, "grade_id": "ex2_1", "locked": false, "schema_version": 3, "solution": true}
def to_latent(vae, images: torch.Tensor) -> torch.Tensor:
    ### BEGIN SOLUTION
    with torch.no_grad():
        return vae.encode(images * 2 - 1).latent_dist.mean * vae.config.scaling_factor
    ### WRONG ANSWER: the scaling factor forgotten
    # with torch.no_grad():
    #     return vae.encode(images * 2 - 1).latent_dist.mean
    ### WRONG ANSWER: the scaling factor applied twice
    # with torch.no_grad():
    #     return vae.encode(images * 2 - 1).latent_dist.mean * vae.config.scaling_factor**2
    ### WRONG ANSWER: images left in [0, 1]
    # with torch.no_grad():
    #     return vae.encode(images).latent_dist.mean * vae.config.scaling_factor
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex2_1_check", "locked": true, "points": 2, "schema_version": 3, "solution": false}
mine = to_latent(vae, hq[:8])
with torch.no_grad():
    expected = vae_io.encode(vae, data.to_model(hq[:8]))
assert mine.shape == expected.shape, (mine.shape, expected.shape)
assert torch.allclose(mine, expected, atol=1e-4), f"largest difference {float((mine - expected).abs().max()):.3g}"
### BEGIN HIDDEN TESTS
assert 0.8 < float(mine.std()) < 1.25  # what the scaling factor is for: latents of about unit variance
### END HIDDEN TESTS
print(f"exercise 2.1: correct (latent standard deviation {float(mine.std()):.2f})")

# %% [markdown]
# ## Exercise 2.2 · What does the VAE make of an LQ face? (predict, then check, 10 min)
#
# Encode an LQ face and decode its latent: decode(z_LQ). The VAE was trained on HQ faces only. Before
# you run anything: is decode(z_LQ) **closer to the LQ image** it came from, or **closer to the HQ
# face** (by PSNR, averaged over the held-out faces)? Return `"LQ image"` or `"HQ face"`.


# %% nbgrader={"grade": false, "grade_id": "ex2_2", "locked": false, "schema_version": 3, "solution": true}
def my_prediction() -> str:
    ### BEGIN SOLUTION
    # A VAE trained on HQ faces cannot draw noise or JPEG blocks, but nothing in an LQ latent says
    # "this was sharp": the blur stays, so the decoding stays near the LQ image.
    return "LQ image"
    ### WRONG ANSWER: the HQ face, as if a VAE that only saw HQ faces restored what it is given
    # return "HQ face"
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex2_2_check", "locked": true, "points": 1, "schema_version": 3, "solution": false}
prediction = my_prediction()  # first: the measurement below gives the answer away
assert prediction in ("LQ image", "HQ face"), "answer 'LQ image' or 'HQ face'"
decoded_lq = round_trip(lq)
to_lq, to_hq = float(regions.psnr(decoded_lq, lq).mean()), float(regions.psnr(decoded_lq, hq).mean())
print(f"decode(z_LQ) against the LQ image: {to_lq:.2f} dB; against the HQ face: {to_hq:.2f} dB")
assert prediction == ("LQ image" if to_lq > to_hq else "HQ face"), "look at the numbers above: which is higher?"
print("exercise 2.2: correct")

# %% [markdown]
# ## Exercise 2.3 · Break the claim that the decoder draws eyes (break a claim on purpose, 20 min)
#
# Notebook 02 claims that *the decoder draws eyes*: inside the eye boxes the VAE's reconstruction of an
# HQ face scores at least 22 dB, and at least 2 dB above the degraded input (`draws_eyes` below). The
# notebook names the false case the check guards against: a **blurred reconstruction**, which keeps a
# face's shape but not its eyes' detail.
#
# Write `false_reconstruction(rec)`: given the reconstructions (N x 3 x H x W in [0, 1]), return them
# blurred by a 3 x 3 box filter (each pixel the mean of its 3 x 3 neighbourhood, edge pixels repeated;
# `F.pad(..., mode="replicate")` and `F.avg_pool2d` will help). The check passes when the claim fails
# for your images.


# %% nbgrader={"grade": false, "grade_id": "ex2_3", "locked": false, "schema_version": 3, "solution": true}
def false_reconstruction(rec: torch.Tensor) -> torch.Tensor:
    ### BEGIN SOLUTION
    return F.avg_pool2d(F.pad(rec, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
    ### WRONG ANSWER: the reconstruction unchanged, which is the true case
    # return rec
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex2_3_check", "locked": true, "points": 2, "schema_version": 3, "solution": false}
def draws_eyes(rec_eyes_db, lq_eyes_db):  # notebook 02's claim
    return rec_eyes_db >= 22.0 and rec_eyes_db >= lq_eyes_db + 2.0


rec = round_trip(hq)
fake = false_reconstruction(rec)
assert fake.shape == rec.shape, fake.shape
box = F.avg_pool2d(F.pad(rec, (1, 1, 1, 1), mode="replicate"), 3, stride=1)  # the false case the notebook names
assert torch.allclose(fake, box, atol=1e-6), "not the 3 x 3 box blur with edge pixels repeated"
eyes = {name: float(regions.region_psnr(x, hq, landmarks)["eyes"].mean()) for name, x in [("rec", rec), ("lq", lq)]}
fake_eyes = float(regions.region_psnr(fake, hq, landmarks)["eyes"].mean())
print(f"eye boxes: reconstruction {eyes['rec']:.1f} dB, yours {fake_eyes:.1f} dB, LQ input {eyes['lq']:.1f} dB")
assert draws_eyes(eyes["rec"], eyes["lq"]), "the true case should pass"
assert not draws_eyes(fake_eyes, eyes["lq"]), "the claim still holds for your images: they keep the eyes' detail"
print("exercise 2.3: the claim fails, as it should for this false case")

# %% [markdown] nbgrader={"grade": true, "grade_id": "ex2_3_why", "locked": false, "points": 1, "schema_version": 3, "solution": true}
# In one sentence: why does a 3 x 3 blur fail the check when the whole face hardly changes?
#
# ### BEGIN SOLUTION
# The eyes are small and made of fine, high-contrast detail (pupil, iris ring, lashes) that a 3 x 3
# blur smears over its neighbours, so the error inside the eye boxes grows far more than over the
# smooth skin and background that dominate a whole-face PSNR.
# ### END SOLUTION
