"""run_with_deadline: a command past its deadline is killed with every process it started."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from subprocesses import run_with_deadline


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting to be reaped counts as ended)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_returns_exit_code_and_output():
    done = run_with_deadline([sys.executable, "-c", "import sys; print('out'); sys.exit(3)"], timeout=120)
    assert done.returncode == 3 and done.stdout == "out\n"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process states from /proc")
def test_timeout_kills_the_children_too():
    # the shell starts a child that would sleep for 10 minutes, prints its pid, then waits for it
    with pytest.raises(subprocess.TimeoutExpired) as info:
        run_with_deadline(["sh", "-c", "sleep 600 & echo $!; wait"], timeout=2)
    child = int(info.value.output.split()[0])
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    survived = _alive(child)
    if survived:
        os.kill(child, 9)  # do not leave it behind when the assertion fails
    assert not survived, f"the command's child {child} survived the timeout"
