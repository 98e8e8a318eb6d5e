"""GPU memory and time of the paper profile, predicted on a CPU before anyone rents a GPU.

    python benchmarks/predict_gpu.py                # the table: a restoration (batch 1 and 8), a stage-2 step (batch 2)
    python benchmarks/predict_gpu.py --check 128    # the memory model against a real run on this CPU at 128 px
    python benchmarks/predict_gpu.py --shares 128   # where a restoration's time goes: predicted against measured

How. SD 2.1's VAE and UNet, the adapter and the loss's networks (IP-Adapter's CLIP ViT-H/14, D3DFR's
R-Net, LPIPS's VGG-16) are built from their configs on the meta device (no weights at all); lafr
attaches LoRA and prunes and folds the UNet as it always does (``LAFRPipeline.from_base``).  Then every
weight becomes a fake tensor (torch's ``FakeTensorMode``: shapes and dtypes, no data) and lafr's own
code runs: ``LAFRPipeline.restore`` for a restoration, ``train.stage2_losses``, the backward pass and
AdamW's step for stage 2.  torch's ``FlopCounterMode`` counts every module's FLOPs and its
``MemTracker`` follows every tensor from birth to death, so the peak comes out by kind: weights,
gradients, optimizer state, activations, temporaries.  The whole table took 75 s on 2 idle CPU cores.

Two things it shows.  Stage 2 fits a 16 GB T4 only with fp16 autocast and gradient checkpointing
(``--mixed-precision fp16 --gradient-checkpointing``).  And autocast saves less than one might hope:
the frozen weights stay fp32, and each layer's half-precision copy of its weights is kept for the
backward pass, so at 64 to 256 px a bf16 step holds more than an fp32 one; at 512 px the activations
it halves win.

What it leaves out, so read the numbers as a floor.  Memory: the CUDA context, cuBLAS's and cuDNN's
workspaces and the caching allocator's rounding and fragmentation are not tensors; the table adds
``--overhead`` GiB for them (1 by default: a guess, not measured here).  Mixed precision runs CPU
autocast (bf16 or fp16), whose lists of ops to cast are close to CUDA's but not the same.  Time: FLOPs
over the card's dense peak from its datasheet (for fp32, TF32 tensor cores where the card has them,
since cuDNN's convolutions use them by default; tensor cores for fp16 and bf16), which real kernels
reach only in part: a lower bound, often several times below the truth (the paper:
0.121 s a restoration on an L40, Table 3).  ``--check`` measures how far the memory model is from a
real run's peak on this CPU (measured here at 128 px: the real step held 2.32 GiB above its weights,
1.20 times the predicted 1.93); ``--shares`` compares the predicted split of a restoration's FLOPs over
its modules with the measured split of its time.  If a GPU is at hand, ``bench_restore.py --device
cuda`` measures the real thing.
"""

import argparse
import contextlib
import os
import subprocess
import sys
import time

import torch
from torch._subclasses.fake_tensor import FakeTensor, FakeTensorMode
from torch.distributed._tools.mem_tracker import MemTracker
from torch.utils.flop_counter import FlopCounterMode

from lafr import config, facenets, losses, models, train
from lafr.pipeline import LAFRPipeline

GIB = 2**30
# name: the memory nvidia-smi reports, in GiB (a "16 GB" T4 shows 15360 MiB, a "24 GB" L4 23034 MiB), and the
# dense peaks (TFLOPS) from the datasheets: fp32 cores, TF32 tensor cores (None: the card has none), fp16
# tensor cores, bf16 tensor cores (None: none).  Sparsity's doubled figures are not used.
GPUS = {
    "T4 (Colab's free GPU)": (15.0, 8.1, None, 65, None),  # Turing: no TF32, no bf16
    "L4": (22.5, 30.3, 60, 121, 121),
    "L40 (the paper's)": (45.0, 90.5, 90.5, 181, 181),
    "A100 40GB": (40.0, 19.5, 156, 312, 312),
    "H100 80GB SXM": (79.6, 67, 495, 989, 989),
}
PAPER_SECONDS = 0.121  # Table 3: LAFR's inference time per image, on one L40


# ---- the paper profile's networks, without weights ---------------------------------------------------


