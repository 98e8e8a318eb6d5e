"""The bad-input matrix of load_image, and the formats and modes it must accept."""

import struct
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from lafr import data
from lafr.data import FaceFolder, ImageError, load_folder, load_image, save_image, scan_folder


def _rgb(h=40, w=30):
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


# ---- bad input: each gets an ImageError that names the file and the problem ----------------------


def _expect(path, pattern):
    with pytest.raises(ImageError) as e:
        load_image(path)
    assert str(path) in str(e.value)
    assert pattern in str(e.value)
    assert isinstance(e.value, ValueError)


def test_missing_file(tmp_path):
    _expect(tmp_path / "nope.png", "not found")


def test_zero_byte_file(tmp_path):
    p = tmp_path / "empty.png"
    p.touch()
    _expect(p, "empty (0 bytes)")


def test_not_an_image(tmp_path):
    p = tmp_path / "notes.png"
    p.write_text("this is a text file, not a picture\n" * 10)
    _expect(p, "not an image")


def test_folder_instead_of_file(tmp_path):
    _expect(tmp_path, "is a folder")


@pytest.mark.parametrize("fmt,suffix", [("PNG", "png"), ("JPEG", "jpg")])
def test_truncated_file(tmp_path, fmt, suffix):
    full = tmp_path / f"full.{suffix}"
    Image.fromarray(_rgb(200, 200)).save(full, format=fmt)
    p = tmp_path / f"cut.{suffix}"
    p.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    _expect(p, "truncated or corrupt")


def test_corrupt_body(tmp_path):
    full = tmp_path / "full.png"
    Image.fromarray(_rgb(64, 64)).save(full)
    raw = bytearray(full.read_bytes())
    raw[60:200] = bytes(140)  # zero out part of the compressed data
    p = tmp_path / "corrupt.png"
    p.write_bytes(bytes(raw))
    _expect(p, "truncated or corrupt")


def test_too_small(tmp_path):
    p = tmp_path / "tiny.png"
    Image.fromarray(_rgb(10, 40)).save(p)
    _expect(p, "too small (40x10")


def test_too_large(tmp_path):
    # A valid PNG header claiming 20000 x 20000 pixels (400 megapixels); the check must come
    # from the header, before any pixel is decoded.
    p = tmp_path / "huge.png"
    Image.fromarray(_rgb(20, 20)).save(p)
    raw = bytearray(p.read_bytes())
    ihdr = bytearray(raw[12:29])  # b"IHDR" + 13 bytes of data
    ihdr[4:12] = struct.pack(">II", 20000, 20000)
    raw[12:29] = ihdr
    raw[29:33] = struct.pack(">I", zlib.crc32(bytes(ihdr)) & 0xFFFFFFFF)
    p.write_bytes(bytes(raw))
    _expect(p, "too large")


def test_folder_reports_every_bad_file_together(tmp_path):
    Image.fromarray(_rgb()).save(tmp_path / "good.png")
    (tmp_path / "empty.jpg").touch()
    (tmp_path / "text.png").write_text("hello")
    Image.fromarray(_rgb(8, 8)).save(tmp_path / "small.bmp")
    (tmp_path / "readme.txt").write_text("not an image extension: ignored")
    good, bad = scan_folder(tmp_path)
    assert [p.name for p, _ in good] == ["good.png"]
    assert len(bad) == 3
    with pytest.raises(ImageError) as e:
        load_folder(tmp_path)
    msg = str(e.value)
    for name in ["empty.jpg", "text.png", "small.bmp"]:
        assert name in msg
    assert "3 bad image file(s)" in msg and "good.png" not in msg


def test_empty_folder(tmp_path):
    with pytest.raises(ImageError, match="no image files"):
        load_folder(tmp_path)


# ---- accepted formats and modes ----------------------------------------------------------------


