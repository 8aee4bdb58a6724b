"""The CLIP-MG model config: a typed schema for the JSON files in ``clipmg_lib/configs/model/``.

A model is data: ``clipmg_tiny.json`` (CPU demo) and ``clipmg_vitb16.json`` (the paper's setting) are
nested dicts that :func:`ModelConfig.from_dict` checks against the dataclasses below with the kit's one
config loader (:mod:`clipmg_lib.core.config`), so a typo in a config or an override is an error naming the
dotted field, not a silently ignored one. The top-level ``description`` is the file's comment. Ablations are
small patches (``configs/ablation/ablations.json``) merged onto a base config by :mod:`clipmg_lib.model.factory`.
"""
from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from typing import Literal, Optional

from ..core.config import ConfigError, from_dict
from ..core.hashing import content_hash
from ..data.joint_layouts import get_layout
from ..pose.pipeline import (DEFAULT_EVAL_STEPS, DEFAULT_HEATMAP, DEFAULT_LAYOUT, DEFAULT_TRAIN_STEPS,
                             RANDOM_TRANSFORMS, PosePipeline, resolve_steps)


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
    """The 3D CNN over heatmap volumes (C, T, H, W). Its input shape is not set here: C follows
    ``inputs.layout`` and ``inputs.heatmap`` (joint and/or limb maps), T = ``inputs.num_frames``,
    H = W = ``inputs.heatmap.size`` (:attr:`ModelConfig.heatmap_shape`).

    stem: a (1, k, k) convolution, k = ``stem_kernel``, spatial stride ``stem_stride`` (PoseC3D: k = 7, stride 1).
    stage_channels / temporal_kernels: one residual block per stage; each stage halves H and W
    (stride (1, 2, 2): temporal stride 1, as in PoseC3D's SlowOnly; kernels (1,3,3) for
    ``temporal_kernels`` 1, (3,3,3) for 3: PoseC3D inflates only the later stages).
    """

    stem_channels: int = 32
    stem_kernel: int = 7
    stem_stride: int = 1
    stage_channels: list[int] = field(default_factory=lambda: [64, 128, 256])
    temporal_kernels: list[int] = field(default_factory=lambda: [1, 3, 3])
    dropout: float = 0.0


@dataclass
class HeatmapConfig:
    """PoseC3D heatmaps (:class:`~clipmg_lib.pose.heatmap.GeneratePoseHeatmap`): a ``size x size`` grid,
    Gaussians of ``sigma`` grid pixels, cropped to the person's clip box (``person``) or the frame (``image``);
    joint maps (``with_kp``) and/or limb maps (``with_limb``)."""

    size: int = DEFAULT_HEATMAP["size"]
    sigma: float = DEFAULT_HEATMAP["sigma"]
    crop: Literal["person", "image"] = DEFAULT_HEATMAP["crop"]
    with_kp: bool = DEFAULT_HEATMAP["with_kp"]
    with_limb: bool = DEFAULT_HEATMAP["with_limb"]


