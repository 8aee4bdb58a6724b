"""Convert a root's slow skeleton forms (OpenPose xlsx, per-frame OpenPose JSON folders) to the fast one, the
light_hand CSV, written OUTSIDE the root; every reader then finds it (:meth:`ReleaseFiles.skeleton_path`).

    python -m clipmg_lib.data.convert --root /data/imigue [--out DIR] [--only 298] [--overwrite]

Each converted video goes to ``{out}/{vid:04d}/{vid:04d}_light_hand.csv`` (default ``out``:
:func:`clipmg_lib.core.paths.derived_dir` ``(root, 'light_hand')``, the layout's ``converted_root``). A video whose
root already holds a light_hand CSV is left alone; a finished one is skipped on a rerun (each file is written
atomically, so an interrupted run resumes). ``light_hand35`` keeps BODY_25 and the ten fingertips of the 137
OpenPose joints, every joint the kit's models read (``openpose22`` is a subset of it), and values are written
with 9 significant digits, so a converted video reads back exactly as the JSON folder does in that layout.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import pandas as pd

from .release_files import ReleaseFiles
from .skeleton_io import read_skeleton, write_light_hand_csv
from ..core.progress import progress_bar


def convertible_videos(layout: ReleaseFiles) -> dict[int, Path]:
    """{video id: its xlsx or OpenPose JSON folder} for every video of the root without a light_hand CSV in it."""
    out = {}
    for vid in sorted(set(layout.videos()) | set(layout.openpose_json_videos())):
        try:
            layout.light_hand_csv(vid)
            continue
        except FileNotFoundError:
            pass
        for locate in (layout.openpose_xlsx, layout.openpose_json_dir):
            try:
                out[vid] = locate(vid)
                break
            except FileNotFoundError:
                continue
    return out


def convert_root(root: str | os.PathLike | ReleaseFiles, out: str | os.PathLike | None = None,
                 only: list[int] | None = None, overwrite: bool = False, progress: bool = True) -> pd.DataFrame:
    """Convert every convertible video (see the module docstring); one row per video: video, source, csv,
    status ('converted' | 'skipped'), frames."""
    layout = root if isinstance(root, ReleaseFiles) else ReleaseFiles(root, converted_root=out)
    if out is not None and isinstance(root, ReleaseFiles):
        layout = ReleaseFiles(layout.root, converted_root=out)
    todo = convertible_videos(layout)
    if only:
        todo = {v: p for v, p in todo.items() if v in set(only)}
    rows = []
    for vid, source in progress_bar(todo.items(), desc="convert to light_hand CSV", unit="video", disable=not progress):
        csv = layout.converted_light_hand_csv_path(vid)
        if csv.is_file() and not overwrite:
            rows.append({"video": vid, "source": str(source), "csv": str(csv), "status": "skipped", "frames": None})
            continue
        skeleton = read_skeleton(source)
        csv.parent.mkdir(parents=True, exist_ok=True)
        write_light_hand_csv(csv, skeleton)
        rows.append({"video": vid, "source": str(source), "csv": str(csv), "status": "converted",
                     "frames": skeleton.num_frames})
    return pd.DataFrame(rows, columns=["video", "source", "csv", "status", "frames"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m clipmg_lib.data.convert", description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", required=True, help="iMiGUE root (read only)")
    ap.add_argument("--out", default=None, help="output folder (default: paths.derived_dir(root, 'light_hand'), "
                                                "where every reader looks)")
    ap.add_argument("--only", type=int, nargs="*", default=None, help="video ids")
    ap.add_argument("--overwrite", action="store_true")
    args = ap.parse_args(argv)
    if not Path(args.root).is_dir():
        print(f"error: {args.root}: dataset root not found", file=sys.stderr)
        return 2
    table = convert_root(args.root, args.out, args.only, args.overwrite)
    print(table.to_string(index=False) if len(table) else "nothing to convert (every video has a light_hand CSV)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
