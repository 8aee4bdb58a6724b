"""Where the CLIP weights come from, and the open_clip model built with them.

``resolve_weights(cfg)`` turns ``backbone.pretrained`` into a :class:`WeightsSource`: ``random`` (seeded by
``init_seed``), ``tag`` (an open_clip tag such as ``openai``, resolved through the Hugging Face hub cache; with
``HF_HUB_OFFLINE`` set, a tag that is not cached fails here, before anything is built) or ``file`` (a local
open_clip state-dict file), with a ``fingerprint`` that changes whenever the weights do (cache keys use it).
``load_open_clip(cfg)`` builds the whole open_clip CLIP (both towers) from them.

The kit registers one extra architecture with open_clip, ``ClipMG-ViT-Tiny-16`` (a 3-layer,
width-128 ViT at 112 px, ``configs/architectures/ClipMG-ViT-Tiny-16.json``) for CPU demos and tests.
"""
from __future__ import annotations

import hashlib
import logging
import os
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import open_clip
import torch
from torch import nn

from ..core.paths import config_dir
from ..core.config import ConfigError
from .config import BackboneConfig

ARCHITECTURE_DIR = config_dir("architectures")
KIT_ARCHITECTURES = ("ClipMG-ViT-Tiny-16",)


class WeightsNotFoundError(FileNotFoundError):
    """CLIP weights that are neither in the local cache nor at the configured path."""


def register_kit_architectures() -> None:
    """Add the kit's open_clip architecture configs (idempotent)."""
    missing = [a for a in KIT_ARCHITECTURES if a not in open_clip.list_models()]
    for arch in missing:
        open_clip.add_model_config(ARCHITECTURE_DIR / f"{arch}.json")


register_kit_architectures()


@dataclass(frozen=True)
class WeightsSource:
    """Resolved ``backbone.pretrained``: ``kind`` is ``random``, ``tag`` or ``file``."""

    kind: str
    value: str | None
    quick_gelu: bool
    fingerprint: str


def _looks_like_path(text: str) -> bool:
    return os.sep in text or "/" in text or text.endswith((".pt", ".pth", ".bin", ".safetensors", ".ckpt"))


