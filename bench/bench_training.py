"""Training epoch time: the frozen-CLIP feature cache against re-encoding frames every epoch (ViT-B-16).

Both contenders train the same CLIP-MG model (``clipmg_vitb16``: the paper's ViT-B/16 tower at 224 px,
built without weights - weights do not change the time) with the kit's own ``Trainer`` (AdamW, cosine,
clipping) on the same training clips of the demo dataset, one full epoch each, interleaved round by round:

- ``re-encode every epoch`` (the naive way): each epoch decodes the clips' frames from the videos
  (``FrameClipDataset``, as a run whose backbone trains does), draws the pose heatmaps, and calls
  ``model(frames=..., heatmap=...)``, which runs the frozen ViT on every frame again;
- ``feature cache``: the kit's way - ``build_split_caches`` encodes each clip's frames once (timed
  separately: the one-off cost), then every epoch reads the float16 tokens memory-mapped
  (``CachedClipDataset``), draws the heatmaps, and calls ``model(tokens=..., heatmap=...)``;
- ``feature cache + 2 workers``: the same with ``num_workers=2`` DataLoader worker processes.

The frozen-ViT forward is ~35 GFLOP per frame, which a 2-core CPU runs at ~1-2 frames/s; so the subset is
4 clips x 8 frames by default (``--clips``; 16 with ``--clips 16`` takes ~4x longer). Per-clip ratios hardly depend on the subset size (the
naive epoch is linear in clips; the cached epoch has a small fixed cost, so small subsets understate it).

    .venv/bin/python -m bench.bench_training [--clips 8 --repeats 3 --quick]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

from bench.common import (count_flops, print_machine, print_timings, ratio, set_cpu_threads, time_side_by_side,
                          write_results)


def flop_budget(model, cached_set) -> dict:
    """FLOPs per clip of the frozen encode (what re-encoding repeats) and of one training step of the rest;
    ``ceiling`` is their FLOP ratio (naive / cached), a guide rather than a bound on the time ratio."""
    s, t = model.image_size, model.cfg.num_frames
    frames = torch.randn(1, t, 3, s, s)
    item = torch.utils.data.default_collate([cached_set[0]])
    with torch.no_grad():
        encode = count_flops(lambda: model.encode_frames(frames))

    def step():
        out = model(tokens=item["tokens"], heatmap=item["heatmap"])
        out["logits"].float().sum().backward()

    model.train()
    train_step = count_flops(step)
    model.zero_grad(set_to_none=True)
    return {"encode": encode, "train_step": train_step, "ceiling": (encode + train_step) / train_step}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="clipmg_vitb16", help="model config (ViT-B-16: the paper's size)")
    ap.add_argument("--clips", type=int, default=4, help="training clips in the subset")
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=3, help="timed epochs per contender (interleaved)")
    ap.add_argument("--dataset-root", default=None, help="default: the demo dataset (generated if absent)")
    ap.add_argument("--quick", action="store_true", help="2 clips, 2 rounds (a smoke run)")
    ap.add_argument("--threads", type=int, default=None,
                    help="torch intra-op threads; default: the cores other jobs leave free (cores - load average, "
                         "at least 1): OpenMP threads sharing a core with another job stall at barriers")
    args = ap.parse_args(argv)
    set_cpu_threads(args.threads)
    if args.quick:
        args.clips, args.repeats = 2, 2

    from clipmg_lib.model.factory import create_model
    from clipmg_lib.model.inputs import input_pipelines
    from clipmg_lib.core.paths import dataset_root
    from clipmg_lib.train.cached_dataset import CachedClipDataset
    from clipmg_lib.train.config import TrainConfig
    from clipmg_lib.train.features import build_split_caches
    from clipmg_lib.train.frame_dataset import FrameClipDataset
    from clipmg_lib.runs.train_model import load_index
    from clipmg_lib.train.trainer import Trainer

    print("# bench_training: epoch time, feature cache vs re-encoding frames every epoch")
    print_machine()
    root = dataset_root(args.dataset_root)
    if not root.exists():
        from clipmg_lib.demo.generate import main as make_demo
        make_demo(["--out", str(root)])
    index = load_index(root)
    train = index[index["split"] == "train"]
    train = train.sample(n=min(args.clips, len(train)), random_state=0).reset_index(drop=True)

    t0 = time.perf_counter()
    model = create_model(args.model, pretrained=None)
    build_s = time.perf_counter() - t0
    print(f"model {args.model} built in {build_s:.1f} s (no weights); {len(train)} training clips x "
          f"{model.cfg.num_frames} frames at {model.image_size} px, batch {args.batch_size}, "
          f"{torch.get_num_threads()} torch threads")

    base = TrainConfig(model=args.model, model_overrides={"pretrained": None}, epochs=1000, batch_size=args.batch_size,
                       device="cpu", num_workers=0, precise_bn_batches=0, train_views=1, amp="off",
                       cache_batch_size=args.batch_size)
    with tempfile.TemporaryDirectory(prefix="bench_training_") as tmp:
        tmp = Path(tmp)
        # the one-off cost of the cache: encode every clip's frames once (one view)
        t0 = time.perf_counter()
        c0 = time.process_time()
        caches = build_split_caches(model, train, root, ["random0"], tmp / "cache", seed=0,
                                    batch_size=args.batch_size, progress=False)
        cache_s, cache_cpu = time.perf_counter() - t0, time.process_time() - c0
        tok = caches.tokens.view("random0").column("tokens")
        print(f"feature cache built in {cache_s:.1f} s ({cache_cpu:.1f} s CPU): tokens {tok.shape} {tok.dtype}, "
              f"{tok[0].nbytes / 1e6:.2f} MB per clip view")

        pipelines = input_pipelines(model.cfg)
        cached_set = CachedClipDataset(caches, ["random0"], mode="train", seed=0, pose_pipeline=pipelines.train)
        # the kit's own decode-every-access path (what a run with a training backbone uses): frames decoded,
        # CLIP-normalised and re-encoded by the frozen ViT in the model's forward, every epoch
        naive_set = FrameClipDataset(train, root, pipelines.num_frames, model.image_size, model.mean, model.std,
                                     mode="train", seed=0, pose_pipeline=pipelines.train)
        trainers = {
            "re-encode every epoch (naive)": Trainer(model, base.replace(input_keys=("frames", "heatmap")),
                                                     tmp / "naive", naive_set, show_progress=False),
            "feature cache": Trainer(model, base, tmp / "cached", cached_set, show_progress=False),
            "feature cache + 2 workers": Trainer(model, base.replace(num_workers=2), tmp / "cached_w",
                                                 cached_set, show_progress=False),
        }
        epochs = {name: iter(range(10_000)) for name in trainers}

        def epoch_of(name: str):
            return lambda: trainers[name].train_one_epoch(next(epochs[name]))

        # warm-up: one batch through each path (allocators, oneDNN kernels, first decode)
        with torch.no_grad():
            batch = torch.utils.data.default_collate([naive_set[0]])
            model(frames=batch["frames"], heatmap=batch["heatmap"])
            batch = torch.utils.data.default_collate([cached_set[0]])
            model(tokens=batch["tokens"], heatmap=batch["heatmap"])
        timings = time_side_by_side({n: epoch_of(n) for n in trainers}, repeats=args.repeats, warmup=0,
                                    units_per_call=len(train), unit="clip")
        flops = flop_budget(model, cached_set)
    rows = print_timings(f"one training epoch of {args.model} ({len(train)} clips x {model.cfg.num_frames} frames)",
                         timings.values(), baseline="re-encode every epoch (naive)")
    naive, cached = timings["re-encode every epoch (naive)"], timings["feature cache"]
    head = ratio(naive, cached)
    workers = ratio(cached, timings["feature cache + 2 workers"])
    # amortisation: the cache costs about one naive epoch per cached view, once, for every run and ablation
    per_clip_cache = cache_s / len(train)
    break_even = per_clip_cache / max(naive.per_unit - cached.per_unit, 1e-9)
    print(f"\nFLOPs per clip: frozen ViT encode {flops['encode'] / 1e9:.0f} G (8 frames), trainable part forward + "
          f"backward {flops['train_step'] / 1e9:.1f} G: re-encoding does {flops['ceiling']:.1f}x the FLOPs of a cached "
          "epoch; the time ratio also depends on how efficiently each path runs (large GEMMs vs small 3D convs).")
    print(f"headline: a cached epoch is {head['speedup']:.1f}x faster than re-encoding (CPU time {head['cpu_speedup']:.1f}x; "
          f"goal >= 20x; FLOP ratio {flops['ceiling']:.1f}x); 2 DataLoader workers change the cached epoch by "
          f"{workers['speedup']:.2f}x on this 2-core machine.")
    load = os.getloadavg()[0]
    if load > (os.cpu_count() or 1) and torch.get_num_threads() > 1:  # only when --threads forced it
        print(f"note: load average {load:.1f} on {os.cpu_count()} cores. Multi-threaded torch stalls at OpenMP barriers "
              "when other jobs hold the cores, and the cached epoch (many small ops) suffers most: "
              "rerun with --threads 1 for a figure that reflects the work rather than the contention.")
    print(f"one-off cache cost {per_clip_cache:.2f} s per clip view (~{break_even:.1f} naive epochs); with K cached "
          "training views the cache pays for itself after ~K epochs of one run, and every ablation reuses it.")
    write_results("bench_training", {"model": args.model, "clips": len(train), "batch_size": args.batch_size,
                                     "cache_build_s": cache_s, "cache_build_cpu_s": cache_cpu,
                                     "token_bytes_per_clip_view": int(tok[0].nbytes), "model_build_s": build_s,
                                     "timings": rows, "flops_per_clip": flops,
                                     "headline": {"name": "epoch: feature cache vs re-encoding (ViT-B-16)", **head},
                                     "workers": workers})
    return 0


if __name__ == "__main__":
    sys.exit(main())
