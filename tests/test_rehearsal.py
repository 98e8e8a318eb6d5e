"""The paper profile's whole route, played here against a local imitation of the Hub.

A server on 127.0.0.1 (``tests/localhub.py``) stands in for huggingface.co: it serves SD 2.1 base
at its pinned commit, IP-Adapter's CLIP image encoder and SadTalker's ``epoch_20.pth``, all at the
paper's architecture with random weights (``tests/standins.py``), pyiqa's metric weights and timm's
ViT for MANIQA, and three FFHQ shards whose drawn faces are synthetic.  The files that do not come
from the Hub are put where lafr and torch look for them (``tests/rehearsal.py``): the judges' weights
in lafr's network cache, torchvision's backbones in torch's hub cache, clean-fid's FFHQ statistics in
pyiqa's, the benchmarks' faces in lafr's dataset cache.  Then the commands a user types run in fresh
processes with ``HF_ENDPOINT`` set and empty caches: ``lafr train-adapter`` and ``lafr train-lora``
with ``--profile paper`` (each stopped and resumed once), ``lafr restore``, and ``lafr evaluate`` with
and without ground truth (every metric of Tables 1 and 2 but CLIP-IQA, whose file is pinned by its
checksum).
The working size is cut to 128 px and the training to a few steps (``--set``); everything else is
the paper profile's.  Random weights learn nothing: this checks the route (files, layouts,
revisions, loaders, resumption), never the quality.  The false cases (a missing Hub file, a moved
revision, a benchmark zip that fails its checksum, a refusing Hub) go through the same server.
About 7 minutes on 2 CPU cores (16.0 GB peak); the stand-ins are made in a child process.  The notebooks' rehearsal
is ``test_rehearsal_notebooks.py``.
"""

import csv as csv_module
import json
import shutil
import subprocess
import sys

import pytest
import rehearsal
from interrupted import pretend_trained

from lafr import config
from lafr.checkpoints import read_state
from lafr.datasets import DATASETS
from lafr.synthetic import synthetic_face

PAPER = config.PAPER
SMALL = ["--set", "resolution=128", "--set", "train_images=8", "--views", "1", "--eval-faces", "2", "--device", "cpu"]


@pytest.fixture
def hub(world, server, tmp_path):
    server.env = rehearsal.stock(server, world, tmp_path, benchmark_faces=4)
    yield server
    shutil.rmtree(tmp_path / "hf", ignore_errors=True)  # the Hub cache's copy of the stand-ins


def run(hub, *args, cwd, timeout=900) -> subprocess.CompletedProcess:
    out = subprocess.run(
        [sys.executable, "-m", "lafr", *args], env=hub.env, cwd=cwd, capture_output=True, text=True, timeout=timeout
    )
    print(f"$ lafr {' '.join(args)}\n{out.stdout}\n{out.stderr[-3000:]}")  # shown with pytest -s
    return out


def lafr(hub, *args, cwd, timeout=900) -> str:
    out = run(hub, *args, cwd=cwd, timeout=timeout)
    assert out.returncode == 0, f"lafr {' '.join(args)} failed:\n{out.stdout[-3000:]}\n{out.stderr[-5000:]}"
    return out.stdout + out.stderr


