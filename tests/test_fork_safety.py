"""No worker process of the kit inherits a decoder, a mediapipe graph or a torch thread pool through fork.

The reproduction runs in a fresh interpreter (tests/fork_safety_child.py), so that the state it builds up
(open decoders, uncollected decoder garbage, a mediapipe graph, torch threads) is exactly the state under
test and does not leak into the rest of the suite. On the kit before ``clipmg_lib.core.workers`` the first
round died: both forked DataLoader workers were killed by a segmentation fault.
"""
from __future__ import annotations

import ast
import multiprocessing
import os
import sys
from pathlib import Path

import deadline_subprocess
import pytest

from clipmg_lib.core import workers

CHILD = Path(__file__).resolve().parent / "fork_safety_child.py"
ROUNDS = 20


@pytest.mark.slow
@pytest.mark.timeout(1700)
def test_pools_and_loaders_survive_a_process_holding_decoders_mediapipe_and_torch_threads(tmp_path):
    env = {**os.environ, "PYTHONFAULTHANDLER": "1"}
    proc = deadline_subprocess.run([sys.executable, str(CHILD), str(tmp_path), str(ROUNDS)], env=env, timeout=1600)
    tail = (proc.stdout + proc.stderr)[-6000:]
    assert proc.returncode == 0, tail
    assert f"fork-safety: {ROUNDS} rounds" in proc.stdout, tail


def test_the_start_method_is_never_fork(monkeypatch):
    monkeypatch.delenv(workers.ENV_VAR, raising=False)
    assert workers.start_method() in workers.SAFE_START_METHODS
    assert workers.worker_context().get_start_method() != "fork"
    monkeypatch.setenv(workers.ENV_VAR, "fork")
    with pytest.raises(ValueError, match="fork"):
        workers.start_method()
    monkeypatch.setenv(workers.ENV_VAR, "spawn")
    assert workers.worker_context().get_start_method() == "spawn"


def test_loader_kwargs_carry_the_context_only_with_workers():
    assert workers.loader_kwargs(0) == {"num_workers": 0}
    kw = workers.loader_kwargs(2, persistent=True)
    assert kw["num_workers"] == 2 and kw["persistent_workers"] is True
    assert isinstance(kw["multiprocessing_context"], multiprocessing.context.BaseContext)
    assert kw["multiprocessing_context"].get_start_method() in workers.SAFE_START_METHODS


def test_no_library_module_starts_processes_outside_clipmg_lib_workers():
    """Every pool and DataLoader with workers goes through the one owner of the start method."""
    lib = Path(workers.__file__).resolve().parents[1]
    offenders = []
    for path in lib.rglob("*.py"):
        if path.relative_to(lib).as_posix() == "core/workers.py":
            continue
        text = path.read_text()
        for needle in ("ProcessPoolExecutor(", "get_context(", "multiprocessing.Pool(", "mp.Pool(",
                       "set_start_method("):
            if needle in text:
                offenders.append(f"{path.relative_to(lib)}: {needle}")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) == "DataLoader":
                given = {k.arg for k in node.keywords}
                if given & {"num_workers", "multiprocessing_context"}:
                    offenders.append(f"{path.relative_to(lib)}:{node.lineno}: DataLoader sets its workers itself "
                                     "(use **clipmg_lib.core.workers.loader_kwargs(n))")
    assert not offenders, offenders
