"""The paper's result tables as data, so our toy tables can be printed beside them.

Values and column names as the paper prints them (CelebA-Test, SD 2.1 scale). Our toy numbers are
never comparable to them in value, only in direction: which row beats which. Notebook 05 prints
Tables 5 and 7 beside its ablations; notebook 06 adds the evaluation tables.
"""

from __future__ import annotations

# Table 5: "Ablation study of multi-level loss on CelebA-Test. Each option includes L_res."
# "L_2" marks a term "implemented in L_2 type"; True/False: the cosine term is in or out.
TABLE_5 = [
    {"#": 1, "L_id": False, "L_fs": False, "PSNR": 25.99, "DISTS": 0.1799, "NIQE": 4.861, "Deg": 46.13, "LMD": 2.841},
    {"#": 2, "L_id": True, "L_fs": False, "PSNR": 26.16, "DISTS": 0.1872, "NIQE": 4.921, "Deg": 44.87, "LMD": 2.821},
    {"#": 3, "L_id": "L_2", "L_fs": False, "PSNR": 24.75, "DISTS": 0.1946, "NIQE": 5.333, "Deg": 53.01, "LMD": 3.391},
    {"#": 4, "L_id": False, "L_fs": "L_2", "PSNR": 25.26, "DISTS": 0.1888, "NIQE": 4.818, "Deg": 49.20, "LMD": 3.169},
    {"#": 5, "L_id": False, "L_fs": True, "PSNR": 26.28, "DISTS": 0.1886, "NIQE": 5.094, "Deg": 46.42, "LMD": 2.797},
    {"#": 6, "L_id": True, "L_fs": True, "PSNR": 26.26, "DISTS": 0.1795, "NIQE": 4.716, "Deg": 42.45, "LMD": 2.750},
]

# Table 7 (appendix): "Ablation studies on CelebA-Test for alignment, UNet pruning, and LoRA parameters."
TABLE_7 = [
    {"#": 1, "Align": False, "Pruned": False, "LoRA Type": "Full", "PSNR": 26.42, "FID": 21.62, "Deg.": 43.57, "NIQE": 4.937},
    {"#": 2, "Align": False, "Pruned": False, "LoRA Type": "Attn.", "PSNR": 24.80, "FID": 36.57, "Deg.": 44.32, "NIQE": 7.525},
    {"#": 3, "Align": False, "Pruned": False, "LoRA Type": "Conv.", "PSNR": 25.74, "FID": 18.46, "Deg.": 46.21, "NIQE": 4.840},
    {"#": 4, "Align": False, "Pruned": True, "LoRA Type": "Conv.", "PSNR": 25.99, "FID": 26.83, "Deg.": 46.13, "NIQE": 4.861},
    {"#": 5, "Align": True, "Pruned": True, "LoRA Type": "Conv.", "PSNR": 26.26, "FID": 17.66, "Deg.": 42.45, "NIQE": 4.715},
]

TABLES = {"Table 5": TABLE_5, "Table 7": TABLE_7}
# decimals as the paper prints each column
DECIMALS = {"PSNR": 2, "DISTS": 4, "NIQE": 3, "Deg": 2, "Deg.": 2, "LMD": 3, "FID": 2}


def format_table(rows: list[dict]) -> str:
    """A list of row dicts as a markdown table: booleans as the paper's check and cross marks,
    numbers with the paper's decimals (``DECIMALS``; four significant digits for other columns).
    Taught in notebook 05."""

    def cell(key, v):
        if v is True:
            return "\u2713"
        if v is False:
            return "\u00d7"
        if isinstance(v, float):
            return f"{v:.{DECIMALS[key]}f}" if key in DECIMALS else f"{v:.4g}"
        return str(v)

    keys = list(dict.fromkeys(k for r in rows for k in r))
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(cell(k, r[k]) if k in r else "" for k in keys) + " |" for r in rows]
    return "\n".join(lines)
