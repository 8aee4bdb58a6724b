"""What a spotting run hands a person: the spots as CSV and the timeline as HTML (+ PNG where plotly can).

    write_spot_outputs(spots, "results/spotting/talk", name="talk", ground_truth=None)
    # -> {'csv': .../talk_spots.csv, 'figure': .../figures/talk_timeline.html}
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..data.annotations import IMIGUE_FPS
from ..viz.save import save_figure
from ..viz.spotting import spot_timeline_figure
from ..eval.spotting_metrics import write_spots_csv


def write_spot_outputs(spots: pd.DataFrame, out_dir: str | Path, name: str = "spots",
                       ground_truth: pd.DataFrame | None = None,
                       fps: float = IMIGUE_FPS) -> dict[str, Path | list[Path]]:
    """Write ``out_dir/<name>_spots.csv`` (``video,start_frame,end_frame,class,score``) and one timeline
    figure per video (``out_dir/figures/<name>_timeline[_<video>].html``, ground truth as a second lane when
    given). Returns ``{'csv': path, 'figures': [paths]}``."""
    out_dir = Path(out_dir)
    csv = write_spots_csv(spots, out_dir / f"{name}_spots.csv")
    videos = sorted(set(spots["video"].astype(int)) | set(() if ground_truth is None else ground_truth["video"].astype(int)))
    figures = []
    for v in videos or [0]:
        lanes = {"predicted": spots} if ground_truth is None else {"ground truth": ground_truth, "predicted": spots}
        suffix = "" if len(videos) <= 1 else f"_{v}"
        figures.append(save_figure(spot_timeline_figure(lanes, v, fps=fps), out_dir, f"{name}_timeline{suffix}"))
    return {"csv": csv, "figures": figures}


def write_spotting_summary(path: str | Path, **tables) -> Path:
    """``tables`` (name -> DataFrame or JSON-able value) as one JSON file, atomically (e.g. results/09_spotting.json)."""
    import json

    from ..core.atomic import atomic_open

    out = {k: (v.to_dict(orient="records") if isinstance(v, pd.DataFrame) else v) for k, v in tables.items()}
    with atomic_open(path) as f:
        json.dump(out, f, indent=2, default=float)
    return Path(path)
