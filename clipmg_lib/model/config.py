"""The CLIP-MG model config: a typed schema for the JSON files in ``clipmg_lib/configs/model/``.

A model is data: ``clipmg_tiny.json`` (CPU demo) and ``clipmg_vitb16.json`` (the paper's setting) are
nested dicts that :func:`ModelConfig.from_dict` checks against the dataclasses below, so a typo in a
config or an override is an error naming the key, not a silently ignored field. Ablations are small
patches (``configs/ablations.json``) merged onto a base config by :mod:`clipmg_lib.model.factory`.
"""
from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import typing
from dataclasses import dataclass, field
from typing import Any, Literal, Optional


class ConfigError(ValueError):
    """A model config (file or override) that does not fit the schema."""


@dataclass
class BackboneConfig:
    """The CLIP visual encoder (through open_clip).

    clip_model: an open_clip architecture name (``ViT-B-16``, or the kit's ``ClipMG-ViT-Tiny-16``).
    pretrained: an open_clip tag (``openai``, fetched into the Hugging Face hub cache), a path to a
        local checkpoint file, or ``None`` (random weights, seeded by ``init_seed``).
    quick_gelu: ``None`` follows the pretrained tag (OpenAI weights were trained with QuickGELU);
        set it explicitly when ``pretrained`` is a local copy of OpenAI weights.
    image_size: input resolution (``None``: the architecture's).
    trainable_blocks: 0 = frozen (tokens can be cached); N > 0 also trains the last N transformer
        blocks, ``ln_post`` and ``proj``.
    token_grid: average-pool the patch grid to ``token_grid x token_grid`` tokens per frame
        (``None``: keep every patch). Shrinks the token cache.
    encode_chunk: frames per forward pass in ``encode_frames`` (memory bound).
    """

    clip_model: str = "ViT-B-16"
    pretrained: Optional[str] = "openai"
    quick_gelu: Optional[bool] = None
    image_size: Optional[int] = None
    trainable_blocks: int = 0
    init_seed: int = 0
    token_grid: Optional[int] = None
    encode_chunk: int = 256


@dataclass
class TextConfig:
    """Class semantics: CLIP text embeddings of the 32 class prompts.

    source: ``clip`` = averaged CLIP text embeddings of the prompts; ``random`` = fixed random unit
        class codes (the "no language semantics" control; also a fast build for parameter counts).
    prompts: name of a prompt file in ``configs/`` (templates + one description per class).
    use_descriptions: add the per-class descriptive phrase prompts to the name prompts.
    cache: cache the embeddings on disk (keyed by backbone, weights and prompts).
    """

    source: Literal["clip", "random"] = "clip"
    prompts: str = "class_prompts"
    use_descriptions: bool = True
    cache: bool = True


@dataclass
class PoseEncoderConfig:
    """The 3D CNN over heatmap volumes (C, T, H, W); T is the model's ``num_frames``.

    stem: a (1, k, k) convolution, k = ``stem_kernel``, spatial stride ``stem_stride`` (PoseC3D: k = 7, stride 1).
    stage_channels / temporal_kernels: one residual block per stage; each stage halves H and W
    (stride (1, 2, 2): temporal stride 1, as in PoseC3D's SlowOnly; kernels (1,3,3) for
    ``temporal_kernels`` 1, (3,3,3) for 3: PoseC3D inflates only the later stages).
    """

    in_channels: int = 22
    height: int = 56
    width: int = 56
    stem_channels: int = 32
    stem_kernel: int = 7
    stem_stride: int = 1
    stage_channels: list[int] = field(default_factory=lambda: [64, 128, 256])
    temporal_kernels: list[int] = field(default_factory=lambda: [1, 3, 3])
    dropout: float = 0.0


@dataclass
class QueryConfig:
    """Pose-guided semantic query generation.

    mode: ``film`` (Q = S * (1 + gamma(p)) + beta(p)), ``add`` (Q = S + W p) or ``none``
        (no pose guidance: Q = S).
    class_queries: one query per class from its text embedding (S = E W_s).
    num_learnable: extra learnable queries (modulated like the class queries).
    """

    mode: Literal["film", "add", "none"] = "film"
    class_queries: bool = True
    num_learnable: int = 0


@dataclass
class CrossAttentionConfig:
    """Queries attend over the spatio-temporal CLIP tokens (pre-norm decoder layers).

    enabled: ``False`` replaces cross-attention by average pooling of the same token embeddings.
    token_features: what each visual token contributes to the keys/values (and to the pooled feature of
        ``enabled=False``): ``appearance`` the token itself (x W_a), ``change`` its deviation from its mean
        over the clip's frames ((x - mean_t x) W_c: what moves during the clip), or ``appearance+change``
        both, through separate projections. Paper-silent; see docs/RECONSTRUCTION.md.
    """

    enabled: bool = True
    token_features: Literal["appearance", "change", "appearance+change"] = "appearance+change"
    heads: int = 8
    layers: int = 1
    dropout: float = 0.1
    ffn_ratio: float = 2.0


@dataclass
class FusionConfig:
    """mode: ``gate`` (h = g * v + (1 - g) * p, g = sigmoid(W [v; p] + b)) or ``concat`` (h = W [v; p] + b)."""

    mode: Literal["gate", "concat"] = "gate"


@dataclass
class HeadConfig:
    """kind: ``cosine`` (temperature-scaled cosine to the class text embeddings) or ``linear``."""

    kind: Literal["cosine", "linear"] = "cosine"
    init_temperature: float = 0.07
    learn_temperature: bool = True
    dropout: float = 0.1


