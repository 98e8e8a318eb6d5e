"""Every notebook has one source, edited either in JupyterLab or as text: ``notebooks/NN_name.ipynb``
is paired with the jupytext percent-format file ``notebooks/NN_name.py`` (``[tool.jupytext]`` in
pyproject.toml), and the two must hold the same cells.  After editing one side, sync the other:
``jupytext --sync notebooks/NN_name.ipynb`` (README, "Contributing")."""

from pathlib import Path

import jupytext
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
PAIRED = NOTEBOOKS + sorted((ROOT / "notebooks" / "exercises").glob("[0-9][0-9]_*.ipynb"))  # the exercises too


def pair_differences(notebook: Path, text: Path) -> list[str]:
    """How the cells of a notebook and of its paired text file differ, both read by jupytext's own
    readers: the number of cells, then each cell's type, source and metadata (tags included)."""
    a, b = jupytext.read(notebook), jupytext.read(text)
    found = (
        []
        if len(a.cells) == len(b.cells)
        else [f"{len(a.cells)} cells in {notebook.name}, {len(b.cells)} in {text.name}"]
    )
    for i, (x, y) in enumerate(zip(a.cells, b.cells)):
        for what in ("cell_type", "source", "metadata"):
            if x[what] != y[what]:
                mine, theirs = str(x[what]).splitlines() or [""], str(y[what]).splitlines() or [""]
                k = next((k for k, (m, t) in enumerate(zip(mine, theirs)) if m != t), min(len(mine), len(theirs)) - 1)
                found.append(
                    f"cell {i}: {what} differs at line {k + 1} ({notebook.name}: {mine[k][:90]!r}; {text.name}: "
                    f"{theirs[k][:90]!r})"
                )
    return found


def test_every_notebook_has_a_text_file_and_every_text_file_a_notebook():
    texts = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))
    assert [p.with_suffix(".py") for p in NOTEBOOKS] == texts
    assert len(NOTEBOOKS) >= 6


@pytest.mark.parametrize("path", PAIRED, ids=lambda p: str(p.relative_to(ROOT / "notebooks")))
def test_notebook_and_text_file_hold_the_same_cells(path):
    differences = pair_differences(path, path.with_suffix(".py"))
    assert not differences, f"run `jupytext --sync {path.relative_to(ROOT)}`:\n" + "\n".join(differences)


def test_an_edit_on_one_side_only_is_caught(tmp_path):
    """The false case: change one line of the text file, retag a cell, or drop a cell."""
    notebook = NOTEBOOKS[0]
    text = notebook.with_suffix(".py").read_text()
    cases = {
        "edited": text.replace("seed = 0", "seed = 1", 1),
        "retagged": text.replace('# %% tags=["parameters"]', "# %%", 1),
        "dropped": text[: text.rindex("\n# %%")] + "\n",
    }
    for name, changed in cases.items():
        assert changed != text, name
        (tmp_path / f"{name}.py").write_text(changed)
        assert pair_differences(notebook, tmp_path / f"{name}.py"), name
