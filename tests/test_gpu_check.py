"""bench/gpu_check.py in its CPU --smoke mode on the three-video tiny root (the GPU mode runs the same steps)."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

import deadline_subprocess
from data_fixtures import make_tiny_imigue

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_gpu_check_smoke(tmp_path):
    root = tmp_path / "imigue"
    make_tiny_imigue(root)
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1", "CLIPMG_RESULTS_DIR": str(tmp_path / "res"),
           "CLIPMG_CACHE_DIR": str(tmp_path / "cache")}
    proc = deadline_subprocess.run([sys.executable, "-m", "bench.gpu_check", "--smoke", "--dataset-root", str(root),
                                    "--out", str(out)], timeout=540, cwd=REPO, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads((out / "gpu_check.json").read_text())
    assert report["mode"].startswith("smoke") and report["train"]["epochs"] == 1
    assert report["inference"]["best_clips_per_s"] > 0
    assert report["spotting"]["frames"] == 70 and report["spotting"]["frames_per_s"] > 0
