"""Read ahead of a consumer in one background thread: the next item of an iterable is produced while the
current one is used.

For a loop that alternates two kinds of work that release the GIL, e.g. decoding a clip's frames (PyAV's
decoders run without the GIL) and encoding the previous batch with torch: on two cores the two overlap. A
thread, not a process: nothing is forked or pickled, and the decoders stay in the process that opened them
(:mod:`clipmg_lib.core.workers` says why the kit never forks). The items come in the iterable's order, so the
results of the loop are the same as without read-ahead; an exception of the producer is raised in the
consumer at the item where it happened.
"""
from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

_DONE = object()


def prefetch(items: Iterable[T], depth: int = 1) -> Iterator[T]:
    """Yield the items of ``items`` in order, producing up to ``depth`` items ahead in a daemon thread.

    The producer thread iterates ``items`` and nothing else touches that iterator; it stops after the item
    in hand when the consumer stops early (``close()`` on the generator, or garbage collection).
    """
    q: queue.Queue = queue.Queue(maxsize=max(1, int(depth)))
    stop = threading.Event()

    def put(entry: tuple) -> bool:
        """Hand ``entry`` to the consumer; False when the consumer has stopped."""
        while not stop.is_set():
            try:
                q.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put((item, None)):
                    return
            put((_DONE, None))
        except BaseException as exc:  # handed to the consumer, raised there
            put((_DONE, exc))

    thread = threading.Thread(target=produce, name="prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item, exc = q.get()
            if item is _DONE:
                if exc is not None:
                    raise exc
                return
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)
