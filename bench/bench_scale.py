"""iMiGUE at full size (simulated): index build, skeleton forms, the npy store, 8 DataLoader workers, submission.

    python -m bench.bench_scale [--root /tmp/clipmg_imigue_full] [--official-csv labels_20200831.csv]
                                [--steps index forms convert memory submission train] [--quick]
                                [--train-config tiny_demo] [--train-set FIELD=VALUE ...]
    python -m bench --scale        (the same, from the runner)

The root is the full-size simulated iMiGUE of :mod:`clipmg_lib.demo.full_size` (359 videos at their real
lengths, 18,498 clips; generated first if ``--root`` has none: several minutes, outside the checkout).
Each step runs in its own Python process; its wall time and peak RSS (``ru_maxrss`` of that process and its
children, from ``os.wait4``) are measured from outside. Steps:

``index``       ``build_clip_index(root)`` with every check (label CSVs against the official CSV, every
                skeleton's length, every mp4's frame count): seconds and peak RSS.
``forms``       one median-length video's skeleton read from each form (xlsx, light_hand CSV, OpenPose JSON
                folder, converted npy: full read and memory map), seconds per file and per frame; a dataset
                pass = per-frame cost x all frames (the CSV pass is also measured over every video).
``convert``     the one-time conversion into the npy store (2 processes), then the resume run.
``memory``      main + 8 DataLoader workers (``clipmg_lib.core.workers.loader_kwargs(8)``, forkserver) over
                the 13,935 training-subject clips, skeletons only: in memory (parsed once in the parent,
                as ``preload_skeletons`` does; each worker receives its copy) against the npy store
                (memory-mapped). Peak of the SUM over the processes of PSS (proportional set size: shared
                pages counted once in total) and of RSS, sampled every 0.2 s from ``/proc/<pid>/smaps_rollup``.
``submission``  the MiGA submission CSV of the test split (``write_submission_csv``), rows counted back.
``train``       a training run as ``python -m clipmg_lib.runs.train`` makes it (``--train-config``, default
                ``tiny_demo``, with :data:`TRAIN_OVERRIDES` then ``--train-set`` applied), in two processes,
                each with the peak of the summed PSS/RSS of the process and its workers:
                ``train_cache``: the clip index (``runs.train_model.load_index``, every check), the skeleton
                store (``skeleton_store_for``, with ``skeletons=store``) and the feature caches of every split
                (``prepare_caches``), built cold in a cache root of its own (``<cache dir>/bench_scale_train``,
                emptied first): seconds, clip views, bytes, manifest entries and shard files per cache and view.
                ``train_run``: ``runs.train_model.train_model`` on those caches (``epochs`` of the config: one
                by default) with its timings, the epoch's seconds from the metrics, the evaluation of the test
                split alone timed again (``evaluate_split``, what ``train_model`` calls), and its
                ``submission_test.csv`` counted back. Minutes at full size (docs/PERFORMANCE.md section 7).

Results: ``bench/out/bench_scale.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.common import OUT_DIR, REPO_ROOT, print_machine, write_results
from clipmg_lib.core.config import override_argument

DEFAULT_ROOT = Path(os.environ.get("CLIPMG_SCALE_ROOT", Path(tempfile.gettempdir()) / "clipmg_imigue_full"))
STEPS = ("index", "forms", "convert", "memory", "submission", "train")
#: What the ``train`` step changes in its training config (``--train-set`` goes on top): one epoch, the new
#: skeleton store, two DataLoader workers (the machine's cores).
TRAIN_OVERRIDES = {"epochs": 1, "skeletons": "store", "num_workers": 2}
#: Seconds a step may run before it is killed, unless ``--timeout`` says otherwise.
STEP_TIMEOUTS = {"train_cache": 3600, "train_run": 3600}


# ------------------------------------------------------------------------------------------- helpers
def _proc_mem(pid: int) -> tuple[int, int]:
    """(PSS, RSS) in bytes of one process (0, 0 if it is gone)."""
    pss = rss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    pss = int(line.split()[1]) * 1024
                elif line.startswith("Rss:"):
                    rss = int(line.split()[1]) * 1024
    except OSError:
        pass
    return pss, rss


def _descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/task/{p}/children") as f:
                kids = [int(x) for x in f.read().split()]
        except OSError:
            kids = []
        out.extend(kids)
        todo.extend(kids)
    return out


class MemorySampler:
    """Peak of the summed PSS / RSS of this process and all its descendants, sampled in a thread."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval, self.peak_pss, self.peak_rss, self.peak_procs = interval, 0, 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = os.getpid()
        while not self._stop.is_set():
            pids = [me] + _descendants(me)
            mem = [_proc_mem(p) for p in pids]
            pss, rss = sum(m[0] for m in mem), sum(m[1] for m in mem)
            if pss > self.peak_pss:
                self.peak_pss, self.peak_procs = pss, len(pids)
            self.peak_rss = max(self.peak_rss, rss)
            self._stop.wait(self.interval)

    def __enter__(self) -> "MemorySampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def _run_step(step: str, args: argparse.Namespace, extra: list[str] | None = None) -> dict:
    """Run one step in a child process; its JSON result plus wall seconds and peak RSS from wait4."""
    cmd = [sys.executable, "-m", "bench.bench_scale", "--step", step, "--root", str(args.root)] + (extra or [])
    if args.quick:
        cmd.append("--quick")
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "HF_HUB_OFFLINE": "1", "CLIPMG_PROGRESS": "summary"})
    timeout = args.timeout or STEP_TIMEOUTS.get(step, 900)
    timer = threading.Timer(timeout, proc.kill)  # nothing hangs: past the deadline the step is killed
    timer.start()
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)  # the child's own peak RSS (ru_maxrss, KiB on Linux)
    proc.returncode = os.waitstatus_to_exitcode(status)
    timer.cancel()
    wall = time.perf_counter() - t0
    maxrss_kb = usage.ru_maxrss
    lines = [line for line in out.splitlines() if line.startswith("{")]
    result = json.loads(lines[-1]) if lines else {"error": f"exit {proc.returncode}, no result"}
    return {"step": step, "wall_seconds": round(wall, 2), "process_peak_rss_mb": round(maxrss_kb / 1024, 1),
            "rc": proc.returncode, **result}


