"""The paper's result tables as data, so our toy tables can be printed beside them.

Values, column names and method names as the paper prints them (SD 2.1 scale; the benchmark of each
table is in ``CAPTIONS``). Our toy numbers are never comparable to them in value, only in direction:
which row beats which (``HIGHER_IS_BETTER``). Notebook 05 prints Tables 5 and 7 beside its
ablations; notebook 06 prints Tables 1, 2, 3 and 11 beside its evaluation.
"""

from __future__ import annotations

# Table 5: "Ablation study of multi-level loss on CelebA-Test. Each option includes L_res."
# "L_2" marks a term "implemented in L_2 type"; True/False: the cosine term is in or out.
# The paper's tables, laid out as the paper prints them: one row a line (Table 2's rows take two).
# fmt: off
TABLE_5 = [
    {"#": 1, "L_id": False, "L_fs": False, "PSNR": 25.99, "DISTS": 0.1799, "NIQE": 4.861, "Deg": 46.13, "LMD": 2.841},
    {"#": 2, "L_id": True, "L_fs": False, "PSNR": 26.16, "DISTS": 0.1872, "NIQE": 4.921, "Deg": 44.87, "LMD": 2.821},
    {"#": 3, "L_id": "L_2", "L_fs": False, "PSNR": 24.75, "DISTS": 0.1946, "NIQE": 5.333, "Deg": 53.01, "LMD": 3.391},
    {"#": 4, "L_id": False, "L_fs": "L_2", "PSNR": 25.26, "DISTS": 0.1888, "NIQE": 4.818, "Deg": 49.20, "LMD": 3.169},
    {"#": 5, "L_id": False, "L_fs": True, "PSNR": 26.28, "DISTS": 0.1886, "NIQE": 5.094, "Deg": 46.42, "LMD": 2.797},
    {"#": 6, "L_id": True, "L_fs": True, "PSNR": 26.26, "DISTS": 0.1795, "NIQE": 4.716, "Deg": 42.45, "LMD": 2.750},
]

# Table 7 (appendix): "Ablation studies on CelebA-Test for alignment, UNet pruning, and LoRA parameters."
_T7_COLUMNS = ("#", "Align", "Pruned", "LoRA Type", "PSNR", "FID", "Deg.", "NIQE")
TABLE_7 = [dict(zip(_T7_COLUMNS, printed)) for printed in [
    (1, False, False, "Full", 26.42, 21.62, 43.57, 4.937),
    (2, False, False, "Attn.", 24.80, 36.57, 44.32, 7.525),
    (3, False, False, "Conv.", 25.74, 18.46, 46.21, 4.840),
    (4, False, True, "Conv.", 25.99, 26.83, 46.13, 4.861),
    (5, True, True, "Conv.", 26.26, 17.66, 42.45, 4.715),
]]

# Table 1: CelebA-Test, 4x up-scaling. Numbers in brackets: denoising steps; * re-trained on FFHQ.
# Method names without their citations, which are in CITATIONS.
_T1_COLUMNS = ("Method", "PSNR", "SSIM", "LPIPS", "DISTS", "M-IQ", "NIQE", "Deg.", "LMD", "FID-F", "FID",
               "C-IQA", "M-IQA")
TABLE_1 = [dict(zip(_T1_COLUMNS, printed)) for printed in [
    ("GFPGAN", 25.04, 0.6744, 0.3653, 0.2106, 59.44, 4.078, 34.67, 4.085, 52.53, 42.36, 0.5762, 0.5715),
    ("RF++", 24.40, 0.6339, 0.4535, 0.2301, 72.36, 3.952, 70.50, 8.802, 57.37, 72.78, 0.6087, 0.6356),
    ("3Diffusion (1000)", 22.32, 0.6327, 0.3304, 0.1716, 68.34, 4.334, 51.05, 3.482, 46.26, 19.45, 0.5700, 0.6114),
    ("PGDiff (1000)", 23.87, 0.6783, 0.3066, 0.1794, 71.70, 4.883, 56.07, 4.289, 79.38, 47.01, 0.5736, 0.6246),
    ("DR2 (300)", 26.06, 0.7346, 0.3131, 0.2143, 65.27, 5.360, 48.34, 3.334, 58.86, 30.01, 0.5615, 0.5989),
    ("DiffFace (250)", 26.47, 0.7283, 0.3721, 0.1676, 68.98, 4.154, 65.84, 4.963, 47.76, 23.65, 0.5702, 0.6111),
    ("DiffBIR (50)", 27.18, 0.7293, 0.3503, 0.1789, 74.30, 5.383, 55.06, 5.259, 68.06, 27.36, 0.6168, 0.6648),
    ("PISA-SR*", 26.85, 0.7382, 0.3254, 0.1636, 75.07, 4.774, 46.79, 3.024, 53.96, 17.74, 0.6113, 0.6701),
    ("OSDiff*", 25.88, 0.7388, 0.3496, 0.2278, 69.98, 5.328, 67.40, 5.408, 61.36, 27.13, 0.6151, 0.6497),
    ("LAFR (ours)", 26.26, 0.7394, 0.2671, 0.1792, 69.99, 4.715, 42.45, 2.750, 49.20, 17.66, 0.6172, 0.6220),
]]

