"""Run a command under a deadline that also ends its children, and show where they were stuck.

``subprocess.run(..., timeout=T)`` kills only the direct child and then waits for its output pipes to
close; grandchildren (torchrun's workers, a pool's processes) keep the pipes open, so the wait never ends.
:func:`run` starts the command in its own process group, and past the deadline dumps every process of the
group with ``py-spy dump --native`` (Python and native frames) before killing the whole group.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path


class DeadlineExceeded(AssertionError):
    """The command outlived its deadline; the message holds its output and the stacks of its processes."""


def _group_pids(pgid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getpgid(int(entry.name)) == pgid:
                    pids.append(int(entry.name))
            except OSError:
                continue
    return sorted(pids)


def _stacks(pgid: int) -> str:
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        return "(py-spy not installed: no stacks)"
    out = []
    for pid in _group_pids(pgid):
        try:
            res = subprocess.run([spy, "dump", "--native", "--pid", str(pid)], capture_output=True, text=True,
                                 timeout=30)
            out.append(f"--- pid {pid}\n{res.stdout}{res.stderr}")
        except (subprocess.TimeoutExpired, OSError) as exc:
            out.append(f"--- pid {pid}: py-spy failed: {exc}")
    return "\n".join(out)


def run(cmd: list[str], timeout: float, **kwargs) -> subprocess.CompletedProcess:
    """Like ``subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)``, but the deadline ends
    the command's whole process group and raises :class:`DeadlineExceeded` with the output and the stacks."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            **kwargs)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stacks = _stacks(proc.pid)
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate(timeout=30)
        raise DeadlineExceeded(f"{' '.join(map(str, cmd))} outlived its {timeout:.0f} s deadline\n"
                               f"stdout (end):\n{stdout[-3000:]}\nstderr (end):\n{stderr[-3000:]}\n"
                               f"stacks of its processes:\n{stacks}") from None
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    # the command is done; a process it left behind in its group must not outlive the test
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    return subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr)