def build(cfg, size: int, seed: int = 0):
    """The restorer (VAE, adapter, LoRA on the pruned and folded UNet) and the multilevel loss at the
    paper's sizes, with random weights on the meta device (no memory) or, with ``device``, real ones."""
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    torch.manual_seed(seed)
    with torch.device("cpu"):  # the noise schedule is numbers, even when the networks are built on meta
        scheduler = models.noise_scheduler()
    vae = models.AutoencoderKL(**models.SD21_VAE_CONFIG)
    unet = models.UNet2DConditionModel(**models.SD21_UNET_CONFIG)
    base = models.BaseModels(vae, unet, scheduler, torch.randn(1, 77, 1024), source="SD 2.1 (config only)")
    pipe = LAFRPipeline.from_base(base, cfg.timestep, size, adapter=train.build_adapter(cfg), lora_rank=cfg.lora_rank)
    clip = CLIPVisionModelWithProjection(CLIPVisionConfig(**facenets.IP_ADAPTER_IMAGE_ENCODER_CONFIG))
    import lpips

    vgg = lpips.LPIPS(net=cfg.lpips_net, pretrained=False, pnet_rand=True, verbose=False)  # weights don't matter here
    loss = losses.MultilevelLoss(facenets.ClipIdentity(clip), facenets.D3DFRNet(), vgg, lpips_weight=cfg.lpips_weight)
    return pipe, loss


def to_fake(mode: FakeTensorMode, modules, device: str = "cpu"):
    """Turn every weight and buffer of ``modules`` into a fake tensor of ``mode``, in place; returns the
    function that turns one tensor."""
    convert = mode.fake_tensor_converter

    def fake(t):
        if isinstance(t, FakeTensor):
            return t
        return convert.from_meta_and_device(mode, t, torch.device(device)) if t.is_meta else mode.from_tensor(t)

    for module in modules:
        for m in module.modules():
            for k, p in list(m._parameters.items()):
                if p is not None:
                    m._parameters[k] = torch.nn.Parameter(fake(p), requires_grad=p.requires_grad)
            for k, b in list(m._buffers.items()):
                if b is not None:
                    m._buffers[k] = fake(b)
    return fake


class _NoHook:
    def remove(self):
        pass


class Tracker(MemTracker):
    """torch's MemTracker, for models with frozen weights (it hooks every parameter's gradient, which a
    tensor that needs none refuses: frozen weights are marked as hooked already, they never get one),
    keeping the whole run's peak only: its per-module peaks cost a walk over every module at every
    operation (nine tenths of the time at SD 2.1's size), and nothing here reads them."""

    def _update_peak_stats(self, peak_state) -> None:
        for dev, snap in self._curr_mem_snap.items():
            if self._peak_mem.get(dev, 0) < snap["Total"]:
                self._peak_mem[dev] = snap["Total"]
                self._peak_mem_snap[dev] = dict(snap)

    def _track_module_params_and_buffers(self, module, install_grad_hooks=True):
        for p in module.parameters():
            if not p.requires_grad and self._param_to_grad_hook_handles.get(p, None) is None:
                self._param_to_grad_hook_handles[p] = (_NoHook(), _NoHook())
        return super()._track_module_params_and_buffers(module, install_grad_hooks)


# ---- one restoration, one training step ------------------------------------------------------------------

PARTS = {  # a module's name in FlopCounterMode's table -> the part of the method it belongs to
    "Encoder": "VAE encoder",
    "LatentAlignmentAdapter": "adapter",
    "UNet2DConditionModel": "UNet (pruned, folded, LoRA)",
    "Decoder": "VAE decoder",
    "MultilevelLoss": "loss networks (CLIP ViT-H, R-Net, VGG)",
}


