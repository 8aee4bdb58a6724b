"""Evaluation: what a prediction is worth. Metrics (``metrics``), the stored predictions of a split
(``predictions.Predictions``), per-subject and calibration analyses, emotion understanding, spotting metrics.

eval depends only on ``core``, ``data`` and ``model``; figures of its results are in :mod:`clipmg_lib.viz`.
"""
