"""Repository-wide pytest settings, for the unit tests and for the notebooks under nbval."""
from __future__ import annotations

#: Seconds nbval waits between a cell's output messages once the cell has finished. nbval's own 5 s is too
#: short for the training cells of 06 and 08 on a loaded 2-core machine: the kernel's last messages arrive
#: later and nbval failed them with "Timeout of 5 seconds exceeded waiting for output".
NBVAL_OUTPUT_TIMEOUT = 120


def pytest_collection_modifyitems(config, items):
    for item in items:
        if hasattr(item, "output_timeout"):  # nbval's notebook cells
            item.output_timeout = NBVAL_OUTPUT_TIMEOUT
