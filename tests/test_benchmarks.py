"""The benchmarks' own machinery (their numbers are printed, never asserted): the interleaved timing
and the weight-sharing copies of ``benchmarks/bench_restore.py``."""

import importlib.util
from pathlib import Path

import torch

from lafr import models, unet as unet_mod

spec = importlib.util.spec_from_file_location(
    "bench_restore", Path(__file__).resolve().parents[1] / "benchmarks" / "bench_restore.py"
)
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


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
