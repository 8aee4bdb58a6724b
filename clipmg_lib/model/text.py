"""Class semantics: CLIP text embeddings of the 32 iMiGUE classes, prompt-ensembled and cached on disk.

For class k with verb phrase ``phrase_k`` and description ``desc_k`` (``configs/prompts/class_prompts.json``),
the prompts are the templates filled in (``"a video of a person {phrase}."``, ...) plus, with
``use_descriptions``, the description templates. Following CLIP's zero-shot recipe, each prompt is
encoded by the text tower, L2-normalised, averaged over the class's prompts and normalised again:

    e_k = normalize( mean_j normalize( f_text(prompt_kj) ) )          E = [e_0 .. e_31]  (32, D)

E depends only on the text tower's weights and the prompts, so it is computed once and cached under
``<cache_dir>/text_embeddings/<key>.npy`` (key = sha256 of architecture, weights fingerprint and every
prompt string; written atomically).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import open_clip
import torch
from torch import nn

from ..core.atomic import atomic_path
from ..core.hashing import content_hash
from ..data.classes import NUM_CLASSES, class_names
from ..core.paths import cache_dir
from ..core.paths import config_dir
from .weights import WeightsSource
from ..core.config import ConfigError, from_dict, read_json, to_dict
from .config import TextConfig

log = logging.getLogger(__name__)


@dataclass
class ClassPrompt:
    """One class of a prompt file: its verb phrase for the templates and what it looks like."""

    phrase: str
    description: str


@dataclass
class PromptFile:
    """A prompt file (``configs/prompts/<name>.json``), read by the kit's one strict config loader."""

    templates: list[str]
    description_templates: list[str]
    classes: dict[str, ClassPrompt]
    description: str = ""


@lru_cache(maxsize=8)
def _load_prompt_file(name: str) -> dict:
    path = Path(name) if name.endswith(".json") else config_dir("prompts") / f"{name}.json"
    if not path.is_file():
        raise ConfigError(f"text.prompts = {name!r}: prompt file {path} not found")
    data = to_dict(from_dict(PromptFile, read_json(path), str(path)))
    names = class_names()
    missing = [n for n in names if n not in data["classes"]]
    extra = [n for n in data["classes"] if n not in names]
    if missing or extra:
        raise ConfigError(f"{path}: classes must name each of the 32 iMiGUE classes once; "
                          f"missing {missing}, unknown {extra}")
    return data


def class_descriptions(prompts: str = "class_prompts") -> list[dict]:
    """Per MiGA label: ``{'name', 'phrase', 'description'}`` from the prompt file."""
    data = _load_prompt_file(prompts)
    return [{"name": n, **data["classes"][n]} for n in class_names()]


def class_prompts(prompts: str = "class_prompts", use_descriptions: bool = True) -> list[list[str]]:
    """The prompt strings of each class (outer list indexed by MiGA label 0..31)."""
    data = _load_prompt_file(prompts)
    templates = list(data["templates"]) + (list(data["description_templates"]) if use_descriptions else [])
    return [[t.format(**entry) for t in templates] for entry in class_descriptions(prompts)]


@torch.no_grad()
def encode_prompts(clip: nn.Module, tokenizer, prompts: list[list[str]], batch_size: int = 64) -> torch.Tensor:
    """Prompt-ensembled class embeddings ``(K, D)``, unit norm (see the module docstring)."""
    flat = [p for group in prompts for p in group]
    feats = []
    for start in range(0, len(flat), batch_size):
        tokens = tokenizer(flat[start:start + batch_size])
        feats.append(clip.encode_text(tokens, normalize=True).float())
    feats = torch.cat(feats)
    out, i = [], 0
    for group in prompts:
        out.append(feats[i:i + len(group)].mean(0))
        i += len(group)
    return nn.functional.normalize(torch.stack(out), dim=-1)


def text_cache_key(clip_model: str, weights: WeightsSource, prompts: list[list[str]]) -> str:
    """sha256 of what determines the class embeddings: architecture, weights, every prompt."""
    spec = {"arch": open_clip.get_model_config(clip_model), "clip_model": clip_model,
            "weights": weights.fingerprint, "quick_gelu": weights.quick_gelu, "prompts": prompts}
    return content_hash(spec)


def random_class_codes(num_classes: int, dim: int, seed: int = 0) -> torch.Tensor:
    """Fixed random unit vectors ``(K, D)``: the "no language semantics" control."""
    g = torch.Generator().manual_seed(seed)
    return nn.functional.normalize(torch.randn(num_classes, dim, generator=g), dim=-1)


def class_text_embeddings(clip: nn.Module, clip_model: str, weights: WeightsSource, cfg: TextConfig,
                          cache_root: str | Path | None = None) -> torch.Tensor:
    """The 32 class embeddings ``(32, D)`` for ``cfg`` (from the disk cache when present)."""
    dim = int(clip.text_projection.shape[1]) if getattr(clip, "text_projection", None) is not None \
        else int(clip.visual.proj.shape[1])
    if cfg.source == "random":
        return random_class_codes(NUM_CLASSES, dim)
    prompts = class_prompts(cfg.prompts, cfg.use_descriptions)
    key = text_cache_key(clip_model, weights, prompts)
    path = Path(cache_root) if cache_root else cache_dir() / "text_embeddings"
    path = path / f"{key}.npy"
    if cfg.cache and path.is_file():
        try:
            arr = np.load(path, allow_pickle=False)
            if arr.shape == (NUM_CLASSES, dim):
                return torch.from_numpy(arr)
            problem = f"shape {arr.shape}, expected {(NUM_CLASSES, dim)}"
        except (OSError, ValueError, EOFError) as exc:  # truncated or foreign file: recomputable, never a blocker
            problem = f"{type(exc).__name__}: {exc}"
        log.warning("%s: unreadable text-embedding cache (%s); recomputing the class embeddings and replacing it",
                    path, problem)
    emb = encode_prompts(clip, open_clip.get_tokenizer(clip_model), prompts)
    if cfg.cache:
        with atomic_path(path) as tmp:
            np.save(tmp, emb.numpy().astype(np.float32), allow_pickle=False)
    return emb
