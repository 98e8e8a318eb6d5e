"""The benchmarks' own machinery (their numbers are printed, never asserted): the interleaved timing
and the weight-sharing copies of ``benchmarks/bench_restore.py``, and the fake-tensor prediction of
``benchmarks/predict_gpu.py``."""

import importlib.util
from pathlib import Path

import torch

from lafr import config, models, unet as unet_mod


def _load(name: str):
    spec = importlib.util.spec_from_file_location(
        name, Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench = _load("bench_restore")


def test_interleaved_rounds_run_every_level_in_a_rotated_order():
    calls = []
    fns = {name: (lambda name=name: calls.append(name)) for name in "abc"}
    times = bench.interleaved(fns, rounds=3, device="cpu")
    assert calls[:3] == ["a", "b", "c"]  # the warm-up
    assert calls[3:] == ["a", "b", "c", "b", "c", "a", "c", "a", "b"]  # each level first once
    assert {k: len(v) for k, v in times.items()} == {"a": 3, "b": 3, "c": 3}


def test_a_shared_copy_is_pruned_alone_and_keeps_the_weights_in_one_place():
    base = models.load_base(models.TOY_NAME)
    unet = base.unet.eval()
    z = torch.randn(1, unet.config.in_channels, 16, 16)
    t = torch.tensor([999])
    with torch.no_grad():
        before = unet(z, t, base.prompt_embeds).sample
        folded = bench.shared_copy(unet)
        unet_mod.prune_unet(folded, base.prompt_embeds, 999, fold=True)
        after = unet(z, t, base.prompt_embeds).sample
        out = folded(z, t, base.prompt_embeds).sample
    assert not isinstance(unet.time_embedding, unet_mod.Constant)  # the original is not pruned
    assert isinstance(folded.time_embedding, unet_mod.Constant)
    assert torch.equal(before, after) and torch.allclose(out, before, atol=1e-5)
    kept = {p.data_ptr() for p in unet.parameters()}
    assert all(p.data_ptr() in kept for p in folded.parameters())  # no weight was copied


def test_the_gpu_prediction_holds_every_weight_of_the_restorer_and_gives_every_part_its_flops():
    """A restoration at SD 2.1's size (64 px, so that it is quick): the predicted peak holds exactly the
    bytes of the VAE's, the UNet's (LoRA included) and the adapter's weights, and nearly every FLOP
    belongs to one of the four parts."""
    predict = _load("predict_gpu")
    parts, peak, flops = predict.run(config.PAPER, 64, 1, "restore")
    with torch.device("meta"):
        pipe, _ = predict.build(config.PAPER, 64)
    weights = sum(p.numel() * p.element_size() for m in (pipe.vae, pipe.unet, pipe.adapter) for p in m.parameters())
    assert peak["Parameter"] == weights  # 3.4 GiB in float32
    assert peak["Activation"] > 0 and peak["Total"] > weights
    restoring = [p for p in parts if not p.startswith("loss")]
    assert all(parts[p] > 0 for p in restoring) and parts["loss networks (CLIP ViT-H, R-Net, VGG)"] == 0
    assert 0.99 < sum(parts.values()) / flops <= 1.0


def test_the_gpu_prediction_of_a_training_step_holds_the_loss_networks_and_sees_what_checkpointing_saves():
    """A stage-2 step at SD 2.1's size (64 px): the peak holds every weight (the restorer's and the
    loss's networks'), and gradient checkpointing keeps fewer activations (measured here: 1.02 against
    1.21 GiB; 2.65 against 4.80 at 256 px)."""
    predict = _load("predict_gpu")
    _, plain, flops = predict.run(config.PAPER, 64, 2, "stage2")
    _, saving, more_flops = predict.run(config.PAPER, 64, 2, "stage2", checkpointing=True)
    with torch.device("meta"):
        pipe, loss = predict.build(config.PAPER, 64)
    weights = sum(p.numel() * p.element_size() for m in (pipe.vae, pipe.unet, loss) for p in m.parameters())
    assert plain["Parameter"] == saving["Parameter"] == weights  # the adapter is not in the step: its output is
    assert saving["Activation"] < 0.9 * plain["Activation"], (saving["Activation"], plain["Activation"])
    assert more_flops > flops  # what checkpointing drops, it computes again


def test_encoding_the_training_faces_fits_a_t4_at_512_px():
    """``lafr.vae.encode`` takes 8 images of 512 px at a time by default (``batch_for``), so stage 1's
    encoding of the training faces fits a T4 (15 GiB): predicted 8.5 GiB of tensors; 32 at a time needed 23.5."""
    from lafr import vae as vae_io

    assert vae_io.batch_for(512, 512) == 8 and vae_io.batch_for(64, 64) == vae_io.batch_for(128, 128) == 32
    predict = _load("predict_gpu")
    _, peak, _ = predict.run(config.PAPER, 512, 32, "encode")
    assert peak["Total"] + 1 * 2**30 < predict.GPUS["T4 (Colab's free GPU)"][0] * 2**30, peak["Total"] / 2**30
