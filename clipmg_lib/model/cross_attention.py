"""Cross-attention of the (pose-guided) queries over the spatio-temporal CLIP visual tokens.

    X = LN( x W_v + b_v + (x - mean_t x) W_r + tpos[t] )   (B, T*N, d)  N = 1 + P tokens per frame
    for each layer (pre-norm decoder layer, no self-attention):
        Q <- Q + MHA( LN(Q), X, X )                   attention weights A (B, heads, Q, T*N)
        Q <- Q + FFN( LN(Q) )
    v = LN( mean_q Q )                                (B, d)       the pose-guided visual feature

``tpos`` is a learned temporal position embedding (one vector per frame, shared by the frame's
tokens); spatial position is already inside the CLIP tokens. The temporal residual ``x - mean_t x``
(token by token, over the clip's frames; ``cross_attention.temporal_residual``) lets the keys carry what
*changes* during the clip next to what it looks like: a micro-gesture is a small change on a person
whose appearance dominates every token, and attention weights, being a convex mix, cannot subtract
frames by themselves. The last layer's weights are returned
for visualisation; reshape to (B, heads, Q, T, N) to see them per frame.
"""
from __future__ import annotations

import torch
from torch import nn

from .config import CrossAttentionConfig


class CrossAttentionLayer(nn.Module):
    """One pre-norm cross-attention + FFN block: ``(q (B,Q,d), kv (B,L,d)) -> (q, attn (B,h,Q,L))``."""

    def __init__(self, dim: int, heads: int, dropout: float, ffn_ratio: float):
        super().__init__()
        self.norm_q = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
        self.norm_ffn = nn.LayerNorm(dim)
        hidden = int(dim * ffn_ratio)
        self.ffn = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, dim))
        self.drop = nn.Dropout(dropout)

    def forward(self, q: torch.Tensor, kv: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out, attn = self.attn(self.norm_q(q), kv, kv, need_weights=True, average_attn_weights=False)
        q = q + self.drop(out)
        q = q + self.drop(self.ffn(self.norm_ffn(q)))
        return q, attn


class QueryCrossAttention(nn.Module):
    """``(queries (B, Q, d), tokens (B, T, N, D_v)) -> (v (B, d), attended (B, Q, d), attn (B, h, Q, T*N))``."""

    def __init__(self, cfg: CrossAttentionConfig, token_dim: int, dim: int, num_frames: int):
        super().__init__()
        self.token_proj = nn.Linear(token_dim, dim)
        self.residual_proj = nn.Linear(token_dim, dim, bias=False) if cfg.temporal_residual else None
        self.temporal_pos = nn.Parameter(torch.randn(num_frames, dim) * 0.02)
        self.norm_kv = nn.LayerNorm(dim)
        self.layers = nn.ModuleList(CrossAttentionLayer(dim, cfg.heads, cfg.dropout, cfg.ffn_ratio)
                                    for _ in range(cfg.layers))
        self.norm_out = nn.LayerNorm(dim)

    def forward(self, queries: torch.Tensor, tokens: torch.Tensor):
        b, t, n, _ = tokens.shape
        if t != self.temporal_pos.shape[0]:
            raise ValueError(f"cross-attention was built for {self.temporal_pos.shape[0]} frames "
                             f"(config num_frames), got tokens with T={t}")
        x = tokens.to(self.token_proj.weight.dtype)
        kv = self.token_proj(x) + self.temporal_pos[None, :, None, :]
        if self.residual_proj is not None:
            kv = kv + self.residual_proj(x - x.mean(dim=1, keepdim=True))
        kv = self.norm_kv(kv.reshape(b, t * n, -1))
        q, attn = queries, None
        for layer in self.layers:
            q, attn = layer(q, kv)
        return self.norm_out(q.mean(dim=1)), q, attn


class TokenPooling(nn.Module):
    """The ``no_cross_attention`` ablation: ``v = LN( mean_{t,n} tokens W_v + b_v )`` (B, d), no queries."""

    def __init__(self, token_dim: int, dim: int):
        super().__init__()
        self.token_proj = nn.Linear(token_dim, dim)
        self.norm_out = nn.LayerNorm(dim)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        pooled = tokens.to(self.token_proj.weight.dtype).mean(dim=(1, 2))
        return self.norm_out(self.token_proj(pooled))
