"""Images in and out, face folders, and the sets of images the notebooks look at.

* ``load_image`` reads one image file of any common format into a float RGB tensor 3 x H x W in
  [0, 1], or raises ``ImageError`` naming the file and what is wrong with it.
* ``load_photo`` / ``save_photo`` read and write a whole photo for ``lafr.photos`` in its own form
  (grey, transparent, 16-bit grey), so that a restored photo is stored as the original was.
* ``scan_folder`` / ``load_folder`` read a folder and report every bad file together.
* ``FaceFolder`` is a dataset of aligned face crops, resized to the profile's resolution.
* ``image_set``, ``packaged_face_photos`` and ``real_lq_faces`` give the faces and photos the
  notebooks study: synthetic faces, real photos that ship inside installed packages, or the
  paper's benchmarks.  Where those come from and how they are cached: ``lafr.datasets``.
* The tiny profile's faces are procedural: see ``lafr.synthetic``.

Images are [0, 1] floats here (metrics and disk); models take [-1, 1] (``to_model`` / ``from_model``).
Taught in notebook 01.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps, UnidentifiedImageError

from lafr.datasets import DATASETS, DatasetError, dataset_path

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
MIN_SIDE = 16  # pixels; anything smaller cannot hold a face
MAX_PIXELS = 100_000_000  # anything larger is not a sane face photo (and would exhaust memory)


class ImageError(ValueError):
    """A file that cannot be used as an image. The message names the file and the problem."""


# --------------------------------------------------------------------------------------------------
# One image
# --------------------------------------------------------------------------------------------------


def load_image(path: str | os.PathLike, background: str = "white") -> torch.Tensor:
    """Read an image file as a float RGB tensor 3 x H x W in [0, 1].

    Accepts PNG, JPEG, WebP, BMP and TIFF; grayscale, palette, RGBA/LA and 16-bit images; applies
    the EXIF orientation.  Transparent images are composited on ``background`` ("white" or
    "black").  Raises ``ImageError`` for a missing, empty, truncated or corrupt file, a file that is
    not an image, and an image smaller than 16 px or larger than 100 megapixels.
    Taught in notebook 01.
    """
    path = Path(path)
    if background not in ("white", "black"):
        raise ValueError(f"background must be 'white' or 'black', got {background!r}")
    if not path.exists():
        raise ImageError(f"{path}: file not found")
    if path.is_dir():
        raise ImageError(f"{path}: is a folder, not an image file (use load_folder)")
    if path.stat().st_size == 0:
        raise ImageError(f"{path}: file is empty (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                w, h = im.size
                if w * h > MAX_PIXELS:
                    raise ImageError(
                        f"{path}: image is too large ({w}x{h} = {w * h / 1e6:.0f} megapixels; "
                        f"the limit is {MAX_PIXELS / 1e6:.0f})"
                    )
                im.load()
                im = ImageOps.exif_transpose(im)
                arr = _to_rgb_array(im, background)
    except ImageError:
        raise
    except UnidentifiedImageError:
        raise ImageError(f"{path}: not an image (its format is not recognised)") from None
    except Image.DecompressionBombError as e:
        raise ImageError(f"{path}: image is too large ({e})") from None
    except (OSError, SyntaxError, ValueError) as e:
        raise ImageError(f"{path}: truncated or corrupt image ({e})") from None
    h, w = arr.shape[:2]
    if min(h, w) < MIN_SIDE:
        raise ImageError(f"{path}: image is too small ({w}x{h}; at least {MIN_SIDE} px a side)")
    return torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))


def _to_rgb_array(im: Image.Image, background: str) -> np.ndarray:
    """Any PIL mode -> H x W x 3 float32 in [0, 1]."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):  # 16-bit (or 32-bit int) grayscale
        a = np.asarray(im).astype(np.float32)
        a = a / (65535.0 if a.max(initial=0) > 255 or im.mode.startswith("I;16") else 255.0)
        return np.repeat(np.clip(a, 0, 1)[..., None], 3, axis=2)
    if im.mode == "F":
        a = np.clip(np.asarray(im, dtype=np.float32), 0, 1)
        return np.repeat(a[..., None], 3, axis=2)
    if im.mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        im = im.convert("RGBA")
        bg = Image.new("RGBA", im.size, (255, 255, 255, 255) if background == "white" else (0, 0, 0, 255))
        im = Image.alpha_composite(bg, im)
    a = np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0
    return a


