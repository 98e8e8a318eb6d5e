"""LAFRPipeline (lafr.pipeline): the restoration is the formula it says, any input size comes back
at its own size, batches and single images agree, it is deterministic, and the trained system
saves and loads (adapter, LoRA, prompt embedding, base model's name)."""

import json

import pytest
import torch

from lafr import adapter as adapter_mod, models, pipeline, train, vae as vae_io
from lafr.synthetic import HELDOUT_OFFSET, synthetic_face

T = 249


def _pipe(lora_rank=None, adapter=True):
    base = models.load_base(models.TOY_NAME)
    ad = adapter_mod.load_trained_adapter("lafr-toy-adapter")[0].eval() if adapter else None
    pipe = pipeline.LAFRPipeline.from_base(base, T, 64, adapter=ad, lora_rank=lora_rank)
    if lora_rank:
        with torch.no_grad():
            for name, p in pipe.unet.named_parameters():
                if "lora_B" in name:  # as if trained: LoRA starts at zero and would change nothing
                    p.normal_(0, 0.01, generator=torch.Generator().manual_seed(len(name)))
    return pipe


@pytest.fixture(scope="module")
def faces():
    return torch.stack([synthetic_face(0, HELDOUT_OFFSET + i, 64)[0] for i in range(4)])


def test_it_is_the_one_step_formula(faces):
    """encode -> adapter -> UNet once at t (unpruned, from the base) -> x0 formula -> decode."""
    pipe = _pipe()
    base = models.load_base(models.TOY_NAME)
    adapter = adapter_mod.load_trained_adapter("lafr-toy-adapter")[0].eval()
    with torch.no_grad():
        z = adapter(vae_io.encode(base.vae, faces * 2 - 1))
        eps = base.unet(z, T, base.prompt_embeds.expand(len(z), -1, -1)).sample
        a = base.scheduler.alphas_cumprod[T]
        expected = (vae_io.decode(base.vae, (z - (1 - a).sqrt() * eps) / a.sqrt()) + 1) / 2
    assert (pipe(faces) - expected).abs().max() < 1e-4


def test_any_size_comes_back_at_its_own_size_and_batches_agree(faces):
    pipe = _pipe()
    odd = [torch.rand(3, 100, 80, generator=torch.Generator().manual_seed(0)), faces[0], torch.rand(3, 31, 47)]
    out = pipe(odd, batch_size=2)
    assert [tuple(o.shape) for o in out] == [(3, 100, 80), (3, 64, 64), (3, 31, 47)]
    assert all(0 <= float(o.min()) and float(o.max()) <= 1 for o in out)
    batched = pipe(faces, batch_size=4)
    single = torch.cat([pipe(faces[i : i + 1]) for i in range(len(faces))])
    assert torch.allclose(batched, single, atol=1e-5) and torch.equal(pipe(faces), batched)  # deterministic
    with pytest.raises(ValueError, match="channels"):
        pipe([torch.rand(1, 64, 64)])
    with pytest.raises(ValueError, match="N x 3 x H x W"):
        pipe(torch.rand(3, 64, 64))


def test_bf16_runs_and_stays_close(faces):
    pipe = _pipe()
    full = pipe(faces)
    half = pipe.to(dtype=torch.bfloat16)(faces)
    assert half.dtype == torch.float32 and (half - full).abs().mean() < 0.02


def test_save_and_load_the_trained_system(faces, tmp_path):
    pipe = _pipe(lora_rank=4)
    restored = pipe(faces)
    assert (restored - _pipe()(faces)).abs().max() > 1e-3  # the LoRA weights matter
    pipe.save_pretrained(tmp_path / "system")
    config = json.loads((tmp_path / "system" / pipeline.CONFIG_NAME).read_text())
    assert config == {
        "base_model": models.TOY_NAME,
        "timestep": T,
        "resolution": 64,
        "adapter": "adapter",
        "lora": {"rank": 4, "names": list(pipeline.unet_mod.CONV_NAMES)},
    }
    loaded = pipeline.LAFRPipeline.from_pretrained(tmp_path / "system")
    assert (loaded(faces) - restored).abs().max() < 1e-5
    # a committed adapter by name, not a copy, and the LoRA weights in float16: small files, same system
    pipe.save_pretrained(tmp_path / "small", adapter_name="lafr-toy-adapter", lora_dtype=torch.float16)
    assert not (tmp_path / "small" / "adapter").exists()
    assert json.loads((tmp_path / "small" / pipeline.CONFIG_NAME).read_text())["adapter"] == "lafr-toy-adapter"
    small = pipeline.LAFRPipeline.from_pretrained(tmp_path / "small")
    assert (small(faces) - restored).abs().max() < 2e-3
    assert (tmp_path / "small" / "unet_lora" / "pytorch_lora_weights.safetensors").stat().st_size < 0.6 * (
        tmp_path / "system" / "unet_lora" / "pytorch_lora_weights.safetensors"
    ).stat().st_size
    with pytest.raises(ValueError, match="adapter_name"):
        pipe.save_pretrained(tmp_path / "bad", adapter_name="my-adapter")
    with pytest.raises(ValueError, match="not 'lafr-toy-adapter-residual'"):  # a name must be the truth
        pipe.save_pretrained(tmp_path / "bad", adapter_name="lafr-toy-adapter-residual")
    with pytest.raises(FileNotFoundError, match="lafr_pipeline.json"):
        pipeline.LAFRPipeline.from_pretrained(tmp_path)


def test_restoring_and_decoding_in_batches_changes_nothing(faces):
    """restore_latents and decode take batch_size (SD 2.1 at 512 px cannot decode 128 faces at once);
    the result is the same, and so is evaluate_restorer's, which runs the loss in batches."""
    from lafr import data, losses
    from lafr.config import get_profile

    pipe = _pipe(lora_rank=4)
    with torch.no_grad():
        z = vae_io.encode(pipe.vae, faces * 2 - 1)
        whole = pipe.decode(pipe.restore_latents(z))
        batched = pipe.decode(pipe.restore_latents(z, batch_size=3), batch_size=3)
    assert whole.shape == batched.shape and (whole - batched).abs().max() < 1e-5
    loss = losses.build_loss(get_profile("tiny"))
    landmarks = data.face_landmarks("synthetic", 4, 64, seed=0)
    images = (whole + 1) / 2
    one, three = (train.evaluate_restorer(images, faces, landmarks, loss, batch_size=b) for b in (4, 3))
    assert one == pytest.approx(three, rel=1e-4, abs=1e-6)
    assert train.evaluate_restorer(faces, faces, landmarks, loss)["mse"] == 0
