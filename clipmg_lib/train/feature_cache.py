"""On-disk cache of per-clip arrays (frozen-CLIP tokens, sampled skeletons), computed once, reused by every
epoch and every ablation.

With CLIP frozen, a clip's visual tokens depend only on the frames sampled from it, so the expensive part
of training (decoding video, running the ViT) is done once. Layout of one cache::

    <cache_root>/<kind>-<key>/manifest.json        what the key was made of, sample ids, views done
    <cache_root>/<kind>-<key>/<view>/<array>-00000.npy   rows 0..shard_size-1 of that view, one .npy per array
    ...

* ``key`` = SHA-256 (16 hex) of everything that determines the arrays: for tokens, the backbone's
  ``token_cache_key`` (architecture, weights, image size, pooling) + frames per clip + sampling + the clip
  list (sample ids and frame ranges) + dataset root; for skeletons, the pose settings instead of the backbone.
  Change any of them and a new folder is used; nothing stale is ever read.
* A *view* is one sampling of every clip: ``uniform`` (segment centres, used for evaluation) or
  ``random<k>`` (one random frame per segment, TSN's training sampling, seeded by ``(seed, k)``). Caching K
  random views per training clip keeps temporal augmentation alive: each epoch draws one of the K views per
  clip (:class:`clipmg_lib.train.cached_dataset.CachedClipDataset`).
* Arrays are plain ``.npy`` (float16 tokens, float32 skeletons, int64 frame indices), written atomically
  (temp file + ``os.replace``) shard by shard, read memory-mapped with ``allow_pickle=False``. An interrupted
  build resumes at the first missing shard; a view is marked complete in the manifest only when all its
  shards exist. Under DDP, rank ``r`` computes shards ``r, r + W, ...`` and rank 0 writes the manifest.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..core.atomic import atomic_open, atomic_path
from ..core.hashing import content_hash

FORMAT_VERSION = 1


class FeatureCacheError(RuntimeError):
    """A cache folder that is incomplete or inconsistent (the message names the file)."""


class FeatureCache:
    """A keyed folder of per-clip arrays in named views (see the module docstring).

    ``fields``: JSON-able description of everything the arrays depend on (hashed into the folder name);
    ``sample_ids``: the clips, in row order.
    """

    def __init__(self, root: str | Path, kind: str, fields: dict[str, Any], sample_ids: Sequence[str],
                 shard_size: int = 256) -> None:
        self.kind = kind
        self.fields = fields
        self.sample_ids = [str(s) for s in sample_ids]
        self.shard_size = int(shard_size)
        self.key = content_hash({"format": FORMAT_VERSION, "kind": kind, "fields": fields,
                                 "sample_ids": self.sample_ids, "shard_size": self.shard_size}, 16)
        self.folder = Path(root) / f"{kind}-{self.key}"
        self._opened: dict[str, CachedView] = {}

    def __repr__(self) -> str:
        return f"FeatureCache({self.folder}, {len(self)} clips, views={self.complete_views()})"

    def __len__(self) -> int:
        return len(self.sample_ids)

    # ----------------------------------------------------------------- manifest
    @property
    def manifest_path(self) -> Path:
        return self.folder / "manifest.json"

    def manifest(self) -> dict[str, Any]:
        if not self.manifest_path.is_file():
            return {"format": FORMAT_VERSION, "kind": self.kind, "key": self.key, "fields": self.fields,
                    "shard_size": self.shard_size, "sample_ids": self.sample_ids, "views": {}}
        try:
            data = json.loads(self.manifest_path.read_text())
        except json.JSONDecodeError as exc:
            raise FeatureCacheError(f"{self.manifest_path}: not valid JSON ({exc}); delete the folder to rebuild") from exc
        if data.get("key") != self.key or data.get("sample_ids") != self.sample_ids:
            raise FeatureCacheError(f"{self.manifest_path}: belongs to another cache (key {data.get('key')}); "
                                    "delete the folder to rebuild")
        return data

    def _write_manifest(self, data: dict[str, Any]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        with atomic_open(self.manifest_path) as f:
            json.dump(data, f, indent=1)

    def complete_views(self) -> list[str]:
        return sorted(v for v, spec in self.manifest()["views"].items() if spec.get("complete"))

    def is_complete(self, view: str) -> bool:
        return view in self.complete_views()

    # ----------------------------------------------------------------- shards
    @property
    def num_shards(self) -> int:
        return max(1, -(-len(self) // self.shard_size))

    def shard_rows(self, shard: int) -> range:
        return range(shard * self.shard_size, min((shard + 1) * self.shard_size, len(self)))

    def _shard_path(self, view: str, array: str, shard: int) -> Path:
        return self.folder / view / f"{array}-{shard:05d}.npy"

    def _done_path(self, view: str, shard: int) -> Path:
        return self.folder / view / f"shard-{shard:05d}.done.json"

    def shard_done(self, view: str, shard: int) -> bool:
        """A shard is done when its marker exists (written after all its arrays)."""
        return self._done_path(view, shard).is_file()

    def write_shard(self, view: str, shard: int, arrays: dict[str, np.ndarray]) -> None:
        """Write one shard's arrays (each with ``len(shard_rows(shard))`` rows) atomically, then its marker."""
        rows = len(self.shard_rows(shard))
        spec = {}
        for name, value in arrays.items():
            value = np.ascontiguousarray(value)
            if value.shape[0] != rows:
                raise ValueError(f"{self.folder}/{view}: shard {shard} array {name!r} has {value.shape[0]} rows, "
                                 f"expected {rows}")
            if value.dtype == object:
                raise TypeError(f"array {name!r} has dtype object; the cache stores numeric arrays only")
            path = self._shard_path(view, name, shard)
            path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(path) as tmp:
                with open(tmp, "wb") as f:
                    np.save(f, value, allow_pickle=False)
            spec[name] = {"dtype": value.dtype.str, "shape": list(value.shape[1:])}
        with atomic_open(self._done_path(view, shard)) as f:
            json.dump(spec, f)

    def missing_shards(self, view: str) -> list[int]:
        return [s for s in range(self.num_shards) if not self.shard_done(view, s)]

    def mark_complete(self, view: str, info: dict[str, Any] | None = None) -> None:
        """Record ``view`` as complete (all shards present) in the manifest, with ``info`` (e.g. timings)."""
        missing = self.missing_shards(view)
        if missing:
            raise FeatureCacheError(f"{self.folder}/{view}: shards {missing[:5]} missing; cannot mark complete")
        specs = [json.loads(self._done_path(view, s).read_text()) for s in range(self.num_shards)]
        if any(s != specs[0] for s in specs):
            raise FeatureCacheError(f"{self.folder}/{view}: shards disagree on array names/shapes/dtypes")
        data = self.manifest()
        data["views"][view] = {"complete": True, "arrays": specs[0], **(info or {})}
        self._write_manifest(data)

    def fill(self, view: str, compute: Callable[[range], dict[str, np.ndarray]], rank: int = 0,
             world_size: int = 1, progress: Callable[[Iterable], Iterable] | None = None) -> list[int]:
        """Compute and write the missing shards of ``view`` that belong to this rank; returns their numbers.

        ``compute(rows)`` returns the arrays for those dataset rows. Does not mark the view complete (the
        caller does, on rank 0, after all ranks finished).
        """
        todo = [s for s in self.missing_shards(view) if s % world_size == rank]
        for shard in (progress(todo) if progress else todo):
            self.write_shard(view, shard, compute(self.shard_rows(shard)))
        return todo

    # ----------------------------------------------------------------- reading
    def view(self, name: str) -> "CachedView":
        """Memory-mapped read access to a complete view."""
        if name not in self._opened:
            spec = self.manifest()["views"].get(name)
            if not spec or not spec.get("complete"):
                raise FeatureCacheError(f"{self.folder}: view {name!r} is not complete "
                                        f"(complete: {self.complete_views()}); build it first")
            self._opened[name] = CachedView(self, name, list(spec["arrays"]))
        return self._opened[name]


