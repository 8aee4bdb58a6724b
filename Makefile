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

.PHONY: demo test test-fast install demo-data chain imigue bench clean-results

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
	$(PY) -m clipmg_lib.data.demo --out $(DEMO)

chain: demo-data
	$(PY) -m clipmg_lib.chain --dataset-root $(DEMO) --results $(RESULTS)

# The chain on a dataset the kit did not generate (a real iMiGUE copy), read-only: no generator runs, caches go to
# data/cache ($$CLIPMG_CACHE_DIR), results to RESULTS. `make demo DEMO=<real root>` stops at the generator instead
# (it never replaces a folder without its manifest) and points here.
IMIGUE ?=
imigue: $(STAMP)  ## make imigue IMIGUE=/path/to/iMiGUE [RESULTS=results/imigue]
	@test -n "$(IMIGUE)" || { echo "usage: make imigue IMIGUE=/path/to/iMiGUE [RESULTS=results/imigue]" >&2; exit 2; }
	$(PY) -m clipmg_lib.chain --dataset-root $(IMIGUE) --results $(RESULTS)

# nbval reads a cell's iopub messages only after the cell finishes. Progress bars as Jupyter widgets send
# several comm messages per bar, so the long training cells of 06 and 08 overflow the kernel's iopub queue
# (ZMQ high-water mark) and the final 'idle' message is dropped, which nbval reports as "Timeout of 5 seconds
# exceeded waiting for output". Under nbval only, bars are plain text (tqdm.autonotebook falls back to the
# console bar when QT_API is set) and update at most every 30 s (tqdm reads TQDM_* defaults from the env).
# In JupyterLab and under papermill (which reads iopub while a cell runs) bars stay widgets.
test: demo-data  ## unit tests + every notebook under nbval
	QT_API=tqdm-console TQDM_MININTERVAL=30 $(PY) -m pytest tests --nbval-lax --nbval-current-env --nbval-cell-timeout=900 notebooks -p no:cacheprovider

# The fast lane while editing: the unit tests without the slow ones (demo generation, DDP, mediapipe, notebook
# kernels; see tests/conftest.py), no notebooks (nbval not even loaded: its import alone takes ~5 s of CPU), no demo
# dataset needed; HF_HUB_OFFLINE and PYTHONHASHSEED as above (QT_API/TQDM_* concern nbval only). `make test` stays
# the full suite and the CI command.
test-fast: $(STAMP)  ## unit tests not marked slow (under 2 minutes on a 2-core CPU)
	$(PY) -m pytest tests -m "not slow" -p no:cacheprovider -p no:nbval

bench: demo-data  ## benchmarks (not part of the tests)
	$(PY) -m bench

clean-results:
	rm -rf $(RESULTS)/notebooks $(RESULTS)/*.csv $(RESULTS)/*.json $(RESULTS)/*.html
