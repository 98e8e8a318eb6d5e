"""Face feature networks: what the multilevel loss compares a restored face with its ground truth by.

The loss of Sec. 2.4 needs two networks besides LPIPS (``lafr.losses``):

* F_id, an identity encoder.  The paper uses IP-Adapter's CLIP image encoder (Sec. 3.1); A.3.5
  says why CLIP and not ArcFace: it keeps expression and texture, and copes with odd poses.
* F_fs, a facial-structure extractor.  The paper uses D3DFR (Deng et al. 2019b), a network that
  regresses a face's 3D Morphable Model coefficients (shape, expression, pose, ...).

Both profiles put a real, differentiable network behind the same small interface: a module that
maps images in [-1, 1] (N x 3 x H x W) to one feature vector per image (N x D).

| role | ``paper`` profile | ``tiny`` profile (offline) |
|---|---|---|
| F_id | CLIP ViT-H/14 image encoder (IP-Adapter), 1024-D | ``ToyIdentityEncoder``: ArcFace loss, synthetic people |
| F_fs | D3DFR's R-Net (ResNet-50), 3DMM coefficients | ``ToyStructureNet``: the synthetic faces' landmarks |

The toy networks are trained once by ``lafr pretrain-toy --stage identity`` and ``--stage
structure`` (``lafr.pretrain_facenets``) and committed in ``lafr/weights`` (with a manifest of how,
and how well); CI never retrains them.  Neither network ever *judges* a restorer: the metrics of notebook 06 use other
networks, as the paper measures identity with ArcFace while training with CLIP.

Taught in notebook 04.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config

from lafr.synthetic import LANDMARK_NAMES

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
TOY_IDENTITY = "lafr-toy-identity"  # built-in names of the committed toy networks
TOY_STRUCTURE = "lafr-toy-structure"
TOY_DIRS = {TOY_IDENTITY: WEIGHTS_DIR / "toy_identity", TOY_STRUCTURE: WEIGHTS_DIR / "toy_structure"}


# ---- the toy networks ----------------------------------------------------------------------------


def _trunk(widths: tuple[int, ...]) -> nn.Sequential:
    """A plain CNN: a stride-1 stem, then per width a stride-2 conv and a stride-1 conv
    (conv, batch norm, ReLU), ending at 1/16 of the input's size."""
    layers, cin = [], 3
    for i, w in enumerate(widths):
        for stride in (1,) if i == 0 else (2, 1):
            layers += [nn.Conv2d(cin, w, 3, stride, 1, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True)]
            cin = w
    layers += [nn.Conv2d(cin, cin, 3, 2, 1, bias=False), nn.BatchNorm2d(cin), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers)


