"""The committed toy adapters (paper form and the skip-connection ablation): they load, their
manifests say how they were made, and the quality the manifests report is what they measure now.

CI never retrains them (``lafr train-adapter --profile tiny --out lafr/weights/toy_adapter`` does, in
about 40 minutes on 2 CPU cores)."""

import pytest

from lafr import adapter as adapter_mod, models, train
from lafr.config import get_profile

CFG = get_profile("tiny")


@pytest.fixture(scope="module")
def heldout_pairs():
    """The held-out pairs `lafr train-adapter` measures on: 128 faces, one degraded view each."""
    return train.heldout_pairs(models.load_base(models.TOY_NAME).vae, CFG, 128)[1:]


@pytest.mark.parametrize("name,residual", [(CFG.adapter_weights, False), (CFG.adapter_ablation_weights, True)])
def test_committed_adapter_matches_its_manifest(name, residual, heldout_pairs):
    adapter, manifest = adapter_mod.load_trained_adapter(name)
    assert manifest["command"].startswith("lafr train-adapter --profile tiny")
    assert manifest["code_version"] and manifest["seconds"] > 0 and manifest["profile"] == "tiny"
    assert adapter.config.residual is residual and manifest["adapter"]["residual"] is residual
    assert adapter.config.codebook_size == CFG.codebook_size and adapter.config.hidden == CFG.adapter_hidden
    measured = train.evaluate_adapter(adapter, *heldout_pairs)
    for key in ("l1_lq", "l1_aligned", "perplexity"):
        assert measured[key] == pytest.approx(manifest["quality"][key], rel=2e-3), key
    assert measured["used"] == manifest["quality"]["used"]


def test_the_committed_probe_measured_the_committed_adapter(heldout_pairs):
    """Notebook 05's probe of the adapter's stages (tools/adapter_probe.py): every stage at three probe
    seeds or more, the command and code recorded, and its no-probe baselines what the adapter and the
    held-out pairs give now (a probe of another adapter, or of other pairs, fails)."""
    import json

    probe = json.loads((adapter_mod.TOY_ADAPTERS["lafr-toy-adapter"] / "probe.json").read_text())
    assert probe["command"].startswith("python tools/adapter_probe.py") and probe["adapter"] == CFG.adapter_weights
    assert probe["code_version"] and probe["steps"] > 0
    for stage in ("z_LQ", "features", "codebook", "z_aligned"):
        assert len(probe["probes"][stage]) >= 3, stage
        assert all(r["l1"] > 0 and r["psnr"] > 0 for r in probe["probes"][stage].values()), stage
    adapter, _ = adapter_mod.load_trained_adapter(CFG.adapter_weights)
    z_lq, z_hq = heldout_pairs
    measured = train.evaluate_adapter(adapter, z_lq, z_hq)
    assert probe["no_probe"]["z_LQ itself"]["l1"] == pytest.approx(measured["l1_lq"], abs=1e-4)
    assert probe["no_probe"]["z_aligned itself"]["l1"] == pytest.approx(measured["l1_aligned"], abs=1e-4)
