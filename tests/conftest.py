"""Shared fixtures. Tests never reach the network: HF_HUB_OFFLINE is forced here."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("CLIPMG_RESULTS_DIR", str(Path(__file__).resolve().parent.parent / "results" / "_test"))

REPO = Path(__file__).resolve().parent.parent
SHARED_IMIGUE = Path(os.environ.get("CLIPMG_SHARED_IMIGUE", REPO.parent / "shared" / "imigue"))


@pytest.fixture(scope="session")
def shared_imigue() -> Path:
    """The real iMiGUE sample files (``../shared/imigue``); skips where absent."""
    if not (SHARED_IMIGUE / "labels_20200831.csv").exists():
        pytest.skip(f"real iMiGUE sample files not found at {SHARED_IMIGUE}")
    return SHARED_IMIGUE