@dataclass
class PhotoForm:
    """How a photo was stored, so that ``save_photo`` can write it back the same way: grey or colour,
    its transparency (H x W in [0, 1], or None) and 8 or 16 bits per channel."""

    grey: bool = False
    alpha: np.ndarray | None = None
    bits: int = 8
    icc_profile: bytes | None = None  # the colour space it was stored in (Display P3, Adobe RGB ...), kept


def _png_bit_depth(path: Path) -> int | None:
    with open(path, "rb") as f:
        head = f.read(25)
    return head[24] if head[:8] == b"\x89PNG\r\n\x1a\n" and len(head) == 25 else None


def load_photo(path: str | os.PathLike) -> tuple[np.ndarray, PhotoForm]:
    """Read a whole photo for ``lafr.photos`` as H x W x 3 float32 in [0, 1] (grey photos as three
    equal channels), and its form: grey, alpha (kept aside, never composited, so ``save_photo`` puts
    it back), 8 or 16 bits, its ICC colour profile. An image of 16 bits per channel with colour or
    transparency is refused with the reason (Pillow would read it as 8-bit and the depth would be lost
    silently). Errors as ``load_image``'s. Taught in notebook 07."""
    path = Path(path)
    load_image(path)  # every check of a readable image, with its messages
    with Image.open(path) as im:
        bits = _png_bit_depth(path) if im.format == "PNG" else None
        tiff_bits = tuple(im.tag_v2.get(258, ())) if im.format == "TIFF" else ()  # before exif_transpose copies it
        im.load()
        im = ImageOps.exif_transpose(im)
        if im.mode in ("RGB", "RGBA", "P", "LA", "PA") and (bits == 16 or max(tiff_bits, default=8) > 8):
            raise ImageError(
                f"{path}: 16 bits per channel with colour or transparency, which would be read as 8-bit and lose "
                "its depth; convert it to 8-bit first (16-bit grey without transparency is kept as it is)"
            )
        icc = im.info.get("icc_profile")
        if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
            a = np.asarray(im).astype(np.float32)
            a = a / (65535.0 if im.mode.startswith("I;16") or a.max(initial=0) > 255 else 255.0)
            return np.repeat(np.clip(a, 0, 1)[..., None], 3, axis=2), PhotoForm(grey=True, bits=16, icc_profile=icc)
        grey = im.mode in ("1", "L", "LA", "La", "F")
        alpha = None
        if im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (im.mode == "P" and "transparency" in im.info):
            rgba = np.asarray(im.convert("RGBA"), dtype=np.float32) / 255.0
            alpha = rgba[..., 3].copy()
            if alpha.min() >= 1.0:
                alpha = None
            rgb = rgba[..., :3]
        elif im.mode == "F":
            rgb = np.repeat(np.clip(np.asarray(im, dtype=np.float32), 0, 1)[..., None], 3, axis=2)
        else:
            rgb = np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0
    return np.ascontiguousarray(rgb), PhotoForm(grey=grey, alpha=alpha, bits=8, icc_profile=icc)


def luma_of(rgb: np.ndarray) -> np.ndarray:
    """H x W x 3 -> H x W luma (ITU-R BT.601, as PIL's ``convert("L")``)."""
    return rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114


