"""``LAFRPipeline``: one-step face restoration, as plain code (diffusers style).

    LQ image (any size)  -> resize to the working size (the whole image, not a crop)
                         -> VAE encoder (frozen)                       z_LQ
                         -> latent alignment adapter (stage 1)         z_aligned
                         -> pruned UNet, once, at the fixed timestep t eps  (LoRA from stage 2)
                         -> x0 = (z - sqrt(1 - a_t) eps) / sqrt(a_t)   the DDPM formula (DESIGN 6)
                         -> VAE decoder (frozen)                       restored image
                         -> resize back to the input's own size

The UNet sees the aligned latent *as if* it were a noisy latent at step t and predicts its noise in
one step; the formula turns that prediction into the clean latent. OSEDiff, the paper's base
framework, does the same at t = 999. The input is an aligned face crop. A non-square input is
stretched to the square working size and back (bicubic, antialiased), as aligned crops are square.

``save_pretrained`` writes the trained parts only: the adapter (or the built-in name of a committed
one), the LoRA weights (peft's format, optionally in float16), the baked prompt embedding, and a
``lafr_pipeline.json`` naming the base model (hub id, folder or ``lafr-toy``), the timestep and the
working size. ``from_pretrained`` loads the base model, attaches
them, and prunes the UNet again (the timestep's constants are recomputed from the base model).

Taught in notebook 05.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
import torch.nn.functional as F

from lafr import models, unet as unet_mod, vae as vae_io

CONFIG_NAME = "lafr_pipeline.json"
_WEIGHTS = Path(__file__).resolve().parent / "weights"
TOY_SYSTEMS = {  # built-in names of committed trained systems (tiny profile), made by `lafr train-lora`
    "lafr-toy-restorer": _WEIGHTS / "toy_restorer",  # the full method
    "lafr-toy-restorer-no-adapter": _WEIGHTS
    / "toy_restorer_no_adapter",  # Table 7 (#4 against #5): without the adapter
    "lafr-toy-restorer-attention": _WEIGHTS / "toy_restorer_attention",  # Table 7: LoRA on attention instead
    "lafr-toy-restorer-res-only": _WEIGHTS / "toy_restorer_res_only",  # Table 5: L_res only
}
LORA_DIR = "unet_lora"
LORA_FILE = "pytorch_lora_weights.safetensors"


class LAFRPipeline:
    """The restorer: a frozen VAE, an optional adapter, a UNet (pruned and folded, optionally with
    LoRA), the prompt embedding and the fixed timestep. Taught in notebook 05."""

    def __init__(
        self,
        vae,
        unet,
        scheduler,
        prompt_embeds: torch.Tensor,
        timestep: int,
        resolution: int,
        adapter=None,
        base_model: str = "",
        lora: dict | None = None,
    ):
        self.vae, self.unet, self.scheduler, self.adapter = vae, unet, scheduler, adapter
        self.prompt_embeds = prompt_embeds
        self.timestep, self.resolution = int(timestep), int(resolution)
        self.base_model, self.lora = str(base_model), lora
        self.alpha = float(scheduler.alphas_cumprod[self.timestep])  # a_t, the signal kept at step t

    @classmethod
    def from_base(
        cls,
        base: models.BaseModels,
        timestep: int,
        resolution: int,
        adapter=None,
        lora_rank: int | None = None,
        lora_names=unet_mod.CONV_NAMES,
        fold: bool = True,
        lora_seed: int = 0,
    ) -> LAFRPipeline:
        """A pipeline around loaded base models: LoRA of ``lora_rank`` attached first (if any, its
        random start drawn with ``lora_seed``), then the UNet pruned at ``timestep`` (folded unless
        ``fold=False``). The base's UNet is changed in place. Taught in notebook 05."""
        lora = None
        if lora_rank:
            unet_mod.add_lora(base.unet, rank=lora_rank, names=lora_names, seed=lora_seed)
            lora = {"rank": int(lora_rank), "names": list(lora_names)}
        unet_mod.prune_unet(base.unet, base.prompt_embeds, timestep, fold=fold)
        return cls(
            base.vae, base.unet, base.scheduler, base.prompt_embeds, timestep, resolution, adapter, base.source, lora
        )

    # ---- the restoration, step by step --------------------------------------------------------------

    @property
    def device(self) -> torch.device:
        return next(self.unet.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(self.unet.parameters()).dtype

    def to(self, device=None, dtype=None) -> LAFRPipeline:
        for m in (self.vae, self.unet, self.adapter):
            if m is not None:  # a dtype only when it changes (diffusers warns whenever a dtype is passed, even None)
                change = {"device": device, "dtype": None if dtype == next(m.parameters()).dtype else dtype}
                m.to(**{k: v for k, v in change.items() if v is not None})
        self.prompt_embeds = self.prompt_embeds.to(device=device, dtype=dtype)
        return self

    def denoise(self, z: torch.Tensor) -> torch.Tensor:
        """Aligned latents -> restored latents: the UNet once at the fixed timestep, then the DDPM
        formula for x0 (in float32). Differentiable: stage 2 trains through it."""
        t = torch.full((len(z),), self.timestep, device=z.device)
        eps = self.unet(z.to(self.dtype), t, self.prompt_embeds.expand(len(z), -1, -1)).sample.float()
        return (z.float() - (1 - self.alpha) ** 0.5 * eps) / self.alpha**0.5

    def restore_latents(self, z_lq: torch.Tensor, batch_size: int | None = None) -> torch.Tensor:
        """z_LQ -> adapter (when there is one) -> ``denoise``, ``batch_size`` at a time (default: all).
        Differentiable."""
        step = batch_size or len(z_lq)
        out = []
        for i in range(0, len(z_lq), step):
            z = z_lq[i : i + step].to(self.device, self.dtype)
            out.append(self.denoise(self.adapter(z) if self.adapter is not None else z))
        return torch.cat(out)

    def decode(self, z: torch.Tensor, clamp: bool = True, batch_size: int | None = None) -> torch.Tensor:
        """Restored latents -> images in [-1, 1] (float32). Differentiable (``vae.decode`` of
        ``lafr.vae`` is not): stage 2's loss reaches the LoRA weights through the frozen decoder.
        ``batch_size``: decode that many at a time (SD 2.1's decoder needs about 1 GB per 512 px image)."""
        step = batch_size or len(z)
        parts = [
            self.vae.decode(z[i : i + step].to(self.vae.dtype) / self.vae.config.scaling_factor).sample.float()
            for i in range(0, len(z), step)
        ]
        x = torch.cat(parts)
        return x.clamp(-1, 1) if clamp else x

    def restore(self, lq: torch.Tensor) -> torch.Tensor:
        """LQ images N x 3 x R x R in [-1, 1] at the working size -> restored, the same. Differentiable
        after the encoder (the encoder runs without gradients: nothing before the adapter trains)."""
        z_lq = vae_io.encode(self.vae, lq.to(self.device, self.dtype), batch_size=len(lq))
        return self.decode(self.restore_latents(z_lq))

    @torch.no_grad()
    def __call__(self, images, batch_size: int = 8):
        """Restore LQ face crops: a tensor N x 3 x H x W in [0, 1], or a list of 3 x H x W tensors of
        any sizes. Returns the same form, each image at its own size, in [0, 1]."""
        single = isinstance(images, torch.Tensor)
        if single and images.dim() != 4 or not single and any(x.dim() != 3 for x in images):
            raise ValueError("expected a tensor N x 3 x H x W or a list of 3 x H x W tensors, in [0, 1]")
        items = list(images)
        for i, x in enumerate(items):
            if x.shape[0] != 3:
                raise ValueError(f"image {i} has {x.shape[0]} channels; expected 3 (RGB)")
        out = []
        for start in range(0, len(items), batch_size):
            chunk = items[start : start + batch_size]
            x = torch.stack([_resize(c.float(), self.resolution) for c in chunk])
            y = (self.restore(x.to(self.device) * 2 - 1).cpu() + 1) / 2
            out += [_resize(r, tuple(c.shape[-2:])).clamp(0, 1) for r, c in zip(y, chunk)]
        return torch.stack(out) if single else out

    def restore_photo(
        self,
        photo,
        upscale: int = 1,
        detector: str = "hog",
        only_center_face: bool = False,
        batch_size: int = 8,
        **options,
    ):
        """Restore every face of a whole photo (a tensor 3 x H x W or an array H x W x 3, in [0, 1]): found,
        cut as FFHQ cut its faces at this restorer's working size, restored, and pasted back
        (``lafr.photos.restore_photo``; ``options`` go there). Returns its ``PhotoResult``: the photo
        (H x W x 3, ``upscale`` times the size), the faces found (those left out say why), the crops and
        the restored faces. Taught in notebook 07."""
        from lafr import photos

        if isinstance(photo, torch.Tensor):
            photo = photo.detach().float().permute(1, 2, 0).cpu().numpy()

        def restore(crops):
            out = self([torch.from_numpy(c).permute(2, 0, 1) for c in crops], batch_size=batch_size)
            return [r.permute(1, 2, 0).numpy() for r in out]

        return photos.restore_photo(
            photo,
            restore,
            self.resolution,
            upscale=upscale,
            detector=detector,
            only_center_face=only_center_face,
            **options,
        )

    # ---- saving and loading the trained system -----------------------------------------------------

    def save_pretrained(self, folder, adapter_name: str | None = None, lora_dtype=torch.float32) -> Path:
        """Write the trained parts (adapter, LoRA, prompt embedding) and ``lafr_pipeline.json``.

        ``adapter_name``: the built-in name of a committed adapter (``adapter.TOY_ADAPTERS``) that this
        pipeline's adapter is, to record the name instead of a copy. ``lora_dtype``: store the LoRA
        weights in this dtype (float16 halves the file; measure after the round trip)."""
        from peft import get_peft_model_state_dict
        from safetensors.torch import save_file

        from lafr.adapter import TOY_ADAPTERS

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        if adapter_name is not None:
            from lafr.adapter import load_trained_adapter

            if adapter_name not in TOY_ADAPTERS:
                raise ValueError(f"adapter_name must be one of {sorted(TOY_ADAPTERS)}, got {adapter_name!r}")
            named = load_trained_adapter(adapter_name)[0].state_dict()
            mine = self.adapter.state_dict() if self.adapter is not None else {}
            if set(named) != set(mine) or any(
                not torch.equal(v.cpu().float(), mine[k].cpu().float()) for k, v in named.items()
            ):
                raise ValueError(
                    f"this pipeline's adapter is not {adapter_name!r}; save it as a copy (adapter_name=None)"
                )
        if self.adapter is not None and adapter_name is None:
            self.adapter.save_pretrained(folder / "adapter")
        if self.lora:
            lora = get_peft_model_state_dict(self.unet)
            (folder / LORA_DIR).mkdir(exist_ok=True)
            save_file(
                {k: v.detach().to("cpu", lora_dtype).contiguous() for k, v in lora.items()},
                str(folder / LORA_DIR / LORA_FILE),
            )
        save_file(
            {"prompt_embeds": self.prompt_embeds.detach().float().cpu().contiguous()},
            str(folder / "prompt_embeds.safetensors"),
        )
        adapter = None if self.adapter is None else adapter_name or "adapter"  # a built-in name, or the subfolder
        config = {
            "base_model": self.base_model,
            "timestep": self.timestep,
            "resolution": self.resolution,
            "adapter": adapter,
            "lora": self.lora,
        }
        (folder / CONFIG_NAME).write_text(json.dumps(config, indent=2) + "\n")
        return folder

    @classmethod
    def from_pretrained(cls, folder, device="cpu", dtype=torch.float32, base_model: str | None = None) -> LAFRPipeline:
        """Load what ``save_pretrained`` wrote (a folder, or a built-in name of ``TOY_SYSTEMS``) onto its
        base model (or ``base_model``, a hub id or folder of the same architecture). Taught in notebook 05."""
        from safetensors.torch import load_file

        from lafr.adapter import load_trained_adapter

        folder = TOY_SYSTEMS.get(str(folder), Path(folder).expanduser())
        if not (folder / CONFIG_NAME).is_file():
            raise models.ModelNotFoundError(
                f"{folder}: no {CONFIG_NAME}, so no trained restorer there (LAFRPipeline.save_pretrained writes one). "
                "Train one with `lafr train-lora --out DIR` and pass DIR/system."
            )
        config = json.loads((folder / CONFIG_NAME).read_text())
        embeds = load_file(folder / "prompt_embeds.safetensors")["prompt_embeds"]
        base = models.load_base(base_model or config["base_model"], prompt_embeds=embeds)
        if base_model:
            base.source = str(base_model)
        where = config["adapter"]  # None, "adapter" (the subfolder) or a built-in name
        adapter = None if not where else load_trained_adapter(folder / "adapter" if where == "adapter" else where)[0]
        if adapter is not None:
            adapter.eval().requires_grad_(False)
        lora = config.get("lora")
        if lora:
            from peft import set_peft_model_state_dict

            unet_mod.add_lora(base.unet, rank=lora["rank"], names=tuple(lora["names"]))
            result = set_peft_model_state_dict(base.unet, load_file(folder / LORA_DIR / LORA_FILE))
            if result.unexpected_keys:
                raise ValueError(
                    f"{folder / LORA_DIR / LORA_FILE}: LoRA weights for layers this UNet lacks: "
                    f"{result.unexpected_keys[:5]}"
                )
            base.unet.requires_grad_(False)
        unet_mod.prune_unet(base.unet, base.prompt_embeds, config["timestep"], fold=True)
        pipe = cls(
            base.vae,
            base.unet,
            base.scheduler,
            base.prompt_embeds,
            config["timestep"],
            config["resolution"],
            adapter,
            base.source,
            lora,
        )
        return pipe.to(device, dtype)


def _resize(img: torch.Tensor, size) -> torch.Tensor:
    """3 x H x W -> the given size (an int for a square), bicubic and antialiased; a no-op if equal."""
    size = (size, size) if isinstance(size, int) else tuple(size)
    if tuple(img.shape[-2:]) == size:
        return img
    return F.interpolate(img[None], size=size, mode="bicubic", antialias=True, align_corners=False)[0]
