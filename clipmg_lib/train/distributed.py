"""Process-group set-up for ``torchrun`` and gathering evaluation results across ranks.

The same entry point runs in one process (``python -m clipmg_lib.runs.train``) or in N
(``torchrun --nproc_per_node N -m clipmg_lib.runs.train``): :func:`init_distributed` reads torchrun's
``RANK``/``WORLD_SIZE``/``LOCAL_RANK`` variables and starts NCCL (GPUs) or gloo (CPU). Evaluation shards
clips with a non-shuffling ``DistributedSampler`` (which pads by repeating clips so that every rank has the
same count); :func:`gather_predictions` all-gathers the per-rank arrays and drops the padding by clip index.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    """Where this process sits: ``rank`` of ``world_size``, its ``device``; ``is_main`` writes files."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def resolve_device(device: str = "auto", local_rank: int = 0) -> torch.device:
    """``'auto'`` -> this rank's GPU when CUDA is available, else CPU; otherwise ``torch.device(device)``."""
    if device == "auto":
        return torch.device(f"cuda:{local_rank}") if torch.cuda.is_available() else torch.device("cpu")
    dev = torch.device(device)
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError(f"device {device!r} requested but CUDA is not available on this machine")
        if dev.index is None:
            dev = torch.device(f"cuda:{local_rank}")
    return dev


def init_distributed(device: str = "auto", backend: str | None = None) -> DistInfo:
    """Join the process group torchrun set up (no-op in a single process) and pick this rank's device."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    dev = resolve_device(device, local_rank)
    if world_size > 1 and not dist.is_initialized():
        if dev.type == "cuda":
            torch.cuda.set_device(dev)
        dist.init_process_group(backend or ("nccl" if dev.type == "cuda" else "gloo"))
    return DistInfo(rank=rank, world_size=world_size, local_rank=local_rank, device=dev)


def current_dist_info(device: torch.device | None = None) -> DistInfo:
    """The :class:`DistInfo` of an already initialised process group (or the single process)."""
    if dist.is_available() and dist.is_initialized():
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        return DistInfo(dist.get_rank(), dist.get_world_size(), local_rank, device or resolve_device("auto", local_rank))
    return DistInfo(device=device or resolve_device("auto"))


def barrier() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def all_reduce_sum(values: torch.Tensor) -> torch.Tensor:
    """Sum a tensor over ranks (a copy; the identity in a single process)."""
    values = values.clone()
    if dist.is_available() and dist.is_initialized():
        dist.all_reduce(values, op=dist.ReduceOp.SUM)
    return values


def gather_predictions(arrays: dict[str, torch.Tensor], index_key: str = "index") -> dict[str, torch.Tensor]:
    """All-gather same-length per-rank tensors and keep each clip once, ordered by ``arrays[index_key]``.

    Every tensor has the clip axis first and all ranks hold the same number of clips (the
    ``DistributedSampler`` padding guarantees it). Tensors are moved to CPU.
    """
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        gathered = {k: v.cpu() for k, v in arrays.items()}
    else:
        backend_cuda = dist.get_backend() == "nccl"
        gathered = {}
        for key, value in arrays.items():
            value = value.contiguous()
            value = value.cuda() if backend_cuda else value.cpu()
            parts = [torch.empty_like(value) for _ in range(dist.get_world_size())]
            dist.all_gather(parts, value)
            gathered[key] = torch.cat([p.cpu() for p in parts])
    index = gathered[index_key]
    order = torch.argsort(index, stable=True)
    sorted_index = index[order]
    keep = torch.ones_like(sorted_index, dtype=torch.bool)
    keep[1:] = sorted_index[1:] != sorted_index[:-1]
    chosen = order[keep]
    return {k: v[chosen] for k, v in gathered.items()}


def cleanup(wait: bool = True) -> None:
    """Leave the process group. ``wait``: first wait for every rank (a rank that tears gloo down while
    another still talks to it aborts with "terminate called without an active exception"); pass False
    on an error path, where another rank may never arrive."""
    if dist.is_available() and dist.is_initialized():
        if wait:
            dist.barrier()
        dist.destroy_process_group()
