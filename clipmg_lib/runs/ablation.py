"""The ablation runner: the full model and each ablation trained with the same seed, data and budget from
the shared feature cache, summarised as the paper's ablation table.

Every variant is the base training config with ``model_overrides={"ablation": name}`` (the model factory
applies the ablation's config patch), so the only difference between rows is the computation the ablation
changes. The frozen backbone is shared, hence one token cache serves every RGB variant and one skeleton
cache every pose variant; the zero-shot row is evaluated without training. Selection of the epoch is on
the validation split, the table reports the test split (and validation for reference).

Outputs under ``results_dir``: ``train/<run_name>/`` (each run's checkpoints, metrics, predictions; the
full model's run is the one notebook 06 trains with the same config, found and reused, not retrained),
``ablations.csv`` and ``ablations.md`` (the table and a Mermaid bar chart of Top-1), ``ablations.json`` (table + per-variant timings).
"""
from __future__ import annotations

import json
import os
from collections.abc import Sequence
from concurrent.futures import as_completed
from pathlib import Path

import pandas as pd

from ..core.atomic import atomic_open, atomic_path
from ..core.paths import results_dir as resolve_results
from ..train.config import TrainConfig
from ..train.distributed import DistInfo
from .train_model import RunResult, load_index, train_model

FULL = "full"
#: Rows in the order of the table: the full model, the paper's ablations, the extra controls, zero-shot.
DEFAULT_VARIANTS = (FULL, "no_pose_guidance", "no_cross_attention", "no_gate", "rgb_only", "pose_only",
                    "zero_shot")


def variant_config(base: TrainConfig, variant: str) -> TrainConfig:
    """The training config of one row: ``base`` with the ablation added to its model overrides."""
    overrides = dict(base.model_overrides)
    overrides.pop("ablation", None)
    if variant != FULL:
        overrides["ablation"] = variant
    return base.replace(model_overrides=overrides)


def _mark(flag: bool) -> str:
    return "\u2713" if flag else "\u2717"


def ablation_row(variant: str, result: RunResult, split: str) -> dict:
    """One table row: switches of the variant's model and its metrics on ``split`` (fractions)."""
    from ..model.clipmg import count_parameters

    sw = result.model.cfg.switches()
    rep = result.reports.get(split, {})
    val = result.reports.get(result.config.val_split, {})
    trainable, _ = count_parameters(result.model)
    return {"variant": variant, "rgb": sw["rgb"], "pose": sw["pose"], "pose_guidance": sw["pose_guidance"],
            "cross_attention": sw["cross_attention"], "gate": sw["gate"], "trained": sw["trained"],
            "top1": rep.get("top1"), "top5": rep.get("top5"), "mean_class_acc": rep.get("mean_class_acc"),
            "val_top1": val.get("top1"), "best_epoch": result.best.get("epoch"), "trainable_params": trainable,
            "train_s": result.timings.get("train_s"), "n_test": rep.get("n")}


METRICS = ("top1", "top5", "mean_class_acc", "val_top1")
SWITCHES = ("rgb", "pose", "pose_guidance", "cross_attention", "gate", "trained")


