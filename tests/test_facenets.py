"""Face feature networks (lafr.facenets): the paper profile's loading paths, tested with small
models of the same classes saved locally (no network), and their clear errors."""

import pytest
import torch

from lafr import facenets
from lafr.models import ModelNotFoundError


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("LAFR_OFFLINE", "1")  # the hub is never asked: only local folders and the cache


def _small_clip(folder):
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    cfg = CLIPVisionConfig(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        image_size=32,
        patch_size=8,
        projection_dim=16,
    )
    torch.manual_seed(0)
    model = CLIPVisionModelWithProjection(cfg)
    model.save_pretrained(folder / "models" / "image_encoder")
    return model


def test_clip_identity_loads_from_a_local_folder_and_is_differentiable(tmp_path):
    reference = _small_clip(tmp_path)
    net = facenets.load_identity_net(str(tmp_path), "models/image_encoder")
    assert isinstance(net, facenets.ClipIdentity) and not any(p.requires_grad for p in net.parameters())
    x = (torch.rand(2, 3, 64, 64) * 2 - 1).requires_grad_(True)
    emb = net(x)
    assert emb.shape == (2, 16)
    emb.sum().backward()
    assert x.grad.abs().sum() > 0
    # the same preprocessing as CLIPImageProcessor: [0, 1], resized to the model's size, CLIP's mean and std
    pixels = torch.nn.functional.interpolate((x.detach() + 1) / 2, size=(32, 32), mode="bicubic", antialias=True)
    pixels = (pixels - torch.tensor(facenets.CLIP_MEAN).view(1, 3, 1, 1)) / torch.tensor(facenets.CLIP_STD).view(
        1, 3, 1, 1
    )
    assert torch.allclose(emb, reference.eval()(pixel_values=pixels).image_embeds, atol=1e-5)


def test_missing_clip_says_which_model_and_how_to_supply_it(tmp_path):
    with pytest.raises(ModelNotFoundError, match=r"identity network.*'h94/IP-Adapter'.*huggingface-cli download"):
        facenets.load_identity_net("h94/IP-Adapter", "models/image_encoder")
    with pytest.raises(ModelNotFoundError, match="identity network"):
        facenets.load_identity_net(str(tmp_path), "models/image_encoder")  # a folder without the model


def test_d3dfr_loads_a_released_style_checkpoint(tmp_path):
    """Deep3DFaceRecon_pytorch saves {'net_recon': state_dict, ...}; a small R-Net of the same class
    (ResNet depth read from the checkpoint) loads strictly and gives 257 coefficients, of which the
    structure feature keeps shape, expression and pose (150)."""
    torch.manual_seed(0)
    small = facenets.D3DFRNet(layers=(1, 1, 1, 1))
    for head in small.final_layers:
        torch.nn.init.normal_(head.weight, std=0.01)
    torch.save({"net_recon": small.state_dict(), "opt_00": {}}, tmp_path / "epoch_20.pth")
    net = facenets.load_structure_net(str(tmp_path), "epoch_20.pth")
    assert isinstance(net, facenets.D3DFRNet) and not any(p.requires_grad for p in net.parameters())
    x = (torch.rand(2, 3, 64, 64) * 2 - 1).requires_grad_(True)
    coeffs = net.coefficients(x)
    assert coeffs.shape == (2, 257) == (2, sum(facenets.D3DFR_COEFFS.values()))
    feature = net(x)
    assert feature.shape == (2, 80 + 64 + 3 + 3)
    assert torch.equal(feature[:, :144], coeffs[:, :144]) and torch.equal(feature[:, 144:147], coeffs[:, 224:227])
    assert torch.equal(feature[:, 147:], coeffs[:, 254:])
    feature.sum().backward()
    assert x.grad.abs().sum() > 0
    assert torch.allclose(coeffs, small.eval().coefficients(x.detach()), atol=1e-6)


def test_released_r_net_keys_are_what_the_checkpoint_holds():
    """The released ResNet-50 R-Net: 332 state-dict entries (318 of the backbone without its fc,
    14 of the seven heads), 257 outputs.  Built on the meta device: no memory, no download."""
    with torch.device("meta"):
        net = facenets.D3DFRNet()
    keys = list(net.state_dict())
    assert len(keys) == 332 and not any(k.startswith("backbone.fc") for k in keys)
    assert sum(1 for k in keys if k.startswith("final_layers.")) == 14


def test_structure_net_errors(tmp_path):
    with pytest.raises(ModelNotFoundError, match=r"D3DFR.*'vinthony/SadTalker'.*huggingface-cli download"):
        facenets.load_structure_net("vinthony/SadTalker", "epoch_20.pth")
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        facenets.load_structure_net(str(tmp_path), "epoch_20.pth")
    torch.save({"net_recon": {"something.else": torch.zeros(1)}}, tmp_path / "wrong.pth")
    with pytest.raises(ValueError, match="wrong.pth: not a D3DFR R-Net checkpoint"):
        facenets.load_structure_net(str(tmp_path), "wrong.pth")


def test_missing_toy_network_says_how_to_make_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="pretrain-toy --stage identity"):
        facenets.load_toy(str(tmp_path / "nowhere"))


def test_pretrain_toy_trains_saves_and_measures_a_structure_network(tmp_path, capsys):
    """`lafr pretrain-toy --stage structure` end to end, at a size that runs in seconds: the saved
    network loads, and its manifest holds the command, the time and the held-out numbers."""
    import json

    from lafr.cli import main

    out = tmp_path / "structure"
    assert (
        main(
            [
                "pretrain-toy",
                "--stage",
                "structure",
                "--out",
                str(out),
                "--identities",
                "12",
                "--views",
                "2",
                "--net-steps",
                "3",
                "--net-batch",
                "8",
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    m = json.loads((out / "manifest.json").read_text())
    assert m["steps"] == 3 and "--stage structure" in m["command"] and "--net-steps 3" in m["command"]
    assert set(m["quality"]) >= {
        "landmark_error_px_clean",
        "landmark_error_px_degraded_tiny",
        "landmark_error_px_mean_face",
    }
    net = facenets.load_toy(str(out))
    assert isinstance(net, facenets.ToyStructureNet) and net.mean_shape.abs().sum() > 0  # the training faces' mean


def test_render_draws_a_face_as_a_latent_restorer_would():
    """pretrain_facenets.render: u = 0 gives the VAE alone on the input, decode(z_x); u = 1 the clean
    face's round trip, decode(z_HQ), whatever the input; and identity_faces marks what it rendered."""
    from lafr import models, pretrain_facenets, vae as vae_io

    vae = models.load_base(models.TOY_NAME).vae
    faces = pretrain_facenets.identity_faces(0, 4, 2, render_share=0.5, vae=vae)
    hq, x = faces["hq"][:2], pretrain_facenets.renderings(faces["hq"][:2], vae)["LQ photo"]

    def round_trip(u8):
        y = vae_io.decode(vae, vae_io.encode(vae, u8.float() / 127.5 - 1))
        return ((y + 1) * 127.5 + 0.5).clamp(0, 255).to(torch.uint8)

    alone = pretrain_facenets.render(vae, hq, x, torch.zeros(2))
    restored = pretrain_facenets.render(vae, hq, x, torch.ones(2))
    assert (alone.int() - round_trip(x).int()).abs().max() <= 1
    assert (restored.int() - round_trip(hq).int()).abs().max() <= 1
    assert (alone.int() - restored.int()).abs().float().mean() > 1  # the two ends differ
    rendered = faces["form"] >= 2
    assert rendered.any() and (~rendered).any() and set(faces["form"].tolist()) <= {0, 1, 2, 3}