# --------------------------------------------------------------------------------------------- steps
def step_index(root: Path, quick: bool) -> dict:
    import resource

    from clipmg_lib.data.clip_index import build_clip_index, index_summary

    t0, c0 = time.perf_counter(), time.process_time()
    index = build_clip_index(root, progress=False, on_bad_data="skip")
    secs, cpu = time.perf_counter() - t0, time.process_time() - c0
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"seconds": round(secs, 2), "cpu_seconds_main": round(cpu, 2),
            "cpu_seconds_workers": round(children.ru_utime + children.ru_stime, 2), "clips": len(index), "videos": int(index.video.nunique()),
            "skipped": len(index.attrs["skipped"]),
            "per_split": index.split.value_counts().to_dict(),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "summary": index_summary(index).to_dict(orient="records")}


def step_forms(root: Path, quick: bool) -> dict:
    import numpy as np

    from clipmg_lib.data.release_files import ReleaseFiles
    from clipmg_lib.data.skeleton import Skeleton
    from clipmg_lib.data.skeleton_io import read_light_hand_csv, read_openpose_json_dir, read_openpose_xlsx
    from clipmg_lib.data.skeleton_store import SkeletonStore, convert_skeletons, store_dir

    m = json.loads((root / "full_size_manifest.json").read_text())
    layout = ReleaseFiles(root)
    frames = {v["video"]: v["num_frames"] for v in m["videos"]}
    total_frames = sum(frames.values())
    out: dict = {"total_frames": total_frames, "files": {}}

    def timed(form: str, vid: int, fn) -> None:
        t0, c0 = time.perf_counter(), time.process_time()
        sk = fn()
        secs, cpu = time.perf_counter() - t0, time.process_time() - c0
        n = frames[vid]
        assert sk.num_frames == n, (form, sk.num_frames, n)
        out["files"][form] = {"video": vid, "frames": n, "seconds": round(secs, 3), "cpu_seconds": round(cpu, 3),
                              "us_per_frame": round(1e6 * secs / n, 2),
                              "dataset_pass_seconds_estimated": round(secs / n * total_frames, 1)}

    if m["xlsx_videos"]:
        vid = m["xlsx_videos"][0]
        timed("xlsx", vid, lambda: read_openpose_xlsx(layout.openpose_xlsx(vid)))
        timed("light_hand_csv (same video)", vid, lambda: read_light_hand_csv(layout.light_hand_csv(vid)))
    if m["json_videos"]:
        vid = m["json_videos"][0]
        timed("openpose_json_folder", vid, lambda: read_openpose_json_dir(layout.openpose_json_dir(vid)))
    vid = (m["xlsx_videos"] or m["json_videos"] or [m["videos"][0]["video"]])[0]
    store = store_dir(root)
    convert_skeletons(root, store, videos=[vid], progress=False)
    st = SkeletonStore(store)
    timed("npy (np.load, full read)", vid, lambda: Skeleton(np.load(store / f"{vid:04d}.npy", allow_pickle=False),
                                                           st.meta(vid)["layout"]))
    timed("npy (memory map)", vid, lambda: st.skeleton(vid))
    # a measured dataset pass over every video's light_hand CSV
    vids = sorted(frames) if not quick else sorted(frames)[:20]
    t0, c0 = time.perf_counter(), time.process_time()
    n = 0
    for v in vids:
        n += read_light_hand_csv(layout.light_hand_csv(v)).num_frames
    secs, cpu = time.perf_counter() - t0, time.process_time() - c0
    out["csv_pass_measured"] = {"videos": len(vids), "frames": n, "seconds": round(secs, 1), "cpu_seconds": round(cpu, 1),
                                "us_per_frame": round(1e6 * secs / n, 2)}
    return out


