"""The chain's kernels are shut down without the SIGINT jupyter_client sends first (the cause of "KeyboardInterrupt
caught in kernel." after some notebooks); a plain AsyncKernelManager does send it (the control)."""
from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time

import pytest
from jupyter_client.manager import AsyncKernelManager

from clipmg_lib.runs.chain import IPCKernelManager

# a child of the kernel, in its process group: it records every SIGINT the group receives
CHILD = ("import signal, sys, time\n"
         "signal.signal(signal.SIGINT, lambda *a: open(sys.argv[1], 'a').write('SIGINT\\n'))\n"
         "open(sys.argv[1], 'a').write('ready\\n')\n"
         "open(sys.argv[1] + '.pid', 'w').write(str(__import__('os').getpid()))\n"
         "time.sleep(20)\n")


async def _signals_seen_at_shutdown(manager_class, folder) -> str:
    km = manager_class(kernel_name="python3", connection_file=str(folder / "kernel.json"))
    await km.start_kernel()
    kc = km.client()
    kc.start_channels()
    try:
        await kc.wait_for_ready(timeout=60)
        log = folder / "signals.txt"
        code = (f"import subprocess, sys; child = subprocess.Popen([sys.executable, '-c', {CHILD!r}, {str(log)!r}])")
        await kc.execute_interactive(code, timeout=60)
        deadline = time.monotonic() + 30
        while not (log.is_file() and "ready" in log.read_text()) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert "ready" in log.read_text()
    finally:
        kc.stop_channels()
        await km.shutdown_kernel()
    await asyncio.sleep(1.0)
    with contextlib.suppress(ProcessLookupError, ValueError, FileNotFoundError):
        os.kill(int((folder / "signals.txt.pid").read_text()), signal.SIGKILL)  # the recorder, if still alive
    return log.read_text()


@pytest.mark.slow
def test_chain_kernels_shut_down_without_sigint(tmp_path):
    (tmp_path / "ipc").mkdir()
    (tmp_path / "plain").mkdir()
    assert "SIGINT" not in asyncio.run(_signals_seen_at_shutdown(IPCKernelManager, tmp_path / "ipc"))
    assert "SIGINT" in asyncio.run(_signals_seen_at_shutdown(AsyncKernelManager, tmp_path / "plain"))
