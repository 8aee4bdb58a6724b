"""Training mechanics: feature caches, cached and frame datasets, the Trainer (checkpoints, exact resume,
DDP), losses, optimiser, samplers, the training config.

A run end to end (caches -> Trainer -> evaluation -> files) is :func:`clipmg_lib.runs.train_model`; its
command line is ``python -m clipmg_lib.runs.train``. train does not import eval: the Trainer is handed the
validation metrics it selects on.
"""
from .config import TrainConfig, available_train_configs, load_train_config
from .trainer import Trainer, forward_dataset

__all__ = ["TrainConfig", "Trainer", "available_train_configs", "forward_dataset", "load_train_config"]
