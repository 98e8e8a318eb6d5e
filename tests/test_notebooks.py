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
    stated = re.search(
        r"\*\*Runtime\*\*: tiny profile (\d+ s) on 2 idle CPU cores of a slow VM(?: \(about (\d+ s) on a fast one\))?",
        header,
    )
    assert stated, f"{path.name}: the header must state the tiny profile's runtime on 2 idle CPU cores of a slow VM"
    slow, fast = stated.groups()
    assert _readme_runtime(path.name[:2]) == slow + (f" (about {fast} fast)" if fast else ""), path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_do_not_use_the_developers_shared_folder(path):
    text = path.read_text()
    assert "../shared" not in text and "shared_faces_dir" not in text, path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_the_parameters_cell_takes_the_profile_and_its_settings(path):
    """`lafr tour --profile/--set` and papermill set `profile` and `settings`; the notebook's profile uses both."""
    cells = nbformat.read(path, as_version=4).cells
    params = [c for c in cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1, f"{path.name}: one cell tagged parameters"
    assert re.search(r"^profile = None\b", params[0].source, re.M), path.name
    assert re.search(r"^settings = \{\}", params[0].source, re.M), path.name
    assert any("cfg = get_profile(profile, **settings)" in c.source for c in cells if c.cell_type == "code"), path.name
