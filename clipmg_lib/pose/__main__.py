"""``python -m clipmg_lib.pose``: mediapipe skeletons for video files, an id mapping or a whole dataset (see :mod:`.extract`).

    python -m clipmg_lib.pose --dataset-root /data/imigue [--workers 4]   # -> <cache>/mediapipe_skeleton/imigue-<hash>
    python -m clipmg_lib.pose my_clip.mov other.mp4 --out /tmp/pose     # -> /tmp/pose/my_clip/my_clip_light_hand.csv
    python -m clipmg_lib.pose --ids ids.csv --out /tmp/pose             # -> /tmp/pose/0298/0298_light_hand.csv

The file stays importable (``main``); ``python -m clipmg_lib.pose.extract`` runs the same command.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..data.release_files import MEDIAPIPE_DIR, ReleaseFiles, video_key
from .extract import dataset_videos, extract_folder, find_videos, read_id_mapping


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m clipmg_lib.pose", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="mediapipe skeletons (light_hand35 CSVs) for video files or a whole dataset, cached per "
                    "video and resumable. Nothing is written inside a dataset root.",
        epilog="examples:\n  python -m clipmg_lib.pose --dataset-root /data/imigue --workers 4\n"
               "  python -m clipmg_lib.pose my_clip.mov folder_of_videos/ --out /tmp/pose\n"
               "  python -m clipmg_lib.pose --ids ids.csv --out /tmp/pose   # columns video,path")
    ap.add_argument("inputs", nargs="*", help="video files (any name) or folders of videos; keys = file stems")
    ap.add_argument("--dataset-root", default=None,
                    help="iMiGUE root: every video of its layout, ids from the layout (default when no input)")
    ap.add_argument("--ids", default=None, help="explicit {video id: path} mapping: CSV video,path or JSON")
    ap.add_argument("--videos", default=None, help=argparse.SUPPRESS)  # the old spelling of one folder input
    ap.add_argument("--out", default=None, help="output folder (default: for a dataset, paths.derived_dir(root, "
                                                "'mediapipe_skeleton'); for files, <cache>/mediapipe_skeleton/files)")
    ap.add_argument("--only", nargs="*", default=None, help="video ids (or file stems) to extract")
    ap.add_argument("--chunk-size", type=int, default=250)
    ap.add_argument("--decode-max-side", type=int, default=None)
    ap.add_argument("--no-hands", action="store_true", help="body only (fingertips missing), faster")
    ap.add_argument("--overwrite", action="store_true")
    ap.add_argument("--workers", type=int, default=1, help="videos extracted at once (processes)")
    ap.add_argument("--keep-going", action="store_true", help="record a failing video and go on")
    args = ap.parse_args(argv)
    from ..core.paths import cache_dir, dataset_root

    inputs = args.inputs + ([args.videos] if args.videos else [])
    try:
        if args.ids:
            table = read_id_mapping(args.ids)
            out = Path(args.out) if args.out else cache_dir() / MEDIAPIPE_DIR / "ids"
        elif inputs:
            table = find_videos(inputs)
            out = Path(args.out) if args.out else cache_dir() / MEDIAPIPE_DIR / "files"
        else:
            root = dataset_root(args.dataset_root)
            table = dataset_videos(root)
            out = Path(args.out) if args.out else ReleaseFiles(root).mediapipe_root
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.only:
        wanted = set(args.only)
        table = {v: p for v, p in table.items() if str(v) in wanted or video_key(v) in wanted}
    print(f"{len(table)} video(s) -> {out}", file=sys.stderr)
    result = extract_folder(table, out, overwrite=args.overwrite, chunk_size=args.chunk_size,
                            decode_max_side=args.decode_max_side, workers=args.workers,
                            keep_going=args.keep_going, hands=not args.no_hands)
    print(result.drop(columns=["path"]).to_string(index=False))
    return int(result["status"].str.startswith("failed").any())


if __name__ == "__main__":
    sys.exit(main())
