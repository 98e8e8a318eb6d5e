"""lafr: LAFR reproduced and taught.  The package holds two things every module may need:

* where the repository lives (``REPOSITORY``): the notebooks' Colab badges and setup cells and the
  README's badges are made from it by ``tools/notebook_setup.py``;
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
    """The address that opens ``notebooks/<notebook>`` of the repository on Colab (the badges)."""
    return f"https://colab.research.google.com/github/{REPOSITORY}/blob/{BRANCH}/notebooks/{notebook}"


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
