"""How much of z_HQ survives the adapter's codebook? Probes of one capacity, from each stage of the adapter.

Notebook 05 found that at toy scale a restorer without the adapter scores higher than one with it.
One reading: the codebook's nearest-neighbour step throws away what the UNet could have used. This
script tests that reading directly. The committed toy adapter is frozen; a small probe network (the
same architecture and training for every input) learns to predict z_HQ from what one stage of the
adapter hands on:

- ``z_LQ``: the adapter's input (what a restorer without the adapter sees);
- ``features``: the feature extractor's output, before the codebook (256 channels);
- ``codebook``: the chosen codebook vectors c* (256 channels): what passes the nearest-neighbour step;
- ``z_aligned``: the adapter's output (what the full method's UNet sees).

If the probe from ``codebook`` or ``z_aligned`` recovers z_HQ worse than the probe from ``z_LQ``, the
codebook has discarded information about the clean face that the LQ latent still had. Measured on the
held-out pairs of stage 1 (never trained on): latent L1 to z_HQ and the PSNR of the decoded face.

    python tools/adapter_probe.py --out runs/adapter-probe.json --seeds 0 1 2

(``--resume`` keeps the probes the file already holds after an interruption; the probes' time is
measured and written beside their numbers). Notebook 05 shows the committed result.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from lafr import adapter as adapter_mod, models, provenance, train, vae as vae_io  # noqa: E402
from lafr.config import get_profile  # noqa: E402

INPUTS = ("z_LQ", "features", "codebook", "z_aligned")


class Probe(nn.Module):
    """A 1x1 convolution to ``width`` channels, two residual blocks, a 3x3 convolution to z's channels."""

    def __init__(self, in_channels: int, out_channels: int = 4, width: int = 64):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, width, 1),
            adapter_mod.ResBlock(width),
            adapter_mod.ResBlock(width),
            nn.GroupNorm(32, width),
            nn.SiLU(),
            nn.Conv2d(width, out_channels, 3, padding=1),
        )

    def forward(self, x):
        return self.net(x)


@torch.no_grad()
def stages(adapter, z_lq: torch.Tensor, batch: int = 256) -> dict:
    """What each stage of the frozen adapter hands on, for every latent in ``z_lq``."""
    out = {k: [] for k in INPUTS}
    for i in range(0, len(z_lq), batch):
        z = z_lq[i : i + batch]
        features = adapter.extractor(z)
        chosen, _ = adapter.quantize(z)
        out["z_LQ"].append(z)
        out["features"].append(features)
        out["codebook"].append(chosen)
        out["z_aligned"].append(adapter.mapping(chosen) + (z if adapter.config.residual else 0))
    return {k: torch.cat(v) for k, v in out.items()}


def train_probe(x, y, seed: int, steps: int, batch: int = 32, lr: float = 1e-3) -> Probe:
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    probe = Probe(x.shape[1], y.shape[1])
    opt = torch.optim.AdamW(probe.parameters(), lr=lr, weight_decay=1e-4)
    for step in range(steps):
        for g in opt.param_groups:
            g["lr"] = lr * 0.5 * (1 + torch.cos(torch.tensor(step / steps * torch.pi)).item())
        idx = torch.randint(len(x), (batch,), generator=gen)
        loss = F.l1_loss(probe(x[idx]), y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return probe.eval()


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """Mean PSNR (dB) of images in [-1, 1]."""
    mse = ((a - b) / 2).square().flatten(1).mean(1)
    return float((10 * torch.log10(1 / mse)).mean())


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True, help="JSON file to write")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="probe training seeds")
    p.add_argument("--steps", type=int, default=1500, help="training steps of each probe")
    p.add_argument("--adapter", default=None, help="adapter weights (default: the tiny profile's)")
    p.add_argument("--inputs", nargs="+", default=list(INPUTS), choices=INPUTS)
    p.add_argument("--resume", action="store_true", help="keep the probes --out already holds and train the rest")
    args = p.parse_args(argv)
    previous = json.loads(Path(args.out).read_text()) if args.resume and Path(args.out).is_file() else None
    if previous and (previous["steps"], previous["adapter"]) != (args.steps, args.adapter or "lafr-toy-adapter"):
        raise SystemExit(
            f"{args.out} holds probes of another setting ({previous['steps']} steps, adapter "
            f"{previous['adapter']}); resume with the same --steps and --adapter, or choose another --out"
        )
    started = time.perf_counter()
    cfg = get_profile("tiny")
    vae = models.load_base(cfg.base_model).vae
    adapter, _ = adapter_mod.load_trained_adapter(args.adapter or cfg.adapter_weights)
    adapter.eval().requires_grad_(False)
    z_lq, z_hq = train.latent_pairs(vae, train.training_faces(cfg), cfg.degradation, cfg.stage1_views, seed=cfg.seed)
    hq_test, zt_lq, zt_hq = train.heldout_pairs(vae, cfg, 128)
    x_train, x_test = stages(adapter, z_lq), stages(adapter, zt_lq)
    truth = hq_test * 2 - 1
    result = {
        "command": "python tools/adapter_probe.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "code_version": provenance.git_version(),
        "machine": provenance.machine("cpu"),
        "adapter": args.adapter or cfg.adapter_weights,
        "training_pairs": f"{len(z_lq)} (stage 1's: {cfg.train_images} faces x {cfg.stage1_views} degraded views)",
        "held_out": "128 held-out pairs of stage 1 (train.heldout_pairs)",
        "probe": "1x1 conv to 64 channels, two residual blocks, 3x3 conv to z; AdamW, cosine decay, L1 to z_HQ",
        "steps": args.steps,
        "no_probe": {
            "z_LQ itself": {
                "l1": round(float((zt_lq - zt_hq).abs().mean()), 4),
                "psnr": round(psnr(vae_io.decode(vae, zt_lq), truth), 3),
            },
            "z_aligned itself": {
                "l1": round(float((x_test["z_aligned"] - zt_hq).abs().mean()), 4),
                "psnr": round(psnr(vae_io.decode(vae, x_test["z_aligned"]), truth), 3),
            },
            "decode(z_HQ)": {"l1": 0.0, "psnr": round(psnr(vae_io.decode(vae, zt_hq), truth), 3)},
        },
        "probes": {},
    }
    if previous:  # the probes already trained, and the code that trained them
        result["probes"] = previous["probes"]
        versions = previous.get("code_versions", [previous["code_version"]])
        result["code_versions"] = versions + [v for v in [result["code_version"]] if v not in versions]
    for seed in args.seeds:  # every input at one seed first, so an interrupted run still compares them
        for name in args.inputs:
            if str(seed) in result["probes"].get(name, {}):
                continue
            t = time.perf_counter()
            probe = train_probe(x_train[name], z_hq, seed, args.steps)
            with torch.no_grad():
                pred = probe(x_test[name])
            r = {
                "l1": round(float((pred - zt_hq).abs().mean()), 4),
                "psnr": round(psnr(vae_io.decode(vae, pred), truth), 3),
                "seconds": round(time.perf_counter() - t, 1),
            }
            result["probes"].setdefault(name, {})[str(seed)] = r
            print(f"{name:<10} seed {seed}: held-out L1 {r['l1']:.4f}, decoded PSNR {r['psnr']:.2f} dB", flush=True)
            Path(args.out).write_text(json.dumps(result, indent=2) + "\n")  # kept as it goes
    result["seconds"] = round(time.perf_counter() - started, 1)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
