"""The CLIP-MG model: one module per component, built by `factory.create_model` from named configs.

    from clipmg_lib.model import create_model
    model = create_model("clipmg_tiny")              # or "clipmg_vitb16", "clipmg_tiny_rgb_only", a .json path
    tokens = model.encode_frames(model.preprocess(imgs_uint8))   # (B, T, 1+P, D), frozen, cacheable
    out = model(tokens=tokens, heatmap=heatmap)      # dict: logits, fused, attn, gate, visual, pose, ...
"""
from .clipmg import CLIPMG, count_parameters, parameter_table
from .config import ModelConfig
from .factory import create_model, get_model_config, list_ablations, list_models

__all__ = ["CLIPMG", "ModelConfig", "count_parameters", "create_model", "get_model_config",
           "list_ablations", "list_models", "parameter_table"]
