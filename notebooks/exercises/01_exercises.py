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
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/lafr-course/lafr/blob/main/notebooks/exercises/01_exercises.ipynb)
#
# # Exercises for chapter 01 · Faces versus natural images
#
# Work through [notebook 01](../01_faces_vs_natural_images.ipynb) first. Each exercise has a task, a
# cell for your answer (replace `raise NotImplementedError()`), and a check cell: run it, and it passes
# when your answer is right. Do not edit the check cells.
#
# | exercise | kind | level | time |
# |---|---|---|---|
# | 1.1 The mean distance between all pairs | implement a piece against a test | beginner | 10 min |
# | 1.2 Are degraded faces closer together? | predict, then check | beginner | 10 min |
# | 1.3 Break the compactness claim | break a claim on purpose | intermediate | 20 min |
#
# **Runtime**: the tiny profile, offline, about 30 s on 2 CPU cores once your answers are in.

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
n_images = 60  # images per class in exercise 1.3 (notebook 01 uses the profile's 120)

# %%
import numpy as np
import torch

from lafr import analysis, data, degrade
from lafr.config import get_profile

cfg = get_profile("tiny")  # the exercises use the tiny profile: offline, on a CPU

# %% [markdown]
# ## Exercise 1.1 · The mean distance between all pairs (implement, 10 min)
#
# Notebook 01 measures how compact a class of images is by the **mean Euclidean distance between all
# pairs** of their feature vectors. Write `intra_class_distance(features)`: `features` is an
# n x d NumPy array (one row per image); return the mean distance over all pairs of *different* rows,
# as a float. Raise a `ValueError` for fewer than two rows. (`sklearn.metrics.pairwise_distances` or
# `scipy.spatial.distance.pdist` will help.) The check compares your function with `lafr`'s own.


# %% nbgrader={"grade": false, "grade_id": "ex1_1", "locked": false, "schema_version": 3, "solution": true}
def intra_class_distance(features: np.ndarray) -> float:
    ### BEGIN SOLUTION
    from sklearn.metrics import pairwise_distances

    d = pairwise_distances(np.asarray(features, dtype=np.float64))
    n = len(d)
    if n < 2:
        raise ValueError("need at least two samples")
    return float(d.sum() / (n * (n - 1)))
    ### WRONG ANSWER: the mean over all n x n entries, the zero distances of each row to itself included
    # from sklearn.metrics import pairwise_distances
    #
    # d = pairwise_distances(np.asarray(features, dtype=np.float64))
    # if len(d) < 2:
    #     raise ValueError("need at least two samples")
    # return float(d.mean())
    ### WRONG ANSWER: squared distances
    # from sklearn.metrics import pairwise_distances
    #
    # d = pairwise_distances(np.asarray(features, dtype=np.float64)) ** 2
    # n = len(d)
    # if n < 2:
    #     raise ValueError("need at least two samples")
    # return float(d.sum() / (n * (n - 1)))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex1_1_check", "locked": true, "points": 2, "schema_version": 3, "solution": false}
rng = np.random.default_rng(seed)
for n, d in [(2, 3), (12, 5), (40, 64)]:
    x = rng.normal(size=(n, d))
    expected = analysis.intra_class_distance(x)
    assert abs(intra_class_distance(x) - expected) < 1e-6 * expected, (n, d, intra_class_distance(x), expected)
try:
    intra_class_distance(rng.normal(size=(1, 4)))
except ValueError:
    pass
else:
    raise AssertionError("one row has no pairs: expected a ValueError")
### BEGIN HIDDEN TESTS
square = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])  # 4 sides of 1, 2 diagonals of sqrt 2
assert abs(intra_class_distance(square) - (4 + 2 * 2**0.5) / 6) < 1e-12
### END HIDDEN TESTS
print("exercise 1.1: correct")

# %% [markdown]
# ## Exercise 1.2 · Are degraded faces closer together? (predict, then check, 10 min)
#
# Take 64 held-out synthetic faces and degrade each with the tiny profile's recipe (blur, downsampling,
# noise, JPEG: notebook 01, section 2). Measure the mean distance between all pairs **in pixel space**
# (each image flattened into one vector), before and after.
#
# Before you run anything: will the degraded faces be **closer together** or **further apart** than the
# clean ones? Think about what each step of the recipe does to the differences between two faces. Write
# your prediction (`"closer"` or `"further"`), with one sentence of reasoning as a comment above it,
# then run the check.


