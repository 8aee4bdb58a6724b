"""Figure of how alike the pose encoder's clip embeddings are (notebook 04)."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go


def _as_np(x) -> np.ndarray:
    return x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)


def centred_cosine(embeddings, order: Sequence[int] | None = None) -> np.ndarray:
    """Cosine similarity (N, N) of the rows of ``embeddings`` (N, D) after subtracting their mean row, rows and
    columns in ``order`` (default: as given).

    An untrained encoder maps every clip near one direction (raw cosines all near 1); centring shows the
    differences between clips that remain. The mean is taken in the input's own dtype and library (torch or
    numpy) before reordering, then the cosines in float64."""
    centred = _as_np(embeddings - embeddings.mean(0))
    if order is not None:
        centred = centred[np.asarray(order)]
    e = centred.astype(np.float64)
    e = e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)
    return e @ e.T


def pose_embedding_similarity_figure(embeddings, labels: Sequence[int], sample_ids: Sequence[str],
                                     title: str = "cosine similarity of the centred pose embeddings "
                                                  "p - mean(p) (untrained encoder), by label") -> go.Figure:
    """Heatmap of :func:`centred_cosine` of ``embeddings`` (N, D), rows and columns sorted by label (stable).

    ``labels``: (N,) ints; ``sample_ids``: N names; each axis tick reads ``"<sample_id> · <label>"``."""
    labels = np.asarray(_as_np(labels)).astype(int)
    order = np.argsort(labels, kind="stable")
    names = [f"{sample_ids[j]} · {labels[j]}" for j in order]
    z = centred_cosine(embeddings if hasattr(embeddings, "detach") else np.asarray(embeddings), order)
    fig = go.Figure(go.Heatmap(z=z, x=names, y=names, colorscale="RdBu", zmid=0))
    fig.update_layout(title=title, height=600, width=760, yaxis=dict(autorange="reversed"),
                      xaxis_title="clip · label", yaxis_title="clip · label")
    return fig