@dataclass
class InputsConfig:
    """What the model is fed: the one source of truth for every dataset, cache and predictor.

    num_frames: T, frames per clip (RGB and pose sample the same frames).
    sampling: ``tsn``: T equal segments; evaluation takes each segment's centre, training one random
        frame per segment (seeded per clip and epoch).
    layout: the joint layout the skeleton is converted to (``ConvertLayout``), e.g. ``openpose22``.
    heatmap: the heatmap grid (:class:`HeatmapConfig`).
    flip: ``none`` (no horizontal flip) or ``pose_and_rgb`` (the training pipeline mirrors the skeleton and
        the frames together, with probability ``flip_ratio``). Mirroring needs the frames themselves: a
        model whose RGB comes from cached CLIP tokens (frozen backbone) cannot flip; the config is refused.
    train_pipeline / eval_pipeline: the pose transforms as data, ``[{"type": name, **kwargs}, ...]``
        (:mod:`clipmg_lib.pose.transforms`). ``ConvertLayout`` and ``GeneratePoseHeatmap`` are listed by
        type only (their settings are ``layout`` and ``heatmap``); ``Flip`` is not listed (``flip`` adds it).
        The steps up to ``ConvertLayout`` must be the same in both (the pose cache serves both).
    """

    num_frames: int = 8
    sampling: Literal["tsn"] = "tsn"
    layout: str = DEFAULT_LAYOUT
    heatmap: HeatmapConfig = field(default_factory=HeatmapConfig)
    flip: Literal["none", "pose_and_rgb"] = "none"
    flip_ratio: float = 0.5
    train_pipeline: list[dict] = field(default_factory=lambda: copy.deepcopy(DEFAULT_TRAIN_STEPS))
    eval_pipeline: list[dict] = field(default_factory=lambda: copy.deepcopy(DEFAULT_EVAL_STEPS))

    def pipeline_steps(self, mode: Literal["train", "eval"]) -> list[dict]:
        """The resolved transform configs of ``mode`` (layout, heatmap and flip filled in)."""
        steps = self.train_pipeline if mode == "train" else self.eval_pipeline
        flip = self.flip_ratio if (mode == "train" and self.flip == "pose_and_rgb") else None
        return resolve_steps(steps, self.layout, dataclasses.asdict(self.heatmap), flip)

    def heatmap_channels(self) -> int:
        """C of the heatmap volume: the layout's joints (``with_kp``) plus its limbs (``with_limb``)."""
        lay = get_layout(self.layout)
        return lay.num_joints * self.heatmap.with_kp + len(lay.limbs) * self.heatmap.with_limb

    def validate(self, where: str = "") -> None:
        """Raise :class:`ConfigError` naming the ``inputs.`` field that is wrong."""
        from ..pose.transforms import build_transform

        if self.num_frames < 1:
            raise ConfigError(f"{where}inputs.num_frames must be >= 1, got {self.num_frames}")
        try:
            get_layout(self.layout)
        except (KeyError, ValueError) as exc:
            raise ConfigError(f"{where}inputs.layout: {exc}") from None
        h = self.heatmap
        if h.size < 1 or h.sigma <= 0 or not (h.with_kp or h.with_limb):
            raise ConfigError(f"{where}inputs.heatmap needs size >= 1, sigma > 0 and with_kp or with_limb, got {h}")
        if not 0 <= self.flip_ratio <= 1:
            raise ConfigError(f"{where}inputs.flip_ratio must be in [0, 1], got {self.flip_ratio}")
        for mode in ("train", "eval"):
            key = f"inputs.{mode}_pipeline"
            steps = getattr(self, f"{mode}_pipeline")
            for i, s in enumerate(steps):
                if not isinstance(s, dict) or not isinstance(s.get("type"), str):
                    raise ConfigError(f"{where}{key}[{i}] must be an object with a 'type', got {s!r}")
                if s["type"] == "Flip":
                    raise ConfigError(f"{where}{key}[{i}]: do not list Flip; set inputs.flip "
                                      "('none' or 'pose_and_rgb') and inputs.flip_ratio")
                if s["type"] in ("ConvertLayout", "GeneratePoseHeatmap") and len(s) > 1:
                    field_name = "inputs.layout" if s["type"] == "ConvertLayout" else "inputs.heatmap"
                    raise ConfigError(f"{where}{key}[{i}]: {s['type']} takes its settings from {field_name}; "
                                      f"list it as {{'type': {s['type']!r}}} only, got {s}")
            types = [s["type"] for s in steps]
            if not types or types[-1] != "GeneratePoseHeatmap":
                raise ConfigError(f"{where}{key} must end with GeneratePoseHeatmap (the model reads heatmaps), got {types}")
            if mode == "eval" and any(t in RANDOM_TRANSFORMS for t in types):
                raise ConfigError(f"{where}{key} must be deterministic: no {RANDOM_TRANSFORMS}, got {types}")
            resolved = self.pipeline_steps(mode)
            try:
                for s in resolved:
                    build_transform(s)
                PosePipeline(tuple(resolved))
            except (KeyError, TypeError, ValueError) as exc:
                raise ConfigError(f"{where}{key}: {exc}") from None
        train, ev = PosePipeline(tuple(self.pipeline_steps("train"))), PosePipeline(tuple(self.pipeline_steps("eval")))
        if train.skeleton_steps() != ev.skeleton_steps():
            raise ConfigError(f"{where}inputs.train_pipeline and inputs.eval_pipeline must share the steps up to "
                              f"ConvertLayout (one pose cache serves both): {train.skeleton_steps()} vs "
                              f"{ev.skeleton_steps()}")


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
    hidden_dim: int = 256
    modalities: list[str] = field(default_factory=lambda: ["rgb", "pose"])
    zero_shot: bool = False
    ablation: Optional[str] = None
    inputs: InputsConfig = field(default_factory=InputsConfig)
    backbone: BackboneConfig = field(default_factory=BackboneConfig)
    text: TextConfig = field(default_factory=TextConfig)
    pose: PoseEncoderConfig = field(default_factory=PoseEncoderConfig)
    queries: QueryConfig = field(default_factory=QueryConfig)
    cross_attention: CrossAttentionConfig = field(default_factory=CrossAttentionConfig)
    fusion: FusionConfig = field(default_factory=FusionConfig)
    head: HeadConfig = field(default_factory=HeadConfig)

    @property
    def num_frames(self) -> int:
        """T, frames per clip (``inputs.num_frames``)."""
        return self.inputs.num_frames

    @property
    def heatmap_shape(self) -> tuple[int, int, int, int]:
        """(C, T, H, W) of the pose encoder's input, all from ``inputs``."""
        i = self.inputs
        return (i.heatmap_channels(), i.num_frames, i.heatmap.size, i.heatmap.size)

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
        """Build from a nested dict (:func:`clipmg_lib.core.config.from_dict`: every field type-checked, unknown
        keys refused); bad values raise :class:`~clipmg_lib.core.config.ConfigError` naming ``source``."""
        cfg = from_dict(cls, data, source or "<config>")
        cfg.validate(source)
        return cfg

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def hash(self) -> str:
        """A short stable hash of the whole config (for cache keys and run names)."""
        return content_hash(self.to_dict(), 16)

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
        self.inputs.validate(where)
        if self.inputs.flip == "pose_and_rgb" and self.uses_rgb and self.backbone.trainable_blocks == 0:
            raise ConfigError(f"{where}inputs.flip = 'pose_and_rgb' mirrors the frames, but with a frozen backbone "
                              "(backbone.trainable_blocks = 0) the RGB comes from cached CLIP tokens, which cannot "
                              "be mirrored (mirroring the pose alone would break the pose/RGB correspondence); "
                              "set inputs.flip = 'none', or backbone.trainable_blocks > 0 (frames decoded per step)")
