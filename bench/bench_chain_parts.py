"""Where the demo chain's time goes, and what its two speed-ups buy, side by side in one run.

The chain (notebooks 01-10 on the default demo) ran 957 s on a fresh clone of this 2-core machine, over its
15-minute budget. Per-cell durations (papermill's metadata in the executed notebooks) put the time in: the
ablations of notebook 08 (one run after another, ~90% of 08), the token and skeleton caches of 06 and 07
(decode and encode in turn), and each kernel's first figure (kaleido starting a browser: 7-10 s wall, ~2.6 s
CPU, in each of the 10 kernels). Each part is timed here against the way it was done before:

- ``ablations``: :func:`clipmg_lib.train.run_ablations` with ``parallel=1`` (one run after another) vs the
  default (``parallel_runs``: 2 worker processes on 2 cores, 1 thread each), the same variants and epochs
  on caches built beforehand; the two tables must be equal number for number.
- ``first figure``: the wait of a fresh process's first :func:`clipmg_lib.viz.save.save_figure` after
  ``--busy`` seconds of other work, with kaleido's browser started in the background on import (what a
  notebook kernel does) vs at that first figure.

    .venv/bin/python -m bench.bench_chain_parts [--dataset-root data/demo] [--epochs 2 --repeats 2 --busy 8 --quick]
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import OUT_DIR, REPO_ROOT, Timing, print_machine, print_timings, ratio, time_side_by_side, \
    write_results

_FIRST_FIGURE = """
import sys, time
from clipmg_lib.viz import save as plots
import plotly.graph_objects as go
if sys.argv[1] == "warm":
    plots.warm_png_export()
time.sleep(float(sys.argv[2]))  # the notebook's work before its first figure
t0 = time.perf_counter()
html = plots.save_figure(go.Figure(go.Bar(y=[1, 3, 2])), sys.argv[3], "first", png=True)
print("FIRST_SAVE_S", time.perf_counter() - t0)
"""


def bench_ablations(root: Path, epochs: int, work: Path) -> tuple[list[dict], str]:
    import pandas as pd

    from clipmg_lib.runs import DEFAULT_VARIANTS, load_index, prepare_caches, run_ablations
    from clipmg_lib.runs.ablation import parallel_runs
    from clipmg_lib.runs.train_model import create_model_for
    from clipmg_lib.train import load_train_config

    cfg = load_train_config("tiny_demo", epochs=epochs)
    cache = work / "ablation_cache"
    t0 = time.perf_counter()
    prepare_caches(create_model_for(cfg), load_index(root), cfg, root, cache, progress=False)  # notebook 06's part
    print(f"\ncaches of the ablations built in {time.perf_counter() - t0:.1f} s (untimed below)")
    n = parallel_runs(cfg, len(DEFAULT_VARIANTS))
    tables = {}
    contenders = {"one at a time": 1, f"{n} at a time": n}

    def run(name: str):
        def call():
            tables[name] = run_ablations(cfg, DEFAULT_VARIANTS, root, work / name.replace(" ", "_"), cache,
                                         progress=False, parallel=contenders[name])
        return call

    timings = time_side_by_side({k: run(k) for k in contenders}, repeats=1, warmup=0,
                                units_per_call=len(DEFAULT_VARIANTS), unit="variant")
    rows = print_timings(f"notebook 08's ablations: {len(DEFAULT_VARIANTS)} variants x {epochs} epochs, tiny_demo",
                         timings.values(), baseline="one at a time")
    cols = ["variant", "top1", "top5", "mean_class_acc", "val_top1", "trainable_params"]
    a, b = (tables[k][cols] for k in contenders)
    pd.testing.assert_frame_equal(a, b)
    r = ratio(timings["one at a time"], timings[f"{n} at a time"])
    text = (f"ablations {r['speedup']:.2f}x with {n} runs at a time ({timings[f'{n} at a time'].median:.1f} s vs "
            f"{timings['one at a time'].median:.1f} s; tables equal)")
    print(text)
    return rows, text


def bench_first_figure(busy: float, repeats: int, work: Path) -> tuple[list[dict], str]:
    waits: dict[str, list[float]] = {"at first figure": [], "warm on import": []}
    for r in range(repeats):
        for name in (list(waits) if r % 2 == 0 else list(waits)[::-1]):
            out = subprocess.run([sys.executable, "-c", _FIRST_FIGURE, "warm" if name.startswith("warm") else "cold",
                                  str(busy), str(work / f"fig-{r}")], capture_output=True, text=True,
                                 cwd=REPO_ROOT, timeout=300)
            line = [ln for ln in out.stdout.splitlines() if ln.startswith("FIRST_SAVE_S")]
            if out.returncode or not line:
                raise RuntimeError(f"first-figure child failed:\n{out.stderr[-2000:]}")
            waits[name].append(float(line[0].split()[1]))
    timings = {n: Timing(n, s, unit="first figure") for n, s in waits.items()}
    rows = print_timings(f"a process's first save_figure (HTML + PNG) after {busy:g} s of other work",
                         timings.values(), baseline="at first figure")
    text = (f"first figure {timings['warm on import'].median:.2f} s with the browser started on import vs "
            f"{timings['at first figure'].median:.2f} s (per kernel; 10 kernels in the chain)")
    print(text)
    return rows, text


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=2, help="epochs per ablation run")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--busy", type=float, default=8.0, help="seconds of work before the first figure")
    ap.add_argument("--dataset-root", default=None, help="the demo dataset (default: data/demo)")
    ap.add_argument("--only", nargs="*", choices=["first_figure", "ablations"], default=None)
    ap.add_argument("--quick", action="store_true", help="1 epoch, 1 round")
    args = ap.parse_args(argv)
    if args.quick:
        args.epochs, args.repeats = 1, 1
    parts = args.only or ["first_figure", "ablations"]
    from clipmg_lib.core.paths import dataset_root

    info = print_machine()
    root = dataset_root(args.dataset_root)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    results: dict = {"machine": info, "args": vars(args)}
    texts = []
    with tempfile.TemporaryDirectory(dir=OUT_DIR, prefix="chain_parts-") as tmp:
        work = Path(tmp)
        if "first_figure" in parts:
            results["first_figure"], text = bench_first_figure(args.busy, max(args.repeats, 2), work)
            texts.append(text)
        if "ablations" in parts:
            results["ablations"], text = bench_ablations(root, args.epochs, work)
            texts.append(text)
    results["headline"] = {"text": "; ".join(texts)}
    write_results("bench_chain_parts", results)
    print("\n" + results["headline"]["text"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
