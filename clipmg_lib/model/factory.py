"""One factory for every CLIP-MG model, open_clip style: named JSON configs + overrides.

    create_model("clipmg_tiny")                              # CPU demo config
    create_model("clipmg_vitb16")                            # the paper's setting (OpenAI ViT-B/16 weights)
    create_model("clipmg_tiny_rgb_only")                     # base config + ablation patch
    create_model("clipmg_tiny", ablation="no_gate", hidden_dim=128, backbone={"token_grid": 4})
    create_model("clipmg_vitb16", pretrained="/data/ViT-B-16.pt", backbone__quick_gelu=True)
    create_model("my_run/config.json")                       # any config file
    model, pipelines = create_model_and_pipelines("clipmg_tiny")   # + its input pipelines (model.inputs)

Overrides: ``ablation=`` (a name from ``configs/ablation/ablations.json``), ``pretrained=`` (shortcut for
``backbone.pretrained``), any top-level field, a section as a dict (merged), or ``section__field=``.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..core.paths import config_dir
from .backbone import CLIPBackbone
from .weights import load_open_clip
from .clipmg import CLIPMG, count_parameters
from .config import ConfigError, ModelConfig, deep_merge
from .inputs import ModelPipelines, input_pipelines
from .text import class_text_embeddings

__all__ = ["create_model", "create_model_and_pipelines", "input_pipelines", "get_model_config", "list_models", "list_ablations", "count_parameters"]


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc})") from exc


def base_configs() -> list[str]:
    """Names of the base model configs (``configs/model/clipmg_*.json``)."""
    return sorted(p.stem for p in config_dir("model").glob("clipmg_*.json"))


@lru_cache(maxsize=1)
def _ablations() -> dict[str, dict]:
    path = config_dir("ablation") / "ablations.json"
    data = _read_json(path).get("ablations")
    if not isinstance(data, dict) or not all(isinstance(v, dict) and "patch" in v for v in data.values()):
        raise ConfigError(f"{path}: expected {{'ablations': {{name: {{'description', 'patch'}}}}}}")
    return data


def list_ablations() -> dict[str, dict]:
    """``{name: {'description', 'in_paper', 'patch'}}`` of every ablation."""
    return {k: dict(v) for k, v in _ablations().items()}


def list_models() -> list[str]:
    """Every model name ``create_model`` accepts: base configs and ``{base}_{ablation}``."""
    bases = base_configs()
    return bases + [f"{b}_{a}" for b in bases for a in _ablations()]


def _resolve_name(name_or_path: str | Path) -> tuple[dict, str, str | None]:
    """-> (config dict, source description, ablation parsed from the name or None)."""
    if isinstance(name_or_path, ModelConfig):
        return name_or_path.to_dict(), f"ModelConfig {name_or_path.name!r}", None
    text = str(name_or_path)
    path = Path(text).expanduser()
    if text.endswith(".json") or path.is_file():
        return _read_json(path), str(path), None
    if text in base_configs():
        file = config_dir("model") / f"{text}.json"
        return _read_json(file), str(file), None
    for abl in sorted(_ablations(), key=len, reverse=True):
        base = text[: -len(abl) - 1]
        if text.endswith("_" + abl) and base in base_configs():
            file = config_dir("model") / f"{base}.json"
            return _read_json(file), str(file), abl
    raise ConfigError(f"unknown model {text!r}; known: {list_models()} (or give a path to a .json config)")


def _overrides_to_patch(overrides: dict[str, Any]) -> dict:
    patch: dict = {}
    for key, value in overrides.items():
        if key == "pretrained":
            patch = deep_merge(patch, {"backbone": {"pretrained": value}})
        elif "__" in key:
            section, field = key.split("__", 1)
            patch = deep_merge(patch, {section: {field: value}})
        else:
            patch = deep_merge(patch, {key: value})
    return patch


def get_model_config(name_or_path: str | Path | ModelConfig, **overrides: Any) -> ModelConfig:
    """The validated :class:`ModelConfig` for a name or file, with ablation and overrides applied."""
    data, source, ablation = _resolve_name(name_or_path)
    ablation = overrides.pop("ablation", ablation)
    if ablation:
        if ablation not in _ablations():
            raise ConfigError(f"unknown ablation {ablation!r}; known: {sorted(_ablations())}")
        base_name = data.get("name", Path(source).stem)
        data = deep_merge(data, _ablations()[ablation]["patch"])
        data["name"] = f"{base_name}_{ablation}"
        data["ablation"] = ablation
        source += f" + ablation {ablation!r}"
    if overrides:
        data = deep_merge(data, _overrides_to_patch(overrides))
        source += f" + overrides {sorted(overrides)}"
    return ModelConfig.from_dict(data, source)


def build_model(cfg: ModelConfig) -> CLIPMG:
    """Build a model from a :class:`ModelConfig` (loads CLIP weights, class text embeddings)."""
    clip, weights = load_open_clip(cfg.backbone)
    class_text = class_text_embeddings(clip, cfg.backbone.clip_model, weights, cfg.text)
    backbone = CLIPBackbone(clip.visual, cfg.backbone, weights) if cfg.uses_rgb else None
    scale = float(clip.logit_scale.detach().exp())
    return CLIPMG(cfg, backbone, class_text, clip_logit_scale=scale)


def create_model(name_or_path: str | Path | ModelConfig, **overrides: Any) -> CLIPMG:
    """Build a CLIP-MG model from a config name (see :func:`list_models`), a JSON path or a ModelConfig."""
    return build_model(get_model_config(name_or_path, **overrides))


def create_model_and_pipelines(name_or_path: str | Path | ModelConfig,
                               **overrides: Any) -> tuple[CLIPMG, ModelPipelines]:
    """The model of :func:`create_model` and the pipelines of its config's ``inputs`` section
    (:class:`~clipmg_lib.model.inputs.ModelPipelines`: ``train``/``eval`` pose pipelines, ``num_frames``, ...),
    in the spirit of open_clip's ``create_model_and_transforms``."""
    cfg = get_model_config(name_or_path, **overrides)
    return build_model(cfg), input_pipelines(cfg)
