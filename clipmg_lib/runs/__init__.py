"""Runs: the layer that joins training and evaluation into what a user starts.

``train_model`` (one run end to end: caches, Trainer, best epoch scored on val/test, files on disk),
``naming`` (a run's content-keyed folder), ``ablation`` (the ablation table), ``analysis`` (reload a finished
run for figures), ``params`` (the notebooks' parameters), and the command lines
``python -m clipmg_lib.runs.train`` (also under ``torchrun``), ``python -m clipmg_lib.runs.predict`` and
``python -m clipmg_lib.runs.chain``. Nothing below this layer imports it.
"""
from .ablation import DEFAULT_VARIANTS, run_ablations
from .naming import default_run_dir, run_name
from .train_model import RunResult, evaluate_split, load_index, prepare_caches, train_model

__all__ = ["DEFAULT_VARIANTS", "RunResult", "default_run_dir", "evaluate_split", "load_index", "prepare_caches",
           "run_ablations", "run_name", "train_model"]
