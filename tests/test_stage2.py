"""Stage 2 (lafr.train.train_lora): the multilevel loss trains conv-only LoRA through the frozen
decoder; a stopped and resumed run ends with exactly the weights of an uninterrupted one; the log
holds every term; the trained system is saved and reloads."""

import csv
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from interrupted import pretend_trained
from safetensors.torch import load_file

from lafr import adapter as adapter_mod, losses, models, pipeline, train
from lafr.checkpoints import read_state
from lafr.config import get_profile

CFG = get_profile("tiny")


def _setup(lora_rank=4):
    base = models.load_base(models.TOY_NAME)
    adapter = adapter_mod.load_trained_adapter("lafr-toy-adapter")[0].eval()
    pipe = pipeline.LAFRPipeline.from_base(base, 249, 64, adapter=adapter, lora_rank=lora_rank)
    faces = train.training_faces(CFG)[:16]
    return pipe, faces, train.stage2_inputs(pipe, faces, CFG.degradation, views=2, seed=0)


@pytest.fixture(scope="module")
def loss():
    return losses.build_loss(CFG)


def _lora(pipe):
    return {k: v.detach().clone() for k, v in pipe.unet.named_parameters() if "lora_" in k}


def test_resume_reproduces_an_uninterrupted_run(loss, tmp_path):
    kw = dict(steps=6, batch_size=4, lr=1e-3, seed=2, checkpoint_every=2, progress=False)
    pipe, faces, z = _setup()
    full = train.train_lora(CFG, pipe, loss, z, faces, tmp_path / "full", **kw)
    expected = _lora(pipe)
    pipe2, _, _ = _setup()
    train.train_lora(CFG, pipe2, loss, z, faces, tmp_path / "split", stop_after=3, **kw)
    assert not (tmp_path / "split" / "system").exists()  # stopped early: nothing final yet
    assert read_state(tmp_path / "split" / "checkpoint.safetensors")["seconds"] > 0  # it counts the seconds
    pretend_trained(tmp_path / "split" / "checkpoint.safetensors", 1000.0)  # as if the first run took 1,000 s
    pipe3, _, _ = _setup()  # a fresh process: the LoRA weights come from the checkpoint
    started = time.perf_counter()
    train.train_lora(CFG, pipe3, loss, z, faces, tmp_path / "split", resume=True, **kw)
    resumed = read_state(tmp_path / "split" / "checkpoint.safetensors")
    # the count goes on from the interrupted run's
    assert resumed["step"] == 6 and 1000 < resumed["seconds"] <= 1000 + time.perf_counter() - started + 0.01
    for k, v in _lora(pipe3).items():
        assert torch.equal(v, expected[k]), k
    rows = list(csv.DictReader(open(tmp_path / "split" / "loss.csv")))
    assert [int(r["step"]) for r in rows] == list(range(1, 7))
    assert set(rows[0]) == {"step", "epoch", "total", "mse", "lpips", "id", "fs"}
    assert [float(r["total"]) for r in rows] == pytest.approx([h["total"] for h in full], abs=1e-5)
    loaded = pipeline.LAFRPipeline.from_pretrained(tmp_path / "split" / "system")
    x = faces[:2].float() / 255
    assert (loaded(x) - pipe3(x)).abs().max() < 1e-5


def test_training_lowers_the_loss_and_moves_only_lora(loss, tmp_path):
    pipe, faces, z = _setup()
    frozen = {k: v.detach().clone() for k, v in pipe.unet.named_parameters() if "lora_" not in k}
    history = train.train_lora(
        CFG, pipe, loss, z, faces, tmp_path, steps=24, batch_size=8, lr=5e-4, seed=0, progress=False
    )
    first, last = sum(h["total"] for h in history[:4]) / 4, sum(h["total"] for h in history[-4:]) / 4
    assert last < 0.8 * first, (first, last)
    assert all(torch.equal(v, dict(pipe.unet.named_parameters())[k]) for k, v in frozen.items())


def test_gradient_accumulation_equals_one_larger_batch(loss, tmp_path):
    """Two micro-batches of 2, accumulated, give the step one batch of 4 gives (the same 4 samples:
    the loss is a mean per sample, and accelerate halves each micro-batch's gradient)."""
    kw = dict(lr=1e-3, seed=1, progress=False, checkpoint_every=2)
    pipe, faces, z = _setup()
    train.train_lora(CFG, pipe, loss, z, faces, tmp_path / "big", steps=2, batch_size=4, **kw)
    accumulated, _, _ = _setup()
    train.train_lora(CFG, accumulated, loss, z, faces, tmp_path / "acc", steps=4, batch_size=2, grad_accum=2, **kw)
    single, _, _ = _setup()
    train.train_lora(CFG, single, loss, z, faces, tmp_path / "one", steps=2, batch_size=2, **kw)
    start, _, _ = _setup()
    big, acc, one, zero = _lora(pipe), _lora(accumulated), _lora(single), _lora(start)
    dist = lambda a, b: float(sum(((a[k] - b[k]) ** 2).sum() for k in a)) ** 0.5
    # Adam divides by the gradient's size, so summation-order noise in tiny gradients shows in the
    # weights. The bar is set against what the test tells apart: two plain batches of 2 (no accumulation)
    # land far from the big batch; the accumulated pair must land at least 100 times closer. (Measured on
    # 2 threads: 2.9e-4 against 0.33 with the retrained loss networks, 2026-12-07; the first networks gave
    # 8.5e-5, and the old bar, a thousandth of the update's size, 2.7e-4, failed with the new ones.)
    without_accumulation = dist(one, big)
    assert dist(acc, big) < 0.01 * without_accumulation, (dist(acc, big), without_accumulation)
    assert without_accumulation > 0.3 * dist(big, zero)  # batches of 2 without accumulation differ
    with pytest.raises(ValueError, match="multiple of grad_accum"):
        train.train_lora(CFG, accumulated, loss, z, faces, tmp_path / "bad", steps=5, batch_size=2, grad_accum=2, **kw)


