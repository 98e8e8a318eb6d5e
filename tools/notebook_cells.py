"""What the notebook build scripts (tools/build_notebook_NN.py) share: collect cells, write a notebook.

    from notebook_cells import Cells
    nb = Cells()
    nb.md(r'''# Title ...''')
    nb.code('''print(1)''', tag="parameters")
    nb.write("06_measuring_a_face_restorer.ipynb")   # notebooks/<name>, no outputs, stable cell ids
"""

from __future__ import annotations

from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]


class Cells:
    """The cells of one notebook, in order: markdown, or code with an optional tag."""

    def __init__(self):
        self.cells: list[tuple[str, str, str | None]] = []

    def md(self, text: str) -> None:
        self.cells.append(("markdown", text.strip("\n"), None))

    def code(self, text: str, tag: str | None = None) -> None:
        self.cells.append(("code", text.strip("\n"), tag))

    def build(self, prefix: str) -> nbformat.NotebookNode:
        """The notebook, without outputs; cell ids are ``prefix-00``, ``prefix-01``, ... (stable)."""
        nb = nbformat.v4.new_notebook()
        nb.metadata = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                       "language_info": {"name": "python"}}  # fmt: skip
        for i, (kind, source, tag) in enumerate(self.cells):
            cell = nbformat.v4.new_markdown_cell(source) if kind == "markdown" else nbformat.v4.new_code_cell(source)
            if tag:
                cell.metadata["tags"] = [tag]
            cell.id = f"{prefix}-{i:02d}"
            nb.cells.append(cell)
        return nb

    def write(self, name: str) -> Path:
        """Write notebooks/<name> (cell ids from its number: ``nb06-00``, ...) and say so."""
        path = ROOT / "notebooks" / name
        nbformat.write(self.build(f"nb{name[:2]}"), path)
        print(f"wrote {path.relative_to(ROOT)} ({len(self.cells)} cells)")
        return path
