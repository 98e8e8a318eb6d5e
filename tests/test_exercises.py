"""The exercises (notebooks/exercises/): every chapter has some, the student versions are generated from
the instructor versions and committed up to date, a student version fails at its exercises and only
there (``NotImplementedError``), and the instructor version passes every check, hidden tests included,
while every plausible wrong answer it names fails its check.  (nbval leaves the exercises to these
tests: notebooks/conftest.py.)"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("student_versions", ROOT / "tools" / "student_versions.py")
sv = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sv)

INSTRUCTOR = sv.instructor_notebooks()
CHAPTERS = sorted(ROOT.glob("notebooks/[0-9][0-9]_*.ipynb"))


def checks(nb) -> list:
    return [c for c in nb.cells if c.cell_type == "code" and sv.nbgrader(c).get("grade")]


def test_every_exercise_notebook_has_a_text_file_and_at_least_two_checked_exercises():
    assert INSTRUCTOR, "no exercises in notebooks/exercises/"
    for path in INSTRUCTOR:
        assert path.with_suffix(".py").is_file(), f"{path.name}: no paired text file"
        chapter = path.name[:2]
        assert any(c.name.startswith(chapter) for c in CHAPTERS), f"{path.name}: no chapter {chapter}"
        assert len(checks(nbformat.read(path, as_version=4))) >= 2, path.name


def test_student_versions_are_generated_from_the_instructor_versions_and_hold_no_solution():
    assert sv.main(["--check"]) == 0, "run `python tools/student_versions.py` and commit the result"
    students = sorted(sv.STUDENT.glob("*.ipynb"))
    assert [p.name for p in students] == [p.name for p in INSTRUCTOR], "a student version without its instructor's"
    for path in students:
        text = path.read_text()
        for secret in ("BEGIN SOLUTION", "END SOLUTION", "HIDDEN TESTS", "WRONG ANSWER"):
            assert secret not in text, (path.name, secret)
        assert f"notebooks/exercises/student/{path.name}" in text, f"{path.name}: its Colab badge opens another file"


def test_a_stale_student_version_is_caught(tmp_path, monkeypatch):
    """The false case of the first check: a student version edited by hand (or not regenerated)."""
    copy = tmp_path / "student"
    copy.mkdir()
    for path in sv.STUDENT.glob("*.ipynb"):
        (copy / path.name).write_text(path.read_text().replace("YOUR CODE HERE", "YOUR CODE HER", 1))
    monkeypatch.setattr(sv, "STUDENT", copy)
    assert sv.main(["--check"]) == 1


def test_the_student_version_of_a_cell():
    """nbgrader's rules, on one cell of each kind."""
    solution = nbformat.v4.new_code_cell(
        "def f(x):\n    ### BEGIN SOLUTION\n    return x + 1\n    ### WRONG ANSWER: off by one\n    # return x\n"
        "    ### END SOLUTION\n",
        metadata={"nbgrader": {"solution": True, "grade": False, "grade_id": "a"}},
    )
    assert sv.student_source(solution) == "def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()\n"
    assert sv.wrong_answers(solution.source) == {"off by one": "def f(x):\n    return x\n"}
    assert sv.with_solutions(solution.source) == "def f(x):\n    return x + 1\n"
    check = nbformat.v4.new_code_cell(
        "assert f(1) == 2\n### BEGIN HIDDEN TESTS\nassert f(2) == 3\n### END HIDDEN TESTS\nprint('ok')",
        metadata={"nbgrader": {"grade": True, "solution": False, "grade_id": "b", "points": 1}},
    )
    assert sv.student_source(check) == "assert f(1) == 2\nprint('ok')"
    answer = nbformat.v4.new_markdown_cell(
        "Why?\n\n### BEGIN SOLUTION\nBecause.\n### END SOLUTION",
        metadata={"nbgrader": {"grade": True, "solution": True, "grade_id": "c", "points": 1}},
    )
    assert sv.student_source(answer) == "Why?\n\nYOUR ANSWER HERE"


def _client(nb, path: Path, **kw) -> NotebookClient:
    return NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}, **kw
    )


@pytest.mark.parametrize("path", INSTRUCTOR, ids=lambda p: p.name)
def test_a_student_version_fails_at_its_exercises_and_nowhere_else(path):
    student = sv.STUDENT / path.name
    nb = nbformat.read(student, as_version=4)
    _client(nb, student, allow_errors=True).execute()  # outputs go to this copy, not to the file
    errors = {}
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                errors[i] = out["ename"]
    graded = {i for i, c in enumerate(nb.cells) if c.cell_type == "code" and sv.nbgrader(c).get("grade")}
    assert set(errors) == graded, f"errors in cells {sorted(errors)}, check cells {sorted(graded)}: {errors}"
    assert set(errors.values()) == {"NotImplementedError"}, errors


@pytest.mark.parametrize("path", INSTRUCTOR, ids=lambda p: p.name)
def test_every_named_wrong_answer_fails_its_check(path):
    """The instructor version runs top to bottom in one kernel, every cell passing (the checks with
    their hidden tests); at each solution cell, every wrong answer it names is run in the solution's
    place, then the exercise's check, which must fail with an assertion; then the solution is run
    again, for the cells that follow."""
    nb = nbformat.read(path, as_version=4)
    client = _client(nb, path)
    tried = 0
    with client.setup_kernel():
        cells = nb.cells
        for i, cell in enumerate(cells):
            meta = sv.nbgrader(cell)
            if cell.cell_type != "code":
                continue
            client.execute_cell(cell, i)
            if not meta.get("solution"):
                continue
            check_index = next(
                k
                for k in range(i + 1, len(cells))
                if cells[k].cell_type == "code" and sv.nbgrader(cells[k]).get("grade")
            )
            check = cells[check_index]
            assert check.metadata["nbgrader"]["grade_id"].startswith(meta["grade_id"]), (meta, check.metadata)
            for name, source in sv.wrong_answers(cell.source).items():
                wrong = nbformat.v4.new_code_cell(source)
                client.execute_cell(wrong, i)
                with pytest.raises(CellExecutionError) as failed:
                    client.execute_cell(nbformat.v4.new_code_cell(check.source), check_index)
                assert "AssertionError" in str(failed.value), (name, str(failed.value)[-800:])
                tried += 1
            client.execute_cell(cell, i)  # the right answer again, for the cells that follow
    assert tried >= 2, f"{path.name}: name at least two plausible wrong answers"


def test_the_readme_and_the_teachers_guide_show_every_chapters_exercises():
    readme, guide = (ROOT / "README.md").read_text(), (ROOT / "docs" / "teaching.md").read_text()
    assert "](docs/teaching.md)" in readme, "the README links the teacher's guide"
    for path in INSTRUCTOR:
        assert f"(notebooks/exercises/{path.name})" in readme and f"(notebooks/exercises/student/{path.name})" in readme
        chapter = path.name[:2]
        numbers = re.findall(r"grade_id\": \"ex(\d)_(\d)\"", path.read_text())
        for n, m in sorted(set(numbers)):
            assert f"{n}.{m} " in guide, f"docs/teaching.md: no exercise {n}.{m}"
        assert re.search(rf"^\| {chapter} ", guide, re.M), f"docs/teaching.md: no row for chapter {chapter}"
