import torch

from lafr import models, pretrain


def test_prior_training_resumes_exactly(tmp_path, monkeypatch):
    monkeypatch.setattr(models, "TOY_UNET_CONFIG", {**models.TOY_UNET_CONFIG, "block_out_channels": (16, 16, 32)})
    latents = torch.randn(20, 4, 8, 8, generator=torch.Generator().manual_seed(0))
    emb = torch.randn(models.TOY_PROMPT_SHAPE)
    kw = dict(batch_size=4, lr=1e-3, device="cpu", seed=0, checkpoint_every=3, log=lambda *a: None)
    full, done, _ = pretrain.train_prior(latents, emb, 6, **kw)
    state = tmp_path / "state.safetensors"
    pretrain.train_prior(latents, emb, 3, state_file=state, **kw)  # runs to step 3 and saves
    resumed, done2, _ = pretrain.train_prior(latents, emb, 6, state_file=state, resume=True, **kw)
    assert done == done2 == 6
    for (k, a), (_, b) in zip(full.state_dict().items(), resumed.state_dict().items()):
        assert torch.equal(a, b), k
