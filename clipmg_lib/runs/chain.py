"""Run every notebook of the chain in order with papermill.

Notebooks are discovered by their two-digit order prefix (``notebooks/NN_*.ipynb``), so a new
notebook joins the chain by being named, without changing this runner. Each executed notebook is
written to ``<results>/notebooks/``; wall times go to ``<results>/chain_timing.csv``.

Each notebook is passed only the parameters its ``parameters`` cell declares (``dataset_root``,
``results_dir`` and any ``-p NAME=VALUE`` it has); a ``-p`` name that no notebook of the run declares is an
error. ``-p`` uses the kit's one override syntax (:func:`clipmg_lib.core.config.parse_override`: the value is
JSON, else a string). A plain ``NAME`` is a papermill parameter (``-p epochs=3``); a dotted
``<kind>.<field>`` is a config override, gathered into the dict parameter of that kind
(:data:`OVERRIDE_PARAMETERS`: ``-p train.lr=3e-4 -p train.model_overrides.inputs.heatmap.size=32`` gives the
notebooks ``train_overrides={"lr": 3e-4, "model_overrides.inputs.heatmap.size": 32}``), checked against its config
schema before the first notebook runs. Kernels talk to the runner over IPC sockets (no TCP port, no "running over TCP without
encryption" warning), and progress bars print one finished line each (``CLIPMG_PROGRESS=summary``,
:mod:`clipmg_lib.core.progress`), since a saved notebook has no one watching a live bar.

    python -m clipmg_lib.runs.chain --dataset-root data/demo --results results [--only 01 02] [-p epochs=3] [-p train.lr=3e-4]

``--cell-timeout S`` stops a notebook whose cell runs longer than S seconds (a failure, like an error in
the cell); by default cells have no time limit, since a real-data cell may legitimately take hours.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
from jupyter_client.manager import AsyncKernelManager
from traitlets import CaselessStrEnum

from ..core.config import ConfigError, override_argument
from ..core.paths import REPO_ROOT, dataset_root, results_dir
from ..core.progress import MODE_ENV

NOTEBOOK_PATTERN = re.compile(r"^(\d{2})_.+\.ipynb$")


def discover_notebooks(folder: Path = REPO_ROOT / "notebooks") -> list[Path]:
    """Notebooks named ``NN_*.ipynb`` in ``folder``, in order of their prefix."""
    found = [p for p in Path(folder).iterdir() if NOTEBOOK_PATTERN.match(p.name)]
    return sorted(found, key=lambda p: p.name)


class IPCKernelManager(AsyncKernelManager):
    """A kernel manager whose kernels listen on Unix sockets beside their connection file, not on TCP ports,
    and are shut down without a SIGINT first.

    jupyter_client interrupts a kernel (SIGINT to its process group) before every shutdown request. The chain
    shuts a kernel down once its notebook has finished, or after nbclient has already interrupted a cell that
    ran past ``--cell-timeout``; a SIGINT that lands while ipykernel is still handling a message only makes it
    log "KeyboardInterrupt caught in kernel." (it did at random after 03, 04, 05 or 07). A kernel that ignores
    the shutdown request is still killed after ``shutdown_wait_time``. Interrupts outside a shutdown are sent
    as usual.
    """

    transport = CaselessStrEnum(["tcp", "ipc"], default_value="ipc", config=True)

    async def _async_interrupt_kernel(self) -> None:
        if self.shutting_down:
            return
        await super()._async_interrupt_kernel()


def declared_parameters(notebook: Path) -> set[str]:
    """Names assigned in ``notebook``'s cell tagged ``parameters`` (papermill's own parser)."""
    import papermill as pm

    return set(pm.inspect_notebook(str(notebook)))


@contextlib.contextmanager
def _environ(**values: str) -> Iterator[None]:
    """Set environment variables (inherited by the kernels started inside) unless already set; restore after."""
    added = {k: v for k, v in values.items() if k not in os.environ}
    os.environ.update(added)
    try:
        yield
    finally:
        for k in added:
            os.environ.pop(k, None)


#: ``-p <kind>.<field>=VALUE`` -> the notebook parameter (a dict of dotted overrides) that carries it.
OVERRIDE_PARAMETERS = {"train": "train_overrides", "model": "model_overrides", "spotting": "spotter_overrides"}


def chain_parameters(pairs: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """Parsed ``-p`` items -> notebook parameters: a plain name as it is, ``<kind>.<field>`` gathered into
    ``OVERRIDE_PARAMETERS[kind]`` as ``{"<field>": value}``; an unknown kind raises :class:`ConfigError`."""
    params: dict[str, Any] = {}
    for key, value in pairs:
        kind, dot, rest = key.partition(".")
        if not dot:
            params[key] = value
        elif kind in OVERRIDE_PARAMETERS:
            params.setdefault(OVERRIDE_PARAMETERS[kind], {})[rest] = value
        else:
            raise ConfigError(f"-p {key}: a dotted parameter overrides a config and starts with one of "
                              f"{sorted(OVERRIDE_PARAMETERS)} (e.g. train.lr=3e-4), got {kind!r}")
    return params


def check_config_overrides(params: dict[str, Any]) -> None:
    """Apply each override dict of ``params`` to its config schema, so a wrong field or value fails now."""
    if params.get("train_overrides"):
        from ..train.config import TrainConfig, check_model_overrides

        check_model_overrides(TrainConfig().replace(**params["train_overrides"]))
    if params.get("model_overrides"):
        from ..model.factory import get_model_config

        get_model_config(params.get("model_name") or "clipmg_tiny", **params["model_overrides"])
    if params.get("spotter_overrides"):
        from ..spotting.config import SpotterConfig

        SpotterConfig().replace(**params["spotter_overrides"])


def run_chain(dataset: str | Path | None = None, results: str | Path | None = None,
              only: list[str] | None = None, extra: dict | None = None,
              kernel_name: str = "python3", notebooks_dir: Path | None = None,
              cell_timeout: float | None = None) -> pd.DataFrame:
    """Execute the chain; returns a table of (notebook, seconds, status). Stops at the first failure.

    ``cell_timeout``: seconds one cell may run before its notebook is stopped and counted as failed
    (``None``: no limit).
    """
    import papermill as pm

    from .params import check_params

    check_params({"dataset_root": dataset, "results_dir": results, **(extra or {})})  # before any notebook runs
    check_config_overrides(extra or {})
    out_root = results_dir(results)
    nb_out = out_root / "notebooks"
    nb_out.mkdir(parents=True, exist_ok=True)
    params = {"dataset_root": str(dataset_root(dataset).resolve()), "results_dir": str(out_root.resolve())}
    params.update(extra or {})
    rows = []
    found = discover_notebooks(notebooks_dir) if notebooks_dir else discover_notebooks()
    notebooks = [p for p in found if not only or p.name[:2] in only]
    declared = {nb: declared_parameters(nb) for nb in notebooks}
    unknown = sorted(set(extra or {}) - set().union(*declared.values()))
    if unknown:
        raise ValueError(f"parameter(s) {', '.join(unknown)} are declared by none of "
                         f"{', '.join(nb.name for nb in notebooks)}")
    for nb in notebooks:
        print(f"[chain] {nb.name} ...", flush=True)
        t0 = time.perf_counter()
        status = "ok"
        try:
            with _environ(**{MODE_ENV: "summary"}):
                pm.execute_notebook(str(nb), str(nb_out / nb.name), kernel_name=kernel_name,
                                    parameters={k: v for k, v in params.items() if k in declared[nb]},
                                    cwd=str(nb.parent), progress_bar=False, log_output=False,
                                    execution_timeout=cell_timeout, kernel_manager_class=IPCKernelManager)
        except Exception as exc:  # papermill raises PapermillExecutionError with the cell's traceback
            status = f"failed: {type(exc).__name__}"
            print(exc, file=sys.stderr)
        secs = time.perf_counter() - t0
        rows.append({"notebook": nb.name, "seconds": round(secs, 1), "status": status})
        print(f"[chain] {nb.name} {status} in {secs:.1f} s", flush=True)
        if status != "ok":
            break
    table = pd.DataFrame(rows)
    if len(table):
        total = pd.DataFrame([{"notebook": "TOTAL", "seconds": round(table["seconds"].sum(), 1),
                               "status": "ok" if (table["status"] == "ok").all() else "failed"}])
        table = pd.concat([table, total], ignore_index=True)
    table.to_csv(out_root / "chain_timing.csv", index=False)
    return table


def build_parser() -> argparse.ArgumentParser:
    """The CLI's arguments; ``-p`` items are parsed by :func:`clipmg_lib.core.config.override_argument`."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset-root", default=None, help="iMiGUE root (default: the demo dataset)")
    ap.add_argument("--results", default=None, help="output folder (default: results/)")
    ap.add_argument("--only", nargs="*", default=None, help="order prefixes to run, e.g. 01 02")
    ap.add_argument("-p", "--param", action="append", type=override_argument, default=[], metavar="NAME=VALUE",
                    help="a papermill parameter (epochs=3) or a dotted config override (train.lr=3e-4), passed to "
                         "every notebook that declares it; the value is JSON, else a string")
    ap.add_argument("--cell-timeout", type=float, default=None, metavar="S",
                    help="stop a notebook whose cell runs longer than S seconds (default: no limit)")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from .params import NotebookParameterError

    try:
        table = run_chain(args.dataset_root, args.results, args.only, chain_parameters(args.param),
                          cell_timeout=args.cell_timeout)
    except (NotebookParameterError, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(table.to_string(index=False))
    return 0 if len(table) and table["status"].iloc[-1] == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
