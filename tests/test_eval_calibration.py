"""Calibration: ECE by hand, a calibrated model scores near 0, temperature scaling recovers a planted T."""
from __future__ import annotations

import numpy as np
import pytest

from clipmg_lib.eval import calibration as K


def test_ece_by_hand():
    # two clips at confidence ~0.8 (one right), two at ~0.6 (both right), 2 classes
    p = np.array([0.85, 0.85, 0.65, 0.65])
    logits = np.stack([np.log(p), np.log(1 - p)], axis=1)
    labels = np.array([0, 1, 0, 0])
    bins = K.reliability_bins(logits, labels, n_bins=10)
    assert bins["count"].sum() == 4 and bins.loc[8, "count"] == 2 and bins.loc[6, "count"] == 2
    assert bins.loc[8, "accuracy"] == 0.5 and bins.loc[6, "accuracy"] == 1.0
    # |0.5 - 0.85| * 2/4 + |1.0 - 0.65| * 2/4 = 0.35
    assert K.expected_calibration_error(logits, labels, n_bins=10) == pytest.approx(0.35)


def _sample(n=20000, classes=32, sharp=3.0, seed=0):
    rng = np.random.default_rng(seed)
    true_logits = rng.normal(size=(n, classes)) * sharp
    p = np.exp(true_logits - true_logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    labels = (p.cumsum(1) > rng.random((n, 1))).argmax(1)
    return true_logits, labels


def test_a_calibrated_model_has_small_ece_and_temperature_one():
    logits, labels = _sample()
    assert K.expected_calibration_error(logits, labels) < 0.02
    assert K.fit_temperature(logits, labels) == pytest.approx(1.0, abs=0.05)


def test_temperature_scaling_undoes_overconfidence():
    logits, labels = _sample(seed=1)
    over = 2.5 * logits  # the same ranking, over-confident by T = 2.5
    T = K.fit_temperature(over, labels)
    assert T == pytest.approx(2.5, rel=0.05)
    assert K.negative_log_likelihood(over, labels, T) == pytest.approx(K.negative_log_likelihood(logits, labels), abs=1e-3)
    table = K.calibration_table({"over": (over[:10000], labels[:10000], over[10000:], labels[10000:])})
    row = table.iloc[0]
    assert row.ece_before > 0.1 and row.ece_after < 0.03 and row.nll_after < row.nll_before
    assert not row.temperature_at_bound
    assert row.top1 == pytest.approx((over[10000:].argmax(1) == labels[10000:]).mean())


def test_a_model_at_chance_hits_the_bound():
    rng = np.random.default_rng(2)
    logits, labels = rng.normal(size=(2000, 32)) * 3, rng.integers(0, 32, 2000)
    table = K.calibration_table({"chance": (logits, labels, logits, labels)})
    assert table.loc[0, "temperature_at_bound"] and table.loc[0, "temperature"] == pytest.approx(K.TEMPERATURE_BOUNDS[1], rel=1e-3)


def test_bad_shapes_are_named():
    with pytest.raises(ValueError, match="logits"):
        K.expected_calibration_error(np.zeros(4), np.zeros(4, int))
