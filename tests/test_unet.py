"""UNet pruning and conv-only LoRA (lafr.unet): the pruned and folded UNets give the unpruned one's
output, also with LoRA trained; LoRA targets exactly the layers A.2.2 names; its weights save and
load in peft's format; the counts at SD 2.1 size (meta device: no memory, no download)."""

import collections
import copy

import pytest
import torch
from diffusers import UNet2DConditionModel
from torch.utils._python_dispatch import TorchDispatchMode

from lafr import models, unet as unet_mod


@pytest.fixture(scope="module")
def toy():
    base = models.load_base(models.TOY_NAME)
    return base.unet.float(), base.prompt_embeds.float()


def _run(unet, prompt, z, t):
    with torch.no_grad():
        return unet(z, t, prompt.expand(len(z), -1, -1)).sample


@pytest.mark.parametrize("fold", [False, True])
def test_pruned_toy_unet_gives_the_unpruned_output(toy, fold):
    unet, prompt = toy
    z = torch.randn(3, 4, 16, 16, generator=torch.Generator().manual_seed(0))
    reference = _run(unet, prompt, z, 249)
    pruned = copy.deepcopy(unet)
    removed = unet_mod.prune_unet(pruned, prompt, 249, fold=fold)
    assert (_run(pruned, prompt, z, 249) - reference).abs().max() < 1e-5
    table = unet_mod.parameter_table(unet)
    left = sum(p.numel() for p in pruned.parameters())
    assert left == table["pruned and folded (ours)" if fold else "pruned (the paper's)"]
    assert sum(removed.values()) == sum(p.numel() for p in unet.parameters()) - left
    assert not any(isinstance(m, unet_mod.Constant) for m in unet.modules())  # the original is untouched
    with pytest.raises(ValueError, match="already pruned"):
        unet_mod.prune_unet(pruned, prompt, 249)


class _Ops(TorchDispatchMode):
    """Counts every aten op a forward pass runs (views included)."""

    def __init__(self):
        super().__init__()
        self.ops = collections.Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.ops[str(func.overloadpacket)] += 1
        return func(*args, **(kwargs or {}))


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("batch", [1, 3])
def test_folding_adds_no_work_only_removes_matrix_products(toy, dtype, batch):
    """Folding can only make a restoration faster: the folded UNet runs no op the pruned one does not,
    except ``expand`` (a view: no copy, no arithmetic), and it skips the matrix products of the folded
    layers. A stored constant that were copied, made contiguous or cast on every call would add ops
    here. (Timing cannot show this on a CPU: the products are 2% of the UNet's FLOPs at 256 px.)"""
    unet, prompt = toy
    ops = {}
    for fold in (False, True):
        pruned = copy.deepcopy(unet).to(dtype)
        unet_mod.prune_unet(pruned, prompt, 249, fold=fold)
        z = torch.randn(batch, 4, 16, 16, dtype=dtype)
        with torch.no_grad(), _Ops() as counted:
            pruned(z, torch.full((batch,), 249), prompt.to(dtype).expand(batch, -1, -1))
        ops[fold] = counted.ops
    assert set(ops[True] - ops[False]) <= {"aten.expand"}, ops[True] - ops[False]
    skipped = ops[False] - ops[True]
    assert skipped["aten.addmm"] + skipped["aten.mm"] + skipped["aten.bmm"] >= 25, skipped  # 11 + 14 layers


def test_the_baked_timestep_is_the_one_it_was_pruned_at(toy):
    """A pruned UNet answers for its own timestep only: at another timestep the unpruned UNet
    gives another output, the pruned one still its own (the time embedding is a constant)."""
    unet, prompt = toy
    z = torch.randn(2, 4, 16, 16, generator=torch.Generator().manual_seed(1))
    pruned = copy.deepcopy(unet)
    unet_mod.prune_unet(pruned, prompt, 249, fold=True)
    assert (_run(unet, prompt, z, 999) - _run(unet, prompt, z, 249)).abs().max() > 1e-3
    assert torch.allclose(_run(pruned, prompt, z, 999), _run(unet, prompt, z, 249), atol=1e-5)