def step_convert(root: Path, quick: bool) -> dict:
    import shutil

    from clipmg_lib.data.skeleton_store import convert_skeletons, store_dir

    out = store_dir(root)
    if out.exists():
        shutil.rmtree(out)
    first = convert_skeletons(root, out, workers=2, progress=False)
    again = convert_skeletons(root, out, workers=2, progress=False)
    size = sum(p.stat().st_size for p in out.glob("*.npy"))
    return {"store": str(out), "first": first, "resume": again, "store_gb": round(size / 1e9, 3)}


def _memory_run(root: Path, use_store: bool, batches: int | None) -> dict:
    import numpy as np
    import torch

    from clipmg_lib.core.workers import loader_kwargs
    from clipmg_lib.data.clip_index import build_clip_index
    from clipmg_lib.data.dataset import ClipDataset, collate_clips
    from clipmg_lib.data.skeleton_store import SkeletonStore, store_dir

    index = build_clip_index(root, check_lengths=False, progress=False)
    train = index[index.split != "test"].reset_index(drop=True)
    store = SkeletonStore(store_dir(root)) if use_store else None
    ds = ClipDataset(train, root, load_frames=False, mode="train", skeleton_store=store)
    with MemorySampler() as mem:
        t0 = time.perf_counter()
        if not use_store:
            ds.preload_skeletons(progress=False)  # parsed once here; each worker then receives its copy
        preload = time.perf_counter() - t0
        loader = torch.utils.data.DataLoader(ds, batch_size=32, shuffle=True, collate_fn=collate_clips,
                                             **loader_kwargs(8))
        t1 = time.perf_counter()
        n = 0
        for i, batch in enumerate(loader):
            n += len(batch["sample_id"])
            if batches is not None and i + 1 >= batches:
                break
        epoch = time.perf_counter() - t1
        del loader
    return {"store": use_store, "clips": n, "of": len(train), "preload_seconds": round(preload, 1),
            "loader_seconds": round(epoch, 1), "peak_sum_pss_gb": round(mem.peak_pss / 1e9, 3),
            "peak_sum_rss_gb": round(mem.peak_rss / 1e9, 3), "processes_at_peak": mem.peak_procs,
            "start_method": loader_kwargs(8).get("multiprocessing_context").get_start_method()
            if loader_kwargs(8).get("multiprocessing_context") is not None else "default"}


def step_memory(root: Path, quick: bool, variant: str = "store") -> dict:
    return _memory_run(root, variant == "store", 20 if quick else None)


def step_submission(root: Path, quick: bool) -> dict:
    import numpy as np

    from clipmg_lib.data.clip_index import build_clip_index
    from clipmg_lib.data.export import read_submission_csv, write_submission_csv

    index = build_clip_index(root, check_lengths=False, progress=False)
    test = index[index.split == "test"]
    train = index[index.split != "test"]
    majority = int(train.label.value_counts().idxmax())  # the writer is measured here, not a model
    path = OUT_DIR / "scale_submission_test.csv"
    t0 = time.perf_counter()
    write_submission_csv(path, test.sample_id, np.full(len(test), majority))
    secs = time.perf_counter() - t0
    sub = read_submission_csv(path)
    return {"test_clips": len(test), "rows": len(sub), "unique_ids": int(sub.Id.nunique()),
            "ids_match_test_split": set(sub.Id) == set(test.sample_id), "seconds": round(secs, 3), "path": str(path)}


# ---------------------------------------------------------------------------------------- training
def _train_setup(root: Path, train_config: str, train_set: list[tuple[str, object]]):
    from clipmg_lib.core.paths import cache_dir
    from clipmg_lib.train.config import load_train_config

    overrides = {**TRAIN_OVERRIDES, **dict(train_set)}
    config = load_train_config(train_config, overrides)
    return config, overrides, cache_dir() / "bench_scale_train", OUT_DIR / "scale_train"


