"""Resumable training state: weights, AdamW state and counters in one safetensors file.

The resumable training loops of lafr (stage 1 and stage 2 in ``lafr.train``, the toy prior in
``lafr.pretrain``) save their whole state here, so that a run stopped and resumed ends with exactly
the weights of an uninterrupted run.  A checkpoint is written to a temporary name and renamed, so a
crash never leaves half a checkpoint.  Taught in notebook 03.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file


def save_checkpoint(path: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer, state: dict) -> None:
    """Weights, AdamW state and counters in one safetensors file, written atomically."""
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    opt_state = optimizer.state_dict()
    scalars = {}
    for pid, st in opt_state["state"].items():
        for name, value in st.items():
            if torch.is_tensor(value) and value.dim() > 0:
                tensors[f"optimizer.{pid}.{name}"] = value.detach().cpu().contiguous()
            else:
                scalars[f"{pid}.{name}"] = float(value)
    meta = {
        "state": json.dumps(state),
        "optimizer_scalars": json.dumps(scalars),
        "param_groups": json.dumps(opt_state["param_groups"]),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    save_file(tensors, str(tmp), metadata=meta)
    os.replace(tmp, path)


def load_checkpoint(path: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> dict:
    """Restore what ``save_checkpoint`` wrote; returns the counters."""
    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        meta = f.metadata()
    tensors = load_file(str(path))
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")}, strict=True)
    opt_state = {"state": {}, "param_groups": json.loads(meta["param_groups"])}
    for key, value in tensors.items():
        if key.startswith("optimizer."):
            _, pid, name = key.split(".", 2)
            opt_state["state"].setdefault(int(pid), {})[name] = value
    for key, value in json.loads(meta["optimizer_scalars"]).items():
        pid, name = key.split(".", 1)
        opt_state["state"].setdefault(int(pid), {})[name] = torch.tensor(value)
    optimizer.load_state_dict(opt_state)
    return json.loads(meta["state"])


def read_state(path: Path) -> dict:
    """The counters ``save_checkpoint`` wrote (the step, the seconds trained so far, ...), without loading
    the weights; the training commands read it to report the whole time of a resumed run."""
    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        return json.loads(f.metadata()["state"])
