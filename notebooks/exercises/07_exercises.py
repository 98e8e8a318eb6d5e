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
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/lafr-course/lafr/blob/main/notebooks/exercises/07_exercises.ipynb)
#
# # Exercises for chapter 07 · From a photo to restored faces
#
# Work through [notebook 07](../07_from_a_photo_to_restored_faces.ipynb) first. Each exercise has a task, a cell for your
# answer (replace `raise NotImplementedError()`), and a check cell: run it, and it passes when your
# answer is right. Do not edit the check cells.
#
# | exercise | kind | level | time |
# |---|---|---|---|
# | 7.1 FFHQ's crop from 68 landmarks | implement a piece against a test | intermediate | 30 min |
# | 7.2 Does the crop turn with the face? | predict, then check | beginner | 10 min |
#
# **Runtime**: the tiny profile, offline, a few seconds on 2 CPU cores once your answers are in.

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
import numpy as np

from lafr import photos


def face_landmarks(k: int) -> np.ndarray:
    """A plausible set of 68 landmarks: eyes, mouth and the rest scattered around a face of random
    size, position and tilt (long faces included, where the mouth sets the crop's size)."""
    r = np.random.default_rng([seed, k])
    pts = r.normal(0, 0.05, size=(68, 2))
    pts[36:42] += [-0.3, 0.0]  # left eye
    pts[42:48] += [0.3, 0.0]  # right eye
    pts[48:68] += [0.0, r.uniform(0.45, 1.0)]  # mouth, sometimes far below the eyes
    angle, scale, shift = r.uniform(-0.5, 0.5), r.uniform(40, 300), r.uniform(100, 900, size=2)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return pts @ rot.T * scale + shift


# %% [markdown]
# ## Exercise 7.1 · FFHQ's crop from 68 landmarks (implement, 30 min)
#
# The paper's restorer expects faces cut the way FFHQ's were (notebook 07, section 2). Write
# `ffhq_quad(landmarks)`: `landmarks` is a 68 x 2 array of (x, y) pixel positions in dlib's order; return
# the crop's four corners, a 4 x 2 array (top-left, bottom-left, bottom-right, top-right), by NVlabs'
# rule:
#
# - the eye centres are the means of points 36 to 41 (left) and 42 to 47 (right); `eye_avg` is their
#   midpoint and `eye_to_eye` the vector from the left eye to the right;
# - the mouth centre is the midpoint of points 48 and 54; `eye_to_mouth` goes from `eye_avg` to it;
# - the crop's horizontal half-axis `x` points along `eye_to_eye - flipud(eye_to_mouth) * [-1, 1]`,
#   normalised, with length `max(2.0 * |eye_to_eye|, 1.8 * |eye_to_mouth|)`; the vertical half-axis is
#   `y = flipud(x) * [-1, 1]`;
# - the centre is `eye_avg + 0.1 * eye_to_mouth`, and the corners are `c - x - y`, `c - x + y`,
#   `c + x + y`, `c + x - y`.
#
# The check compares your corners with `lafr.photos.ffhq_quad`'s on many landmark sets.


