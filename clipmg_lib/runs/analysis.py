"""Analysis of a trained run: reload it, pick right and wrong predictions, collect what the figures of
:mod:`clipmg_lib.viz.results` show (frames + attention, gates, embeddings).

    run = load_run("results/train/clipmg_tiny-1a2b3c4d")
    preds = run.predictions("test")                       # saved by train_model at the best epoch
    examples = attention_examples(run, "test", preds, n_right=2, n_wrong=2)
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import default_collate

from ..data.classes import class_names
from ..core.paths import dataset_root
from ..train.checkpoint import load_checkpoint, load_model_state
from ..train.config import TrainConfig, load_train_config
from ..eval.predictions import Predictions
from ..viz.results import attention_over_frames
from .train_model import create_model_for, load_index, make_dataset, prepare_caches


@dataclass
class LoadedRun:
    """A finished run: its config, the model at the best epoch, the split caches, and where it lives."""

    run_dir: Path
    config: TrainConfig
    model: torch.nn.Module
    caches: dict
    dataset_root: Path | None

    def predictions(self, split: str) -> Predictions:
        path = self.run_dir / f"predictions_{split}.npz"
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no saved predictions for split {split!r} (run train_model first)")
        return Predictions.load(path)

    def report(self) -> dict:
        return json.loads((self.run_dir / "report.json").read_text())


def load_run(run_dir: str | Path, dataset_root: str | Path | None = None, cache_root: str | Path | None = None,
             progress: bool = False) -> LoadedRun:
    """Rebuild a run's model from ``train_config.json`` + ``best.pt`` and reopen its caches (no retraining)."""
    run_dir = Path(run_dir)
    cfg_path = run_dir / "train_config.json"
    if not cfg_path.is_file():
        raise FileNotFoundError(f"{cfg_path}: not a training run folder (no train_config.json)")
    config = load_train_config(cfg_path)
    model = create_model_for(config)
    if not model.cfg.zero_shot:
        load_model_state(model, load_checkpoint(run_dir / "best.pt"), run_dir / "best.pt")
    model.eval()
    caches = prepare_caches(model, load_index(dataset_root, config.on_bad_data), config, dataset_root, cache_root,
                            progress=progress)
    return LoadedRun(run_dir, config, model, caches, Path(dataset_root) if dataset_root else None)


def pick_examples(preds: Predictions, n_right: int = 2, n_wrong: int = 2, seed: int = 0) -> list[int]:
    """Rows of ``preds`` to look at: the most confident right predictions of different classes, then the most
    confident wrong ones (confident mistakes are the informative ones)."""
    frame = preds.frame().reset_index(names="row")
    chosen = []
    for correct, n in ((True, n_right), (False, n_wrong)):
        part = frame[frame["correct"] == correct].sort_values("confidence", ascending=False)
        part = part.drop_duplicates("label")
        chosen += part["row"].head(n).tolist()
    return chosen


@torch.no_grad()
def attention_examples(run: LoadedRun, split: str, preds: Predictions, rows: list[int] | None = None,
                       n_right: int = 2, n_wrong: int = 2) -> list[dict]:
    """For chosen clips: the frames the backbone saw and the attention of the predicted class's query.

    Returns dicts for :func:`clipmg_lib.viz.results.attention_examples_figure` (``frames`` uint8
    (T, S, S, 3), ``patch_maps``, ``frame_mass``, ``cls_mass``, ``title``, ``sample_id``).
    """
    from ..data.dataset import ClipDataset

    model = run.model
    if model.cross_attention is None:
        raise ValueError(f"{model.cfg.name}: this variant has no cross-attention to show")
    rows = pick_examples(preds, n_right, n_wrong) if rows is None else rows
    caches = run.caches[split]
    dataset = make_dataset(caches, model, run.config, train=False)
    frames_ds = ClipDataset(caches.index, dataset_root(run.dataset_root), num_frames=model.cfg.num_frames,
                            image_size=model.image_size, mode="eval", load_frames=True)
    names = class_names()
    grid = model.backbone.grid if model.backbone.cfg.token_grid is None else (model.backbone.cfg.token_grid,) * 2
    num_classes = model.cfg.num_classes
    out = []
    for row in rows:
        i = int(preds.index[row])
        item = dataset[i]
        batch = default_collate([item])
        inputs = {k: batch[k] for k in run.config.input_keys if k in batch}
        result = model(**inputs)
        pred = int(result["logits"].argmax(1))
        query = pred if model.cfg.queries.class_queries and result["attn"].shape[2] >= num_classes else None
        mass, cls_mass, maps = attention_over_frames(result["attn"][0].numpy(), model.cfg.num_frames, query, grid)
        sample = frames_ds[i]
        frames = sample["imgs"]
        if frames.shape[1:3] != (model.image_size, model.image_size):  # show what the backbone saw
            x = model.preprocess(frames)[0] * torch.tensor(model.std).view(1, 3, 1, 1) + torch.tensor(model.mean).view(1, 3, 1, 1)
            frames = (x.clamp(0, 1) * 255).round().byte().permute(0, 2, 3, 1).numpy()
        label = int(item["label"])
        verdict = "right" if pred == label else "wrong"
        out.append({"frames": frames, "patch_maps": maps, "frame_mass": mass, "cls_mass": cls_mass,
                    "sample_id": caches.sample_ids[i], "label": label, "predicted": pred,
                    "title": f"{verdict}: {caches.sample_ids[i]} true '{names[label]}' / predicted "
                             f"'{names[pred]}'"})
    return out


def gates_and_labels(preds: Predictions) -> tuple[np.ndarray, np.ndarray]:
    """``gate`` (N, D) and labels of a run's saved predictions (the full model keeps them)."""
    if "gate" not in preds.extras:
        raise KeyError("these predictions hold no gate values (the variant has no gated fusion)")
    return preds.extras["gate"], preds.labels
