"""Each CLIP-MG component on its own: shapes, equations, and the errors on bad input."""
from __future__ import annotations

import math

import pytest
import torch

from clipmg_lib.model.config import CrossAttentionConfig, HeadConfig, PoseEncoderConfig, QueryConfig
from clipmg_lib.model.cross_attention import QueryCrossAttention, TokenEmbedding, TokenPooling
from clipmg_lib.model.fusion import ConcatFusion, GatedFusion
from clipmg_lib.model.head import CosineHead, LinearHead
from clipmg_lib.model.pose_encoder import PoseEncoder3D
from clipmg_lib.model.queries import PoseGuidedQueryGenerator

G = torch.Generator().manual_seed(0)


def test_pose_encoder_shapes_and_temporal_resolution():
    cfg = PoseEncoderConfig(stem_channels=8, stem_stride=2, stage_channels=[16, 32], temporal_kernels=[1, 3])
    enc = PoseEncoder3D(cfg, out_dim=24, in_channels=22, height=56, width=56).eval()
    heat = torch.rand(2, 22, 8, 56, 56, generator=G)
    clip_emb, per_time = enc(heat)
    assert clip_emb.shape == (2, 24) and per_time.shape == (2, 8, 24)
    torch.testing.assert_close(clip_emb, per_time.mean(1))
    # temporal stride 1: a change confined to the last frame moves the last time step most
    heat2 = heat.clone()
    heat2[:, :, -1] = 0
    delta = (enc(heat2)[1] - per_time).abs().mean(dim=(0, 2))
    assert delta[-1] > 1e-3 and delta[0] < 1e-6  # temporal receptive field: 1 + 2 per (3,.,.) kernel
    with pytest.raises(ValueError, match=r"C=22, T, H=56, W=56"):
        enc(torch.rand(2, 17, 8, 56, 56))


def test_queries_film_add_none():
    text = torch.randn(32, 40, generator=G)
    pose = torch.randn(3, 16, generator=G)
    film = PoseGuidedQueryGenerator(QueryConfig(mode="film", num_learnable=4), 40, 16, pose_guided=True)
    q0 = film(text, pose, 3)
    assert q0.shape == (3, 36, 16)
    base = film(text, torch.zeros_like(pose), 3)
    torch.testing.assert_close(q0, base)  # zero-initialised modulation: starts as the identity
    torch.nn.init.normal_(film.modulation.weight, std=0.5, generator=G)
    q = film(text, pose, 3)
    gamma, beta = film.modulation(pose).chunk(2, -1)
    torch.testing.assert_close(q, base * (1 + gamma[:, None]) + beta[:, None])
    assert not torch.allclose(q[0], q[1])  # different pose, different queries

    add = PoseGuidedQueryGenerator(QueryConfig(mode="add"), 40, 16, pose_guided=True)
    torch.nn.init.normal_(add.modulation.weight, std=0.5, generator=G)
    qa = add(text, pose, 3)
    torch.testing.assert_close(qa - add(text, torch.zeros_like(pose), 3),
                               (add.modulation.weight @ pose.T).T[:, None].expand(-1, 32, -1))

    none = PoseGuidedQueryGenerator(QueryConfig(mode="film"), 40, 16, pose_guided=False)
    assert none.modulation is None
    torch.testing.assert_close(none(text, pose, 3), none(text, -pose, 3))
    with pytest.raises(ValueError, match="pose embedding"):
        film(text, None, 3)


def test_cross_attention_weights_and_temporal_order():
    cfg = CrossAttentionConfig(heads=4, layers=2, dropout=0.0)
    xattn = QueryCrossAttention(cfg, token_dim=20, dim=16, num_frames=5).eval()
    queries = torch.randn(2, 7, 16, generator=G)
    tokens = torch.randn(2, 5, 10, 20, generator=G)
    v, attended, attn = xattn(queries, tokens)
    assert v.shape == (2, 16) and attended.shape == (2, 7, 16) and attn.shape == (2, 4, 7, 50)
    torch.testing.assert_close(attn.sum(-1), torch.ones(2, 4, 7))
    # learned temporal positions: reversing the frames changes the result, pooling would not
    v_rev = xattn(queries, tokens.flip(1))[0]
    assert not torch.allclose(v, v_rev, atol=1e-5)
    pool = TokenPooling("appearance+change", 20, 16)
    torch.testing.assert_close(pool(tokens), pool(tokens.flip(1)))
    with pytest.raises(ValueError, match="built for 5 frames"):
        xattn(queries, torch.randn(2, 4, 10, 20))


