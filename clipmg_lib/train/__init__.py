"""Training: feature cache, trainer with checkpoints and resume, DDP, ablation runner.

Entry points: :func:`train_model` (one run), :func:`run_ablations` (the ablation table),
``python -m clipmg_lib.train`` (the same from a shell or under ``torchrun``).
"""
from .ablation import DEFAULT_VARIANTS, run_ablations
from .config import TrainConfig, available_train_configs, load_train_config
from .run import RunResult, evaluate_split, load_index, prepare_caches, train_model
from .trainer import Predictions, Trainer

__all__ = ["DEFAULT_VARIANTS", "Predictions", "RunResult", "TrainConfig", "Trainer", "available_train_configs",
           "evaluate_split", "load_index", "load_train_config", "prepare_caches", "run_ablations", "train_model"]
