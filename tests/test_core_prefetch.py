"""prefetch: same items in the same order, produced ahead in a thread; errors and early stops reach the right side."""
from __future__ import annotations

import threading
import time

import pytest

from clipmg_lib.core.prefetch import prefetch


def test_items_in_order_produced_ahead_in_another_thread():
    produced_by = []

    def items():
        for i in range(20):
            produced_by.append(threading.current_thread().name)
            yield i

    assert list(prefetch(items(), depth=2)) == list(range(20))
    assert set(produced_by) == {"prefetch"}


def test_the_next_item_is_made_while_the_consumer_works():
    def slow_items():
        for i in range(4):
            time.sleep(0.2)
            yield i

    t0 = time.perf_counter()
    for _ in prefetch(slow_items()):
        time.sleep(0.2)  # the consumer's work overlaps the producer's sleep
    assert time.perf_counter() - t0 < 4 * 0.4 - 0.3  # in turn: 1.6 s; overlapped: ~1.0 s


def test_an_error_of_the_producer_is_raised_at_its_item():
    def items():
        yield 1
        raise ValueError("bad clip 7")

    got = []
    with pytest.raises(ValueError, match="bad clip 7"):
        for x in prefetch(items()):
            got.append(x)
    assert got == [1]


def test_stopping_early_stops_the_producer():
    made = []

    def endless():
        i = 0
        while True:
            made.append(i)
            yield i
            i += 1

    gen = prefetch(endless(), depth=1)
    assert next(gen) == 0
    gen.close()
    time.sleep(0.3)
    n = len(made)
    time.sleep(0.3)
    assert len(made) == n <= 4
    assert not any(t.name == "prefetch" and t.is_alive() for t in threading.enumerate())
