"""Hub models the way a user gets them: a fresh Python process with HF_ENDPOINT pointing at a local
imitation of the Hub (``tests/localhub.py``) and an empty Hugging Face cache.  The paper profile's
base model is fetched at its pinned revision; a Hub that lacks that revision, or refuses, gives an
error that names the revision and the mirror to try."""

import os
import shutil
import subprocess
import sys

import pytest
import standins
from localhub import folder_files

from lafr import config, models

SD = config.PAPER.base_model
PINNED = config.PAPER.base_model_revision
LOAD = "from lafr import models; b = models.load_base({!r}); print('loaded', b.source, type(b.unet).__name__)"


def _run(code: str, server, tmp_path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("LAFR_OFFLINE", "HF_HUB_OFFLINE", "LAFR_BASE_MODEL")}
    env.update(HF_ENDPOINT=server.url, HF_HOME=str(tmp_path / "hf"), HF_HUB_DISABLE_XET="1")
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture
def sd_repo(server, tmp_path):
    """The toy VAE and UNet with CLIP's tokenizer and a small random text encoder, served in SD 2.1's
    place (its diffusers layout) at the pinned commit."""
    repo = tmp_path / "repo"
    shutil.copytree(models.TOY_DIR, repo, ignore=shutil.ignore_patterns("prompt_embeds.safetensors", "manifest.json"))
    standins.clip_tokenizer(repo / "tokenizer")
    standins.clip_text_encoder(repo / "text_encoder", hidden=64, layers=1, heads=2)  # the toy UNet's 64-D context
    server.repos[("", SD)] = (PINNED, folder_files(repo))
    return server


def test_the_base_model_is_fetched_at_its_pinned_revision(sd_repo, tmp_path):
    out = _run(LOAD.format(SD), sd_repo, tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert f"loaded {SD} UNet2DConditionModel" in out.stdout
    revisions = {path.split("/resolve/")[1].split("/")[0] for path, _ in sd_repo.requests if "/resolve/" in path}
    assert revisions == {PINNED}  # never "main"
    assert (tmp_path / "hf" / "hub" / f"models--{SD.replace('/', '--')}" / "snapshots" / PINNED).is_dir()


def test_a_hub_without_the_revision_names_it_and_the_mirror(sd_repo, tmp_path):
    sd_repo.repos[("", SD)] = ("0" * 40, sd_repo.repos[("", SD)][1])  # upstream moved on, the pinned commit gone
    out = _run(LOAD.format(SD), sd_repo, tmp_path)
    assert out.returncode != 0
    assert f"at revision {PINNED}" in out.stderr and "LAFR_BASE_MODEL=Manojb/stable-diffusion-2-1-base" in out.stderr
    sd_repo.refuse = 503
    out = _run(LOAD.format(SD), sd_repo, tmp_path)
    assert out.returncode != 0 and "ModelNotFoundError" in out.stderr and "Manojb" in out.stderr
