"""The CLIP backbone: tokens, preprocessing, freezing, weights from a file, the missing-weights error."""
from __future__ import annotations

import time

import numpy as np
import open_clip
import pytest
import torch

from clipmg_lib.model.backbone import CLIPBackbone
from clipmg_lib.model.weights import WeightsNotFoundError, load_open_clip
from clipmg_lib.core.config import ConfigError
from clipmg_lib.model.config import BackboneConfig
from clipmg_lib.model.factory import create_model, get_model_config

TINY = get_model_config("clipmg_tiny").backbone


def _frames(b=2, t=3, s=112, seed=0):
    return torch.randn(b, t, 3, s, s, generator=torch.Generator().manual_seed(seed))


def _backbone(**changes) -> CLIPBackbone:
    cfg = BackboneConfig(**{**TINY.__dict__, **changes})
    clip, weights = load_open_clip(cfg)
    return CLIPBackbone(clip.visual, cfg, weights)


@pytest.mark.slow
def test_tokens_shape_and_cls_equals_open_clip_image_embedding():
    bb = _backbone()
    frames = _frames()
    tokens = bb(frames)
    assert tokens.shape == (2, 3, 1 + 7 * 7, 64) and bb.num_tokens == 50 and bb.embed_dim == 64
    clip, _ = load_open_clip(TINY)  # a fresh copy, same seed: token 0 must be CLIP's own image embedding
    with torch.no_grad():
        ref = clip.encode_image(frames.flatten(0, 1)).reshape(2, 3, -1)
    torch.testing.assert_close(tokens[:, :, 0], ref, rtol=1e-5, atol=1e-5)


@pytest.mark.slow
def test_random_init_is_seeded_and_keyed():
    frames = _frames(1, 2)
    a, b, c = _backbone(), _backbone(), _backbone(init_seed=1)
    torch.testing.assert_close(a(frames), b(frames))
    assert a.cache_key == b.cache_key
    assert not torch.allclose(a(frames), c(frames)) and a.cache_key != c.cache_key


def test_token_grid_pools_patches():
    full, pooled = _backbone(), _backbone(token_grid=1)
    frames = _frames(1, 2)
    t_full, t_pool = full(frames), pooled(frames)
    assert t_pool.shape == (1, 2, 2, 64)
    torch.testing.assert_close(t_pool[:, :, 0], t_full[:, :, 0])
    torch.testing.assert_close(t_pool[:, :, 1], t_full[:, :, 1:].mean(dim=2), rtol=1e-5, atol=1e-5)
    assert full.cache_key != pooled.cache_key
    with pytest.raises(ConfigError, match="token_grid"):
        _backbone(token_grid=9)


def test_preprocess_resizes_crops_and_normalises():
    bb = _backbone()
    imgs = np.full((4, 90, 160, 3), 128, dtype=np.uint8)  # one clip, non-square frames
    x = bb.preprocess(imgs)
    assert x.shape == (1, 4, 3, 112, 112) and x.dtype == torch.float32
    expected = (128 / 255 - torch.tensor(bb.mean)) / torch.tensor(bb.std)
    torch.testing.assert_close(x[0, 0, :, 50, 50], expected, rtol=1e-3, atol=1e-3)
    with pytest.raises(ValueError, match="uint8 frames"):
        bb.preprocess(np.zeros((4, 90, 160), dtype=np.uint8))


def test_wrong_frame_size_is_a_clear_error():
    with pytest.raises(ValueError, match=r"\(B, T, 3, 112, 112\)"):
        _backbone()(torch.randn(1, 2, 3, 64, 64))


