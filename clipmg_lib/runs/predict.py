"""Predict the micro-gesture class of any video or image file with a trained run: one call, one command.

    python -m clipmg_lib.runs.predict my_recording.mov --run results/train/clipmg_tiny-1a2b3c4d
    python -m clipmg_lib.runs.predict talk.mp4 --run best.pt --start 12.5 --end 14.1 --topk 5 --out talk.json

    from clipmg_lib.runs.predict import predict_file
    result = predict_file("talk.mp4", "results/train/clipmg_tiny-1a2b3c4d", start=12.5, end=14.1)
    result.topk                 # DataFrame: rank, label, class, probability

``run``: a training run folder (``train_config.json`` + ``best.pt``) or one checkpoint file (``best.pt`` /
``last.pt``, which carry their ``TrainConfig``). Everything about the input comes from the run, so there is
nothing to know about the model's sizes:

1. **Pose**: mediapipe Pose + Hands (:mod:`clipmg_lib.pose.mediapipe_pose`) on every frame of the window, cached on
   disk under ``<cache>/predict_pose/<stem>-<key>/`` (the key hashes the file's size and first and last MiB
   with the extractor settings; a second call on the same file and window reads the CSV; a whole-file
   extraction resumes where it was interrupted).
2. **Window**: the whole file, or ``start``..``end`` in seconds at the file's own frame rate (any rate).
3. **Frames and heatmaps** exactly as the run's evaluation builds them (``train.features`` and
   ``train.cached_dataset``): ``num_frames`` TSN segment centres (plus ``eval_views - 1`` random draws,
   their softmax averaged, as ``evaluate_split`` does), frames resized square to the model's
   ``image_size`` by the run's ``video_backend``, and the skeleton through the eval pose pipeline of the
   model config's ``inputs`` (:func:`clipmg_lib.model.inputs.input_pipelines`).
4. **Output**: the top-k classes with their probabilities (a table on stdout; ``--out`` JSON or CSV).

An image (``.jpg``, ``.png``, ...) is a one-frame clip: mediapipe runs in static-image mode and the frame is
repeated ``num_frames`` times; it is resized with OpenCV's area filter (videos: the decoder's swscale).
The probabilities are those of the run's model: on a run trained on the demo dataset they say nothing
about real micro-gestures.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ..core.atomic import atomic_open
from ..data.classes import class_names
from ..data.skeleton import Skeleton
from ..core.paths import cache_dir as resolve_cache, results_dir

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
POSE_LAYOUT_ON_DISK = "light_hand35"


class PredictInputError(ValueError):
    """A file, run or window that cannot be predicted on; the message names it and the problem."""


@dataclass
class FilePrediction:
    """What :func:`predict_file` returns.

    ``probabilities`` float (num_classes,) softmax of the model (averaged over ``eval_views``);
    ``topk`` DataFrame (rank, label, class, probability); ``frame_inds`` int64 (views, T) frames used;
    ``start_frame``/``end_frame`` the window (0-based, inclusive); ``fps`` and ``num_frames`` of the file;
    ``skeleton_csv`` the cached mediapipe skeleton (None for an image).
    """

    path: Path
    run: Path
    start_frame: int
    end_frame: int
    fps: float
    num_frames: int
    frame_inds: np.ndarray
    probabilities: np.ndarray
    topk: pd.DataFrame
    skeleton_csv: Path | None = None
    config: dict = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict:
        return {"file": str(self.path), "run": str(self.run), "start_frame": self.start_frame,
                "end_frame": self.end_frame, "start_s": round(self.start_frame / self.fps, 3),
                "end_s": round((self.end_frame + 1) / self.fps, 3), "fps": self.fps, "file_frames": self.num_frames,
                "frame_inds": self.frame_inds.tolist(), "model": self.config.get("model"),
                "skeleton_csv": str(self.skeleton_csv) if self.skeleton_csv else None,
                "topk": self.topk.to_dict(orient="records")}

    def save(self, path: str | os.PathLike) -> Path:
        """Write ``.json`` (everything) or ``.csv`` (the top-k table plus file and window columns), atomically."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix.lower() == ".json":
            with atomic_open(path) as f:
                json.dump(self.to_dict(), f, indent=1)
        elif path.suffix.lower() == ".csv":
            table = self.topk.assign(file=str(self.path), start_frame=self.start_frame, end_frame=self.end_frame)
            with atomic_open(path) as f:
                table.to_csv(f, index=False)
        else:
            raise PredictInputError(f"{path}: output must end in .json or .csv")
        return path


