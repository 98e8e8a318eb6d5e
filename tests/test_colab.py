"""The repository's address lives in one place (lafr.REPOSITORY): every Colab badge and setup cell
must be made from it, by tools/notebook_setup.py."""

import importlib.util
import re
import shutil
import subprocess
import sys
import types
from pathlib import Path

import nbformat
import pytest

import lafr

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("notebook_setup", ROOT / "tools" / "notebook_setup.py")
tool = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tool)
NOTEBOOKS = tool.notebooks(ROOT)  # the chapters, then the exercises (instructor and student versions)
CHAPTERS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _setup_cell(nb):
    cells = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith(tool.SETUP_MARK)]
    assert len(cells) == 1
    return cells[0]


def test_address_helpers():
    lafr_url = f"https://github.com/{lafr.REPOSITORY}"
    assert lafr.repository_url() == lafr_url
    assert lafr.pip_requirement() == f"lafr @ git+{lafr_url}@{lafr.BRANCH}"
    assert lafr.pip_requirement(("faces",)) == f"lafr[faces] @ git+{lafr_url}@{lafr.BRANCH}"
    assert lafr.colab_url("01_x.ipynb") == (
        f"https://colab.research.google.com/github/{lafr.REPOSITORY}/blob/{lafr.BRANCH}/notebooks/01_x.ipynb"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: tool.notebook_name(p))
def test_notebook_badge_and_setup_cell_come_from_the_constant(path):
    nb, name = nbformat.read(path, as_version=4), tool.notebook_name(path)
    assert tool.COLAB_LINK.findall(nb.cells[0].source) == [name]  # one badge, to this notebook
    assert lafr.colab_url(name) in nb.cells[0].source
    setup = _setup_cell(nb)
    assert setup.source == tool.setup_source(name), "run `python tools/notebook_setup.py`"
    assert f'"{lafr.pip_requirement(tool.EXTRAS.get(name, ()))}"' in setup.source
    for cell in nb.cells:  # no other copy of an address anywhere in the notebook
        for link in tool.COLAB_LINK.finditer(cell.source):
            assert link.group(0) == lafr.colab_url(name)
        for repo in re.findall(r"git\+https://github\.com/([\w.-]+/[\w.-]+?)(?:@|\"|$)", cell.source):
            assert repo == lafr.REPOSITORY


def test_extras_table_names_existing_notebooks():
    assert set(tool.EXTRAS) <= {tool.notebook_name(p) for p in NOTEBOOKS}


def test_notebook_names_are_paths_under_notebooks():
    assert tool.notebook_name(ROOT / "notebooks" / "01_x.ipynb") == "01_x.ipynb"
    assert (
        tool.notebook_name(ROOT / "notebooks" / "exercises" / "student" / "01_e.py") == "exercises/student/01_e.ipynb"
    )
    assert len(NOTEBOOKS) > len(CHAPTERS) >= 7


def test_readme_badges_come_from_the_constant():
    lines = [
        line for line in (ROOT / "README.md").read_text().splitlines() if "colab.research.google.com/github" in line
    ]
    badges = {m.group(1) for line in lines for m in tool.COLAB_LINK.finditer(line)}
    assert {p.name for p in CHAPTERS} <= badges <= {tool.notebook_name(p) for p in NOTEBOOKS}  # every chapter
    for line in lines:
        for link in tool.COLAB_LINK.finditer(line):
            name = link.group(1)
            assert link.group(0) == lafr.colab_url(name)
            assert f"(notebooks/{name})" in line  # the badge opens the notebook its row links to


def _run_setup(monkeypatch, colab: bool, returncode: int = 0, stderr: str = ""):
    """exec the generated setup cell with pip replaced by a recorder; returns pip's calls."""
    calls = []

    def fake_run(cmd, **kwargs):
        calls.append(cmd)
        return subprocess.CompletedProcess(cmd, returncode, "", stderr)

    monkeypatch.setattr(subprocess, "run", fake_run)
    if colab:
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    exec(tool.setup_source(NOTEBOOKS[0].name), {})
    return calls


def test_setup_cell_does_nothing_outside_colab(monkeypatch):
    assert _run_setup(monkeypatch, colab=False) == []


def test_setup_cell_on_colab_installs_lafr_and_explains_a_failure(monkeypatch):
    calls = _run_setup(monkeypatch, colab=True)
    assert calls == [[sys.executable, "-m", "pip", "install", "-q", lafr.pip_requirement()]]
    with pytest.raises(RuntimeError) as e:
        _run_setup(monkeypatch, colab=True, returncode=1, stderr="fatal: repository not found")
    message = str(e.value)
    assert lafr.pip_requirement() in message and "repository not found" in message
    assert "pip install -e" in message and "`requirement`" in message


def test_tool_rewrites_badges_and_setup_cells_keeping_cell_ids(tmp_path):
    import jupytext

    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks")
    readme = (ROOT / "README.md").read_text()
    (tmp_path / "README.md").write_text(readme.replace(lafr.REPOSITORY, "someone/old"))
    path = tmp_path / "notebooks" / NOTEBOOKS[0].name
    text = path.with_suffix(".py")
    original_text = text.read_text()
    nb = nbformat.read(path, as_version=4)
    expected = [
        (c.id, tool.setup_source(path.name) if c.source.startswith(tool.SETUP_MARK) else c.source) for c in nb.cells
    ]
    for old in (nb, paired := jupytext.read(text)):  # both sides of the pair hold an old address
        old.cells[0].source = old.cells[0].source.replace(lafr.colab_url(path.name), lafr.colab_url("99_other.ipynb"))
        _setup_cell(old).source = tool.SETUP_MARK + " (old)\nimport sys"
    nbformat.write(nb, path)
    jupytext.write(paired, text, fmt="py:percent")
    assert text.read_text() != original_text

    assert tool.main(["--root", str(tmp_path)]) == 0
    assert [(c.id, c.source) for c in nbformat.read(path, as_version=4).cells] == expected
    assert text.read_text() == original_text  # the text file, header included, exactly as committed
    assert (tmp_path / "README.md").read_text() == readme
    assert tool.update_notebook(path) is False  # a second run changes nothing


def test_keep_on_drive_points_runs_and_caches_into_one_folder(tmp_path, monkeypatch):
    """What the setup cell does on Colab with keep_on_drive = True (here without mounting Drive)."""
    for name in ("LAFR_CACHE", "HF_HOME", "TORCH_HOME"):
        monkeypatch.setenv(name, "unset")
    work, drive = tmp_path / "content", tmp_path / "drive"
    work.mkdir()
    got = lafr.keep_on_drive(str(drive), mount=False, cwd=str(work))
    assert got["LAFR_CACHE"] == str(drive / "cache") == __import__("os").environ["LAFR_CACHE"]
    assert (work / "runs").is_symlink() and (work / "runs").resolve() == (drive / "runs").resolve()
    (work / "runs" / "stage2").mkdir()
    assert lafr.keep_on_drive(str(drive), mount=False, cwd=str(work)) == got  # a second call, a new session
    assert (drive / "runs" / "stage2").is_dir()
    other = tmp_path / "elsewhere"
    (other / "runs").mkdir(parents=True)
    (other / "runs" / "kept.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="is not a link to.*nothing was changed"):
        lafr.keep_on_drive(str(drive), mount=False, cwd=str(other))
    assert (other / "runs" / "kept.txt").read_text() == "mine"