@dataclass
class ModelConfig:
    """A whole CLIP-MG model. ``modalities`` picks the branches; ``zero_shot`` bypasses training."""

    name: str = "clipmg"
    description: str = ""
    num_classes: int = 32
    num_frames: int = 8
    hidden_dim: int = 256
    modalities: list[str] = field(default_factory=lambda: ["rgb", "pose"])
    zero_shot: bool = False
    ablation: Optional[str] = None
    backbone: BackboneConfig = field(default_factory=BackboneConfig)
    text: TextConfig = field(default_factory=TextConfig)
    pose: PoseEncoderConfig = field(default_factory=PoseEncoderConfig)
    queries: QueryConfig = field(default_factory=QueryConfig)
    cross_attention: CrossAttentionConfig = field(default_factory=CrossAttentionConfig)
    fusion: FusionConfig = field(default_factory=FusionConfig)
    head: HeadConfig = field(default_factory=HeadConfig)

    # ---- derived switches (what an ablation table reports) ----
    @property
    def uses_rgb(self) -> bool:
        return "rgb" in self.modalities

    @property
    def uses_pose(self) -> bool:
        return "pose" in self.modalities and not self.zero_shot

    @property
    def uses_cross_attention(self) -> bool:
        return self.uses_rgb and not self.zero_shot and self.cross_attention.enabled

    @property
    def uses_pose_guidance(self) -> bool:
        return self.uses_pose and self.uses_cross_attention and self.queries.mode != "none"

    @property
    def uses_gate(self) -> bool:
        return self.uses_rgb and self.uses_pose and self.fusion.mode == "gate"

    def switches(self) -> dict[str, bool]:
        """The ablation-table columns of this config: which components compute."""
        return {"rgb": self.uses_rgb, "pose": self.uses_pose, "pose_guidance": self.uses_pose_guidance,
                "cross_attention": self.uses_cross_attention, "gate": self.uses_gate,
                "trained": not self.zero_shot}

    # ---- (de)serialisation ----
    @classmethod
    def from_dict(cls, data: dict, source: str = "") -> "ModelConfig":
        """Build from a nested dict; unknown keys or bad values raise :class:`ConfigError` naming ``source``."""
        cfg = _from_dict(cls, data, source or "<config>", "")
        cfg.validate(source)
        return cfg

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def hash(self) -> str:
        """A short stable hash of the whole config (for cache keys and run names)."""
        text = json.dumps(self.to_dict(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def validate(self, source: str = "") -> None:
        where = f"{source}: " if source else ""
        bad_mod = set(self.modalities) - {"rgb", "pose"}
        if bad_mod or not self.modalities:
            raise ConfigError(f"{where}modalities must be a non-empty subset of ['rgb', 'pose'], got {self.modalities}")
        if self.zero_shot and self.modalities != ["rgb"]:
            raise ConfigError(f"{where}zero_shot compares frames with class prompts: modalities must be ['rgb']")
        p = self.pose
        if len(p.stage_channels) != len(p.temporal_kernels) or not p.stage_channels:
            raise ConfigError(f"{where}pose.stage_channels and pose.temporal_kernels need the same non-zero length")
        if p.stem_kernel % 2 == 0 or p.stem_kernel < p.stem_stride:
            raise ConfigError(f"{where}pose.stem_kernel must be odd and >= pose.stem_stride")
        if any(k % 2 == 0 for k in p.temporal_kernels):
            raise ConfigError(f"{where}pose.temporal_kernels must be odd (temporal stride 1, 'same' padding)")
        if not self.queries.class_queries and self.queries.num_learnable <= 0:
            raise ConfigError(f"{where}queries: class_queries is false and num_learnable is 0: no queries left")
        if self.hidden_dim % self.cross_attention.heads:
            raise ConfigError(f"{where}hidden_dim {self.hidden_dim} is not divisible by "
                              f"cross_attention.heads {self.cross_attention.heads}")
        if self.backbone.trainable_blocks < 0:
            raise ConfigError(f"{where}backbone.trainable_blocks must be >= 0")


def _from_dict(cls, data: Any, source: str, prefix: str):
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: {prefix or 'config'} must be an object, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"{source}: unknown key(s) {[prefix + k for k in unknown]}; "
                          f"valid keys of {prefix or 'the config'}: {sorted(names)}")
    kwargs = {}
    for key, value in data.items():
        hint = hints[key]
        if dataclasses.is_dataclass(hint):
            kwargs[key] = _from_dict(hint, value, source, f"{prefix}{key}.")
        else:
            _check_type(value, hint, source, prefix + key)
            kwargs[key] = copy.deepcopy(value)
    return cls(**kwargs)


def _check_type(value: Any, hint: Any, source: str, key: str) -> None:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Union:  # Optional[X]
        if value is None and type(None) in args:
            return
        hint = next(a for a in args if a is not type(None))
        origin, args = typing.get_origin(hint), typing.get_args(hint)
    ok: bool
    if origin is Literal:
        ok = value in args
        expected = f"one of {list(args)}"
    elif origin is list:
        ok = isinstance(value, list) and all(isinstance(v, args[0]) and not isinstance(v, bool) or
                                             (args[0] is bool and isinstance(v, bool)) for v in value)
        expected = f"a list of {args[0].__name__}"
    elif hint is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        expected = "a number"
    elif hint is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
        expected = "an integer"
    else:
        ok = isinstance(value, hint)
        expected = hint.__name__
    if not ok:
        raise ConfigError(f"{source}: {key} = {value!r} is not {expected}")


def deep_merge(base: dict, patch: dict) -> dict:
    """Recursively merge ``patch`` into a copy of ``base`` (dicts merge, everything else replaces)."""
    out = copy.deepcopy(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out
