"""Classification heads on the fused feature h (B, d).

    linear:  logits = W h + b
    cosine:  logits = exp(s) * < normalize(W h), normalize(e_k) >    (CLIP-style, e_k class text embeddings)
             s learned (initialised to log(1 / init_temperature)), exp(s) clamped to <= 100 as in CLIP.
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from .config import HeadConfig


class LinearHead(nn.Module):
    def __init__(self, dim: int, num_classes: int, dropout: float):
        super().__init__()
        self.drop = nn.Dropout(dropout)
        self.fc = nn.Linear(dim, num_classes)

    def forward(self, h: torch.Tensor, class_text: torch.Tensor | None = None) -> torch.Tensor:
        return self.fc(self.drop(h))


class CosineHead(nn.Module):
    """Cosine similarity to the (fixed) class text embeddings, with a learned temperature."""

    def __init__(self, dim: int, text_dim: int, cfg: HeadConfig):
        super().__init__()
        self.drop = nn.Dropout(cfg.dropout)
        self.proj = nn.Linear(dim, text_dim)
        scale = torch.tensor(math.log(1.0 / cfg.init_temperature))
        self.logit_scale = nn.Parameter(scale, requires_grad=cfg.learn_temperature)

    def forward(self, h: torch.Tensor, class_text: torch.Tensor | None = None) -> torch.Tensor:
        if class_text is None:
            raise ValueError("the cosine head needs the class text embeddings")
        z = F.normalize(self.proj(self.drop(h)), dim=-1)
        e = F.normalize(class_text.to(z.dtype), dim=-1)
        return self.logit_scale.clamp(max=math.log(100.0)).exp() * z @ e.t()


def build_head(cfg: HeadConfig, dim: int, text_dim: int, num_classes: int) -> nn.Module:
    return CosineHead(dim, text_dim, cfg) if cfg.kind == "cosine" else LinearHead(dim, num_classes, cfg.dropout)
