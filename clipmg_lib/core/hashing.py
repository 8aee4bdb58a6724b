"""The one content hash of the kit: cache keys, run names and model fingerprints all go through it.

``content_hash(obj)`` is the SHA-256 of ``obj``'s canonical JSON (``json.dumps(obj, sort_keys=True,
default=str)``: dict keys sorted, non-JSON values such as paths by their ``str``), as lowercase hex, cut to
``length`` characters when given. Two objects with the same JSON have the same hash on every machine and
Python version, which is what makes caches and run folders findable again.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(obj: Any) -> str:
    """The JSON text that :func:`content_hash` hashes (sorted keys, ``str`` for what JSON cannot hold)."""
    return json.dumps(obj, sort_keys=True, default=str)


def content_hash(obj: Any, length: int | None = None) -> str:
    """SHA-256 hex of :func:`canonical_json` of ``obj``: all 64 characters, or the first ``length``."""
    digest = hashlib.sha256(canonical_json(obj).encode()).hexdigest()
    return digest if length is None else digest[:length]