# ----------------------------------------------------------------------------------------- the run

def load_predictor(run: str | os.PathLike, device: str | None = None):
    """(model in eval mode, TrainConfig, checkpoint path) of a run folder or a checkpoint file."""
    from ..train.checkpoint import load_checkpoint, load_model_state
    from ..core.config import from_dict
    from ..train.config import TrainConfig, load_train_config
    from ..train.distributed import resolve_device
    from .train_model import create_model_for

    run = Path(run)
    if run.is_dir():
        ckpt_path = next((run / n for n in ("best.pt", "last.pt") if (run / n).is_file()), None)
        cfg_path = run / "train_config.json"
        if not cfg_path.is_file():
            raise PredictInputError(f"{run}: not a training run folder (no train_config.json); give --run a run "
                                    "folder of python -m clipmg_lib.runs.train or a best.pt checkpoint")
        config = load_train_config(cfg_path)
        checkpoint = load_checkpoint(ckpt_path) if ckpt_path else None
    elif run.is_file():
        ckpt_path = run
        checkpoint = load_checkpoint(run)
        if not isinstance(checkpoint.get("config"), dict):
            raise PredictInputError(f"{run}: this checkpoint holds no training config; give the run folder instead")
        config = from_dict(TrainConfig, checkpoint["config"], str(run))
    else:
        raise PredictInputError(f"{run}: no such run folder or checkpoint file")
    model = create_model_for(config)
    if checkpoint is not None:
        load_model_state(model, checkpoint, ckpt_path)
    elif not model.cfg.zero_shot:
        raise PredictInputError(f"{run}: no best.pt or last.pt in the run folder (training did not finish an epoch)")
    model.eval()
    model.to(resolve_device(device or config.device))
    return model, config, ckpt_path or run


# ------------------------------------------------------------------------------------- the media

