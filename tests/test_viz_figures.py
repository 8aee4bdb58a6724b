"""Plot helpers: the reductions are right and the figures are written as HTML."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from clipmg_lib.eval import metrics
from clipmg_lib.viz import results as plots, save as figure_save


def test_attention_over_frames_reduces_heads_and_queries():
    t, n = 2, 5  # 2 frames, CLS + 2x2 patches
    attn = np.zeros((2, 3, t * n))
    attn[:, 1, 0 * n + 3] = 0.75  # query 1 looks at frame 0, patch 2 (grid row 1, col 0)
    attn[:, 1, 1 * n + 0] = 0.25  # ... and at frame 1's CLS
    attn[:, 0, :] = 1 / (t * n)
    mass, cls, maps = plots.attention_over_frames(attn, t, query=1)
    np.testing.assert_allclose(mass, [0.75, 0.25])
    np.testing.assert_allclose(cls, [0.0, 0.25])
    assert maps.shape == (2, 2, 2) and maps[0, 1, 0] == pytest.approx(0.75) and maps[1].sum() == 0
    mass_all, _, _ = plots.attention_over_frames(attn, t)
    assert mass_all.sum() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="not a multiple"):
        plots.attention_over_frames(attn, 3)


def test_pca_finds_the_dominant_direction():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 1)) * np.array([[3.0, 0, 0, 0]]) + rng.normal(scale=0.1, size=(200, 4))
    coords, explained = plots.pca_2d(x)
    assert explained[0] > 0.95 and coords.shape == (200, 2)
    assert abs(np.corrcoef(coords[:, 0], x[:, 0])[0, 1]) > 0.99


def test_figures_are_written(tmp_path):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 5, 60)
    scores = rng.normal(size=(60, 32)) + 3 * np.eye(32)[labels]
    history = pd.DataFrame({"epoch": [1, 2], "train_loss": [2.0, 1.5], "train_top1": [0.2, 0.4],
                            "val_loss": [2.1, 1.8], "val_top1": [0.2, 0.3], "val_top5": [0.5, 0.7],
                            "val_mean_class_acc": [0.1, 0.2], "lr": [1e-3, 1e-4]})
    table = metrics.per_class_table(scores, labels, train_counts=np.bincount(labels, minlength=32) * 3)
    figs = {
        "curves": plots.training_curves_figure(history),
        "cm": plots.confusion_matrix_figure(metrics.confusion_matrix(scores.argmax(1), labels)),
        "per_class": plots.per_class_accuracy_figure(table),
        "gate": plots.gate_by_class_figure(rng.uniform(size=(60, 8)), labels),
        "pca": plots.embedding_projection_figure(rng.normal(size=(60, 8)), labels, scores.argmax(1)),
        "attn": plots.attention_examples_figure([{"frames": np.zeros((2, 32, 32, 3), np.uint8),
                                                  "patch_maps": rng.uniform(size=(2, 2, 2)),
                                                  "frame_mass": np.array([0.5, 0.5]), "title": "x"}]),
        "ablation": plots.ablation_bar_figure(pd.DataFrame({"variant": ["a"], "top1": [0.5], "top5": [0.9],
                                                            "mean_class_acc": [0.4]})),
    }
    # only the classes present are drawn in the confusion matrix
    assert len(figs["cm"].data[0].x) == len(np.unique(np.r_[labels, scores.argmax(1)]))
    for name, fig in figs.items():
        path = figure_save.save_figure(fig, tmp_path, name, png=False)  # the real PNG export: test_png_export_for_real
        assert path.read_text().count("<html") == 1
    assert (tmp_path / "figures" / "plotly.min.js").stat().st_size > 1_000_000
    assert sorted(p.name for p in (tmp_path / "figures").iterdir() if p.name.startswith(".")) == []  # no temp files left


def _bar():
    return go.Figure(go.Bar(x=["a", "b"], y=[1, 2]))


@pytest.mark.slow
def test_png_export_for_real(tmp_path):
    """Where kaleido and a browser are installed, the PNG is a real image (kaleido drives Chrome: slow)."""
    pytest.importorskip("kaleido")
    try:
        html = figure_save.save_figure(_bar(), tmp_path, "bar", png=True)
    except RuntimeError as e:
        pytest.skip(f"no static export here: {e}")
    assert html.with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_png_only_where_static_export_works(tmp_path, monkeypatch):
    monkeypatch.setattr(figure_save, "_png_export_ok", None)
    # no kaleido: HTML only, one warning saying what to install, and png=True raises
    monkeypatch.setattr(figure_save, "_kaleido_installed", lambda: False)
    with pytest.warns(RuntimeWarning, match="kaleido is not installed"):
        html = figure_save.save_figure(_bar(), tmp_path, "a")
    assert html.is_file() and not html.with_suffix(".png").exists()
    with pytest.raises(RuntimeError, match="kaleido is not installed"):
        figure_save.save_figure(_bar(), tmp_path, "a", png=True)
    # kaleido and a browser: the PNG is written beside the HTML
    monkeypatch.setattr(figure_save, "_png_export_ok", None)
    monkeypatch.setattr(figure_save, "_kaleido_installed", lambda: True)
    monkeypatch.setattr(figure_save, "_start_png_server", lambda: None)
    calls = []

    def fake_write_image(self, path, format):
        calls.append(format)
        Path(path).write_bytes(b"\x89PNG\r\n")

    monkeypatch.setattr(go.Figure, "write_image", fake_write_image)
    assert figure_save.save_figure(_bar(), tmp_path, "b").with_suffix(".png").read_bytes().startswith(b"\x89PNG")
    # kaleido without a browser: one warning naming the system package, no partial file, no retry
    def no_browser(self, path, format):
        calls.append("fail")
        raise RuntimeError("Could not find Chrome")

    monkeypatch.setattr(figure_save, "_png_export_ok", None)
    monkeypatch.setattr(go.Figure, "write_image", no_browser)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        figure_save.save_figure(_bar(), tmp_path, "c")
        figure_save.save_figure(_bar(), tmp_path, "d")
    assert calls == ["png", "fail"]
    assert [str(w.message) for w in caught if "HTML only" in str(w.message)] == [
        "figures are written as HTML only, no PNG: plotly's static export failed (RuntimeError: Could not find "
        "Chrome); it needs a Chrome/Chromium: apt install chromium (Debian/Ubuntu), or set BROWSER_PATH to one"]
    assert sorted(p.name for p in (tmp_path / "figures").glob("*.png")) == ["b.png"]
