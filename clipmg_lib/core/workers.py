"""How the kit starts worker processes: the one place that chooses the start method.

Every process pool and every DataLoader with ``num_workers > 0`` in the kit takes its multiprocessing
context from :func:`worker_context`. The default is ``forkserver`` on Linux and ``spawn`` elsewhere, never
``fork``: a forked child inherits the parent's memory but not its threads, so an FFmpeg decoder (PyAV,
decord), a mediapipe graph or an OpenMP/torch thread pool that the parent holds is left with locks and
condition variables that no thread will ever release. The child hangs the first time it touches them,
for example when garbage collection frees an inherited PyAV container (``avcodec_free_context`` waits in
``pthread_cond_destroy`` for frame threads that did not survive the fork).

``forkserver`` starts one clean server process by ``exec`` (it holds no decoder and no thread pool), which
imports :data:`PRELOAD` once and then forks each worker from itself: workers start in tens of
milliseconds instead of re-importing torch. ``spawn`` starts each worker as a fresh interpreter.
Either way the objects handed to a worker (datasets, collate functions, pool tasks) are pickled, so they
must be defined at module level in an importable module (a lambda or a class defined in a notebook cell
is refused by pickle with a message naming it).

A script that starts workers needs the ``if __name__ == "__main__":`` guard, as with spawn (the child
imports the main module); the kit's CLIs have it, and notebooks need none.

``CLIPMG_WORKER_START_METHOD=spawn`` (or ``forkserver``) overrides the default; ``fork`` is refused. Seen
here with spawn (not with forkserver, whose workers end with ``os._exit``): a DataLoader abandoned after its
first batch can log "terminate called without an active exception" from a worker ending at interpreter exit;
the parent goes on. Costs of each method: ``docs/PERFORMANCE.md`` section 6.
"""
from __future__ import annotations

import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from multiprocessing.context import BaseContext
from typing import Any

#: Start methods the kit allows. ``fork`` is not one of them (see the module docstring).
SAFE_START_METHODS = ("forkserver", "spawn")

#: Modules the forkserver imports once, before it forks workers (import only: no thread pool starts).
PRELOAD = ["numpy", "pandas", "torch", "clipmg_lib.data.dataset"]

ENV_VAR = "CLIPMG_WORKER_START_METHOD"


def start_method() -> str:
    """The start method the kit uses: ``$CLIPMG_WORKER_START_METHOD``, else forkserver (Linux) or spawn."""
    method = os.environ.get(ENV_VAR) or ("forkserver" if sys.platform.startswith("linux") else "spawn")
    if method not in SAFE_START_METHODS:
        raise ValueError(f"{ENV_VAR}={method!r}: the kit starts workers only with one of {SAFE_START_METHODS} "
                         "(a forked worker can deadlock on decoder, mediapipe or torch threads of its parent)")
    return method


def worker_context() -> BaseContext:
    """The multiprocessing context for every worker process the kit starts (see :func:`start_method`)."""
    method = start_method()
    ctx = multiprocessing.get_context(method)
    if method == "forkserver":
        ctx.set_forkserver_preload(PRELOAD)  # takes effect when the server first starts
    return ctx


def process_pool(max_workers: int) -> ProcessPoolExecutor:
    """A ``ProcessPoolExecutor`` of ``max_workers`` processes started by :func:`worker_context`."""
    return ProcessPoolExecutor(max_workers=max_workers, mp_context=worker_context())


def loader_kwargs(num_workers: int, persistent: bool = False) -> dict[str, Any]:
    """The worker keywords of a ``torch.utils.data.DataLoader``: ``num_workers`` and, where it is above 0,
    the kit's start method (and ``persistent_workers`` if asked)."""
    if num_workers <= 0:
        return {"num_workers": 0}
    return {"num_workers": num_workers, "multiprocessing_context": worker_context(),
            "persistent_workers": persistent}
