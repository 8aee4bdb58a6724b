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
