"""Trainer mechanics on a toy model: learning, exact resume, checkpoints, schedules, class balance."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from clipmg_lib.train.checkpoint import CheckpointError, load_checkpoint
from clipmg_lib.core.config import ConfigError
from clipmg_lib.train.config import TrainConfig, load_train_config
from clipmg_lib.train.losses import class_weights
from clipmg_lib.train.optim import warmup_cosine_factor
from clipmg_lib.train.samplers import DistributedClassBalancedSampler
from clipmg_lib.eval.metrics import classification_report
from clipmg_lib.eval.predictions import Predictions
from clipmg_lib.train.trainer import Trainer
from train_toys import NUM_CLASSES, ToyClips, ToyModel

CFG = TrainConfig(model="toy", epochs=4, batch_size=16, lr=3e-3, warmup_epochs=0.5, seed=3, train_views=1)


def make_trainer(out_dir, config=CFG, train=None, val=None):
    torch.manual_seed(config.seed)  # the model's initial weights come from the run's seed
    return Trainer(ToyModel(), config, out_dir, train or ToyClips(192, seed=0), val or ToyClips(96, seed=1),
                   show_progress=False, val_metrics=classification_report)


def test_a_validation_set_needs_the_metrics_it_selects_on(tmp_path):
    with pytest.raises(ValueError, match="val_metrics"):
        Trainer(ToyModel(), CFG, tmp_path, ToyClips(32, seed=0), ToyClips(16, seed=1), show_progress=False)


@pytest.mark.slow
def test_two_epochs_beat_chance(tmp_path):
    trainer = make_trainer(tmp_path, CFG.replace(epochs=2))
    history = trainer.fit()
    assert list(history["epoch"]) == [1, 2]
    assert history["val_top1"].iloc[-1] > 2.0 / NUM_CLASSES  # chance is 1/6
    assert history["train_loss"].iloc[-1] < history["train_loss"].iloc[0]
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["best"]["epoch"] in (1, 2) and len(saved["history"]) == 2
    assert (tmp_path / "metrics.csv").read_text().startswith("epoch,")
    assert TrainConfig(**json.loads((tmp_path / "train_config.json").read_text())) == CFG.replace(epochs=2)


@pytest.mark.slow
def test_stop_and_resume_gives_the_same_weights(tmp_path):
    full = make_trainer(tmp_path / "full")
    full.fit()
    interrupted = make_trainer(tmp_path / "resumed")
    interrupted.fit(stop_after_epoch=2)
    assert load_checkpoint(tmp_path / "resumed" / "last.pt")["epoch"] == 2
    resumed = make_trainer(tmp_path / "resumed")  # a fresh process: new model, new optimiser
    history = resumed.fit()
    assert resumed.start_epoch == 2 and list(history["epoch"]) == [1, 2, 3, 4]
    a, b = full.model.state_dict(), resumed.model.state_dict()
    for name in a:
        assert torch.equal(a[name], b[name]), name
    pd_full = full.metrics_frame().drop(columns="seconds")
    pd_res = resumed.metrics_frame().drop(columns="seconds")
    assert pd_full.equals(pd_res)


@pytest.mark.slow
def test_checkpoint_leaves_frozen_weights_out_and_checks_them(tmp_path):
    trainer = make_trainer(tmp_path, CFG.replace(epochs=1))
    trainer.fit()
    ckpt = load_checkpoint(tmp_path / "last.pt")
    assert not any(k.startswith("backbone.") for k in ckpt["model"])
    other = make_trainer(tmp_path, CFG.replace(epochs=1))
    with torch.no_grad():
        other.model.backbone.weight.add_(1.0)
    with pytest.raises(CheckpointError, match="frozen weights"):
        other.load_best()


@pytest.mark.slow
def test_resume_refuses_a_different_config(tmp_path):
    make_trainer(tmp_path, CFG.replace(epochs=1)).fit()
    with pytest.raises(CheckpointError, match="different config"):
        make_trainer(tmp_path, CFG.replace(epochs=1, lr=1e-2)).fit()
    make_trainer(tmp_path, CFG.replace(epochs=1, lr=1e-2)).fit(resume=False)  # explicit restart is allowed


@pytest.mark.slow
def test_predictions_round_trip_and_extras(tmp_path):
    trainer = make_trainer(tmp_path, CFG.replace(epochs=1))
    trainer.fit()
    preds = Predictions(**trainer.forward_dataset(trainer.val_set, keep=("gate", "fused")))
    assert preds.logits.shape == (96, NUM_CLASSES) and preds.extras["gate"].shape == (96, 16)
    assert (np.diff(preds.index) == 1).all() and preds.sample_ids[0] == "toy_0"
    preds.save(tmp_path / "p.npz")
    again = Predictions.load(tmp_path / "p.npz")
    np.testing.assert_array_equal(again.logits, preds.logits)
    assert again.sample_ids == preds.sample_ids and again.report() == preds.report()
    with pytest.raises(KeyError, match="attn"):
        trainer.forward_dataset(trainer.val_set, keep=("attn",))


@pytest.mark.slow
@pytest.mark.parametrize("balance", ["loss", "sampler"])
def test_class_balanced_training_runs(tmp_path, balance):
    history = make_trainer(tmp_path, CFG.replace(epochs=1, class_balance=balance)).fit()
    assert np.isfinite(history["train_loss"]).all()


def test_class_weights():
    labels = [0] * 90 + [1] * 10
    w = class_weights(labels, 3, "inverse_frequency")
    assert w[2] == 0 and w[1] / w[0] == pytest.approx(9.0)
    assert float((w[labels]).mean()) == pytest.approx(1.0)
    w_en = class_weights(labels, 3, "effective_number", beta=0.9)
    assert 1.0 < float(w_en[1] / w_en[0]) < 9.0  # effective number saturates: milder than 1/n


def test_class_balanced_sampler_balances_and_shards():
    labels = np.array([0] * 900 + [1] * 100)
    s = DistributedClassBalancedSampler(labels, seed=0)
    s.set_epoch(2)
    drawn = labels[list(s)]
    assert abs(drawn.mean() - 0.5) < 0.06
    ranks = [DistributedClassBalancedSampler(labels, num_replicas=2, rank=r, seed=0) for r in (0, 1)]
    for r in ranks:
        r.set_epoch(2)
    merged = np.empty(1000, dtype=int)
    merged[0::2], merged[1::2] = list(ranks[0]), list(ranks[1])
    np.testing.assert_array_equal(merged, list(s))


def test_warmup_cosine_schedule():
    assert warmup_cosine_factor(0, 100, 10, 0.0) == pytest.approx(0.1)
    assert warmup_cosine_factor(9, 100, 10, 0.0) == pytest.approx(1.0)
    assert warmup_cosine_factor(55, 100, 10, 0.0) == pytest.approx(0.5)
    assert warmup_cosine_factor(100, 100, 10, 0.01) == pytest.approx(0.01)


def test_config_overrides_and_errors(tmp_path):
    cfg = load_train_config("tiny_demo", epochs=2, lr=None)
    assert cfg.epochs == 2
    with pytest.raises(ConfigError, match=r"unknown field\(s\) \['TrainConfig.epoch'\]"):
        cfg.replace(epoch=3)
    with pytest.raises(ValueError, match="class_balance"):
        TrainConfig(class_balance="oversample")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match="bad.json: not valid JSON"):
        load_train_config(bad)
    with pytest.raises(ConfigError, match="unknown train config 'nope'; available"):
        load_train_config("nope")


def test_precise_bn_recomputes_running_statistics():
    from torch import nn
    from clipmg_lib.train.distributed import DistInfo
    from clipmg_lib.train.trainer import recompute_bn_stats

    class BNModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.bn = nn.BatchNorm1d(8)

        def forward(self, tokens, heatmap):
            return {"logits": self.bn(tokens.mean(dim=(1, 2)))}

    data = ToyClips(64, seed=0)
    model = BNModel()
    model.bn.running_mean.fill_(5.0)
    n = recompute_bn_stats(model, data, CFG.replace(batch_size=16, precise_bn_batches=4), DistInfo(), epoch=0)
    assert n == 1 and model.training and model.bn.momentum == 0.1  # settings restored
    expected = data.tokens.mean(axis=(1, 2)).mean(axis=0)  # 4 equal batches cover all 64 clips
    np.testing.assert_allclose(model.bn.running_mean.numpy(), expected, atol=1e-5)
