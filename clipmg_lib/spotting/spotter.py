"""The CLIP-MG spotter end to end: train on windows of long videos, spot in a whole video, score.

    spotter = train_spotter("tiny_demo", dataset_root=None, train_videos=[118, 127])   # or load_spotter(run_dir)
    spots = spot_video(spotter, VideoSource.from_dataset(root, 52))      # DataFrame video,start_frame,end_frame,class,score
    spots = spot_video_file("talk.mp4", run_dir, skeleton_path=None)     # a user's recording (mediapipe pose)

Training windows (per video, :func:`~clipmg_lib.spotting.windows.training_windows`): every annotated clip,
grid windows overlapping one (tIoU >= ``positive_iou``), and background windows from the gaps between clips
(each clip holds < ``background_iou`` of the window's frames: never inside a clip, nested ones included). The
classifier (:class:`~clipmg_lib.spotting.model.SpottingModel`)
trains with the kit's :class:`~clipmg_lib.train.trainer.Trainer` on the token store's rows, selects its epoch
on the validation videos' windows, and writes ``best.pt``/``last.pt`` (exact resume), ``metrics.csv`` and
``spotter_config.json`` under its run folder. Spotting slides every window of ``window_lengths`` over the
video, keeps windows whose best micro-gesture class has probability >= ``min_score``, and applies class-wise
temporal NMS (:mod:`clipmg_lib.spotting.postprocess`).
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ..data.annotations import IMIGUE_FPS
from ..core.atomic import atomic_open
from ..data.release_files import ReleaseFiles
from ..core.hashing import content_hash
from ..core.paths import dataset_root as resolve_root, demo_manifest, results_dir as resolve_results
from ..eval.metrics import classification_report
from ..eval.spotting_metrics import SPOT_COLUMNS
from ..model.factory import create_model
from ..model.inputs import input_pipelines
from ..train.checkpoint import load_checkpoint, load_model_state
from ..train.config import TrainConfig
from ..train.distributed import current_dist_info, resolve_device
from ..train.trainer import Trainer, cpu_threads, seed_everything
from .config import SpotterConfig, load_spotter_config
from .dataset import WindowDataset
from .frame_tokens import FrameTokenStore
from .model import SpottingModel
from .postprocess import temporal_nms, window_candidates
from .video_source import VideoSource
from .windows import BACKGROUND, sliding_windows, training_windows

CONFIG_NAME = "spotter_config.json"


@dataclass
class Spotter:
    """A trained spotter: its model, configs, token store and run folder (``history`` after training)."""

    model: SpottingModel
    config: SpotterConfig
    train_config: TrainConfig
    store: FrameTokenStore
    run_dir: Path
    history: pd.DataFrame = field(default_factory=pd.DataFrame)
    timings: dict = field(default_factory=dict)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device


def build_spotting_model(config: SpotterConfig) -> SpottingModel:
    """A fresh :class:`SpottingModel` from the config's training config (weights seeded by its ``seed``)."""
    tc = config.train()
    seed_everything(tc.seed)
    return SpottingModel(create_model(tc.model, **tc.model_overrides))


def default_spotter_dir(config: SpotterConfig, dataset_root=None, train_videos=None, val_videos=None,
                        results_dir=None) -> Path:
    """``<results>/spotting/<model>-<hash>``: the hash covers the config, the dataset root and the videos."""
    root = resolve_root(dataset_root).resolve()
    manifest = demo_manifest(root)
    demo = manifest.get("generator_version") if manifest is not None else None
    fields = {k: v for k, v in config.to_dict().items() if k != "description"}  # a comment changes no result
    key = content_hash({"config": fields, "root": str(root), "demo": demo,
                       "train": sorted(map(int, train_videos or [])), "val": sorted(map(int, val_videos or []))}, 8)
    return resolve_results(results_dir) / "spotting" / f"{Path(config.train().model).stem}-{key}"