def save_photo(photo: np.ndarray, path: str | os.PathLike, form: PhotoForm | None = None, overwrite: bool = False):
    """Write an H x W x 3 photo in [0, 1] as a PNG in its ``form`` (from ``load_photo``): grey as one
    channel (8 or 16 bits), its alpha put back (resized with the photo, for ``--upscale``). Refuses to
    overwrite unless ``overwrite=True``. Taught in notebook 07."""
    path, form = Path(path), form or PhotoForm()
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path}: already exists; not overwriting it")
    path.parent.mkdir(parents=True, exist_ok=True)
    photo = np.clip(np.asarray(photo, dtype=np.float32), 0, 1)
    h, w = photo.shape[:2]
    if form.grey:
        luma = luma_of(photo)
        if form.bits == 16:
            Image.fromarray((luma * 65535 + 0.5).astype(np.uint16)).save(path, icc_profile=form.icc_profile)
            return path
        channels = [(luma * 255 + 0.5).astype(np.uint8)]
    else:
        channels = [(photo[..., c] * 255 + 0.5).astype(np.uint8) for c in range(3)]
    if form.alpha is not None:
        alpha = form.alpha
        if alpha.shape != (h, w):
            alpha = np.asarray(Image.fromarray(alpha.astype(np.float32), "F").resize((w, h), Image.LANCZOS))
        channels.append((np.clip(alpha, 0, 1) * 255 + 0.5).astype(np.uint8))
    mode = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[len(channels)]
    image = Image.fromarray(np.stack(channels, axis=-1) if len(channels) > 1 else channels[0], mode)
    image.save(path, icc_profile=form.icc_profile)
    return path


def save_image(img: torch.Tensor, path: str | os.PathLike, overwrite: bool = False) -> Path:
    """Write a 3 x H x W tensor in [0, 1] as an 8-bit image (format from the suffix).

    Refuses to overwrite an existing file unless ``overwrite=True``.  Taught in notebook 01.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path}: already exists; not overwriting it")
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(to_uint8(img)).save(path)
    return path


def to_uint8(img: torch.Tensor) -> np.ndarray:
    """3 x H x W float in [0, 1] -> H x W x 3 uint8 (rounded, clipped)."""
    return (img.detach().float().clamp(0, 1).permute(1, 2, 0).cpu().numpy() * 255 + 0.5).astype(np.uint8)


def to_model(img: torch.Tensor) -> torch.Tensor:
    """[0, 1] -> [-1, 1], the range the models work in."""
    return img * 2.0 - 1.0


def from_model(x: torch.Tensor) -> torch.Tensor:
    """[-1, 1] -> [0, 1] (clamped)."""
    return ((x + 1.0) / 2.0).clamp(0.0, 1.0)


def resize_square(img: torch.Tensor, size: int) -> torch.Tensor:
    """Centre-crop to a square, then resize (bicubic, antialiased) to size x size; keeps [0, 1].

    Works on one image (3 x H x W) or a batch (N x 3 x H x W).  Taught in notebook 01.
    """
    batched = img.dim() == 4
    x = img if batched else img[None]
    h, w = x.shape[-2:]
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    x = x[..., top : top + s, left : left + s]
    if s != size:
        x = F.interpolate(x, size=(size, size), mode="bicubic", antialias=True, align_corners=False)
    x = x.clamp(0, 1)
    return x if batched else x[0]


def load_square(path: str | os.PathLike, size: int, cache: str | os.PathLike | None = None) -> torch.Tensor:
    """``resize_square(load_image(path), size)``, kept as a PNG in the folder ``cache`` when given, so a
    second call reads the small file instead of decoding and resizing the large one again.  How the
    paper profile's 1024 px FFHQ faces become 512 px training faces (``lafr.train.training_faces``)."""
    path = Path(path)
    if cache is None:
        return resize_square(load_image(path), size)
    kept = Path(cache) / f"{path.stem}.png"
    if kept.exists():
        img = load_image(kept)
        if img.shape[-2:] == (size, size):
            return img
    img = resize_square(load_image(path), size)
    kept.parent.mkdir(parents=True, exist_ok=True)
    part = kept.with_name(kept.name + ".part")  # never a half-written PNG under the final name
    Image.fromarray(to_uint8(img)).save(part, format="PNG")
    os.replace(part, kept)
    return load_image(kept)  # the 8-bit values, as every later call will read them


# --------------------------------------------------------------------------------------------------
# Folders
# --------------------------------------------------------------------------------------------------


