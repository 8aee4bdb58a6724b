"""Run every benchmark of the kit in turn and print a summary: ``make bench`` = ``python -m bench``.

Each benchmark runs in its own Python process (``python -m bench.<module>``), so torch thread pools,
decoder caches and memory of one never colour the next, and a failure in one is reported without
stopping the others. Inputs they need (the long test video, its proxy, the demo dataset) are generated
on the first run and cached under ``bench/out/``. Each module prints its own tables (medians of
interleaved rounds, side-by-side speed-ups) and writes ``bench/out/<module>.json``; this runner ends with
the headline ratio of each.

    .venv/bin/python -m bench [--only video training] [--quick] [--run-chain] [--scale] [--timeout 600]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from bench.common import BENCH_DIR, OUT_DIR, REPO_ROOT, print_machine

#: (short name, module, one line saying what it compares); run in this order.
BENCHMARKS = [
    ("video", "bench.bench_video", "clip frame sampling: ClipReader vs naive OpenCV on a 10-min 720p video"),
    ("pose", "bench.bench_pose", "pose extraction FPS (mediapipe) and heatmap volumes vs a per-joint loop"),
    ("training", "bench.bench_training", "epoch time: frozen-CLIP feature cache vs re-encoding frames (ViT-B-16)"),
    ("inference", "bench.bench_inference", "clips/s of the full model (tiny and ViT-B-16; GPU bf16 + MFU if any)"),
    ("workers", "bench.bench_workers", "DataLoader worker start-up and persistent epoch: fork vs forkserver vs spawn"),
    ("spotting", "bench.bench_spotting", "spotting a long 720p video: token store vs naive windows; frames/s vs real time"),
    ("chain", "bench.bench_chain", "demo chain wall time per notebook"),
    ("scale", "bench.bench_scale", "iMiGUE at full size (simulated): index, skeleton forms, npy store, 8 workers, tiny training"),
]
#: benchmarks run only when asked for (--scale or --only NAME): they need minutes and gigabytes of disk.
ON_REQUEST = {"scale"}
#: benchmarks that accept --quick (all of them, bench_pose included).
COMMON_FLAGS = {"video", "pose", "training", "inference", "workers", "spotting", "chain", "scale"}


def _headline(name: str) -> str:
    path = OUT_DIR / f"bench_{name}.json"
    if not path.exists():
        return ""
    try:
        h = json.loads(path.read_text()).get("headline")
    except (OSError, json.JSONDecodeError):
        return f"(unreadable {path.name})"
    if not h:
        return ""
    if "speedup" in h:
        return f"{h.get('name', '')}: {h['speedup']:.1f}x [{h['per_round_min']:.1f}-{h['per_round_max']:.1f}]"
    return str(h.get("text", h))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="*", choices=[b[0] for b in BENCHMARKS], help="run only these")
    ap.add_argument("--quick", action="store_true", help="smoke run: fewer clips and rounds")
    ap.add_argument("--run-chain", action="store_true",
                    help="bench_chain runs the demo chain into a temp folder instead of reading results/")
    ap.add_argument("--timeout", type=float, default=600, help="seconds allowed to each benchmark")
    ap.add_argument("--scale", action="store_true",
                    help="also run bench_scale: the full-size simulated iMiGUE (generated once under $CLIPMG_SCALE_ROOT)")
    args = ap.parse_args(argv)

    OUT_DIR.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "HF_HUB_OFFLINE": os.environ.get("HF_HUB_OFFLINE", "1"), "PYTHONUNBUFFERED": "1"}
    print("# CLIP-MG kit benchmarks (each a side-by-side comparison in one run; medians of interleaved rounds)")
    print_machine()
    summary = []
    t_all = time.perf_counter()
    for name, module, what in BENCHMARKS:
        if args.only and name not in args.only:
            continue
        if name in ON_REQUEST and not args.scale and not (args.only and name in args.only):
            continue
        print(f"\n{'=' * 100}\n[bench] {name}: {what}\n{'=' * 100}", flush=True)
        if not (BENCH_DIR / f"{module.split('.')[-1]}.py").exists():
            print(f"[bench] {name}: skipped, {module.replace('.', '/')}.py is not in this checkout")
            summary.append((name, "skipped", 0.0, "module not present"))
            continue
        cmd = [sys.executable, "-m", module]
        if name in COMMON_FLAGS and args.quick:
            cmd.append("--quick")
        if name == "chain" and args.run_chain:
            cmd.append("--run-chain")
        # running the demo chain takes 10-15 min on a 2-core CPU: more than one benchmark's usual allowance
        timeout = max(args.timeout, 2400) if name == "chain" and args.run_chain else args.timeout
        timeout = max(timeout, 3600) if name == "scale" else timeout  # generation + five steps at full size
        t0 = time.perf_counter()
        try:
            rc = subprocess.run(cmd, cwd=REPO_ROOT, env=env, timeout=timeout).returncode
            status = "ok" if rc == 0 else f"failed (exit {rc})"
        except subprocess.TimeoutExpired:
            status = f"timed out after {timeout:.0f} s"
        secs = time.perf_counter() - t0
        summary.append((name, status, secs, _headline(name)))

    print(f"\n{'=' * 100}\n[bench] summary (total {time.perf_counter() - t_all:.0f} s)")
    for name, status, secs, head in summary:
        print(f"  {name:<10} {status:<22} {secs:6.0f} s  {head}")
    return 0 if all(s in ("ok", "skipped") for _, s, _, _ in summary) else 1


if __name__ == "__main__":
    sys.exit(main())