def _videos_of(index: pd.DataFrame, split: str, videos) -> list[int]:
    if videos is not None:
        return sorted(int(v) for v in videos)
    return sorted(int(v) for v in index.loc[index["split"] == split, "video"].unique())


def video_windows(index: pd.DataFrame, sources: dict[int, VideoSource], config: SpotterConfig,
                  seed_offset: int = 0) -> pd.DataFrame:
    """Training-style windows (clips, positives, background) of every video in ``sources``."""
    parts = []
    for v, src in sources.items():
        clips = index.loc[index["video"] == v, ["start_frame", "end_frame", "label"]]
        rng = np.random.default_rng([config.seed, seed_offset, v])
        parts.append(training_windows(v, src.num_frames, clips, config.window_lengths, config.window_hop,
                                      config.positive_iou, config.background_iou, config.background_ratio,
                                      config.max_positives_per_clip, rng))
    return pd.concat(parts, ignore_index=True)


def train_spotter(config: str | Path | SpotterConfig = "tiny_demo", dataset_root=None, out_dir=None,
                  train_videos=None, val_videos=None, cache_root=None, resume: bool = True, progress: bool = True,
                  results_dir=None, index: pd.DataFrame | None = None, **overrides) -> Spotter:
    """Train (or resume / reload a finished) spotter on a dataset's long videos; see the module docstring.

    ``train_videos`` / ``val_videos``: video ids (default: every video of the ``train`` / ``val`` split).
    ``overrides``: :class:`SpotterConfig` fields. Returns the :class:`Spotter` with its best epoch loaded.
    """
    from ..data.clip_index import build_clip_index

    cfg = load_spotter_config(config, **overrides)
    tc = cfg.train()
    root = resolve_root(dataset_root)
    index = build_clip_index(root) if index is None else index
    train_videos = _videos_of(index, tc.train_split, train_videos)
    val_videos = _videos_of(index, tc.val_split, val_videos)
    if not train_videos:
        raise ValueError(f"{root}: no training video to train the spotter on")
    out_dir = Path(out_dir) if out_dir else default_spotter_dir(cfg, root, train_videos, val_videos, results_dir)
    device = resolve_device(tc.device)
    dist_info = current_dist_info(device)
    t0 = time.perf_counter()
    model = build_spotting_model(cfg).to(device)
    store = FrameTokenStore(model, cfg.frame_stride, cache_root, video_backend=tc.video_backend, progress=progress)
    layout = ReleaseFiles(root)
    with cpu_threads(tc, device):
        pipelines = input_pipelines(model.cfg)
        sources = {v: VideoSource.from_dataset(layout, v, pipelines.layout) for v in train_videos + val_videos}
        tokens = {v: store.tokens(src) for v, src in sources.items()}
        t_tokens = time.perf_counter()
        train_w = video_windows(index, {v: sources[v] for v in train_videos}, cfg)
        val_w = video_windows(index, {v: sources[v] for v in val_videos}, cfg, seed_offset=1) if val_videos else None
        common = dict(sources=sources, tokens=tokens, num_frames=pipelines.num_frames, stride=cfg.frame_stride,
                      seed=tc.seed)
        uses_pose = model.cfg.uses_pose
        train_set = WindowDataset(train_w, mode="train", **common,
                                  pose_pipeline=pipelines.for_training(tc.pose_augment) if uses_pose else None)
        val_set = (WindowDataset(val_w, mode="eval", **common, pose_pipeline=pipelines.eval if uses_pose else None)
                   if val_w is not None else None)
        trainer = Trainer(model, tc, out_dir, train_set, val_set, dist_info=dist_info,
                          num_classes=model.num_classes, show_progress=progress, val_metrics=classification_report)
        history = trainer.fit(resume=resume)
        trainer.load_best()
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_open(out_dir / CONFIG_NAME) as f:
        json.dump({"spotter": cfg.to_dict(), "train_videos": train_videos, "val_videos": val_videos,
                   "dataset_root": str(Path(root).resolve())}, f, indent=2)
    with atomic_open(out_dir / "train_windows.csv") as f:
        train_w.to_csv(f, index=False)
    timings = {"tokens_s": round(t_tokens - t0, 1), "train_s": round(time.perf_counter() - t_tokens, 1),
               "train_windows": len(train_w), "val_windows": 0 if val_w is None else len(val_w),
               "train_videos": train_videos, "val_videos": val_videos}
    model.eval()
    return Spotter(model, cfg, tc, store, out_dir, history, timings)


