"""The CLIP visual encoder (open_clip): per-frame CLS and patch tokens, frozen by default.

``load_open_clip(cfg)`` builds an open_clip CLIP (architecture by name, weights by open_clip's own
mechanism: a tag such as ``openai`` resolved through the Hugging Face hub cache, or a local
checkpoint file), and :class:`CLIPBackbone` wraps its ``visual`` tower:

    frames (B, T, 3, S, S) float, CLIP-normalised -> tokens (B, T, 1 + P, D)

Token 0 is the CLS embedding exactly as ``CLIP.encode_image`` returns it (``ln_post`` then
``proj``); tokens 1..P are the patch tokens passed through the same ``ln_post`` and ``proj``, so all
tokens live in CLIP's joint image-text space (D = ``embed_dim``: 512 for ViT-B-16). ``token_grid``
optionally average-pools the patch grid (14 x 14 -> e.g. 7 x 7) to shrink a token cache.

The kit registers one extra architecture with open_clip, ``ClipMG-ViT-Tiny-16`` (a 3-layer,
width-128 ViT at 112 px, ``configs/architectures/ClipMG-ViT-Tiny-16.json``) for CPU demos and tests.
"""
from __future__ import annotations

import hashlib
import logging
import os
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import open_clip
import torch
import torch.nn.functional as F
from torch import nn

from ..core.hashing import content_hash
from ..core.paths import config_dir
from ..core.config import ConfigError
from .config import BackboneConfig

ARCHITECTURE_DIR = config_dir("architectures")
KIT_ARCHITECTURES = ("ClipMG-ViT-Tiny-16",)


class WeightsNotFoundError(FileNotFoundError):
    """CLIP weights that are neither in the local cache nor at the configured path."""


def register_kit_architectures() -> None:
    """Add the kit's open_clip architecture configs (idempotent)."""
    missing = [a for a in KIT_ARCHITECTURES if a not in open_clip.list_models()]
    for arch in missing:
        open_clip.add_model_config(ARCHITECTURE_DIR / f"{arch}.json")


register_kit_architectures()


# --------------------------------------------------------------------------------------------
# weights: where they come from, and a fingerprint for cache keys
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class WeightsSource:
    """Resolved ``backbone.pretrained``: ``kind`` is ``random``, ``tag`` or ``file``."""

    kind: str
    value: str | None
    quick_gelu: bool
    fingerprint: str


def _looks_like_path(text: str) -> bool:
    return os.sep in text or "/" in text or text.endswith((".pt", ".pth", ".bin", ".safetensors", ".ckpt"))


