"""The pose encoder: a small 3D CNN over PoseC3D-style heatmap volumes.

In the spirit of PoseC3D's SlowOnly pathway (Duan et al., CVPR 2022): a (1, 7, 7) stem (configurable), then residual
stages that halve H and W but never T (temporal stride 1: micro-gestures are short), with (1, 3, 3)
kernels in the early stage(s) and (3, 3, 3) kernels in the later ones ("inflated" late stages).

    heatmap (B, C, T, H, W) -> features (B, C_L, T, h, w)
        -> spatial mean          (B, T, C_L)
        -> linear + LayerNorm    pose_tokens (B, T, d)      per-time pose features
        -> mean over T           pose_embedding (B, d)      the clip-level pose embedding p
"""
from __future__ import annotations

import torch
from torch import nn

from .config import PoseEncoderConfig


class ResBlock3d(nn.Module):
    """conv(k_t,3,3, stride (1,2,2)) - BN - ReLU - conv(1,3,3) - BN, plus a strided 1x1x1 shortcut."""

    def __init__(self, c_in: int, c_out: int, temporal_kernel: int):
        super().__init__()
        kt = temporal_kernel
        self.conv1 = nn.Conv3d(c_in, c_out, (kt, 3, 3), stride=(1, 2, 2), padding=(kt // 2, 1, 1), bias=False)
        self.bn1 = nn.BatchNorm3d(c_out)
        self.conv2 = nn.Conv3d(c_out, c_out, (1, 3, 3), padding=(0, 1, 1), bias=False)
        self.bn2 = nn.BatchNorm3d(c_out)
        self.shortcut = nn.Sequential(nn.Conv3d(c_in, c_out, 1, stride=(1, 2, 2), bias=False), nn.BatchNorm3d(c_out))
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return self.relu(y + self.shortcut(x))


class PoseEncoder3D(nn.Module):
    """heatmap ``(B, C, T, H, W)`` -> ``(pose_embedding (B, d), pose_tokens (B, T, d))``.

    ``in_channels``, ``height``, ``width``: C, H, W of the heatmaps (the model config's ``inputs``:
    :attr:`~clipmg_lib.model.config.ModelConfig.heatmap_shape`).
    """

    def __init__(self, cfg: PoseEncoderConfig, out_dim: int, in_channels: int, height: int, width: int):
        super().__init__()
        self.cfg = cfg
        self.in_channels, self.height, self.width = int(in_channels), int(height), int(width)
        s, k = cfg.stem_stride, cfg.stem_kernel
        self.stem = nn.Sequential(
            nn.Conv3d(self.in_channels, cfg.stem_channels, (1, k, k), stride=(1, s, s), padding=(0, k // 2, k // 2),
                      bias=False),
            nn.BatchNorm3d(cfg.stem_channels), nn.ReLU(inplace=True))
        stages, c = [], cfg.stem_channels
        for c_out, kt in zip(cfg.stage_channels, cfg.temporal_kernels):
            stages.append(ResBlock3d(c, c_out, kt))
            c = c_out
        self.stages = nn.Sequential(*stages)
        self.dropout = nn.Dropout(cfg.dropout)
        self.proj = nn.Linear(c, out_dim)
        self.norm = nn.LayerNorm(out_dim)
        self.out_dim = out_dim

    def forward_intermediates(self, heatmap: torch.Tensor) -> dict[str, torch.Tensor]:
        """The feature volume after the stem and after each stage, ``{name: (B, C_i, T, h_i, w_i)}``."""
        self._check(heatmap)
        out, x = {}, self.stem(heatmap)
        out["stem"] = x
        for i, stage in enumerate(self.stages):
            x = stage(x)
            out[f"stage{i + 1}"] = x
        return out

    def _check(self, heatmap: torch.Tensor) -> None:
        if heatmap.ndim != 5 or heatmap.shape[1] != self.in_channels or \
                tuple(heatmap.shape[-2:]) != (self.height, self.width):
            raise ValueError(f"pose encoder expects heatmap (B, C={self.in_channels}, T, H={self.height}, "
                             f"W={self.width}) (config inputs.layout/heatmap), got {tuple(heatmap.shape)}")

    def forward(self, heatmap: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        self._check(heatmap)
        x = self.stages(self.stem(heatmap))          # (B, C_L, T, h, w)
        x = x.mean(dim=(3, 4)).transpose(1, 2)       # (B, T, C_L)
        tokens = self.norm(self.proj(self.dropout(x)))  # (B, T, d)
        return tokens.mean(dim=1), tokens
