"""Checkpoints: what a run needs to resume bit for bit, written atomically, read without unpickling code.

A checkpoint (``last.pt`` every epoch, ``best.pt`` at the best validation epoch) is a dict of tensors and
plain Python values loaded with ``torch.load(weights_only=True)``:

``model``      the trainable state (:mod:`clipmg_lib.model.trainable_state`: parameters with ``requires_grad``
               plus all buffers). Frozen parameters
               (the CLIP backbone: 86 M of them in ViT-B/16) are left out and identified by
               ``frozen_fingerprint`` instead, so a checkpoint is a few MB and cannot silently be
               combined with different frozen weights.
``optimizer``, ``scheduler``  their ``state_dict()``s.
``epoch``      the last finished epoch, counted from 1 (= epochs finished); training resumes with the next.
``rng``        torch CPU (+ CUDA) generator states, numpy's and Python's ``random`` state.
``best``       ``{"metric": name, "value": float, "epoch": int}`` (epoch counted from 1).
``config``     the ``TrainConfig`` as a dict; ``history`` the per-epoch metrics rows.
"""
from __future__ import annotations

import hashlib
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..core.atomic import atomic_path
from ..model.trainable_state import frozen_parameter_names, load_trainable_state_dict
from ..model.trainable_state import trainable_state_dict as model_trainable_state


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be used with this model (names the file and the problem)."""


def unwrap(model: nn.Module) -> nn.Module:
    """The module inside a ``DistributedDataParallel`` (or the model itself)."""
    return model.module if hasattr(model, "module") and isinstance(model, nn.parallel.DistributedDataParallel) else model


def trainable_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """The model's trainable state (:mod:`clipmg_lib.model.trainable_state`), detached, copied, on CPU."""
    return {k: v.detach().cpu().clone() for k, v in model_trainable_state(unwrap(model)).items()}


def fingerprint_tensors(named: dict[str, torch.Tensor] | list[tuple[str, torch.Tensor]]) -> str:
    """SHA-1 over names, dtypes, shapes and bytes of tensors (order of names sorted): 16 hex chars."""
    items = sorted(named.items() if isinstance(named, dict) else named, key=lambda kv: kv[0])
    h = hashlib.sha1()
    for name, t in items:
        t = t.detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()[:16]


def frozen_fingerprint(model: nn.Module) -> str:
    """Fingerprint of the frozen parameters (``'none'`` when everything trains)."""
    m = unwrap(model)
    names = set(frozen_parameter_names(m))
    frozen = [(n, p) for n, p in m.named_parameters() if n in names]
    return fingerprint_tensors(frozen) if frozen else "none"


def capture_rng_state() -> dict[str, Any]:
    state: dict[str, Any] = {"torch": torch.get_rng_state(), "numpy": _numpy_state_to_plain(np.random.get_state()),
                             "python": _python_state_to_plain(random.getstate())}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(_plain_to_numpy_state(state["numpy"]))
    random.setstate(_plain_to_python_state(state["python"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _numpy_state_to_plain(state: tuple) -> dict[str, Any]:
    name, keys, pos, has_gauss, cached = state
    return {"name": name, "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)), "pos": int(pos),
            "has_gauss": int(has_gauss), "cached": float(cached)}


def _plain_to_numpy_state(d: dict[str, Any]) -> tuple:
    return (d["name"], d["keys"].numpy().astype(np.uint32), d["pos"], d["has_gauss"], d["cached"])


def _python_state_to_plain(state: tuple) -> dict[str, Any]:
    version, internal, gauss = state
    return {"version": version, "internal": list(internal), "gauss": gauss}


def _plain_to_python_state(d: dict[str, Any]) -> tuple:
    return (d["version"], tuple(d["internal"]), d["gauss"])


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> Path:
    """``torch.save`` to a temp file next to ``path``, then ``os.replace`` (readers never see half a file)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save(state, tmp)
    return path


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a checkpoint written by :func:`save_checkpoint` with ``weights_only=True`` (no code is unpickled)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # truncated file, foreign pickle, ...
        raise CheckpointError(f"{path}: cannot be read as a checkpoint ({type(exc).__name__}: {exc})") from exc


def load_model_state(model: nn.Module, checkpoint: dict[str, Any], source: str | Path = "checkpoint") -> None:
    """Load ``checkpoint['model']`` (trainable state) into ``model`` after checking the frozen fingerprint."""
    m = unwrap(model)
    expected = checkpoint.get("frozen_fingerprint")
    if expected is not None and expected != frozen_fingerprint(m):
        raise CheckpointError(
            f"{source}: trained on frozen weights {expected}, but this model's frozen weights are "
            f"{frozen_fingerprint(m)} (different backbone config, weights or seed)")
    try:
        load_trainable_state_dict(m, checkpoint["model"], source=str(source))
    except RuntimeError as exc:
        raise CheckpointError(str(exc)) from None
