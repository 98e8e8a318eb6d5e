"""The one-step UNet of stage 2: pruning (Sec. 3.1, Table 7 #3 vs #4) and conv-only LoRA (Sec. 3.1, A.2.2).

**Pruning.** LAFR runs its UNet once, at one fixed timestep, with one fixed prompt ("face, high
quality"). Everything that depends only on the timestep or the prompt is a constant. The paper
computes it once and keeps it: "removing text and timestep embedding modules, which are
precomputed and saved as static tensors" (Sec. 3.1). Three levels, each smaller than the last:

1. **unpruned**: the text encoder embeds the prompt on every call; the UNet embeds the timestep.
2. **pruned** (the paper's): the prompt embedding and the timestep embedding are stored tensors.
   The text encoder and the UNet's ``time_embedding`` MLP are gone (``models.load_base`` already
   keeps only the prompt's embedding).
3. **folded** (beyond the paper): stage 2 trains LoRA on convolutions only, so two more parts of
   the UNet only ever see constants and stay frozen. They are each ResNet block's
   ``time_emb_proj`` (a linear map of the timestep embedding) and each cross-attention's keys and
   values (linear maps of the prompt embedding). Their outputs are stored too.

All three levels give the same output, to float precision. A test checks this, also after LoRA is
attached and trained: LoRA never touches the folded layers.

**Conv-only LoRA.** The paper freezes "all layers except those named with “conv”" and applies
LoRA with rank 4 to them (Sec. 3.1). A.2.2 names them: ``conv_in``, ``conv1``, ``conv2``,
``conv_shortcut``, ``conv`` (of the down- and upsamplers) and ``conv_out``. This module matches those
names exactly; a loose pattern such as ``.*conv.*`` would also catch ``conv_norm_out``, a GroupNorm.
At SD 2.1 size that is all 66 ``Conv2d`` layers (2,327,200 LoRA parameters). The toy UNet has 50
``Conv2d`` layers, because its attention blocks project with 1x1 convolutions (``proj_in``,
``proj_out``) where SD 2.1 uses linear layers; the names give 36 of them. LoRA itself comes from peft,
through diffusers' adapter methods (``add_adapter``, ``save_lora_adapter``, ``load_lora_adapter``,
``fuse_lora``, ``unfuse_lora``).

Taught in notebook 05.
"""

from __future__ import annotations

import torch
import torch.nn as nn
from diffusers import UNet2DConditionModel
from diffusers.models.attention_processor import Attention
from diffusers.models.resnet import ResnetBlock2D

# ---- pruning ---------------------------------------------------------------------------------------


class Constant(nn.Module):
    """A stored tensor in place of a layer whose input never changes. Whatever it is given, it
    returns the stored value, repeated along the batch (first) dimension of its input."""

    def __init__(self, value: torch.Tensor):
        super().__init__()
        self.register_buffer("value", value.detach().clone())

    def forward(self, x: torch.Tensor, *args, **kwargs) -> torch.Tensor:
        return self.value.to(x.dtype).expand(x.shape[0], *self.value.shape[1:])


