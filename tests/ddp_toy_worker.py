"""Train the toy model for 2 epochs, in one process or under torchrun; rank 0 writes the results.

    python tests/ddp_toy_worker.py OUT_DIR
    python -m torch.distributed.run --standalone --nproc_per_node 2 tests/ddp_toy_worker.py OUT_DIR
"""
from __future__ import annotations

import sys

import torch

from clipmg_lib.train.config import TrainConfig
from clipmg_lib.train.distributed import cleanup, init_distributed
from clipmg_lib.eval.metrics import classification_report
from clipmg_lib.eval.predictions import Predictions
from clipmg_lib.train.trainer import Trainer
from train_toys import ToyClips, ToyModel


def main(out_dir: str) -> None:
    torch.set_num_threads(1)
    dist_info = init_distributed("cpu")
    config = TrainConfig(model="toy", epochs=2, batch_size=16, lr=3e-3, warmup_epochs=0.5, seed=5, train_views=1)
    torch.manual_seed(config.seed)
    trainer = Trainer(ToyModel(dropout=0.0), config, out_dir, ToyClips(160, seed=0), ToyClips(69, seed=1),
                      dist_info=dist_info, show_progress=False, val_metrics=classification_report)
    trainer.fit(resume=False)
    preds = Predictions(**trainer.forward_dataset(trainer.val_set))
    if dist_info.is_main:
        preds.save(f"{out_dir}/val_predictions.npz")
        torch.save(trainer.model.state_dict(), f"{out_dir}/final_state.pt")
    cleanup()


if __name__ == "__main__":
    main(sys.argv[1])
