import csv

import pytest
import torch

from lafr import adapter as adapter_mod, train
from lafr.config import get_profile

CFG = get_profile("tiny", adapter_hidden=16, codebook_size=16, adapter_blocks=1, stage1_batch_size=8)


@pytest.fixture(scope="module")
def pairs():
    g = torch.Generator().manual_seed(0)
    z_hq = torch.randn(48, 4, 6, 6, generator=g)
    return z_hq + 0.3 * torch.randn(48, 4, 6, 6, generator=g), z_hq


def test_resume_reproduces_an_uninterrupted_run(pairs, tmp_path):
    z_lq, z_hq = pairs
    kw = dict(epochs=4, lr=1e-3, seed=3, reseed_every=5, checkpoint_every=4, progress=False)
    full, hist_full = train.train_adapter(CFG, z_lq, z_hq, tmp_path / "full", **kw)
    part, _ = train.train_adapter(CFG, z_lq, z_hq, tmp_path / "split", stop_after=9, **kw)
    assert not (tmp_path / "split" / "adapter").exists()  # stopped early: no final model yet
    resumed, _ = train.train_adapter(CFG, z_lq, z_hq, tmp_path / "split", resume=True, **kw)
    for (k, a), (_, b) in zip(full.state_dict().items(), resumed.state_dict().items()):
        assert torch.equal(a, b), k
    rows = list(csv.DictReader(open(tmp_path / "split" / "loss.csv")))
    assert [int(r["step"]) for r in rows] == list(range(1, len(hist_full) + 1))
    assert [float(r["loss"]) for r in rows] == pytest.approx([h["loss"] for h in hist_full], abs=1e-6)
    assert (tmp_path / "split" / "adapter" / "config.json").exists()


def test_training_reduces_the_latent_gap_in_both_modes(pairs, tmp_path):
    z_lq, z_hq = pairs
    for st in (True, False):
        model, hist = train.train_adapter(
            CFG.replace(argmin_straight_through=st),
            z_lq,
            z_hq,
            tmp_path / str(st),
            epochs=30,
            lr=3e-3,
            seed=0,
            progress=False,
        )
        assert hist[-1]["loss"] < 0.7 * hist[0]["loss"], (st, hist[0], hist[-1])


def test_checkpoint_is_written_atomically(pairs, tmp_path):
    z_lq, z_hq = pairs
    train.train_adapter(CFG, z_lq, z_hq, tmp_path, epochs=1, progress=False, checkpoint_every=2)
    assert (tmp_path / "checkpoint.safetensors").exists()
    assert not list(tmp_path.glob("*.tmp"))


def test_resume_without_checkpoint_is_a_clear_error(pairs, tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        train.train_adapter(CFG, *pairs, tmp_path, resume=True, progress=False)


def test_dead_entries_are_reseeded_onto_features():
    a = train.build_adapter(CFG)
    features = torch.randn(2, 16, 3, 3)
    counts = torch.zeros(16, dtype=torch.long)
    counts[0] = 18  # only entry 0 was chosen
    before = a.codebook[0].clone()
    moved = train.reseed_dead_entries(a, features, counts, torch.Generator().manual_seed(0))
    assert moved == 15
    pool = features.permute(0, 2, 3, 1).reshape(-1, 16)
    for row in a.codebook[1:]:
        assert (pool == row).all(1).any()
    assert torch.equal(a.codebook[0], before)  # a used entry stays where it is


def test_train_adapter_command_trains_stops_and_resumes(tmp_path):
    import time

    from interrupted import pretend_trained

    from lafr import checkpoints, cli, data
    from lafr.synthetic import synthetic_face

    faces = tmp_path / "faces"
    for i in range(16):
        data.save_image(synthetic_face(5, i, 64)[0], faces / f"{i:02d}.png")
    out = tmp_path / "run"
    common = [
        "train-adapter",
        "--data",
        str(faces),
        "--out",
        str(out),
        "--views",
        "2",
        "--epochs",
        "2",
        "--eval-faces",
        "8",
        "--device",
        "cpu",
    ]
    assert cli.main(common + ["--stop-after", "2"]) == 0
    assert (out / "checkpoint.safetensors").exists() and not (out / "adapter").exists()
    trained = checkpoints.read_state(out / "checkpoint.safetensors")
    assert trained["step"] == 2 and trained["seconds"] > 0  # the checkpoint counts the seconds trained
    pretend_trained(out / "checkpoint.safetensors", 1000.0)  # as if the first run had trained 1,000 s
    started = time.perf_counter()
    assert cli.main(common + ["--resume"]) == 0
    import json

    manifest = json.loads((out / "manifest.json").read_text())
    # the resumed run's time, and its checkpoint's count, include what the interrupted run had trained
    assert manifest["earlier_seconds"] == 1000.0
    # the manifest rounds to 0.1 s, so it may read up to 0.05 s more than the clock here saw
    assert 1000 < manifest["seconds"] <= 1000 + time.perf_counter() - started + 0.05
    assert 1000 < checkpoints.read_state(out / "checkpoint.safetensors")["seconds"] < manifest["seconds"]
    assert manifest["command"].startswith("lafr train-adapter --data")
    assert set(manifest["quality"]) >= {"l1_lq", "l1_aligned", "reduction", "perplexity", "used", "dead"}
    assert (out / "adapter" / "config.json").exists()
    assert manifest["adapter"]["residual"] is False and manifest["adapter"]["straight_through"] is True
    loaded, loaded_manifest = adapter_mod.load_trained_adapter(out)
    assert loaded_manifest == manifest and not loaded.config.residual
    # the stopped-and-resumed run ends with the same weights as an uninterrupted one
    full = tmp_path / "full"
    assert cli.main([a if a != str(out) else str(full) for a in common]) == 0
    uninterrupted, _ = adapter_mod.load_trained_adapter(full)
    for (k, a), (_, b) in zip(uninterrupted.state_dict().items(), loaded.state_dict().items()):
        assert torch.equal(a, b), k


def test_train_adapter_command_ablation_options(tmp_path):
    from lafr import cli, data
    from lafr.synthetic import synthetic_face

    faces = tmp_path / "faces"
    for i in range(16):
        data.save_image(synthetic_face(6, i, 64)[0], faces / f"{i:02d}.png")
    out = tmp_path / "run"
    assert (
        cli.main(
            [
                "train-adapter",
                "--data",
                str(faces),
                "--out",
                str(out),
                "--views",
                "1",
                "--epochs",
                "1",
                "--eval-faces",
                "4",
                "--device",
                "cpu",
                "--residual",
                "--soft",
                "--lr",
                "0.002",
            ]
        )
        == 0
    )
    import json

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["adapter"]["residual"] is True and manifest["adapter"]["straight_through"] is False
    assert manifest["lr"] == 0.002


def test_missing_trained_adapter_says_how_to_make_one(tmp_path):
    from lafr.models import ModelNotFoundError

    with pytest.raises(ModelNotFoundError, match="lafr train-adapter --out"):
        adapter_mod.load_trained_adapter(tmp_path / "nothing-here")


def test_learning_rate_schedules():
    assert train.lr_at(0, 100, 1e-3, "constant") == train.lr_at(99, 100, 1e-3, "constant") == 1e-3
    assert train.lr_at(0, 100, 1e-3, "cosine") == pytest.approx(1e-3)
    assert train.lr_at(50, 100, 1e-3, "cosine") == pytest.approx(5e-4)
    assert train.lr_at(100, 100, 1e-3, "cosine") == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="unknown learning-rate schedule 'linear'"):
        train.lr_at(0, 100, 1e-3, "linear")


