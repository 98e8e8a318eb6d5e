import torch

from lafr import models, pretrain, pretrain_decoder, regions


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


def test_region_masks_are_boxes_on_the_landmarks():
    from lafr.synthetic import LANDMARK_NAMES

    _, pts = pretrain.make_faces(0, 2, 64, offset=100_000, landmarks=True)
    masks = regions.region_masks(pts, 64)
    assert masks["eyes"].shape == (2, 1, 64, 64)
    assert int(masks["eyes"][0].sum()) == 2 * 12 * 8 and int(masks["mouth"][0].sum()) == 16 * 8
    x, y = pts[0, LANDMARK_NAMES.index("eye_left")].round().long()
    assert masks["eyes"][0, 0, y, x] and not masks["eyes"][0, 0, y, x + 8]
    # at twice the size, the boxes scale with the face
    _, pts128 = pretrain.make_faces(0, 1, 128, offset=100_000, landmarks=True)
    assert int(regions.region_masks(pts128, 128)["eyes"].sum()) == 2 * 24 * 16
    latent = regions.latent_regions(pts, 64, 4)
    assert latent.shape == (2, 16, 16) and 0 < int(latent[0].sum()) < 40


def test_region_psnr_sees_damage_the_whole_face_hides():
    hq, pts = pretrain.make_faces(0, 4, 64, offset=100_000, landmarks=True)
    hq = hq.float() / 255
    damaged = hq.clone()
    eyes = regions.region_masks(pts, 64)["eyes"].expand_as(hq)
    damaged[eyes] = 0.5  # grey out the eyes only
    r = regions.region_psnr(damaged, hq, pts)
    assert float(r["eyes"].mean()) < 15 < float(r["face"].mean())
    assert torch.isinf(r["mouth"]).all() or float(r["mouth"].min()) > 90  # the mouth is untouched


def test_decoder_finetuning_keeps_the_encoder(monkeypatch):
    monkeypatch.setattr(models, "TOY_VAE_CONFIG", {**models.TOY_VAE_CONFIG, "block_out_channels": (16, 16, 16)})
    vae = models.build_toy_vae()
    before = {k: v.clone() for k, v in vae.state_dict().items()}
    faces, pts = pretrain.make_faces(0, 8, 64, landmarks=True)
    tuned, steps, history = pretrain_decoder.finetune_decoder(
        vae, faces, pts, 3, 4, 1e-3, "cpu", 0, warmup=1, log=lambda *a: None
    )
    assert steps == 3 and history
    after = tuned.state_dict()
    for k, v in before.items():
        if k.startswith(("encoder.", "quant_conv.")):  # fails if the encoder is put in the graph and trained
            assert torch.equal(v, after[k]), k
    assert any(not torch.equal(v, after[k]) for k, v in before.items() if k.startswith("decoder.")), (
        "the decoder did not train"
    )
