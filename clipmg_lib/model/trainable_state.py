"""A model's trainable state: its parameters with ``requires_grad`` plus every buffer; the one definition.

Frozen parameters (in CLIP-MG, the CLIP backbone's, 86 M for ViT-B/16) are rebuilt from the config and left
out, so a saved state is a few MB. Buffers are kept (e.g. the class text embeddings: a state still says which
semantics it was trained with). :class:`clipmg_lib.model.clipmg.CLIPMG`'s ``trainable_state_dict`` /
``load_trainable_state_dict`` are these functions; the checkpoint file format
(:mod:`clipmg_lib.train.checkpoint`) stores :func:`trainable_state_dict` and loads with
:func:`load_trainable_state_dict`. Works on any ``nn.Module``.
"""
from __future__ import annotations

import torch
from torch import nn


def frozen_parameter_names(module: nn.Module) -> list[str]:
    """Names of the parameters that do not train (``requires_grad`` False), in ``named_parameters`` order."""
    return [n for n, p in module.named_parameters() if not p.requires_grad]


def trainable_state_dict(module: nn.Module) -> dict[str, torch.Tensor]:
    """``module.state_dict()`` minus the frozen parameters (the tensors themselves, not copies)."""
    frozen = set(frozen_parameter_names(module))
    return {k: v for k, v in module.state_dict().items() if k not in frozen}


def load_trainable_state_dict(module: nn.Module, state: dict[str, torch.Tensor], strict: bool = True,
                              source: str = "checkpoint") -> tuple[list[str], list[str]]:
    """Load a :func:`trainable_state_dict` (or a full ``state_dict``) into ``module``; return (missing, unexpected).

    Only frozen parameters may be absent. ``strict``: any other missing key, or any unexpected key, raises
    ``RuntimeError`` naming ``source`` and up to 8 keys of each, before anything is loaded.
    """
    own = module.state_dict()
    frozen = set(frozen_parameter_names(module))
    missing = [k for k in own if k not in state and k not in frozen]
    unexpected = [k for k in state if k not in own]
    if strict and (missing or unexpected):
        raise RuntimeError(f"{source} does not fit this model: missing {missing[:8]}"
                           f"{'...' if len(missing) > 8 else ''}, unexpected {unexpected[:8]}"
                           f"{'...' if len(unexpected) > 8 else ''}")
    module.load_state_dict(state, strict=False)
    return missing, unexpected
