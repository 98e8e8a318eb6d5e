"""The multilevel restoration loss (Sec. 2.4, eq. 1-3): what stage 2 punishes a restored face for.

    L_res   = ||I_res - I_GT||_2^2 + lambda * LPIPS(I_res, I_GT)          image level (lambda = 2)
    L_id    = 1 - cos(F_id(I_res), F_id(I_GT))                            identity      (eq. 1)
    L_fs    = 1 - cos(F_fs(I_res), F_fs(I_GT))                            structure     (eq. 2)
    L_total = w_res * L_res + w_id * L_id + w_fs * L_fs                   all weights 1 (eq. 3)

F_id and F_fs are the networks of ``lafr.facenets`` (CLIP and D3DFR in the ``paper`` profile, the
toy identity encoder and structure network in the ``tiny`` profile).  Table 5 of the paper compares
the cosine forms with L2 forms, ``||F(I_res) - F(I_GT)||^2``; ``form="l2"`` gives those (here the
mean over the feature's entries, so that its scale does not grow with the feature's length).

LPIPS comes from the ``lpips`` package.  Its learned part is a set of linear layers that weigh
the differences of a backbone's features; those layers ship inside the package.  The backbone
(AlexNet or VGG, ImageNet-trained) is a torchvision download.  Offline, the ``tiny`` profile keeps the
linear layers and gives the backbone seeded random weights (``lpips_backbone="random"``): it still
rises with degradation, at about a tenth of real LPIPS's scale, but it has learned nothing about
images, so read its numbers as "a perceptual-style distance", not as LPIPS.

Images are N x 3 x H x W in [-1, 1], as everywhere in the package.  Taught in notebook 04; stage 2
(notebook 05) trains with it.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

TERMS = ("res", "id", "fs")  # the three levels; ``terms`` switches them on and off (Table 5's rows)
FORMS = ("cosine", "l2")


# ---- LPIPS ---------------------------------------------------------------------------------------


def lpips_network(net: str = "vgg", backbone: str = "pretrained", seed: int = 0) -> nn.Module:
    """The ``lpips`` package's LPIPS, frozen, for images in [-1, 1].

    ``backbone="pretrained"``: the ImageNet backbone that LPIPS was made with (torchvision downloads
    it once).  ``backbone="random"``: the same network with random weights drawn from a numpy
    generator seeded with ``seed`` (uniform, +-1/sqrt(fan_in), PyTorch's default scale), so the
    numbers are the same on every machine and torch version.  The linear layers are LPIPS's own
    in both cases (inside the ``lpips`` wheel).  Taught in notebook 04."""
    import lpips

    if backbone not in ("pretrained", "random"):
        raise ValueError(f"lpips backbone must be 'pretrained' or 'random', got {backbone!r}")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UserWarning, module="torchvision")
        try:
            model = lpips.LPIPS(net=net, pretrained=True, pnet_rand=backbone == "random", verbose=False)
        except (OSError, RuntimeError) as e:  # urllib's URLError is an OSError
            file = {"vgg": "vgg16-397923af.pth", "alex": "alexnet-owt-7be5be79.pth"}.get(net, f"the {net} weights")
            raise OSError(
                f"LPIPS ({net}) needs torchvision's ImageNet {net} backbone, which could not be loaded ({e}). "
                f"Put {file} in torch's hub cache ($TORCH_HOME/hub/checkpoints, default "
                "~/.cache/torch/hub/checkpoints) "
                f"from a machine with internet, or use the offline stand-in: lpips_backbone='random'."
            ) from None
    if backbone == "random":
        rng = np.random.default_rng(seed)
        with torch.no_grad():
            for m in model.net.modules():
                if isinstance(m, nn.Conv2d):
                    bound = 1.0 / np.sqrt(m.weight[0].numel())
                    m.weight.copy_(torch.from_numpy(rng.uniform(-bound, bound, tuple(m.weight.shape))))
                    m.bias.copy_(torch.from_numpy(rng.uniform(-bound, bound, tuple(m.bias.shape))))
    return model.eval().requires_grad_(False)


# ---- the loss ------------------------------------------------------------------------------------


def feature_distance(a: torch.Tensor, b: torch.Tensor, form: str = "cosine") -> torch.Tensor:
    """Per image: ``1 - cos(a, b)`` (``form="cosine"``, eq. 1 and 2) or the mean squared difference
    (``form="l2"``, Table 5's alternative).  a, b: N x D features."""
    if form == "cosine":
        return 1 - F.cosine_similarity(a.flatten(1).float(), b.flatten(1).float(), dim=1)
    if form == "l2":
        return (a.flatten(1).float() - b.flatten(1).float()).square().mean(1)
    raise ValueError(f"form must be one of {FORMS}, got {form!r}")


class MultilevelLoss(nn.Module):
    """L_total of eq. 3 and every term, per image or averaged.

    ``terms``: which levels count (a subset of ``TERMS``); the others are still computed for
    logging when their network is given, but do not enter the total.  ``id_form`` / ``fs_form``:
    "cosine" (the paper's) or "l2" (Table 5's rows #3 and #4).  Taught in notebook 04."""

    def __init__(
        self,
        identity_net: nn.Module,
        structure_net: nn.Module,
        lpips_net: nn.Module,
        lpips_weight: float = 2.0,
        weights: dict | None = None,
        terms=TERMS,
        id_form: str = "cosine",
        fs_form: str = "cosine",
    ):
        super().__init__()
        unknown = set(terms) - set(TERMS)
        if unknown or not terms:
            raise ValueError(f"terms must be a non-empty subset of {TERMS}, got {tuple(terms)}")
        for name, form in (("id_form", id_form), ("fs_form", fs_form)):
            if form not in FORMS:
                raise ValueError(f"{name} must be one of {FORMS}, got {form!r}")
        self.identity_net, self.structure_net, self.lpips_net = identity_net, structure_net, lpips_net
        for net in (identity_net, structure_net, lpips_net):
            net.eval().requires_grad_(False)  # the judges of the loss are frozen
        self.lpips_weight = float(lpips_weight)
        self.weights = {"res": 1.0, "id": 1.0, "fs": 1.0, **(weights or {})}
        self.terms, self.id_form, self.fs_form = tuple(terms), id_form, fs_form

    def train(self, mode: bool = True):  # the networks inside stay in eval mode (batch norm, dropout)
        return self

    def forward(self, restored: torch.Tensor, gt: torch.Tensor, reduce: bool = True) -> dict[str, torch.Tensor]:
        """``restored``, ``gt``: N x 3 x H x W in [-1, 1].  Returns ``total`` and each term
        (``mse``, ``lpips``, ``res``, ``id``, ``fs``): scalars (the batch mean) or, with
        ``reduce=False``, one value per image.  Only the total needs a gradient."""
        if restored.shape != gt.shape:
            raise ValueError(f"restored and ground truth differ in shape: {tuple(restored.shape)} vs {tuple(gt.shape)}")
        gt = gt.to(restored.dtype)
        out = {}
        out["mse"] = (restored - gt).float().square().flatten(1).mean(1)
        out["lpips"] = self.lpips_net(restored, gt).flatten(1).mean(1).float()
        out["res"] = out["mse"] + self.lpips_weight * out["lpips"]
        out["id"] = feature_distance(self.identity_net(restored), self.identity_net(gt), self.id_form)
        out["fs"] = feature_distance(self.structure_net(restored), self.structure_net(gt), self.fs_form)
        out["total"] = sum(self.weights[t] * out[t] for t in self.terms)
        return {k: v.mean() for k, v in out.items()} if reduce else out


def build_loss(cfg=None, device="cpu", terms=TERMS, id_form: str = "cosine", fs_form: str = "cosine") -> MultilevelLoss:
    """The multilevel loss with the networks and weights a profile names (default: the current
    profile).  Taught in notebook 04."""
    from lafr import facenets
    from lafr.config import get_profile

    cfg = cfg or get_profile()
    return MultilevelLoss(
        facenets.load_identity_net(cfg.identity_net, cfg.identity_net_subfolder, device=device),
        facenets.load_structure_net(cfg.structure_net, cfg.structure_net_file, device=device),
        lpips_network(cfg.lpips_net, cfg.lpips_backbone, seed=cfg.seed).to(device),
        lpips_weight=cfg.lpips_weight,
        terms=terms,
        id_form=id_form,
        fs_form=fs_form,
        weights={"res": cfg.loss_weight_res, "id": cfg.loss_weight_id, "fs": cfg.loss_weight_fs},
    )
