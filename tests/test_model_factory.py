"""The factory, configs, ablations and the whole model: every switch changes the computation."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from clipmg_lib.data.classes import class_names
from clipmg_lib.model import text as text_mod
from clipmg_lib.core.config import ConfigError
from clipmg_lib.model.factory import (count_parameters, create_model, get_model_config, list_ablations,
                                      list_models)

B = 2


@pytest.fixture(scope="module")
def inputs():
    g = torch.Generator().manual_seed(0)
    full = create_model("clipmg_tiny")
    frames = torch.randn(B, 8, 3, 112, 112, generator=g)
    tokens = full.encode_frames(frames)
    heatmap = torch.rand(B, 22, 8, 56, 56, generator=g)
    return tokens, heatmap


@pytest.fixture(scope="module")
def perturbed_full():
    """The full tiny model with every zero-initialised path made non-trivial (as after training)."""
    torch.manual_seed(0)
    model = create_model("clipmg_tiny").eval()
    with torch.no_grad():
        for p in model.query_generator.modulation.parameters():
            p.normal_(std=0.3)
        model.fusion.gate.bias.normal_(std=1.0)
    return model


def test_list_models_and_name_resolution():
    names = list_models()
    assert {"clipmg_tiny", "clipmg_vitb16"} <= set(names)
    for abl in ("no_pose_guidance", "no_cross_attention", "no_gate", "rgb_only", "pose_only", "zero_shot"):
        assert abl in list_ablations()
        assert f"clipmg_tiny_{abl}" in names and f"clipmg_vitb16_{abl}" in names
    a = get_model_config("clipmg_tiny_rgb_only")
    b = get_model_config("clipmg_tiny", ablation="rgb_only")
    assert a == b and a.name == "clipmg_tiny_rgb_only" and a.ablation == "rgb_only"


@pytest.mark.slow
def test_overrides_and_config_file(tmp_path):
    cfg = get_model_config("clipmg_tiny", hidden_dim=32, **{"backbone.token_grid": 2}, pose={"dropout": 0.5},
                           pretrained=None)
    assert cfg.hidden_dim == 32 and cfg.backbone.token_grid == 2 and cfg.pose.dropout == 0.5
    assert cfg.pose.stem_kernel == 3  # merged, not replaced
    model = create_model("clipmg_tiny", **{"backbone.token_grid": 2})
    assert model.token_shape == (8, 5, 64)
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(cfg.to_dict()))
    assert get_model_config(str(path)) == cfg
    assert get_model_config(cfg) == cfg


@pytest.mark.parametrize("bad, match", [
    (dict(hiden_dim=3), r"unknown field\(s\) \['ModelConfig.hiden_dim'\]"),
    (dict(backbone={"pretrianed": None}), r"backbone.pretrianed"),
    (dict(hidden_dim="64"), r"ModelConfig.hidden_dim must be an integer, got '64'"),
    (dict(queries={"mode": "gated"}), r"ModelConfig.queries.mode must be one of"),
    ({"pose__height": 32}, r"unknown field\(s\) \['ModelConfig.pose__height'\] \(nested fields are written section.field"),
    ({"inputs.heatmap.size": "x"}, r"ModelConfig.inputs.heatmap.size must be an integer, got 'x' \(str\)"),
    (dict(modalities=["rgb", "depth"]), r"modalities"),
    (dict(ablation="no_such"), r"unknown ablation 'no_such'"),
    (dict(hidden_dim=66), r"not divisible"),
])
def test_bad_configs_name_the_problem(bad, match):
    with pytest.raises(ConfigError, match=match):
        get_model_config("clipmg_tiny", **bad)


def test_bad_config_file_names_the_file(tmp_path):
    bad = tmp_path / "broken.json"
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match="broken.json: not valid JSON"):
        get_model_config(str(bad))
    with pytest.raises(ConfigError, match="unknown model 'clipmg_huge'"):
        get_model_config("clipmg_huge")


def test_full_model_outputs(perturbed_full, inputs):
    tokens, heatmap = inputs
    out = perturbed_full(tokens=tokens, heatmap=heatmap)
    assert out["logits"].shape == (B, 32) and out["fused"].shape == (B, 64)
    assert out["attn"].shape == (B, 4, 32, 8 * 50) and out["gate"].shape == (B, 64)
    assert ((out["gate"] >= 0) & (out["gate"] <= 1)).all()
    # frames= gives the same as precomputed tokens
    torch.testing.assert_close(out["logits"], perturbed_full(frames=None, tokens=tokens, heatmap=heatmap)["logits"])


@pytest.mark.slow
def test_frozen_parts_get_no_gradient_trainable_parts_do(inputs):
    tokens, heatmap = inputs
    torch.manual_seed(0)
    model = create_model("clipmg_tiny").train()
    frames = torch.randn(B, 8, 3, 112, 112)
    out = model(frames=frames, heatmap=heatmap)
    torch.nn.functional.cross_entropy(out["logits"], torch.tensor([3, 31])).backward()
    trainable, frozen = count_parameters(model)
    assert frozen == sum(p.numel() for p in model.backbone.parameters()) and trainable > 0
    for name, p in model.named_parameters():
        if name.startswith("backbone."):
            assert not p.requires_grad and p.grad is None, name
        else:
            assert p.grad is not None, f"{name} got no gradient"
    assert "class_text" in dict(model.named_buffers())


REPLACEMENTS = {"no_cross_attention": "token_pooling.", "no_gate": "fusion."}  # the only new parts


def _ablation_logits(name, full, tokens, heatmap):
    """The ablation with every weight it shares with ``full`` copied from it."""
    torch.manual_seed(0)
    model = create_model("clipmg_tiny", ablation=name).eval()
    missing, _ = model.load_state_dict(full.state_dict(), strict=False)
    new = [k for k in missing if not k.startswith(REPLACEMENTS.get(name, "<none>"))]
    assert not new, f"{name}: parameters that are not in the full model: {new}"
    return model, model(tokens=tokens, heatmap=heatmap)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["no_pose_guidance", "no_cross_attention", "no_gate", "rgb_only",
                                  "pose_only", "no_text_semantics", "zero_shot"])
def test_each_ablation_changes_the_output(name, perturbed_full, inputs):
    tokens, heatmap = inputs
    full = perturbed_full(tokens=tokens, heatmap=heatmap)
    if name == "no_text_semantics":  # same weights, other class embeddings (a buffer)
        torch.manual_seed(0)
        model = create_model("clipmg_tiny", ablation=name).eval()
        state = {k: v for k, v in perturbed_full.state_dict().items() if k != "class_text"}
        model.load_state_dict(state, strict=False)
        out = model(tokens=tokens, heatmap=heatmap)
    else:
        model, out = _ablation_logits(name, perturbed_full, tokens, heatmap)
    assert out["logits"].shape == (B, 32)
    assert not torch.allclose(out["logits"], full["logits"], atol=1e-4), f"{name} computes the same as the full model"
    switches = model.cfg.switches()
    assert (out["attn"] is not None) == switches["cross_attention"]
    assert (out["gate"] is not None) == switches["gate"]


def test_ablations_use_only_their_inputs(inputs):
    tokens, heatmap = inputs
    rgb = create_model("clipmg_tiny_rgb_only").eval()
    a = rgb(tokens=tokens)["logits"]
    torch.testing.assert_close(a, rgb(tokens=tokens, heatmap=torch.rand_like(heatmap))["logits"])
    pose = create_model("clipmg_tiny_pose_only").eval()
    assert pose.backbone is None and pose.token_shape is None
    b = pose(heatmap=heatmap)["logits"]
    torch.testing.assert_close(b, pose(tokens=torch.randn(B, 3, 3, 3), heatmap=heatmap)["logits"])
    with pytest.raises(RuntimeError, match="no RGB branch"):
        pose.encode_frames(torch.randn(1, 8, 3, 112, 112))
    full = create_model("clipmg_tiny")
    with pytest.raises(ValueError, match="needs heatmap"):
        full(tokens=tokens)
    with pytest.raises(ValueError, match="needs tokens"):
        full(heatmap=heatmap)
    with pytest.raises(ValueError, match=r"tokens must be \(B, T, N, D\) = \(B, 8, 50, 64\)"):
        full(tokens=tokens[:, :4], heatmap=heatmap)


@pytest.mark.slow
def test_pose_guidance_makes_queries_depend_on_pose(perturbed_full, inputs):
    tokens, heatmap = inputs
    q1 = perturbed_full(tokens=tokens, heatmap=heatmap)["queries"]
    q2 = perturbed_full(tokens=tokens, heatmap=heatmap.flip(-1))["queries"]
    assert not torch.allclose(q1, q2)
    model, _ = _ablation_logits("no_pose_guidance", perturbed_full, tokens, heatmap)
    torch.testing.assert_close(model(tokens=tokens, heatmap=heatmap)["queries"],
                               model(tokens=tokens, heatmap=heatmap.flip(-1))["queries"])


def test_zero_shot_is_clip_prompt_matching(inputs):
    tokens, _ = inputs
    model = create_model("clipmg_tiny_zero_shot")
    assert count_parameters(model)[0] == 0  # nothing to train
    logits = model(tokens=tokens)["logits"]
    cls = torch.nn.functional.normalize(tokens[:, :, 0], dim=-1).mean(1)
    expected = model.clip_logit_scale * torch.nn.functional.normalize(cls, dim=-1) @ model.class_text.T
    torch.testing.assert_close(logits, expected)


def test_class_prompts_are_data_for_all_32_classes():
    prompts = text_mod.class_prompts()
    assert len(prompts) == 32 and all(len(p) == 7 for p in prompts)
    assert len(text_mod.class_prompts(use_descriptions=False)[0]) == 5
    desc = text_mod.class_descriptions()
    assert [d["name"] for d in desc] == class_names()
    assert len({d["description"] for d in desc}) == 32


@pytest.mark.slow
def test_text_embeddings_cached_atomically_and_keyed(tmp_path, monkeypatch):
    monkeypatch.setenv("CLIPMG_CACHE_DIR", str(tmp_path))
    model = create_model("clipmg_tiny")
    files = list((tmp_path / "text_embeddings").glob("*.npy"))
    assert len(files) == 1 and not list((tmp_path / "text_embeddings").glob(".*tmp*"))
    emb = model.class_text
    assert emb.shape == (32, 64)
    torch.testing.assert_close(emb.norm(dim=-1), torch.ones(32))
    torch.testing.assert_close(torch.from_numpy(np.load(files[0])), emb)
    # a second build reads the cache: poison it and see the poison come back
    np.save(files[0], np.zeros((32, 64), dtype=np.float32))
    assert create_model("clipmg_tiny").class_text.abs().sum() == 0
    # other prompts, other key
    create_model("clipmg_tiny", text={"use_descriptions": False})
    assert len(list((tmp_path / "text_embeddings").glob("*.npy"))) == 2
    # distinct classes get distinct embeddings
    sim = emb @ emb.T
    assert (sim - torch.eye(32)).max() < 0.999


def test_random_class_codes_are_fixed_unit_vectors():
    a = create_model("clipmg_tiny_no_text_semantics").class_text
    b = create_model("clipmg_tiny_no_text_semantics").class_text
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(a.norm(dim=-1), torch.ones(32))


@pytest.mark.slow
def test_trainable_state_dict_round_trip(perturbed_full, inputs, tmp_path):
    tokens, heatmap = inputs
    state = perturbed_full.trainable_state_dict()
    assert not any(k.startswith("backbone.") for k in state) and "class_text" in state
    torch.save(state, tmp_path / "ckpt.pt")
    torch.manual_seed(1)
    fresh = create_model("clipmg_tiny").eval()
    fresh.load_trainable_state_dict(torch.load(tmp_path / "ckpt.pt", weights_only=True))
    torch.testing.assert_close(fresh(tokens=tokens, heatmap=heatmap)["logits"],
                               perturbed_full(tokens=tokens, heatmap=heatmap)["logits"])
    other = create_model("clipmg_tiny_no_gate")
    with pytest.raises(RuntimeError, match="does not fit"):
        other.load_trainable_state_dict(state)


def test_a_corrupt_text_embedding_cache_is_named_and_replaced(tmp_path, monkeypatch, caplog):
    import logging

    monkeypatch.setenv("CLIPMG_CACHE_DIR", str(tmp_path))
    good = create_model("clipmg_tiny").class_text
    (path,) = (tmp_path / "text_embeddings").glob("*.npy")
    path.write_bytes(path.read_bytes()[:100])  # cut short, as by a full disk or a killed job
    with caplog.at_level(logging.WARNING, logger="clipmg_lib.model.text"):
        again = create_model("clipmg_tiny").class_text
    assert f"{path}: unreadable text-embedding cache" in caplog.text and "replacing it" in caplog.text
    torch.testing.assert_close(again, good)
    torch.testing.assert_close(torch.from_numpy(np.load(path)), good)  # the file was rewritten
