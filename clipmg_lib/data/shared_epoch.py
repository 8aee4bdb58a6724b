"""An epoch number that DataLoader worker processes see change: what makes ``persistent_workers`` safe.

A dataset whose items depend on the epoch (``ClipDataset(mode='train')`` draws its random frames from
``(seed, epoch, clip)``; the cached dataset picks a view and a pose jitter the same way) gets
``set_epoch(e)`` in the main process. Workers started for each epoch copy the dataset after that call, but
persistent workers (``DataLoader(persistent_workers=True)``, started once) keep the copy of the epoch they
started in, and would silently repeat epoch 0's views and augmentations. The epoch therefore lives in a
one-element shared-memory tensor: forked and spawned workers alike read the value the main process last
set (as open_clip's ``SharedEpoch`` does with a ``multiprocessing.Value``; a tensor also survives
``copy.deepcopy`` and plain pickling, as an unshared copy).
"""
from __future__ import annotations

import torch


class SharedEpoch:
    """``get()`` / ``set(epoch)`` of an int64 in shared memory, visible to DataLoader workers."""

    def __init__(self, epoch: int = 0) -> None:
        self._value = torch.zeros((), dtype=torch.int64).share_memory_()
        self.set(epoch)

    def get(self) -> int:
        return int(self._value.item())

    def set(self, epoch: int) -> None:
        self._value.fill_(int(epoch))

    def __repr__(self) -> str:
        return f"SharedEpoch({self.get()})"
