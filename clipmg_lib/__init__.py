"""CLIP-MG reproduction kit: data, pose, model, training, evaluation and plots for
pose-guided CLIP micro-gesture recognition on iMiGUE (Patapati et al., 2025).

A documented reconstruction: see docs/RECONSTRUCTION.md for what the paper states and
what the kit chose where it is silent.
"""

__version__ = "0.1.0"
