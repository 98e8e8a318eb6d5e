"""SD 2.1 base built from its config on the meta device (no weights, no download)."""

import torch
from diffusers import AutoencoderKL, UNet2DConditionModel

from lafr import models


def _count(model):
    return sum(p.numel() for p in model.parameters())


def test_sd21_sizes_match_the_real_model():
    with torch.device("meta"):
        unet = UNet2DConditionModel(**models.SD21_UNET_CONFIG)
        vae = AutoencoderKL(**models.SD21_VAE_CONFIG)
    assert round(_count(unet) / 1e6, 1) == 865.9
    assert round(_count(vae) / 1e6, 1) == 83.7
    # A.2.2: layers named conv, conv1, conv2, conv_in, conv_shortcut, conv_out -- 66 Conv2d in all
    names = {"conv", "conv1", "conv2", "conv_in", "conv_shortcut", "conv_out"}
    convs = [n for n, m in unet.named_modules() if isinstance(m, torch.nn.Conv2d) and n.split(".")[-1] in names]
    assert len(convs) == 66
