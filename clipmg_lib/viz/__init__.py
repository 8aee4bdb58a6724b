"""Every figure of the kit (plotly) and :func:`save.save_figure`, one module per stage shown.

``data`` (class/length/subject distributions, clip frames), ``pose`` (skeletons, trajectories, heatmaps),
``model`` (text similarities, queries, gates), ``results`` (training curves, confusion, per class, attention,
embeddings, ablations), ``spotting`` (timelines, sweeps, outcomes), ``affect`` (emotion, per subject,
calibration), ``save`` (HTML + PNG). Figures take plain arrays and DataFrames; viz imports only ``core``,
``data`` and ``pose``, so every stage (and every notebook) can draw.
"""