def _tree_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _cache_summary(cache) -> dict:
    """One feature cache: its folder, bytes, manifest entries (clips) and, per view, shard files and clips."""
    m = cache.manifest()
    views = {}
    for view in sorted(m["views"]):
        folder = cache.folder / view
        views[view] = {"shards": len(list(folder.glob("shard-*.done.json"))),
                       "array_files": len(list(folder.glob("*-[0-9]*.npy"))), "clip_views": len(cache)}
    return {"folder": cache.folder.name, "bytes": _tree_bytes(cache.folder), "manifest_entries": len(m["sample_ids"]),
            "shard_size": m["shard_size"], "views": views}


def step_train_cache(root: Path, quick: bool, train_config: str = "tiny_demo", train_set=()) -> dict:
    import shutil

    from clipmg_lib.runs.train_model import create_model_for, load_index, prepare_caches, skeleton_store_for

    config, overrides, cache_root, _ = _train_setup(root, train_config, list(train_set))
    if cache_root.exists():
        shutil.rmtree(cache_root)  # cold: what a first run on this root does
    out: dict = {"train_config": train_config, "overrides": overrides}
    with MemorySampler() as mem:
        t0 = time.perf_counter()
        index = load_index(root, config.on_bad_data)
        t1 = time.perf_counter()
        store = skeleton_store_for(config, index, root, cache_root, progress=False)
        t2 = time.perf_counter()
        model = create_model_for(config)
        caches = prepare_caches(model, index, config, root, cache_root, progress=False)
        t3 = time.perf_counter()
    out.update({"index_seconds": round(t1 - t0, 1), "store_seconds": round(t2 - t1, 1),
                "store_gb": round(_tree_bytes(store.dir) / 1e9, 3) if store is not None else None,
                "cache_seconds": round(t3 - t2, 1), "clips_per_split": index.split.value_counts().to_dict(),
                "peak_sum_pss_gb": round(mem.peak_pss / 1e9, 3), "peak_sum_rss_gb": round(mem.peak_rss / 1e9, 3),
                "processes_at_peak": mem.peak_procs, "splits": {}})
    for split, c in caches.items():
        out["splits"][split] = {"clips": len(c.index), "views": c.views,
                                "clip_views": len(c.index) * len(c.views),
                                "tokens": _cache_summary(c.tokens) if c.tokens is not None else None,
                                "pose": _cache_summary(c.pose) if c.pose is not None else None}
    out["clip_views"] = sum(s["clip_views"] for s in out["splits"].values())
    out["cache_bytes"] = sum((s["tokens"] or {}).get("bytes", 0) + (s["pose"] or {}).get("bytes", 0)
                             for s in out["splits"].values())
    return out


def step_train_run(root: Path, quick: bool, train_config: str = "tiny_demo", train_set=()) -> dict:
    import shutil

    import numpy as np

    from clipmg_lib.data.export import read_submission_csv
    from clipmg_lib.runs.train_model import evaluate_split, train_model
    from clipmg_lib.train.trainer import cpu_threads

    config, overrides, cache_root, out_dir = _train_setup(root, train_config, list(train_set))
    if out_dir.exists():
        shutil.rmtree(out_dir)  # train, not resume
    with MemorySampler() as mem:
        t0 = time.perf_counter()
        result = train_model(config, root, out_dir, cache_root, resume=False, progress=False)
        total = time.perf_counter() - t0
        t1 = time.perf_counter()
        with cpu_threads(config, next(result.model.parameters()).device):  # as inside train_model
            test = evaluate_split(result.model, result.caches[config.test_split], config)
        test_eval = time.perf_counter() - t1
    history = result.history.to_dict(orient="records")
    sub = read_submission_csv(out_dir / f"submission_{config.test_split}.csv")
    test_ids = result.caches[config.test_split].sample_ids
    clips = {s: len(c.index) for s, c in result.caches.items()}
    return {"train_config": train_config, "overrides": overrides, "out_dir": str(out_dir),
            "train_model_seconds": round(total, 1), "timings": result.timings,
            "epochs": [{k: row[k] for k in ("epoch", "seconds", "train_loss", "val_top1") if k in row}
                       for row in history],
            "clips": clips, "trained_on": {"split": config.train_split, "clips": clips.get(config.train_split)},
            "validated_on": {"split": config.val_split, "clips": clips.get(config.val_split)},
            "test_eval_seconds": round(test_eval, 1), "test_eval_clips": len(test.labels),
            "test_eval_same_predictions": bool(np.array_equal(test.predicted,
                                                              result.predictions[config.test_split].predicted)),
            "reports": result.reports,
            "submission": {"rows": len(sub), "unique_ids": int(sub.Id.nunique()),
                           "ids_match_test_split": set(sub.Id) == set(test_ids)},
            "peak_sum_pss_gb": round(mem.peak_pss / 1e9, 3), "peak_sum_rss_gb": round(mem.peak_rss / 1e9, 3),
            "processes_at_peak": mem.peak_procs}


