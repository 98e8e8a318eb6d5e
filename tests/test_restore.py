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
    assert (
        main(["restore", "--aligned", str(folder), str(single), "-o", str(out), "--model", system, "--batch-size", "2"])
        == 1
    )
    err = capsys.readouterr().err
    assert "broken.png" in err and "skipped" in err
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.png", "c.png"]
    assert Image.open(out / "b.png").size == (80, 100) and Image.open(out / "c.png").size == (48, 48)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before  # inputs untouched
    restored = data.load_image(out / "a.png")
    assert 20 < float(data.to_uint8(restored).mean()) < 235 and restored.std() > 0.05  # a picture, not a blank


def test_refuses_to_overwrite_anything(system, inputs, tmp_path, capsys):
    folder, single = inputs
    assert main(["restore", "--aligned", str(folder), "-o", str(folder), "--model", system]) == 2
    assert "no input can be overwritten" in capsys.readouterr().err
    out = tmp_path / "out"
    out.mkdir()
    (out / "c.png").write_bytes(b"keep me")
    assert main(["restore", "--aligned", str(single), "-o", str(out), "--model", system]) == 2
    assert "--overwrite" in capsys.readouterr().err and (out / "c.png").read_bytes() == b"keep me"
    other = tmp_path / "other"
    other.mkdir()
    data.save_image(torch.rand(3, 16, 16), other / "a.jpg")
    assert (
        main(
            [
                "restore",
                "--aligned",
                str(folder / "a.png"),
                str(other / "a.jpg"),
                "-o",
                str(tmp_path / "o2"),
                "--model",
                system,
            ]
        )
        == 2
    )
    assert "same file" in capsys.readouterr().err


def test_missing_model_and_inputs_are_one_message(inputs, tmp_path, capsys):
    folder, _ = inputs
    assert (
        main(["restore", "--aligned", str(folder), "-o", str(tmp_path / "o"), "--model", str(tmp_path / "nothing")])
        == 2
    )
    assert "lafr train-lora" in capsys.readouterr().err
    assert main(["restore", "--aligned", str(tmp_path / "missing.png"), "-o", str(tmp_path / "o")]) == 2
    assert "no such file" in capsys.readouterr().err


@pytest.fixture
def photo_folder(tmp_path):
    """Whole photos as a user has them: two portraits (one stored grey, one with transparency), an
    aligned face crop, a photo without a face, and a file that is no image."""
    import numpy as np

    from lafr import photos

    folder = tmp_path / "photos"
    folder.mkdir()
    portraits = data.packaged_portraits()
    grace = portraits["grace_hopper"].permute(1, 2, 0).numpy()
    astronaut = portraits["astronaut"].permute(1, 2, 0).numpy()
    Image.fromarray(data.to_uint8(torch.from_numpy(grace).permute(2, 0, 1))).convert("L").save(folder / "grace.jpg")
    rgba = np.concatenate([astronaut, np.linspace(0.2, 1, 512, dtype=np.float32)[None, :, None].repeat(512, 0)], -1)
    Image.fromarray((rgba * 255 + 0.5).astype(np.uint8), "RGBA").save(folder / "astronaut.png")
    face = photos.find_faces(grace)[0]
    crop = photos.cut_face(grace, photos.crop_matrix(face.quad, 256), 256)
    data.save_photo(crop, folder / "aligned.png")
    data.save_image(data.packaged_natural_photos()["coffee"], folder / "coffee.png")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    return folder