# Table 2: three real-world benchmarks, printed side by side in the paper, here one list of rows
# per benchmark (same methods, same order). C-IQA, M-IQA, M-IQ: CLIP-IQA, MANIQA, MUSIQ.
# Method names as Table 2 prints them (no citations; "PISA-SR* (50)" here, "PISA-SR*" in Table 1).
_T2_COLUMNS = ("C-IQA", "M-IQA", "M-IQ", "NIQE", "FID")
_T2_BENCHMARKS = ("Wider-Test", "LFW-Test", "WebPhoto-Test")
_T2_PRINTED = [  # method, then Wider-Test, LFW-Test, WebPhoto-Test, five columns each
    ("GFPGAN", 0.6975, 0.5205, 74.14, 3.570, 48.57, 0.6002, 0.6169, 73.37, 4.299, 47.05,
     0.6696, 0.4934, 72.69, 3.933, 98.92),
    ("RF++", 0.7159, 0.4767, 71.33, 3.723, 45.39, 0.7024, 0.5108, 72.25, 3.843, 50.25,
     0.6950, 0.4902, 71.48, 4.020, 75.07),
    ("3Diffusion (1000)", 0.5927, 0.5833, 64.24, 4.489, 36.39, 0.6148, 0.5940, 68.69, 4.181, 47.04,
     0.5717, 0.5775, 63.27, 4.608, 84.45),
    ("PGDiff (1000)", 0.5824, 0.4531, 68.13, 3.931, 35.86, 0.5975, 0.4858, 71.24, 4.011, 41.20,
     0.5653, 0.4460, 68.59, 3.993, 86.95),
    ("DR2 (300)", 0.6544, 0.5417, 67.59, 3.250, 51.35, 0.5940, 0.6088, 65.57, 3.961, 50.79,
     0.6380, 0.5452, 66.53, 4.920, 97.45),
    ("DiffFace (250)", 0.5924, 0.4299, 64.90, 4.238, 37.09, 0.6075, 0.4577, 69.61, 3.901, 46.12,
     0.5737, 0.4189, 65.11, 4.247, 79.55),
    ("DiffBIR (50)", 0.7337, 0.4466, 72.13, 4.525, 36.25, 0.7266, 0.4510, 73.66, 5.281, 46.44,
     0.6621, 0.5799, 67.50, 5.729, 92.04),
    ("PISA-SR* (50)", 0.7265, 0.5653, 70.26, 3.211, 57.02, 0.5892, 0.5942, 56.35, 5.957, 91.95,
     0.6345, 0.5551, 62.96, 4.316, 107.50),
    ("OSDiff*", 0.6193, 0.4752, 69.10, 5.086, 47.88, 0.6186, 0.4879, 71.70, 4.800, 51.04,
     0.6254, 0.4823, 69.81, 5.325, 109.23),
    ("LAFR (ours)", 0.6330, 0.6099, 69.51, 4.859, 44.69, 0.6375, 0.6232, 69.94, 3.681, 45.76,
     0.6956, 0.6113, 69.21, 4.153, 98.48),
]
TABLE_2 = {
    bench: [{"Method": m, **dict(zip(_T2_COLUMNS, values[5 * i : 5 * i + 5]))} for m, *values in _T2_PRINTED]
    for i, bench in enumerate(_T2_BENCHMARKS)
}

