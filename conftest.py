"""Repository-wide pytest settings, for the unit tests and for the notebooks under nbval."""
from __future__ import annotations

import faulthandler
import os
import sys

import pytest

#: Seconds nbval waits between a cell's output messages once the cell has finished. nbval's own 5 s is too
#: short for the training cells of 06 and 08 on a loaded 2-core machine: the kernel's last messages arrive
#: later and nbval failed them with "Timeout of 5 seconds exceeded waiting for output".
NBVAL_OUTPUT_TIMEOUT = 120

#: Seconds past a test's pytest-timeout deadline after which the hard watchdog dumps every thread's stack and
#: ends the run. pytest-timeout's signal reaches Python code only; a hang inside native code that holds the
#: GIL (a decoder freed in a deadlocked state, say) would otherwise outlive it. ``$CLIPMG_TEST_HARD_MARGIN_S``
#: overrides it (the test of the watchdog itself uses a short one).
TIMEOUT_HARD_MARGIN_S = float(os.environ.get("CLIPMG_TEST_HARD_MARGIN_S", 60))


_real_stderr = None  # the terminal's stderr, which pytest's output capture does not swallow


def pytest_configure(config):
    global _real_stderr
    _real_stderr = os.fdopen(os.dup(sys.__stderr__.fileno()), "w")  # capture is suspended during configure


def pytest_collection_modifyitems(config, items):
    for item in items:
        if hasattr(item, "output_timeout"):  # nbval's notebook cells
            item.output_timeout = NBVAL_OUTPUT_TIMEOUT


def _deadline(item) -> float:
    """The item's pytest-timeout deadline in seconds (marker, command line or ini), 0 for none."""
    from pytest_timeout import _get_item_settings  # the plugin's own resolution of the three sources

    return float(_get_item_settings(item).timeout or 0)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    deadline = _deadline(item)
    if deadline > 0:
        faulthandler.dump_traceback_later(deadline + TIMEOUT_HARD_MARGIN_S, exit=True,
                                          file=_real_stderr or sys.stderr)
    try:
        yield
    finally:
        if deadline > 0:
            faulthandler.cancel_dump_traceback_later()
