"""What the safe start method costs: DataLoader worker start-up and epoch time, fork vs forkserver vs spawn.

The kit starts every worker with ``forkserver`` (``clipmg_lib.core.workers``), never ``fork``: a forked worker
can deadlock on decoder, mediapipe or torch threads of its parent. This benchmark prices that choice on
the demo's training clips (frames decoded with PyAV at the tiny model's 112 px plus eval pose heatmaps, as
notebook 05 reads them), with 2 workers, interleaved round by round:

- ``start-up``: a new DataLoader's time to its first batch (what every non-persistent loader pays, e.g.
  each evaluation pass). ``fork`` is timed here only because this process has opened no decoder, no
  mediapipe graph and no torch thread pool worth inheriting, the one case where fork is safe.
- ``epoch, persistent workers``: one more epoch of a loader whose workers are already up (what training
  pays per epoch with ``persistent_workers=True``).
- the forkserver's own one-off start (it imports :data:`clipmg_lib.core.workers.PRELOAD`) is printed apart.

    .venv/bin/python -m bench.bench_workers [--clips 32 --repeats 5 --quick]
"""
from __future__ import annotations

import argparse
import multiprocessing
import sys
import time

from bench.common import print_machine, print_timings, ratio, time_side_by_side, write_results


def _loader(dataset, method: str, num_workers: int, persistent: bool):
    from torch.utils.data import DataLoader

    from clipmg_lib.data.dataset import collate_clips

    ctx = multiprocessing.get_context(method)
    if method == "forkserver":
        from clipmg_lib.core.workers import PRELOAD
        ctx.set_forkserver_preload(PRELOAD)
    return DataLoader(dataset, batch_size=4, num_workers=num_workers, multiprocessing_context=ctx,
                      persistent_workers=persistent, collate_fn=collate_clips)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clips", type=int, default=32, help="training clips per epoch")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="8 clips, 2 rounds")
    args = ap.parse_args(argv)
    if args.quick:
        args.clips, args.repeats = 8, 2

    from clipmg_lib.data.clip_index import build_clip_index
    from clipmg_lib.data.dataset import ClipDataset
    from clipmg_lib.core.paths import demo_root
    from clipmg_lib.pose.pipeline import build_pose_pipeline

    info = print_machine()
    root = demo_root()
    index = build_clip_index(root)
    clips = index[index["split"] == "train"].head(args.clips)
    dataset = ClipDataset(clips, root, num_frames=8, image_size=112, mode="eval",
                          pose_pipeline=build_pose_pipeline("eval"))
    methods = ["fork", "forkserver", "spawn"]

    t0 = time.perf_counter()
    next(iter(_loader(dataset, "forkserver", 1, False)))
    server_start = time.perf_counter() - t0
    print(f"\nforkserver's one-off start (server boot, PRELOAD imports, first worker, first batch): "
          f"{server_start:.2f} s")

    def first_batch(method):
        return lambda: next(iter(_loader(dataset, method, args.workers, False)))

    startup = time_side_by_side({m: first_batch(m) for m in methods}, repeats=args.repeats, warmup=1,
                                unit="loader start")
    rows_start = print_timings(f"start-up: a new DataLoader's first batch ({args.workers} workers)",
                               startup.values(), baseline="fork")

    loaders = {m: _loader(dataset, m, args.workers, True) for m in methods}
    for loader in loaders.values():  # start the persistent workers
        for _ in loader:
            pass

    def epoch(method):
        def run():
            for _ in loaders[method]:
                pass
        return run

    epochs = time_side_by_side({m: epoch(m) for m in methods}, repeats=args.repeats, warmup=0,
                               units_per_call=len(dataset), unit="clip")
    rows_epoch = print_timings(f"epoch with persistent workers ({len(dataset)} clips, {args.workers} workers)",
                               epochs.values(), baseline="fork")
    r_start = ratio(startup["fork"], startup["forkserver"])
    r_epoch = ratio(epochs["fork"], epochs["forkserver"])
    text = (f"forkserver vs fork: start-up {1 / r_start['speedup']:.2f}x the time "
            f"({startup['forkserver'].median:.2f} s vs {startup['fork'].median:.2f} s), persistent epoch "
            f"{1 / r_epoch['speedup']:.2f}x ({epochs['forkserver'].median:.2f} s vs {epochs['fork'].median:.2f} s); "
            f"spawn start-up {startup['spawn'].median:.2f} s")
    print(f"\n{text}")
    write_results("bench_workers", {"machine": info, "clips": len(dataset), "workers": args.workers,
                                    "forkserver_first_start_s": server_start, "startup": rows_start,
                                    "epoch": rows_epoch, "headline": {"text": text}})
    return 0


if __name__ == "__main__":
    sys.exit(main())