def is_image(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def _content_key(path: Path, extractor: dict) -> str:
    """Hash of the file's size, first and last MiB, and the extractor settings (16 hex)."""
    h = hashlib.sha1()
    size = path.stat().st_size
    h.update(f"{size}|{json.dumps(extractor, sort_keys=True)}|".encode())
    with path.open("rb") as f:
        h.update(f.read(1 << 20))
        if size > 2 << 20:
            f.seek(-(1 << 20), os.SEEK_END)
            h.update(f.read())
    return h.hexdigest()[:16]


def video_skeleton(path: str | os.PathLike, cache_root: str | os.PathLike | None = None, progress: bool = False,
                   start_frame: int = 0, end_frame: int | None = None) -> tuple[Skeleton, Path, int]:
    """The mediapipe skeleton (light_hand35, pixels) of a video's frames ``start_frame..end_frame`` (None: to the
    end), from the disk cache when there. Returns (skeleton, its CSV, the absolute frame of its row 0).

    The whole file goes through :func:`~clipmg_lib.pose.extract.extract_folder` (resumable per chunk); a window
    is extracted alone (a 2 s window of a 14-minute recording costs 2 s of mediapipe, not 14 minutes) and
    cached as ``{stem}_{start}-{end}_light_hand.csv``; trackers start at the window's first frame.
    """
    from ..data.skeleton_io import read_light_hand_csv, write_light_hand_csv
    from ..data.video import ClipReader
    from ..data.release_files import mediapipe_csv_path
    from ..pose.extract import extract_folder
    from ..pose.mediapipe_pose import ExtractorConfig, PoseExtractor

    path = Path(path)
    cfg = ExtractorConfig()
    out_root = resolve_cache(cache_root) / "predict_pose" / f"{path.stem}-{_content_key(path, asdict(cfg))}"
    reader = ClipReader(None, size=None, cache_size=1)
    info = reader.info(path)
    end_frame = info.num_frames - 1 if end_frame is None else int(end_frame)
    if start_frame == 0 and end_frame >= info.num_frames - 1:
        reader.close()
        table = extract_folder({path.stem: path}, out_root, cfg, progress=progress)
        csv = Path(table["csv"].iloc[0]) if table["csv"].iloc[0] else mediapipe_csv_path(out_root, path.stem)
        return read_light_hand_csv(csv), csv, 0
    csv = out_root / f"{path.stem}_{start_frame}-{end_frame}_light_hand.csv"
    if not csv.is_file():
        rows = []
        with PoseExtractor(cfg) as ex:
            for b in range(start_frame, end_frame + 1, 16):
                frames = reader.read(path, np.arange(b, min(b + 16, end_frame + 1)))
                rows += [ex.process(f, (info.height, info.width)) for f in frames]
        csv.parent.mkdir(parents=True, exist_ok=True)
        write_light_hand_csv(csv, Skeleton(np.stack(rows), POSE_LAYOUT_ON_DISK, (info.height, info.width), str(path)))
    reader.close()
    return read_light_hand_csv(csv), csv, int(start_frame)


def read_image(path: str | os.PathLike) -> np.ndarray:
    """An image file as uint8 RGB (H, W, 3); errors name the file."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))
    except (UnidentifiedImageError, OSError) as exc:
        raise PredictInputError(f"{path}: cannot be read as an image ({exc})") from None


def window(num_frames: int, fps: float, start: float | None, end: float | None, path: Path) -> tuple[int, int]:
    """(start_frame, end_frame) inclusive for ``start``..``end`` seconds (None: the file's start / end)."""
    duration = num_frames / fps
    s = 0 if start is None else int(round(float(start) * fps))
    e = num_frames - 1 if end is None else int(round(float(end) * fps)) - 1
    if start is not None and not 0 <= float(start) < duration:
        raise PredictInputError(f"{path}: --start {start} s is outside the file (0 to {duration:.3f} s, "
                                f"{num_frames} frames at {fps:g} fps)")
    if end is not None and not float(end) <= duration + 0.5 / fps:
        raise PredictInputError(f"{path}: --end {end} s is past the file's end ({duration:.3f} s)")
    e = min(e, num_frames - 1)
    if e < s:
        raise PredictInputError(f"{path}: the window {start} s .. {end} s holds no frame (--end must be after --start)")
    return s, e


# ------------------------------------------------------------------------------------- prediction

def _view_indices(start: int, end: int, num_frames: int, eval_views: int, seed: int) -> np.ndarray:
    """(views, T): ``uniform`` then the ``random<k>`` draws of ``ClipDataset(mode='train')`` for clip 0."""
    from ..data.frame_sampling import sample_frame_indices

    views = [sample_frame_indices(start, end, num_frames, "uniform")]
    views += [sample_frame_indices(start, end, num_frames, "random", np.random.default_rng([seed, k, 0]))
              for k in range(eval_views - 1)]
    return np.stack(views)


def _heatmap(skeleton: Skeleton, offset: int, start: int, end: int, inds: np.ndarray, img_shape, model,
             config) -> np.ndarray:
    """The run's eval heatmap (C, T, H, W) of absolute frames ``inds`` (see the module docstring, step 3);
    ``skeleton`` row 0 is absolute frame ``offset``."""
    from ..model.inputs import input_pipelines

    pipeline = input_pipelines(model.cfg).eval
    clip = skeleton.to(pipeline.layout).frames(start - offset, end - offset)
    sample = {"keypoint": np.ascontiguousarray(clip.xy), "keypoint_score": np.ascontiguousarray(clip.score),
              "frame_inds": inds, "clip_start": start, "img_shape": tuple(img_shape), "layout": pipeline.layout,
              "sample_id": "file", "epoch": 0, "label": -1}
    return pipeline.build(config.seed)(sample)["heatmap"]


@torch.no_grad()
def predict_file(path: str | os.PathLike, run: str | os.PathLike, start: float | None = None,
                 end: float | None = None, topk: int = 5, cache_root: str | os.PathLike | None = None,
                 device: str | None = None, progress: bool = False, predictor=None) -> FilePrediction:
    """Top-``topk`` classes of a video or image file (or of ``start``..``end`` seconds of a video) under a run.

    ``predictor``: a ``load_predictor(run)`` result to reuse across calls (notebooks). See the module
    docstring for every step; errors are :class:`PredictInputError` / ``VideoFileError`` naming the file.
    """
    from ..data.video import ClipReader
    from .train_model import model_inputs

    path = Path(path)
    if not path.is_file():
        raise PredictInputError(f"{path}: no such file")
    model, config, source = predictor or load_predictor(run, device)
    uses_tokens, uses_pose = model_inputs(model)
    T = int(model.cfg.num_frames)
    if is_image(path):
        if start is not None or end is not None:
            raise PredictInputError(f"{path}: --start/--end apply to videos; an image is one frame")
        rgb = read_image(path)
        fps, n, (s, e), img_shape, csv, offset = 1.0, 1, (0, 0), rgb.shape[:2], None, 0
        if uses_pose:
            from ..pose.mediapipe_pose import extract_image

            skeleton = extract_image(rgb)
        views = _view_indices(0, 0, T, config.eval_views, config.seed)
        if uses_tokens:
            import cv2

            size = int(model.image_size)
            frame = cv2.resize(rgb, (size, size), interpolation=cv2.INTER_AREA)
            frames = [np.repeat(frame[None], T, axis=0) for _ in views]
    else:
        reader = ClipReader(None, size=int(model.image_size) if uses_tokens else None, cache_size=1,
                            backend=config.video_backend)
        info = reader.info(path)
        fps, n, img_shape = float(info.fps) or 25.0, int(info.num_frames), (info.height, info.width)
        s, e = window(n, fps, start, end, path)
        views = _view_indices(s, e, T, config.eval_views, config.seed)
        frames = [reader.read(path, v) for v in views] if uses_tokens else []
        reader.close()
        skeleton, csv, offset = video_skeleton(path, cache_root, progress, s, e) if uses_pose else (None, None, s)
        if skeleton is not None and offset + skeleton.num_frames < e + 1:
            raise PredictInputError(f"{csv}: the cached skeleton holds frames {offset}..{offset + skeleton.num_frames - 1}"
                                    f" but the window ends at frame {e}; delete {csv.parent} and retry")
    dev = next(model.parameters()).device
    probs = []
    for k, inds in enumerate(views):
        inputs = {}
        if uses_tokens:
            imgs = torch.from_numpy(np.ascontiguousarray(frames[k]))[None]
            inputs["tokens"] = model.encode_frames(model.preprocess(imgs).to(dev))
        if uses_pose:
            hm = _heatmap(skeleton, offset, s, e, inds, img_shape, model, config)
            inputs["heatmap"] = torch.from_numpy(hm)[None].to(dev)
        probs.append(torch.softmax(model(**inputs)["logits"].float(), dim=-1)[0].cpu().numpy())
    p = np.mean(probs, axis=0)
    names = class_names()
    order = np.argsort(-p, kind="stable")[:max(1, int(topk))]
    table = pd.DataFrame({"rank": np.arange(1, len(order) + 1), "label": order,
                          "class": [names[i] for i in order], "probability": p[order].astype(np.float64).round(4)})
    return FilePrediction(path, Path(source), s, e, fps, n, views, p, table, csv, config.to_dict())


# ------------------------------------------------------------------------------------------- CLI

def build_parser() -> argparse.ArgumentParser:
    """The command line (kept flat so that new modes add one flag each)."""
    ap = argparse.ArgumentParser(
        prog="python -m clipmg_lib.runs.predict", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Top-k micro-gesture classes of a video or image file (any name, resolution, frame rate) "
                    "with a trained CLIP-MG run. Pose is extracted with mediapipe and cached; frames and "
                    "heatmaps are built exactly as the run's config defines them.",
        epilog="examples:\n"
               "  python -m clipmg_lib.runs.predict talk.mp4 --run results/train/clipmg_tiny-1a2b3c4d\n"
               "  python -m clipmg_lib.runs.predict talk.mp4 --run best.pt --start 12.5 --end 14.1 --out talk.csv\n"
               "  python -m clipmg_lib.runs.predict photo.jpg --run results/train/clipmg_tiny-1a2b3c4d --topk 3\n"
               "  python -m clipmg_lib.runs.predict long.mp4 --spot --run results/spotting/clipmg_tiny-5e6f7a8b")
    ap.add_argument("file", help="a video (mp4, mov, mkv, avi, webm, ...) or an image (jpg, png, ...)")
    ap.add_argument("--run", required=True, help="training run folder (train_config.json + best.pt) or a checkpoint")
    ap.add_argument("--start", type=float, default=None, help="window start in seconds (default: the file's start)")
    ap.add_argument("--end", type=float, default=None, help="window end in seconds (default: the file's end)")
    ap.add_argument("--topk", type=int, default=5, help="classes to list (default 5)")
    ap.add_argument("--out", default=None, help="write the result to this .json or .csv "
                                                "(default: <results>/predict/<file stem>.json)")
    ap.add_argument("--cache-dir", default=None, help="cache root for the mediapipe skeletons (default data/cache)")
    ap.add_argument("--device", default=None, help="torch device (default: the run's, 'auto' = GPU if any)")
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    ap.add_argument("--spot", action="store_true",
                    help="spot every micro-gesture of an untrimmed video instead: --run is a spotter run folder "
                         "(clipmg_lib.spotting.train_spotter, notebook 09); writes <name>_spots.csv "
                         "(video,start_frame,end_frame,class,score) and a timeline figure to --out (a folder; "
                         "default <results>/predict/<file stem>)")
    ap.add_argument("--skeleton", default=None, help="with --spot: the video's skeleton file (light_hand CSV, "
                                                     "OpenPose xlsx or JSON folder); default: mediapipe")
    return ap


def spot_main(args: argparse.Namespace) -> int:
    """``--spot``: the spotter over the whole file; the spots as a table, a CSV and a timeline figure."""
    from ..spotting import spot_video_file, write_spot_outputs

    out_dir = Path(args.out) if args.out else results_dir() / "predict" / Path(args.file).stem
    spots = spot_video_file(args.file, args.run, skeleton_path=args.skeleton, cache_root=args.cache_dir)
    written = write_spot_outputs(spots, out_dir, name=Path(args.file).stem)
    print(f"{args.file}: {len(spots)} micro-gesture(s) spotted")
    if len(spots):
        print(spots.to_string(index=False))
    print(f"written: {written['csv']}")
    for fig in written["figures"]:
        print(f"written: {fig}")
    return 0


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    args = build_parser().parse_args(argv)
    from ..data.decoders import VideoFileError
    from ..train.checkpoint import CheckpointError

    if args.spot:
        if args.start is not None or args.end is not None:
            print("error: --spot reads the whole file; --start/--end select a window for clip prediction",
                  file=sys.stderr)
            return 2
        try:
            return spot_main(args)
        except (VideoFileError, CheckpointError, FileNotFoundError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    try:
        result = predict_file(args.file, args.run, args.start, args.end, args.topk, args.cache_dir, args.device,
                              progress=not args.quiet)
    except (PredictInputError, VideoFileError, CheckpointError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out) if args.out else results_dir() / "predict" / f"{Path(args.file).stem}.json"
    result.save(out)
    print(f"{result.path}  frames {result.start_frame}..{result.end_frame} of {result.num_frames} "
          f"({result.start_frame / result.fps:.2f}-{(result.end_frame + 1) / result.fps:.2f} s at {result.fps:g} fps)")
    print(result.topk.to_string(index=False))
    print(f"written: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