def load_spotter(run_dir: str | Path, cache_root=None, device: str | None = None, progress: bool = True) -> Spotter:
    """A spotter trained by :func:`train_spotter`, from its run folder (``spotter_config.json`` + ``best.pt``)."""
    run_dir = Path(run_dir)
    meta_path = run_dir / CONFIG_NAME
    if not meta_path.is_file():
        raise FileNotFoundError(f"{meta_path}: not a spotter run folder (train one with train_spotter)")
    cfg = SpotterConfig.from_dict(json.loads(meta_path.read_text())["spotter"], str(meta_path))
    tc = cfg.train()
    model = build_spotting_model(cfg)
    load_model_state(model, load_checkpoint(run_dir / "best.pt"), run_dir / "best.pt")
    model.to(resolve_device(device or tc.device)).eval()
    store = FrameTokenStore(model, cfg.frame_stride, cache_root, video_backend=tc.video_backend, progress=progress)
    return Spotter(model, cfg, tc, store, run_dir)


@torch.no_grad()
def classify_windows(model: SpottingModel, dataset: WindowDataset, batch_size: int = 64) -> np.ndarray:
    """Softmax (N, 33) of ``model`` (eval mode) over every window of ``dataset``, in order."""
    from torch.utils.data import DataLoader

    from ..core.workers import loader_kwargs

    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    out = []
    for batch in DataLoader(dataset, batch_size=batch_size, shuffle=False, **loader_kwargs(0)):
        inputs = {k: batch[k].to(device) for k in ("tokens", "heatmap") if k in batch}
        out.append(torch.softmax(model(**inputs)["logits"].float(), dim=1).cpu().numpy())
    model.train(was_training)
    return np.concatenate(out) if out else np.zeros((0, model.num_classes), np.float32)


def window_probabilities(spotter: Spotter, source: VideoSource, windows: pd.DataFrame) -> np.ndarray:
    """Softmax (N, 33) of the spotter's classifier on ``windows`` (``start_frame, end_frame``) of ``source``."""
    model = spotter.model
    pipelines = input_pipelines(model.cfg)
    ds = WindowDataset(windows.assign(video=source.video), {source.video: source},
                       {source.video: spotter.store.tokens(source)}, pipelines.num_frames, spotter.config.frame_stride,
                       pipelines.eval if model.cfg.uses_pose else None, mode="eval", seed=spotter.train_config.seed)
    with cpu_threads(spotter.train_config, spotter.device):
        return classify_windows(model, ds, spotter.config.batch_size)


def spot_video(spotter: Spotter, source: VideoSource) -> pd.DataFrame:
    """Spots of one video: DataFrame ``video, start_frame, end_frame, class, score`` (inclusive frames),
    sorted by start. Appends the call's timings to ``spotter.timings['spot']`` (see :func:`spotting_speed`)."""
    t0 = time.perf_counter()
    built_now = not spotter.store.is_built(source)
    spotter.store.tokens(source)
    t1 = time.perf_counter()
    windows = sliding_windows(source.num_frames, spotter.config.window_lengths, spotter.config.window_hop)
    probs = window_probabilities(spotter, source, windows)
    cands = window_candidates(windows.assign(video=source.video), probs, BACKGROUND, spotter.config.min_score)
    spots = temporal_nms(cands, spotter.config.nms_iou)
    spotter.timings.setdefault("spot", []).append(
        {"video": source.video, "frames": source.num_frames, "tokens_built_now": built_now,
         "tokens_s": round(t1 - t0, 3), "windows": len(windows), "classify_nms_s": round(time.perf_counter() - t1, 3)})
    return spots[list(SPOT_COLUMNS)]