def test_the_paper_route_end_to_end(hub, tmp_path):
    stage1 = tmp_path / "stage1"
    base = ["--profile", "paper", *SMALL, "--set", "stage1_epochs=2", "--set", "stage1_batch_size=4"]
    said = lafr(hub, "train-adapter", *base, "--out", str(stage1), "--stop-after", "2", cwd=tmp_path)
    assert "continue with --resume" in said and "FFHQ: fetching 8 training faces" in said
    said = lafr(hub, "train-adapter", *base, "--out", str(stage1), "--resume", cwd=tmp_path)
    manifest = json.loads((stage1 / "manifest.json").read_text())
    assert manifest["profile"] == "paper" and manifest["overrides"]["resolution"] == 128
    asked = {path for path, _ in hub.requests}
    assert not any("/resolve/main/" in p for p in asked if PAPER.base_model in p)  # only the pinned commit

    stage2 = tmp_path / "stage2"
    lora = ["--profile", "paper", *SMALL, "--adapter", str(stage1), "--steps", "2", "--batch-size", "2"]
    said = lafr(hub, "train-lora", *lora, "--out", str(stage2), "--stop-after", "1", cwd=tmp_path)
    assert "continue with --resume" in said
    assert read_state(stage2 / "checkpoint.safetensors")["seconds"] > 0
    pretend_trained(stage2 / "checkpoint.safetensors", 1000.0)  # as if the first run had trained 1,000 s
    lafr(hub, "train-lora", *lora, "--out", str(stage2), "--resume", cwd=tmp_path)
    manifest = json.loads((stage2 / "system" / "manifest.json").read_text())
    assert manifest["earlier_seconds"] == 1000.0 and manifest["seconds"] > 1000  # the whole run's time
    assert (stage2 / "system" / "lafr_pipeline.json").is_file()
    assert any(PAPER.identity_net in p for p in asked | {p for p, _ in hub.requests})

    from lafr import data

    lq, gt = tmp_path / "lq", tmp_path / "gt"
    for i in range(2):
        face = synthetic_face(3, 2000 + i, 128)[0]
        data.save_image(face, gt / f"face{i}.png")
        data.save_image(face.flip(-1), lq / f"face{i}.png")
    lafr(hub, "restore", "--aligned", str(lq), "-o", str(tmp_path / "restored"), "--profile", "paper",
         "--model", str(stage2 / "system"), "--device", "cpu", cwd=tmp_path)  # fmt: skip
    said = lafr(hub, "evaluate", str(tmp_path / "restored"), "--gt", str(gt), "--profile", "paper",
                "--out", str(tmp_path / "results.csv"), "--device", "cpu", cwd=tmp_path)  # fmt: skip
    assert "ResNet-18" in said and "FAN" in said
    assert measured(tmp_path / "results.csv") >= {"psnr", "ssim", "lpips", "dists", "deg", "lmd", "fid", "fid_ffhq"}
    # without ground truth (Table 2's real photos): the no-reference metrics, their weights from the imitation Hub
    said = lafr(hub, "evaluate", str(tmp_path / "restored"), "--profile", "paper", "--out", str(tmp_path / "nr.csv"),
                "--device", "cpu", cwd=tmp_path)  # fmt: skip
    assert measured(tmp_path / "nr.csv") >= {"niqe", "musiq", "maniqa", "fid_ffhq"}
    assert "C-IQA: pyiqa" in said  # CLIP-IQA's file is pinned by its SHA-256 (openai-clip): no stand-in can pass
    asked = {path for path, _ in hub.requests}
    assert any("/chaofengc/IQA-PyTorch-Weights/resolve/" in p for p in asked)
    assert any("/timm/vit_base_patch8_224" in p for p in asked)  # MANIQA's ViT, through timm's own Hub client


def measured(csv) -> set[str]:
    """The metrics of a ``lafr evaluate`` CSV that have a value (per image, or for the whole set)."""
    rows = list(csv_module.reader(csv.read_text().splitlines()))
    values = [row for row in rows[1:] if row[0] in ("mean", "whole set")]
    return {name for i, name in enumerate(rows[0]) if i and any(row[i] for row in values)}


def test_a_missing_file_a_moved_revision_a_wrong_checksum_and_a_refusing_hub_are_named(hub, tmp_path):
    """The false cases, through the same commands and functions: each stops with an error that names what is
    wrong."""
    stage1 = ["train-adapter", "--profile", "paper", *SMALL, "--set", "stage1_epochs=1", "--out", str(tmp_path / "a")]
    files = hub.repos[("", PAPER.identity_net)][1]
    del files["models/image_encoder/model.safetensors"]  # IP-Adapter's image encoder without its weights
    out = run(hub, "train-lora", "--profile", "paper", *SMALL, "--adapter", "none", "--steps", "1",
              "--out", str(tmp_path / "b"), cwd=tmp_path)  # fmt: skip
    assert out.returncode != 0 and "identity network (F_id, a CLIP image encoder)" in out.stderr
    assert "h94/IP-Adapter" in out.stderr

    commit, sd = hub.repos[("", PAPER.base_model)]
    hub.repos[("", PAPER.base_model)] = ("0" * 40, sd)  # the pinned commit is gone from the Hub
    shutil.rmtree(tmp_path / "hf", ignore_errors=True)
    out = run(hub, *stage1, cwd=tmp_path)
    assert (
        out.returncode != 0
        and f"at revision {commit}" in out.stderr
        and "Manojb/stable-diffusion-2-1-base" in out.stderr
    )

    # a benchmark zip of the registry's size but not its bytes (zeros, a sparse file): its SHA-256 refuses it
    remote = DATASETS["webphoto_test"].files[0]
    fake = tmp_path / remote.filename
    with open(fake, "wb") as f:
        f.truncate(remote.size)
    commit = remote.url.split("/resolve/")[1].split("/")[0]
    hub.repos[("datasets", "chaofengc/FaceSRDatasets")] = (commit, {remote.filename: fake})
    shutil.rmtree(tmp_path / "cache" / "webphoto_test")
    code = "from lafr import data; data.real_lq_faces('webphoto_test', n=2)"  # notebook 06's call
    out = subprocess.run([sys.executable, "-c", code], env=hub.env, capture_output=True, text=True, timeout=300)
    assert out.returncode != 0 and f"{remote.filename}: checksum mismatch" in out.stderr, out.stderr[-2000:]
    assert "file discarded" in out.stderr and not list((tmp_path / "cache" / "webphoto_test").glob("*.zip*"))

    hub.refuse = 503
    shutil.rmtree(tmp_path / "cache" / "ffhq", ignore_errors=True)
    out = run(hub, *stage1, cwd=tmp_path)
    assert out.returncode != 0 and "answered 503" in out.stderr and "images1024x1024" in out.stderr
