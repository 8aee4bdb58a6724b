"""Two-process DDP (gloo, CPU, via torchrun) gives the same result as one process."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from clipmg_lib.eval.predictions import Predictions
from deadline_subprocess import run

WORKER = Path(__file__).with_name("ddp_toy_worker.py")


def _run(args: list[str], out: Path) -> None:
    # the worker imports train_toys from tests/; the caller's PYTHONPATH (the checkout under test) stays first
    paths = [p for p in (os.environ.get("PYTHONPATH"), str(WORKER.parent)) if p]
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=os.pathsep.join(paths))
    proc = run([sys.executable, *args, str(WORKER), str(out)], timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]


@pytest.mark.slow
def test_two_process_ddp_matches_one_process(tmp_path):
    _run([], tmp_path / "single")
    _run(["-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"], tmp_path / "ddp")
    one = json.loads((tmp_path / "single" / "metrics.json").read_text())["history"]
    two = json.loads((tmp_path / "ddp" / "metrics.json").read_text())["history"]
    for a, b in zip(one, two, strict=True):
        for key in ("train_loss", "val_loss"):
            assert abs(a[key] - b[key]) < 1e-4, (key, a[key], b[key])
        for key in ("train_top1", "val_top1", "val_top5", "val_mean_class_acc"):
            assert abs(a[key] - b[key]) < 1e-6, (key, a[key], b[key])
    p1 = Predictions.load(tmp_path / "single" / "val_predictions.npz")
    p2 = Predictions.load(tmp_path / "ddp" / "val_predictions.npz")
    # every val clip exactly once (69 clips over 2 ranks: the sampler pads one, the gather drops it)
    assert len(p2.index) == 69 and (p2.index == np.arange(69)).all()
    np.testing.assert_allclose(p1.logits, p2.logits, atol=1e-4)
    s1 = torch.load(tmp_path / "single" / "final_state.pt", weights_only=True)
    s2 = torch.load(tmp_path / "ddp" / "final_state.pt", weights_only=True)
    for name in s1:
        torch.testing.assert_close(s1[name], s2[name], atol=1e-5, rtol=1e-4)


@pytest.mark.slow
def test_the_cli_runs_under_torchrun_on_the_demo(small_demo, tmp_path):
    """The real entry point under torchrun (2 CPU processes, gloo): caches built once, a run that evaluates
    every test clip once and writes one submission."""
    from clipmg_lib.data.export import read_submission_csv
    from clipmg_lib.runs.train_model import load_index

    root = small_demo
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "clipmg_lib.runs.train", "--dataset-root", str(root), "--out", str(tmp_path / "run"),
           "--cache-dir", str(tmp_path / "cache"), "--quiet", "--set", "epochs=1", "--set", "batch_size=8",
           "--set", "train_views=1", "--set", "device=cpu"]
    proc = run(cmd, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert report["world_size"] == 2
    index = load_index(root)
    n_test = int((index["split"] == "test").sum())
    assert report["reports"]["test"]["n"] == n_test
    assert len(read_submission_csv(tmp_path / "run" / "submission_test.csv")) == n_test