def spotting_speed(spotter: Spotter, fps: float = IMIGUE_FPS) -> dict:
    """Frames spotted per second of compute over the :func:`spot_video` calls so far: ``frames``, ``tokens_s``
    (decode + encode; ~0 for videos whose tokens were already stored), ``classify_nms_s``, ``frames_per_s`` and
    ``x_realtime`` (video seconds per compute second at ``fps``), ``tokens_built_now`` (all videos encoded in
    these calls, i.e. the figure is end to end)."""
    calls = spotter.timings.get("spot", [])
    frames = sum(c["frames"] for c in calls)
    seconds = sum(c["tokens_s"] + c["classify_nms_s"] for c in calls)
    return {"frames": frames, "tokens_s": round(sum(c["tokens_s"] for c in calls), 1),
            "classify_nms_s": round(sum(c["classify_nms_s"] for c in calls), 1),
            "frames_per_s": round(frames / seconds, 1) if seconds else float("nan"),
            "x_realtime": round(frames / fps / seconds, 2) if seconds else float("nan"),
            "tokens_built_now": all(c["tokens_built_now"] for c in calls)}


def spot_videos(spotter: Spotter, sources: dict[int, VideoSource]) -> pd.DataFrame:
    """:func:`spot_video` over several videos, concatenated."""
    parts = [spot_video(spotter, src) for src in sources.values()]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=list(SPOT_COLUMNS))


def spot_video_file(video_path: str | Path, run_dir: str | Path, skeleton_path: str | Path | None = None,
                    video: int = 0, cache_root=None) -> pd.DataFrame:
    """Spot micro-gestures in a recording with a trained spotter's run folder: DataFrame ``video, start_frame,
    end_frame, class, score``. ``skeleton_path``: its light_hand CSV / OpenPose xlsx or JSON folder; None runs
    the kit's mediapipe extractor first. ``video``: the id written in the ``video`` column."""
    spotter = load_spotter(run_dir, cache_root=cache_root)
    layout = input_pipelines(spotter.model.cfg).layout
    return spot_video(spotter, VideoSource.from_files(video_path, skeleton_path, video, joint_layout=layout))


# ------------------------------------------------------------------------------------------ baselines

def majority_class_baseline(train_index: pd.DataFrame, num_frames: dict[int, int]) -> pd.DataFrame:
    """The trivial spotter: each video tiled with back-to-back windows of the training clips' median length,
    all of the training majority class, score 1. ``num_frames``: frames per video to tile."""
    length = int(round(float(train_index["end_frame"].sub(train_index["start_frame"]).add(1).median())))
    cls = int(train_index["label"].value_counts().idxmax())
    rows = [(v, s, min(s + length - 1, n - 1), cls, 1.0) for v, n in num_frames.items() for s in range(0, n, length)]
    return pd.DataFrame(rows, columns=list(SPOT_COLUMNS))


def oracle_boundary_spots(spotter: Spotter, sources: dict[int, VideoSource], ground_truth: pd.DataFrame) -> pd.DataFrame:
    """Spots on the ground-truth boundaries, classed by the spotter's classifier (background excluded):
    what the classifier scores when localisation is perfect."""
    parts = []
    for v, src in sources.items():
        gt = ground_truth[ground_truth["video"] == v][["start_frame", "end_frame"]].reset_index(drop=True)
        if gt.empty:
            continue
        probs = window_probabilities(spotter, src, gt)
        parts.append(window_candidates(gt.assign(video=v), probs, BACKGROUND, 0.0))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=list(SPOT_COLUMNS))
