"""The CLIP visual encoder (open_clip): per-frame CLS and patch tokens, frozen by default.

:class:`CLIPBackbone` wraps the ``visual`` tower of the open_clip CLIP that
:func:`clipmg_lib.model.weights.load_open_clip` builds (architecture by name, weights resolved there):

    frames (B, T, 3, S, S) float, CLIP-normalised -> tokens (B, T, 1 + P, D)

Token 0 is the CLS embedding exactly as ``CLIP.encode_image`` returns it (``ln_post`` then
``proj``); tokens 1..P are the patch tokens passed through the same ``ln_post`` and ``proj``, so all
tokens live in CLIP's joint image-text space (D = ``embed_dim``: 512 for ViT-B-16). ``token_grid``
optionally average-pools the patch grid (14 x 14 -> e.g. 7 x 7) to shrink a token cache.
"""
from __future__ import annotations

import numpy as np
import open_clip
import torch
import torch.nn.functional as F
from torch import nn

from ..core.config import ConfigError
from ..core.hashing import content_hash
from .config import BackboneConfig
from .weights import WeightsSource


def clip_normalise(x: torch.Tensor, mean, std) -> torch.Tensor:
    """CLIP's input normalisation: float frames in [0, 1] ``(..., 3, H, W)`` -> ``(x - mean) / std`` per channel.

    ``mean`` / ``std``: 3 values (a :class:`CLIPBackbone`'s ``mean`` / ``std``, from its open_clip config).
    """
    m = torch.as_tensor(mean, dtype=x.dtype, device=x.device).reshape(3, 1, 1)
    s = torch.as_tensor(std, dtype=x.dtype, device=x.device).reshape(3, 1, 1)
    return (x - m) / s


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
        self.register_buffer("_mean", torch.tensor(self.mean), persistent=False)
        self.register_buffer("_std", torch.tensor(self.std), persistent=False)

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
        return clip_normalise(x, self._mean, self._std)

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
