"""Fusion of the visual feature v (B, d) and the pose embedding p (B, d).

    gate:    g = sigmoid( W [v ; p] + b )   (B, d), per channel in (0, 1)
             h = g * v + (1 - g) * p        g -> 1 trusts RGB, g -> 0 trusts pose
    concat:  h = W [v ; p] + b              the ``no_gate`` ablation (same input, no gating)

b starts at 0, so the gate starts near 0.5 (an even mix).
"""
from __future__ import annotations

import torch
from torch import nn

from .config import FusionConfig


class GatedFusion(nn.Module):
    """``(v, p) -> (h (B, d), g (B, d))``."""

    def __init__(self, dim: int):
        super().__init__()
        self.gate = nn.Linear(2 * dim, dim)
        nn.init.zeros_(self.gate.bias)

    def forward(self, v: torch.Tensor, p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        g = torch.sigmoid(self.gate(torch.cat([v, p], dim=-1)))
        return g * v + (1 - g) * p, g


class ConcatFusion(nn.Module):
    """``(v, p) -> (h (B, d), None)``: a linear map of the concatenation."""

    def __init__(self, dim: int):
        super().__init__()
        self.proj = nn.Linear(2 * dim, dim)
        self.norm = nn.LayerNorm(dim)

    def forward(self, v: torch.Tensor, p: torch.Tensor) -> tuple[torch.Tensor, None]:
        return self.norm(self.proj(torch.cat([v, p], dim=-1))), None


def build_fusion(cfg: FusionConfig, dim: int) -> nn.Module:
    return GatedFusion(dim) if cfg.mode == "gate" else ConcatFusion(dim)
