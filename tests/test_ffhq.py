"""The paper profile's training faces without a manual step: a seeded draw within a few of the
Hub copy's FFHQ shards, fetched through a local imitation of the Hub (``tests/localhub.py``, reached
through HF_ENDPOINT as the real Hub would be), kept, resized once and kept again; a copy of FFHQ put
in place by hand is used instead; a wrong shard or no network gives an error that names both ways."""

import re

import pytest
import torch
from localhub import ffhq_shard

from lafr import data, datasets, train
from lafr.config import PAPER

SPEC = datasets.DATASETS["ffhq"].shards
SHARD = re.compile(r"/datasets/gaunernst/ffhq-1024-wds/resolve/([0-9a-f]{40})/(\d{5})\.tar")


def test_the_draw_is_seeded_and_stays_within_three_shards():
    ids = datasets.ffhq_draw()
    assert len(ids) == 600 == len(set(ids)) and ids == sorted(ids) == datasets.ffhq_draw()
    assert len({i // 1000 for i in ids}) == 3  # the false case: a draw from all 70,000 touches ~70 shards
    assert datasets.ffhq_draw(seed=1) != ids and len({i // 1000 for i in datasets.ffhq_draw(seed=1)}) == 3
    assert datasets.ffhq_subset_names()[:2] == [f"{ids[0]:05d}.png", f"{ids[1]:05d}.png"]
    with pytest.raises(ValueError, match="cannot draw 3001 FFHQ faces from 3 shards"):
        datasets.ffhq_draw(3001)


@pytest.fixture
def hub(server, monkeypatch):
    """The local Hub serving stand-ins of the three shards the default draw touches."""
    for k in sorted({i // 1000 for i in datasets.ffhq_draw()}):
        server.files[f"/datasets/gaunernst/ffhq-1024-wds/resolve/{SPEC['url'].split('/')[-2]}/{k:02d}000.tar"] = (
            ffhq_shard(k * 1000)
        )
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    for var in ("LAFR_OFFLINE", "HF_HUB_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    return server


def test_faces_are_fetched_from_the_pinned_shards_once(hub, tmp_path, capsys):
    root = tmp_path / "ffhq"
    files = datasets.ffhq_subset(root=root)
    assert [int(f.stem) for f in files] == datasets.ffhq_draw() and all(f.parent == root / "webp" for f in files)
    asked = [SHARD.fullmatch(path).groups() for path, _ in hub.requests]
    assert {rev for rev, _ in asked} == {"d74f1f1f59e3bbe975bee29872b9bef827314577"}
    assert sorted(int(k) for _, k in asked) == sorted({i // 1000 * 1000 for i in datasets.ffhq_draw()})
    assert not list((root / "shards").iterdir())  # each shard deleted once its faces are out
    said = capsys.readouterr().out
    assert "600 training faces from 3 shard(s)" in said and "3.9 GB in all" in said
    pixels = data.load_image(files[0])
    assert pixels.shape == (3, 16, 16)  # the shard's WebP, decoded
    assert datasets.ffhq_subset(root=root) == files and len(hub.requests) == 3  # second run: the kept faces


def test_a_shard_is_kept_on_request_and_a_local_copy_needs_no_network(hub, tmp_path):
    datasets.ffhq_subset(n=5, root=tmp_path / "a", keep_shards=True)
    assert list((tmp_path / "a" / "shards").glob("*.tar"))
    hub.requests.clear()
    copy = tmp_path / "b"  # NVlabs' layout: images1024x1024/<thousands>/<id>.png
    for i in datasets.ffhq_draw(5):
        (copy / "images1024x1024" / f"{i // 1000 * 1000:05d}").mkdir(parents=True, exist_ok=True)
        data.save_image(
            data.load_image(tmp_path / "a" / "webp" / f"{i:05d}.webp"),
            copy / "images1024x1024" / f"{i // 1000 * 1000:05d}" / f"{i:05d}.png",
        )
    files = datasets.ffhq_subset(n=5, root=copy)
    assert hub.requests == [] and all(f.suffix == ".png" for f in files)


def test_a_shard_without_the_drawn_faces_is_refused(hub, tmp_path):
    ids = datasets.ffhq_draw()
    first = ids[0] // 1000 * 1000
    path = next(p for p in hub.files if p.endswith(f"/{first:05d}.tar"))
    hub.files[path] = ffhq_shard(first, omit=(ids[0],))  # what another revision might hold
    with pytest.raises(datasets.DatasetError, match=f"lacks 1 of the wanted faces \\(first: {ids[0]:05d}.webp\\)"):
        datasets.ffhq_subset(root=tmp_path / "ffhq")
    assert not list((tmp_path / "ffhq" / "shards").glob("*.tar"))


def test_a_refusing_hub_and_no_network_name_both_ways(hub, tmp_path, monkeypatch):
    hub.refuse = 503
    with pytest.raises(
        datasets.DatasetError, match="answered 503.*lafr fetches the training faces itself.*images1024x1024"
    ):
        datasets.ffhq_subset(root=tmp_path / "ffhq")
    monkeypatch.setenv("LAFR_OFFLINE", "1")
    with pytest.raises(
        datasets.DatasetError, match="600 FFHQ training faces are missing.*downloads are off.*images1024x1024"
    ):
        datasets.ffhq_subset(root=tmp_path / "ffhq")


def test_training_faces_are_resized_once_and_kept(hub):
    cfg = PAPER.replace(resolution=32, train_images=4)
    faces = train.training_faces(cfg)
    assert faces.shape == (4, 3, 32, 32) and faces.dtype == torch.uint8
    kept = sorted((datasets.ffhq_root() / "resized" / "32px").glob("*.png"))
    assert [int(p.stem) for p in kept] == datasets.ffhq_draw(4)
    n = len(hub.requests)
    original = datasets.ffhq_root() / "webp" / kept[0].name.replace(".png", ".webp")
    data.save_image(torch.zeros(3, 16, 16), original.with_suffix(".png"))
    original.with_suffix(".png").replace(original)  # a black original: only the kept 32 px face is read again
    assert (train.training_faces(cfg) == faces).all() and len(hub.requests) == n
