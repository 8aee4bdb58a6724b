"""A model's input pipelines, built from its config's ``inputs`` section (the one source of truth).

    model, pipelines = create_model_and_pipelines("clipmg_tiny")   # clipmg_lib.model.factory
    pipelines.num_frames                  # T
    pipelines.train.build(seed=0)         # Compose: skeleton -> [Flip] -> RandomAffine -> heatmap
    pipelines.eval.build_skeleton()       # the cached part (InterpolateMissing, SelectFrames, ConvertLayout)
    pipelines.eval.build_per_sample()     # the on-the-fly part (GeneratePoseHeatmap)

Every consumer (feature caches, cached and frame training, evaluation, prediction, spotting) takes its
pose transforms from here, so what the model is fed is what its config says.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..pose.pipeline import PosePipeline
from .config import ModelConfig


@dataclass(frozen=True)
class ModelPipelines:
    """``train`` / ``eval``: :class:`~clipmg_lib.pose.pipeline.PosePipeline`; ``num_frames`` T; ``sampling``
    the frame sampling (``tsn``); ``flip`` (``none`` | ``pose_and_rgb``); ``heatmap_shape`` (C, T, H, W)."""

    train: PosePipeline
    eval: PosePipeline
    num_frames: int
    sampling: str
    flip: str
    heatmap_shape: tuple[int, int, int, int]

    @property
    def layout(self) -> str:
        """The joint layout of the skeleton after the skeleton steps (what the pose cache stores)."""
        return self.eval.layout

    def skeleton_config(self) -> list[dict]:
        """The serialised skeleton steps (shared by train and eval; the pose-cache key hashes them)."""
        return self.eval.skeleton_steps()

    def for_training(self, augment: bool = True) -> PosePipeline:
        """The training pipeline, or without its random transforms when ``augment`` is False."""
        return self.train if augment else self.train.without_random()


def input_pipelines(cfg: ModelConfig) -> ModelPipelines:
    """The pipelines of a (validated) model config."""
    i = cfg.inputs
    return ModelPipelines(train=PosePipeline(tuple(i.pipeline_steps("train"))),
                          eval=PosePipeline(tuple(i.pipeline_steps("eval"))), num_frames=int(i.num_frames),
                          sampling=i.sampling, flip=i.flip, heatmap_shape=cfg.heatmap_shape)