# Table 3: efficiency. Underlines (second-best) dropped; "LAFR(Ours)" and "PiSA-SR*" as Table 3
# prints them. "Training Set Size (K)" and the metric count keep the paper's mix of integers and
# decimals (70, 15360, 0.6; 2, 4.5). The last column counts Table 1's best (1) and second-best (0.5)
# results; its name prints as "Best & 2 nd -Best Metric" in the text (a superscript "nd").
_T3_COLUMNS = ("Method", "Inference Time (s)", "Trainable Para. (M)", "Training Time (min)",
               "Training Set Size (K)", "Best & 2nd-Best Metric")
TABLE_3 = [dict(zip(_T3_COLUMNS, printed)) for printed in [
    ("PiSA-SR*", 12.373, 17.3, 3516, 70, 4.5),
    ("PGDiff", 10.504, 152.4, 6083, 70, 0.5),
    ("DiffBIR", 5.826, 144.6, 1822, 15360, 2),
    ("3Diffusion", 4.374, 180.5, 2430, 70, 1),
    ("DiffFace", 3.197, 175.4, 5985, 70, 0.5),
    ("DR2", 1.217, 179.3, 5985, 70, 0),
    ("OSEDiff*", 0.130, 8.5, 1440, 70, 1),
    ("LAFR(Ours)", 0.121, 7.5, 411, 0.6, 5.5),
]]

# Table 11 (appendix): LAFR trained on random FFHQ subsets of each size. Note its 600-image row is
# not Table 1's LAFR row (PSNR 25.91 here, 26.26 there).
_T11_COLUMNS = ("Training Images Amount", "PSNR", "SSIM", "LPIPS", "DISTS", "MUSIQ", "NIQE", "Deg.", "LMD")
TABLE_11 = [dict(zip(_T11_COLUMNS, printed)) for printed in [
    (100, 26.08, 0.7384, 0.2729, 0.1918, 71.17, 5.117, 46.11, 3.023),
    (200, 26.07, 0.7114, 0.2537, 0.1765, 71.94, 4.817, 45.60, 2.883),
    (300, 25.87, 0.7451, 0.2572, 0.1836, 71.28, 4.881, 47.45, 2.948),
    (400, 25.84, 0.7425, 0.2637, 0.1841, 71.02, 4.872, 46.75, 2.932),
    (500, 26.00, 0.7464, 0.2594, 0.1910, 71.37, 5.080, 47.02, 2.824),
    (600, 25.91, 0.7418, 0.2516, 0.1782, 71.33, 4.754, 46.12, 2.810),
    (700, 25.74, 0.7388, 0.2568, 0.1786, 72.20, 4.841, 46.22, 3.047),
    (800, 26.64, 0.7476, 0.2578, 0.1794, 68.64, 4.901, 41.73, 2.819),
    (900, 26.29, 0.7309, 0.2620, 0.1810, 69.39, 4.805, 42.42, 2.795),
    (7000, 26.43, 0.7461, 0.2671, 0.1831, 69.37, 5.044, 42.87, 2.773),
    (21000, 24.77, 0.7328, 0.3862, 0.1937, 70.99, 4.855, 53.44, 3.600),
    (28000, 25.48, 0.7497, 0.3785, 0.2032, 66.82, 5.342, 51.02, 3.194),
    (35000, 25.56, 0.7449, 0.3713, 0.1962, 70.64, 5.183, 50.56, 3.176),
    (42000, 25.26, 0.7390, 0.3735, 0.1912, 70.27, 5.254, 50.52, 3.172),
    (49000, 25.06, 0.7371, 0.3741, 0.1910, 71.25, 4.968, 52.05, 3.347),
    (56000, 25.27, 0.7407, 0.3679, 0.1826, 71.50, 4.953, 49.65, 3.144),
    (63000, 25.81, 0.7438, 0.3623, 0.1819, 69.84, 4.852, 46.71, 2.901),
    (70000, 25.16, 0.7380, 0.3861, 0.1973, 70.06, 5.148, 52.04, 3.368),
]]
# fmt: on

