import subprocess
import os
import sys
from pathlib import Path

import nbformat
import pytest

from lafr import cli


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    for command in ("tour", "profile", "pretrain-toy"):
        assert command in out


def test_console_script_installed():
    script = Path(sys.executable).parent / "lafr"
    out = subprocess.run([str(script), "--help"], capture_output=True, text=True, check=True).stdout
    assert "tour" in out and "profile" in out


def test_profile_command(capsys):
    assert cli.main(["profile", "tiny"]) == 0
    out = capsys.readouterr().out
    assert "adapter_hidden" in out and "(paper: 256)" in out and "Sec. 3.1" in out


def _notebook(path, body):
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("profile = None")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(body)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


def test_tour_runs_notebooks_and_fails_on_a_failing_one(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("LAFR_PROFILE", raising=False)
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    _notebook(nbs / "01_ok.ipynb", "import os\nassert profile == 'tiny' and os.environ['LAFR_PROFILE'] == 'tiny'")
    _notebook(nbs / "02_bad.ipynb", "assert 1 + 1 == 3, 'arithmetic broke'")
    out = tmp_path / "out"
    code = cli.main(["tour", "--notebooks-dir", str(nbs), "--out", str(out), "--profile", "tiny"])
    text = capsys.readouterr().out
    assert code == 1
    assert "01_ok.ipynb" in text and "passed" in text and "02_bad.ipynb" in text and "FAILED" in text
    assert "1 passed, 1 failed" in text
    assert (out / "01_ok.ipynb").exists() and not list(nbs.glob("*-out*"))
    assert "LAFR_PROFILE" not in os.environ  # restored after the tour
    assert cli.main(["tour", str(nbs / "01_ok.ipynb"), "--out", str(out)]) == 0
