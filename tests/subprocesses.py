"""Running a command from a test with a deadline that also ends its children.

``subprocess.run(..., timeout=)`` kills only the process it started: the workers of ``torchrun`` or the
kernel of a notebook runner would be left running (and holding CPU, ports or files) after a timeout. Here
the command starts in its own process group (session), and on timeout, or any exception in the test
(pytest-timeout's, Ctrl-C), the whole group is killed before the error is raised.
"""
from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Mapping, Sequence


def run_with_deadline(cmd: Sequence[str], timeout: float, env: Mapping[str, str] | None = None,
                      cwd: str | os.PathLike | None = None) -> subprocess.CompletedProcess:
    """Run ``cmd`` to completion within ``timeout`` seconds; return its exit code, stdout and stderr (text).

    Raises ``subprocess.TimeoutExpired`` (with the output captured so far) after killing the command's
    whole process group when it runs past ``timeout``.
    """
    proc = subprocess.Popen(list(cmd), env=None if env is None else dict(env), cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        out, err = proc.communicate()
        raise subprocess.TimeoutExpired(proc.args, timeout, output=out, stderr=err) from None
    except BaseException:
        _kill_group(proc)
        proc.communicate()
        raise
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the group id is the leader's pid (start_new_session)
    except ProcessLookupError:
        pass
