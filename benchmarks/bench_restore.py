"""One-step restoration speed: unpruned, pruned and pruned + folded UNets, and the adapter's share.

    python benchmarks/bench_restore.py                      # the toy models (committed weights), CPU
    python benchmarks/bench_restore.py --sd21 --size 256    # SD 2.1's architecture, random weights
    python benchmarks/bench_restore.py --sd21 --size 512 --device cuda --dtype bfloat16 --batch 8

What each level runs per call (the prompt and timestep are fixed, Sec. 3.1):
  unpruned  text encoder (SD 2.1 only: the toy has none) + time embedding + UNet
  pruned    UNet with the time embedding and the prompt embedding stored (the paper's)
  folded    also time_emb_proj and the cross-attention keys and values stored (ours)
Every level also runs the VAE encoder, the adapter and the VAE decoder. Ratios are the unpruned
time over each level's (above 1: faster). The levels are timed in interleaved rounds (each round
runs all three, in a rotated order), so that a slow spell of the machine falls on all of them; the
medians come with the fastest and slowest round, and folded is compared with pruned round by
round. Beside each measured speed-up stands the one its FLOPs predict (torch's FlopCounterMode
on one call): folding saves a fixed 4 GFLOP (the keys and values of 77 prompt tokens, the
time_emb_proj of one embedding), about 2% of the UNet at 256 px and 0.4% of the restoration, far
below the spread of rounds on a shared CPU, so on a CPU folded and pruned tie within noise. That
folding never adds work is a test (tests/test_unet.py: no op beyond a view, and fewer matrix
products). The three levels share one copy of the weights. On CUDA it also prints batched throughput
and peak memory, and the peak memory of one stage-2 training step at the given size (LoRA rank 4,
gradient checkpointing, the given dtype), whose target is to fit a 16 GB GPU. Timings are medians of
--repeats rounds after one warm-up; run on idle cores.
"""

import argparse
import copy
import statistics
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from lafr import adapter as adapter_mod, config, models, train, unet as unet_mod, vae as vae_io


def build(sd21: bool, device, dtype):
    if not sd21:
        base = models.load_base(models.TOY_NAME)
        adapter = adapter_mod.load_trained_adapter("lafr-toy-adapter")[0]
        return base.vae, base.unet, adapter, None, base.prompt_embeds
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(0)
    with torch.device(device):
        vae = models.AutoencoderKL(**models.SD21_VAE_CONFIG)
        unet = models.UNet2DConditionModel(**models.SD21_UNET_CONFIG)
        text = CLIPTextModel(CLIPTextConfig(**models.SD21_TEXT_ENCODER_CONFIG))
    adapter = train.build_adapter(config.PAPER)
    ids = torch.randint(0, 49408, (1, 77))
    with torch.no_grad():
        prompt = text(ids.to(device))[0]
    return vae, unet, adapter, (text, ids), prompt


def once(fn, device) -> float:
    """Seconds for one call of ``fn`` (the GPU's queue emptied before and after)."""
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()
    start = time.perf_counter()
    fn()
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()
    return time.perf_counter() - start


def timed(fn, repeats: int, device) -> float:
    """Median seconds of ``repeats`` calls after one warm-up."""
    fn()
    return statistics.median(once(fn, device) for _ in range(repeats))


def interleaved(fns: dict, rounds: int, device) -> dict[str, list[float]]:
    """Each function's seconds in each of ``rounds`` rounds, after one warm-up of each. Every round
    runs them all, each round in a rotated order, so that a slow spell of the machine (another
    process, heat, memory) falls on every level alike instead of on whichever was timed last."""
    for fn in fns.values():
        fn()
    times = {name: [] for name in fns}
    names = list(fns)
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            times[name].append(once(fns[name], device))
    return times


