"""Plotly figures of skeletons: joints over frames, animations, two sources compared, motion, heatmap volumes.

Joints are coloured by the PERSON's side (``joint_layouts.JointLayout.sides``): left blue, right red, centre
green, so a left/right mix-up shows at a glance. Frames are embedded as PNG data URIs (small HTML).
Save with :func:`clipmg_lib.viz.save.save_figure`.
"""
from __future__ import annotations

import base64
import io
from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..data.joint_layouts import get_layout

SIDE_COLOURS = {"L": "#1f77b4", "R": "#d62728", "C": "#2ca02c"}
SOURCE_COLOURS = ("#ff7f0e", "#9467bd", "#17becf", "#8c564b")


def _png_uri(img: np.ndarray) -> str:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.asarray(img, dtype=np.uint8)).save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def skeleton_traces(xy: np.ndarray, score: np.ndarray, layout: str, name: str = "",
                    colour: str | None = None, show_missing: bool = False) -> list[go.Scatter]:
    """Limb lines and joint markers of one frame: ``xy`` (V, 2) pixels, ``score`` (V,).

    ``colour``: one colour for the whole skeleton (comparisons); None colours joints by person side.
    Missing joints (score 0) are left out unless ``show_missing``.
    """
    lay = get_layout(layout)
    seen = score > 0 if not show_missing else np.ones_like(score, bool)
    lx, ly = [], []
    for a, b in lay.limbs:
        if seen[a] and seen[b]:
            lx += [xy[a, 0], xy[b, 0], None]
            ly += [xy[a, 1], xy[b, 1], None]
    idx = np.flatnonzero(seen)
    text = [f"{lay.names[j]} (OpenPose {lay.openpose_names[j]}, side {lay.sides[j]})<br>conf {score[j]:.2f}"
            for j in idx]
    marker_colour = colour or [SIDE_COLOURS[lay.sides[j]] for j in idx]
    return [
        go.Scatter(x=lx, y=ly, mode="lines", line=dict(color=colour or "rgba(255,255,255,0.8)", width=2),
                   hoverinfo="skip", showlegend=False, name=f"{name} limbs"),
        go.Scatter(x=xy[idx, 0], y=xy[idx, 1], mode="markers", name=name or "joints", text=text,
                   hoverinfo="text", showlegend=bool(name),
                   marker=dict(size=7, color=marker_colour, line=dict(color="black", width=1))),
    ]


def _square_pixels(fig: go.Figure, row: int, col: int, ncols: int) -> str:
    """Anchor a subplot's y axis to its own x axis (square pixels); returns that x axis' id."""
    k = (row - 1) * ncols + col
    x_id = "x" if k == 1 else f"x{k}"
    fig.update_yaxes(scaleanchor=x_id, scaleratio=1, row=row, col=col)
    return x_id


def _image_axes(fig: go.Figure, row: int, col: int, shape: tuple[int, int], ncols: int) -> None:
    h, w = shape
    fig.update_xaxes(range=[-0.5, w - 0.5], visible=False, row=row, col=col)
    fig.update_yaxes(range=[h - 0.5, -0.5], visible=False, row=row, col=col)
    _square_pixels(fig, row, col, ncols)


def frames_with_skeletons_figure(frames: np.ndarray, joints: Sequence[np.ndarray] | np.ndarray, layout: str,
                                 titles: Sequence[str] | None = None, cols: int = 4,
                                 names: Sequence[str] | None = None, title: str = "") -> go.Figure:
    """Frames (N, H, W, 3) with one or more skeletons drawn over each.

    ``joints``: (N, V, 3) x/y/conf in the frames' pixels, or a list of such arrays (several sources,
    one colour each, named by ``names``).
    """
    sets = [np.asarray(joints)] if np.asarray(joints[0]).ndim == 2 else [np.asarray(j) for j in joints]
    n = len(frames)
    cols = min(cols, n)
    rows = int(np.ceil(n / cols))
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=list(titles) if titles else None,
                        horizontal_spacing=0.01, vertical_spacing=0.06)
    h, w = frames.shape[1:3]
    for i in range(n):
        r, c = i // cols + 1, i % cols + 1
        fig.add_trace(go.Image(source=_png_uri(frames[i]), hoverinfo="skip"), r, c)
        for k, joints_k in enumerate(sets):
            colour = None if len(sets) == 1 else SOURCE_COLOURS[k % len(SOURCE_COLOURS)]
            label = (names[k] if names else "") if i == 0 else ""
            for tr in skeleton_traces(joints_k[i, :, :2], joints_k[i, :, 2], layout, label, colour):
                fig.add_trace(tr, r, c)
        _image_axes(fig, r, c, (h, w), cols)
    fig.update_layout(title=title, height=max(260, int(rows * 320 * h / max(w, 1))), margin=dict(l=10, r=10, t=60, b=10))
    return fig


