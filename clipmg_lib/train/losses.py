"""Losses and class weights for a long-tailed label distribution (iMiGUE: class 31 is 31% of clips).

Two remedies, chosen by ``TrainConfig.class_balance``:

* ``'loss'``: cross-entropy weighted per class, with weights from :func:`class_weights`
  (``'effective_number'``, Cui et al., CVPR 2019: ``w_c ~ (1 - beta) / (1 - beta ** n_c)``; or
  ``'inverse_frequency'``: ``w_c ~ 1 / n_c``), normalised so that the mean weight over the *training
  clips* is 1 (the loss scale, hence the learning rate, stays comparable with the unweighted loss).
* ``'sampler'``: see :class:`clipmg_lib.train.samplers.DistributedClassBalancedSampler`.

Classes without a training clip get weight 0 (they cannot be learnt; their logits are still pushed down).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn


def class_counts(labels: Sequence[int], num_classes: int) -> np.ndarray:
    """Clips per class, int64 (C,)."""
    labels = np.asarray(labels, dtype=np.int64)
    if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"labels must lie in [0, {num_classes}), got range [{labels.min()}, {labels.max()}]")
    return np.bincount(labels, minlength=num_classes)


def class_weights(labels: Sequence[int], num_classes: int, method: str = "effective_number",
                  beta: float = 0.999) -> torch.Tensor:
    """Per-class loss weights float32 (C,), mean 1 over the training clips, 0 for absent classes."""
    counts = class_counts(labels, num_classes).astype(np.float64)
    present = counts > 0
    w = np.zeros(num_classes)
    if method == "effective_number":
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"effective-number beta must lie in [0, 1), got {beta}")
        w[present] = (1.0 - beta) / (1.0 - np.power(beta, counts[present]))
    elif method == "inverse_frequency":
        w[present] = 1.0 / counts[present]
    else:
        raise ValueError(f"class weighting must be 'effective_number' or 'inverse_frequency', got {method!r}")
    total = (w * counts).sum()
    if total > 0:
        w *= counts.sum() / total
    return torch.tensor(w, dtype=torch.float32)


def build_criterion(label_smoothing: float = 0.0, weight: torch.Tensor | None = None) -> nn.CrossEntropyLoss:
    """Cross-entropy with label smoothing and optional per-class weights (mean over the batch)."""
    return nn.CrossEntropyLoss(weight=weight, label_smoothing=float(label_smoothing))