@pytest.mark.slow
def test_frozen_backbone_gets_no_gradient_and_last_blocks_train_when_asked():
    frozen = _backbone()
    assert frozen.frozen
    frames = _frames(1, 2).requires_grad_(False)
    out = frozen(frames)
    assert not out.requires_grad  # encoded under no_grad: nothing to cache a graph for
    partial = _backbone(trainable_blocks=1)
    assert not partial.frozen
    partial.train()
    partial(frames).sum().backward()
    blocks = partial.visual.transformer.resblocks
    assert all(p.grad is not None for p in blocks[-1].parameters())
    assert all(p.grad is None for p in blocks[0].parameters())
    assert partial.visual.conv1.weight.grad is None and partial.visual.proj.grad is not None
    with pytest.raises(ConfigError, match="trainable_blocks"):
        _backbone(trainable_blocks=5)


@pytest.mark.slow
def test_frozen_backbone_stays_in_eval_mode():
    model = create_model("clipmg_tiny")
    model.train()
    assert model.training and not model.backbone.visual.training
    assert model.pose_encoder.training


@pytest.mark.slow
def test_checkpoint_file_loads_through_the_pretrained_path(tmp_path):
    """A state dict saved from a CLIP goes through open_clip's own loading, like downloaded weights."""
    donor, _ = load_open_clip(BackboneConfig(**{**TINY.__dict__, "init_seed": 123}))
    path = tmp_path / "tiny_clip.pt"
    torch.save(donor.state_dict(), path)
    from_file = create_model("clipmg_tiny", pretrained=str(path))
    seeded = create_model("clipmg_tiny", backbone={"init_seed": 123})
    default = create_model("clipmg_tiny")
    frames = _frames(1, 2)
    torch.testing.assert_close(from_file.encode_frames(frames), seeded.encode_frames(frames))
    assert not torch.allclose(from_file.encode_frames(frames), default.encode_frames(frames))
    assert from_file.backbone.weights.kind == "file"
    assert from_file.token_cache_key != default.token_cache_key
    # the class text embeddings come from the file's text tower too
    torch.testing.assert_close(from_file.class_text, seeded.class_text)


def test_missing_checkpoint_file_is_a_clear_error(tmp_path):
    with pytest.raises(WeightsNotFoundError, match="no such checkpoint file"):
        create_model("clipmg_tiny", pretrained=str(tmp_path / "nope.pt"))


def test_missing_hub_weights_fail_fast_offline(tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "empty_hub_cache"))
    t0 = time.perf_counter()
    with pytest.raises(WeightsNotFoundError) as info:
        create_model("clipmg_vitb16")
    elapsed = time.perf_counter() - t0
    assert elapsed < 3.0, f"missing-weights error took {elapsed:.1f} s"
    msg = str(info.value)
    assert "empty_hub_cache" in msg and "backbone.pretrained" in msg and "open_clip_model.safetensors" in msg


def test_unknown_tag_and_architecture():
    with pytest.raises(WeightsNotFoundError, match="not a known open_clip tag"):
        create_model("clipmg_tiny", pretrained="no_such_tag")
    with pytest.raises(ConfigError, match="not an open_clip architecture"):
        create_model("clipmg_tiny", backbone={"clip_model": "ViT-Nope"})


@pytest.mark.slow
def test_paper_config_builds_vitb16_without_weights_offline():
    model = create_model("clipmg_vitb16", pretrained=None, text={"source": "random"})
    assert model.token_shape == (8, 197, 512) and model.image_size == 224
    assert model.backbone.weights.quick_gelu  # OpenAI weights were trained with QuickGELU
    assert isinstance(model.backbone.visual.transformer.resblocks[0].mlp.gelu, open_clip.transformer.QuickGELU)
    frozen = sum(p.numel() for p in model.backbone.parameters())
    assert 86_000_000 < frozen < 86_500_000  # ViT-B/16 visual tower
    assert model.tokens_cacheable
    with torch.no_grad():
        tokens = model.encode_frames(torch.randn(1, 8, 3, 224, 224))
        out = model(tokens=tokens, heatmap=torch.rand(1, 22, 8, 56, 56))
    assert tokens.shape == (1, 8, 197, 512) and out["attn"].shape == (1, 8, 32, 8 * 197)