def shared_copy(module):
    """A copy of ``module``'s layers that shares its weights (pruning replaces layers, never weights):
    three pruning levels of SD 2.1's UNet then take the memory of one."""
    memo = {id(t): t for t in (*module.parameters(), *module.buffers())}
    return copy.deepcopy(module, memo)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sd21", action="store_true", help="SD 2.1's architecture with random weights (no download)")
    ap.add_argument("--size", type=int, help="image size (default: 64 for the toy, 512 for SD 2.1)")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--dtype", choices=("float32", "float16", "bfloat16"), default="float32")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--timestep", type=int, default=999)
    args = ap.parse_args()
    dtype = getattr(torch, args.dtype)
    size = args.size or (512 if args.sd21 else 64)
    vae, unet, adapter, text, prompt = build(args.sd21, args.device, dtype)
    for m in (vae, unet, adapter):
        m.to(args.device).eval().requires_grad_(False)
        if dtype != torch.float32:
            m.to(dtype)
    prompt = prompt.to(args.device, dtype)
    x = torch.rand(args.batch, 3, size, size, device=args.device, dtype=dtype) * 2 - 1
    a = float(models.noise_scheduler().alphas_cumprod[args.timestep])
    t = torch.full((args.batch,), args.timestep, device=args.device)

    def restore(u, per_call_prompt=None):
        def run():
            with torch.no_grad():
                p = text[0](text[1].to(args.device))[0].to(dtype) if per_call_prompt else prompt
                z = adapter(vae_io.encode(vae, x, batch_size=args.batch))
                eps = u(z, t, p.expand(args.batch, -1, -1)).sample
                vae_io.decode(vae, (z - (1 - a) ** 0.5 * eps) / a**0.5, batch_size=args.batch)

        return run

    pruned, folded = shared_copy(unet), shared_copy(unet)
    unet_mod.prune_unet(pruned, prompt, args.timestep)
    unet_mod.prune_unet(folded, prompt, args.timestep, fold=True)
    levels = {
        "unpruned": restore(unet, per_call_prompt=text is not None),
        "pruned (paper)": restore(pruned),
        "pruned + folded": restore(folded),
    }
    flops = {}
    for name, fn in levels.items():
        with FlopCounterMode(display=False) as counter:
            fn()
        flops[name] = counter.get_total_flops()
    times = interleaved(levels, args.repeats, args.device)
    rows = {name: statistics.median(t) for name, t in times.items()}

    def adapter_only():
        with torch.no_grad():
            adapter(
                torch.randn(
                    args.batch,
                    4,
                    size // 8 if args.sd21 else size // 4,
                    size // 8 if args.sd21 else size // 4,
                    device=args.device,
                    dtype=dtype,
                )
            )

    adapter_s = timed(adapter_only, args.repeats, args.device)
    what = "SD 2.1 architecture, random weights" if args.sd21 else "toy models"
    print(f"{what}; {size} x {size}, batch {args.batch}, {args.dtype}, {args.device}, torch {torch.__version__}")
    params = unet_mod.parameter_table(unet, text_encoder=text[0] if text else 0)
    print(
        f"  median of {args.repeats} interleaved rounds [fastest, slowest]; speed-up over unpruned, measured "
        "and by FLOPs; FLOPs; parameters"
    )
    for (name, seconds), count in zip(rows.items(), params.values()):
        low, high = min(times[name]), max(times[name])
        print(
            f"  {name:<16} {seconds * 1000:9.1f} ms [{low * 1000:.1f}, {high * 1000:.1f}]  "
            f"{rows['unpruned'] / seconds:5.2f}x {flops['unpruned'] / flops[name]:6.3f}x  "
            f"{flops[name] / 1e9:8.1f} GFLOP {count / 1e6:8.1f}M parameters"
        )
    # folded against pruned, round by round: each round ran both within seconds of each other
    ratio = sorted(p / f for p, f in zip(times["pruned (paper)"], times["pruned + folded"]))
    faster = sum(r > 1 for r in ratio)
    print(
        f"  folded / pruned, per round: pruned's time over folded's {statistics.median(ratio):.3f} "
        f"[{ratio[0]:.3f}, {ratio[-1]:.3f}]; folded faster in {faster} of {len(ratio)} rounds; "
        f"by FLOPs {flops['pruned (paper)'] / flops['pruned + folded']:.4f}"
    )
    print(
        f"  adapter alone    {adapter_s * 1000:9.1f} ms  ({100 * adapter_s / rows['pruned + folded']:.1f}% of a "
        "folded restoration)"
    )
    if str(args.device).startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
        batch_s = timed(restore(folded), args.repeats, args.device)
        print(
            f"  throughput {args.batch / batch_s:.2f} images/s; peak memory "
            f"{torch.cuda.max_memory_allocated() / 2**30:.2f} GiB"
        )
        train_unet = copy.deepcopy(unet)
        unet_mod.add_lora(train_unet, rank=4)
        unet_mod.prune_unet(train_unet, prompt, args.timestep, fold=True)
        train_unet.enable_gradient_checkpointing()
        train_unet.train()
        opt = torch.optim.AdamW([p for p in train_unet.parameters() if p.requires_grad], lr=1e-5)
        torch.cuda.reset_peak_memory_stats()
        z = vae_io.encode(vae, x, batch_size=args.batch)
        eps = train_unet(z, t, prompt.expand(args.batch, -1, -1)).sample
        out = vae.decode((z - (1 - a) ** 0.5 * eps) / a**0.5 / vae.config.scaling_factor).sample
        (out.float() - x.float()).square().mean().backward()
        opt.step()
        print(
            f"  one stage-2 training step (LoRA rank 4, gradient checkpointing, {args.dtype}): peak memory "
            f"{torch.cuda.max_memory_allocated() / 2**30:.2f} GiB "
            f"({torch.cuda.max_memory_allocated() / 16 / 2**30:.2f} of a 16 GB GPU)"
        )


if __name__ == "__main__":
    main()