def run(cfg, size: int, batch: int, what: str, amp: str = "no", checkpointing: bool = False):
    """Predict, for ``batch`` faces at ``size`` px: one restoration (``what="restore"``), the encoding of
    the training faces before stage 1 (``"encode"``), one stage-1 step (``"stage1"``, on latents) or one
    stage-2 step (``"stage2"``).  Returns ({part: FLOPs}, {kind: peak bytes}, total FLOPs)."""
    from lafr import vae as vae_io

    mode = FakeTensorMode()
    with torch.device("meta"):
        pipe, loss = build(cfg, size)
    with mode:
        fake = to_fake(mode, (pipe.vae, pipe.unet, pipe.adapter, loss))
        pipe.prompt_embeds = fake(pipe.prompt_embeds)
        tracker, flops = Tracker(), FlopCounterMode(display=False, depth=2)
        h = size // 8
        if what == "stage2":
            if checkpointing:
                pipe.unet.enable_gradient_checkpointing()
                pipe.vae.enable_gradient_checkpointing()
            pipe.unet.train()
            optimizer = torch.optim.AdamW([p for p in pipe.unet.parameters() if p.requires_grad], lr=cfg.stage2_lr)
            z = torch.randn(batch, 4, h, h)  # stage2_inputs: the adapter's output, computed once
            hq = torch.rand(batch, 3, size, size) * 2 - 1
            tracker.track_external(pipe.unet, pipe.vae, loss, optimizer, z, hq)
            dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(amp)
            with tracker, flops:
                with torch.autocast("cpu", dtype=dtype or torch.bfloat16, enabled=dtype is not None):
                    out = train.stage2_losses(pipe, loss, z, hq)
                out["total"].backward()
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
        elif what == "stage1":  # train_adapter's step: L1 between the aligned and the HQ latents
            optimizer = torch.optim.AdamW(pipe.adapter.parameters(), lr=cfg.stage1_lr)
            z_lq, z_hq = torch.randn(batch, 4, h, h), torch.randn(batch, 4, h, h)
            tracker.track_external(pipe.adapter, optimizer, z_lq, z_hq)
            with tracker, flops:
                (pipe.adapter(z_lq) - z_hq).abs().mean().backward()
                optimizer.step()
        else:
            pipe.unet.eval()
            lq = torch.rand(batch, 3, size, size) * 2 - 1
            tracker.track_external(pipe.vae, pipe.unet, pipe.adapter, lq)
            with tracker, flops, torch.no_grad():
                if what == "encode":  # train.latent_pairs: every face and its degraded views, once, in
                    # batches of vae.batch_for(size, size): one batch (MemTracker follows one call of a module;
                    # each batch's peak is the same)
                    vae_io.encode(pipe.vae, lq[: vae_io.batch_for(size, size)])
                else:
                    pipe.restore(lq)
        peak = next(iter(tracker.get_tracker_snapshot("peak").values()))
    counts = flops.get_flop_counts()
    parts = {}
    for name, part in PARTS.items():
        found = [k for k in counts if k == name or k.endswith("." + name)]
        parts[part] = sum(sum(counts[k].values()) for k in found)
    total = sum(counts["Global"].values())
    return parts, {str(getattr(k, "value", k)): v for k, v in peak.items()}, total


# ---- the table -----------------------------------------------------------------------------------------


def row_text(name, peak, flops, overhead, amp):
    need = peak["Total"] / GIB + overhead
    kinds = ", ".join(
        f"{k.lower()} {peak.get(k, 0) / GIB:.1f}" for k in ("Parameter", "Gradient", "Optstate", "Activation", "Temp")
    )
    fits = []
    for gpu, (mem, fp32, tf32, fp16, bf16) in GPUS.items():
        # fp32 runs: cuDNN's convolutions take TF32 tensor cores by default where there are any, so the bound
        # (a bound: faster than anything real) uses the TF32 peak there
        peak_tflops = {"no": max(fp32, tf32 or 0), "fp16": fp16, "bf16": bf16}[amp]
        if peak_tflops is None:
            fits.append(f"{gpu}: no {amp}")
            continue
        fits.append(f"{gpu}: {'fits' if need <= mem else 'does NOT fit'}, >= {flops / (peak_tflops * 1e12):.3f} s")
    return (
        f"{name}\n    {flops / 1e12:.2f} TFLOP; peak {peak['Total'] / GIB:.1f} GiB of tensors ({kinds}) "
        f"+ {overhead:g} GiB overhead = {need:.1f} GiB\n    " + "\n    ".join(fits)
    )


def table(cfg, size: int, overhead: float) -> None:
    from lafr import vae as vae_io

    print(
        f"paper profile at {size} px; SD 2.1 + LoRA rank {cfg.lora_rank}, the loss's networks as the paper names them"
    )
    print(f"time: a lower bound (FLOPs / the card's dense peak); the paper: {PAPER_SECONDS} s per image on an L40\n")
    n = vae_io.batch_for(size, size)
    rows = [(f"restoration, batch {b}, fp32", "restore", b, "no", False) for b in (1, 8)]
    rows += [
        (f"stage 1: encoding the training faces, per batch of {n} (vae.batch_for), fp32", "encode", n, "no", False),
        (
            f"stage-1 step, batch {cfg.stage1_batch_size} (on latents), fp32",
            "stage1",
            cfg.stage1_batch_size,
            "no",
            False,
        ),
    ]
    names = {"no": "fp32", "bf16": "bf16 autocast", "fp16": "fp16 autocast"}
    rows += [
        (
            f"stage-2 step, batch {cfg.stage2_batch_size}, {names[amp]}, checkpointing {'on' if ck else 'off'}",
            "stage2",
            cfg.stage2_batch_size,
            amp,
            ck,
        )
        for amp in ("no", "bf16", "fp16")
        for ck in (False, True)
    ]
    for name, what, batch, amp, checkpointing in rows:
        start = time.perf_counter()
        parts, peak, flops = run(cfg, size, batch, what, amp, checkpointing)
        share = ", ".join(f"{p} {100 * f / flops:.0f}%" for p, f in parts.items() if f)
        print(row_text(f"{name} ({share or 'adapter'})", peak, flops, overhead, amp))
        print(f"    (predicted in {time.perf_counter() - start:.0f} s)\n", flush=True)


