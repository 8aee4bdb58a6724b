"""Spotting speed on a long 720p video: the kit's token store against the naive sliding window, and frames/s
end to end against real time (25 frames/s), for ``clipmg_tiny`` on this CPU.

    python -m bench.bench_spotting [--quick] [--segment 40] [--seconds 600] [--pose-frames 250] [--repeats 3]
                                   [--video-seconds 600]

Input: the benchmarks' synthetic 10-minute 1280x720 H.264 video (``bench.common.make_long_video``, shared with
``bench_video``), a random skeleton of the same length (speed does not depend on what the joints show) and an
untrained :class:`~clipmg_lib.spotting.model.SpottingModel` of the ``tiny_demo`` spotter config (speed does not
depend on its weights).

1. **Token store vs naive windows** on the first ``--segment`` seconds, interleaved rounds. Both classify the
   same multi-scale windows on the same frames, in batches. ``token store``: every ``frame_stride``-th frame
   is decoded and encoded once (``FrameTokenStore``, a fresh cache folder each round), then every window reads
   its rows. ``naive``: every window decodes its own 8 frames (one open decoder, windows in order) and encodes
   them, as a clip classifier run on each window would.
2. **End to end** on the first ``--seconds`` seconds (one run): decode + CLIP tokens (token store), windows +
   classifier + NMS (``spot_video``), and mediapipe pose (``pose.video_chunks.extract_video``) timed on the first
   ``--pose-frames`` frames (after a warm-up run) and extrapolated per frame. Frames/s of each stage and of all of them together,
   against 25 frames/s.

Results: printed, and ``bench/out/bench_spotting.json``.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time

import numpy as np
import torch

from bench.common import (OUT_DIR, LongVideoSpec, make_long_video, print_machine, print_timings, ratio,
                          set_cpu_threads, time_side_by_side, write_results)

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REALTIME_FPS = 25.0


def random_skeleton(num_frames: int, img_shape: tuple[int, int]):
    from clipmg_lib.data.skeleton import Skeleton

    rng = np.random.default_rng(0)
    h, w = img_shape
    data = np.zeros((num_frames, 35, 3), np.float32)
    data[..., 0] = rng.uniform(0.3 * w, 0.7 * w, (num_frames, 35))
    data[..., 1] = rng.uniform(0.2 * h, 0.8 * h, (num_frames, 35))
    data[..., 2] = 0.9
    return Skeleton(data, "light_hand35", img_shape, "random")


def segment(source, frames: int):
    """The first ``frames`` frames of a VideoSource."""
    frames = min(frames, source.num_frames)
    return dataclasses.replace(source, num_frames=frames, keypoint=source.keypoint[:frames],
                               keypoint_score=source.keypoint_score[:frames])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--segment", type=float, default=40.0, help="seconds compared store vs naive")
    ap.add_argument("--seconds", type=float, default=600.0, help="seconds spotted end to end")
    ap.add_argument("--pose-frames", type=int, default=250, help="frames mediapipe pose is timed on")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--video-seconds", type=int, default=600, help="length of the synthetic 720p video")
    ap.add_argument("--quick", action="store_true",
                    help="a 60 s video: 10 s compared, 60 s end to end, 50 pose frames, 2 rounds")
    ap.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: free cores)")
    args = ap.parse_args(argv)
    if args.quick:
        args.segment, args.seconds, args.pose_frames, args.repeats = 10.0, 60.0, 50, 2
        args.video_seconds = 60
    threads = set_cpu_threads(args.threads)

    from clipmg_lib.data.video import ClipReader
    from clipmg_lib.spotting import load_spotter_config
    from clipmg_lib.model.inputs import input_pipelines
    from clipmg_lib.spotting.dataset import WindowDataset
    from clipmg_lib.spotting.frame_tokens import FrameTokenStore
    from clipmg_lib.spotting.spotter import Spotter, build_spotting_model, classify_windows, spot_video, spotting_speed
    from clipmg_lib.spotting.video_source import VideoSource
    from clipmg_lib.spotting.windows import sliding_windows, window_grid_positions

    print("# bench_spotting: the spotter's token store vs the naive sliding window; frames/s vs real time")
    print_machine()
    spec = LongVideoSpec(seconds=int(args.video_seconds))
    path = make_long_video(spec)
    cfg = load_spotter_config("tiny_demo")
    model = build_spotting_model(cfg).eval()
    pipelines = input_pipelines(model.cfg)
    stride, batch = cfg.frame_stride, cfg.batch_size
    full = VideoSource.from_skeleton(1, path, random_skeleton(spec.num_frames, (spec.height, spec.width)))
    print(f"video {path.name}: {full.num_frames} frames {spec.width}x{spec.height}; spotter tiny_demo "
          f"(stride {stride}, windows {list(cfg.window_lengths)}, hop {cfg.window_hop}); {threads} torch thread(s)")

    # ---------------------------------------------------------------- 1. token store vs naive windows
    seg = segment(full, int(args.segment * spec.fps))
    windows = sliding_windows(seg.num_frames, cfg.window_lengths, cfg.window_hop).assign(video=seg.video)
    rows_needed = -(-seg.num_frames // stride)
    heat_ds = WindowDataset(windows, {seg.video: seg}, {seg.video: np.zeros((rows_needed, 1, 1), np.float16)},
                            pipelines.num_frames, stride, pipelines.eval)
    scratch = tempfile.TemporaryDirectory(dir=OUT_DIR, prefix="spotting-")

    def with_store():
        with tempfile.TemporaryDirectory(dir=scratch.name) as tmp:
            store = FrameTokenStore(model, stride, cache_root=tmp, progress=False)
            ds = WindowDataset(windows, {seg.video: seg}, {seg.video: store.tokens(seg)}, pipelines.num_frames,
                               stride, pipelines.eval)
            return classify_windows(model, ds, batch)

    def naive():
        reader = ClipReader(None, size=model.cfg.backbone.image_size, cache_size=1)
        out = []
        with torch.no_grad():
            for s in range(0, len(windows), batch):
                toks, heats = [], []
                for i in range(s, min(s + batch, len(windows))):
                    w = windows.iloc[i]
                    rows = window_grid_positions(w.start_frame, w.end_frame, model.cfg.num_frames, stride, rows_needed)
                    imgs = reader.read(seg.path, rows * stride)
                    toks.append(model.clipmg.encode_frames(model.clipmg.preprocess(imgs[None]))[0])
                    heats.append(heat_ds[i]["heatmap"])
                logits = model(tokens=torch.stack(toks), heatmap=torch.stack(heats))["logits"]
                out.append(torch.softmax(logits, 1).numpy())
        return np.concatenate(out)

    a, b = with_store(), naive()  # same windows, same frames: the same probabilities (fp16 storage aside)
    agree = float((a.argmax(1) == b.argmax(1)).mean())
    print(f"\nsegment: {seg.num_frames} frames, {len(windows)} windows; argmax agreement store vs naive {agree:.3f}")
    timings = time_side_by_side({"naive: decode + encode every window": naive, "token store (kit)": with_store},
                                repeats=args.repeats, warmup=0, units_per_call=seg.num_frames, unit="frame")
    rows = print_timings(f"spotting {args.segment:.0f} s of 720p video", timings.values(),
                         baseline="naive: decode + encode every window")
    r = ratio(timings["naive: decode + encode every window"], timings["token store (kit)"])

    # ---------------------------------------------------------------- 2. end to end
    long = segment(full, int(args.seconds * spec.fps))
    with tempfile.TemporaryDirectory(dir=scratch.name) as tmp:
        store = FrameTokenStore(model, stride, cache_root=tmp, progress=True)
        spotter = Spotter(model, cfg, cfg.train(), store, OUT_DIR)
        spots = spot_video(spotter, long)
        speed = spotting_speed(spotter)
    from clipmg_lib.pose.video_chunks import extract_video

    extract_video(path, max_frames=8, progress=False)  # warm-up: mediapipe's graphs and models open
    t0 = time.perf_counter()
    extract_video(path, max_frames=args.pose_frames, progress=False)
    pose_per_frame = (time.perf_counter() - t0) / args.pose_frames
    n = long.num_frames
    stages = {"decode + CLIP tokens": speed["tokens_s"], "windows + classifier + NMS": speed["classify_nms_s"],
              f"mediapipe pose (timed on {args.pose_frames} frames)": pose_per_frame * n}
    total = sum(stages.values())
    print(f"\n== end to end on {n} frames ({n / spec.fps:.0f} s of video), {len(spots)} spots (untrained model)")
    for name, s in stages.items():
        print(f"  {name:<44} {s:8.1f} s  {n / s:8.1f} frames/s  {n / s / REALTIME_FPS:6.2f}x real time")
    print(f"  {'all stages':<44} {total:8.1f} s  {n / total:8.1f} frames/s  {n / total / REALTIME_FPS:6.2f}x real time")
    without_pose = speed["tokens_s"] + speed["classify_nms_s"]
    print(f"  {'spotter (tokens + classifier, skeleton given)':<44} {without_pose:8.1f} s  {n / without_pose:8.1f} "
          f"frames/s  {n / without_pose / REALTIME_FPS:6.2f}x real time")
    scratch.cleanup()
    head = {"name": "spotting: token store vs naive sliding window (tiny, CPU)", **r,
            "end_to_end_fps": n / total, "spotter_fps": n / without_pose}
    write_results("bench_spotting", {"segment": {"frames": seg.num_frames, "windows": len(windows),
                                                 "argmax_agreement": agree, "timings": rows, "ratio": r},
                                     "end_to_end": {"frames": n, "stages_s": stages, "fps": n / total,
                                                    "spotter_fps": n / without_pose, "threads": threads},
                                     "headline": head})
    return 0


if __name__ == "__main__":
    sys.exit(main())
