"""A model's predictions on a split, as evaluation reads and stores them.

``Predictions(**outputs)`` wraps the plain arrays of :func:`clipmg_lib.train.trainer.forward_dataset` (the
layer above, ``clipmg_lib.runs``, joins the two); ``report()`` scores them with :mod:`.metrics`; ``save``/``load``
keep them as one ``.npz`` without pickle.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..core.atomic import atomic_path
from . import metrics as M


@dataclass
class Predictions:
    """A model's outputs on a dataset, one row per clip, ordered by dataset index.

    ``logits`` float32 (N, C); ``labels`` int64 (N,); ``index`` int64 (N,); ``sample_ids`` list of N str;
    ``extras`` maps output names (``gate`` (N, D), ``fused`` (N, D), ``attn`` (N, heads, Q, L)) to arrays.
    """

    index: np.ndarray
    labels: np.ndarray
    logits: np.ndarray
    sample_ids: list[str]
    extras: dict[str, np.ndarray] = field(default_factory=dict)
    loss: float = float("nan")

    @property
    def predicted(self) -> np.ndarray:
        return self.logits.argmax(axis=1)

    def report(self) -> dict[str, float]:
        """``top1``, ``top5``, ``mean_class_acc``, ``n`` and ``loss``."""
        out = M.classification_report(self.logits, self.labels)
        out["loss"] = self.loss
        return out

    def frame(self) -> pd.DataFrame:
        """One row per clip: ``sample_id, label, predicted, correct, confidence`` (softmax of the prediction)."""
        prob = M.softmax(self.logits)
        return pd.DataFrame({"sample_id": self.sample_ids, "label": self.labels, "predicted": self.predicted,
                             "correct": self.predicted == self.labels, "confidence": prob.max(axis=1)})

    def save(self, path: str | Path) -> Path:
        """Write the arrays to one ``.npz`` (no pickle: sample ids are stored as a unicode array), atomically."""
        path = Path(path)
        arrays = {"index": self.index, "labels": self.labels, "logits": self.logits,
                  "sample_ids": np.asarray(self.sample_ids, dtype=str), "loss": np.asarray(self.loss)}
        arrays.update({f"extra_{k}": v for k, v in self.extras.items()})
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as f:
                np.savez(f, **arrays)
        return path

    @classmethod
    def load(cls, path: str | Path) -> "Predictions":
        with np.load(path, allow_pickle=False) as z:
            extras = {k[len("extra_"):]: z[k] for k in z.files if k.startswith("extra_")}
            return cls(index=z["index"], labels=z["labels"], logits=z["logits"], sample_ids=z["sample_ids"].tolist(),
                       extras=extras, loss=float(z["loss"]))