# %% nbgrader={"grade": false, "grade_id": "ex7_1", "locked": false, "schema_version": 3, "solution": true}
def ffhq_quad(landmarks: np.ndarray) -> np.ndarray:
    ### BEGIN SOLUTION
    lm = np.asarray(landmarks, dtype=np.float64)
    eye_left, eye_right = lm[36:42].mean(0), lm[42:48].mean(0)
    eye_avg, eye_to_eye = (eye_left + eye_right) / 2, eye_right - eye_left
    eye_to_mouth = (lm[48] + lm[54]) / 2 - eye_avg
    x = eye_to_eye - np.flipud(eye_to_mouth) * [-1, 1]
    x = x / np.hypot(*x) * max(np.hypot(*eye_to_eye) * 2.0, np.hypot(*eye_to_mouth) * 1.8)
    y = np.flipud(x) * [-1, 1]
    c = eye_avg + eye_to_mouth * 0.1
    return np.stack([c - x - y, c - x + y, c + x + y, c + x - y])
    ### WRONG ANSWER: the eyes' means over points 36 to 40 and 42 to 46 (an off-by-one slice)
    # lm = np.asarray(landmarks, dtype=np.float64)
    # eye_left, eye_right = lm[36:41].mean(0), lm[42:47].mean(0)
    # eye_avg, eye_to_eye = (eye_left + eye_right) / 2, eye_right - eye_left
    # eye_to_mouth = (lm[48] + lm[54]) / 2 - eye_avg
    # x = eye_to_eye - np.flipud(eye_to_mouth) * [-1, 1]
    # x = x / np.hypot(*x) * max(np.hypot(*eye_to_eye) * 2.0, np.hypot(*eye_to_mouth) * 1.8)
    # y = np.flipud(x) * [-1, 1]
    # c = eye_avg + eye_to_mouth * 0.1
    # return np.stack([c - x - y, c - x + y, c + x + y, c + x - y])
    ### WRONG ANSWER: the crop's size from the eye distance alone
    # lm = np.asarray(landmarks, dtype=np.float64)
    # eye_left, eye_right = lm[36:42].mean(0), lm[42:48].mean(0)
    # eye_avg, eye_to_eye = (eye_left + eye_right) / 2, eye_right - eye_left
    # eye_to_mouth = (lm[48] + lm[54]) / 2 - eye_avg
    # x = eye_to_eye - np.flipud(eye_to_mouth) * [-1, 1]
    # x = x / np.hypot(*x) * np.hypot(*eye_to_eye) * 2.0
    # y = np.flipud(x) * [-1, 1]
    # c = eye_avg + eye_to_mouth * 0.1
    # return np.stack([c - x - y, c - x + y, c + x + y, c + x - y])
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex7_1_check", "locked": true, "points": 3, "schema_version": 3, "solution": false}
for k in range(50):
    lm = face_landmarks(k)
    mine, expected = np.asarray(ffhq_quad(lm)), photos.ffhq_quad(lm)
    assert mine.shape == (4, 2), mine.shape
    assert np.allclose(mine, expected, atol=1e-6), (k, mine, expected)
print("exercise 7.1: correct")

# %% [markdown]
# ## Exercise 7.2 · Does the crop turn with the face? (predict, then check, 10 min)
#
# In a photo, a head leans 30 degrees to one side. Is FFHQ's crop **axis-aligned** (a box with
# horizontal and vertical sides, the face tilted inside it) or **turned** with the face (so that the eyes
# come out level in the crop)? Think about what the restorer, trained on FFHQ's crops, expects to see.
# Return `"axis-aligned"` or `"turned"`, with a sentence of reasoning as a comment.


# %% nbgrader={"grade": false, "grade_id": "ex7_2", "locked": false, "schema_version": 3, "solution": true}
def my_prediction() -> str:
    ### BEGIN SOLUTION
    # The crop's horizontal axis is built from the eye-to-eye direction, so it turns with the eyes: FFHQ's
    # faces, and so the restorer's inputs, always have level eyes.
    return "turned"
    ### WRONG ANSWER: an axis-aligned box around the face
    # return "axis-aligned"
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex7_2_check", "locked": true, "points": 1, "schema_version": 3, "solution": false}
prediction = my_prediction()  # first: the measurement below gives the answer away
assert prediction in ("axis-aligned", "turned"), "answer 'axis-aligned' or 'turned'"
lm = face_landmarks(0)
centre, angle = lm.mean(0), np.deg2rad(30)
rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
leaning = (lm - centre) @ rot.T + centre  # the same face, leaning 30 degrees further


def direction(v):  # the angle of a vector, in degrees
    return float(np.degrees(np.arctan2(v[1], v[0])))


quad = photos.ffhq_quad(leaning)
top_edge = direction(quad[3] - quad[0])  # from the top-left corner to the top-right one
eyes = direction(leaning[42:48].mean(0) - leaning[36:42].mean(0))
print(f"the crop's top edge is at {top_edge:.1f} degrees, the line through the eyes at {eyes:.1f}")
measured = "turned" if abs(top_edge - eyes) < 10 and abs(top_edge) > 10 else "axis-aligned"
assert prediction == measured, "see the angles above"
print("exercise 7.2: correct")