class ToyIdentityEncoder(ModelMixin, ConfigMixin):
    """F_id of the tiny profile: a face -> a ``embed_dim`` identity embedding.

    A small CNN with an ArcFace-style output layer (batch norm, flatten, linear, batch norm), trained
    with an additive angular margin loss to tell synthetic people apart under any view (pose,
    light, background, smile).  Compare embeddings by cosine.  Taught in notebook 04."""

    @register_to_config
    def __init__(self, image_size: int = 64, widths: tuple[int, ...] = (32, 64, 96, 128), embed_dim: int = 128):
        super().__init__()
        self.trunk = _trunk(tuple(widths))
        cells = (image_size // 2 ** len(widths)) ** 2
        self.head = nn.Sequential(
            nn.BatchNorm2d(widths[-1]),
            nn.Flatten(),
            nn.Linear(widths[-1] * cells, embed_dim),
            nn.BatchNorm1d(embed_dim),
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Images N x 3 x H x W in [-1, 1] (resized to ``image_size``) -> N x embed_dim."""
        return self.head(self.trunk(_resize(images, self.config.image_size)))


class ToyStructureNet(ModelMixin, ConfigMixin):
    """F_fs of the tiny profile: a face -> its landmarks, and a structure feature made from them.

    A small CNN regresses the synthetic faces' 19 landmarks (``LANDMARK_NAMES``) in normalised
    image coordinates (-1 to 1).  Its structure feature (``forward``) is the landmarks minus the
    mean face's: *zero-centred*.  Raw coordinates would not do for a cosine: every face has its
    eyes above its mouth in about the same place, so the raw vectors of any two faces point the
    same way (cosine about 0.99).  What tells two faces' structure apart is how each departs from
    the average face, as D3DFR's 3DMM coefficients are departures from a mean face.
    Taught in notebook 04."""

    @register_to_config
    def __init__(
        self,
        image_size: int = 64,
        widths: tuple[int, ...] = (24, 48, 64, 96),
        hidden: int = 128,
        num_landmarks: int = len(LANDMARK_NAMES),
    ):
        super().__init__()
        self.trunk = _trunk(tuple(widths))
        cells = (image_size // 2 ** len(widths)) ** 2
        self.fc = nn.Sequential(nn.Flatten(), nn.Linear(widths[-1] * cells, hidden), nn.ReLU(inplace=True))
        self.out = nn.Linear(hidden, num_landmarks * 2)
        self.register_buffer("mean_shape", torch.zeros(num_landmarks, 2))  # set from the training faces

    def penultimate(self, images: torch.Tensor) -> torch.Tensor:
        """The hidden layer before the landmark output: N x hidden (the alternative feature)."""
        return self.fc(self.trunk(_resize(images, self.config.image_size)))

    def normalised_landmarks(self, images: torch.Tensor) -> torch.Tensor:
        """N x K x 2 landmarks, (x, y) in normalised image coordinates (-1 left/top, +1 right/bottom)."""
        return self.out(self.penultimate(images)).view(len(images), -1, 2)

    def landmarks(self, images: torch.Tensor) -> torch.Tensor:
        """N x K x 2 landmarks in pixels of the input images (x right, y down, pixel centres at integers)."""
        size = torch.tensor(images.shape[-1:-3:-1], dtype=images.dtype, device=images.device)
        return (self.normalised_landmarks(images) + 1) / 2 * size - 0.5

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Images N x 3 x H x W in [-1, 1] -> the zero-centred landmarks, N x 2K."""
        return (self.normalised_landmarks(images) - self.mean_shape).flatten(1)


def _resize(images: torch.Tensor, size: int) -> torch.Tensor:
    if images.shape[-2:] == (size, size):
        return images
    return F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False, antialias=True)


def load_toy(name: str, device="cpu") -> ModelMixin:
    """A committed toy network by its built-in name (or a folder saved by ``save_pretrained``),
    frozen and in eval mode, in float32."""
    folder = TOY_DIRS.get(name, Path(name))
    if not (folder / "config.json").is_file():
        raise FileNotFoundError(
            f"{name}: no toy network in {folder} (config.json missing). The committed ones ship with lafr; "
            f"make them with `lafr pretrain-toy --stage identity` or `--stage structure`."
        )
    cls = {c.__name__: c for c in (ToyIdentityEncoder, ToyStructureNet)}[
        json.loads((folder / "config.json").read_text())["_class_name"]
    ]
    net = cls.from_pretrained(folder, torch_dtype=torch.float32).to(device).eval()
    return net.requires_grad_(False)


# ---- the paper profile's networks -----------------------------------------------------------------

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)  # CLIPImageProcessor's defaults (OpenAI CLIP)
# h94/IP-Adapter's models/image_encoder: CLIP ViT-H/14's vision tower (CLIPVisionModelWithProjection), its config
IP_ADAPTER_IMAGE_ENCODER_CONFIG = dict(
    hidden_size=1280, intermediate_size=5120, num_hidden_layers=32, num_attention_heads=16, patch_size=14,
    image_size=224, projection_dim=1024, hidden_act="gelu",
)  # fmt: skip
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


