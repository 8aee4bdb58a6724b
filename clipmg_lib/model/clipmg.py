"""CLIP-MG: the components wired together (build it with :func:`clipmg_lib.model.factory.create_model`).

    frames (B,T,3,S,S) --CLIPBackbone (frozen)--> tokens (B,T,N,D_v)        encode_frames: cacheable
    heatmap (B,C,T,H,W) --PoseEncoder3D--> p (B,d), pose_tokens (B,T,d)
    class text E (K,D_t) + p --PoseGuidedQueryGenerator--> Q (B,Q,d)
    Q over tokens --QueryCrossAttention--> v (B,d), attn (B,heads,Q,T*N)
    (v, p) --GatedFusion--> h (B,d), gate (B,d)
    h --head (cosine to E, or linear)--> logits (B,K)

Ablations change what is computed (see ``ModelConfig.switches``): ``rgb_only`` drops the pose branch
(h = v), ``pose_only`` drops RGB (h = p), ``no_pose_guidance`` builds queries from text alone,
``no_cross_attention`` average-pools the token embeddings instead, ``no_gate`` concatenates, ``zero_shot``
compares the frames' mean CLS embedding with the class prompts, as CLIP does, with nothing trained.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .backbone import CLIPBackbone
from .trainable_state import load_trainable_state_dict, trainable_state_dict
from .config import ModelConfig
from .cross_attention import QueryCrossAttention, TokenPooling
from .fusion import build_fusion
from .head import build_head
from .pose_encoder import PoseEncoder3D
from .queries import PoseGuidedQueryGenerator


class CLIPMG(nn.Module):
    """The CLIP-MG model. ``forward(tokens=, heatmap=)`` or ``forward(frames=, heatmap=)`` -> dict.

    Output keys: ``logits`` (B, K); ``fused`` (B, d) the feature the head sees; ``attn``
    (B, heads, Q, T*N) or None; ``gate`` (B, d) or None; ``visual`` v (B, d) or None; ``pose`` p (B, d)
    or None; ``pose_tokens`` (B, T, d) or None; ``queries`` (B, Q, d) as generated, or None.
    """

    def __init__(self, cfg: ModelConfig, backbone: CLIPBackbone | None, class_text: torch.Tensor,
                 clip_logit_scale: float = 100.0):
        super().__init__()
        self.cfg = cfg
        d, k = cfg.hidden_dim, cfg.num_classes
        if class_text.shape[0] != k:
            raise ValueError(f"{cfg.name}: class_text has {class_text.shape[0]} rows, config num_classes is {k}")
        self.register_buffer("class_text", class_text.float().clone())
        self.register_buffer("clip_logit_scale", torch.tensor(float(clip_logit_scale)))
        self.backbone = backbone if cfg.uses_rgb else None
        text_dim = class_text.shape[1]
        token_dim = backbone.embed_dim if backbone is not None else None

        c, _, h, w = cfg.heatmap_shape
        self.pose_encoder = PoseEncoder3D(cfg.pose, d, c, h, w) if cfg.uses_pose else None
        self.query_generator = self.cross_attention = self.token_pooling = None
        if cfg.uses_cross_attention:
            self.query_generator = PoseGuidedQueryGenerator(cfg.queries, text_dim, d, cfg.uses_pose_guidance)
            self.cross_attention = QueryCrossAttention(cfg.cross_attention, token_dim, d, cfg.num_frames)
        elif cfg.uses_rgb and not cfg.zero_shot:
            self.token_pooling = TokenPooling(cfg.cross_attention.token_features, token_dim, d)
        self.fusion = build_fusion(cfg.fusion, d) if (cfg.uses_rgb and cfg.uses_pose) else None
        self.head = None if cfg.zero_shot else build_head(cfg.head, d, text_dim, k)

    # ---- what the data / training side needs to know ----
    @property
    def image_size(self) -> int:
        return self._need_backbone().image_size

    @property
    def mean(self) -> tuple[float, float, float]:
        return self._need_backbone().mean

    @property
    def std(self) -> tuple[float, float, float]:
        return self._need_backbone().std

    @property
    def tokens_cacheable(self) -> bool:
        """True when the backbone is frozen: ``encode_frames`` output can be cached and reused."""
        return self.backbone is None or self.backbone.frozen

    @property
    def token_cache_key(self) -> str | None:
        """Changes whenever the tokens would change (architecture, weights, size, pooling); None without RGB."""
        return None if self.backbone is None else self.backbone.cache_key

    @property
    def token_shape(self) -> tuple[int, int, int] | None:
        """(T, N, D) of one clip's tokens."""
        if self.backbone is None:
            return None
        return (self.cfg.num_frames, self.backbone.num_tokens, self.backbone.embed_dim)

    @property
    def heatmap_shape(self) -> tuple[int, int, int, int]:
        """(C, T, H, W) the pose encoder expects (from the config's ``inputs``)."""
        return self.cfg.heatmap_shape

    # ---- checkpoints without the frozen CLIP weights (model.trainable_state) ----
    def trainable_state_dict(self) -> dict[str, torch.Tensor]:
        """``state_dict()`` minus the frozen backbone weights (rebuilt from the config on load).

        For ViT-B/16 this drops 86M parameters (~345 MB) from every checkpoint; buffers such as the
        class text embeddings are kept, so a checkpoint still says which semantics it was trained with.
        """
        return trainable_state_dict(self)

    def load_trainable_state_dict(self, state: dict[str, torch.Tensor], strict: bool = True):
        """Load a :meth:`trainable_state_dict` (or a full ``state_dict``); only frozen backbone keys may be absent."""
        return load_trainable_state_dict(self, state, strict, source=f"{self.cfg.name}: checkpoint")

    def _need_backbone(self) -> CLIPBackbone:
        if self.backbone is None:
            raise RuntimeError(f"{self.cfg.name}: this model has no RGB branch (modalities={self.cfg.modalities})")
        return self.backbone

    # ---- the frozen part ----
    def preprocess(self, imgs: torch.Tensor | np.ndarray) -> torch.Tensor:
        """uint8 ``(B, T, H, W, 3)`` -> CLIP input ``(B, T, 3, S, S)`` (see ``CLIPBackbone.preprocess``)."""
        return self._need_backbone().preprocess(imgs)

    def encode_frames(self, frames: torch.Tensor) -> torch.Tensor:
        """frames ``(B, T, 3, S, S)`` float, CLIP-normalised -> tokens ``(B, T, 1+P, D)``."""
        return self._need_backbone()(frames)

    # ---- the trainable part ----
    def forward(self, tokens: torch.Tensor | None = None, heatmap: torch.Tensor | None = None,
                frames: torch.Tensor | None = None) -> dict[str, torch.Tensor | None]:
        cfg = self.cfg
        out: dict[str, torch.Tensor | None] = dict(logits=None, fused=None, attn=None, gate=None, visual=None,
                                                   pose=None, pose_tokens=None, queries=None)
        if cfg.uses_rgb:
            if tokens is None:
                if frames is None:
                    raise ValueError(f"{cfg.name}: the RGB branch needs tokens= (from encode_frames) or frames=")
                tokens = self.encode_frames(frames)
            self._check_tokens(tokens)
        if cfg.zero_shot:
            return self._zero_shot(tokens, out)
        if cfg.uses_pose:
            if heatmap is None:
                raise ValueError(f"{cfg.name}: the pose branch needs heatmap= (B, C, T, H, W) = "
                                 f"(B, {', '.join(map(str, self.heatmap_shape))})")
            out["pose"], out["pose_tokens"] = self.pose_encoder(heatmap)
        if cfg.uses_rgb:
            if self.cross_attention is not None:
                q = self.query_generator(self.class_text, out["pose"], tokens.shape[0])
                out["queries"] = q
                out["visual"], _, out["attn"] = self.cross_attention(q, tokens)
            else:
                out["visual"] = self.token_pooling(tokens)
        if self.fusion is not None:
            out["fused"], out["gate"] = self.fusion(out["visual"], out["pose"])
        else:
            out["fused"] = out["visual"] if cfg.uses_rgb else out["pose"]
        out["logits"] = self.head(out["fused"], self.class_text)
        return out

    def _zero_shot(self, tokens: torch.Tensor, out: dict) -> dict:
        """CLIP zero-shot: logits = scale * <normalize(mean_t normalize(cls_t)), e_k>."""
        cls = F.normalize(tokens[:, :, 0].float(), dim=-1)
        image = F.normalize(cls.mean(dim=1), dim=-1)
        out["fused"] = image
        out["logits"] = self.clip_logit_scale * image @ F.normalize(self.class_text, dim=-1).t()
        return out

    def _check_tokens(self, tokens: torch.Tensor) -> None:
        expected = self.token_shape
        if tokens.ndim != 4 or tuple(tokens.shape[1:]) != expected:
            raise ValueError(f"{self.cfg.name}: tokens must be (B, T, N, D) = (B, {', '.join(map(str, expected))}) "
                             f"for this config, got {tuple(tokens.shape)} (were they cached with another config? "
                             f"compare token_cache_key)")


def count_parameters(model: nn.Module) -> tuple[int, int]:
    """(trainable, frozen) parameter counts."""
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    frozen = sum(p.numel() for p in model.parameters() if not p.requires_grad)
    return trainable, frozen


def parameter_table(model: nn.Module) -> "pd.DataFrame":
    """One row per top-level component: ``component``, ``trainable``, ``frozen`` parameter counts (+ a total row)."""
    import pandas as pd

    rows = []
    for name, child in model.named_children():
        trainable, frozen = count_parameters(child)
        rows.append({"component": name, "trainable": trainable, "frozen": frozen})
    trainable, frozen = count_parameters(model)
    rows.append({"component": "total", "trainable": trainable, "frozen": frozen})
    return pd.DataFrame(rows)