def test_gradient_checkpointing_and_bf16_train_the_same_way(loss, tmp_path):
    kw = dict(steps=2, batch_size=4, lr=1e-3, seed=1, progress=False, checkpoint_every=2)
    pipe, faces, z = _setup()
    plain = train.train_lora(CFG, pipe, loss, z, faces, tmp_path / "plain", **kw)
    ckpt_pipe, _, _ = _setup()
    checkpointed = train.train_lora(
        CFG, ckpt_pipe, loss, z, faces, tmp_path / "ckpt", gradient_checkpointing=True, **kw
    )
    assert ckpt_pipe.unet.is_gradient_checkpointing and ckpt_pipe.vae.is_gradient_checkpointing
    assert not pipe.unet.is_gradient_checkpointing
    assert [h["total"] for h in checkpointed] == pytest.approx([h["total"] for h in plain], abs=1e-5)
    assert max((_lora(ckpt_pipe)[k] - v).abs().max() for k, v in _lora(pipe).items()) < 1e-5
    # accelerate fixes the precision once per process, so bf16 runs in a process of its own
    script = (
        "import json, sys; sys.path.insert(0, 'tests'); import test_stage2 as t; from lafr import losses, train\n"
        "pipe, faces, z = t._setup()\n"
        f"h = train.train_lora(t.CFG, pipe, losses.build_loss(t.CFG), z, faces, {str(tmp_path / 'bf16')!r}, "
        f"mixed_precision='bf16', **{kw!r})\n"
        "print(json.dumps([x['total'] for x in h]))"
    )
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1]
    )
    assert run.returncode == 0, run.stderr[-2000:]
    bf16 = json.loads(run.stdout.strip().splitlines()[-1])
    assert bf16 == pytest.approx([h["total"] for h in plain], rel=0.05) and bf16 != [
        h["total"] for h in plain
    ]  # close, not equal


def test_a_learning_rate_of_zero_is_honoured(loss, tmp_path):
    pipe, faces, z = _setup()
    start = _lora(pipe)
    train.train_lora(
        CFG, pipe, loss, z, faces, tmp_path, steps=2, batch_size=4, lr=0.0, progress=False, checkpoint_every=2
    )
    assert all(torch.equal(v, start[k]) for k, v in _lora(pipe).items())  # not the profile's rate in disguise


def test_clear_errors(loss, tmp_path):
    pipe, faces, z = _setup(lora_rank=None)
    with pytest.raises(ValueError, match="attach LoRA first"):
        train.train_lora(CFG, pipe, loss, z, faces, tmp_path, steps=2, progress=False)
    pipe, faces, z = _setup()
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        train.train_lora(CFG, pipe, loss, z, faces, tmp_path / "none", steps=2, resume=True, progress=False)


def test_train_lora_command_stops_resumes_and_writes_a_manifest(tmp_path, capsys):
    import json

    from lafr.cli import main

    common = [
        "train-lora",
        "--out",
        str(tmp_path / "run"),
        "--steps",
        "3",
        "--batch-size",
        "4",
        "--views",
        "1",
        "--eval-faces",
        "4",
        "--timestep",
        "249",
        "--device",
        "cpu",
        "--lora-dtype",
        "float16",
        "--seed",
        "3",
    ]
    assert main(common + ["--stop-after", "2"]) == 0
    assert "continue with --resume" in capsys.readouterr().out
    assert main(common + ["--resume"]) == 0
    m = json.loads((tmp_path / "run" / "system" / "manifest.json").read_text())
    assert m["timestep"] == 249 and m["lora"] == {"rank": 4, "targets": "conv", "parameters": 106_400}
    assert set(m["quality"]["restored"]) >= {"psnr_face", "psnr_eyes", "psnr_mouth", "mse", "lpips", "id", "fs"}
    assert pipeline.LAFRPipeline.from_pretrained(tmp_path / "run" / "system").timestep == 249
    # the committed toy systems' form: the built-in adapter recorded by name, LoRA in float16, the seed recorded
    saved = json.loads((tmp_path / "run" / "system" / pipeline.CONFIG_NAME).read_text())
    lora = load_file(tmp_path / "run" / "system" / pipeline.LORA_DIR / pipeline.LORA_FILE)
    assert saved["adapter"] == "lafr-toy-adapter" and not (tmp_path / "run" / "system" / "adapter").exists()
    assert {v.dtype for v in lora.values()} == {torch.float16} and (m["seed"], m["data_seed"]) == (3, 0)
    assert main(["train-lora", "--out", str(tmp_path / "other"), "--resume"]) == 2  # nothing to resume: one message
    assert "no checkpoint" in capsys.readouterr().err
