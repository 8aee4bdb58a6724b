"""Wall time of the demo chain, notebook by notebook, against each notebook's budget.

Where the timing comes from, first found wins:

1. ``--run-chain``: the chain runs now into a temporary results folder (about 10-15 minutes on a 2-core
   CPU, so it is not the default); its table is also kept as ``bench/out/chain_timing.csv``;
2. ``<results>/chain_timing.csv`` written by ``python -m clipmg_lib.runs.chain`` (``make demo``);
3. ``bench/out/chain_timing.csv`` from an earlier ``--run-chain`` of this checkout (its date is printed).

With none of them (a fresh clone) it says so, prints the budgets, and how to measure. The budgets are the
team's: the whole chain under 15 minutes on this 2-core CPU (docs/PERFORMANCE.md lists them).

    .venv/bin/python -m bench.bench_chain [--results results] [--run-chain]
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from bench.common import OUT_DIR, print_machine, write_results

#: Seconds each notebook may take on the demo dataset on a 2-core CPU (by two-digit prefix).
BUDGET_S = {"01": 60, "02": 90, "03": 60, "04": 60, "05": 60, "06": 180, "07": 60, "08": 300}
TOTAL_BUDGET_S = 15 * 60


def read_timing(path: Path) -> pd.DataFrame:
    """The chain's timing table (``notebook, seconds, status``) without its TOTAL row."""
    if not path.is_file():
        raise FileNotFoundError(path)
    table = pd.read_csv(path)
    missing = {"notebook", "seconds", "status"} - set(table.columns)
    if missing:
        raise ValueError(f"{path}: not a chain timing table (missing columns {sorted(missing)})")
    return table[table["notebook"] != "TOTAL"].reset_index(drop=True)


def report(table: pd.DataFrame) -> pd.DataFrame:
    """Add share of the total, budget and budget use; print the breakdown with a text bar per notebook."""
    total = float(table["seconds"].sum())
    out = table.copy()
    out["share"] = out["seconds"] / total if total else 0.0
    out["budget_s"] = [BUDGET_S.get(str(n)[:2]) for n in out["notebook"]]
    out["of_budget"] = out["seconds"] / out["budget_s"]
    width = 40
    print(f"\n== demo chain wall time by notebook (total {total:.0f} s of a {TOTAL_BUDGET_S} s budget)")
    print(f"  {'notebook':<40} {'seconds':>8} {'share':>6} {'budget':>7} {'used':>6}  status")
    for _, r in out.iterrows():
        bar = "#" * int(round(width * r["share"]))
        budget = f"{r['budget_s']:.0f} s" if pd.notna(r["budget_s"]) else "-"
        used = f"{100 * r['of_budget']:.0f}%" if pd.notna(r["of_budget"]) else "-"
        flag = "" if pd.isna(r["of_budget"]) or r["of_budget"] <= 1 else "  OVER BUDGET"
        print(f"  {r['notebook']:<40} {r['seconds']:8.1f} {100 * r['share']:5.0f}% {budget:>7} {used:>6}  "
              f"{r['status']}{flag}  {bar}")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--results", default=None, help="results folder holding chain_timing.csv (default results/)")
    ap.add_argument("--run-chain", action="store_true", help="run the demo chain into a temp folder first")
    ap.add_argument("--quick", action="store_true", help="accepted for the runner; changes nothing here")
    args = ap.parse_args(argv)

    from clipmg_lib.core.paths import results_dir

    print("# bench_chain: the demo chain's wall time by notebook")
    print_machine()
    kept = OUT_DIR / "chain_timing.csv"
    if args.run_chain:
        from clipmg_lib.runs.chain import run_chain
        with tempfile.TemporaryDirectory(prefix="bench_chain_") as tmp:
            run_chain(results=tmp)
            table = read_timing(Path(tmp) / "chain_timing.csv")
            OUT_DIR.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(Path(tmp) / "chain_timing.csv", kept)
        source = "a fresh run (--run-chain)"
    else:
        path = results_dir(args.results) / "chain_timing.csv"
        if not path.is_file() and kept.is_file():
            path = kept
        try:
            table = read_timing(path)
        except FileNotFoundError:
            print(f"no chain timing: neither {path} (written by `make demo`) nor {kept} (written by "
                  "`python -m bench --only chain --run-chain`, ~10-15 min here) exists, so there is nothing to time "
                  "yet. The budgets each notebook is held to:")
            for nb, budget in BUDGET_S.items():
                print(f"  {nb}_*.ipynb  {budget:4d} s")
            print(f"  chain total {TOTAL_BUDGET_S} s")
            write_results("bench_chain", {"headline": {"text": "not measured: no chain timing (make demo, or "
                                                                "python -m bench --only chain --run-chain)"}})
            return 0
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(path.stat().st_mtime))
        source = f"{path} (written {when})"
    print(f"source: {source}")
    out = report(table)
    total = float(out["seconds"].sum())
    over = out[out["of_budget"] > 1]["notebook"].tolist()
    text = (f"chain total {total:.0f} s ({100 * total / TOTAL_BUDGET_S:.0f}% of the {TOTAL_BUDGET_S // 60}-min budget)"
            + (f"; over budget: {', '.join(over)}" if over else "; every notebook within its budget"))
    print(f"\nheadline: {text}")
    write_results("bench_chain", {"source": source, "table": out.to_dict(orient="records"), "total_s": total,
                                  "headline": {"text": text}})
    return 0


if __name__ == "__main__":
    sys.exit(main())
