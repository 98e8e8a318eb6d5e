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
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/lafr-course/lafr/blob/main/notebooks/exercises/04_exercises.ipynb)
#
# # Exercises for chapter 04 · What should a face restorer be punished for?
#
# Work through [notebook 04](../04_what_should_a_face_restorer_be_punished_for.ipynb) first. Each exercise has a task, a cell for your
# answer (replace `raise NotImplementedError()`), and a check cell: run it, and it passes when your
# answer is right. Do not edit the check cells.
#
# | exercise | kind | level | time |
# |---|---|---|---|
# | 4.1 The identity term, a cosine | implement a piece against a test | beginner | 10 min |
# | 4.2 Why a cosine and not an L2 distance? | predict, then check | intermediate | 15 min |
# | 4.3 Break the wiring check | break a claim on purpose | intermediate | 15 min |
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
n_faces = 16  # held-out faces to measure on

# %%
import torch

from lafr import data, losses
from lafr.config import get_profile

cfg = get_profile("tiny")  # the exercises use the tiny profile: offline, on a CPU
loss = losses.build_loss(cfg)  # the multilevel loss of eq. 3, with the toy identity and structure networks
faces, _ = data.image_set(cfg.eval_faces, n_faces, cfg.resolution, seed=seed)
gt = faces * 2 - 1  # the loss takes images in [-1, 1]
with torch.no_grad():
    features = loss.identity_net(gt)  # the identity network's embeddings of the held-out faces
print(f"identity features: {tuple(features.shape)}")

# %% [markdown]
# ## Exercise 4.1 · The identity term, a cosine (implement, 10 min)
#
# The paper's identity term (eq. 1) is $1 - \cos(F_{id}(\hat x), F_{id}(x))$. Write
# `identity_term(a, b)`: `a` and `b` are N x D feature tensors (one row per face); return one value per
# face, a tensor of N. (`torch.nn.functional.cosine_similarity` will help.) The check compares your
# function with `lafr.losses.feature_distance`.


