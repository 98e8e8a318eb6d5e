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
