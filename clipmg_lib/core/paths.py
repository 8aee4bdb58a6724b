"""Where things live: the repository, the demo dataset, results and caches.

Every path can be overridden by an environment variable, so that tests and batch runs
write somewhere else without touching notebook code.
"""
from __future__ import annotations

import os
from pathlib import Path

#: The repository checkout (the folder holding ``pyproject.toml``) for an editable install.
REPO_ROOT = Path(__file__).resolve().parents[2]


#: The kit's packaged configs, one folder per kind: ``model``, ``architectures`` (open_clip), ``ablation``,
#: ``prompts``, ``train``, ``spotting``.
CONFIG_ROOT = Path(__file__).resolve().parents[1] / "configs"


def config_dir(kind: str) -> Path:
    """The folder of packaged configs of one ``kind`` (a sub-folder of :data:`CONFIG_ROOT`)."""
    path = CONFIG_ROOT / kind
    if not path.is_dir():
        raise KeyError(f"no config kind {kind!r}; known: {sorted(p.name for p in CONFIG_ROOT.iterdir() if p.is_dir())}")
    return path


#: The file the demo generator (``clipmg_lib.demo``) writes at the root of a dataset it generated; its presence
#: is what says "the kit wrote this root". Owned here so that naming runs needs no import of the generator.
DEMO_MANIFEST_NAME = "demo_manifest.json"


def demo_manifest(root: str | os.PathLike) -> dict | None:
    """The parsed :data:`DEMO_MANIFEST_NAME` at ``root`` (a dict), or ``None`` when the kit did not generate it."""
    import json

    path = Path(root) / DEMO_MANIFEST_NAME
    return json.loads(path.read_text()) if path.is_file() else None


def demo_root() -> Path:
    """Root of the generated demo dataset (``$CLIPMG_DEMO_ROOT`` or ``data/demo``)."""
    return Path(os.environ.get("CLIPMG_DEMO_ROOT", REPO_ROOT / "data" / "demo"))


def dataset_root(root: str | os.PathLike | None = None) -> Path:
    """The dataset a run reads: ``root`` if given, else ``$CLIPMG_DATASET_ROOT``, else the demo."""
    if root:
        return Path(root).expanduser()
    env = os.environ.get("CLIPMG_DATASET_ROOT")
    return Path(env).expanduser() if env else demo_root()


def results_dir(path: str | os.PathLike | None = None) -> Path:
    """Where a run writes figures, tables and metrics (``$CLIPMG_RESULTS_DIR`` or ``results/``)."""
    out = Path(path) if path else Path(os.environ.get("CLIPMG_RESULTS_DIR", REPO_ROOT / "results"))
    out.mkdir(parents=True, exist_ok=True)
    return out


def cache_dir(path: str | os.PathLike | None = None) -> Path:
    """Where derived, recomputable data is cached (``$CLIPMG_CACHE_DIR`` or ``data/cache``)."""
    out = Path(path) if path else Path(os.environ.get("CLIPMG_CACHE_DIR", REPO_ROOT / "data" / "cache"))
    out.mkdir(parents=True, exist_ok=True)
    return out


def derived_dir(dataset: str | os.PathLike, kind: str, cache: str | os.PathLike | None = None) -> Path:
    """Where the kit writes data derived from a dataset (e.g. ``kind='mediapipe_skeleton'``), never inside it:
    ``<cache_dir>/<kind>/<root folder name>-<8 hex of its resolved path>``. Not created here."""
    import hashlib

    root = Path(dataset).expanduser().resolve()
    key = hashlib.sha1(str(root).encode()).hexdigest()[:8]
    base = Path(cache) if cache else Path(os.environ.get("CLIPMG_CACHE_DIR", REPO_ROOT / "data" / "cache"))
    return base / kind / f"{root.name or 'root'}-{key}"
