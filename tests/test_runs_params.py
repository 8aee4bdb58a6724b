"""Notebook parameters are checked before any work: in each notebook and by the chain."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from clipmg_lib.runs.chain import main as chain_main
from clipmg_lib.runs.params import NOTEBOOK_PARAMS, NotebookParameterError, check_params

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("values, message", [
    ({"num_frames": "eight"}, "parameter num_frames must be an integer >= 1, got 'eight' (str)"),
    ({"num_frames": 8.5}, "parameter num_frames must be an integer >= 1, got 8.5 (float)"),
    ({"epochs": 0}, "parameter epochs must be an integer >= 1 or None, got 0 (int)"),
    ({"split": "validation"}, "parameter split must be one of 'train', 'val', 'test', got 'validation'"),
    ({"on_bad_data": "ignore"}, "parameter on_bad_data must be one of 'error', 'skip'"),
    ({"seeds": [0, "1"]}, "parameter seeds must be a list of integers or None"),
    ({"dataset_root": "/no/such/root"}, "parameter dataset_root: /no/such/root is not a folder"),
])
def test_bad_parameters_name_themselves(values, message):
    with pytest.raises(NotebookParameterError) as err:
        check_params(values)
    assert message in str(err.value)


def test_good_parameters_and_unknown_names_pass(tmp_path):
    check_params({"num_frames": 8, "epochs": None, "seeds": [0, 1], "dataset_root": str(tmp_path), "np": object()})


def test_every_notebook_parameter_is_in_the_table_and_checked():
    """Each parameters cell's names are known to check_params, and the next code cell calls it first."""
    for nb_path in sorted((REPO / "notebooks").glob("0*.ipynb")):
        cells = [c for c in json.loads(nb_path.read_text())["cells"] if c["cell_type"] == "code"]
        params = next(c for c in cells if "parameters" in c["metadata"].get("tags", []))
        names = {line.split("=")[0].strip() for line in "".join(params["source"]).splitlines()
                 if "=" in line and not line.startswith("#")}
        names = {n.strip() for name in names for n in name.split(",")}
        assert names <= set(NOTEBOOK_PARAMS), (nb_path.name, names - set(NOTEBOOK_PARAMS))
        setup = cells[cells.index(params) + 1]
        assert "check_params(globals())" in "".join(setup["source"]), nb_path.name


def test_chain_checks_parameters_before_any_notebook(tmp_path, capsys):
    assert chain_main(["--results", str(tmp_path), "-p", "num_frames=eight"]) == 2
    assert "error: parameter num_frames must be an integer >= 1, got 'eight' (str)" in capsys.readouterr().err
    assert not (tmp_path / "notebooks").exists()
