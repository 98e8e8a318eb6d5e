"""Make the student versions of the exercises, as nbgrader's ``generate_assignment`` would.

The instructor versions (``notebooks/exercises/NN_*.ipynb``, each paired with a ``.py`` text file) are
the source. They carry nbgrader's cell markers: a solution cell has ``"solution": true`` in its
``nbgrader`` metadata and wraps the answer in ``### BEGIN SOLUTION`` / ``### END SOLUTION``; a check
cell has ``"grade": true`` and ``"points"``, and may hide tests between ``### BEGIN HIDDEN TESTS`` and
``### END HIDDEN TESTS``. Inside a solution block, each ``### WRONG ANSWER: <name>`` section holds a
plausible wrong answer, commented out: the instructor version documents it, ``tests/test_exercises.py``
substitutes it for the solution and checks that the exercise's check then fails.

A student version (``notebooks/exercises/student/NN_*.ipynb``) has every solution block replaced by
``# YOUR CODE HERE`` and ``raise NotImplementedError()`` (a markdown answer by ``YOUR ANSWER HERE``),
the hidden tests and wrong answers removed, outputs cleared, the check cells locked against editing
(JupyterLab honours ``editable``), and its Colab badge pointing at itself. Its cells' sources are
exactly what ``nbgrader generate_assignment`` 0.9 makes of the same notebook.
Teachers who use nbgrader can run ``nbgrader generate_assignment`` and ``nbgrader autograde`` on the
instructor versions instead (docs/teaching.md).

    python tools/student_versions.py           # write the student versions
    python tools/student_versions.py --check   # exit 1 if a committed student version is out of date
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
EXERCISES = ROOT / "notebooks" / "exercises"
STUDENT = EXERCISES / "student"

_SOLUTION = re.compile(r"^([ \t]*)### BEGIN SOLUTION[ \t]*\n(.*?)^[ \t]*### END SOLUTION[ \t]*(\n|$)", re.M | re.S)
_HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS[ \t]*\n.*?^[ \t]*### END HIDDEN TESTS[ \t]*(\n|$)", re.M | re.S)
_WRONG = re.compile(r"^[ \t]*### WRONG ANSWER: *(.+?)[ \t]*(?:\n|\Z)", re.M)


def nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def solution_parts(block: str) -> tuple[str, dict[str, str]]:
    """A solution block's text split into the right answer and the named wrong ones (uncommented)."""
    pieces = _WRONG.split(block)
    right, wrong = pieces[0], {}
    for name, text in zip(pieces[1::2], pieces[2::2]):
        wrong[name] = re.sub(r"^([ \t]*)# ?", r"\1", text, flags=re.M)
    return right, wrong


def wrong_answers(source: str) -> dict[str, str]:
    """Each named wrong answer of a solution cell, as the cell's whole source with that answer in place
    of the solution (markers removed), ready to run."""
    found = {}
    for match in _SOLUTION.finditer(source):
        for name, text in solution_parts(match.group(2))[1].items():
            found[name] = source[: match.start()] + text + source[match.end() :]
    return found


def with_solutions(source: str) -> str:
    """A solution cell's source with its solution in place and the markers and wrong answers removed."""
    return _SOLUTION.sub(lambda m: solution_parts(m.group(2))[0], source)


def student_source(cell) -> str:
    meta, source = nbgrader(cell), cell["source"]
    if meta.get("solution"):
        if cell["cell_type"] == "markdown":  # as nbgrader: the marked part, or the whole cell
            if not _SOLUTION.search(source):
                return "YOUR ANSWER HERE"
            return _SOLUTION.sub("YOUR ANSWER HERE\n", source).rstrip("\n")
        if not _SOLUTION.search(source):  # nbgrader replaces a solution cell without markers whole
            return "# YOUR CODE HERE\nraise NotImplementedError()"
        return _SOLUTION.sub(
            lambda m: f"{m.group(1)}# YOUR CODE HERE\n{m.group(1)}raise NotImplementedError(){m.group(3)}", source
        )
    if meta.get("grade"):
        return _HIDDEN.sub("", source).rstrip("\n")
    return source


def student_version(nb, name: str):
    """The student version of an instructor notebook (an nbformat notebook) called ``name``."""
    out = copy.deepcopy(nb)
    for cell in out.cells:
        cell["source"] = student_source(cell)
        meta = nbgrader(cell)
        if meta.get("solution") or meta.get("grade"):  # as nbgrader: an exercise's cells cannot be deleted,
            cell.metadata["deletable"] = False  # and its locked cells (the checks) cannot be edited
            if meta.get("locked"):
                cell.metadata["editable"] = False
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
        cell["source"] = cell["source"].replace(
            f"notebooks/exercises/{name}", f"notebooks/exercises/student/{name}"
        )  # the Colab badge opens this version
    out.metadata.pop("jupytext", None)  # the student version has no paired text file
    return out


def instructor_notebooks() -> list[Path]:
    return sorted(EXERCISES.glob("[0-9][0-9]_*.ipynb"))


def render(nb) -> str:
    return nbformat.writes(nb) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="only check that the committed student versions are current")
    args = p.parse_args(argv)
    stale = []
    for path in instructor_notebooks():
        text = render(student_version(nbformat.read(path, as_version=4), path.name))
        target = STUDENT / path.name
        if args.check:
            if not target.is_file() or target.read_text() != text:
                stale.append(str(target))
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        print(f"{path.relative_to(ROOT)} -> {target.relative_to(ROOT)}")
    if stale:
        print("out of date (run `python tools/student_versions.py`):\n  " + "\n  ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
