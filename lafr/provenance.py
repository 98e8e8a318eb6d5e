"""What a manifest records about the run that made a file: the code version and the machine.

Every committed weight file of the tiny profile, and every system ``lafr train-adapter`` or
``lafr train-lora`` writes, comes with a ``manifest.json`` saying how it was made.  These helpers
fill in the parts that are about the run rather than the method; notebook 02 reads the toy
models' manifests.
"""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]  # the repository, when lafr runs from a checkout


def git_version() -> str:
    """The commit lafr runs from, marked when ``lafr/*.py`` has uncommitted changes
    (``LAFR_CODE_VERSION`` when the checkout travels without its .git)."""
    if os.environ.get("LAFR_CODE_VERSION"):  # set when the checkout travels without its .git
        return os.environ["LAFR_CODE_VERSION"]
    try:
        git = ["git", "-C", str(ROOT)]
        rev = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(
            [*git, "status", "--porcelain", "--", "lafr/*.py"], capture_output=True, text=True
        ).stdout.strip()
        return rev + ("+uncommitted changes in lafr/*.py" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"


def machine(device) -> str:
    """What a training run ran on, for its manifest: the GPU's name, or the CPU cores and threads used."""
    if torch.device(device).type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{platform.machine()} CPU, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads"


def shown_path(path: str | os.PathLike) -> str:
    """A path as a manifest records it: relative to the repository when inside it (no machine paths)."""
    try:
        return str(Path(path).resolve().relative_to(ROOT))
    except ValueError:
        return str(path)
