"""`lafr evaluate`: a table and a CSV for a restored folder, with and without ground truth; clear
errors for files that do not pair, unreadable images and an existing CSV."""

import csv

import pytest

from lafr import cli, data
from lafr.synthetic import synthetic_face

pytest.importorskip("dlib", reason="dlib-bin is not installed (pip install dlib-bin face-recognition-models)")


@pytest.fixture
def folders(tmp_path):
    gt, restored = tmp_path / "gt", tmp_path / "restored"
    for i in range(3):
        face = synthetic_face(0, 100_000 + i, size=64)[0]
        data.save_image(face, gt / f"face{i}.png")
        data.save_image(
            (face * 0.8 + 0.1).clamp(0, 1), restored / f"face{i}.jpg" if i == 0 else restored / f"face{i}.png"
        )
    return gt, restored


def test_with_ground_truth_every_full_reference_metric_is_measured(folders, tmp_path, capsys):
    gt, restored = folders
    out = tmp_path / "results.csv"
    assert cli.main(["evaluate", str(restored), "--gt", str(gt), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "| method | PSNR" in printed and "Deg." in printed and "LMD" in printed
    assert "Not measured:" in printed and "LPIPS" in printed.split("Not measured:")[1]  # offline: named, with why
    rows = list(csv.DictReader(open(out)))
    assert [r["image"] for r in rows] == ["face0", "face1", "face2", "mean", "network"]
    assert all(float(r["psnr"]) < 40 for r in rows[:4]) and "deg" in rows[0] and "lpips" not in rows[0]
    assert "dlib" in rows[-1]["deg"] and "68-point" in rows[-1]["lmd"]  # every column names its network


def test_without_ground_truth_only_no_reference_metrics(folders, tmp_path, capsys):
    _, restored = folders
    assert cli.main(["evaluate", str(restored), "--out", str(tmp_path / "nr.csv")]) == 0
    header = open(tmp_path / "nr.csv").readline().strip().split(",")
    assert header[0] == "image" and "psnr" not in header and "piqe" in header
    assert cli.main(["evaluate", str(restored), "--metrics", "psnr", "--out", str(tmp_path / "x.csv")]) == 2
    assert "needs ground truth" in capsys.readouterr().err


def test_files_that_do_not_pair_are_all_listed(folders, tmp_path, capsys):
    gt, restored = folders
    (gt / "face1.png").rename(gt / "other.png")
    data.save_image(synthetic_face(0, 5)[0], gt / "extra.png")
    assert cli.main(["evaluate", str(restored), "--gt", str(gt), "--out", str(tmp_path / "r.csv")]) == 2
    err = capsys.readouterr().err
    assert "no ground truth for face1" in err and "nothing restored for extra, other" in err
    assert not (tmp_path / "r.csv").exists()


def test_unreadable_images_are_named_and_nothing_is_written(folders, tmp_path, capsys):
    gt, restored = folders
    (restored / "face2.png").write_bytes(b"not an image")
    assert cli.main(["evaluate", str(restored), "--gt", str(gt), "--out", str(tmp_path / "r.csv")]) == 2
    assert "face2.png" in capsys.readouterr().err and not (tmp_path / "r.csv").exists()


def test_an_existing_csv_is_not_overwritten(folders, tmp_path, capsys):
    gt, restored = folders
    out = tmp_path / "r.csv"
    out.write_text("keep me")
    assert cli.main(["evaluate", str(restored), "--gt", str(gt), "--metrics", "psnr", "--out", str(out)]) == 2
    assert out.read_text() == "keep me" and "--overwrite" in capsys.readouterr().err
    assert (
        cli.main(["evaluate", str(restored), "--gt", str(gt), "--metrics", "psnr", "--out", str(out), "--overwrite"])
        == 0
    )
    assert out.read_text().startswith("image,psnr") and "\nnetwork," in out.read_text()


def test_ambiguous_names_mismatched_sizes_and_nothing_measurable_are_errors(folders, tmp_path, capsys):
    gt, restored = folders
    data.save_image(synthetic_face(0, 9)[0], restored / "face1.jpg")  # face1.png and face1.jpg
    assert cli.main(["evaluate", str(restored), "--gt", str(gt), "--out", str(tmp_path / "a.csv")]) == 2
    assert "face1.jpg and face1.png" in capsys.readouterr().err
    (restored / "face1.jpg").unlink()
    import torch.nn.functional as F

    for i in (1, 2):
        small = F.interpolate(synthetic_face(0, 100_000 + i)[0][None], size=32)[0]
        data.save_image(small, restored / f"face{i}.png", overwrite=True)
    assert cli.main(["evaluate", str(restored), "--gt", str(gt), "--out", str(tmp_path / "b.csv")]) == 2
    err = capsys.readouterr().err
    assert (
        "2 pair(s) differ in size" in err
        and "face1: restored (32, 32), ground truth (64, 64)" in err
        and "face2" in err
    )
    _, restored2 = folders
    assert (
        cli.main(["evaluate", str(gt), "--metrics", "lmd_true", "--gt", str(gt), "--out", str(tmp_path / "c.csv")]) == 2
    )
    assert "no metric could be measured" in capsys.readouterr().err and not (tmp_path / "c.csv").exists()
