"""One factory for every CLIP-MG model, open_clip style: named JSON configs + overrides.

    create_model("clipmg_tiny")                              # CPU demo config
    create_model("clipmg_vitb16")                            # the paper's setting (OpenAI ViT-B/16 weights)
    create_model("clipmg_tiny_rgb_only")                     # base config + ablation patch
    create_model("clipmg_tiny", ablation="no_gate", hidden_dim=128, backbone={"token_grid": 4})
    create_model("clipmg_vitb16", pretrained="/data/ViT-B-16.pt", **{"backbone.quick_gelu": True})
    create_model("my_run/config.json")                       # any config file
    model, pipelines = create_model_and_pipelines("clipmg_tiny")   # + its input pipelines (model.inputs)

Overrides: ``ablation=`` (a name from ``configs/ablation/ablations.json``), ``pretrained=`` (shortcut for
``backbone.pretrained``), and otherwise the kit's one dotted syntax (:mod:`clipmg_lib.core.config`): a
top-level field, ``section.field`` (e.g. ``{"backbone.token_grid": 4}``), or a section as a dict (merged).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..core.config import ConfigError, apply_overrides, deep_merge, from_dict, read_json
from ..core.paths import config_dir
from .backbone import CLIPBackbone
from .weights import load_open_clip
from .clipmg import CLIPMG, count_parameters
from .config import ModelConfig
from .inputs import ModelPipelines, input_pipelines
from .text import class_text_embeddings

__all__ = ["create_model", "create_model_and_pipelines", "input_pipelines", "get_model_config", "list_models", "list_ablations", "count_parameters"]


@dataclass
class Ablation:
    """One ablation: what it removes (``description``), whether the paper reports it, and its config patch
    (a partial :class:`ModelConfig` dict merged onto the base config)."""

    description: str
    in_paper: bool
    patch: dict[str, Any]


@dataclass
class AblationFile:
    """``configs/ablation/ablations.json``: ``{"description": ..., "ablations": {name: Ablation}}``."""

    description: str = ""
    ablations: dict[str, Ablation] = field(default_factory=dict)


def base_configs() -> list[str]:
    """Names of the base model configs (``configs/model/clipmg_*.json``)."""
    return sorted(p.stem for p in config_dir("model").glob("clipmg_*.json"))


@lru_cache(maxsize=1)
def _ablations() -> dict[str, dict]:
    """Every ablation of the patch file; each patch is type-checked against :class:`ModelConfig` on load."""
    path = config_dir("ablation") / "ablations.json"
    spec = from_dict(AblationFile, read_json(path), str(path))
    for name, abl in spec.ablations.items():
        from_dict(ModelConfig, deep_merge(ModelConfig().to_dict(), abl.patch), str(path),
                  root=f"ablations.{name}.patch")
    return {name: {"description": a.description, "in_paper": a.in_paper, "patch": a.patch}
            for name, a in spec.ablations.items()}


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
        return read_json(path), str(path), None
    if text in base_configs():
        file = config_dir("model") / f"{text}.json"
        return read_json(file), str(file), None
    for abl in sorted(_ablations(), key=len, reverse=True):
        base = text[: -len(abl) - 1]
        if text.endswith("_" + abl) and base in base_configs():
            file = config_dir("model") / f"{base}.json"
            return read_json(file), str(file), abl
    raise ConfigError(f"unknown model {text!r}; known: {list_models()} (or give a path to a .json config)")


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
    if "pretrained" in overrides:
        overrides["backbone.pretrained"] = overrides.pop("pretrained")
    if overrides:
        data = apply_overrides(ModelConfig, data, overrides, source)
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
