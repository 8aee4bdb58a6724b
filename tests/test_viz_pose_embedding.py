"""The centred-cosine figure of notebook 04: values against a hand computation, rows sorted by label."""
from __future__ import annotations

import numpy as np
import torch

from clipmg_lib.viz.pose_embedding import centred_cosine, pose_embedding_similarity_figure


def test_centred_cosine_removes_the_common_direction():
    rng = np.random.default_rng(0)
    e = 100 + rng.normal(size=(5, 8))          # raw cosines all near 1
    raw = (e / np.linalg.norm(e, axis=1, keepdims=True)) @ (e / np.linalg.norm(e, axis=1, keepdims=True)).T
    assert raw.min() > 0.99
    c = e - e.mean(0)
    c /= np.linalg.norm(c, axis=1, keepdims=True)
    np.testing.assert_allclose(centred_cosine(e), c @ c.T)
    assert centred_cosine(e).min() < 0


def test_figure_sorts_by_label_stably_and_names_each_clip():
    rng = np.random.default_rng(1)
    p = torch.tensor(rng.normal(size=(4, 6)), dtype=torch.float32)
    labels = torch.tensor([3, 1, 3, 0])
    fig = pose_embedding_similarity_figure(p, labels, ["w", "x", "y", "z"])
    heat = fig.data[0]
    assert list(heat.x) == ["z · 0", "x · 1", "w · 3", "y · 3"] and list(heat.y) == list(heat.x)
    order = [3, 1, 0, 2]
    np.testing.assert_allclose(np.asarray(heat.z), centred_cosine(p.numpy()[order]), rtol=1e-5)
    # bit for bit what notebook 04 computed inline before: centre in torch float32, then reorder, then cosines
    inline = p[order] - p.mean(0)
    inline = inline.double().numpy() / np.linalg.norm(inline.double().numpy(), axis=1, keepdims=True)
    assert np.array_equal(np.asarray(heat.z), centred_cosine(p, order))
    np.testing.assert_allclose(np.asarray(heat.z), inline @ inline.T, rtol=0, atol=1e-15)
    assert fig.layout.title.text and fig.layout.xaxis.title.text and fig.layout.yaxis.title.text