def test_heldout_lq_images_are_the_photos_behind_the_heldout_latents():
    from lafr import data, models, vae as vae_io

    cfg = get_profile("tiny")
    vae = models.load_base(models.TOY_NAME).vae
    hq, z_lq, _ = train.heldout_pairs(vae, cfg, 6)
    lq = train.heldout_lq_images(hq, cfg)
    assert torch.allclose(vae_io.encode(vae, data.to_model(lq)), z_lq, atol=1e-5)  # the same draw, exactly
    other = train.heldout_lq_images(hq, cfg, seed=cfg.seed + 1)
    assert not torch.allclose(vae_io.encode(vae, data.to_model(other)), z_lq, atol=1e-3)
    bicubic = train.heldout_lq_images(hq, cfg, upsample="bicubic")
    assert bicubic.shape == lq.shape and 0 < (bicubic - lq).abs().mean() < 0.05


def test_heldout_outputs_are_every_system_on_the_same_heldout_photos(tmp_path):
    from lafr import pipeline, regions

    cfg = get_profile("tiny")
    # one ablation that is not trained: left out with a warning, the others kept
    cfg = cfg.replace(restorer_ablation_weights=(("missing", str(tmp_path / "none")), cfg.restorer_ablation_weights[0]))
    with pytest.warns(UserWarning, match="missing: not trained yet"):
        hq, outputs = train.heldout_outputs(cfg, 4, resizers=("bicubic",))
    label = cfg.restorer_ablation_weights[1][0]
    assert list(outputs) == [
        "LQ photo", "bicubic", "decode(z_LQ)", "adapter only", "LAFR (full method)", label, "decode(z_HQ)"
    ]  # fmt: skip
    assert torch.equal(hq, train.eight_bit(hq)) and not torch.equal(
        outputs["decode(z_HQ)"], train.eight_bit(outputs["decode(z_HQ)"])
    )
    full = pipeline.LAFRPipeline.from_pretrained(cfg.restorer_weights)
    _, z_lq, _ = train.heldout_pairs(full.vae, cfg.replace(degradation=cfg.test_degradation), 4)
    with torch.no_grad():
        ours = (full.decode(full.restore_latents(z_lq)) + 1) / 2
    assert torch.allclose(outputs["LAFR (full method)"], ours, atol=1e-5)  # the full method on the same photos
    psnr = {k: regions.psnr(v, hq).mean().item() for k, v in outputs.items()}
    assert psnr["decode(z_HQ)"] > psnr["LAFR (full method)"] > psnr["LQ photo"]
    _, without = train.heldout_outputs(cfg, 4, resizers=(), ablations=False)  # the same photos, no ablation
    assert list(without) == ["LQ photo", "decode(z_LQ)", "adapter only", "LAFR (full method)", "decode(z_HQ)"]
    assert all(torch.equal(without[k], outputs[k]) for k in without)


def test_python_dash_m_lafr_is_the_lafr_command():
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "-m", "lafr", "--help"], capture_output=True, text=True)
    assert run.returncode == 0 and "restore" in run.stdout and "train-lora" in run.stdout


def test_the_recipe_line_names_what_the_restorers_were_trained_with():
    cfg = get_profile("tiny")
    line = train.recipe(cfg)
    assert f"{cfg.train_images} training faces x {cfg.stage1_views} degraded views" in line
    assert f"{cfg.stage2_steps:,} stage-2 steps at batch {cfg.stage2_batch_size}, t = {cfg.timestep}" in line
    assert f"degradation '{cfg.degradation}'" in line
    other = train.recipe(cfg.replace(train_images=150, degradation="gfpgan", stage2_steps=900))  # it reads the profile
    assert "150 training faces" in other and "degradation 'gfpgan'" in other and "900 stage-2 steps" in other
