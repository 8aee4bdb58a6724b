"""The hang pattern of the DDP-test deadlock, reproduced in one process (run by test_fork_safety.py).

Set-up, as a notebook or an earlier test leaves a process: PyAV and decord decoders open (some of them
unreachable garbage in reference cycles that the garbage collector has not freed yet, as a decoder of an
earlier test was), a mediapipe Pose graph that has run, and torch ops on 2 intra-op threads. Then, ``ROUNDS``
times: the demo generator's process pool (``generate_demo(workers=2)``) and a DataLoader with 2 workers
(``encode_clips(num_workers=2)``, the kit's own loader). A worker started by ``fork`` inherits the decoders
without their threads; when its garbage collector frees one, FFmpeg waits forever for frame threads that do
not exist. The kit's start method must make this finish.

``python tests/fork_safety_child.py WORKDIR [ROUNDS]``; prints ``fork-safety: N rounds in S s`` at the end.
faulthandler dumps every thread's stack and exits 3 if it is not done within ``DEADLINE_S``.
"""
from __future__ import annotations

import faulthandler
import sys
import time
from pathlib import Path

DEADLINE_S = 1500


def main() -> int:
    faulthandler.dump_traceback_later(DEADLINE_S, exit=True)
    work = Path(sys.argv[1])
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    sys.path.insert(0, str(Path(__file__).resolve().parent))

    import numpy as np
    import torch

    from clipmg_lib.demo import generate as demo
    from clipmg_lib.data.clip_index import build_clip_index
    from clipmg_lib.data.dataset import ClipDataset
    from clipmg_lib.data.video import ClipReader
    from clipmg_lib.model.factory import create_model
    from clipmg_lib.model.inference import encode_clips
    from clipmg_lib.pose.mediapipe_pose import extract_image
    from clipmg_lib.pose.pipeline import build_pose_pipeline
    from clipmg_lib.pose.sample_media import person_photo
    from clipmg_lib.demo.media import write_frame_coded_video

    started = time.perf_counter()
    # the smallest demo the generator's pool will write: one training and one test video
    demo.SIZES["fork_check"] = demo.DemoSize(
        "fork_check", (demo.DemoVideo(118, 42, "train"), demo.DemoVideo(52, 7, "test")), clips_train=3,
        clips_test=2, min_clips_per_class=(0, 0), max_clip_frames=16, length_scale=0.3, gap_frames=(4, 6))
    root = work / "root"
    demo.generate_demo(root, size="fork_check", workers=1, progress=False)

    # decoders: open, used (FFmpeg/decord threads running), some kept, some left as uncollected garbage
    videos = [write_frame_coded_video(work / f"bar{i}.mp4", 120, height=96, width=128) for i in range(3)]
    kept = []
    for backend in ("pyav", "decord"):
        reader = ClipReader(None, size=64, backend=backend, num_threads=2)
        for v in videos:
            reader.read(v, np.arange(0, 120, 7))
        kept.append(reader)

    def leave_garbage():
        for backend in ("pyav", "decord"):
            reader = ClipReader(None, size=64, backend=backend, num_threads=2)
            reader.read(videos[0], np.arange(40, 100, 9))
            reader.cycle = reader  # freed only by the cyclic garbage collector

    # a mediapipe graph that has run, and torch on two intra-op threads
    extract_image(person_photo())
    torch.set_num_threads(2)
    a = torch.randn(512, 512)
    (a @ a).sum().item()

    model = create_model("clipmg_tiny")
    index = build_clip_index(root)
    dataset = ClipDataset(index, root, num_frames=model.cfg.num_frames, image_size=model.image_size,
                          mode="eval", pose_pipeline=build_pose_pipeline("eval"))
    for i in range(rounds):
        leave_garbage()
        demo.generate_demo(work / f"pool{i}", size="fork_check", workers=2, progress=False)
        leave_garbage()
        out = encode_clips(model, dataset, batch_size=1, num_workers=2, progress=False)
        assert len(out["labels"]) == len(dataset)
        print(f"round {i + 1}/{rounds} done ({time.perf_counter() - started:.0f} s)", flush=True)
    print(f"fork-safety: {rounds} rounds in {time.perf_counter() - started:.1f} s", flush=True)
    del kept
    return 0


if __name__ == "__main__":
    sys.exit(main())
