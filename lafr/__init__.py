"""lafr: LAFR reproduced and taught.  The package holds two things every module may need:

* where the repository lives (``REPOSITORY``): the notebooks' Colab badges and setup cells and the
  README's badges are made from it by ``tools/notebook_setup.py``;
* ``keep_on_drive``: on Colab, training runs and lafr's, the Hub's and torch's caches on Google
  Drive, so that a new session finds them (the notebooks' setup cell offers it);
* filters for a few lines of library noise that students would read as errors.
"""

import logging
import warnings

REPOSITORY = "lafr-course/lafr"  # owner/name on GitHub; after changing it, run tools/notebook_setup.py
BRANCH = "main"


def repository_url() -> str:
    """The repository's address on GitHub."""
    return f"https://github.com/{REPOSITORY}"


def pip_requirement(extras: tuple[str, ...] = ()) -> str:
    """What the notebooks' setup cell gives ``pip install`` on Colab, e.g. ``lafr @ git+https://...@main``."""
    name = f"lafr[{','.join(extras)}]" if extras else "lafr"
    return f"{name} @ git+{repository_url()}@{BRANCH}"


def colab_url(notebook: str) -> str:
    """The address that opens ``notebooks/<notebook>`` of the repository on Colab (the badges);
    ``notebook`` may lie in a subfolder: ``exercises/01_exercises.ipynb``."""
    return f"https://colab.research.google.com/github/{REPOSITORY}/blob/{BRANCH}/notebooks/{notebook}"


DRIVE = "/content/drive/MyDrive/lafr"  # where keep_on_drive keeps things on Colab


def keep_on_drive(root: str = DRIVE, mount: bool = True, cwd: str = ".") -> dict:
    """Keep ``runs/`` and the caches under ``root`` (on Colab: a folder of Google Drive), so that a new
    Colab session resumes where the last one stopped (``lafr train-lora ... --resume``).

    Mounts Drive at ``/content/drive`` when ``mount`` (Colab asks for permission), then points
    ``LAFR_CACHE`` (datasets, FFHQ's faces, the judges' weights), ``HF_HOME`` (SD 2.1, IP-Adapter,
    D3DFR) and ``TORCH_HOME`` (torchvision's and pyiqa's weights) into ``root``, and makes
    ``cwd/runs`` a link to ``root/runs``.  Call it before anything downloads (the setup cell does):
    the Hub's client reads ``HF_HOME`` when it is first imported.  An existing ``runs`` folder that is
    not that link is left alone, with an error saying so.  Returns the paths it set.  The notebooks'
    setup cell calls it when ``keep_on_drive = True``; the README says how to resume there."""
    import os
    from pathlib import Path

    if mount:
        from google.colab import drive

        drive.mount("/content/drive")
    root_path = Path(root).expanduser()
    paths = {"LAFR_CACHE": root_path / "cache", "HF_HOME": root_path / "huggingface", "TORCH_HOME": root_path / "torch"}
    runs, target = Path(cwd) / "runs", root_path / "runs"
    if runs.is_symlink() and runs.resolve() != target.resolve() or runs.exists() and not runs.is_symlink():
        raise FileExistsError(
            f"{runs.resolve()} already exists and is not a link to {target}: move what it holds into {target} "
            f"(or elsewhere) and run again; nothing was changed"
        )
    for path in (*paths.values(), target):
        path.mkdir(parents=True, exist_ok=True)
    if not runs.is_symlink():
        runs.symlink_to(target, target_is_directory=True)
    for name, path in paths.items():
        os.environ[name] = str(path)
    return {**{k: str(v) for k, v in paths.items()}, "runs": str(target)}


# Importing diffusers imports bitsandbytes, which warns (in red, on CPUs with AVX-512 bf16) that an
# optional 4-bit CPU kernel is missing: lafr never uses 4-bit weights.  Drop that one message only.
logging.getLogger("bitsandbytes.backends.cpu.ops").addFilter(
    lambda record: not str(record.msg).startswith("Failed to load CPU gemm_4bit_forward")
)
# Offline, the ``kernels`` package that bitsandbytes asks for that kernel warns that it cannot check
# the kernel's publisher: about the same unused kernel.  Drop that one message only.
logging.getLogger("kernels._internals.hf_hub").addFilter(
    lambda record: "kernels-community/quantization-bitsandbytes" not in str(record.msg)
)

# diffusers passes huggingface_hub an argument that it has deprecated, on every hub download: a
# warning about diffusers, not about lafr or its user.  Drop that one warning only.
warnings.filterwarnings("ignore", message="The `local_dir_use_symlinks` argument is deprecated", category=UserWarning)