def summarise_seeds(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per variant (in first-seen order): switches, the mean of each metric over seeds and its
    standard deviation (``<metric>_std``, NaN with one seed), ``n_seeds`` and the first seed's ``run_dir``."""
    order = list(dict.fromkeys(runs["variant"]))
    grouped = runs.groupby("variant", sort=False)
    summary = grouped[list(SWITCHES)].first()
    summary[list(METRICS)] = grouped[list(METRICS)].mean()
    for m in METRICS:
        summary[f"{m}_std"] = grouped[m].std(ddof=1)
    summary["n_seeds"] = grouped["seed"].nunique()
    summary["trainable_params"] = grouped["trainable_params"].first()
    summary["train_s"] = grouped["train_s"].mean()
    summary["run_dir"] = grouped["run_dir"].first()
    return summary.loc[order].reset_index()


def markdown_table(table: pd.DataFrame, split: str = "test") -> str:
    """The paper-style table as GitHub Markdown (switches as check marks, metrics in %, mean +- std over
    seeds when there are several)."""
    seeds = int(table["n_seeds"].max()) if "n_seeds" in table else 1
    head = ["Variant", "Pose guidance", "Cross-attention", "Gate", "RGB", "Pose", f"Top-1 ({split})",
            f"Top-5 ({split})", "Mean class acc.", "Top-1 (val)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for _, r in table.iterrows():
        cells = []
        for c in METRICS:
            if pd.isna(r[c]):
                cells.append("-")
            elif seeds > 1 and pd.notna(r.get(f"{c}_std")):
                cells.append(f"{100 * r[c]:.1f} \u00b1 {100 * r[f'{c}_std']:.1f}")
            else:
                cells.append(f"{100 * r[c]:.1f}")
        name = r["variant"] + ("" if r["trained"] else " (no training)")
        lines.append("| " + " | ".join([name, _mark(r["pose_guidance"]), _mark(r["cross_attention"]),
                                        _mark(r["gate"]), _mark(r["rgb"]), _mark(r["pose"]), *cells]) + " |")
    note = f"\nMean \u00b1 standard deviation over {seeds} seeds.\n" if seeds > 1 else ""
    return "\n".join(lines) + "\n" + note


def mermaid_chart(table: pd.DataFrame, split: str = "test", metric: str = "top1") -> str:
    """A Mermaid ``xychart-beta`` bar chart of ``metric`` (in %) per variant, as a fenced Markdown block.

    GitHub and JupyterLab (>= 4.1) draw it from text, so the README and ``ablations.md`` show the figure
    without an image file (plotly's PNG export needs a browser the machine may lack).
    """
    rows = table[table[metric].notna()]
    names = ", ".join(f'"{v}"' for v in rows["variant"])
    values = ", ".join(f"{100 * v:.1f}" for v in rows[metric])
    label = {"top1": "Top-1", "top5": "Top-5", "mean_class_acc": "Mean class acc."}.get(metric, metric)
    return "\n".join(["```mermaid", "xychart-beta", f'    title "{label} on {split} (%)"',
                      f"    x-axis [{names}]", f'    y-axis "{label} (%)" 0 --> 100', f"    bar [{values}]", "```", ""])


def run_ablations(base: TrainConfig, variants: Sequence[str] = DEFAULT_VARIANTS, dataset_root: str | Path | None = None,
                  results_dir: str | Path | None = None, cache_root: str | Path | None = None, resume: bool = True,
                  progress: bool = True, dist_info: DistInfo | None = None, split: str | None = None,
                  seeds: Sequence[int] | None = None, parallel: int | None = None) -> pd.DataFrame:
    """Train/evaluate every variant (same seeds and budget, shared caches) and write the ablation table.

    ``seeds`` (default: the config's seed) repeats every variant with each seed; the table then holds the
    mean and standard deviation over seeds, and ``ablation_runs.csv`` one row per (variant, seed).
    ``parallel``: runs trained at once, each in a worker process of its own (:func:`parallel_runs` when
    ``None``); each run is the same computation as alone (its own seed, ``cpu_threads`` threads), so the
    table does not depend on it. The caches are built once, before the workers start.
    Finished runs are not retrained when ``resume``: rerunning after an interruption continues where it
    stopped. Returns the summary table (one row per variant).
    """
    out = resolve_results(results_dir)
    split = split or base.test_split
    seeds = list(seeds) if seeds else [base.seed]
    index = load_index(dataset_root, base.on_bad_data)
    jobs = [(seed, variant) for seed in seeds for variant in variants]
    parallel = parallel_runs(base, len(jobs)) if parallel is None else max(1, min(int(parallel), len(jobs)))
    if dist_info is not None and dist_info.world_size > 1:
        parallel = 1  # every DDP rank takes part in each run
    if parallel == 1:
        rows = []
        for seed, variant in jobs:
            if progress:
                print(f"[ablations] {variant} (seed {seed})", flush=True)
            rows.append(_train_row(base, variant, seed, dataset_root, cache_root, resume, progress, dist_info,
                                   index, out, split))
    else:
        rows = _train_rows_in_parallel(base, jobs, parallel, dataset_root, cache_root, resume, progress, index,
                                       out, split)
    runs = pd.DataFrame(rows)
    table = summarise_seeds(runs)
    if dist_info is None or dist_info.is_main:
        with atomic_path(out / "ablation_runs.csv") as tmp:
            runs.to_csv(tmp, index=False)
        with atomic_path(out / "ablations.csv") as tmp:
            table.to_csv(tmp, index=False)
        with atomic_open(out / "ablations.md") as f:
            f.write(markdown_table(table, split) + "\n" + mermaid_chart(table, split))
        with atomic_open(out / "ablations.json") as f:
            json.dump({"split": split, "seeds": seeds, "base_config": base.to_dict(),
                       "rows": table.to_dict(orient="records"), "runs": runs.to_dict(orient="records")}, f,
                      indent=2, default=str)
    return table


def parallel_runs(base: TrainConfig, num_runs: int) -> int:
    """Runs :func:`run_ablations` trains at once by default: on the CPU with ``cpu_threads`` > 0, as many as
    the machine's cores hold (``cores // cpu_threads``; 2 on 2 cores with the demo's 1 thread), else 1 (a GPU,
    or torch's own threads, already use the whole machine)."""
    from ..train.distributed import resolve_device

    if base.cpu_threads <= 0 or resolve_device(base.device).type != "cpu":
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(num_runs, cores // base.cpu_threads))


def _train_row(base: TrainConfig, variant: str, seed: int, dataset_root, cache_root, resume: bool, progress: bool,
               dist_info: DistInfo | None, index: pd.DataFrame, out: Path, split: str) -> dict:
    """Train (or find) one (variant, seed) run; its row of ``ablation_runs.csv``."""
    cfg = variant_config(base.replace(seed=seed), variant)
    result = train_model(cfg, dataset_root, None, cache_root, resume=resume, progress=progress,
                         dist_info=dist_info, index=index, results_dir=out)
    return {**ablation_row(variant, result, split), "seed": seed, "run_dir": str(result.out_dir)}


def _train_rows_in_parallel(base: TrainConfig, jobs: list[tuple[int, str]], parallel: int, dataset_root, cache_root,
                            resume: bool, progress: bool, index: pd.DataFrame, out: Path, split: str) -> list[dict]:
    """The rows of ``jobs`` trained ``parallel`` at a time in worker processes (:func:`clipmg_lib.core.workers.
    process_pool`); in the order of ``jobs``. Workers print nothing; one line per finished run is printed here."""
    from ..core.workers import process_pool
    from .train_model import create_model_for, prepare_caches

    model = create_model_for(variant_config(base, FULL))  # every variant reads the caches of the full model's inputs
    prepare_caches(model, index, base, dataset_root, cache_root, progress=progress)
    del model
    if progress:
        print(f"[ablations] {len(jobs)} runs, {parallel} at a time: "
              + ", ".join(f"{v} (seed {s})" for s, v in jobs), flush=True)
    rows: list[dict | None] = [None] * len(jobs)
    with process_pool(parallel) as pool:
        futures = {pool.submit(_train_row, base, variant, seed, dataset_root, cache_root, resume, False, None, index,
                               out, split): i for i, (seed, variant) in enumerate(jobs)}
        for future in as_completed(futures):
            i = futures[future]
            rows[i] = future.result()
            if progress:
                seed, variant = jobs[i]
                print(f"[ablations] {variant} (seed {seed}) done: test top1 {rows[i]['top1']:.3f}, "
                      f"trained in {rows[i]['train_s']} s", flush=True)
    return rows


def load_ablation_runs(results_dir: str | Path | None = None) -> pd.DataFrame:
    """The per-(variant, seed) rows of the last :func:`run_ablations` (``ablation_runs.csv``)."""
    return pd.read_csv(resolve_results(results_dir) / "ablation_runs.csv")


def ablation_histories(table: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Per-epoch metrics of each trained variant of an ablation table (read from its run folder)."""
    out = {}
    for _, row in table.iterrows():
        path = Path(row["run_dir"]) / "metrics.csv"
        if path.is_file():
            out[row["variant"]] = pd.read_csv(path)
    return out
