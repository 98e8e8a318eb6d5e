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
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/lafr-course/lafr/blob/main/notebooks/exercises/03_exercises.ipynb)
#
# # Exercises for chapter 03 · A codebook that pulls LQ latents home
#
# Work through [notebook 03](../03_a_codebook_that_pulls_lq_latents_home.ipynb) first. Each exercise
# has a task, a cell for your answer (replace `raise NotImplementedError()`), and a check cell: run it,
# and it passes when your answer is right. Do not edit the check cells.
#
# | exercise | kind | level | time |
# |---|---|---|---|
# | 3.1 A straight-through argmin | implement a piece against a test | intermediate | 20 min |
# | 3.2 What does an untrained adapter do? | predict, then check | beginner | 10 min |
# | 3.3 Break the codebook-health claim | break a claim on purpose | intermediate | 15 min |
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
n_faces = 64  # held-out faces to measure on

# %%
import copy

import torch
import torch.nn.functional as F

from lafr import adapter as adapter_mod, models, train
from lafr.config import get_profile

cfg = get_profile("tiny")  # the exercises use the tiny profile: offline, on a CPU
vae = models.load_base(cfg.base_model).vae
_, z_lq, z_hq = train.heldout_pairs(vae, cfg, n_faces, seed=seed)  # held-out LQ and HQ latents
trained, _ = adapter_mod.load_trained_adapter(cfg.adapter_weights)  # the committed toy adapter
trained.eval()

# %% [markdown]
# ## Exercise 3.1 · A straight-through argmin (implement, 20 min)
#
# The adapter replaces each feature by its nearest codebook entry: an argmin, which has no gradient.
# Write `straight_through_argmin(distances, beta)`: `distances` is (..., K), the distance of each
# position to each of K entries. Return weights over the entries (the same shape) whose **value** is
# the one-hot of the nearest entry and whose **gradient** is that of the soft weights
# softmax(-beta * distances) (notebook 03, section 2; A.2.2's `STArgmin`). Hint: `F.one_hot`,
# `torch.softmax`, and a term that is exactly zero in value but not in gradient. The check compares
# values and gradients with `lafr.adapter.differentiable_argmin(..., straight_through=True)`.


# %% nbgrader={"grade": false, "grade_id": "ex3_1", "locked": false, "schema_version": 3, "solution": true}
def straight_through_argmin(distances: torch.Tensor, beta: float) -> torch.Tensor:
    ### BEGIN SOLUTION
    soft = torch.softmax(-beta * distances, dim=-1)
    hard = F.one_hot(distances.argmin(dim=-1), distances.shape[-1]).to(soft.dtype)
    return hard + (soft - soft.detach())
    ### WRONG ANSWER: argmax instead of argmin (the farthest entry)
    # soft = torch.softmax(-beta * distances, dim=-1)
    # hard = F.one_hot(distances.argmax(dim=-1), distances.shape[-1]).to(soft.dtype)
    # return hard + (soft - soft.detach())
    ### WRONG ANSWER: the hard one-hot alone, through which no gradient flows
    # return F.one_hot(distances.argmin(dim=-1), distances.shape[-1]).float()
    ### WRONG ANSWER: the soft weights alone, which are never exactly one entry
    # return torch.softmax(-beta * distances, dim=-1)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex3_1_check", "locked": true, "points": 3, "schema_version": 3, "solution": false}
g = torch.Generator().manual_seed(seed)
d_mine = torch.rand(2, 3, 5, 16, generator=g).requires_grad_(True)
d_ref = d_mine.detach().clone().requires_grad_(True)
w_mine = straight_through_argmin(d_mine, beta=10.0)
w_ref = adapter_mod.differentiable_argmin(d_ref, beta=10.0, straight_through=True)
assert w_mine.shape == w_ref.shape, (w_mine.shape, w_ref.shape)
assert torch.allclose(w_mine.detach(), w_ref.detach(), atol=1e-6), "the value must be the one-hot of the nearest entry"
probe = torch.randn(w_ref.shape, generator=g)  # any weighting of the outputs, to get a gradient
assert w_mine.requires_grad, "no gradient reaches the distances"
(w_mine * probe).sum().backward()
(w_ref * probe).sum().backward()
assert d_mine.grad.abs().sum() > 0, "no gradient reaches the distances"
assert torch.allclose(d_mine.grad, d_ref.grad, atol=1e-6), "the gradient must be the soft weights'"
print("exercise 3.1: correct")

