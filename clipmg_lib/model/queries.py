"""Pose-guided semantic query generation.

Semantic queries come from the class text embeddings E (K, D_t) (one per class, :mod:`.text`), plus
optionally M learnable queries L (M, d); the clip's pose embedding p (B, d) then modulates them:

    S = E W_s + b_s                                  (K, d)   semantic queries
    Q0 = [S ; L]                                     (K+M, d)
    film:  [gamma ; beta] = W_f p + b_f              (B, 2d)  (W_f, b_f zero-initialised)
           Q = Q0 * (1 + gamma) + beta               (B, K+M, d)
    add:   Q = Q0 + W_a p + b_a                      (B, K+M, d)  (W_a, b_a zero-initialised)
    none:  Q = Q0                                    (no pose guidance; the ``no_pose_guidance`` ablation)

Zero initialisation makes the pose path start as the identity (Q = Q0), like FiLM/adaLN-zero, so
training starts from pure class semantics and learns how much pose should steer each channel.
"""
from __future__ import annotations

import torch
from torch import nn

from .config import QueryConfig


class PoseGuidedQueryGenerator(nn.Module):
    """``(class_text (K, D_t), pose (B, d) | None) -> queries (B, Q, d)``, Q = K (if class queries) + M."""

    def __init__(self, cfg: QueryConfig, text_dim: int, dim: int, pose_guided: bool):
        super().__init__()
        self.cfg = cfg
        self.mode = cfg.mode if pose_guided else "none"
        self.semantic = nn.Sequential(nn.Linear(text_dim, dim), nn.LayerNorm(dim)) if cfg.class_queries else None
        self.learnable = nn.Parameter(torch.randn(cfg.num_learnable, dim) * 0.02) if cfg.num_learnable else None
        if self.mode == "film":
            self.modulation = nn.Linear(dim, 2 * dim)
        elif self.mode == "add":
            self.modulation = nn.Linear(dim, dim)
        else:
            self.modulation = None
        if self.modulation is not None:
            nn.init.zeros_(self.modulation.weight)
            nn.init.zeros_(self.modulation.bias)

    def num_queries(self, num_classes: int) -> int:
        return (num_classes if self.semantic is not None else 0) + self.cfg.num_learnable

    def base_queries(self, class_text: torch.Tensor) -> torch.Tensor:
        """Q0 = [S ; L] (Q, d): the queries before pose guidance."""
        parts = []
        if self.semantic is not None:
            parts.append(self.semantic(class_text.to(self.semantic[0].weight.dtype)))
        if self.learnable is not None:
            parts.append(self.learnable)
        return torch.cat(parts, dim=0)

    def forward(self, class_text: torch.Tensor, pose: torch.Tensor | None, batch_size: int) -> torch.Tensor:
        base = self.base_queries(class_text).unsqueeze(0).expand(batch_size, -1, -1)  # (B, Q, d)
        if self.mode == "none":
            return base
        if pose is None:
            raise ValueError("pose-guided queries need the pose embedding (the model's heatmap input)")
        mod = self.modulation(pose)  # (B, 2d) or (B, d)
        if self.mode == "film":
            gamma, beta = mod.chunk(2, dim=-1)
            return base * (1 + gamma.unsqueeze(1)) + beta.unsqueeze(1)
        return base + mod.unsqueeze(1)
