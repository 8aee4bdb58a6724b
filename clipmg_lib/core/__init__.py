"""The kit's lowest layer: what every stage needs and that knows nothing of micro-gestures.

``atomic`` (all-or-nothing file writes), ``paths`` (where datasets, caches and results live), ``progress``
(progress bars), ``workers`` (the one owner of the process start method). Nothing here imports another
``clipmg_lib`` package.
"""
