"""How much does the alignment adapter cost next to one UNet forward?  (Notebook 03, Table 3.)

    python benchmarks/bench_adapter.py [--sizes tiny sd21] [--repeats 3]

Builds both networks from their configs with random weights (no download): the tiny profile's
toy UNet and adapter at 64 px (16 x 16 latents), and SD 2.1 base's UNet and the paper-size adapter
(1024 x 256 codebook) at 512 px (64 x 64 latents).  Prints the median forward time of each, batch 1,
and the adapter's time as a ratio of the UNet's, on the CPU and, when present, on CUDA.
"""

import argparse
import statistics
import time

import torch

from lafr import models
from lafr.config import get_profile
from lafr.train import build_adapter


def timed(fn, repeats: int, device: str) -> float:
    fn()  # warm up
    times = []
    for _ in range(repeats):
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def build(size: str):
    if size == "tiny":
        cfg = get_profile("tiny")
        unet, latent, tokens = models.build_toy_unet(), 16, models.TOY_PROMPT_SHAPE[1:]
    else:
        cfg = get_profile("paper")
        unet, latent, tokens = models.UNet2DConditionModel(**models.SD21_UNET_CONFIG), 64, (77, 1024)
    adapter = build_adapter(cfg)
    return unet.eval(), adapter.eval(), latent, tokens


@torch.no_grad()
def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", nargs="+", default=["tiny", "sd21"], choices=["tiny", "sd21"])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads"
        + (f", {torch.cuda.get_device_name()}" if len(devices) > 1 else "")
    )
    print(f"{'size':<6} {'device':<6} {'UNet (ms)':>10} {'adapter (ms)':>13} {'adapter / UNet':>15}")
    for size in args.sizes:
        unet, adapter, h, (tokens, dim) = build(size)
        for device in devices:
            u, a = unet.to(device), adapter.to(device)
            z = torch.randn(1, 4, h, h, device=device)
            emb = torch.randn(1, tokens, dim, device=device)
            t = torch.tensor([999], device=device)
            tu = timed(lambda: u(z, t, emb), args.repeats, device)  # noqa: B023 - called at once, in this iteration
            ta = timed(lambda: a(z), args.repeats, device)  # noqa: B023
            print(f"{size:<6} {device:<6} {tu * 1e3:10.1f} {ta * 1e3:13.1f} {ta / tu:15.3f}")


if __name__ == "__main__":
    main()
