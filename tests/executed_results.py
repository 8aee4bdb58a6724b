"""Where the tests of what a person sees find a run's executed notebooks and figures.

``$CLIPMG_EXECUTED_RESULTS`` (``make test`` sets it to the results folder its chain just wrote), else
``results/``. Where no executed notebook is there the tests skip, saying how to make one; with
``CLIPMG_REQUIRE_EXECUTED=1`` (``make test``) they fail instead, so a broken chain cannot pass as skipped.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def executed_results() -> Path:
    """The results folder of the last chain run, with at least one executed notebook (else skip/fail)."""
    folder = Path(os.environ.get("CLIPMG_EXECUTED_RESULTS", REPO / "results"))
    if not sorted((folder / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        message = (f"no executed notebooks in {folder / 'notebooks'}: run the chain first "
                   f"(make demo, or python -m clipmg_lib.runs.chain --results {folder})")
        if os.environ.get("CLIPMG_REQUIRE_EXECUTED") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return folder


def executed_notebooks(folder: Path) -> list[Path]:
    return sorted((folder / "notebooks").glob("[0-9][0-9]_*.ipynb"))
