"""`lafr restore`: files and folders in, one PNG per input (at the input's size) out; a bad file is
named and skipped and the command ends non-zero; nothing is overwritten; the output folder may not
be an input folder."""

import pytest
import torch
from PIL import Image

from lafr import adapter as adapter_mod, data, models, pipeline
from lafr.cli import main
from lafr.synthetic import synthetic_face


@pytest.fixture(scope="module")
def system(tmp_path_factory):
    folder = tmp_path_factory.mktemp("system")
    adapter = adapter_mod.load_trained_adapter("lafr-toy-adapter")[0].eval()
    pipeline.LAFRPipeline.from_base(models.load_base(models.TOY_NAME), 249, 64, adapter=adapter).save_pretrained(folder)
    return str(folder)


@pytest.fixture
def inputs(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    data.save_image(synthetic_face(0, 100_000, 64)[0], folder / "a.png")
    Image.fromarray(data.to_uint8(synthetic_face(0, 100_001, 100)[0][:, :, 10:90])).save(folder / "b.jpg")
    (folder / "broken.png").write_bytes(b"not an image at all")
    (folder / "notes.txt").write_text("not an image, and not named like one: ignored")
    single = tmp_path / "c.png"
    data.save_image(synthetic_face(0, 100_002, 48)[0], single)
    return folder, single


def test_restores_files_and_folders_and_skips_a_bad_file(system, inputs, tmp_path, capsys):
    folder, single = inputs
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    out = tmp_path / "out"
    assert main(["restore", str(folder), str(single), "-o", str(out), "--model", system, "--batch-size", "2"]) == 1
    err = capsys.readouterr().err
    assert "broken.png" in err and "skipped" in err
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.png", "c.png"]
    assert Image.open(out / "b.png").size == (80, 100) and Image.open(out / "c.png").size == (48, 48)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before  # inputs untouched
    restored = data.load_image(out / "a.png")
    assert 20 < float(data.to_uint8(restored).mean()) < 235 and restored.std() > 0.05  # a picture, not a blank


def test_refuses_to_overwrite_anything(system, inputs, tmp_path, capsys):
    folder, single = inputs
    assert main(["restore", str(folder), "-o", str(folder), "--model", system]) == 2
    assert "no input can be overwritten" in capsys.readouterr().err
    out = tmp_path / "out"
    out.mkdir()
    (out / "c.png").write_bytes(b"keep me")
    assert main(["restore", str(single), "-o", str(out), "--model", system]) == 2
    assert "--overwrite" in capsys.readouterr().err and (out / "c.png").read_bytes() == b"keep me"
    other = tmp_path / "other"
    other.mkdir()
    data.save_image(torch.rand(3, 16, 16), other / "a.jpg")
    assert (
        main(["restore", str(folder / "a.png"), str(other / "a.jpg"), "-o", str(tmp_path / "o2"), "--model", system])
        == 2
    )
    assert "same file" in capsys.readouterr().err


def test_missing_model_and_inputs_are_one_message(inputs, tmp_path, capsys):
    folder, _ = inputs
    assert main(["restore", str(folder), "-o", str(tmp_path / "o"), "--model", str(tmp_path / "nothing")]) == 2
    assert "lafr train-lora" in capsys.readouterr().err
    assert main(["restore", str(tmp_path / "missing.png"), "-o", str(tmp_path / "o")]) == 2
    assert "no such file" in capsys.readouterr().err