def list_images(folder: str | os.PathLike, recursive: bool = False) -> list[Path]:
    """Image files in a folder (by extension), sorted by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ImageError(f"{folder}: folder not found")
    pattern = "**/*" if recursive else "*"
    return sorted(p for p in folder.glob(pattern) if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)


def scan_folder(folder, recursive: bool = False, **kwargs) -> tuple[list[tuple[Path, torch.Tensor]], list[ImageError]]:
    """Load every image file in a folder; return ``(good, bad)``: (path, image) pairs and the errors.

    Files whose extension is not an image extension are ignored.  Taught in notebook 01.
    """
    good, bad = [], []
    for p in list_images(folder, recursive):
        try:
            good.append((p, load_image(p, **kwargs)))
        except ImageError as e:
            bad.append(e)
    return good, bad


def load_folder(folder, recursive: bool = False, **kwargs) -> list[tuple[Path, torch.Tensor]]:
    """Load every image in a folder, or raise one ``ImageError`` that lists every bad file."""
    good, bad = scan_folder(folder, recursive, **kwargs)
    if bad:
        lines = "\n  ".join(str(e) for e in bad)
        raise ImageError(f"{len(bad)} bad image file(s) in {folder}:\n  {lines}")
    if not good:
        raise ImageError(f"{folder}: no image files ({', '.join(IMAGE_EXTENSIONS)})")
    return good


class FaceFolder(torch.utils.data.Dataset):
    """A folder of aligned face crops as a dataset of dicts ``{"hq": 3 x R x R in [0, 1], "path"}``.

    Images are centre-cropped to a square and resized to ``resolution``.  A bad file raises
    ``ImageError`` naming it when it is read.  Taught in notebook 01.
    """

    def __init__(self, root, resolution: int, recursive: bool = True, files: list[Path] | None = None):
        self.root, self.resolution = Path(root), int(resolution)
        self.files = list(files) if files is not None else list_images(self.root, recursive)
        if not self.files:
            raise ImageError(f"{self.root}: no face images found ({', '.join(IMAGE_EXTENSIONS)})")

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> dict:
        img = load_image(self.files[i])
        return {"hq": resize_square(img, self.resolution), "path": str(self.files[i])}


def shared_faces_dir() -> Path | None:
    """The optional folder of real test photos (``LAFR_DATA_DIR``, default ``../shared/data``
    beside the repository), or None when it is absent.  Never copied into the project."""
    env = os.environ.get("LAFR_DATA_DIR")
    candidates = [Path(env)] if env else [Path(__file__).resolve().parents[2] / "shared" / "data"]
    for c in candidates:
        if (c / "faces").is_dir():
            return c / "faces"
    return None


# --------------------------------------------------------------------------------------------------
# Real photos that ship inside installed packages (offline, for the tiny profile)
# --------------------------------------------------------------------------------------------------

# Natural (non-face) photographs bundled with scikit-image, and where the faces are in the two
# bundled portraits (top, left, size in pixels).
NATURAL_PHOTOS = (
    "brick", "camera", "cell", "chelsea", "coffee", "coins", "grass", "gravel", "hubble_deep_field",
    "ihc", "microaneurysms", "moon", "motorcycle_left", "retina", "rocket", "clock_motion",
)  # fmt: skip
_FACE_BOXES = {"astronaut": ("skimage", "astronaut.png", (20, 150, 200)),
               "grace_hopper": ("matplotlib", "grace_hopper.jpg", (60, 140, 250))}  # fmt: skip


def _package_file(package: str, name: str) -> Path:
    if package == "skimage":
        import skimage.data

        return Path(skimage.data.__file__).parent / name
    import matplotlib

    return Path(matplotlib.get_data_path()) / "sample_data" / name


def packaged_natural_photos() -> dict[str, torch.Tensor]:
    """scikit-image's bundled natural photographs (cat, coffee, coins, moon, rocket, ...), no faces.
    Taught in notebook 01."""
    folder = _package_file("skimage", "")
    out = {}
    for name in NATURAL_PHOTOS:
        matches = sorted(folder.glob(name + ".*"))
        if matches:
            out[name] = load_image(matches[0])
    return out


def packaged_portraits() -> dict[str, torch.Tensor]:
    """The two real portraits that ship in installed packages, whole (3 x H x W in [0, 1]):
    scikit-image's astronaut (Eileen Collins, 512 x 512) and matplotlib's Grace Hopper (512 x 600).
    ``portrait_face_box(name)`` says where the face is. Taught in notebook 07."""
    return {name: load_image(_package_file(package, filename)) for name, (package, filename, _) in _FACE_BOXES.items()}


def portrait_face_box(name: str) -> tuple[int, int, int]:
    """(top, left, side) in pixels of the square around the face in ``packaged_portraits()[name]``:
    what ``packaged_face_photos`` cuts."""
    return _FACE_BOXES[name][2]


def packaged_face_photos(size: int | None = None) -> dict[str, torch.Tensor]:
    """The two real portraits that ship in installed packages, cropped to the face: scikit-image's
    astronaut (Eileen Collins) and matplotlib's Grace Hopper.  Taught in notebook 01."""
    out = {}
    for name, (package, filename, (top, left, s)) in _FACE_BOXES.items():
        img = load_image(_package_file(package, filename))[:, top : top + s, left : left + s]
        out[name] = resize_square(img, size) if size else img
    return out


