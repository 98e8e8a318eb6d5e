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
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/lafr-course/lafr/blob/main/notebooks/exercises/05_exercises.ipynb)
#
# # Exercises for chapter 05 · Prune, then tune only the convolutions
#
# Work through [notebook 05](../05_prune_then_tune_only_the_convolutions.ipynb) first. Each exercise has a task, a cell for your
# answer (replace `raise NotImplementedError()`), and a check cell: run it, and it passes when your
# answer is right. Do not edit the check cells.
#
# | exercise | kind | level | time |
# |---|---|---|---|
# | 5.1 From predicted noise to a clean latent | implement a piece against a test | beginner | 15 min |
# | 5.2 Which timestep magnifies the UNet's errors? | predict, then check | intermediate | 15 min |
# | 5.3 Prune the time embedding | implement a piece against a test | advanced | 30 min |
#
# **Runtime**: the tiny profile, offline, about 10 s on 2 CPU cores once your answers are in.

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

# %%
import copy

import torch

from lafr import models, pipeline, train, unet as unet_mod
from lafr.config import get_profile

cfg = get_profile("tiny")  # the exercises use the tiny profile: offline, on a CPU
restorer = pipeline.LAFRPipeline.from_pretrained(cfg.restorer_weights)  # the committed toy restorer
_, z_lq, _ = train.heldout_pairs(restorer.vae, cfg, 8, seed=seed)
with torch.no_grad():
    z_aligned = restorer.adapter(z_lq)  # what the UNet sees
alphas_cumprod = restorer.scheduler.alphas_cumprod  # alpha-bar_t for every t of the noise schedule
print(f"fixed timestep t = {restorer.timestep}; alpha-bar_t = {restorer.alpha:.4f}")

# %% [markdown]
# ## Exercise 5.1 · From predicted noise to a clean latent (implement, 15 min)
#
# The one-step restorer runs the UNet once at the fixed timestep t on the aligned latent $z_t$; the UNet
# predicts the noise $\epsilon$, and the DDPM formula turns that into the clean latent:
# $\hat z_0 = (z_t - \sqrt{1-\bar\alpha_t}\,\epsilon) / \sqrt{\bar\alpha_t}$ (notebook 05, section 1).
# Write `x0_from_noise(z_t, eps, alpha_bar)` (`alpha_bar` a float). The check compares your clean
# latents, from the committed restorer's own noise prediction, with its `denoise`.


# %% nbgrader={"grade": false, "grade_id": "ex5_1", "locked": false, "schema_version": 3, "solution": true}
def x0_from_noise(z_t: torch.Tensor, eps: torch.Tensor, alpha_bar: float) -> torch.Tensor:
    ### BEGIN SOLUTION
    return (z_t - (1 - alpha_bar) ** 0.5 * eps) / alpha_bar**0.5
    ### WRONG ANSWER: the square roots forgotten
    # return (z_t - (1 - alpha_bar) * eps) / alpha_bar
    ### WRONG ANSWER: the noise added instead of removed
    # return (z_t + (1 - alpha_bar) ** 0.5 * eps) / alpha_bar**0.5
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex5_1_check", "locked": true, "points": 2, "schema_version": 3, "solution": false}
t = torch.full((len(z_aligned),), restorer.timestep)
with torch.no_grad():
    eps = restorer.unet(z_aligned, t, restorer.prompt_embeds.expand(len(z_aligned), -1, -1)).sample
    expected = restorer.denoise(z_aligned)
mine = x0_from_noise(z_aligned, eps, restorer.alpha)
assert torch.allclose(mine, expected, atol=1e-4), f"largest difference {float((mine - expected).abs().max()):.3g}"
### BEGIN HIDDEN TESTS
assert torch.allclose(x0_from_noise(torch.ones(3), torch.zeros(3), 0.25), torch.full((3,), 2.0))
### END HIDDEN TESTS
print("exercise 5.1: correct")

# %% [markdown]
# ## Exercise 5.2 · Which timestep magnifies the UNet's errors? (predict, then check, 15 min)
#
# In the formula above, an error $\delta$ in the predicted noise becomes an error
# $\sqrt{1-\bar\alpha_t}/\sqrt{\bar\alpha_t}\cdot\delta$ in the clean latent. The noise schedule
# keeps less and less of the signal as t grows: SD's schedule (the toy's too) has
# $\bar\alpha_{49} \approx 0.953$ and $\bar\alpha_{999} \approx 0.0047$. Is the UNet's error magnified
# more at **t = 49** (the tiny profile's) or at **t = 999** (where one-step methods such as OSEDiff
# start from)? Return `49` or `999`, and, as a second value, the magnification at that timestep
# (within 20%), worked out by hand from the numbers above.