# %% nbgrader={"grade": false, "grade_id": "ex1_2", "locked": false, "schema_version": 3, "solution": true}
def my_prediction() -> str:
    ### BEGIN SOLUTION
    # Blur and downsampling remove the fine detail in which two faces differ most; the added noise and
    # JPEG blocks are small by comparison. So the degraded faces crowd together.
    return "closer"
    ### WRONG ANSWER: further apart, reasoning that noise adds differences
    # return "further"
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex1_2_check", "locked": true, "points": 1, "schema_version": 3, "solution": false}
prediction = my_prediction()  # first: the measurement below gives the answer away
assert prediction in ("closer", "further"), "answer 'closer' or 'further'"
faces, _ = data.image_set("synthetic", 64, cfg.resolution, seed=seed)
degraded, _ = degrade.degrade(faces, cfg.degradation, seed=list(range(64)))
clean_d = analysis.intra_class_distance(faces.flatten(1).numpy())
degraded_d = analysis.intra_class_distance(degraded.flatten(1).numpy())
measured = "closer" if degraded_d < clean_d else "further"
print(f"mean distance between two faces: clean {clean_d:.2f}, degraded {degraded_d:.2f} -> {measured}")
assert prediction == measured, f"measured: {measured}. Which steps of the recipe remove differences?"
print("exercise 1.2: correct")

# %% [markdown]
# *Going further (not checked):* degrade with `strength=0.25` and `0.5` (`degrade.degrade(..., strength=s)`).
# Does the distance fall steadily with strength? What would uniform noise alone do?
#
# ## Exercise 1.3 · Break the compactness claim (break a claim on purpose, 20 min)
#
# Notebook 01's claim in section 3.2: *the profile's faces are more compact than the natural images*:
# the 95% bootstrap interval of the ratio intra(faces) / intra(natural) lies below 1. A claim is only
# worth something if it can fail. The notebook names the false case it guards against: **random crops
# of the natural photos in the faces' place**.
#
# Write `false_faces(n, size)`: return n images (n x 3 x size x size, in [0, 1]) that play the faces'
# part and make the claim fail. `data.packaged_natural_photos()` and `data.random_crops` will help;
# draw crops the natural class does not already hold (a seed other than `seed`), and keep them images
# (values in [0, 1]). The check runs the claim's measurement on your images and passes when the claim
# fails.


# %% nbgrader={"grade": false, "grade_id": "ex1_3", "locked": false, "schema_version": 3, "solution": true}
def false_faces(n: int, size: int) -> torch.Tensor:
    ### BEGIN SOLUTION
    return data.random_crops(data.packaged_natural_photos().values(), n, size, seed=seed + 1)
    ### WRONG ANSWER: held-out synthetic faces, which are the true case, not a false one
    # return data.image_set("synthetic", n, size, seed=seed + 1)[0]
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex1_3_check", "locked": true, "points": 2, "schema_version": 3, "solution": false}
fake = false_faces(n_images, cfg.feature_size)
extractor = analysis.ResNetFeatures(weights=cfg.feature_weights, size=cfg.feature_size, seed=seed)
natural, _ = data.image_set(cfg.analysis_natural, n_images, cfg.feature_size, seed)
assert fake.shape == (n_images, 3, cfg.feature_size, cfg.feature_size), fake.shape
assert 0 <= float(fake.min()) and float(fake.max()) <= 1, "images in [0, 1], please"
assert not any(torch.equal(f, m) for f in fake for m in natural), "new crops, not the natural images themselves"
low, high = analysis.ratio_interval(extractor(fake).numpy(), extractor(natural).numpy(), seed=seed)
print(f"ratio intra(your images) / intra(natural): 95% interval {low:.2f} to {high:.2f}")
claim_holds = high < 1
assert not claim_holds, "the claim still holds: these images are more compact than the natural ones"
print("exercise 1.3: the claim fails, as it should for this false case")

# %% [markdown] nbgrader={"grade": true, "grade_id": "ex1_3_why", "locked": false, "points": 1, "schema_version": 3, "solution": true}
# In one sentence: why does the claim fail for your images, and what does that tell you the claim
# measures?
#
# ### BEGIN SOLUTION
# Crops of the natural photos are drawn from the same collection as the natural class, so they are as
# spread out as it is and the ratio's interval straddles 1: the claim measures how alike a class's
# images are against the natural images, and it passes only when the class is genuinely narrower.
# ### END SOLUTION