class ClipIdentity(nn.Module):
    """F_id of the paper profile: a CLIP image encoder's projected embedding (``image_embeds``).

    Preprocessing as ``CLIPImageProcessor`` does it, but differentiable: the [-1, 1] image goes to
    [0, 1], is resized to the encoder's input size (bicubic; aligned faces are square, so no crop)
    and normalised with CLIP's mean and std.  Taught in notebook 04."""

    def __init__(self, model):
        super().__init__()
        self.model = model
        self.size = int(model.config.image_size)
        self.register_buffer("mean", torch.tensor(CLIP_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(CLIP_STD).view(1, 3, 1, 1), persistent=False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(
            (images + 1) / 2, size=(self.size, self.size), mode="bicubic", align_corners=False, antialias=True
        )
        x = (x - self.mean.to(x.dtype)) / self.std.to(x.dtype)
        return self.model(pixel_values=x.to(self.model.dtype)).image_embeds


# The 257 coefficients of D3DFR's R-Net, in order (Deep3DFaceRecon_pytorch, models/bfm.py split_coeff).
D3DFR_COEFFS = {"id": 80, "exp": 64, "tex": 80, "angle": 3, "gamma": 27, "trans": 3}
D3DFR_STRUCTURE = ("id", "exp", "angle", "trans")  # shape, expression and pose; not texture or light


class D3DFRNet(nn.Module):
    """F_fs of the paper profile: D3DFR's R-Net (Deng et al. 2019b, Deep3DFaceRecon_pytorch's
    ``ReconNetWrapper``): a ResNet-50 without its last layer, then one 1x1 convolution per group of
    3DMM coefficients (identity shape 80, expression 64, texture 80, pose angles 3, lighting 27,
    translation 2 + 1), 257 in all, from a 224 px face with values in [0, 1].

    Its structure feature (``forward``) is the shape, expression and pose coefficients
    (``D3DFR_STRUCTURE``, 150 numbers): the "contours, pose, and expressions" the paper says the
    structure loss is for (Sec. 2.4), without texture and lighting.  3DMM coefficients are already
    departures from a mean face, so a cosine between them is meaningful as it stands.  D3DFR was
    trained on its own tight 5-landmark crops; here an aligned face is fed whole, resized to 224 px
    (both images of a pair get the same treatment).  ``layers`` sizes the ResNet (tests use a small
    one).  Taught in notebook 04."""

    def __init__(self, layers: tuple[int, int, int, int] = (3, 4, 6, 3)):
        super().__init__()
        from torchvision.models.resnet import Bottleneck, ResNet

        self.backbone = ResNet(Bottleneck, list(layers))
        del self.backbone.fc
        sizes = (80, 64, 80, 3, 27, 2, 1)  # the released checkpoint's seven heads
        self.final_layers = nn.ModuleList(nn.Conv2d(2048, k, 1) for k in sizes)

    def coefficients(self, images: torch.Tensor) -> torch.Tensor:
        """Images in [-1, 1] -> N x 257 coefficients (``D3DFR_COEFFS`` order)."""
        x = _resize((images + 1) / 2, 224)
        b = self.backbone
        x = b.maxpool(b.relu(b.bn1(b.conv1(x))))
        x = b.avgpool(b.layer4(b.layer3(b.layer2(b.layer1(x)))))
        return torch.cat([head(x) for head in self.final_layers], 1).flatten(1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        c, start, parts = self.coefficients(images), 0, []
        for name, k in D3DFR_COEFFS.items():
            if name in D3DFR_STRUCTURE:
                parts.append(c[:, start : start + k])
            start += k
        return torch.cat(parts, 1)


def _download(repo: str, filename: str, what: str) -> Path:
    """A file from a local folder, or from the Hugging Face hub (or its cache); a clear error if neither."""
    from lafr.models import ModelNotFoundError, _offline

    if Path(repo).is_dir():
        path = Path(repo) / filename
        if path.is_file():
            return path
        raise ModelNotFoundError(f"{what}: {path} does not exist")
    try:
        from huggingface_hub import hf_hub_download

        return Path(hf_hub_download(repo, filename, local_files_only=_offline()))
    except Exception as e:  # noqa: BLE001 - offline, missing, or no such repo: say how to supply it
        raise ModelNotFoundError(
            f"{what}: could not get {filename!r} of {repo!r} from the Hugging Face cache or hub ({type(e).__name__}). "
            f"Download it on a machine with internet (huggingface-cli download {repo} {filename}) and pass the "
            f"folder that holds it instead of {repo!r} (the profile's value, e.g. get_profile('paper', ...=folder))."
        ) from None


def load_identity_net(name: str, subfolder: str = "", device="cpu") -> nn.Module:
    """F_id by the profile's value: a toy network's built-in name or folder, or a CLIP image encoder
    (hub id or local folder, with ``subfolder``), frozen, in eval mode.  Taught in notebook 04."""
    if name in TOY_DIRS or (Path(name) / "config.json").is_file() and not subfolder:
        return load_toy(name, device)
    from transformers import CLIPVisionModelWithProjection

    from lafr.models import ModelNotFoundError, _offline

    try:
        kwargs = {"subfolder": subfolder} if subfolder else {}
        model = CLIPVisionModelWithProjection.from_pretrained(
            name, local_files_only=Path(name).is_dir() or _offline(), **kwargs
        )
    except (OSError, ValueError) as e:
        raise ModelNotFoundError(
            f"identity network (F_id, a CLIP image encoder): could not load {name!r}"
            f"{f' (subfolder {subfolder!r})' if subfolder else ''}: {type(e).__name__}. Download it on a machine with "
            f"internet (huggingface-cli download {name} --include '{subfolder + '/*' if subfolder else '*'}') and pass "
            f"the local folder as the profile's identity_net."
        ) from None
    return ClipIdentity(model).to(device).eval().requires_grad_(False)


def load_structure_net(name: str, filename: str = "", device="cpu") -> nn.Module:
    """F_fs by the profile's value: a toy network's built-in name or folder, or D3DFR's R-Net
    checkpoint ``filename`` in a hub repo or local folder (a dict whose ``net_recon`` entry holds
    the weights, as Deep3DFaceRecon_pytorch saves it), frozen, in eval mode.  Taught in notebook 04."""
    if name in TOY_DIRS or (Path(name) / "config.json").is_file() and not filename:
        return load_toy(name, device)
    path = _download(name, filename, "structure network (F_fs, D3DFR's R-Net)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        state = state.get("net_recon", state)
        # the ResNet's depth, read from the checkpoint: (3, 4, 6, 3) for the released ResNet-50
        layers = tuple(
            1 + max(int(k.split(".")[2]) for k in state if k.startswith(f"backbone.layer{i}.")) for i in range(1, 5)
        )
        net = D3DFRNet(layers)
        net.load_state_dict(state, strict=True)
    except Exception as e:  # noqa: BLE001 - a wrong file: name it
        raise ValueError(f"{path}: not a D3DFR R-Net checkpoint ({type(e).__name__}: {str(e)[:300]})") from None
    return net.to(device).eval().requires_grad_(False)
