"""encode_clips / predict on a stand-in dataset of sample dicts, and the model figures."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest
import torch
from torch.utils.data import Dataset

from clipmg_lib.viz.model import (class_similarity_figure, cosine_matrix, gate_histogram_figure,
                                         query_shift_figure, top_predictions_figure)
from clipmg_lib.model import create_model
from clipmg_lib.model.inference import encode_clips, forward_encoded


class FakeClips(Dataset):
    """Sample dicts as ClipDataset + pose pipeline give them (uint8 frames, heatmap volume)."""

    def __init__(self, n: int, with_heatmap: bool = True):
        rng = np.random.default_rng(0)
        self.items = [{"sample_id": f"0001_{i}", "label": i % 32, "frame_inds": np.arange(8) + 10 * i,
                       "imgs": rng.integers(0, 255, (8, 112, 112, 3), dtype=np.uint8),
                       **({"heatmap": rng.random((22, 8, 56, 56), dtype=np.float32)} if with_heatmap else {})}
                      for i in range(n)]

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


@pytest.mark.slow
def test_encode_and_predict_match_a_direct_forward():
    model = create_model("clipmg_tiny").eval()
    data = FakeClips(5)
    batch = encode_clips(model, data, batch_size=2, progress=False)
    assert batch["tokens"].shape == (5, 8, 50, 64) and batch["heatmap"].shape == (5, 22, 8, 56, 56)
    assert batch["labels"].tolist() == [0, 1, 2, 3, 4] and batch["sample_ids"][4] == "0001_4"
    out = forward_encoded(model, batch, batch_size=3)
    with torch.no_grad():
        direct = model(frames=model.preprocess(np.stack([d["imgs"] for d in data.items])),
                       heatmap=torch.from_numpy(np.stack([d["heatmap"] for d in data.items])))
    torch.testing.assert_close(out["logits"], direct["logits"], rtol=1e-4, atol=1e-4)
    assert out["attn"].shape == (5, 4, 32, 400) and not model.training


def test_encode_clips_names_the_missing_input():
    with pytest.raises(ValueError, match="no 'heatmap'"):
        encode_clips(create_model("clipmg_tiny"), FakeClips(2, with_heatmap=False), progress=False)
    rgb = encode_clips(create_model("clipmg_tiny_rgb_only"), FakeClips(2, with_heatmap=False), progress=False)
    assert rgb["heatmap"] is None and rgb["tokens"].shape[0] == 2


def test_model_figures():
    emb = torch.nn.functional.normalize(torch.randn(32, 16), dim=-1)
    sim = cosine_matrix(emb)
    np.testing.assert_allclose(np.diag(sim), 1.0, rtol=1e-6)
    assert isinstance(class_similarity_figure(emb), go.Figure)
    fig = top_predictions_figure(torch.randn(3, 32), torch.tensor([0, 5, 31]), ["a", "b", "c"])
    assert len(fig.data) == 3
    base = torch.randn(32, 8)
    shift = query_shift_figure(base, base[None].repeat(4, 1, 1) * 1.5)
    np.testing.assert_allclose(shift.data[0].z, 0.5, rtol=1e-6)  # Q = 1.5 Q0 moves every query by half its length
    assert isinstance(gate_histogram_figure(torch.rand(4, 8)), go.Figure)
