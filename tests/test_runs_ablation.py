"""The ablation table: aggregation over seeds and its Markdown form (the runs themselves: test_train_run.py)."""
from __future__ import annotations

import pandas as pd
import pytest

from clipmg_lib.runs.ablation import markdown_table, mermaid_chart, summarise_seeds, variant_config
from clipmg_lib.train.config import TrainConfig


def _runs(seeds):
    rows = []
    for s in seeds:
        for v, rgb, pose in (("full", True, True), ("rgb_only", True, False)):
            rows.append({"variant": v, "seed": s, "rgb": rgb, "pose": pose, "pose_guidance": pose,
                         "cross_attention": True, "gate": pose, "trained": True, "top1": 0.5 + 0.1 * s,
                         "top5": 0.9, "mean_class_acc": 0.4, "val_top1": 0.45, "trainable_params": 10,
                         "train_s": 1.0, "run_dir": f"/runs/{v}-{s}"})
    return pd.DataFrame(rows)


def test_summary_over_seeds():
    table = summarise_seeds(_runs([0, 1]))
    assert list(table["variant"]) == ["full", "rgb_only"]
    full = table.set_index("variant").loc["full"]
    assert full["top1"] == pytest.approx(0.55) and full["top1_std"] == pytest.approx(0.0707, abs=1e-4)
    assert full["n_seeds"] == 2 and full["run_dir"] == "/runs/full-0"
    md = markdown_table(table)
    assert "| full | \u2713 | \u2713 | \u2713 | \u2713 | \u2713 | 55.0 \u00b1 7.1 |" in md and "over 2 seeds" in md


def test_single_seed_has_no_spread():
    md = markdown_table(summarise_seeds(_runs([0])))
    assert "\u00b1" not in md and "| rgb_only | \u2717 | \u2713 | \u2717 | \u2713 | \u2717 | 50.0 |" in md


def test_mermaid_chart_has_one_bar_per_variant():
    chart = mermaid_chart(summarise_seeds(_runs([0, 1])))
    assert chart.startswith("```mermaid\nxychart-beta\n") and chart.rstrip().endswith("```")
    assert 'x-axis ["full", "rgb_only"]' in chart and "bar [55.0, " in chart
    assert 'y-axis "Top-1 (%)" 0 --> 100' in chart


def test_variant_config_replaces_only_the_ablation():
    base = TrainConfig(model_overrides={"backbone.token_grid": 4, "ablation": "no_gate"})
    assert variant_config(base, "full").model_overrides == {"backbone.token_grid": 4}
    assert variant_config(base, "rgb_only").model_overrides == {"backbone.token_grid": 4, "ablation": "rgb_only"}
