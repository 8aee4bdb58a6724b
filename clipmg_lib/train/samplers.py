"""Samplers that give the same *global* batches in one process and under DDP.

``torch.utils.data.DistributedSampler`` draws one permutation per epoch from ``seed + epoch`` and gives
rank ``r`` the elements ``r, r + W, r + 2W, ...``. With a per-rank batch ``b``, step ``s`` of a W-process run
then sees exactly the elements ``s*b*W .. (s+1)*b*W - 1`` of the permutation, i.e. the same global batch as a
single process with batch ``b*W``. The trainer therefore uses a ``DistributedSampler`` with ``num_replicas=1``
in a single process too, which makes 1-process and W-process runs comparable (same data order; gradients
differ only by float summation order). :class:`DistributedClassBalancedSampler` keeps that property for
class-balanced sampling.
"""
from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import Sampler


class DistributedClassBalancedSampler(Sampler[int]):
    """Samples clips with replacement so that classes are (partly) balanced; sharded over ranks.

    Each clip of class ``c`` is drawn with probability ``~ n_c ** -power`` (``power=1``: every class equally
    likely; ``0``: the natural distribution). An epoch draws ``len(labels)`` clips (rounded up to a
    multiple of ``num_replicas``) from a generator seeded by ``seed + epoch``; rank ``r`` takes
    ``r::num_replicas``. Call :meth:`set_epoch` before each epoch.
    """

    def __init__(self, labels: Sequence[int], num_replicas: int = 1, rank: int = 0, seed: int = 0,
                 power: float = 1.0) -> None:
        labels = np.asarray(labels, dtype=np.int64)
        if labels.ndim != 1 or len(labels) == 0:
            raise ValueError("class-balanced sampling needs a non-empty 1-D label array")
        if not 0 <= rank < num_replicas:
            raise ValueError(f"rank {rank} outside [0, {num_replicas})")
        counts = np.bincount(labels)
        weights = counts[labels].astype(np.float64) ** (-float(power))
        self.weights = torch.tensor(weights / weights.sum(), dtype=torch.float64)
        self.num_replicas, self.rank, self.seed, self.epoch = num_replicas, rank, int(seed), 0
        self.num_samples = math.ceil(len(labels) / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __iter__(self) -> Iterator[int]:
        g = torch.Generator()
        g.manual_seed(self.seed + self.epoch)
        drawn = torch.multinomial(self.weights, self.total_size, replacement=True, generator=g)
        return iter(drawn[self.rank::self.num_replicas].tolist())

    def __len__(self) -> int:
        return self.num_samples
