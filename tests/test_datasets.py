"""The dataset registry and its download path, tested against local files only (no network)."""

import hashlib
import time
import zipfile

import pytest
import torch

from lafr import data, datasets


def _zip_with_images(path, folder="faces", n=3):
    with zipfile.ZipFile(path, "w") as z:
        for i in range(n):
            z.writestr(f"{folder}/{i:02d}.png", b"png bytes")
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def local_dataset(tmp_path, monkeypatch):
    """A registry entry whose file is served from a local file:// URL."""
    archive = tmp_path / "src" / "faces.zip"
    archive.parent.mkdir()
    sha = _zip_with_images(archive)
    spec = datasets.DatasetSpec(
        name="toyset",
        description="a test",
        source="local",
        license="none",
        images=3,
        files=(datasets.Remote(archive.as_uri(), "faces.zip", sha),),
        manual="copy faces.zip into {path}",
        folders={"hq": "faces"},
    )
    monkeypatch.setitem(datasets.DATASETS, "toyset", spec)
    monkeypatch.delenv("LAFR_OFFLINE", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    return spec, archive


def test_download_checks_and_extracts(local_dataset, tmp_path):
    root = datasets.dataset_path("toyset", cache=tmp_path / "cache")
    assert sorted(p.name for p in (root / "faces").iterdir()) == ["00.png", "01.png", "02.png"]
    assert (root / ".complete").exists()
    assert not list(root.glob("*.part"))
    assert datasets.dataset_path("toyset", cache=tmp_path / "cache") == root  # cached: no second download


def test_checksum_mismatch_keeps_nothing(local_dataset, tmp_path, monkeypatch):
    spec, archive = local_dataset
    bad = datasets.DatasetSpec(
        **{**spec.__dict__, "files": (datasets.Remote(archive.as_uri(), "faces.zip", "0" * 64),)}
    )
    monkeypatch.setitem(datasets.DATASETS, "toyset", bad)
    with pytest.raises(datasets.DatasetError, match="checksum mismatch.*copy faces.zip into"):
        datasets.dataset_path("toyset", cache=tmp_path / "cache")
    assert not list((tmp_path / "cache" / "toyset").iterdir())


def test_unreachable_url_fails_fast_with_instructions(local_dataset, tmp_path, monkeypatch):
    spec, _ = local_dataset
    gone = datasets.DatasetSpec(
        **{**spec.__dict__, "files": (datasets.Remote((tmp_path / "missing.zip").as_uri(), "faces.zip"),)}
    )
    monkeypatch.setitem(datasets.DATASETS, "toyset", gone)
    start = time.perf_counter()
    with pytest.raises(datasets.DatasetError, match="could not download.*To fetch it by hand: copy faces.zip into"):
        datasets.dataset_path("toyset", cache=tmp_path / "cache")
    assert time.perf_counter() - start < 10


def test_offline_refuses_before_any_network_call(tmp_path, monkeypatch):
    monkeypatch.setenv("LAFR_OFFLINE", "1")
    monkeypatch.setattr(datasets.urllib.request, "urlopen", lambda *a, **k: pytest.fail("network touched"))
    with pytest.raises(datasets.DatasetError, match="downloads are off.*Wider-Test.zip"):
        datasets.dataset_path("wider_test", cache=tmp_path)


def test_file_placed_by_hand_is_used(local_dataset, tmp_path, monkeypatch):
    spec, archive = local_dataset
    monkeypatch.setenv("LAFR_OFFLINE", "1")
    (tmp_path / "cache" / "toyset").mkdir(parents=True)
    (tmp_path / "cache" / "toyset" / "faces.zip").write_bytes(archive.read_bytes())
    root = datasets.dataset_path("toyset", cache=tmp_path / "cache")
    assert (root / "faces" / "00.png").exists()


def test_manual_dataset_says_what_and_where(tmp_path):
    with pytest.raises(datasets.DatasetError) as e:
        datasets.dataset_path("ffhq", cache=tmp_path)
    msg = str(e.value)
    assert "ffhq_subset" in msg and str(tmp_path / "ffhq") in msg and "images1024x1024" in msg


def test_every_registered_dataset_is_described():
    for name in ["ffhq", "celeba_test", "lfw_test", "webphoto_test", "wider_test", "imagenet_samples"]:
        spec = datasets.DATASETS[name]
        assert spec.source and spec.license and spec.images > 0 and "{path}" in spec.manual
        for r in spec.files:
            assert r.url.startswith("https://") and (r.sha256 is None or len(r.sha256) == 64)


def test_ffhq_subset_is_seeded_and_checked(tmp_path):
    names = datasets.ffhq_subset_names()
    assert len(names) == 600 == len(set(names)) and names == datasets.ffhq_subset_names()
    assert names != datasets.ffhq_subset_names(seed=1)
    root = tmp_path / "ffhq"
    for i, n in enumerate(names):
        (root / f"{int(n[:5]) // 1000:02d}000").mkdir(parents=True, exist_ok=True)
        if i != 17:
            (root / f"{int(n[:5]) // 1000:02d}000" / n).touch()
    with pytest.raises(datasets.DatasetError, match=f"1 of the 600 FFHQ training faces are missing.*{names[17][:5]}"):
        datasets.ffhq_subset(root=root)
    (root / "x.png").touch()
    (root / names[17]).touch()
    assert [p.name for p in datasets.ffhq_subset(root=root)] == names


def test_unknown_dataset():
    with pytest.raises(KeyError, match="celeba_hq"):
        datasets.dataset_path("celeba_hq")


# ---- the manifest in data/ -----------------------------------------------------------------------


def test_the_registry_is_the_manifest_in_data():
    """lafr.datasets.DATASETS is read from data/datasets.json (a checkout), every entry complete."""
    assert datasets.manifest_path() == datasets.CHECKOUT_DATA / "datasets.json"
    assert datasets.load_manifest() == datasets.DATASETS
    assert {"ffhq", "celeba_test", "lfw_test", "webphoto_test", "wider_test"} <= set(datasets.DATASETS)
    for spec in datasets.DATASETS.values():
        assert spec.description and spec.license and spec.images > 0 and spec.folders and (spec.files or spec.manual)


def test_the_data_readme_lists_the_manifest():
    """data/README.md's table is the one tools/build_data_readme.py makes from the manifest."""
    import runpy

    tool = runpy.run_path(str(datasets.CHECKOUT_DATA.parent / "tools" / "build_data_readme.py"))
    assert tool["table"]() in (datasets.CHECKOUT_DATA / "README.md").read_text()


def test_a_broken_manifest_is_named(tmp_path):
    bad = tmp_path / "datasets.json"
    bad.write_text('{"datasets": [{"name": "x"}]}')
    with pytest.raises(ValueError, match="datasets.json: not a valid dataset manifest"):
        datasets.load_manifest(bad)


def test_downloads_land_in_lafr_cache_else_in_the_checkouts_data_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("LAFR_CACHE", str(tmp_path / "c"))
    assert datasets.datasets_dir() == tmp_path / "c"
    monkeypatch.delenv("LAFR_CACHE")
    assert datasets.datasets_dir() == datasets.CHECKOUT_DATA  # running from a checkout
    monkeypatch.setattr(datasets, "CHECKOUT_DATA", tmp_path / "not-a-checkout")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert datasets.datasets_dir() == tmp_path / "xdg" / "lafr"  # an installed package: the user cache


def test_the_manifest_travels_inside_an_installed_package():
    import tomllib

    st = tomllib.loads((datasets.CHECKOUT_DATA.parent / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "lafr.manifest" in st["packages"] and st["package-dir"]["lafr.manifest"] == "data"
    assert {"datasets.json", "README.md"} <= set(st["package-data"]["lafr.manifest"])
    ignored = (datasets.CHECKOUT_DATA.parent / ".gitignore").read_text().splitlines()
    assert "data/*" in ignored and "!data/datasets.json" in ignored and "!data/README.md" in ignored


def test_real_lq_faces_are_the_packaged_portraits_degraded_by_us():
    """Notebook 06's offline real benchmark: the two portraits at the asked size, degraded (seeded)."""
    lq, names = data.real_lq_faces("packaged_photos", size=64, preset="tiny", seed=0)
    again, _ = data.real_lq_faces("packaged_photos", size=64, preset="tiny", seed=0)
    clean = data.packaged_face_photos(64)
    assert names == list(clean) and all(x.shape == (3, 64, 64) for x in lq)
    assert all(torch.equal(a, b) for a, b in zip(lq, again))  # the same draw every time
    assert all((a - c).abs().mean() > 0.01 for a, c in zip(lq, clean.values()))  # degraded, not the clean photo
    with pytest.raises(ValueError, match="unknown real benchmark 'ffhq'"):
        data.real_lq_faces("ffhq")