def skeleton_animation_figure(keypoint: np.ndarray, score: np.ndarray, layout: str,
                              img_shape: tuple[int, int] | None = None, frame_labels: Sequence | None = None,
                              title: str = "", fps: float = 25.0) -> go.Figure:
    """An animated skeleton: ``keypoint`` (T, V, 2) pixels, ``score`` (T, V); play button and slider.

    The view is the clip's joint box (micro-gestures are small: the whole frame would hide them).
    """
    t_len = len(keypoint)
    labels = [str(f) for f in (frame_labels if frame_labels is not None else range(t_len))]
    seen = score > 0
    pts = keypoint[seen] if seen.any() else np.zeros((1, 2))
    lo, hi = pts.min(0), pts.max(0)
    pad = 0.15 * max(float((hi - lo).max()), 1.0)
    x_range, y_range = [lo[0] - pad, hi[0] + pad], [hi[1] + pad, lo[1] - pad]
    frames = [go.Frame(data=skeleton_traces(keypoint[t], score[t], layout), name=labels[t]) for t in range(t_len)]
    fig = go.Figure(data=frames[0].data if frames else [], frames=frames)
    ms = int(1000 / fps)
    fig.update_layout(
        title=title, height=520, width=520, xaxis=dict(range=x_range, visible=False),
        yaxis=dict(range=y_range, visible=False, scaleanchor="x"), plot_bgcolor="#222",
        updatemenus=[dict(type="buttons", x=0.0, y=-0.02, xanchor="left", yanchor="top", direction="left", buttons=[
            dict(label="play", method="animate",
                 args=[None, dict(frame=dict(duration=ms, redraw=False), fromcurrent=True, transition=dict(duration=0))]),
            dict(label="pause", method="animate",
                 args=[[None], dict(mode="immediate", frame=dict(duration=0, redraw=False))])])],
        sliders=[dict(active=0, y=-0.02, x=0.2, len=0.8, currentvalue=dict(prefix="frame "),
                      steps=[dict(method="animate", label=lab,
                                  args=[[lab], dict(mode="immediate", frame=dict(duration=0, redraw=False))])
                             for lab in labels])])
    if img_shape is not None:
        fig.add_annotation(text=f"video {img_shape[1]}x{img_shape[0]} px; view cropped to the joints",
                           xref="paper", yref="paper", x=1, y=1.05, showarrow=False, font=dict(size=10))
    return fig


