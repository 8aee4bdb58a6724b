"""The run record: which training run a results folder holds, so later notebooks take it instead of
recomputing it.

Notebook 06 trains one run and calls :func:`write_run_record`, which writes ``<results>/run_record.json``
atomically::

    {"run_dir": "/abs/results/train/clipmg_tiny-1a2b3c4d", "dataset_root": "/abs/data/demo",
     "train_config": {...TrainConfig.to_dict()...}}

Notebooks 07 and 08 call :func:`resolve_run_dir` / :func:`read_run_record` on the same results folder, so they
evaluate and ablate exactly the run 06 trained (its config, epochs, seed, device, skeleton source) without
repeating 06's parameter block.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.atomic import atomic_open
from ..core.paths import results_dir as resolve_results
from ..train.config import TrainConfig

RUN_RECORD_NAME = "run_record.json"


class RunRecordError(FileNotFoundError):
    """No usable run record (or run folder); the message names the file and what to run first."""


@dataclass(frozen=True)
class RunRecord:
    """One trained run: its folder, the dataset it was trained on, and its training config."""

    run_dir: Path
    dataset_root: Path
    train_config: TrainConfig

    def to_dict(self) -> dict[str, Any]:
        return {"run_dir": str(self.run_dir), "dataset_root": str(self.dataset_root),
                "train_config": self.train_config.to_dict()}


def record_path(results_dir: str | Path | None = None) -> Path:
    """``<results>/run_record.json`` (``results_dir`` None: the kit's results folder)."""
    return resolve_results(results_dir) / RUN_RECORD_NAME


def write_run_record(results_dir: str | Path | None, run_dir: str | Path, config: TrainConfig,
                     dataset_root: str | Path) -> RunRecord:
    """Record that ``run_dir`` (trained with ``config`` on ``dataset_root``) is this results folder's run.

    Written atomically (a reader never sees half a file); paths are stored absolute. Returns the record."""
    record = RunRecord(Path(run_dir).resolve(), Path(dataset_root).resolve(), config)
    path = record_path(results_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path) as f:
        json.dump(record.to_dict(), f, indent=2)
        f.write("\n")
    return record


def read_run_record(results_dir: str | Path | None = None) -> RunRecord:
    """The record :func:`write_run_record` left in ``results_dir``.

    Raises :class:`RunRecordError` naming the file when there is none (notebook 06 has not run with this
    ``results_dir``) or when it is not a run record."""
    path = record_path(results_dir)
    if not path.is_file():
        raise RunRecordError(f"{path}: no run record here; run notebook 06 (or train_model + write_run_record) "
                             f"with this results_dir first")
    try:
        raw = json.loads(path.read_text())
        return RunRecord(Path(raw["run_dir"]), Path(raw["dataset_root"]), TrainConfig(**raw["train_config"]))
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise RunRecordError(f"{path}: not a run record ({type(e).__name__}: {e})") from e


def resolve_run_dir(results_dir: str | Path | None = None, run_dir: str | Path | None = None) -> Path:
    """The trained run folder to evaluate: ``run_dir`` when given, else the one recorded in ``results_dir``.

    Raises :class:`RunRecordError` naming the folder when it holds no trained run (no ``best.pt``)."""
    folder = Path(run_dir) if run_dir is not None else read_run_record(results_dir).run_dir
    if not (folder / "best.pt").is_file():
        raise RunRecordError(f"{folder}: no trained run here (no best.pt); run notebook 06 first")
    return folder
