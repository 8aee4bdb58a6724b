"""Every test has a deadline: a hang fails within minutes and shows where it is stuck."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import deadline_subprocess
import pytest

REPO = Path(__file__).resolve().parent.parent

HANGING_TESTS = '''
import ctypes, time
import pytest

@pytest.mark.timeout(2)
def test_sleeps_in_python():
    time.sleep(60)

@pytest.mark.timeout(2)
def test_deadlocks_in_native_code_holding_the_gil():
    libc = ctypes.PyDLL(None)  # PyDLL keeps the GIL during the call: no Python signal handler can run
    mutex = ctypes.create_string_buffer(64)  # zeroed: PTHREAD_MUTEX_INITIALIZER
    libc.pthread_mutex_lock(mutex)
    libc.pthread_mutex_lock(mutex)  # a second lock of a normal mutex by its owner never returns

def test_never_reached_after_a_hard_hang():
    pass
'''


def _run_pytest(tmp_path: Path, *tests: str, margin_s: float = 3) -> tuple[subprocess.CompletedProcess, float]:
    test_file = tmp_path / "test_hangs.py"
    test_file.write_text(HANGING_TESTS)
    # the repository's conftest.py (the hard watchdog) and pyproject settings, on a test file outside tests/
    (tmp_path / "conftest.py").write_text((REPO / "conftest.py").read_text())
    env = {**os.environ, "CLIPMG_TEST_HARD_MARGIN_S": str(margin_s)}
    started = time.perf_counter()
    proc = deadline_subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-c",
                                    str(REPO / "pyproject.toml"), "--rootdir", str(tmp_path),
                                    *(f"{test_file}::{t}" for t in tests)], cwd=tmp_path, env=env, timeout=120)
    return proc, time.perf_counter() - started


def test_the_configured_default_deadline_applies_to_every_test(pytestconfig):
    assert float(pytestconfig.getini("timeout")) > 0
    assert pytestconfig.getini("timeout_method") == "signal"


@pytest.mark.slow
def test_a_python_level_hang_fails_at_its_deadline_with_the_stacks(tmp_path):
    proc, seconds = _run_pytest(tmp_path, "test_sleeps_in_python")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Timeout (>2.0s) from pytest-timeout" in proc.stdout
    assert "1 failed" in proc.stdout
    assert seconds < 60


@pytest.mark.slow
def test_a_native_hang_holding_the_gil_is_ended_by_the_watchdog_with_every_stack(tmp_path):
    proc, seconds = _run_pytest(tmp_path, "test_deadlocks_in_native_code_holding_the_gil",
                                "test_never_reached_after_a_hard_hang", margin_s=3)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "Timeout (0:00:05)!" in out, out  # faulthandler's dump after 2 s + the 3 s margin
    assert "test_deadlocks_in_native_code_holding_the_gil" in out and "Thread 0x" in out or "Current thread" in out
    assert "passed" not in out  # the run ended there, it did not hang on
    assert seconds < 60


@pytest.mark.slow
def test_a_subprocess_deadline_ends_the_grandchildren_that_hold_its_pipes(tmp_path):
    """subprocess.run's own timeout would wait forever here: the grandchild keeps stdout open."""
    from deadline_subprocess import DeadlineExceeded, run

    pid_file = tmp_path / "grandchild.pid"
    code = ("import subprocess, sys, time; "
            "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)']); "
            f"open({str(pid_file)!r}, 'w').write(str(p.pid)); print('started', flush=True); time.sleep(600)")
    started = time.perf_counter()
    try:
        run([sys.executable, "-c", code], timeout=5)
    except DeadlineExceeded as exc:
        message = str(exc)
    else:
        raise AssertionError("the sleeping command was not stopped")
    assert time.perf_counter() - started < 60
    assert "outlived its 5 s deadline" in message and "started" in message
    assert "--- pid" in message  # py-spy's stacks of the group's processes
    grandchild = int(pid_file.read_text())
    deadline = time.time() + 10
    while Path(f"/proc/{grandchild}").exists() and time.time() < deadline:
        time.sleep(0.1)  # reaped by init once killed
    status = Path(f"/proc/{grandchild}/status")
    assert not status.exists() or "zombie" in status.read_text(), "the grandchild outlived the deadline"