def real_lq_faces(
    name: str, n: int | None = None, size: int = 64, preset: str = "tiny", seed: int = 0
) -> tuple[list, list[str]]:
    """Real low-quality faces to restore (a profile's ``real_benchmarks``), in [0, 1], and their names.

    * ``packaged_photos``: the two packaged portraits (``packaged_face_photos``) at ``size``,
      degraded by us with ``preset`` (seeded), so their clean versions are known (offline);
    * ``lfw_test``, ``webphoto_test``, ``wider_test``: the first ``n`` images of the benchmark's
      folder (all when ``n`` is None), at their own size; real degradations, no ground truth (download).

    Taught in notebook 06."""
    if name == "packaged_photos":
        from lafr.degrade import degrade

        photos = packaged_face_photos(size)
        lq = [degrade(x, preset, seed=seed + i)[0] for i, x in enumerate(photos.values())]
        return lq[:n], list(photos)[:n]
    if name not in DATASETS or "lq" not in DATASETS[name].folders:
        raise ValueError(
            f"unknown real benchmark {name!r}: 'packaged_photos' or one of "
            f"{sorted(k for k, v in DATASETS.items() if 'lq' in v.folders)}"
        )
    files = list_images(dataset_path(name) / DATASETS[name].folders["lq"], recursive=True)[:n]
    return [load_image(f) for f in files], [f.stem for f in files]


