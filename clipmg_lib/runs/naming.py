"""Where a run lives: the content-keyed folder name of a training run under ``<results>/train/``.

A run's name is a function of what determines its result (training config, resolved model config, dataset),
so notebooks 06-08, the ablation runner and the CLI find each other's finished runs, and two different runs
never share a folder.
"""
from __future__ import annotations

from pathlib import Path

from ..core.hashing import content_hash
from ..core.paths import dataset_root as resolve_root, demo_manifest, results_dir as resolve_results
from ..model.factory import get_model_config
from ..train.config import TrainConfig
from ..train.trainer import RESUMABLE_CHANGES


def run_name(config: TrainConfig, dataset_root: str | Path | None = None) -> str:
    """``<model>[_<ablation>]-<hash>``: the folder name of a run under ``<results>/train/``.

    The hash (8 hex of :func:`~clipmg_lib.core.hashing.content_hash`) covers the training config (minus fields
    that do not change the result, e.g. ``device``), the model config it resolves to (so editing a model JSON
    is a new run, not a stale reuse), and the dataset: its root, plus the demo generator's manifest when there
    is one (:func:`~clipmg_lib.core.paths.demo_manifest`; a regenerated demo is a new run).
    """
    ablation = config.model_overrides.get("ablation")
    fields = {k: v for k, v in config.to_dict().items() if k not in RESUMABLE_CHANGES}
    if fields.get("on_bad_data") == "error":  # the default changes no clip: names of earlier runs stay valid
        fields.pop("on_bad_data")
    root = resolve_root(dataset_root).resolve()
    dataset = {"root": str(root)}
    manifest = demo_manifest(root)
    if manifest is not None:
        dataset["demo"] = {k: manifest.get(k) for k in ("generator_version", "seed", "size", "num_clips")}
    model = get_model_config(config.model, **config.model_overrides).to_dict()
    key = content_hash({"config": fields, "model": model, "dataset": dataset}, 8)
    return f"{Path(config.model).stem}{'_' + ablation if ablation else ''}-{key}"


def default_run_dir(config: TrainConfig, dataset_root: str | Path | None = None,
                    results_dir: str | Path | None = None) -> Path:
    """``<results>/train/<run_name>``."""
    return resolve_results(results_dir) / "train" / run_name(config, dataset_root)