# citations as printed after the method names (Tables 2, 5, 7 and 11 print none)
CITATIONS = {
    "Table 1": {
        "GFPGAN": "Wang et al. (2021)",
        "RF++": "Wang et al. (2023d)",
        "3Diffusion (1000)": "Lu et al. (2024)",
        "PGDiff (1000)": "Sun et al. (2025)",
        "DR2 (300)": "Sun et al. (2025)",
        "DiffFace (250)": "Wang et al. (2024b)",
        "DiffBIR (50)": "Xingqi et al. (2024)",
        "PISA-SR*": "Sun et al. (2025)",
        "OSDiff*": "Wu et al. (2024a)",
    },
    "Table 3": {
        "PiSA-SR*": "Sun et al. (2025)",
        "PGDiff": "Yang et al. (2023)",
        "DiffBIR": "Xinqi et al. (2024)",
        "3Diffusion": "Lu et al. (2024)",
        "DiffFace": "Yue & Loy (2024)",
        "DR2": "Wang et al. (2023c)",
        "OSEDiff*": "Wu et al. (2024a)",
    },
}

# each table's caption, first sentence as printed, and the benchmark its numbers are measured on
CAPTIONS = {
    "Table 1": {
        "caption": "Quantitative comparison with previous methods, which include non-diffusion, multi-step, "
        "and single-step diffusion approaches, with $4\\times$ up-scaling.",
        "dataset": "CelebA-Test",
    },  # the caption names none; the text: "We use CelebA-Test ... presented in Tab. 1"
    "Table 2": {
        "caption": "Comparison on real-world face restoration benchmarks.",
        "dataset": "Wider-Test, LFW-Test, WebPhoto-Test",
    },
    "Table 3": {
        "caption": "Efficiency of our LAFR compared to diffusion-based restoration approaches.",
        "dataset": "CelebA-Test",
    },  # costs need no test set; the metric count is from Table 1
    "Table 5": {"caption": "Ablation study of multi-level loss on CelebA-Test.", "dataset": "CelebA-Test"},
    "Table 7": {
        "caption": "Ablation studies on CelebA-Test for alignment, UNet pruning, and LoRA parameters.",
        "dataset": "CelebA-Test",
    },
    "Table 11": {
        "caption": "Ablation studies of different training images amount for our LAFR.",
        "dataset": "CelebA-Test",
    },  # the caption names none; Figs. 6 and 9 plot this study "on CelebA-Test"
}

TABLES = {
    "Table 1": TABLE_1,
    **{f"Table 2 ({bench})": rows for bench, rows in TABLE_2.items()},
    "Table 3": TABLE_3,
    "Table 5": TABLE_5,
    "Table 7": TABLE_7,
    "Table 11": TABLE_11,
}
# columns that name a row or a setting; every other column is a metric
LABELS = ("Method", "#", "L_id", "L_fs", "Align", "Pruned", "LoRA Type", "Training Images Amount")
# decimals as the paper prints each column (integers print as they are)
DECIMALS = {
    "#": 0,
    "Training Images Amount": 0,
    "PSNR": 2,
    "SSIM": 4,
    "LPIPS": 4,
    "DISTS": 4,
    "M-IQ": 2,
    "MUSIQ": 2,
    "NIQE": 3,
    "Deg": 2,
    "Deg.": 2,
    "LMD": 3,
    "FID-F": 2,
    "FID": 2,
    "C-IQA": 4,
    "M-IQA": 4,
    "Inference Time (s)": 3,
    "Trainable Para. (M)": 1,
    "Training Time (min)": 0,
    "Training Set Size (K)": 1,
    "Best & 2nd-Best Metric": 1,
}
# the paper's arrows (Tables 1, 5, 7, 11; Table 2 prints none and uses Table 1's metrics). Table 3
# prints none either: lower is cheaper, as its text reads it ("the inference time required is still
# less", "only 0.9% of the FFHQ training data and 7.5M tunable parameters, reducing training time by 70%").
HIGHER_IS_BETTER = {
    "PSNR": True,
    "SSIM": True,
    "LPIPS": False,
    "DISTS": False,
    "M-IQ": True,
    "MUSIQ": True,
    "NIQE": False,
    "Deg": False,
    "Deg.": False,
    "LMD": False,
    "FID-F": False,
    "FID": False,
    "C-IQA": True,
    "M-IQA": True,
    "Inference Time (s)": False,
    "Trainable Para. (M)": False,
    "Training Time (min)": False,
    "Training Set Size (K)": False,
    "Best & 2nd-Best Metric": True,
}


def format_table(rows: list[dict]) -> str:
    """A list of row dicts as a markdown table: booleans as the paper's check and cross marks,
    numbers with the paper's decimals (``DECIMALS``; four significant digits for other columns).
    Taught in notebook 05; notebook 06 prints its tables with it too."""

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
