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
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/lafr-course/lafr/blob/main/notebooks/exercises/06_exercises.ipynb)
#
# # Exercises for chapter 06 · Measuring a face restorer
#
# Work through [notebook 06](../06_measuring_a_face_restorer.ipynb) first. Each exercise has a task, a cell for your
# answer (replace `raise NotImplementedError()`), and a check cell: run it, and it passes when your
# answer is right. Do not edit the check cells.
#
# | exercise | kind | level | time |
# |---|---|---|---|
# | 6.1 The identity angle, Deg | implement a piece against a test | beginner | 10 min |
# | 6.2 The LQ photo or the VAE alone: whose identity is closer? | predict, then check | intermediate | 15 min |
# | 6.3 Break the rule that a network never trains and judges | break a claim on purpose | beginner | 10 min |
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
n_faces = 32  # held-out faces to judge

# %%
import torch

from lafr import metrics, train
from lafr.config import get_profile

cfg = get_profile("tiny")  # the exercises use the tiny profile: offline, on a CPU

# %% [markdown]
# ## Exercise 6.1 · The identity angle, Deg (implement, 10 min)
#
# The paper's Deg is the angle between the identity embeddings of the restored face and of the ground
# truth, in degrees (an identity network that never trained the restorer computes them: ArcFace in the
# paper, dlib's network in the tiny profile). Write `angle_degrees(a, b)`: `a` and `b` are N x D
# embeddings; return the N angles in degrees. Compute in float64, and guard against rounding: a cosine
# can come out a hair above 1 (or below -1). The check compares your function with
# `lafr.metrics.angle_degrees`.


# %% nbgrader={"grade": false, "grade_id": "ex6_1", "locked": false, "schema_version": 3, "solution": true}
def angle_degrees(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    ### BEGIN SOLUTION
    cos = torch.nn.functional.cosine_similarity(a.double(), b.double(), dim=-1).clamp(-1, 1)
    return torch.rad2deg(torch.arccos(cos))
    ### WRONG ANSWER: the angle in radians
    # cos = torch.nn.functional.cosine_similarity(a.double(), b.double(), dim=-1).clamp(-1, 1)
    # return torch.arccos(cos)
    ### WRONG ANSWER: one minus the cosine, scaled to 90 degrees, which is not an angle
    # cos = torch.nn.functional.cosine_similarity(a.double(), b.double(), dim=-1)
    # return 90 * (1 - cos)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex6_1_check", "locked": true, "points": 2, "schema_version": 3, "solution": false}
g = torch.Generator().manual_seed(seed)
a, b = torch.randn(50, 128, generator=g), torch.randn(50, 128, generator=g)
near = a + 0.3 * b  # pairs at smaller angles too
for x, y in ((a, b), (a, near)):
    mine, expected = angle_degrees(x, y), metrics.angle_degrees(x, y)
    assert mine.shape == expected.shape, (mine.shape, expected.shape)
    assert torch.allclose(mine.double(), expected, atol=1e-6), (mine[:4], expected[:4])
### BEGIN HIDDEN TESTS
same = angle_degrees(a, a)
assert not torch.isnan(same).any() and float(same.abs().max()) < 1e-3  # rounding above 1 clamped
assert torch.allclose(angle_degrees(a, -a).double(), torch.full((50,), 180.0, dtype=torch.float64), atol=1e-6)
### END HIDDEN TESTS
print("exercise 6.1: correct")

# %% [markdown]
# ## Exercise 6.2 · The LQ photo or the VAE alone: whose identity is closer? (predict, then check, 15 min)
#
# Take held-out faces and their degraded photos (notebook 06, section 3). Two simple outputs: the **LQ
# photo** itself, and **decode(z_LQ)**, the VAE's encoding and decoding of it, which removes noise and
# JPEG blocks but not the blur (notebook 02). Before you run anything: which one does dlib's identity
# network (Deg) rate closer to the ground truth, on average? Return `"LQ photo"` or `"decode(z_LQ)"`.


# %% nbgrader={"grade": false, "grade_id": "ex6_2", "locked": false, "schema_version": 3, "solution": true}
def my_prediction() -> str:
    ### BEGIN SOLUTION
    # The judge was trained on clean photos: noise and JPEG blocks disturb its embedding, and the VAE
    # removes them, so decode(z_LQ) comes out closer although it adds no detail.
    return "decode(z_LQ)"
    ### WRONG ANSWER: the LQ photo, reasoning that the VAE can only lose information
    # return "LQ photo"
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex6_2_check", "locked": true, "points": 2, "schema_version": 3, "solution": false}
prediction = my_prediction()  # first: the measurement below gives the answer away
assert prediction in ("LQ photo", "decode(z_LQ)"), "answer 'LQ photo' or 'decode(z_LQ)'"
hq, outputs = train.heldout_outputs(cfg, n_faces, seed=seed, resizers=())
judge = metrics.Suite(["deg"], identity_net=cfg.identity_metric_net)
ref = judge.reference(list(hq))
deg = {
    name: judge.evaluate(list(train.eight_bit(outputs[name])), ref).summary["deg"]
    for name in ("LQ photo", "decode(z_LQ)")
}
print(", ".join(f"{name}: Deg {value:.1f} degrees" for name, value in deg.items()))
assert prediction == min(deg, key=deg.get), "see the numbers above: a lower angle is closer"
print("exercise 6.2: correct")

# %% [markdown]
# ## Exercise 6.3 · Break the rule that a network never trains and judges (break a claim on purpose, 10 min)
#
# Notebook 06 makes a rule of the paper's practice: *no metric is computed by a network the loss trains
# with* (the paper trains with CLIP and judges identity with ArcFace). `metrics.check_judges(cfg, suite)`
# enforces it. Write `self_judging_suite()`: a metric suite whose identity judge is the **loss's own
# identity network** (`cfg.identity_net`), the false case the rule exists for. Build it as notebook 06
# does, `metrics.Suite(["psnr"], identity_net=...)`: asked for Deg itself, `Suite` already refuses a
# network it does not know as a judge, and here we want the rule to speak. The check passes when the
# rule refuses your suite.


# %% nbgrader={"grade": false, "grade_id": "ex6_3", "locked": false, "schema_version": 3, "solution": true}
def self_judging_suite():
    ### BEGIN SOLUTION
    return metrics.Suite(["psnr"], identity_net=cfg.identity_net)
    ### WRONG ANSWER: the profile's own judge, which the rule accepts
    # return metrics.Suite(["psnr"], identity_net=cfg.identity_metric_net)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex6_3_check", "locked": true, "points": 1, "schema_version": 3, "solution": false}
suite = self_judging_suite()
metrics.check_judges(cfg, metrics.Suite(["psnr"], identity_net=cfg.identity_metric_net))  # the true case passes
try:
    metrics.check_judges(cfg, suite)
except ValueError as refused:
    print(f"refused, as it should be: {refused}")
else:
    raise AssertionError(f"the rule accepts a suite whose Deg is judged by {suite.identity_net!r}")
print("exercise 6.3: the rule refuses the false case")

# %% [markdown] nbgrader={"grade": true, "grade_id": "ex6_3_why", "locked": false, "points": 1, "schema_version": 3, "solution": true}
# In one sentence: why would a restorer look better than it is if its own loss network judged it?
#
# ### BEGIN SOLUTION
# Training pushes the restorer's outputs towards whatever that network rewards, including its blind
# spots, so the same network then scores them well whether or not a person would see the same face;
# only a network the restorer never trained against can tell.
# ### END SOLUTION