# ---- the checks against this CPU ----------------------------------------------------------------------------


def _rss_peak_child(size: int, batch: int) -> None:
    """In a fresh process: build the networks with real random weights, then run one stage-2 step and
    print the step's peak resident memory above what was resident before it (Linux's VmHWM, reset)."""
    cfg = config.PAPER
    pipe, loss = build(cfg, size)
    pipe.unet.train()
    optimizer = torch.optim.AdamW([p for p in pipe.unet.parameters() if p.requires_grad], lr=cfg.stage2_lr)
    z, hq = torch.randn(batch, 4, size // 8, size // 8), torch.rand(batch, 3, size, size) * 2 - 1

    def status(key):
        line = next(x for x in open("/proc/self/status") if x.startswith(key))
        return int(line.split()[1]) * 1024

    before = status("VmRSS:")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets VmHWM, the peak resident set, to the current one
    out = train.stage2_losses(pipe, loss, z, hq)
    out["total"].backward()
    optimizer.step()
    print(f"RESULT {status('VmHWM:') - before}")


def check(cfg, size: int) -> None:
    batch = cfg.stage2_batch_size
    _, peak, _ = run(cfg, size, batch, "stage2")
    above = peak["Total"] - peak.get("Parameter", 0) - peak.get("Buffer", 0)
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(size)], capture_output=True, text=True, env={**os.environ}
    )
    if out.returncode != 0:
        raise SystemExit(out.stderr[-3000:])
    measured = int(out.stdout.split("RESULT")[1])
    print(
        f"stage-2 step at {size} px, batch {batch}, fp32, on this CPU: above the weights, predicted "
        f"{above / GIB:.2f} GiB, measured {measured / GIB:.2f} GiB (peak resident memory, Linux VmHWM): "
        f"measured / predicted = {measured / above:.2f}  (real run: {time.perf_counter() - start:.0f} s)"
    )


def shares(cfg, size: int, repeats: int = 3) -> None:
    """A restoration's FLOPs per part, predicted, against its time per part, measured on this CPU."""
    import statistics

    from lafr import vae as vae_io

    parts, _, flops = run(cfg, size, 1, "restore")
    pipe, _ = build(cfg, size)
    pipe.unet.eval()
    lq = torch.rand(1, 3, size, size) * 2 - 1
    steps = {
        "VAE encoder": lambda: vae_io.encode(pipe.vae, lq),
        "adapter": lambda: pipe.adapter(z),
        "UNet (pruned, folded, LoRA)": lambda: pipe.denoise(za),
        "VAE decoder": lambda: pipe.decode(zr),
    }
    with torch.no_grad():
        z = vae_io.encode(pipe.vae, lq)
        za = pipe.adapter(z)
        zr = pipe.denoise(za)
        times = {}
        for part, fn in steps.items():
            fn()
            runs = []
            for _ in range(repeats):
                start = time.perf_counter()
                fn()
                runs.append(time.perf_counter() - start)
            times[part] = statistics.median(runs)
    total = sum(times.values())
    print(f"a restoration at {size} px on this CPU ({torch.get_num_threads()} threads), median of {repeats}:")
    for part in steps:
        print(
            f"  {part:<30} predicted {100 * parts[part] / flops:5.1f}% of the FLOPs, "
            f"measured {100 * times[part] / total:5.1f}% of the time ({times[part] * 1000:.0f} ms)"
        )


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=512, help="image size for the table (the paper's: 512)")
    ap.add_argument("--overhead", type=float, default=1.0, help="GiB added for what is not a tensor (CUDA context...)")
    ap.add_argument("--check", type=int, metavar="SIZE", help="check the memory model on this CPU at SIZE px")
    ap.add_argument("--shares", type=int, metavar="SIZE", help="predicted FLOP shares against measured CPU time")
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    cfg = config.PAPER
    if args.child:
        return _rss_peak_child(args.child, cfg.stage2_batch_size)
    if args.check:
        return check(cfg, args.check)
    if args.shares:
        return shares(cfg, args.shares)
    table(cfg, args.size, args.overhead)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
