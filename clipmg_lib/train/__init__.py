"""Training: feature cache, trainer with checkpoints and resume, DDP, ablation runner."""
