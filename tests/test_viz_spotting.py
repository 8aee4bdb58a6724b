"""The spotting timeline names every class in full, once, in a legend sized to hold all of them."""
from __future__ import annotations

import pandas as pd

from clipmg_lib.data.classes import class_names
from clipmg_lib.viz.spotting import spot_timeline_figure


def test_timeline_legend_has_every_class_in_full():
    names = class_names()
    classes = sorted(range(32), key=lambda c: -len(names[c]))[:8]  # the longest names, up to 50 characters
    gt = pd.DataFrame({"video": 1, "start_frame": [100 * k for k in range(8)],
                       "end_frame": [100 * k + 50 for k in range(8)], "class": classes, "score": 1.0})
    other = gt.assign(video=2)
    fig = spot_timeline_figure({"ground truth": gt, "predicted": pd.concat([gt.iloc[:3], other])}, 1)
    legend = [t.name for t in fig.data if t.showlegend]
    assert sorted(legend) == sorted(names[c] for c in classes) and max(map(len, legend)) == 50
    assert all(t.name in legend for t in fig.data)  # the predicted lane's traces share the entries
    assert fig.layout.legend.orientation == "h"
    few = spot_timeline_figure({"ground truth": gt.iloc[:2]}, 1)
    assert fig.layout.height > few.layout.height  # more legend rows, more room


def test_overlapping_spots_are_stacked_in_rows_of_their_lane():
    from clipmg_lib.viz.spotting import stack_rows

    # a long clip with one nested inside, one sharing its last frame, and one after both
    gt = pd.DataFrame({"video": 1, "start_frame": [0, 10, 40, 60], "end_frame": [40, 20, 50, 70],
                       "class": [30, 5, 7, 30], "score": 1.0})
    assert stack_rows(gt).tolist() == [0, 1, 1, 0]  # 40-50 shares frame 40 with 0-40; 10-20 has ended by then
    assert stack_rows(gt.iloc[[3, 0]]).tolist() == [0, 0]
    fig = spot_timeline_figure({"ground truth": gt, "predicted": gt.iloc[[3]]}, 1)
    lanes = {y for t in fig.data for y in t.y}
    assert lanes == {"ground truth", "ground truth · overlap 1", "predicted"}
    assert list(fig.layout.yaxis.categoryarray) == ["predicted", "ground truth · overlap 1", "ground truth"]
    rows = {}
    for t in fig.data:
        for y, base, width in zip(t.y, t.base, t.x):
            rows.setdefault(y, []).append((base, base + width))
    for spans in rows.values():
        spans.sort()
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))