@pytest.mark.parametrize(
    "fmt,suffix,tol",
    [("PNG", "png", 0), ("BMP", "bmp", 0), ("TIFF", "tif", 0), ("JPEG", "jpg", 3.0), ("WEBP", "webp", 3.0)],
)
def test_formats(tmp_path, fmt, suffix, tol):
    yy, xx = np.mgrid[0:40, 0:30]
    arr = np.stack([yy * 6, xx * 8, (yy + xx) * 3], axis=-1).astype(np.uint8)  # smooth: lossy-friendly
    p = tmp_path / f"img.{suffix}"
    Image.fromarray(arr).save(p, format=fmt, **({"quality": 95} if tol else {}))
    x = load_image(p)
    assert x.shape == (3, 40, 30) and x.dtype == torch.float32
    assert 0.0 <= x.min() and x.max() <= 1.0
    err = np.abs(x.permute(1, 2, 0).numpy() * 255 - arr).mean()
    assert err <= tol + 1e-3, f"{fmt}: mean error {err:.2f} of 255"


def test_lossless_values_exact(tmp_path):
    arr = _rgb()
    Image.fromarray(arr).save(tmp_path / "a.png")
    x = load_image(tmp_path / "a.png")
    assert np.array_equal((x.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8), arr)


def test_grayscale_and_palette(tmp_path):
    g = np.tile(np.arange(32, dtype=np.uint8) * 8, (20, 1))
    Image.fromarray(g, mode="L").save(tmp_path / "g.png")
    x = load_image(tmp_path / "g.png")
    assert x.shape == (3, 20, 32) and torch.equal(x[0], x[1]) and abs(float(x[0, 0, 31]) - 248 / 255) < 1e-6
    Image.fromarray(_rgb()).convert("P").save(tmp_path / "p.png")
    assert load_image(tmp_path / "p.png").shape == (3, 40, 30)


