"""06 declares the training parameters and records its run; 07 and 08 take the run from the record instead of
repeating 06's parameter block (so they cannot drift from it)."""
from __future__ import annotations

from pathlib import Path

import nbformat

from clipmg_lib.runs.chain import declared_parameters

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
TRAINING_PARAMS = {"config", "epochs", "seed", "device", "skeleton_source", "on_bad_data"}


def _code(name: str) -> str:
    return "\n".join(c.source for c in nbformat.read(NOTEBOOKS / name, as_version=4).cells if c.cell_type == "code")


def test_only_06_declares_the_training_parameters():
    assert TRAINING_PARAMS <= declared_parameters(NOTEBOOKS / "06_training.ipynb")
    for name in ("07_evaluation.ipynb", "08_ablations.ipynb"):
        assert not TRAINING_PARAMS & declared_parameters(NOTEBOOKS / name), name


def test_06_writes_the_record_and_07_08_read_it():
    assert "write_run_record(" in _code("06_training.ipynb")
    assert "resolve_run_dir(" in _code("07_evaluation.ipynb") and "load_train_config" not in _code("07_evaluation.ipynb")
    assert "read_run_record(" in _code("08_ablations.ipynb") and "load_train_config" not in _code("08_ablations.ipynb")