@lru_cache(maxsize=16)
def _file_sha256(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def file_fingerprint(path: str | os.PathLike) -> str:
    """sha256 of a checkpoint file (memoised per path, size and modification time)."""
    st = os.stat(path)
    return _file_sha256(str(Path(path).resolve()), st.st_size, st.st_mtime_ns)


def _hf_offline() -> bool:
    from huggingface_hub import constants

    env = os.environ.get("HF_HUB_OFFLINE", "").upper() in {"1", "ON", "YES", "TRUE"}
    return env or bool(constants.HF_HUB_OFFLINE)


def _hf_cached_weights(hf_hub: str) -> str | None:
    """Path of open_clip weights for an ``org/repo/[file]`` hub entry if already in the local hub cache."""
    from huggingface_hub import try_to_load_from_cache

    # open_clip's convention: 'org/repo/' (default file names) or 'org/repo/file.ext'
    repo_id, filename = (hf_hub.rstrip("/"), "") if hf_hub.endswith("/") else os.path.split(hf_hub)
    names = [filename] if filename else ["open_clip_model.safetensors", "open_clip_pytorch_model.bin"]
    for name in names:
        hit = try_to_load_from_cache(repo_id=repo_id, filename=name)
        if isinstance(hit, str):
            return hit
    return None


def _missing_weights_message(cfg: BackboneConfig, hf_hub: str, reason: str) -> str:
    from huggingface_hub import constants

    repo_id = "/".join(hf_hub.rstrip("/").split("/")[:2])
    cache = Path(constants.HF_HUB_CACHE) / f"models--{repo_id.replace('/', '--')}"
    return (
        f"CLIP weights {cfg.clip_model!r} / pretrained={cfg.pretrained!r} {reason}. Either:\n"
        f"  1. fetch them once with network access; open_clip stores them in the Hugging Face hub cache "
        f"(expected at {cache}):\n"
        f"       HF_HUB_OFFLINE=0 python -c \"import open_clip; open_clip.create_model('{cfg.clip_model}', "
        f"pretrained='{cfg.pretrained}')\"\n"
        f"  2. or download https://huggingface.co/{repo_id}/resolve/main/open_clip_model.safetensors "
        f"yourself and point the config at the file: create_model(..., pretrained='/path/to/"
        f"open_clip_model.safetensors') (config field backbone.pretrained; OpenAI weights also need "
        f"backbone.quick_gelu=true, as in clipmg_vitb16.json)."
    )


def resolve_weights(cfg: BackboneConfig) -> WeightsSource:
    """Decide where the weights come from, failing fast (no network attempt) when they cannot load."""
    torch_version = torch.__version__.split("+")[0]
    if cfg.pretrained is None or cfg.pretrained == "":
        quick = bool(cfg.quick_gelu)
        return WeightsSource("random", None, quick,
                             f"random-init:{cfg.clip_model}:seed={cfg.init_seed}:torch={torch_version}")
    if Path(cfg.pretrained).expanduser().is_file():
        path = str(Path(cfg.pretrained).expanduser().resolve())
        return WeightsSource("file", path, bool(cfg.quick_gelu), f"file-sha256:{file_fingerprint(path)}")
    if _looks_like_path(cfg.pretrained):
        raise WeightsNotFoundError(
            f"backbone.pretrained = {cfg.pretrained!r}: no such checkpoint file. Give an existing open_clip "
            f"state-dict file (.pt/.pth/.bin/.safetensors), an open_clip tag such as 'openai', or null.")
    pcfg = open_clip.get_pretrained_cfg(cfg.clip_model, cfg.pretrained)
    if not pcfg:
        tags = open_clip.list_pretrained_tags_by_model(cfg.clip_model)
        raise WeightsNotFoundError(f"backbone.pretrained = {cfg.pretrained!r} is not a known open_clip tag "
                                   f"for {cfg.clip_model!r} (tags: {tags}) nor an existing file.")
    quick = pcfg.get("quick_gelu", False) if cfg.quick_gelu is None else cfg.quick_gelu
    if _hf_offline():
        hf_hub = pcfg.get("hf_hub", "")
        if not hf_hub or _hf_cached_weights(hf_hub) is None:
            raise WeightsNotFoundError(_missing_weights_message(
                cfg, hf_hub, "are not in the local cache and HF_HUB_OFFLINE is set, so nothing is downloaded"))
    return WeightsSource("tag", cfg.pretrained, bool(quick), f"tag:{cfg.clip_model}:{cfg.pretrained}")


class _DropMessage(logging.Filter):
    def __init__(self, text: str):
        super().__init__()
        self.text = text

    def filter(self, record: logging.LogRecord) -> bool:
        return self.text not in record.getMessage()


@contextmanager
def _quiet_random_init(active: bool):
    """Drop open_clip's "No pretrained weights loaded" warning when random weights are what the config asks for."""
    if not active:
        yield
        return
    flt = _DropMessage("No pretrained weights loaded")
    logging.getLogger().addFilter(flt)
    try:
        yield
    finally:
        logging.getLogger().removeFilter(flt)


def load_open_clip(cfg: BackboneConfig) -> tuple[nn.Module, WeightsSource]:
    """The whole open_clip CLIP (both towers) for ``cfg``; random weights are seeded by ``cfg.init_seed``."""
    if cfg.clip_model not in open_clip.list_models():
        raise ConfigError(f"backbone.clip_model = {cfg.clip_model!r} is not an open_clip architecture "
                          f"(e.g. 'ViT-B-16', 'ClipMG-ViT-Tiny-16'; see open_clip.list_models())")
    source = resolve_weights(cfg)
    kwargs = dict(force_quick_gelu=source.quick_gelu)
    if cfg.image_size is not None:
        kwargs["force_image_size"] = cfg.image_size
    with torch.random.fork_rng(devices=[]), _quiet_random_init(source.kind == "random"):
        torch.manual_seed(cfg.init_seed)
        try:
            model = open_clip.create_model(cfg.clip_model, pretrained=source.value, **kwargs)
        except RuntimeError as exc:
            if source.kind == "tag":
                pcfg = open_clip.get_pretrained_cfg(cfg.clip_model, cfg.pretrained)
                raise WeightsNotFoundError(_missing_weights_message(
                    cfg, pcfg.get("hf_hub", ""), "could not be downloaded")
                                           + f"\n  (open_clip said: {exc})") from exc
            raise
    return model.eval(), source


# --------------------------------------------------------------------------------------------
# the module
# --------------------------------------------------------------------------------------------
class CLIPBackbone(nn.Module):
    """Frozen (or partly trainable) CLIP visual tower giving per-frame tokens ``(B, T, 1 + P, D)``.

    Attributes: ``embed_dim`` (D), ``image_size`` (S), ``num_tokens`` (1 + P after ``token_grid``),
    ``mean`` / ``std`` (per-channel normalisation the frames must carry), ``cache_key`` (changes when
    anything that changes the tokens changes), ``frozen``.
    """

    def __init__(self, visual: nn.Module, cfg: BackboneConfig, weights: WeightsSource):
        super().__init__()
        if not isinstance(visual, open_clip.transformer.VisionTransformer):
            raise ConfigError(f"backbone.clip_model = {cfg.clip_model!r}: only open_clip VisionTransformer "
                              f"towers expose patch tokens here, got {type(visual).__name__}")
        if visual.attn_pool is not None or visual.pool_type != "tok" or visual.final_ln_after_pool:
            raise ConfigError(f"backbone.clip_model = {cfg.clip_model!r}: needs a CLS-token ViT "
                              f"(pool_type 'tok', no attentional pooler)")
        self.cfg = cfg
        self.weights = weights
        self.visual = visual
        self.visual.output_tokens = True
        size = visual.image_size
        self.image_size = int(size[0] if isinstance(size, (tuple, list)) else size)
        self.grid = tuple(int(g) for g in visual.grid_size)
        self.embed_dim = int(visual.proj.shape[1]) if visual.proj is not None else int(visual.ln_post.normalized_shape[0])
        pp = getattr(visual, "preprocess_cfg", {}) or {}
        self.mean = tuple(float(m) for m in pp.get("mean", open_clip.OPENAI_DATASET_MEAN))
        self.std = tuple(float(s) for s in pp.get("std", open_clip.OPENAI_DATASET_STD))
        if cfg.token_grid is not None and not (1 <= cfg.token_grid <= min(self.grid)):
            raise ConfigError(f"backbone.token_grid = {cfg.token_grid} must be in 1..{min(self.grid)} "
                              f"(patch grid {self.grid})")
        patches = cfg.token_grid ** 2 if cfg.token_grid else self.grid[0] * self.grid[1]
        self.num_tokens = 1 + patches
        self._set_trainable(cfg.trainable_blocks)
        self.register_buffer("_mean", torch.tensor(self.mean).view(1, 1, 3, 1, 1), persistent=False)
        self.register_buffer("_std", torch.tensor(self.std).view(1, 1, 3, 1, 1), persistent=False)

    # ---- trainability ----
    def _set_trainable(self, blocks: int) -> None:
        self.visual.requires_grad_(False)
        resblocks = self.visual.transformer.resblocks
        if blocks > len(resblocks):
            raise ConfigError(f"backbone.trainable_blocks = {blocks} but {self.cfg.clip_model} has "
                              f"{len(resblocks)} blocks")
        if blocks > 0:
            for block in resblocks[len(resblocks) - blocks:]:
                block.requires_grad_(True)
            self.visual.ln_post.requires_grad_(True)
            if self.visual.proj is not None:
                self.visual.proj.requires_grad_(True)

    @property
    def frozen(self) -> bool:
        """True when no backbone parameter trains: tokens are a pure function of the frames (cacheable)."""
        return not any(p.requires_grad for p in self.visual.parameters())

    def train(self, mode: bool = True):
        super().train(mode)
        if self.frozen:
            self.visual.eval()  # a frozen encoder always runs in inference mode
        return self

    @property
    def cache_key(self) -> str:
        """sha256 over everything that determines the tokens (architecture, weights, size, pooling)."""
        spec = {"arch": open_clip.get_model_config(self.cfg.clip_model), "clip_model": self.cfg.clip_model,
                "weights": self.weights.fingerprint, "quick_gelu": self.weights.quick_gelu,
                "image_size": self.image_size, "token_grid": self.cfg.token_grid,
                "tokens": "cls+patches,ln_post,proj", "mean": self.mean, "std": self.std}
        return content_hash(spec)

    # ---- frames ----
    def preprocess(self, imgs: torch.Tensor | np.ndarray) -> torch.Tensor:
        """uint8 frames ``(B, T, H, W, 3)`` or ``(T, H, W, 3)`` -> CLIP input ``(B, T, 3, S, S)`` float32.

        Resizes the short side to S (bicubic, antialiased) and centre-crops, as CLIP's own
        preprocessing does, then normalises with ``mean`` / ``std``.
        """
        x = torch.as_tensor(imgs).to(self._mean.device)  # move uint8, not float32: 4x less to copy
        if x.ndim == 4:
            x = x.unsqueeze(0)
        if x.ndim != 5 or x.shape[-1] != 3:
            raise ValueError(f"preprocess expects uint8 frames (B, T, H, W, 3), got shape {tuple(x.shape)}")
        b, t, h, w, _ = x.shape
        x = x.reshape(b * t, h, w, 3).permute(0, 3, 1, 2).float().div_(255.0)
        s = self.image_size
        if (h, w) != (s, s):
            scale = s / min(h, w)
            nh, nw = max(s, round(h * scale)), max(s, round(w * scale))
            x = F.interpolate(x, size=(nh, nw), mode="bicubic", antialias=True, align_corners=False).clamp_(0, 1)
            top, left = (nh - s) // 2, (nw - s) // 2
            x = x[:, :, top:top + s, left:left + s]
        x = x.reshape(b, t, 3, s, s)
        return (x - self._mean) / self._std

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """frames ``(B, T, 3, S, S)`` CLIP-normalised -> tokens ``(B, T, 1 + P, D)`` (token 0 = CLS)."""
        if frames.ndim != 5 or frames.shape[2] != 3 or tuple(frames.shape[-2:]) != (self.image_size,) * 2:
            raise ValueError(f"encode_frames expects frames (B, T, 3, {self.image_size}, {self.image_size}) "
                             f"(CLIP-normalised; see CLIPBackbone.preprocess), got {tuple(frames.shape)}")
        b, t = frames.shape[:2]
        flat = frames.reshape(b * t, *frames.shape[2:])
        dtype = next(self.visual.parameters()).dtype
        grad = torch.is_grad_enabled() and not self.frozen
        chunks = []
        with torch.set_grad_enabled(grad):
            for start in range(0, flat.shape[0], self.cfg.encode_chunk):
                chunks.append(self._encode(flat[start:start + self.cfg.encode_chunk].to(dtype)))
        tokens = torch.cat(chunks, 0)
        return tokens.reshape(b, t, *tokens.shape[1:])

    def _encode(self, x: torch.Tensor) -> torch.Tensor:
        pooled, patches = self.visual(x)  # (N, D), (N, P, width) after ln_post
        if self.visual.proj is not None:
            patches = patches @ self.visual.proj
        if self.cfg.token_grid:
            n, _, d = patches.shape
            g = self.cfg.token_grid
            grid = patches.transpose(1, 2).reshape(n, d, *self.grid)
            patches = F.adaptive_avg_pool2d(grid, (g, g)).flatten(2).transpose(1, 2)
        return torch.cat([pooled.unsqueeze(1), patches], dim=1)
