"""Downloads through a real HTTP server on 127.0.0.1, started and stopped by each test: Hub files
follow HF_ENDPOINT, an interrupted download resumes, and a wrong size, a wrong checksum or a refusing
server each give a clear error and keep nothing that could pass for the file."""

import hashlib
import io
import re
import zipfile

import pytest

from lafr import datasets


def _zip(n: int = 40) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:  # stored, not deflated: the halves differ byte for byte
        for i in range(n):
            z.writestr(f"faces/{i:02d}.png", bytes([i]) * 1000)
    return buf.getvalue()


HUB_PATH = "/datasets/someone/faces/resolve/0123456789abcdef0123456789abcdef01234567/faces.zip"


@pytest.fixture
def hub_dataset(server, monkeypatch):
    """A registry entry for a Hub file (pinned revision, size and checksum), served by ``server``
    through HF_ENDPOINT."""
    body = _zip()
    server.files[HUB_PATH] = body
    remote = datasets.Remote(datasets.HUB + HUB_PATH[1:], "faces.zip", hashlib.sha256(body).hexdigest(), size=len(body))
    spec = datasets.DatasetSpec(
        "hubset", "a test", "local", "none", 40, (remote,), "copy faces.zip into {path}", {"hq": "faces"}
    )
    monkeypatch.setitem(datasets.DATASETS, "hubset", spec)
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    for var in ("LAFR_OFFLINE", "HF_HUB_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    return spec, body


def test_hub_files_follow_hf_endpoint(hub_dataset, server, tmp_path):
    root = datasets.dataset_path("hubset", cache=tmp_path)
    assert len(list((root / "faces").iterdir())) == 40
    assert server.requests == [(HUB_PATH, None)]
    assert datasets.hub_url("https://example.org/x.zip") == "https://example.org/x.zip"  # other hosts stay


def test_an_interrupted_download_resumes_where_it_stopped(hub_dataset, server, tmp_path):
    _, body = hub_dataset
    server.cut_after = len(body) // 2
    with pytest.raises(datasets.DatasetError, match="run again to resume"):
        datasets.dataset_path("hubset", cache=tmp_path)
    part = tmp_path / "hubset" / "faces.zip.part"
    assert part.stat().st_size == len(body) // 2 and not (tmp_path / "hubset" / "faces.zip").exists()
    root = datasets.dataset_path("hubset", cache=tmp_path)
    assert server.requests[-1] == (HUB_PATH, f"bytes={len(body) // 2}-")  # only the rest was asked for
    assert (root / "faces.zip").read_bytes() == body and not part.exists()
    assert len(list((root / "faces").iterdir())) == 40


def test_a_part_that_is_already_whole_is_checked_and_kept(hub_dataset, server, tmp_path):
    """A run that died between the last byte and the rename: the server answers 416 to the range."""
    _, body = hub_dataset
    (tmp_path / "hubset").mkdir()
    (tmp_path / "hubset" / "faces.zip.part").write_bytes(body)
    root = datasets.dataset_path("hubset", cache=tmp_path)
    assert server.requests == [(HUB_PATH, f"bytes={len(body)}-")]
    assert (root / "faces.zip").read_bytes() == body


def test_a_server_that_ignores_the_range_sends_the_whole_file_again(hub_dataset, server, tmp_path):
    _, body = hub_dataset
    server.ranges = False
    (tmp_path / "hubset").mkdir()
    (tmp_path / "hubset" / "faces.zip.part").write_bytes(b"stale bytes from an older attempt")
    root = datasets.dataset_path("hubset", cache=tmp_path)
    assert (root / "faces.zip").read_bytes() == body


def test_a_wrong_size_or_checksum_keeps_nothing(hub_dataset, server, tmp_path, monkeypatch):
    spec, body = hub_dataset
    for change, message in (({"size": len(body) + 1}, "bytes, expected"), ({"sha256": "0" * 64}, "checksum mismatch")):
        wrong = datasets.Remote(**{**spec.files[0].__dict__, **change})
        monkeypatch.setitem(datasets.DATASETS, "hubset", datasets.DatasetSpec(**{**spec.__dict__, "files": (wrong,)}))
        with pytest.raises(datasets.DatasetError, match=f"{message}.*discarded.*copy faces.zip into"):
            datasets.dataset_path("hubset", cache=tmp_path)
        assert not list((tmp_path / "hubset").iterdir())


def test_a_refusing_server_and_a_missing_file_say_so(hub_dataset, server, tmp_path, monkeypatch):
    server.refuse = 403
    with pytest.raises(datasets.DatasetError, match=f"{re.escape(server.url)}.*answered 403.*copy faces.zip into"):
        datasets.dataset_path("hubset", cache=tmp_path)
    server.refuse = None
    server.files.clear()
    with pytest.raises(datasets.DatasetError, match="answered 404"):
        datasets.dataset_path("hubset", cache=tmp_path)
    assert not list((tmp_path / "hubset").glob("*.part"))


def test_the_registrys_hub_files_are_pinned_and_sized():
    """Every Hub file with a published checksum is fetched at a fixed commit, and its size is known."""
    hub = [r for spec in datasets.DATASETS.values() for r in spec.files if r.url.startswith(datasets.HUB)]
    pinned = [r for r in hub if r.sha256]
    assert len(pinned) >= 4
    for r in pinned:
        assert re.search(r"/resolve/[0-9a-f]{40}/", r.url), r.url
        assert r.size and r.size > 1_000_000, r.filename