def test_conv_lora_targets_exactly_the_named_layers_of_the_toy_unet(toy):
    unet, _ = toy
    targets = unet_mod.lora_targets(unet)
    convs = [n for n, m in unet.named_modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 50 and len(targets) == 36
    assert set(convs) - set(targets) == {n for n in convs if n.endswith(("proj_in", "proj_out"))}
    assert not any("norm" in t for t in targets)
    attention = unet_mod.lora_targets(unet, unet_mod.ATTENTION_NAMES)
    assert attention and all(t.split(".")[-1] in ("to_q", "to_k", "to_v") or t.endswith("to_out.0") for t in attention)


def test_lora_starts_as_a_no_op_trains_and_folding_stays_valid(toy, tmp_path):
    """Rank-4 conv LoRA on the toy UNet: 106,400 trainable parameters, the output unchanged before
    training; after a few optimiser steps the output has moved, the folded UNet still gives the
    unfolded one's output, and the LoRA weights alone save and load (peft's format)."""
    unet, prompt = toy
    unet = copy.deepcopy(unet)
    z = torch.randn(4, 4, 16, 16, generator=torch.Generator().manual_seed(2))
    before = _run(unet, prompt, z, 249)
    unet_mod.add_lora(unet, rank=4)
    assert unet_mod.trainable_parameters(unet) == 106_400
    assert torch.equal(_run(unet, prompt, z, 249), before)
    opt = torch.optim.AdamW([p for p in unet.parameters() if p.requires_grad], lr=1e-2)
    for _ in range(3):
        loss = unet(z, 249, prompt.expand(len(z), -1, -1)).sample.square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    trained = _run(unet, prompt, z, 249)
    assert (trained - before).abs().max() > 1e-3
    unet.save_lora_adapter(tmp_path)
    folded = copy.deepcopy(unet)
    unet_mod.prune_unet(folded, prompt, 249, fold=True)
    assert (_run(folded, prompt, z, 249) - trained).abs().max() < 1e-5
    fresh = models.load_base(models.TOY_NAME).unet.float()
    fresh.load_lora_adapter(tmp_path, prefix=None, weight_name="pytorch_lora_weights.safetensors")
    assert (_run(fresh, prompt, z, 249) - trained).abs().max() < 1e-6
    fresh.fuse_lora()
    assert (_run(fresh, prompt, z, 249) - trained).abs().max() < 1e-5
    fresh.unfuse_lora()
    assert (_run(fresh, prompt, z, 249) - trained).abs().max() < 1e-5


def test_add_lora_refuses_a_model_without_the_named_layers(toy):
    with pytest.raises(ValueError, match="no layer"):
        unet_mod.add_lora(copy.deepcopy(toy[0]), names=("nonexistent",))


def test_sd21_counts_on_the_meta_device():
    """At SD 2.1 size: 66 conv targets, 2,327,200 LoRA parameters (the paper's "2.3M"); pruning
    removes the time MLP (2.05M), folding a further 25.8M (time_emb_proj) and 25.6M (cross-attention
    keys and values)."""
    with torch.device("meta"):
        unet = UNet2DConditionModel(**models.SD21_UNET_CONFIG)
        table = unet_mod.parameter_table(unet, text_encoder=123)
        assert (
            len(unet_mod.lora_targets(unet)) == 66 == sum(1 for m in unet.modules() if isinstance(m, torch.nn.Conv2d))
        )
        unet_mod.add_lora(unet, rank=4)
    assert unet_mod.trainable_parameters(unet) == 2_327_200
    total = 865_910_724
    assert table["unpruned (UNet + text encoder)"] == total + 123
    assert table["pruned (the paper's)"] == total - 2_050_560
    assert table["pruned and folded (ours)"] == total - 2_050_560 - 25_824_960 - 25_559_040


def test_attention_lora_for_table_7_targets_every_attention_projection():
    """Table 7's other group: query, key, value and output projections of every attention (self and
    cross). At SD 2.1 size: 32 attention modules, 128 linear layers; LoRA adds rank x (in + out) each."""
    from diffusers.models.attention_processor import Attention

    with torch.device("meta"):
        unet = UNet2DConditionModel(**models.SD21_UNET_CONFIG)
        targets = unet_mod.lora_targets(unet, unet_mod.ATTENTION_NAMES)
        layers = dict(unet.named_modules())
        expected = sum(4 * (layers[t].in_features + layers[t].out_features) for t in targets)
        unet_mod.add_lora(unet, rank=4, names=unet_mod.ATTENTION_NAMES)
    assert len(targets) == 4 * sum(1 for m in layers.values() if isinstance(m, Attention)) == 128
    assert all(isinstance(layers[t], torch.nn.Linear) for t in targets)
    assert unet_mod.trainable_parameters(unet) == expected == 829_952
