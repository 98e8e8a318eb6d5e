"""What a metric suite measured, and how it is printed: per-image values, means, tables and CSV.

``Results`` holds one restorer's numbers (``lafr.metrics.Suite.evaluate`` fills it); ``markdown``
and ``results_table`` print several side by side, under the paper's column names (``label``) with
each metric's direction (``LOWER_IS_BETTER``), the network behind each, and what could not be
measured and why.  Taught in notebook 06; ``lafr evaluate`` writes its CSV.
"""

from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

PAPER_NAMES = {  # our metric name -> the paper's column name (Tables 1, 2, 5, 7, 11)
    "psnr": "PSNR", "ssim": "SSIM", "lpips": "LPIPS", "dists": "DISTS", "deg": "Deg.", "lmd": "LMD",
    "niqe": "NIQE", "musiq": "M-IQ", "clipiqa": "C-IQA", "maniqa": "M-IQA", "fid": "FID", "fid_ffhq": "FID-F",
}  # fmt: skip


OTHER_NAMES = {"piqe": "PIQE", "fd_dlib": "FD-dlib", "lmd_true": "LMD-true"}  # metrics the paper does not report


def label(name: str) -> str:
    """How a metric is printed: the paper's column name, or ours for the metrics it does not report."""
    return PAPER_NAMES.get(name) or OTHER_NAMES.get(name, name)


LOWER_IS_BETTER = {
    "psnr": False, "ssim": False, "lpips": True, "dists": True, "deg": True, "lmd": True, "lmd_true": True,
    "niqe": True, "musiq": False, "clipiqa": False, "maniqa": False, "piqe": True,
    "fid": True, "fid_ffhq": True, "fd_dlib": True,
}  # fmt: skip


@dataclass
class Results:
    """What ``Suite.evaluate`` measured: per-image values (None where not measurable), set values,
    the network behind each metric, and the metrics that could not run, with why."""

    label: str = ""
    names: list = field(default_factory=list)
    per_image: dict = field(default_factory=dict)  # metric -> [value or None per image]
    set_values: dict = field(default_factory=dict)  # metric -> one value for the whole set
    networks: dict = field(default_factory=dict)
    unavailable: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)

    @property
    def summary(self) -> dict:
        """metric -> mean over the images where it was measured (NaN where none was), and set values."""
        out = {}
        for k, v in self.per_image.items():
            vals = [x for x in v if x is not None]
            out[k] = float(np.mean(vals)) if vals else float("nan")
        out.update(self.set_values)
        return out

    def measured(self, metric: str) -> int:
        return sum(v is not None for v in self.per_image.get(metric, []))

    def to_csv(self, path: str | os.PathLike, overwrite: bool = False) -> Path:
        """One row per image, one column per metric (empty where not measured), then a 'mean' row
        (per-image metrics), a 'whole set' row (FID and other set metrics) and a 'network' row (what
        produced each column)."""
        path = Path(path)
        if path.exists() and not overwrite:
            raise FileExistsError(f"{path} exists; choose another name or delete it")
        path.parent.mkdir(parents=True, exist_ok=True)
        cols = list(self.per_image) + list(self.set_values)
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["image"] + cols)
            for i, n in enumerate(self.names):
                w.writerow([n] + [_cell(self.per_image[c][i]) if c in self.per_image else "" for c in cols])
            w.writerow(["mean"] + [_cell(self.summary[c]) if c in self.per_image else "" for c in cols])
            if self.set_values:
                w.writerow(["whole set"] + [_cell(self.set_values[c]) if c in self.set_values else "" for c in cols])
            w.writerow(["network"] + [self.networks.get(c, "") for c in cols])  # what produced each column
        return path


def _cell(v) -> str:
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.6g}"


def results_table(results: list[Results], paper_names: bool = True, decimals: dict | None = None) -> list[dict]:
    """Rows for ``lafr.paper.format_table``: one per result, its label under "Method" and each
    metric's mean under the paper's column name (``PAPER_NAMES``) where it has one."""
    rows = []
    for r in results:
        row = {"Method": r.label}
        for k, v in r.summary.items():
            row[PAPER_NAMES.get(k, k) if paper_names else k] = None if math.isnan(v) else round(v, 6)
        rows.append(row)
    return rows


