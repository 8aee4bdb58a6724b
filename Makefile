# CLIP-MG reproduction kit. The README's two commands are `make demo` and `make test`.
# Every target sets itself up: venv, pinned dependencies, Jupyter kernel, demo dataset.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.clipmg-installed
DEMO   ?= data/demo
RESULTS ?= results
export HF_HUB_OFFLINE ?= 1
export PYTHONHASHSEED ?= 0

.PHONY: demo test test-fast lab install demo-data chain imigue bench clean-results

demo: chain  ## run the whole chain (notebooks 01..NN) on the demo dataset

install: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=24"
	$(PY) -m pip install --quiet -r requirements.lock
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (CLIP-MG .venv)" >/dev/null
	@touch $@

demo-data: $(STAMP)  ## generate data/demo (skipped when present and complete)
	$(PY) -m clipmg_lib.demo --out $(DEMO)

chain: demo-data
	$(PY) -m clipmg_lib.runs.chain --dataset-root $(DEMO) --results $(RESULTS)

# The chain on a dataset the kit did not generate (a real iMiGUE copy), read-only: no generator runs, caches go to
# data/cache ($$CLIPMG_CACHE_DIR), results to RESULTS. `make demo DEMO=<real root>` stops at the generator instead
# (it never replaces a folder without its manifest) and points here.
IMIGUE ?=
imigue: $(STAMP)  ## make imigue IMIGUE=/path/to/iMiGUE [RESULTS=results/imigue]
	@test -n "$(IMIGUE)" || { echo "usage: make imigue IMIGUE=/path/to/iMiGUE [RESULTS=results/imigue]" >&2; exit 2; }
	$(PY) -m clipmg_lib.runs.chain --dataset-root $(IMIGUE) --results $(RESULTS)

# `make test` first runs the chain (as `make demo` does, into $(RESULTS)), then pytest: the unit tests, every
# notebook under nbval, and the tests of what a person sees in that run: no unfinished progress bar, no result
# buried, every figure sane (tests/test_results_as_read.py), and every executed notebook opened in JupyterLab in
# the system Chromium, notebook 01 run live (tests/test_notebooks_browser.py; screenshots to
# $(RESULTS)/screenshots). Running the chain here, not inside pytest, keeps one copy of the executed notebooks
# (the one a user gets) and costs ~5-6 min on 2 cores; a second `make test` reuses its finished training runs.
# CLIPMG_PROGRESS=summary: under nbval, progress bars print one finished line instead of widgets, whose comm
# messages overflowed the kernel's iopub queue ("Timeout ... waiting for output"); the browser test drops it
# so JupyterLab keeps live bars.
test: chain  ## unit tests + every notebook under nbval + the executed notebooks in a real browser
	CLIPMG_PROGRESS=summary CLIPMG_EXECUTED_RESULTS=$(RESULTS) CLIPMG_REQUIRE_EXECUTED=1 \
	CLIPMG_SCREENSHOTS=$(RESULTS)/screenshots \
	$(PY) -m pytest tests --nbval-lax --nbval-current-env --nbval-cell-timeout=900 notebooks -p no:cacheprovider

lab: demo-data  ## JupyterLab on the kit (127.0.0.1:8888): notebooks/ to run, results/notebooks/ as executed
	$(PY) -m jupyterlab --ServerApp.ip=127.0.0.1 --ServerApp.root_dir=$(CURDIR)

# The fast lane while editing: the unit tests without the slow ones (demo generation, DDP, mediapipe, notebook
# kernels; see tests/conftest.py), no notebooks (nbval not even loaded: its import alone takes ~5 s of CPU), no demo
# dataset needed; HF_HUB_OFFLINE and PYTHONHASHSEED as above (the CLIPMG_* of `make test` concern the full suite only). `make test` stays
# the full suite and the CI command.
test-fast: $(STAMP)  ## unit tests not marked slow (under 2 minutes on a 2-core CPU)
	$(PY) -m pytest tests -m "not slow" -p no:cacheprovider -p no:nbval

bench: demo-data  ## benchmarks (not part of the tests); make bench BENCH_ARGS=--scale adds full-size iMiGUE
	$(PY) -m bench $(BENCH_ARGS)

clean-results:  ## remove everything a run wrote to $(RESULTS) (keeps README.md and reference/)
	find $(RESULTS) -mindepth 1 -maxdepth 1 ! -name README.md ! -name reference -exec rm -rf {} +
