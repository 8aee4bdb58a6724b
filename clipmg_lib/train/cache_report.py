"""What a run's feature caches hold on disk: one table row per split and cache kind (notebook 06)."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd


def folder_mb(folder: str | Path) -> float:
    """Size in MiB of the ``*.npy`` arrays under ``folder`` (recursively)."""
    return sum(p.stat().st_size for p in Path(folder).rglob("*.npy")) / 2**20


def cache_table(caches: Mapping) -> pd.DataFrame:
    """``caches``: ``{split: SplitCaches}`` as returned by ``prepare_caches`` (each with ``tokens`` and ``pose``
    feature caches, either may be None). Returns one row per present cache with columns ``split, cache
    ('tokens'/'pose'), clips, views (comma-joined complete views), MB, folder (name), build s`` (the seconds
    its manifest records for building its views)."""
    rows = []
    for split, c in caches.items():
        for kind, cache in (("tokens", c.tokens), ("pose", c.pose)):
            if cache is not None:
                manifest = cache.manifest()
                rows.append({"split": split, "cache": kind, "clips": len(cache),
                             "views": ", ".join(cache.complete_views()), "MB": round(folder_mb(cache.folder), 1),
                             "folder": cache.folder.name,
                             "build s": sum(v.get("seconds", 0) for v in manifest["views"].values())})
    return pd.DataFrame(rows)
