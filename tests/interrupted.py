"""An interrupted training run, as the tests stage it: rewrite the counters in a checkpoint that
``lafr.checkpoints.save_checkpoint`` wrote (the weights stay as they are), so that a test can tell
whether a resumed run carries them on."""

import json
from pathlib import Path

from safetensors import safe_open
from safetensors.torch import load_file, save_file


def pretend_trained(checkpoint: Path, seconds: float) -> None:
    """Make ``checkpoint`` say that the run had trained ``seconds`` before it stopped."""
    with safe_open(str(checkpoint), "pt") as f:
        meta = f.metadata()
    state = json.loads(meta["state"])
    meta["state"] = json.dumps({**state, "seconds": seconds})
    save_file(load_file(str(checkpoint)), str(checkpoint), metadata=meta)
