"""The model config's ``inputs`` section is the one source of what the model is fed: its validation, the
pipelines ``create_model_and_pipelines`` returns, and every consumer (caches, cached / frame / window
datasets, clip datasets) taking its pose transforms from them."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from clipmg_lib.core.config import ConfigError
from clipmg_lib.model.config import ModelConfig
from clipmg_lib.model.factory import create_model_and_pipelines, get_model_config
from clipmg_lib.model.inputs import input_pipelines
from clipmg_lib.pose.pipeline import PosePipeline

from data_fixtures import make_tiny_imigue


def _tiny(**overrides) -> dict:
    return get_model_config("clipmg_tiny", **overrides).to_dict()


def test_inputs_section_defaults_and_derived_shapes():
    cfg = get_model_config("clipmg_tiny")
    assert cfg.num_frames == cfg.inputs.num_frames == 8
    assert cfg.heatmap_shape == (22, 8, 56, 56)
    small = get_model_config("clipmg_tiny", **{"inputs.heatmap": {"size": 32, "with_limb": True}})
    assert small.heatmap_shape == (22 + 21, 8, 32, 32)  # openpose22: 22 joints, 21 limbs
    assert get_model_config("clipmg_tiny", **{"inputs.num_frames": 4}).heatmap_shape[1] == 4
    p = input_pipelines(cfg)
    assert [s["type"] for s in p.train.steps] == ["InterpolateMissing", "SelectFrames", "ConvertLayout",
                                                  "RandomAffine", "GeneratePoseHeatmap"]
    assert not p.eval.is_random and p.layout == "openpose22"
    assert p.train.skeleton_steps() == p.eval.skeleton_steps() == p.skeleton_config()
    assert p.eval.heatmap == {"size": 56, "sigma": 0.6, "crop": "person", "with_kp": True, "with_limb": False}


@pytest.mark.parametrize("patch, message", [
    ({"inputs": {"typo": 1}}, r"inputs\.typo"),
    ({"inputs": {"num_frames": 0}}, r"inputs\.num_frames"),
    ({"inputs": {"layout": "nope"}}, r"inputs\.layout"),
    ({"inputs": {"flip": "sometimes"}}, r"inputs\.flip"),
    ({"inputs": {"heatmap": {"sigma": 0}}}, r"inputs\.heatmap"),
    ({"inputs": {"train_pipeline": [{"type": "InterpolateMissing"}, {"type": "SelectFrames"},
                                    {"type": "ConvertLayout"}, {"type": "Flip", "flip_ratio": 0.5},
                                    {"type": "GeneratePoseHeatmap"}]}}, r"inputs\.train_pipeline\[3\].*inputs\.flip"),
    ({"inputs": {"eval_pipeline": [{"type": "InterpolateMissing"}, {"type": "SelectFrames"},
                                   {"type": "ConvertLayout", "layout": "light_hand35"},
                                   {"type": "GeneratePoseHeatmap"}]}}, r"inputs\.eval_pipeline\[2\].*inputs\.layout"),
    ({"inputs": {"eval_pipeline": [{"type": "InterpolateMissing"}, {"type": "SelectFrames"}, {"type": "ConvertLayout"},
                                   {"type": "RandomAffine"}, {"type": "GeneratePoseHeatmap"}]}},
     r"inputs\.eval_pipeline must be deterministic"),
    ({"inputs": {"eval_pipeline": [{"type": "SelectFrames"}, {"type": "ConvertLayout"},
                                   {"type": "GeneratePoseHeatmap"}]}}, r"share the steps up to ConvertLayout"),
    ({"inputs": {"train_pipeline": [{"type": "InterpolateMissing"}, {"type": "SelectFrames"},
                                    {"type": "ConvertLayout"}, {"type": "Blur"}, {"type": "GeneratePoseHeatmap"}]}},
     r"inputs\.train_pipeline: .*unknown transform 'Blur'"),
    ({"inputs": {"train_pipeline": [{"type": "InterpolateMissing"}, {"type": "SelectFrames"},
                                    {"type": "ConvertLayout"}, {"type": "RandomAffine", "shear": 3},
                                    {"type": "GeneratePoseHeatmap"}]}}, r"inputs\.train_pipeline: .*shear"),
    ({"inputs": {"eval_pipeline": [{"type": "InterpolateMissing"}, {"type": "SelectFrames"},
                                   {"type": "ConvertLayout"}]}}, r"inputs\.eval_pipeline must end with GeneratePoseHeatmap"),
])
def test_bad_inputs_are_refused_naming_the_field(patch, message):
    from clipmg_lib.core.config import deep_merge

    with pytest.raises(ConfigError, match=message):
        ModelConfig.from_dict(deep_merge(_tiny(), patch), "mine.json")


def test_flip_with_cached_rgb_tokens_is_refused_at_load_time():
    with pytest.raises(ConfigError, match=r"inputs\.flip = 'pose_and_rgb'.*backbone\.trainable_blocks = 0"):
        get_model_config("clipmg_tiny", **{"inputs.flip": "pose_and_rgb"})
    # frames decoded every step (the backbone trains): the flip can mirror them with the pose
    trained = get_model_config("clipmg_tiny", **{"inputs.flip": "pose_and_rgb"}, **{"backbone.trainable_blocks": 1})
    steps = input_pipelines(trained).train.config()
    assert steps[3] == {"type": "Flip", "flip_ratio": 0.5}, "the flip comes right after ConvertLayout"
    assert "Flip" not in [s["type"] for s in input_pipelines(trained).eval.steps]
    # no RGB at all: flipping the pose breaks no correspondence
    pose_only = get_model_config("clipmg_tiny", ablation="pose_only", **{"inputs.flip": "pose_and_rgb"})
    assert input_pipelines(pose_only).train.is_random
    assert input_pipelines(get_model_config("clipmg_tiny")).train.config()[3]["type"] == "RandomAffine"


def test_pose_pipeline_data_contract():
    with pytest.raises(ValueError, match="exactly one ConvertLayout"):
        PosePipeline(({"type": "InterpolateMissing"},))
    with pytest.raises(ValueError, match="must come after ConvertLayout"):
        PosePipeline(({"type": "RandomAffine"}, {"type": "ConvertLayout", "layout": "openpose22"}))
    p = input_pipelines(get_model_config("clipmg_tiny")).train
    steps = p.config()
    steps[0]["type"] = "edited"
    assert p.config()[0]["type"] == "InterpolateMissing", "config() hands out copies"
    assert [s["type"] for s in p.without_random().steps] == ["InterpolateMissing", "SelectFrames", "ConvertLayout",
                                                             "GeneratePoseHeatmap"]


@pytest.mark.slow
def test_create_model_and_pipelines_agree():
    model, pipelines = create_model_and_pipelines("clipmg_tiny", pretrained=None, **{"inputs.heatmap": {"size": 32}})
    assert model.heatmap_shape == pipelines.heatmap_shape == (22, 8, 32, 32)
    assert pipelines.eval.heatmap["size"] == 32 and pipelines.train.heatmap["size"] == 32
    assert model.pose_encoder(torch.zeros(1, *pipelines.heatmap_shape))[0].shape == (1, model.cfg.hidden_dim)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from clipmg_lib.data.clip_index import build_clip_index

    root = tmp_path_factory.mktemp("tiny_inputs")
    make_tiny_imigue(root)
    return root, build_clip_index(root, progress=False)


@pytest.mark.slow
def test_caches_and_datasets_follow_the_config(tiny, tmp_path):
    """Layout is in the pose-cache key (it changes the cached skeletons); sigma is not (heatmaps are drawn on
    the fly) but changes the heatmaps every dataset serves; both equal the pipeline run directly."""
    from clipmg_lib.data.dataset import ClipDataset
    from clipmg_lib.model.inference import clip_dataset
    from clipmg_lib.train.cached_dataset import CachedClipDataset
    from clipmg_lib.train.features import build_split_caches

    root, index = tiny
    index = index.iloc[:4].reset_index(drop=True)
    built = {}
    for name, over in {"base": {}, "sigma": {"inputs.heatmap.sigma": 1.5},
                       "layout": {"inputs.layout": "light_hand35"}}.items():
        model, pipes = create_model_and_pipelines("clipmg_tiny", ablation="pose_only", pretrained=None, **over)
        caches = build_split_caches(model, index, root, ["uniform"], tmp_path, batch_size=4, progress=False,
                                    pipelines=pipes)
        assert caches.tokens is None and caches.pose.fields["pipeline"] == pipes.skeleton_config()
        ds = CachedClipDataset(caches, ["uniform"], with_tokens=False, pose_pipeline=pipes.eval)
        direct = ClipDataset(index, root, num_frames=pipes.num_frames, image_size=None, mode="eval",
                             load_frames=False, layout=pipes.layout, pose_pipeline=pipes.eval.build())
        np.testing.assert_allclose(ds[1]["heatmap"].numpy(), direct[1]["heatmap"], atol=1e-6)
        np.testing.assert_allclose(clip_dataset(index, root, model, pipes)[1]["heatmap"], direct[1]["heatmap"])
        assert tuple(ds[1]["heatmap"].shape) == pipes.heatmap_shape
        built[name] = (caches.pose.folder, ds[1]["heatmap"].numpy())
    assert built["sigma"][0] == built["base"][0], "sigma acts after the cache: the skeleton cache is shared"
    assert not np.allclose(built["sigma"][1], built["base"][1])
    assert built["layout"][0] != built["base"][0], "another layout caches other skeletons"
    assert built["layout"][1].shape[0] != built["base"][1].shape[0]
    # a cache built with other skeleton steps is refused by a dataset of this pipeline
    model, pipes = create_model_and_pipelines("clipmg_tiny", ablation="pose_only", pretrained=None)
    caches = build_split_caches(model, index, root, ["uniform"], tmp_path, batch_size=4, progress=False,
                                pipelines=input_pipelines(get_model_config("clipmg_tiny", ablation="pose_only",
                                                                           **{"inputs.layout": "light_hand35"})))
    from clipmg_lib.train.feature_cache import FeatureCacheError

    with pytest.raises(FeatureCacheError, match="holds skeletons of"):
        CachedClipDataset(caches, ["uniform"], with_tokens=False, pose_pipeline=pipes.eval)


@pytest.mark.slow
def test_frame_training_flips_pose_and_frames_together(tiny):
    from clipmg_lib.train.frame_dataset import FrameClipDataset

    root, index = tiny
    index = index.iloc[:2].reset_index(drop=True)
    items = {}
    for flip in ("none", "pose_and_rgb"):
        cfg = get_model_config("clipmg_tiny", pretrained=None, **{"backbone.trainable_blocks": 1},
                               **{"inputs.flip": flip}, **{"inputs.flip_ratio": 1.0})
        pipes = input_pipelines(cfg)
        no_jitter = PosePipeline(tuple(s for s in pipes.train.steps if s["type"] != "RandomAffine"))
        ds = FrameClipDataset(index, root, pipes.num_frames, 32, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0), mode="train",
                              seed=0, pose_pipeline=no_jitter)
        items[flip] = ds[0]
    plain, flipped = items["none"], items["pose_and_rgb"]
    torch.testing.assert_close(flipped["frames"], plain["frames"].flip(-1))  # (T, 3, S, S): mirrored along W
    assert flipped["heatmap"].shape == plain["heatmap"].shape
    assert not torch.allclose(flipped["heatmap"], plain["heatmap"])


def test_window_dataset_checks_the_source_layout(tmp_path):
    from clipmg_lib.spotting.dataset import WindowDataset
    from clipmg_lib.spotting.video_source import VideoSource
    import pandas as pd

    pipes = input_pipelines(get_model_config("clipmg_tiny", **{"inputs.layout": "light_hand35"}))
    src = VideoSource(7, tmp_path / "v.mp4", 40, np.zeros((40, 22, 2), np.float32), np.ones((40, 22), np.float32),
                      (48, 64))
    with pytest.raises(ValueError, match="layout openpose22, the pose pipeline converts to light_hand35"):
        WindowDataset(pd.DataFrame({"video": [7], "start_frame": [0], "end_frame": [39]}), {7: src},
                      {7: np.zeros((10, 1, 1), np.float16)}, pipes.num_frames, 4, pipes.eval)