def test_gated_fusion_is_a_convex_mix_with_gate_in_unit_interval():
    fusion = GatedFusion(8)
    torch.nn.init.normal_(fusion.gate.weight, std=3.0, generator=G)
    v, p = torch.randn(64, 8, generator=G), torch.randn(64, 8, generator=G)
    h, g = fusion(v, p)
    assert g.shape == (64, 8) and (g >= 0).all() and (g <= 1).all()
    torch.testing.assert_close(h, g * v + (1 - g) * p)
    lo, hi = torch.minimum(v, p), torch.maximum(v, p)
    assert ((h >= lo - 1e-6) & (h <= hi + 1e-6)).all()
    # the gate moves with its inputs
    assert g.std() > 0.1
    h2, gate2 = ConcatFusion(8)(v, p)
    assert h2.shape == (64, 8) and gate2 is None


def test_heads():
    h = torch.randn(5, 16, generator=G)
    text = torch.randn(32, 12, generator=G)
    cos = CosineHead(16, 12, HeadConfig(init_temperature=0.07))
    logits = cos(h, text)
    assert logits.shape == (5, 32)
    assert logits.abs().max() <= 1 / 0.07 + 1e-4
    torch.testing.assert_close(cos.logit_scale.exp(), torch.tensor(1 / 0.07))
    with torch.no_grad():
        cos.logit_scale.fill_(math.log(1000.0))
    assert cos(h, text).abs().max() <= 100 + 1e-3  # clamped like CLIP
    frozen_t = CosineHead(16, 12, HeadConfig(learn_temperature=False))
    assert not frozen_t.logit_scale.requires_grad
    assert LinearHead(16, 32, 0.0)(h).shape == (5, 32)


def test_change_features_see_change_not_appearance():
    cfg = CrossAttentionConfig(heads=2, layers=1, dropout=0.0, token_features="change")
    xattn = QueryCrossAttention(cfg, token_dim=12, dim=8, num_frames=4).eval()
    assert xattn.embed.appearance_proj is None and xattn.embed.change_proj is not None
    queries = torch.randn(1, 3, 8, generator=G)
    tokens = torch.randn(1, 4, 5, 12, generator=G)
    v = xattn(queries, tokens)[0]
    static = tokens + torch.randn(1, 1, 5, 12, generator=G)  # another look, the same in every frame
    torch.testing.assert_close(xattn(queries, static)[0], v)
    moving = tokens.clone()
    moving[:, 2] += 1.0  # something happens in frame 2
    assert not torch.allclose(xattn(queries, moving)[0], v, atol=1e-4)
    # with the appearance term the look matters too
    both = QueryCrossAttention(CrossAttentionConfig(heads=2, dropout=0.0), 12, 8, 4).eval()
    assert both.embed.appearance_proj is not None and both.embed.change_proj is not None
    assert not torch.allclose(both(queries, static)[0], both(queries, tokens)[0], atol=1e-4)
    plain = QueryCrossAttention(CrossAttentionConfig(token_features="appearance", heads=2), 12, 8, 4)
    assert plain.embed.change_proj is None
    with pytest.raises(ValueError, match="token_features"):
        QueryCrossAttention(CrossAttentionConfig(token_features="motion", heads=2), 12, 8, 4)


def test_token_pooling_of_change_features_is_not_degenerate():
    """Pooling the *embedded* change (after LayerNorm) is informative, unlike the mean residual (always 0)."""
    pool = TokenPooling("change", 12, 8).eval()
    tokens = torch.randn(3, 4, 5, 12, generator=G)
    still = tokens[:, :1].expand(-1, 4, -1, -1)
    v_moving, v_still = pool(tokens), pool(still)
    assert not torch.allclose(v_moving, v_still, atol=1e-3)
    # every still clip looks alike, whatever it looks like
    torch.testing.assert_close(v_still, v_still[:1].expand(3, -1))


def test_look_and_change_in_one_projection_equals_two():
    """TokenEmbedding fuses x W_a + (x - x̄) W_c into one projection: same values and gradients as the sum."""
    emb = TokenEmbedding("appearance+change", 12, 8, 4).double()
    tokens = torch.randn(2, 4, 5, 12, generator=G, dtype=torch.float64)
    out = emb(tokens)
    a, c = emb.appearance_proj, emb.change_proj
    ref = a(tokens) + c(tokens - tokens.mean(dim=1, keepdim=True)) + emb.temporal_pos[None, :, None, :]
    ref = emb.norm(ref.reshape(2, 20, 8))
    torch.testing.assert_close(out, ref)
    g_out = torch.autograd.grad(out.square().sum(), (a.weight, c.weight, a.bias))
    g_ref = torch.autograd.grad(ref.square().sum(), (a.weight, c.weight, a.bias))
    for g1, g2 in zip(g_out, g_ref):
        torch.testing.assert_close(g1, g2)