def markdown(results: list[Results]) -> str:
    """The mean of each metric per result as a markdown table, with each metric's direction, the
    network behind it, and what could not be measured and why."""
    cols = list(dict.fromkeys(k for r in results for k in r.summary))
    arrow = {k: "\u2193" if LOWER_IS_BETTER.get(k) else "\u2191" for k in cols}
    lines = ["| method | " + " | ".join(f"{label(k)} {arrow[k]}" for k in cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for r in results:
        s = r.summary
        lines.append(f"| {r.label} | " + " | ".join(_fmt(s.get(k)) for k in cols) + " |")
    first = results[0] if results else Results()
    lines += ["", "Networks:"] + [f"- {label(k)}: {v}" for k, v in first.networks.items()]
    if first.unavailable:
        lines += ["", "Not measured:"] + [f"- {label(k)}: {v}" for k, v in first.unavailable.items()]
    return "\n".join(lines)


def seed_comparison(a, b, lower_is_better: bool = False, min_seeds: int = 3) -> dict:
    """Compare two systems trained with several seeds on one metric (``a`` and ``b``: one value per seed).

    - ``worst_gap``: how much better a's worst seed is than b's best (> 0: a wins every pairing of seeds);
    - ``mean_gap``: how much better a's mean is than b's;
    - ``spread``: the larger of the two ranges over seeds (how much a seed alone moves a result);
    - ``verdict``: "better on every seed", "worse on every seed" or "seeds overlap" (a against b);
    - ``clear``: a is better on every seed *with margin*: the worst gap is above 0, the means lie more than
      twice the spread apart, and each system has at least ``min_seeds`` seeds (one seed has no spread).

    Notebooks 05 and 06 assert a comparison of restorers only where it is clear, and teach this reading.
    """
    sign = -1.0 if lower_is_better else 1.0
    a, b = [sign * float(v) for v in a], [sign * float(v) for v in b]
    if not a or not b:
        raise ValueError(f"seed_comparison needs at least one value on each side, got {len(a)} and {len(b)}")
    worst, reverse = min(a) - max(b), min(b) - max(a)
    mean_gap = float(np.mean(a) - np.mean(b))
    spread = max(max(a) - min(a), max(b) - min(b))
    verdict = "better on every seed" if worst > 0 else "worse on every seed" if reverse > 0 else "seeds overlap"
    clear = worst > 0 and mean_gap > 2 * spread and min(len(a), len(b)) >= min_seeds
    return {"worst_gap": worst, "mean_gap": mean_gap, "spread": spread, "verdict": verdict, "clear": clear}


def seed_verdict(a, b, lower_is_better: bool = False) -> str:
    """``seed_comparison``'s verdict of a against b, with ", clear" when the order is clear either way
    ("worse on every seed, clear": b beats a on every seed with margin). Notebooks 05 and 06 print it."""
    ahead = seed_comparison(a, b, lower_is_better)
    clear = ahead["clear"] or seed_comparison(b, a, lower_is_better)["clear"]
    return ahead["verdict"] + (", clear" if clear else "")


def seed_table(systems: dict, columns: dict, decimals: dict | None = None, label_width: int = 22) -> str:
    """Restorers trained with several seeds, one line each: its seeds, then each column's mean over the
    seeds with its lowest and highest value, "27.06 (27.04 to 27.09)".

    ``systems``: {label: {seed: {key: value}}}; ``columns``: {key: column name}; ``decimals``: {key:
    decimals} (2 by default).  Notebooks 05 and 06 print every table over seeds with it."""
    decimals = decimals or {}
    cells = {
        label: [
            f"{np.mean(v):.{d}f} ({min(v):.{d}f} to {max(v):.{d}f})"
            for key in columns
            for v, d in [([q[key] for q in by_seed.values()], decimals.get(key, 2))]
        ]
        for label, by_seed in systems.items()
    }
    widths = [max([len(name)] + [len(c[k]) for c in cells.values()]) + 3 for k, name in enumerate(columns.values())]
    lines = [f"{'':<{label_width}}{'seeds':>7}" + "".join(f"{n:>{w}}" for n, w in zip(columns.values(), widths))]
    for label, by_seed in systems.items():
        seeds = ",".join(map(str, sorted(by_seed)))
        lines.append(f"{label:<{label_width}}{seeds:>7}" + "".join(f"{c:>{w}}" for c, w in zip(cells[label], widths)))
    return "\n".join(lines)


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    return f"{v:.4f}" if abs(v) < 1 else f"{v:.2f}"
