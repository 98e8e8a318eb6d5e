"""Write data/README.md's table from data/datasets.json (tests/test_datasets.py checks they agree).

Run: ``python tools/build_data_readme.py``
"""

import json
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "data"
BEGIN, END = "<!-- table: made by tools/build_data_readme.py -->", "<!-- end of table -->"


def _size(n: int) -> str:
    return f"{n / 1e9:.1f} GB" if n >= 1e9 else f"{n / 1e6:.0f} MB"


def table() -> str:
    rows = ["| name | what it is | images | licence | how it is fetched |", "|---|---|---|---|---|"]
    for d in json.loads((DATA / "datasets.json").read_text())["datasets"]:
        sizes = [f.get("size") for f in d["files"]]
        size = f" ({_size(sum(sizes))})" if sizes and all(sizes) else ""
        if d.get("shards"):
            s = d["shards"]
            how = (
                f"its training faces from {s['draw_from']} shards of the Hub's copy on first use (about "
                f"{_size(s['draw_from'] * s['approx_shard_size'])}, pinned revision, no published SHA-256), "
                "or a copy by hand"
            )
        elif not d["files"]:
            how = "by hand (see below)"
        elif all(f["sha256"] for f in d["files"]):
            how = f"downloaded on first use{size}, SHA-256 checked"
        else:
            how = f"downloaded on first use{size} (no published SHA-256)"
        rows.append(f"| `{d['name']}` | {d['description']} | {d['images']:,} | {d['license']} | {how} |")
    return "\n".join([BEGIN, *rows, END])


def main() -> None:
    readme = DATA / "README.md"
    text = readme.read_text()
    start, stop = text.index(BEGIN), text.index(END) + len(END)
    readme.write_text(text[:start] + table() + text[stop:])


if __name__ == "__main__":
    main()