def _count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@torch.no_grad()
def prune_unet(
    unet: UNet2DConditionModel, prompt_embeds: torch.Tensor, timestep: int, fold: bool = False
) -> dict[str, int]:
    """Bake the fixed timestep into ``unet``, in place. With ``fold``, bake the fixed prompt in too.

    Replaces ``time_embedding`` by its output at ``timestep``. With ``fold=True`` it also replaces
    each ResNet block's ``time_emb_proj`` and each cross-attention's ``to_k`` and ``to_v`` by their
    outputs for that timestep and ``prompt_embeds`` (1 x T x D). Afterwards call the UNet as before,
    with the same timestep and prompt embedding. Once folded, only the prompt embedding's shape is
    read. Returns how many parameters each part removed. Taught in notebook 05."""
    if any(isinstance(m, Constant) for m in unet.modules()):
        raise ValueError("this UNet is already pruned; prune a fresh copy")
    device, dtype = unet.device, unet.dtype
    prompt = prompt_embeds.to(device, dtype)
    t_emb = unet.get_time_embed(sample=prompt, timestep=torch.tensor([timestep], device=device)).to(dtype)
    emb = unet.time_embedding(t_emb, None)
    removed = {"time_embedding": _count(unet.time_embedding)}
    unet.time_embedding = Constant(emb)
    if not fold:
        return removed
    removed.update({"time_emb_proj": 0, "cross-attention keys and values": 0})
    for module in list(unet.modules()):
        if isinstance(module, ResnetBlock2D) and isinstance(module.time_emb_proj, nn.Linear):
            temb = emb if module.skip_time_act else module.nonlinearity(emb)
            removed["time_emb_proj"] += _count(module.time_emb_proj)
            module.time_emb_proj = Constant(module.time_emb_proj(temb))
        if isinstance(module, Attention) and module.is_cross_attention and isinstance(module.to_k, nn.Linear):
            removed["cross-attention keys and values"] += _count(module.to_k) + _count(module.to_v)
            module.to_k, module.to_v = Constant(module.to_k(prompt)), Constant(module.to_v(prompt))
    return removed


def parameter_table(unet: UNet2DConditionModel, text_encoder: int | nn.Module = 0) -> dict[str, int]:
    """Parameters at each pruning level, counted on an unpruned ``unet`` (which can live on the meta
    device), plus the text encoder's (a module, or its count) for the unpruned level. Taught in
    notebook 05."""
    te = text_encoder if isinstance(text_encoder, int) else _count(text_encoder)
    total = _count(unet)
    time_mlp = _count(unet.time_embedding)
    time_proj = sum(
        _count(m.time_emb_proj) for m in unet.modules() if isinstance(m, ResnetBlock2D) and m.time_emb_proj is not None
    )
    kv = sum(
        _count(m.to_k) + _count(m.to_v) for m in unet.modules() if isinstance(m, Attention) and m.is_cross_attention
    )
    return {
        "unpruned (UNet + text encoder)": total + te,
        "pruned (the paper's)": total - time_mlp,
        "pruned and folded (ours)": total - time_mlp - time_proj - kv,
    }


# ---- conv-only LoRA --------------------------------------------------------------------------------

# The layer names A.2.2 lists. A Conv2d whose name ends in one of them is a target.
CONV_NAMES = ("conv_in", "conv1", "conv2", "conv_shortcut", "conv", "conv_out")
# Table 7's other group: the attention projections (query, key, value, output).
ATTENTION_NAMES = ("to_q", "to_k", "to_v", "to_out.0")


def lora_targets(unet: nn.Module, names=CONV_NAMES) -> list[str]:
    """Full names of the layers LoRA adapts: every ``Conv2d`` or ``Linear`` whose name ends in one
    of ``names``. Layers replaced by constants (``prune_unet(fold=True)``) are not layers any more,
    so they are never targets. Taught in notebook 05."""
    out = []
    for full, module in unet.named_modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)) and any(full == n or full.endswith("." + n) for n in names):
            out.append(full)
    return out


def add_lora(
    unet: UNet2DConditionModel, rank: int = 4, names=CONV_NAMES, alpha: float | None = None, seed: int = 0
) -> list[str]:
    """Freeze ``unet`` and attach LoRA adapters of ``rank`` (peft, through diffusers'
    ``add_adapter``) to ``lora_targets(unet, names)``. LoRA's B matrices start at zero, so the
    output is unchanged until training moves them; its A matrices start random, drawn from a
    generator seeded with ``seed`` (the same start on every run). ``alpha`` defaults to the rank
    (scale 1). Returns the target names. Taught in notebook 05."""
    from peft import LoraConfig

    targets = lora_targets(unet, names)
    if not targets:
        raise ValueError(f"no layer of this UNet is named {names}")
    unet.requires_grad_(False)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        unet.add_adapter(LoraConfig(r=rank, lora_alpha=alpha or rank, target_modules=targets, init_lora_weights=True))
    return targets


def trainable_parameters(module: nn.Module) -> int:
    """How many parameters would train (``requires_grad``). Taught in notebook 05."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
