"""The spotting classifier: CLIP-MG with one extra, background, class.

    logits = [ CLIP-MG logits (B, 32) | w . fused + b (B, 1) ]          -> (B, 33); column 32 = background

The 32 micro-gesture logits are CLIP-MG's own head (cosine to the class text embeddings); the background
has no text prompt, so it gets a linear logit on the same fused feature ``h`` the head sees. Every other
output of :class:`~clipmg_lib.model.clipmg.CLIPMG` passes through unchanged.
"""
from __future__ import annotations

import torch
from torch import nn

from ..model.clipmg import CLIPMG
from .windows import BACKGROUND


class SpottingModel(nn.Module):
    """``forward(tokens=, heatmap=)`` -> CLIP-MG's output dict with ``logits`` (B, 33)."""

    def __init__(self, clipmg: CLIPMG) -> None:
        super().__init__()
        if clipmg.cfg.num_classes != BACKGROUND:
            raise ValueError(f"{clipmg.cfg.name}: {clipmg.cfg.num_classes} classes; the spotter expects the "
                             f"{BACKGROUND} MiGA classes and adds background as class {BACKGROUND}")
        if clipmg.cfg.zero_shot or clipmg.head is None:
            raise ValueError(f"{clipmg.cfg.name}: a zero-shot model has no trained head to spot with")
        self.clipmg = clipmg
        self.background = nn.Linear(clipmg.cfg.hidden_dim, 1)
        self.num_classes = BACKGROUND + 1
        self.background_index = BACKGROUND

    @property
    def cfg(self):
        return self.clipmg.cfg

    @property
    def heatmap_shape(self):
        return self.clipmg.heatmap_shape

    def forward(self, tokens: torch.Tensor | None = None, heatmap: torch.Tensor | None = None,
                frames: torch.Tensor | None = None) -> dict:
        out = self.clipmg(tokens=tokens, heatmap=heatmap, frames=frames)
        bg = self.background(out["fused"].to(self.background.weight.dtype))
        return {**out, "logits": torch.cat([out["logits"], bg.to(out["logits"].dtype)], dim=1)}