def joint_trajectories_figure(keypoint: np.ndarray, score: np.ndarray, layout: str, joints: Sequence[str],
                              names: Sequence[str] = ("",), title: str = "") -> go.Figure:
    """x and y over time of a few joints (release or OpenPose names), for one or more sources.

    ``keypoint`` (T, V, 2) or a list of them with ``score`` likewise; missing frames are gaps.
    """
    lay = get_layout(layout)
    kps = [keypoint] if np.asarray(keypoint).ndim == 3 and not isinstance(keypoint, list) else list(keypoint)
    scs = [score] if np.asarray(score).ndim == 2 and not isinstance(score, list) else list(score)
    fig = make_subplots(rows=1, cols=2, subplot_titles=("x (px)", "y (px)"))
    for k, (kp, sc) in enumerate(zip(kps, scs)):
        for j, joint in enumerate(joints):
            v = lay.index(joint)
            for axis in (0, 1):
                y = np.where(sc[:, v] > 0, kp[:, v, axis], np.nan)
                fig.add_trace(go.Scatter(y=y, mode="lines", name=f"{names[k]} {joint}".strip(),
                                         legendgroup=f"{k}-{joint}", showlegend=axis == 0,
                                         line=dict(dash=["solid", "dot", "dash", "dashdot"][k % 4],
                                                   color=SOURCE_COLOURS[j % len(SOURCE_COLOURS)])), 1, axis + 1)
    fig.update_xaxes(title_text="frame")
    fig.update_yaxes(title_text="x (px)", row=1, col=1)
    fig.update_yaxes(title_text="y (px)", row=1, col=2)
    fig.update_layout(title=title, height=360)
    return fig


def motion_heatmap_figure(class_table: pd.DataFrame, title: str = "", unit: str = "shoulder widths") -> go.Figure:
    """Class x joint heatmap of a motion measure (``clipmg_lib.pose.motion.class_motion_table``)."""
    ylabels = [f"{lab}: {name}" for lab, name in class_table.index]
    fig = go.Figure(go.Heatmap(z=class_table.to_numpy(dtype=float), x=list(class_table.columns), y=ylabels,
                               colorscale="Viridis", colorbar=dict(title=unit)))
    fig.update_layout(title=title, height=max(320, 26 * len(ylabels) + 160), yaxis=dict(autorange="reversed"),
                      xaxis=dict(tickangle=-60), margin=dict(l=260), xaxis_title="joint", yaxis_title="class")
    return fig


def heatmap_frames_figure(heatmap: np.ndarray, frame_labels: Sequence | None = None, channels: Sequence[int] | None = None,
                          title: str = "", cols: int = 8) -> go.Figure:
    """A heatmap volume (C, T, H, W) as one image per frame: the max over ``channels`` (default all)."""
    vol = np.asarray(heatmap)
    vol = vol if channels is None else vol[list(channels)]
    per_frame = vol.max(axis=0)                                             # (T, H, W)
    t_len = per_frame.shape[0]
    labels = [str(f) for f in (frame_labels if frame_labels is not None else range(t_len))]
    cols = min(cols, t_len)
    rows = int(np.ceil(t_len / cols))
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[f"frame {f}" for f in labels],
                        horizontal_spacing=0.01, vertical_spacing=0.08)
    for t in range(t_len):
        fig.add_trace(go.Heatmap(z=per_frame[t], zmin=0, zmax=1, colorscale="Inferno", showscale=t == 0), t // cols + 1,
                      t % cols + 1)
        _square_pixels(fig, t // cols + 1, t % cols + 1, cols)
    fig.update_yaxes(autorange="reversed", visible=False)
    fig.update_xaxes(visible=False)
    fig.update_layout(title=title, height=160 * rows + 120)
    return fig


def heatmap_channels_figure(heatmap: np.ndarray, t: int, names: Sequence[str], channels: Sequence[int] | None = None,
                            title: str = "", cols: int = 8) -> go.Figure:
    """Single channels (joints or limbs, named by ``names``) of a volume (C, T, H, W) at frame index ``t``."""
    channels = list(range(len(names))) if channels is None else list(channels)
    cols = min(cols, len(channels))
    rows = int(np.ceil(len(channels) / cols))
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[names[c] for c in channels],
                        horizontal_spacing=0.01, vertical_spacing=0.08)
    for i, c in enumerate(channels):
        fig.add_trace(go.Heatmap(z=heatmap[c, t], zmin=0, zmax=1, colorscale="Inferno", showscale=i == 0),
                      i // cols + 1, i % cols + 1)
        _square_pixels(fig, i // cols + 1, i % cols + 1, cols)
    fig.update_yaxes(autorange="reversed", visible=False)
    fig.update_xaxes(visible=False)
    fig.update_annotations(font_size=10)
    fig.update_layout(title=title, height=150 * rows + 120)
    return fig