@lru_cache(maxsize=16)
def _file_sha256(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def file_fingerprint(path: str | os.PathLike) -> str:
    """sha256 of a checkpoint file (memoised per path, size and modification time)."""
    st = os.stat(path)
    return _file_sha256(str(Path(path).resolve()), st.st_size, st.st_mtime_ns)


def _hf_offline() -> bool:
    from huggingface_hub import constants

    env = os.environ.get("HF_HUB_OFFLINE", "").upper() in {"1", "ON", "YES", "TRUE"}
    return env or bool(constants.HF_HUB_OFFLINE)


def _hf_cached_weights(hf_hub: str) -> str | None:
    """Path of open_clip weights for an ``org/repo/[file]`` hub entry if already in the local hub cache."""
    from huggingface_hub import try_to_load_from_cache

    # open_clip's convention: 'org/repo/' (default file names) or 'org/repo/file.ext'
    repo_id, filename = (hf_hub.rstrip("/"), "") if hf_hub.endswith("/") else os.path.split(hf_hub)
    names = [filename] if filename else ["open_clip_model.safetensors", "open_clip_pytorch_model.bin"]
    for name in names:
        hit = try_to_load_from_cache(repo_id=repo_id, filename=name)
        if isinstance(hit, str):
            return hit
    return None


def _missing_weights_message(cfg: BackboneConfig, hf_hub: str, reason: str) -> str:
    from huggingface_hub import constants

    repo_id = "/".join(hf_hub.rstrip("/").split("/")[:2])
    cache = Path(constants.HF_HUB_CACHE) / f"models--{repo_id.replace('/', '--')}"
    return (
        f"CLIP weights {cfg.clip_model!r} / pretrained={cfg.pretrained!r} {reason}. Either:\n"
        f"  1. fetch them once with network access; open_clip stores them in the Hugging Face hub cache "
        f"(expected at {cache}):\n"
        f"       HF_HUB_OFFLINE=0 python -c \"import open_clip; open_clip.create_model('{cfg.clip_model}', "
        f"pretrained='{cfg.pretrained}')\"\n"
        f"  2. or download https://huggingface.co/{repo_id}/resolve/main/open_clip_model.safetensors "
        f"yourself and point the config at the file: create_model(..., pretrained='/path/to/"
        f"open_clip_model.safetensors') (config field backbone.pretrained; OpenAI weights also need "
        f"backbone.quick_gelu=true, as in clipmg_vitb16.json)."
    )


def resolve_weights(cfg: BackboneConfig) -> WeightsSource:
    """Decide where the weights come from, failing fast (no network attempt) when they cannot load."""
    torch_version = torch.__version__.split("+")[0]
    if cfg.pretrained is None or cfg.pretrained == "":
        quick = bool(cfg.quick_gelu)
        return WeightsSource("random", None, quick,
                             f"random-init:{cfg.clip_model}:seed={cfg.init_seed}:torch={torch_version}")
    if Path(cfg.pretrained).expanduser().is_file():
        path = str(Path(cfg.pretrained).expanduser().resolve())
        return WeightsSource("file", path, bool(cfg.quick_gelu), f"file-sha256:{file_fingerprint(path)}")
    if _looks_like_path(cfg.pretrained):
        raise WeightsNotFoundError(
            f"backbone.pretrained = {cfg.pretrained!r}: no such checkpoint file. Give an existing open_clip "
            f"state-dict file (.pt/.pth/.bin/.safetensors), an open_clip tag such as 'openai', or null.")
    pcfg = open_clip.get_pretrained_cfg(cfg.clip_model, cfg.pretrained)
    if not pcfg:
        tags = open_clip.list_pretrained_tags_by_model(cfg.clip_model)
        raise WeightsNotFoundError(f"backbone.pretrained = {cfg.pretrained!r} is not a known open_clip tag "
                                   f"for {cfg.clip_model!r} (tags: {tags}) nor an existing file.")
    quick = pcfg.get("quick_gelu", False) if cfg.quick_gelu is None else cfg.quick_gelu
    if _hf_offline():
        hf_hub = pcfg.get("hf_hub", "")
        if not hf_hub or _hf_cached_weights(hf_hub) is None:
            raise WeightsNotFoundError(_missing_weights_message(
                cfg, hf_hub, "are not in the local cache and HF_HUB_OFFLINE is set, so nothing is downloaded"))
    return WeightsSource("tag", cfg.pretrained, bool(quick), f"tag:{cfg.clip_model}:{cfg.pretrained}")


class _DropMessage(logging.Filter):
    def __init__(self, text: str):
        super().__init__()
        self.text = text

    def filter(self, record: logging.LogRecord) -> bool:
        return self.text not in record.getMessage()


@contextmanager
def _quiet_random_init(active: bool):
    """Drop open_clip's "No pretrained weights loaded" warning when random weights are what the config asks for."""
    if not active:
        yield
        return
    flt = _DropMessage("No pretrained weights loaded")
    logging.getLogger().addFilter(flt)
    try:
        yield
    finally:
        logging.getLogger().removeFilter(flt)


def load_open_clip(cfg: BackboneConfig) -> tuple[nn.Module, WeightsSource]:
    """The whole open_clip CLIP (both towers) for ``cfg``; random weights are seeded by ``cfg.init_seed``."""
    if cfg.clip_model not in open_clip.list_models():
        raise ConfigError(f"backbone.clip_model = {cfg.clip_model!r} is not an open_clip architecture "
                          f"(e.g. 'ViT-B-16', 'ClipMG-ViT-Tiny-16'; see open_clip.list_models())")
    source = resolve_weights(cfg)
    kwargs = dict(force_quick_gelu=source.quick_gelu)
    if cfg.image_size is not None:
        kwargs["force_image_size"] = cfg.image_size
    with torch.random.fork_rng(devices=[]), _quiet_random_init(source.kind == "random"):
        torch.manual_seed(cfg.init_seed)
        try:
            model = open_clip.create_model(cfg.clip_model, pretrained=source.value, **kwargs)
        except RuntimeError as exc:
            if source.kind == "tag":
                pcfg = open_clip.get_pretrained_cfg(cfg.clip_model, cfg.pretrained)
                raise WeightsNotFoundError(_missing_weights_message(
                    cfg, pcfg.get("hf_hub", ""), "could not be downloaded")
                                           + f"\n  (open_clip said: {exc})") from exc
            raise
    return model.eval(), source
