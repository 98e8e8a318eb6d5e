"""Lint and format: ``ruff check`` and ``ruff format --check`` pass on the repository, configured in
pyproject.toml (``[tool.ruff]``: lafr/, tests/, tools/, benchmarks/ and the notebooks' text files).
Fix a finding with ``ruff check --fix .`` and ``ruff format .`` (README, "Contributing")."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _ruff(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ruff", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_ruff_finds_nothing():
    run = _ruff("check", ".")
    assert run.returncode == 0, run.stdout + run.stderr


def test_every_file_is_formatted():
    run = _ruff("format", "--check", ".")
    assert run.returncode == 0, run.stdout + run.stderr


def test_a_finding_and_an_unformatted_file_are_caught(tmp_path):
    """The false cases, under the repository's own configuration: an unused import, a line over 120
    characters, and a file ruff would reformat."""
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    (tmp_path / "unused.py").write_text("import os\n")
    (tmp_path / "long.py").write_text(f"x = {'1 + ' * 40}1\n# {'a' * 130}\n")
    (tmp_path / "messy.py").write_text("x = {  'a':1 }\n")
    assert "F401" in _ruff("check", "unused.py", cwd=tmp_path).stdout
    assert "E501" in _ruff("check", "long.py", cwd=tmp_path).stdout
    assert _ruff("format", "--check", "messy.py", cwd=tmp_path).returncode == 1
    assert _ruff("format", "--check", "unused.py", cwd=tmp_path).returncode == 0  # formatted; only its lint fails


def long_code_lines(text_file: Path, limit: int = 120) -> list[str]:
    """Lines over ``limit`` characters in a notebook's code cells (read with jupytext).  Only
    markdown cells may be longer (their tables and links cannot wrap), which is why ruff's E501 is
    off for notebooks/*.py."""
    import jupytext

    cells = jupytext.read(text_file).cells
    return [
        f"{text_file.name}, cell {i}: {line[:60]}..."
        for i, cell in enumerate(cells)
        if cell.cell_type == "code"
        for line in cell.source.splitlines()
        if len(line) > limit
    ]


def test_notebook_code_keeps_the_line_length(tmp_path):
    found = [line for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py")) for line in long_code_lines(path)]
    assert not found, "\n".join(found)
    false_case = tmp_path / "nb.py"  # a long markdown line passes; a long code line does not
    false_case.write_text(f"# %% [markdown]\n# {'word ' * 40}\n\n# %%\nx = {'1 + ' * 40}1\n")
    found = long_code_lines(false_case)
    assert len(found) == 1 and found[0].startswith("nb.py, cell 1: x = 1 + 1")
