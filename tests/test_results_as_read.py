"""What a person sees in a run's results: finished progress, results not buried, sane figures, clean metadata.

The executed notebooks and figures come from the last chain run (``tests/executed_results.py``); the
notebook metadata checks read ``notebooks/`` and need no run.
"""
from __future__ import annotations

import re
import shutil
import warnings
from pathlib import Path

import nbformat
import papermill as pm
import pytest

from clipmg_lib.runs import chain
from executed_results import REPO, executed_notebooks, executed_results
from figure_checks import figure_problems, load_figure_html

#: a tqdm bar as text: "epoch 1/12:   0%|          | 0/15 [...]"
TQDM_BAR = re.compile(r"(\d+)%\|[^|\n]*\|\s*(\d+)/(\d+)")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
#: a finished progress line (clipmg_lib.core.progress, summary mode): "caching uniform (500 clips): 500/500 clip in 00:03"
PROGRESS_LINE = re.compile(r"^.+: \d+(/\d+)? \S+ in (\d+:)?\d\d:\d\d$", re.M)
#: JupyterLab folds a cell's outputs after 50; a result must never sit behind its progress output
MAX_OUTPUTS_PER_CELL = 12
MAX_PROGRESS_LINES_PER_CELL = 12


def _code_cells(path: Path):
    nb = nbformat.read(path, as_version=4)
    return [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]


def _texts(output) -> list[str]:
    if output.get("output_type") == "stream":
        return [output.get("text", "")]
    return [v for k, v in output.get("data", {}).items() if k.startswith("text/") and isinstance(v, str)]


@pytest.fixture(scope="module")
def results() -> Path:
    return executed_results()


def test_no_progress_bar_is_saved_unfinished_or_as_a_widget(results):
    problems = []
    for path in executed_notebooks(results):
        for i, cell in _code_cells(path):
            for out in cell.outputs:
                if WIDGET_VIEW in out.get("data", {}):
                    problems.append(f"{path.name} cell {i}: a progress widget (saved as its first frame)")
                for text in _texts(out):
                    for pct, n, total in TQDM_BAR.findall(text.split("\r")[-1]):
                        if n != total:
                            problems.append(f"{path.name} cell {i}: unfinished bar {pct}% {n}/{total}")
    assert not problems, "\n".join(problems)


def test_no_cell_buries_its_result_under_progress_output(results):
    problems = []
    for path in executed_notebooks(results):
        for i, cell in _code_cells(path):
            if len(cell.outputs) > MAX_OUTPUTS_PER_CELL:
                problems.append(f"{path.name} cell {i}: {len(cell.outputs)} outputs")
            text = "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")
            lines = len(PROGRESS_LINE.findall(text)) + len(TQDM_BAR.findall(text))
            if lines > MAX_PROGRESS_LINES_PER_CELL:
                problems.append(f"{path.name} cell {i}: {lines} progress lines around its result")
    assert not problems, "\n".join(problems)


def test_executed_notebooks_hold_no_errors_and_no_widget_state(results):
    problems = []
    for path in executed_notebooks(results):
        nb = nbformat.read(path, as_version=4)
        if "widgets" in nb.metadata:
            problems.append(f"{path.name}: saved widget state")
        for i, cell in _code_cells(path):
            problems += [f"{path.name} cell {i}: {o.ename}: {o.evalue}" for o in cell.outputs
                         if o.output_type == "error"]
    assert not problems, "\n".join(problems)


@pytest.mark.slow
def test_every_figure_of_the_run_is_sane(results):
    """Title, no empty trace, axis titles, data inside and filling each autoranged axis; a PNG beside each."""
    import kaleido

    figures = sorted((results / "figures").glob("*.html"))
    assert figures, f"no figures in {results / 'figures'}"
    problems = []
    kaleido.start_sync_server(silence_warnings=True)  # one browser for all the layouts
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "The kopts argument is ignored", UserWarning)
            for path in figures:
                problems += [f"{path.name}: {p}" for p in figure_problems(load_figure_html(path))]
    finally:
        kaleido.stop_sync_server(silence_warnings=True)
    if shutil.which("chromium") or shutil.which("google-chrome"):
        problems += [f"{p.name}: no PNG beside it" for p in figures if not p.with_suffix(".png").is_file()]
    assert not problems, "\n".join(problems)


# --------------------------------------------------------------------------- notebook metadata (no run needed)
def _registered_display_name() -> str:
    found = re.search(r'ipykernel install .*--display-name "([^"]+)"', (REPO / "Makefile").read_text())
    assert found, "Makefile registers no Jupyter kernel"
    return found.group(1)


@pytest.mark.parametrize("notebook", chain.discover_notebooks(), ids=lambda p: p.name)
def test_kernelspec_matches_the_registered_kernel(notebook):
    spec = nbformat.read(notebook, as_version=4).metadata.kernelspec
    assert (spec.name, spec.display_name) == ("python3", _registered_display_name()), (
        f"{notebook.name}: JupyterLab would rewrite this kernelspec, marking the notebook unsaved on open")


@pytest.mark.parametrize("notebook", chain.discover_notebooks(), ids=lambda p: p.name)
def test_papermill_parses_every_parameter(notebook):
    nb = nbformat.read(notebook, as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    assigned = {m.group(1) for m in re.finditer(r"^([A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)*)\s*=", cell.source, re.M)}
    names = {n.strip() for group in assigned for n in group.split(",")}
    assert set(pm.inspect_notebook(str(notebook))) == names, f"{notebook.name}: papermill skips some parameters"


def test_results_readme_names_every_figure_the_run_wrote(results):
    readme = (REPO / "results" / "README.md").read_text()
    missing = sorted(p.stem for p in (results / "figures").glob("*.html") if f"`{p.stem}`" not in readme)
    assert not missing, f"results/README.md does not list: {', '.join(missing)}"
