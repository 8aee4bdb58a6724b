"""A toy dataset and model with the trainer's interfaces (dict items, ``model(tokens=, heatmap=)``).

Used by the trainer tests (resume, DDP) so that they exercise the loop, not the CLIP-MG model.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

NUM_CLASSES = 6


class ToyClips(Dataset):
    """``n`` clips of ``NUM_CLASSES`` classes: tokens (T=4, L=3, D=8) and heatmap (2, 4, 4, 4) whose means
    depend on the class (tokens carry classes 0-3, the heatmap classes 2-5), plus noise."""

    def __init__(self, n: int = 192, seed: int = 0) -> None:
        protos = np.random.default_rng(1234)  # the same class prototypes for every split
        proto_t = protos.normal(size=(NUM_CLASSES, 8)) * (np.arange(NUM_CLASSES) < 4)[:, None]
        proto_h = protos.normal(size=(NUM_CLASSES, 2 * 4 * 4 * 4)) * (np.arange(NUM_CLASSES) >= 2)[:, None]
        rng = np.random.default_rng(seed)
        self.labels = rng.integers(0, NUM_CLASSES, n)
        self.tokens = (proto_t[self.labels][:, None, None, :] + rng.normal(scale=1.5, size=(n, 4, 3, 8))).astype(np.float32)
        self.heatmap = (proto_h[self.labels] + rng.normal(scale=1.5, size=(n, 128))).reshape(n, 2, 4, 4, 4).astype(np.float32)
        self.sample_ids = [f"toy_{i}" for i in range(n)]

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> dict:
        return {"tokens": torch.from_numpy(self.tokens[i]), "heatmap": torch.from_numpy(self.heatmap[i]),
                "label": int(self.labels[i]), "index": i}


class ToyModel(nn.Module):
    """Pooled tokens and flattened heatmap -> gated sum -> dropout -> linear head. Frozen ``backbone``
    parameter mimics CLIP (excluded from checkpoints, fingerprinted)."""

    num_classes = NUM_CLASSES

    def __init__(self, dropout: float = 0.2) -> None:
        super().__init__()
        self.backbone = nn.Linear(8, 8)
        self.backbone.requires_grad_(False)
        self.rgb = nn.Linear(8, 16)
        self.pose = nn.Linear(128, 16)
        self.gate = nn.Linear(32, 16)
        self.norm = nn.LayerNorm(16)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(16, NUM_CLASSES)

    def forward(self, tokens: torch.Tensor, heatmap: torch.Tensor) -> dict:
        v = self.rgb(self.backbone(tokens).mean(dim=(1, 2)))
        p = self.pose(heatmap.flatten(1))
        g = torch.sigmoid(self.gate(torch.cat([v, p], dim=1)))
        fused = self.norm(g * v + (1 - g) * p)
        return {"logits": self.head(self.drop(fused)), "gate": g, "fused": fused, "attn": None}