# %% [markdown]
# ## Exercise 3.2 · What does an untrained adapter do? (predict, then check, 10 min)
#
# Build the adapter with the tiny profile's sizes but **untrained** (random weights,
# `train.build_adapter(cfg)`), and pass held-out LQ latents through it. Before you run anything: are its
# outputs **closer** to z_HQ than z_LQ is (mean L1 distance), or **further**? Return `"closer"` or
# `"further"`.


# %% nbgrader={"grade": false, "grade_id": "ex3_2", "locked": false, "schema_version": 3, "solution": true}
def my_prediction() -> str:
    ### BEGIN SOLUTION
    # The paper's adapter has no skip connection: its output is whatever the random mapping network
    # makes of random codebook entries, with nothing of z_LQ passed through. It lands far from z_HQ.
    return "further"
    ### WRONG ANSWER: closer, as if the adapter started from z_LQ and only improved it
    # return "closer"
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex3_2_check", "locked": true, "points": 1, "schema_version": 3, "solution": false}
prediction = my_prediction()  # first: the measurement below gives the answer away
assert prediction in ("closer", "further"), "answer 'closer' or 'further'"
torch.manual_seed(seed)
with torch.no_grad():
    untrained = train.evaluate_adapter(train.build_adapter(cfg), z_lq, z_hq)
print(f"mean L1 to z_HQ: z_LQ {untrained['l1_lq']:.3f}, the untrained adapter's output {untrained['l1_aligned']:.3f}")
assert prediction == ("closer" if untrained["l1_aligned"] < untrained["l1_lq"] else "further"), "see the numbers"
print("exercise 3.2: correct")

# %% [markdown]
# *Going further (not checked):* what would the untrained adapter do with a skip connection
# (`train.build_adapter(cfg, residual=True)`)? Why does notebook 03 keep the paper's form anyway?
#
# ## Exercise 3.3 · Break the codebook-health claim (break a claim on purpose, 15 min)
#
# Notebook 03 claims the trained codebook is *healthy*: on held-out faces its perplexity (the effective
# number of entries in use) is at least half the codebook's size. The notebook names a false case: a
# codebook that **collapsed onto one entry**.
#
# Write `collapsed(adapter)`: return a copy of the adapter (`copy.deepcopy`) whose codebook has
# collapsed: every entry equal to the first. The codebook is the parameter `adapter.codebook` (K x d);
# change a parameter's values inside `with torch.no_grad():`. Do not change the original. The check
# measures the claim on your copy and passes when the claim fails.


# %% nbgrader={"grade": false, "grade_id": "ex3_3", "locked": false, "schema_version": 3, "solution": true}
def collapsed(adapter):
    ### BEGIN SOLUTION
    out = copy.deepcopy(adapter)
    with torch.no_grad():
        out.codebook[:] = out.codebook[0]
    return out
    ### WRONG ANSWER: a copy left as it was, which is the true case
    # return copy.deepcopy(adapter)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex3_3_check", "locked": true, "points": 2, "schema_version": 3, "solution": false}
original, _ = adapter_mod.load_trained_adapter(cfg.adapter_weights)  # a fresh copy for each try
broken = collapsed(original)
assert torch.equal(original.codebook, trained.codebook), "your function changed the adapter it was given"
with torch.no_grad():
    health = {
        name: train.evaluate_adapter(a, z_lq, z_hq)["perplexity"]
        for name, a in [("trained", original), ("yours", broken)]
    }
size = trained.config.codebook_size
print(f"perplexity on held-out faces: trained {health['trained']:.0f}, yours {health['yours']:.0f} (bar: {size // 2})")
assert health["trained"] >= 0.5 * size, "the true case should pass"
assert not health["yours"] >= 0.5 * size, "the claim still holds for your codebook"
print("exercise 3.3: the claim fails, as it should for this false case")

# %% [markdown] nbgrader={"grade": true, "grade_id": "ex3_3_why", "locked": false, "points": 1, "schema_version": 3, "solution": true}
# In one sentence: what does a perplexity of 1 mean for what the mapping network receives?
#
# ### BEGIN SOLUTION
# Every position of every face picks the same entry, so the mapping network receives one constant
# vector whatever the input and cannot tell faces apart: the adapter's output is the same for all of
# them.
# ### END SOLUTION
