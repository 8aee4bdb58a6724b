"""The chain runner finds notebooks by order prefix, stops at the first failure and at a cell past its deadline."""
from __future__ import annotations

import time

import nbformat
import pytest

from clipmg_lib.runs import chain


def test_discovers_notebooks_by_order_prefix(tmp_path):
    for name in ["02_b.ipynb", "01_a.ipynb", "10_z.ipynb", "scratch.ipynb", "1_bad.ipynb"]:
        (tmp_path / name).write_text("{}")
    assert [p.name for p in chain.discover_notebooks(tmp_path)] == ["01_a.ipynb", "02_b.ipynb", "10_z.ipynb"]


def test_repository_notebooks_are_numbered_and_clean():
    notebooks = chain.discover_notebooks()
    prefixes = [p.name[:2] for p in notebooks]
    assert len(prefixes) == len(set(prefixes)), "two notebooks share an order prefix"
    for nb_path in notebooks:
        nb = nbformat.read(nb_path, as_version=4)
        tagged = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
        assert len(tagged) == 1, f"{nb_path.name}: needs exactly one cell tagged 'parameters'"
        assert "dataset_root" in tagged[0].source and "results_dir" in tagged[0].source
        assert not any(c.get("outputs") for c in nb.cells if c.cell_type == "code"), f"{nb_path.name} has outputs"


def test_param_parsing():
    def parse(*items):
        return chain.build_parser().parse_args([a for i in items for a in ("-p", i)]).param

    assert parse("epochs=3") == [("epochs", 3)]
    assert parse("device=cuda") == [("device", "cuda")]
    assert parse("x=[1, 2]") == [("x", [1, 2])]


def _notebook(path, *sources):
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("dataset_root = None\nresults_dir = None")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params] + [nbformat.v4.new_code_cell(s) for s in sources]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


@pytest.mark.slow
def test_run_chain_executes_in_order_and_stops_at_failure(tmp_path):
    src = tmp_path / "nbs"
    src.mkdir()
    _notebook(src / "01_ok.ipynb", "from pathlib import Path\nPath(results_dir, 'ran01').write_text(dataset_root)")
    _notebook(src / "02_fail.ipynb", "raise RuntimeError('boom')")
    _notebook(src / "03_never.ipynb", "from pathlib import Path\nPath(results_dir, 'ran03').write_text('x')")
    out = tmp_path / "results"
    (tmp_path / "data").mkdir()  # the chain checks that the dataset root exists before any notebook
    table = chain.run_chain(tmp_path / "data", out, notebooks_dir=src, cell_timeout=120)
    assert list(table["notebook"]) == ["01_ok.ipynb", "02_fail.ipynb", "TOTAL"]
    assert table["status"].iloc[-1] == "failed"
    assert (out / "ran01").read_text() == str((tmp_path / "data").resolve())
    assert not (out / "ran03").exists()
    assert (out / "notebooks" / "02_fail.ipynb").exists()
    assert (out / "chain_timing.csv").exists()


@pytest.mark.slow
def test_a_cell_past_its_timeout_stops_the_chain(tmp_path):
    src = tmp_path / "nbs"
    src.mkdir()
    _notebook(src / "01_hangs.ipynb", "import time\ntime.sleep(600)")
    _notebook(src / "02_never.ipynb", "from pathlib import Path\nPath(results_dir, 'ran02').write_text('x')")
    (tmp_path / "data").mkdir()
    started = time.monotonic()
    table = chain.run_chain(tmp_path / "data", tmp_path / "results", notebooks_dir=src, cell_timeout=3)
    assert time.monotonic() - started < 300  # the kernel's start-up under load, not the 600 s sleep
    assert list(table["notebook"]) == ["01_hangs.ipynb", "TOTAL"]
    assert table["status"].iloc[0].startswith("failed") and table["status"].iloc[-1] == "failed"
    assert not (tmp_path / "results" / "ran02").exists()


def test_chain_passes_declared_parameters_over_ipc_with_finished_progress_lines(tmp_path, capfd):
    src = tmp_path / "nbs"
    src.mkdir()
    _notebook(src / "01_epochs.ipynb",
              "epochs = 1",
              "from pathlib import Path\nPath(results_dir, 'epochs').write_text(str(epochs))",
              "from clipmg_lib.core.progress import progress_bar\nfor _ in progress_bar(range(7), desc='stage', "
              "unit='step'):\n    pass\nfor _ in progress_bar(range(3), desc='inner', leave=False):\n    pass")
    nb = nbformat.read(src / "01_epochs.ipynb", as_version=4)  # move `epochs = 1` into the parameters cell
    nb.cells[0].source += "\nepochs = 1"
    del nb.cells[1]
    nbformat.write(nb, src / "01_epochs.ipynb")
    _notebook(src / "02_plain.ipynb", "print('no epochs here')")
    (tmp_path / "data").mkdir()
    out = tmp_path / "results"
    table = chain.run_chain(tmp_path / "data", out, extra={"epochs": 3}, notebooks_dir=src)
    assert table["status"].iloc[-1] == "ok"
    assert (out / "epochs").read_text() == "3"
    logs = capfd.readouterr()
    assert "unknown parameter" not in logs.err + logs.out
    assert "without encryption" not in logs.err + logs.out
    executed = nbformat.read(out / "notebooks" / "01_epochs.ipynb", as_version=4)
    text = "".join(o.get("text", "") for c in executed.cells if c.cell_type == "code" for o in c.outputs)
    assert "stage: 7/7 step in 00:00" in text
    assert "inner" not in text and "0%" not in text
    assert not any(o.output_type == "display_data" for c in executed.cells if c.cell_type == "code"
                   for o in c.outputs), "a progress widget was saved"


def test_chain_rejects_a_parameter_no_notebook_declares(tmp_path):
    src = tmp_path / "nbs"
    src.mkdir()
    _notebook(src / "01_a.ipynb", "print(1)")
    (tmp_path / "data").mkdir()
    with pytest.raises(ValueError, match="epoch_count"):
        chain.run_chain(tmp_path / "data", tmp_path / "results", extra={"epoch_count": 3}, notebooks_dir=src)