def test_whole_photos_come_back_with_each_face_restored_in_their_own_form(system, photo_folder, tmp_path, capsys):
    import numpy as np

    out = tmp_path / "out"
    before = {p.name: p.read_bytes() for p in photo_folder.iterdir()}
    assert main(["restore", str(photo_folder), "-o", str(out), "--model", system]) == 1  # the broken file
    said = capsys.readouterr()
    assert "broken.jpg" in said.err and "skipped" in said.err
    assert "astronaut.png: 1 face found, 1 restored" in said.out and "grace.jpg: 1 face found, 1 restored" in said.out
    assert "aligned.png: 1 face found, 1 restored" in said.out
    assert "coffee.png: no face found; written unchanged" in said.out
    finals = out / "final_results"
    assert sorted(p.name for p in finals.iterdir()) == ["aligned.png", "astronaut.png", "coffee.png", "grace.png"]
    for sub in ("cropped_faces", "restored_faces", "cmp"):
        assert sorted(p.name for p in (out / sub).iterdir()) == ["aligned_00.png", "astronaut_00.png", "grace_00.png"]
    assert Image.open(out / "cmp" / "grace_00.png").size == (128, 64)  # crop | restored, the toy's 64 px
    assert Image.open(finals / "grace.png").mode == "L"  # grey stays grey
    restored_rgba = Image.open(finals / "astronaut.png")
    assert restored_rgba.mode == "RGBA" and restored_rgba.size == (512, 512)
    alpha_in = np.asarray(Image.open(photo_folder / "astronaut.png"))[..., 3]
    assert np.array_equal(np.asarray(restored_rgba)[..., 3], alpha_in)  # transparency kept as it was
    astronaut_in = np.asarray(Image.open(photo_folder / "astronaut.png"))[..., :3].astype(int)
    changed = np.abs(np.asarray(restored_rgba)[..., :3].astype(int) - astronaut_in).max(-1) > 2
    ys, xs = np.nonzero(changed)
    assert changed.any() and 20 < ys.mean() < 200 and 150 < xs.mean() < 300  # the face changed, around it did not
    assert not changed[300:, :].any() and not changed[:, 400:].any()
    coffee_in = data.load_image(photo_folder / "coffee.png")
    assert torch.equal(data.load_image(finals / "coffee.png"), coffee_in)
    assert {p.name: p.read_bytes() for p in photo_folder.iterdir()} == before  # inputs untouched
    # a second run overwrites nothing, and says so
    assert main(["restore", str(photo_folder), "-o", str(out), "--model", system]) == 2
    assert "--overwrite" in capsys.readouterr().err
    for p in finals.iterdir():  # only the faces of an earlier run are left: still nothing is overwritten
        p.unlink()
    assert main(["restore", str(photo_folder), "-o", str(out), "--model", system]) == 2
    assert "cropped_faces" in capsys.readouterr().err and not any(finals.iterdir())


def test_upscale_and_only_center_face(system, tmp_path, capsys):
    import numpy as np

    photo = data.packaged_portraits()["astronaut"].permute(1, 2, 0).numpy()
    card = np.concatenate([photo, photo], axis=1)  # two faces, the second nearer the centre
    data.save_photo(card, tmp_path / "in" / "two.png")
    out = tmp_path / "out"
    args = ["restore", str(tmp_path / "in"), "-o", str(out), "--model", system, "--upscale", "2", "--only-center-face"]
    assert main(args) == 0
    said = capsys.readouterr().out
    assert "two.png: 2 faces found, 1 restored; left out: face 00 at (225, 103): not the centre face" in said, said
    assert Image.open(out / "final_results" / "two.png").size == (2048, 1024)
    assert sorted(p.name for p in (out / "restored_faces").iterdir()) == ["two_01.png"]
    assert main(["restore", str(tmp_path / "in"), "-o", str(tmp_path / "o2"), "--model", system, "--upscale", "0"]) == 2
    assert "--upscale" in capsys.readouterr().err
    # --overwrite replaces an earlier run's faces of the same photo: none is left behind
    assert main([*args[:-3], "--overwrite"]) == 0  # both faces
    assert sorted(p.name for p in (out / "restored_faces").iterdir()) == ["two_00.png", "two_01.png"]
    assert main([*args, "--overwrite"]) == 0  # the centre face only
    assert sorted(p.name for p in (out / "restored_faces").iterdir()) == ["two_01.png"]
    # options for whole photos are refused with --aligned rather than ignored
    assert main(["restore", "--aligned", str(tmp_path / "in"), "-o", str(tmp_path / "o3"), "--upscale", "2"]) == 2
    assert "--upscale: for whole photos" in capsys.readouterr().err
