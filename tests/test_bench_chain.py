"""bench_chain: reads a chain timing table, flags notebooks over budget, says clearly when there is none."""
from __future__ import annotations

import pandas as pd
import pytest

import bench.bench_chain as bc


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    written = {}
    monkeypatch.setattr(bc, "OUT_DIR", tmp_path / "out")
    monkeypatch.setattr(bc, "write_results", lambda name, data: written.update({name: data}))
    return tmp_path, written


def test_no_timing_says_so_and_prints_budgets(sandbox, capsys):
    tmp, written = sandbox
    assert bc.main(["--results", str(tmp / "results")]) == 0
    out = capsys.readouterr().out
    assert "no chain timing" in out and "08_*.ipynb   300 s" in out
    assert written["bench_chain"]["headline"]["text"].startswith("not measured")


def test_timing_table_and_over_budget_flag(sandbox, capsys):
    tmp, written = sandbox
    (tmp / "results").mkdir()
    pd.DataFrame({"notebook": ["01_data.ipynb", "06_training.ipynb", "TOTAL"], "seconds": [30.0, 200.0, 230.0],
                  "status": ["ok", "ok", "ok"]}).to_csv(tmp / "results" / "chain_timing.csv", index=False)
    assert bc.main(["--results", str(tmp / "results")]) == 0
    out = capsys.readouterr().out
    assert "06_training.ipynb" in out and out.count("OVER BUDGET") == 1
    assert written["bench_chain"]["total_s"] == 230.0 and "over budget: 06_training.ipynb" in \
        written["bench_chain"]["headline"]["text"]


def test_earlier_run_chain_table_is_the_fallback(sandbox, capsys):
    tmp, _ = sandbox
    (tmp / "out").mkdir()
    pd.DataFrame({"notebook": ["01_data.ipynb"], "seconds": [12.0], "status": ["ok"]}).to_csv(
        tmp / "out" / "chain_timing.csv", index=False)
    assert bc.main(["--results", str(tmp / "results")]) == 0
    assert "out/chain_timing.csv (written" in capsys.readouterr().out


def test_not_a_timing_table_is_named(tmp_path):
    (tmp_path / "chain_timing.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="chain_timing.csv: not a chain timing table"):
        bc.read_timing(tmp_path / "chain_timing.csv")