# %% nbgrader={"grade": false, "grade_id": "ex5_2", "locked": false, "schema_version": 3, "solution": true}
def my_prediction() -> tuple[int, float]:
    ### BEGIN SOLUTION
    # At t = 999 almost no signal is left: the factor is sqrt(0.9953 / 0.0047), about 14.6. At t = 49
    # it is sqrt(0.047 / 0.953), about 0.22.
    return 999, 14.6
    ### WRONG ANSWER: the small timestep
    # return 49, 0.3
    ### WRONG ANSWER: the right timestep, but the square roots forgotten (about 200)
    # return 999, 200.0
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex5_2_check", "locked": true, "points": 2, "schema_version": 3, "solution": false}
when, how_much = my_prediction()  # first: the measurement below gives the answer away
assert when in (49, 999), "answer 49 or 999"
gain = {t: float(((1 - alphas_cumprod[t]) / alphas_cumprod[t]) ** 0.5) for t in (49, 999)}
print(f"the error in the noise is multiplied by {gain[49]:.2f} at t = 49 and by {gain[999]:.1f} at t = 999")
assert when == max(gain, key=gain.get), "see the numbers above"
assert abs(how_much / gain[when] - 1) <= 0.2, f"the factor at t = {when} is {gain[when]:.2f}"
print("exercise 5.2: correct")

# %% [markdown]
# ## Exercise 5.3 · Prune the time embedding (implement, 30 min)
#
# The timestep never changes, so the UNet's time-embedding network always computes the same vector:
# compute it once and replace the network by that constant (A.2.2; notebook 05, section 2). Write
# `prune_time_embedding(unet, timestep)`: change `unet` in place so that `unet.time_embedding` returns
# its output for `timestep`, whatever it is given. You need
# `unet.get_time_embed(sample=..., timestep=torch.tensor([timestep]))` (the sinusoidal embedding; any
# tensor of the UNet's dtype as `sample`), then `unet.time_embedding(that, None)`, and
# `unet_mod.Constant(value)`, a module that returns `value` whatever its input. The check runs your
# pruned UNet against the unpruned one at the fixed timestep.


# %% nbgrader={"grade": false, "grade_id": "ex5_3", "locked": false, "schema_version": 3, "solution": true}
def prune_time_embedding(unet, timestep: int) -> None:
    ### BEGIN SOLUTION
    with torch.no_grad():
        t_emb = unet.get_time_embed(sample=torch.zeros(1), timestep=torch.tensor([timestep]))
        unet.time_embedding = unet_mod.Constant(unet.time_embedding(t_emb, None))
    ### WRONG ANSWER: the embedding of timestep 0 instead of the fixed one
    # with torch.no_grad():
    #     t_emb = unet.get_time_embed(sample=torch.zeros(1), timestep=torch.tensor([0]))
    #     unet.time_embedding = unet_mod.Constant(unet.time_embedding(t_emb, None))
    ### WRONG ANSWER: the sinusoidal embedding kept without the time-embedding network
    # with torch.no_grad():
    #     t_emb = unet.get_time_embed(sample=torch.zeros(1), timestep=torch.tensor([timestep]))
    #     unet.time_embedding = unet_mod.Constant(t_emb)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex5_3_check", "locked": true, "points": 3, "schema_version": 3, "solution": false}
base = models.load_base(cfg.base_model, prompt=cfg.prompt)  # a fresh, unpruned UNet
timestep = cfg.timestep
z = z_lq[:4]
t = torch.full((len(z),), timestep)
prompt = base.prompt_embeds.expand(len(z), -1, -1)
with torch.no_grad():
    reference = base.unet(z, t, prompt).sample
    mine = copy.deepcopy(base.unet)
    prune_time_embedding(mine, timestep)
    try:
        ours = mine(z, t, prompt).sample
    except RuntimeError as err:  # for example a constant of the wrong shape
        raise AssertionError(f"the pruned UNet does not run: {err}") from err
assert isinstance(mine.time_embedding, unet_mod.Constant), "unet.time_embedding should be a Constant"
difference = float((ours - reference).abs().max())
print(f"largest difference from the unpruned UNet: {difference:.1e}")
assert difference < 1e-5, "the pruned UNet computes something else"
### BEGIN HIDDEN TESTS
lafrs = copy.deepcopy(base.unet)
unet_mod.prune_unet(lafrs, base.prompt_embeds, timestep)
with torch.no_grad():
    assert torch.allclose(mine.time_embedding.value, lafrs.time_embedding.value, atol=1e-6)
### END HIDDEN TESTS
print("exercise 5.3: correct")
