"""Evaluation: metrics and plotly figures."""
