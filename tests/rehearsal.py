"""The world of the paper-profile rehearsals (``test_rehearsal.py``, ``test_rehearsal_notebooks.py``).

``build_world`` writes the Hub's large stand-ins once (SD 2.1 base, IP-Adapter's image encoder,
SadTalker's ``epoch_20.pth``, pyiqa's metric weights and timm's ViT for MANIQA: the real architectures
with random weights, about 10 GB), in a child process so that the test's own process never holds them.
``stock`` puts them on a local imitation of the Hub (``localhub.serve``), with three FFHQ shards of
synthetic faces, and fills the places lafr and torch look in for what does not come from the Hub: the
judges' weights in lafr's network cache, torchvision's VGG-16, AlexNet and ResNet-50 in torch's hub
cache, clean-fid's FFHQ statistics in pyiqa's, and the benchmarks (CelebA-Test, LFW-Test, WebPhoto-Test,
Wider-Test, the ImageNet samples) in lafr's dataset cache as a finished download leaves them: their
pinned checksums are the real zips', which no stand-in can have (``test_rehearsal.py`` serves one, and
checks that its checksum stops it).  It returns the environment a user's process would have: ``HF_ENDPOINT`` at
the server and empty caches.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
from localhub import ffhq_shard, folder_files

from lafr import config, data, datasets
from lafr.synthetic import synthetic_face

PAPER = config.PAPER
HERE = Path(__file__).resolve().parent


def build_world(root: Path) -> Path:
    """The large stand-ins under ``root`` (``sd21/``, ``ip-adapter/``, ``sadtalker/epoch_20.pth``)."""
    code = (
        "import sys; from pathlib import Path; import standins; root = Path(sys.argv[1]); "
        "standins.sd21_base(root / 'sd21'); standins.ip_adapter_image_encoder(root / 'ip-adapter'); "
        "standins.d3dfr_checkpoint(root / 'sadtalker' / 'epoch_20.pth'); "
        "standins.vgg16(root / 'torch'); standins.alexnet(root / 'torch'); standins.resnet50(root / 'torch'); "
        "standins.iqa_weights(root / 'iqa', root / 'torch')"
    )
    subprocess.run([sys.executable, "-c", code, str(root)], cwd=HERE, check=True, timeout=1200)
    return root


def _benchmark(cache: Path, name: str, roles: dict[str, int], size: int = 512, seed: int = 7) -> None:
    """A dataset cache as a finished download leaves it: each role's folder with ``n`` faces, and ``.complete``."""
    root = cache / name
    for role, n in roles.items():
        for i in range(n):
            face = synthetic_face(seed, 1000 + i, size)[0]
            data.save_image(
                face if role == "hq" else face.flip(-1), root / datasets.DATASETS[name].folders[role] / f"{i:08d}.png"
            )
    (root / ".complete").write_text("ok\n")


def stock(server, world: Path, tmp: Path, benchmark_faces: int = 8) -> dict:
    """Fill ``server`` and the caches under ``tmp``; return the environment of a user's process."""
    server.repos[("", PAPER.base_model)] = (PAPER.base_model_revision, folder_files(world / "sd21"))
    server.repos[("", PAPER.identity_net)] = ("1" * 40, folder_files(world / "ip-adapter"))
    server.repos[("", PAPER.structure_net)] = ("2" * 40, folder_files(world / "sadtalker"))
    ids = datasets.ffhq_draw(8)
    faces = {i: (synthetic_face(0, i, 128)[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8) for i in ids}
    shard = datasets.DATASETS["ffhq"].shards
    commit = shard["url"].split("/resolve/")[1].split("/")[0]
    server.repos[("datasets", "gaunernst/ffhq-1024-wds")] = (
        commit,
        {f"{k * 1000:05d}.tar": ffhq_shard(k * 1000, faces=faces) for k in sorted({i // 1000 for i in ids})},
    )
    for folder in sorted((world / "iqa").glob("*/*")):  # pyiqa's weights, and timm's ViT for MANIQA
        server.repos[("", folder.relative_to(world / "iqa").as_posix())] = ("3" * 40, folder_files(folder))
    import standins  # small files only: made in this process

    cache = tmp / "cache"
    standins.judges_files(cache / "networks")
    shutil.copytree(world / "torch", tmp / "torch", dirs_exist_ok=True)  # VGG-16, AlexNet, ResNet-50
    # clean-fid's FFHQ statistics (FID-F) come from its authors' site, not the Hub: put where pyiqa keeps them
    stats = tmp / "torch" / "hub" / "pyiqa" / "ffhq_clean_trainval70k_1024.npz"
    stats.parent.mkdir(parents=True, exist_ok=True)
    np.savez(stats, mu=np.zeros(2048), sigma=np.eye(2048))
    n = benchmark_faces
    _benchmark(cache, "celeba_test", {"hq": n, "lq": n})
    for name in ("lfw_test", "webphoto_test", "wider_test"):
        _benchmark(cache, name, {"lq": n}, size=256)
    natural = data.random_crops(data.packaged_natural_photos().values(), n, 256, 8)  # scikit-image's photos
    for i, image in enumerate(natural):
        data.save_image(
            image, cache / "imagenet_samples" / datasets.DATASETS["imagenet_samples"].folders["hq"] / f"{i}.jpg"
        )
    (cache / "imagenet_samples" / ".complete").write_text("ok\n")
    env = {k: v for k, v in os.environ.items() if k not in ("LAFR_OFFLINE", "HF_HUB_OFFLINE", "LAFR_BASE_MODEL")}
    env.update(
        HF_ENDPOINT=server.url,
        HF_HOME=str(tmp / "hf"),
        HF_HUB_DISABLE_XET="1",
        TORCH_HOME=str(tmp / "torch"),
        LAFR_CACHE=str(cache),
        LAFR_FIGURES=str(tmp / "figures"),
        PYTHONUNBUFFERED="1",
    )
    return env