# ---------------------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", type=Path, default=DEFAULT_ROOT)
    ap.add_argument("--official-csv", default=None, help="labels_20200831.csv for the root (else a statistical copy)")
    ap.add_argument("--steps", nargs="*", choices=STEPS, default=list(STEPS))
    ap.add_argument("--step", choices=[*STEPS, "train_cache", "train_run"], help=argparse.SUPPRESS)  # child mode
    ap.add_argument("--variant", choices=["memory", "store"], default="store", help=argparse.SUPPRESS)
    ap.add_argument("--quick", action="store_true", help="fewer batches / videos")
    ap.add_argument("--train-config", default="tiny_demo", help="training config of the train step")
    ap.add_argument("--train-set", action="append", type=override_argument, default=[], metavar="FIELD=VALUE",
                    help=f"override of the train step's config, on top of {TRAIN_OVERRIDES} (repeatable)")
    ap.add_argument("--timeout", type=float, default=None,
                    help=f"seconds per step before it is killed (default 900; {STEP_TIMEOUTS})")
    args = ap.parse_args(argv)

    if args.step:  # child: one step, one JSON line on stdout
        fn = {"index": step_index, "forms": step_forms, "convert": step_convert, "submission": step_submission}
        if args.step == "memory":
            res = step_memory(args.root, args.quick, args.variant)
        elif args.step in ("train_cache", "train_run"):
            train = step_train_cache if args.step == "train_cache" else step_train_run
            res = train(args.root, args.quick, args.train_config, args.train_set)
        else:
            res = fn[args.step](args.root, args.quick)
        print(json.dumps(res, default=str), flush=True)
        return 0

    print("# iMiGUE at full size (simulated): index, skeleton forms, npy store, 8 workers, submission, training")
    print_machine()
    if not (args.root / "full_size_manifest.json").exists():
        from clipmg_lib.demo.full_size import generate_full_size

        print(f"generating the full-size root at {args.root} (once; outside the checkout)", flush=True)
        generate_full_size(args.root, args.official_csv, videos="tiny", workers=2)
    manifest = json.loads((args.root / "full_size_manifest.json").read_text())
    results = {"root": str(args.root), "generation": {k: v for k, v in manifest.items() if k != "videos"}}
    for step in args.steps:
        if step == "memory":
            for variant in ("memory", "store"):
                r = _run_step(step, args, ["--variant", variant])
                results[f"memory_{variant}"] = r
                print(json.dumps(r, indent=1, default=str), flush=True)
            continue
        if step == "train":
            extra = ["--train-config", args.train_config] + [f"--train-set={k}={json.dumps(v)}" for k, v in args.train_set]
            for part in ("train_cache", "train_run"):
                r = _run_step(part, args, extra)
                results[part] = r
                print(json.dumps(r, indent=1, default=str), flush=True)
                if r.get("rc"):
                    break  # no run without its caches
            continue
        r = _run_step(step, args)
        results[step] = r
        print(json.dumps(r, indent=1, default=str), flush=True)
    head = []
    if "index" in results:
        head.append(f"index {results['index'].get('seconds')} s")
    if "memory_store" in results and "memory_memory" in results:
        head.append(f"8 workers PSS {results['memory_memory'].get('peak_sum_pss_gb')} -> "
                    f"{results['memory_store'].get('peak_sum_pss_gb')} GB")
    if "submission" in results:
        head.append(f"submission {results['submission'].get('rows')} rows")
    if "train_cache" in results:
        head.append(f"caches {results['train_cache'].get('clip_views')} clip views in "
                    f"{results['train_cache'].get('cache_seconds')} s")
    if "train_run" in results:
        r = results["train_run"]
        head.append(f"epoch {(r.get('epochs') or [{}])[0].get('seconds')} s, test eval {r.get('test_eval_seconds')} s, "
                    f"submission {(r.get('submission') or {}).get('rows')} rows")
    results["headline"] = {"text": "; ".join(head)}
    write_results("bench_scale", results)
    print("[scale] " + results["headline"]["text"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
