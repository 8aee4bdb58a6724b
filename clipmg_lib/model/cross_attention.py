"""Cross-attention of the (pose-guided) queries over the spatio-temporal CLIP visual tokens.

    X = LN( x W_a + b_a  +  (x - mean_t x) W_c  +  tpos[t] )   (B, T*N, d)  N = 1 + P tokens per frame
    for each layer (pre-norm decoder layer, no self-attention):
        Q <- Q + MHA( LN(Q), X, X )                   attention weights A (B, heads, Q, T*N)
        Q <- Q + FFN( LN(Q) )
    v = LN( mean_q Q )                                (B, d)       the pose-guided visual feature

``X`` is the :class:`TokenEmbedding`. ``tpos`` is a learned temporal position embedding (one vector per
frame, shared by the frame's tokens); spatial position is already inside the CLIP tokens. Which of the
two token terms exist is ``cross_attention.token_features``: ``appearance`` (x W_a, what each patch
looks like), ``change`` ((x - mean_t x) W_c, token by token over the clip's frames: what moves), or
both. A micro-gesture is a small change on a person whose appearance dominates every token, and
attention weights, being a convex mix, cannot subtract frames by themselves; in iMiGUE's cross-subject
protocol the appearance is also the subject's identity, which does not transfer to test subjects.

The ``no_cross_attention`` ablation (:class:`TokenPooling`) average-pools the same embedding (without
``tpos``), so the ablation removes the attention and nothing else. The last layer's weights are
returned for visualisation; reshape to (B, heads, Q, T, N) to see them per frame.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

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


class TokenEmbedding(nn.Module):
    """``tokens (B, T, N, D_v) -> X (B, T*N, d)``: the token terms of ``token_features``, ``tpos``, LayerNorm.

    ``appearance_proj`` (x W_a + b_a) and ``change_proj`` ((x - mean_t x) W_c) exist as the config asks;
    ``num_frames=None`` leaves out the temporal positions (order-free pooling).
    """

    def __init__(self, token_features: str, token_dim: int, dim: int, num_frames: int | None):
        super().__init__()
        if token_features not in ("appearance", "change", "appearance+change"):
            raise ValueError(f"token_features must be 'appearance', 'change' or 'appearance+change', "
                             f"got {token_features!r}")
        self.appearance_proj = nn.Linear(token_dim, dim) if "appearance" in token_features else None
        self.change_proj = (nn.Linear(token_dim, dim, bias=self.appearance_proj is None)
                            if "change" in token_features else None)
        self.temporal_pos = nn.Parameter(torch.randn(num_frames, dim) * 0.02) if num_frames else None
        self.norm = nn.LayerNorm(dim)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        b, t, n, _ = tokens.shape
        if self.temporal_pos is not None and t != self.temporal_pos.shape[0]:
            raise ValueError(f"cross-attention was built for {self.temporal_pos.shape[0]} frames "
                             f"(config num_frames), got tokens with T={t}")
        proj = self.appearance_proj if self.appearance_proj is not None else self.change_proj
        x = tokens.to(proj.weight.dtype)
        if self.appearance_proj is not None and self.change_proj is not None:
            # x W_a + b_a + (x - x̄) W_c  ==  x (W_a + W_c) + b_a - x̄ W_c: one projection of the T*N tokens
            # instead of two (x̄ W_c is over N tokens). Exact in real arithmetic; the rounding error stays relative
            # to the appearance term, as in the two-projection form. Not done for 'change' alone, where x W_c
            # and x̄ W_c would cancel and low precision (bf16) would eat the small change.
            a, c = self.appearance_proj, self.change_proj
            x_emb = F.linear(x, a.weight + c.weight, a.bias) - c(x.mean(dim=1, keepdim=True))
        elif self.appearance_proj is not None:
            x_emb = self.appearance_proj(x)
        else:
            x_emb = self.change_proj(x - x.mean(dim=1, keepdim=True))
        if self.temporal_pos is not None:
            x_emb = x_emb + self.temporal_pos[None, :, None, :]
        return self.norm(x_emb.reshape(b, t * n, -1))


class QueryCrossAttention(nn.Module):
    """``(queries (B, Q, d), tokens (B, T, N, D_v)) -> (v (B, d), attended (B, Q, d), attn (B, h, Q, T*N))``."""

    def __init__(self, cfg: CrossAttentionConfig, token_dim: int, dim: int, num_frames: int):
        super().__init__()
        self.embed = TokenEmbedding(cfg.token_features, token_dim, dim, num_frames)
        self.layers = nn.ModuleList(CrossAttentionLayer(dim, cfg.heads, cfg.dropout, cfg.ffn_ratio)
                                    for _ in range(cfg.layers))
        self.norm_out = nn.LayerNorm(dim)

    def forward(self, queries: torch.Tensor, tokens: torch.Tensor):
        kv = self.embed(tokens)
        q, attn = queries, None
        for layer in self.layers:
            q, attn = layer(q, kv)
        return self.norm_out(q.mean(dim=1)), q, attn


class TokenPooling(nn.Module):
    """The ``no_cross_attention`` ablation: ``v = LN( W mean_{t,n} X + b )`` (B, d), no queries.

    ``X`` is the cross-attention's :class:`TokenEmbedding` without temporal positions (pooling is order-free).
    """

    def __init__(self, token_features: str, token_dim: int, dim: int):
        super().__init__()
        self.embed = TokenEmbedding(token_features, token_dim, dim, None)
        self.proj = nn.Linear(dim, dim)
        self.norm_out = nn.LayerNorm(dim)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.norm_out(self.proj(self.embed(tokens).mean(dim=1)))