@pytest.mark.parametrize("background,value", [("white", 1.0), ("black", 0.0)])
def test_transparency_composited(tmp_path, background, value):
    rgba = np.zeros((20, 20, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[:10, :, 3] = 255  # top half opaque red, bottom half fully transparent
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    x = load_image(tmp_path / "a.png", background=background)
    assert torch.allclose(x[:, 15, 5], torch.full((3,), value))
    assert abs(float(x[0, 2, 2]) - 200 / 255) < 1e-6
    Image.fromarray(rgba[..., [0, 3]], "LA").save(tmp_path / "la.png")
    assert torch.allclose(load_image(tmp_path / "la.png", background=background)[:, 15, 5], torch.full((3,), value))


def test_palette_with_transparency(tmp_path):
    im = Image.new("P", (20, 20), 0)
    im.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    im.paste(1, (0, 0, 20, 10))
    im.info["transparency"] = 1
    im.save(tmp_path / "pt.png", transparency=1)
    x = load_image(tmp_path / "pt.png")
    assert torch.allclose(x[:, 2, 2], torch.ones(3))  # transparent index -> white
    assert torch.allclose(x[:, 15, 2], torch.tensor([1.0, 0.0, 0.0]))


def test_16_bit(tmp_path):
    a = np.zeros((20, 20), np.uint16)
    a[:, 10:] = 65535
    a[:, :10] = 32768
    Image.fromarray(a).save(tmp_path / "d.png")
    x = load_image(tmp_path / "d.png")
    assert x.shape == (3, 20, 20)
    assert abs(float(x[0, 0, 15]) - 1.0) < 1e-6 and abs(float(x[0, 0, 0]) - 0.5) < 1e-3


def test_exif_orientation(tmp_path):
    arr = _rgb(40, 30)
    im = Image.fromarray(arr)
    exif = im.getexif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    im.save(tmp_path / "o.jpg", exif=exif, quality=95)
    x = load_image(tmp_path / "o.jpg")
    assert x.shape == (3, 30, 40)


def test_cmyk_jpeg(tmp_path):
    Image.fromarray(_rgb()).convert("CMYK").save(tmp_path / "c.jpg")
    assert load_image(tmp_path / "c.jpg").shape == (3, 40, 30)


# ---- saving, face folders -----------------------------------------------------------------------


def test_save_image_round_trip_and_no_overwrite(tmp_path):
    x = torch.rand(3, 20, 24)
    p = save_image(x, tmp_path / "x.png")
    assert (load_image(p) - x).abs().max() <= 0.5 / 255 + 1e-6
    with pytest.raises(FileExistsError, match="not overwriting"):
        save_image(torch.zeros(3, 20, 24), p)
    assert (load_image(p) - x).abs().max() <= 0.5 / 255 + 1e-6  # untouched


def test_face_folder_resizes_and_names_bad_files(tmp_path):
    Image.fromarray(_rgb(100, 80)).save(tmp_path / "a.png")
    (tmp_path / "sub").mkdir()
    Image.fromarray(_rgb(64, 64)).save(tmp_path / "sub" / "b.jpg")
    (tmp_path / "sub" / "c.png").write_text("broken")
    ds = FaceFolder(tmp_path, resolution=32)
    assert len(ds) == 3
    item = ds[0]
    assert item["hq"].shape == (3, 32, 32) and item["path"].endswith("a.png")
    with pytest.raises(ImageError, match="c.png"):
        ds[2]
    (tmp_path / "nothing").mkdir()
    with pytest.raises(ImageError, match="no face images"):
        FaceFolder(tmp_path / "nothing", 32)


def test_face_landmarks_match_the_faces_and_an_aligned_template():
    from lafr.synthetic import LANDMARK_NAMES, synthetic_face

    pts = data.face_landmarks("synthetic", 3, 64, seed=2)
    assert torch.equal(pts[1], synthetic_face(2, 100_001, 64)[1])  # the same faces image_set returns
    template = data.face_landmarks("packaged_natural", 2, 128)  # any aligned face: fixed positions
    assert torch.equal(template[0], template[1])
    left, right = template[0, LANDMARK_NAMES.index("eye_left")], template[0, LANDMARK_NAMES.index("eye_right")]
    assert 0.33 < (left[0] + 0.5) / 128 < 0.42 and 0.58 < (right[0] + 0.5) / 128 < 0.67  # FFHQ-like eyes


def test_a_photo_keeps_its_form_16_bit_grey_and_transparency_and_16_bit_colour_is_refused(tmp_path):
    """load_photo / save_photo (whole photos, lafr restore): 16-bit grey comes back 16-bit, grey as one
    channel, alpha as it was; 16-bit colour, which Pillow would read as 8-bit, is refused by name."""
    import cv2

    rng = np.random.default_rng(0)
    grey16 = (rng.random((30, 40)) * 65535).astype(np.uint16)
    cv2.imwrite(str(tmp_path / "grey16.png"), grey16)
    photo, form = data.load_photo(tmp_path / "grey16.png")
    assert form.grey and form.bits == 16 and photo.shape == (30, 40, 3)
    data.save_photo(photo, tmp_path / "out16.png", form)
    back = Image.open(tmp_path / "out16.png")
    assert back.mode.startswith("I;16") and np.array_equal(np.asarray(back), grey16)
    rgba = (rng.random((30, 40, 4)) * 255).astype(np.uint8)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    photo, form = data.load_photo(tmp_path / "rgba.png")
    data.save_photo(photo, tmp_path / "out_rgba.png", form)
    assert np.array_equal(np.asarray(Image.open(tmp_path / "out_rgba.png")), rgba)
    data.save_photo(np.repeat(np.repeat(photo, 2, 0), 2, 1), tmp_path / "big_rgba.png", form)  # --upscale 2
    assert Image.open(tmp_path / "big_rgba.png").mode == "RGBA" and Image.open(tmp_path / "big_rgba.png").size == (
        80,
        60,
    )
    cv2.imwrite(str(tmp_path / "colour16.png"), (rng.random((30, 40, 3)) * 65535).astype(np.uint16))
    with pytest.raises(data.ImageError, match="colour16.png: 16 bits per channel with colour"):
        data.load_photo(tmp_path / "colour16.png")
    cv2.imwrite(str(tmp_path / "colour16.tif"), (rng.random((30, 40, 3)) * 65535).astype(np.uint16))  # TIFF too
    with pytest.raises(data.ImageError, match="colour16.tif: 16 bits per channel with colour"):
        data.load_photo(tmp_path / "colour16.tif")
    with pytest.raises(FileExistsError, match="out16.png"):
        data.save_photo(photo, tmp_path / "out16.png", form)
