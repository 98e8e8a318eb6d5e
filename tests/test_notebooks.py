"""What every notebook promises before it runs: the runtime its header states is the one the README
states, and nothing points students at files they do not have."""

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _readme_runtime(number: str) -> str:
    for line in (ROOT / "README.md").read_text().splitlines():
        if line.startswith(f"| {number} |"):
            return line.split("|")[4].strip()
    raise AssertionError(f"README has no row for notebook {number}")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_header_and_readme_state_the_same_runtime(path):
    header = nbformat.read(path, as_version=4).cells[0].source
    stated = re.search(r"\*\*Runtime\*\*: tiny profile (about [^,.]+?) on 2 idle CPU cores", header)
    assert stated, f"{path.name}: the header must state the tiny profile's runtime on 2 idle CPU cores"
    assert stated.group(1) == _readme_runtime(path.name[:2]), path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_do_not_use_the_developers_shared_folder(path):
    text = path.read_text()
    assert "../shared" not in text and "shared_faces_dir" not in text, path.name
