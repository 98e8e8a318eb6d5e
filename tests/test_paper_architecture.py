"""The paper profile's code path at full size, without weights or network: SD 2.1-sized VAE, UNet
and text encoder with random weights are saved in the diffusers layout, loaded through
``models.load_base`` (the prompt embedded by the text encoder, then dropped), and run through two
steps of stage 1, two steps of stage 2, a restoration and a save/load of the trained system.
Slow (about a minute, 10 GB of memory); no GPU needed."""

import pytest
import torch
from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

from lafr import config, losses, models, pipeline, train, unet as unet_mod


def _tokenizer():
    """A CLIP tokenizer with a letters-only vocabulary (no merges): enough to tokenize the prompt
    offline. SD 2.1's real tokenizer is a download; the text encoder does not care which ids it gets."""
    letters = "abcdefghijklmnopqrstuvwxyz,"
    vocab = {c: i for i, c in enumerate(letters)} | {c + "</w>": 100 + i for i, c in enumerate(letters)}
    vocab |= {"<|startoftext|>": 49406, "<|endoftext|>": 49407}
    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77)


@pytest.fixture(scope="module")
def sd21_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sd21-random")
    torch.manual_seed(0)
    AutoencoderKL(**models.SD21_VAE_CONFIG).save_pretrained(folder / "vae")
    UNet2DConditionModel(**models.SD21_UNET_CONFIG).save_pretrained(folder / "unet")
    CLIPTextModel(CLIPTextConfig(**models.SD21_TEXT_ENCODER_CONFIG)).save_pretrained(folder / "text_encoder")
    _tokenizer().save_pretrained(folder / "tokenizer")
    DDPMScheduler(**models.SD21_SCHEDULER_CONFIG).save_pretrained(folder / "scheduler")
    return folder


def test_paper_architecture_end_to_end_on_random_weights(sd21_folder, tmp_path):
    cfg = config.PAPER.replace(resolution=64, stage1_epochs=1, stage1_batch_size=2, stage2_batch_size=2)
    base = models.load_base(str(sd21_folder), prompt=cfg.prompt)
    assert base.prompt_embeds.shape == (1, 77, 1024)
    assert round(sum(p.numel() for p in base.unet.parameters()) / 1e6, 1) == 865.9
    faces = train.to_uint8(torch.rand(4, 3, 64, 64, generator=torch.Generator().manual_seed(0)))

    # stage 1: the paper-sized adapter, two steps
    z_lq, z_hq = train.latent_pairs(base.vae, faces, "tiny", views=1)
    assert z_lq.shape == (4, 4, 8, 8)
    adapter, history = train.train_adapter(cfg, z_lq, z_hq, tmp_path / "stage1", progress=False)
    assert len(history) == 2 and all(h["loss"] == h["loss"] for h in history)  # ran, no NaN
    adapter.eval()

    # stage 2: conv-only LoRA (2,327,200 parameters) on the pruned, folded UNet, two steps
    pipe = pipeline.LAFRPipeline.from_base(base, cfg.timestep, 64, adapter=adapter, lora_rank=cfg.lora_rank)
    assert unet_mod.trainable_parameters(pipe.unet) == 2_327_200
    z_in = train.stage2_inputs(pipe, faces, "tiny", views=1)
    loss = losses.build_loss(config.TINY)  # offline loss networks; CLIP and D3DFR are downloads
    history = train.train_lora(cfg, pipe, loss, z_in, faces, tmp_path / "stage2", steps=2, progress=False)
    assert len(history) == 2 and all(h["total"] == h["total"] for h in history)

    # restore, save, load
    lq = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    restored = pipe(lq)
    assert restored.shape == lq.shape and 0 <= float(restored.min()) and float(restored.max()) <= 1
    loaded = pipeline.LAFRPipeline.from_pretrained(tmp_path / "stage2" / "system")
    assert (loaded(lq) - restored).abs().max() < 1e-4