def lfw_subset() -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-image's bundled LFW subset: 100 real face crops and 100 non-face crops (in scikit-image's
    words, "extracted from the background of the same dataset"), 25 x 25 grayscale, as two
    N x 3 x 25 x 25 tensors in [0, 1].  Taught in notebook 01."""
    a = torch.from_numpy(np.load(_package_file("skimage", "lfw_subset.npy"))).float()
    if a.max() > 1:
        a = a / 255.0
    a = a[:, None].repeat(1, 3, 1, 1)
    return a[:100], a[100:]


def random_crops(images, n: int, size: int, seed: int = 0, min_frac: float = 0.35) -> torch.Tensor:
    """``n`` random square crops (side ``min_frac``..1 of the shorter side), taken in turn from the
    images and resized to ``size``; seeded.  Taught in notebook 01."""
    rng = np.random.default_rng(seed)
    images = list(images)
    out = []
    for i in range(n):
        img = images[i % len(images)]
        h, w = img.shape[-2:]
        s = int(min(h, w) * rng.uniform(min_frac, 1.0))
        top, left = rng.integers(0, h - s + 1), rng.integers(0, w - s + 1)
        out.append(resize_square(img[:, top : top + s, left : left + s], size))
    return torch.stack(out)


def image_set(source: str, n: int, size: int, seed: int = 0) -> tuple[torch.Tensor, list[str]]:
    """``n`` images of one kind, n x 3 x size x size in [0, 1], and a label per image saying where
    it came from.  Sources (a profile's ``analysis_faces`` / ``analysis_natural``):

    * ``synthetic``: held-out synthetic faces (indices from ``HELDOUT_OFFSET``; offline);
    * ``synthetic+photos``: the packaged real portraits plus synthetic faces (offline);
    * ``packaged_natural``: scikit-image's natural photos plus random crops of them (offline);
    * ``celeba_hq``: CelebA-HQ faces from CelebA-Test's ground truth (download);
    * ``imagenet_samples``: one ImageNet image per class (download).

    Taught in notebook 01.
    """
    from lafr.synthetic import HELDOUT_OFFSET, synthetic_face

    rng = np.random.default_rng(seed)
    if source == "synthetic":
        return torch.stack([synthetic_face(seed, HELDOUT_OFFSET + i, size)[0] for i in range(n)]), ["synthetic"] * n
    if source == "synthetic+photos":
        photos = packaged_face_photos(size)
        faces = [synthetic_face(seed, i, size)[0] for i in range(n - len(photos))]
        return torch.stack([*photos.values(), *faces]), [f"photo:{k}" for k in photos] + ["synthetic"] * len(faces)
    if source == "packaged_natural":
        photos = packaged_natural_photos()
        whole = [resize_square(x, size) for x in photos.values()][:n]
        crops = (
            random_crops(photos.values(), n - len(whole), size, seed)
            if n > len(whole)
            else torch.empty(0, 3, size, size)
        )
        return torch.cat([torch.stack(whole), crops]), [f"photo:{k}" for k in photos][:n] + ["crop"] * len(crops)
    if source in ("celeba_hq", "imagenet_samples"):
        name, role = ("celeba_test", "hq") if source == "celeba_hq" else ("imagenet_samples", "hq")
        files = list_images(dataset_path(name) / DATASETS[name].folders[role], recursive=True)
        if len(files) < n:
            raise DatasetError(f"{source}: need {n} images, found {len(files)}")
        chosen = [files[i] for i in sorted(rng.choice(len(files), size=n, replace=False))]
        return torch.stack([resize_square(load_image(f), size) for f in chosen]), [source] * n
    raise ValueError(f"unknown image source {source!r}")


def hair_masks(source: str, n: int, size: int, seed: int = 0) -> torch.Tensor:
    """Where the hair is (n x 1 x size x size, bool) in the faces that ``image_set(source, n, size,
    seed)`` returns.  Synthetic faces carry their own (``lafr.synthetic.hair_mask``: hair, brows,
    lashes).  Any other face is assumed aligned, as ``face_landmarks`` assumes, and gets the typical
    hair region of an aligned face: the pixels where at least half of 256 held-out synthetic faces
    have hair.  Taught in notebook 05."""
    from lafr.synthetic import HELDOUT_OFFSET, face_params, hair_mask

    def own(seed_, indices):
        return [hair_mask(face_params(seed_, i), size) for i in indices]

    if source == "synthetic":
        return torch.stack(own(seed, range(HELDOUT_OFFSET, HELDOUT_OFFSET + n)))
    typical = torch.stack(own(0, range(HELDOUT_OFFSET, HELDOUT_OFFSET + 256))).float().mean(0) >= 0.5
    if source == "synthetic+photos":  # the packaged photos first, then synthetic faces 0, 1, ...
        k = len(_FACE_BOXES)
        return torch.stack([typical] * k + own(seed, range(n - k)))
    return typical.expand(n, -1, -1, -1).clone()


def face_landmarks(source: str, n: int, size: int, seed: int = 0) -> torch.Tensor:
    """Landmarks (n x K x 2 pixels, in ``lafr.synthetic.LANDMARK_NAMES`` order) of the faces that
    ``image_set(source, n, size, seed)`` returns.  Synthetic faces carry their own.  Any other face is
    assumed aligned (FFHQ-style crops, as CelebA-Test, the paper's training and test faces are) and
    gets the typical landmarks of an aligned face: the mean over 256 held-out synthetic faces, whose
    eyes (38.6% and 61.2% of the width, 46% of the height) and mouth (72% of the height) sit within a
    few percent of where FFHQ's alignment rule puts them (37.5%, 62.5%, 47%; mouth 75%).
    Taught in notebook 03."""
    from lafr.synthetic import HELDOUT_OFFSET, synthetic_face

    if source == "synthetic":
        return torch.stack([synthetic_face(seed, HELDOUT_OFFSET + i, size)[1] for i in range(n)])
    mean = torch.stack([synthetic_face(0, HELDOUT_OFFSET + i, 64)[1] for i in range(256)]).mean(0)
    template = (mean + 0.5) * size / 64 - 0.5
    if source == "synthetic+photos":  # the packaged photos first, then synthetic faces 0, 1, ...
        k = len(_FACE_BOXES)
        own = [synthetic_face(seed, i, size)[1] for i in range(n - k)]
        return torch.stack([template] * k + own)
    return template.expand(n, -1, -1).clone()