class CachedView:
    """Rows of one complete view: ``view[i]`` -> ``{array: np.ndarray}`` (read from memory-mapped shards)."""

    def __init__(self, cache: FeatureCache, name: str, arrays: list[str]) -> None:
        self.cache, self.name, self.arrays = cache, name, arrays
        self._maps: dict[tuple[str, int], np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.cache)

    def _shard(self, array: str, shard: int) -> np.ndarray:
        key = (array, shard)
        if key not in self._maps:
            path = self.cache._shard_path(self.name, array, shard)
            try:
                self._maps[key] = np.load(path, mmap_mode="r", allow_pickle=False)
            except (OSError, ValueError) as exc:
                raise FeatureCacheError(f"{path}: cannot be read ({exc}); delete {self.cache.folder} to rebuild") from exc
        return self._maps[key]

    def get(self, i: int, arrays: Sequence[str] | None = None) -> dict[str, np.ndarray]:
        if not 0 <= i < len(self):
            raise IndexError(f"row {i} outside 0..{len(self) - 1} of {self.cache.folder}/{self.name}")
        shard, row = divmod(int(i), self.cache.shard_size)
        return {a: np.asarray(self._shard(a, shard)[row]) for a in (arrays or self.arrays)}

    def __getitem__(self, i: int) -> dict[str, np.ndarray]:
        return self.get(i)

    def column(self, array: str) -> np.ndarray:
        """The whole array of the view, concatenated over shards (loads it into memory)."""
        return np.concatenate([np.asarray(self._shard(array, s)) for s in range(self.cache.num_shards)])

    def __getstate__(self) -> dict:  # DataLoader workers re-open the memory maps
        state = self.__dict__.copy()
        state["_maps"] = {}
        return state
