"""Compare the text outputs of two runs of the notebooks, code cell by code cell.

A change that should not change any result (a refactor, a move, formatting) must leave every printed
number as it was.  Run the notebooks before and after, then compare:

    lafr tour --out runs/tour-before     # on the old commit
    lafr tour --out runs/tour-after      # on the new one
    python tools/compare_tours.py runs/tour-before runs/tour-after

Printed text (stdout and plain-text results) is compared; timings, memory addresses, temporary paths
and progress bars are masked first (as notebooks/nbval_sanitize.cfg does for nbval).  Figures are
not compared.  Exits 1 when any cell differs, naming the first differing line of each.
"""

import argparse
import json
import re
import sys
from pathlib import Path

MASKS = [
    (r"\d+(\.\d+)?\s*(s|ms|seconds|minutes)\b", "TIME"),
    (r"0x[0-9a-fA-F]+", "ADDRESS"),
    (r"/tmp/[\w./-]+", "PATH"),
    (r"\d+%\|.*\|.*", "PROGRESS"),
]


def printed(cell: dict) -> str:
    """What a code cell printed, masked."""
    parts = []
    for out in cell.get("outputs", []):
        data = out.get("data", {})
        if out["output_type"] == "stream" and out["name"] == "stdout":
            parts.append("".join(out["text"]))
        elif (
            out["output_type"] in ("execute_result", "display_data")
            and "text/plain" in data
            and "image/png" not in data
        ):
            parts.append("".join(data["text/plain"]))
        elif out["output_type"] == "error":
            parts.append(f"ERROR {out['ename']}")
    text = "".join(parts)
    for pattern, mask in MASKS:
        text = re.sub(pattern, mask, text)
    return text


def differences(before: Path, after: Path) -> list[str]:
    """How the code cells of two executed copies of one notebook differ in what they printed."""
    a, b = ([c for c in json.loads(p.read_text())["cells"] if c["cell_type"] == "code"] for p in (before, after))
    found = [] if len(a) == len(b) else [f"{len(a)} code cells before, {len(b)} after"]
    for i, (x, y) in enumerate(zip(a, b)):
        lx, ly = printed(x).splitlines(), printed(y).splitlines()
        if lx != ly:
            k = next((k for k, (m, n) in enumerate(zip(lx, ly)) if m != n), min(len(lx), len(ly)))
            first = [lines[k] if k < len(lines) else "<nothing>" for lines in (lx, ly)]
            found.append(f"code cell {i}, line {k + 1}: {first[0][:150]!r} -> {first[1][:150]!r}")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path, help="folder of executed notebooks (lafr tour --out)")
    parser.add_argument("after", type=Path, help="another such folder")
    args = parser.parse_args(argv)
    notebooks = sorted(args.before.glob("*.ipynb"))
    if not notebooks:
        raise SystemExit(f"{args.before}: no executed notebooks")
    total = 0
    for nb in notebooks:
        other = args.after / nb.name
        found = differences(nb, other) if other.is_file() else [f"missing in {args.after}"]
        with_text = sum(bool(printed(c)) for c in json.loads(nb.read_text())["cells"] if c["cell_type"] == "code")
        print(f"{nb.name}: {len(found)} difference(s) ({with_text} code cells print text)")
        for line in found:
            print(f"    {line}")
        total += len(found)
    print(f"{total} difference(s) in {len(notebooks)} notebook(s)")
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