# %% nbgrader={"grade": false, "grade_id": "ex4_1", "locked": false, "schema_version": 3, "solution": true}
def identity_term(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    ### BEGIN SOLUTION
    return 1 - torch.nn.functional.cosine_similarity(a.flatten(1), b.flatten(1), dim=1)
    ### WRONG ANSWER: an L2 identity term (the mean squared difference of the features)
    # return (a.flatten(1) - b.flatten(1)).square().mean(1)
    ### WRONG ANSWER: the cosine itself, which is largest for a perfect match
    # return torch.nn.functional.cosine_similarity(a.flatten(1), b.flatten(1), dim=1)
    ### WRONG ANSWER: one minus the dot product, without normalising the features
    # return 1 - (a.flatten(1) * b.flatten(1)).sum(1)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex4_1_check", "locked": true, "points": 2, "schema_version": 3, "solution": false}
other = features.roll(1, 0)  # each face against another person's embedding
mine, expected = identity_term(features, other), losses.feature_distance(features, other, "cosine")
assert mine.shape == expected.shape, (mine.shape, expected.shape)
assert torch.allclose(mine.float(), expected, atol=1e-5), (mine, expected)
### BEGIN HIDDEN TESTS
assert torch.allclose(identity_term(features, features).float(), torch.zeros(len(features)), atol=1e-5)
assert torch.allclose(identity_term(3 * features, features).float(), torch.zeros(len(features)), atol=1e-5)
### END HIDDEN TESTS
print("exercise 4.1: correct")

# %% [markdown]
# ## Exercise 4.2 · Why a cosine and not an L2 distance? (predict, then check, 15 min)
#
# Table 5 of the paper compares cosine identity and structure terms with L2 ones. Suppose a restored
# face's identity embedding points in exactly the same direction as the truth's, but is **half as
# long** (an embedding's length depends on things like contrast, not on who the person is). Which form
# of the identity term calls that a perfect match (0)? Return `"cosine"`, `"L2"` or `"both"`.


# %% nbgrader={"grade": false, "grade_id": "ex4_2", "locked": false, "schema_version": 3, "solution": true}
def my_prediction() -> str:
    ### BEGIN SOLUTION
    # A cosine looks only at the direction; an L2 distance also counts the change of length.
    return "cosine"
    ### WRONG ANSWER: both, as if any distance ignored a change of length
    # return "both"
    ### WRONG ANSWER: L2
    # return "L2"
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex4_2_check", "locked": true, "points": 1, "schema_version": 3, "solution": false}
prediction = my_prediction()  # first: the measurement below gives the answer away
assert prediction in ("cosine", "L2", "both"), "answer 'cosine', 'L2' or 'both'"
half = 0.5 * features
term = {form: float(losses.feature_distance(half, features, form).abs().max()) for form in ("cosine", "l2")}
print(f"largest term over the faces, half-length embedding: cosine {term['cosine']:.2g}, L2 {term['l2']:.2g}")
zero = {"cosine": term["cosine"] < 1e-5, "L2": term["l2"] < 1e-5}
measured = "both" if all(zero.values()) else next((k for k, v in zero.items() if v), "neither")
assert prediction == measured, f"measured: {measured}"
print("exercise 4.2: correct")

# %% [markdown]
# ## Exercise 4.3 · Break the wiring check (break a claim on purpose, 15 min)
#
# Notebook 04 claims *every term is 0 when the restored face is the ground truth*. It is a wiring check:
# it holds for any network. The notebook names the mistake it catches: a loss that compares each face's
# features with **another face's in the batch** (for example after shuffling the batch, or pairing the
# wrong tensors).
#
# Write `miswired_identity_term(restored, gt)` (images N x 3 x H x W in [-1, 1]): the identity term with
# that mistake, each restored face compared with its neighbour's ground truth in the batch (the one
# before it: `gt.roll(1, 0)` rolls along the batch dimension, 0). Use `loss.identity_net` and
# `losses.feature_distance`. The check runs the claim on it and passes when the claim fails.


# %% nbgrader={"grade": false, "grade_id": "ex4_3", "locked": false, "schema_version": 3, "solution": true}
def miswired_identity_term(restored: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    ### BEGIN SOLUTION
    return losses.feature_distance(loss.identity_net(restored), loss.identity_net(gt.roll(1, 0)))
    ### WRONG ANSWER: the identity term wired correctly, which is the true case
    # return losses.feature_distance(loss.identity_net(restored), loss.identity_net(gt))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex4_3_check", "locked": true, "points": 2, "schema_version": 3, "solution": false}
with torch.no_grad():
    at_gt = miswired_identity_term(gt, gt.clone())
    right = loss(gt, gt.clone(), reduce=False)["id"]
    emb = loss.identity_net(gt)
    neighbours = [losses.feature_distance(emb, emb.roll(k, 0)) for k in (1, -1)]  # the mistake, either way round
assert any(torch.allclose(at_gt.float(), n, atol=1e-5) for n in neighbours), "not each face against a neighbour's"
print(
    f"identity term at the ground truth: wired right {float(right.abs().max()):.1e}, yours up to {float(at_gt.max()):.2f}"
)
assert right.abs().max() < 1e-4, "the true case should pass"
assert not at_gt.abs().max() < 1e-4, "the claim still holds: your term is 0 at the ground truth"
print("exercise 4.3: the claim fails, as it should for this mistake")

# %% [markdown] nbgrader={"grade": true, "grade_id": "ex4_3_why", "locked": false, "points": 1, "schema_version": 3, "solution": true}
# In one sentence: the claim holds for any network, even an untrained one. Then what can it catch, and
# what can it not?
#
# ### BEGIN SOLUTION
# It catches wiring mistakes (the wrong pairs compared, a term that is not a distance), because those
# leave a nonzero value at the ground truth, but it says nothing about whether the networks judge
# identity well: an untrained network gives 0 at the ground truth too.
# ### END SOLUTION
