"""Where each iMiGUE file lives on disk, in the MiGA challenge layout.

::

    <root>/
      labels_20200831.csv                                   # official annotation CSV (optional)
      imigue_data_phase1/datasets/imigue_skeleton_train/{vid:04d}/{vid:04d}_label.csv
                                                                  /{vid:04d}_light_hand.csv
                                                                  /{vid:04d}_openpose.xlsx
      imigue_data_phase1/datasets/imigue_skeleton_validate/{vid:04d}/...
      imigue_data_phase2/imigue_skeleton_test/{vid:04d}/...
      imigue_rgb_phase1/train_data/{vid:04d}/{vid:04d}.mp4
      imigue_rgb_phase1/validation_data/{vid:04d}/{vid:04d}.mp4
      imigue_rgb_phase2/{vid:04d}/{vid:04d}.mp4
      mediapipe_skeleton/{vid:04d}/{vid:04d}_light_hand.csv   # read if present (the demo generator's); the kit
                                                            # writes its own extraction OUTSIDE the root
      Data/skeleton/raw/{vid}/{vid}_{frame:012d}_keypoints.json   # original iMiGUE OpenPose form (optional)
      Label/raw/{vid}.txt                                         # original iMiGUE raw labels (optional)

The folder a video sits in gives its split: ``train`` / ``val`` (MiGA validation) / ``test`` (phase 2).
The release is inconsistent about zero padding, so every lookup accepts a video id padded to 4 digits or
not, in folder and file names alike. The ``*_path(vid, split)`` methods give the canonical names that
writers (the demo generator, the pose extractor) use, which every lookup finds: padded to 4 everywhere,
as the MiGA starter code reads them (``os.path.join(folder, sample_id + '_light_hand.csv')`` with the
folder name as ``sample_id``).

A dataset root is read-only to the kit: the mediapipe skeletons the kit extracts live under ``mediapipe_root``
(default :func:`clipmg_lib.core.paths.derived_dir` ``(root, 'mediapipe_skeleton')``, in the cache folder), and the
light_hand CSVs that ``python -m clipmg_lib.data.convert`` makes of a root's xlsx or OpenPose JSON folders under
``converted_root`` (default ``derived_dir(root, 'light_hand')``). :meth:`ReleaseFiles.skeleton_path` reads, in
order: the root's light_hand CSV, a converted CSV, the root's xlsx, the root's OpenPose JSON folder.
"""
from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path

import numpy as np

SPLIT_SKELETON_DIRS = {
    "train": Path("imigue_data_phase1/datasets/imigue_skeleton_train"),
    "val": Path("imigue_data_phase1/datasets/imigue_skeleton_validate"),
    "test": Path("imigue_data_phase2/imigue_skeleton_test"),
}
SPLIT_RGB_DIRS = {
    "train": Path("imigue_rgb_phase1/train_data"),
    "val": Path("imigue_rgb_phase1/validation_data"),
    "test": Path("imigue_rgb_phase2"),
}
OFFICIAL_CSV_NAME = "labels_20200831.csv"
MEDIAPIPE_DIR = Path("mediapipe_skeleton")


def video_key(vid: int | str) -> str:
    """A video id as it appears in the names the kit writes: ``0298`` for the int id 298, a file stem as it is."""
    return f"{vid:04d}" if isinstance(vid, (int, np.integer)) else str(vid)


def mediapipe_csv_path(out_root: str | os.PathLike, vid: int | str) -> Path:
    """``{out_root}/{key}/{key}_light_hand.csv`` (key: :func:`video_key`): where the kit's mediapipe extraction
    writes a video's light_hand35 CSV (padded, as the MiGA starter code reads it; lookups also accept
    ``{vid}_light_hand.csv``)."""
    key = video_key(vid)
    return Path(out_root) / key / f"{key}_light_hand.csv"


def _id_names(vid: int) -> list[str]:
    """Spellings of a video id in names: as is, and zero-padded to 4 (one if they coincide)."""
    return list(dict.fromkeys([f"{int(vid):04d}", str(int(vid))]))


def _check_split(split: str) -> str:
    if split not in SPLIT_SKELETON_DIRS:
        raise ValueError(f"unknown split {split!r}; expected one of {list(SPLIT_SKELETON_DIRS)}")
    return split


class ReleaseFiles:
    """The MiGA on-disk layout of an iMiGUE root: find (or name, for writing) each video's files.

    ``root``: the dataset root. ``official_csv``: the annotation CSV if it is not ``<root>/labels_20200831.csv``.
    ``mediapipe_root``: where the kit's mediapipe skeletons are written and read first (default
    ``derived_dir(root, 'mediapipe_skeleton')``, outside the root); ``<root>/mediapipe_skeleton`` is read after it.
    Lookups of existing files (``label_csv``, ``video_path``, ...) raise ``FileNotFoundError`` listing the
    paths they tried. The folder scan is done once, on first use; call :meth:`refresh` after writing.
    """

    def __init__(self, root: str | os.PathLike, official_csv: str | os.PathLike | None = None,
                 mediapipe_root: str | os.PathLike | None = None,
                 converted_root: str | os.PathLike | None = None) -> None:
        self.root = Path(root)
        self._official_csv = Path(official_csv) if official_csv else None
        self._mediapipe_root = Path(mediapipe_root) if mediapipe_root else None
        self._converted_root = Path(converted_root) if converted_root else None

    @property
    def converted_root(self) -> Path:
        """Where ``clipmg_lib.data.convert`` writes this root's light_hand CSVs (outside the root)."""
        from ..core.paths import derived_dir

        return self._converted_root or derived_dir(self.root, "light_hand")

    def converted_light_hand_csv_path(self, vid: int) -> Path:
        """``{converted_root}/{vid:04d}/{vid:04d}_light_hand.csv`` (for the converter to write)."""
        return self.converted_root / f"{int(vid):04d}" / f"{int(vid):04d}_light_hand.csv"

    def converted_light_hand_csv(self, vid: int) -> Path:
        """The existing converted light_hand CSV of a video."""
        folders = [self.converted_root / n for n in _id_names(vid)]
        return self._find(folders, [f"{n}_light_hand.csv" for n in _id_names(vid)], "converted light_hand CSV", vid)

    def openpose_json_videos(self) -> list[int]:
        """Video ids with an OpenPose JSON folder ``Data/skeleton/raw/{vid}`` (the original release form)."""
        base = self.root / "Data" / "skeleton" / "raw"
        return sorted(int(e.name) for e in os.scandir(base) if e.is_dir() and e.name.isdigit()) if base.is_dir() else []

    @property
    def mediapipe_root(self) -> Path:
        """Where the kit's mediapipe extraction of this root is written (outside the root)."""
        from ..core.paths import derived_dir

        return self._mediapipe_root or derived_dir(self.root, MEDIAPIPE_DIR.name)

    def __repr__(self) -> str:
        return f"ReleaseFiles({str(self.root)!r})"

    # ---------------------------------------------------------------- canonical paths (for writers)
    @property
    def official_csv_path(self) -> Path:
        """The official annotation CSV (given, or ``<root>/labels_20200831.csv``); it may not exist."""
        return self._official_csv or self.root / OFFICIAL_CSV_NAME

    def has_official_csv(self) -> bool:
        return self.official_csv_path.is_file()

    def skeleton_dir(self, vid: int, split: str) -> Path:
        """Canonical skeleton folder ``.../imigue_skeleton_{split}/{vid:04d}``."""
        return self.root / SPLIT_SKELETON_DIRS[_check_split(split)] / f"{int(vid):04d}"

    def label_csv_path(self, vid: int, split: str) -> Path:
        return self.skeleton_dir(vid, split) / f"{int(vid):04d}_label.csv"

    def light_hand_csv_path(self, vid: int, split: str) -> Path:
        return self.skeleton_dir(vid, split) / f"{int(vid):04d}_light_hand.csv"

    def openpose_xlsx_path(self, vid: int, split: str) -> Path:
        return self.skeleton_dir(vid, split) / f"{int(vid):04d}_openpose.xlsx"

    def rgb_path(self, vid: int, split: str) -> Path:
        """Canonical mp4 ``{rgb split folder}/{vid:04d}/{vid:04d}.mp4``."""
        return self.root / SPLIT_RGB_DIRS[_check_split(split)] / f"{int(vid):04d}" / f"{int(vid):04d}.mp4"

    def mediapipe_light_hand_csv_path(self, vid: int) -> Path:
        """Where ``clipmg_lib.pose`` writes its light_hand35 CSV: ``{mediapipe_root}/{vid:04d}/{vid:04d}_light_hand.csv``."""
        return mediapipe_csv_path(self.mediapipe_root, int(vid))

    # ------------------------------------------------------------------------------ folder scan
    def refresh(self) -> None:
        """Forget the folder scan (after files were written)."""
        for name in ("_skeleton_dirs", "_rgb_dirs"):
            self.__dict__.pop(name, None)

    @staticmethod
    def _scan(base: Path, split: str, found: dict[int, tuple[str, Path]]) -> None:
        if not base.is_dir():
            return
        for entry in os.scandir(base):
            if entry.is_dir() and entry.name.isdigit():
                vid = int(entry.name)
                if vid in found and found[vid][1] != Path(entry.path):
                    raise ValueError(
                        f"video {vid} appears twice in the layout: {found[vid][1]} and {entry.path}")
                found[vid] = (split, Path(entry.path))

    @cached_property
    def _skeleton_dirs(self) -> dict[int, tuple[str, Path]]:
        found: dict[int, tuple[str, Path]] = {}
        for split, rel in SPLIT_SKELETON_DIRS.items():
            self._scan(self.root / rel, split, found)
        return found

    @cached_property
    def _rgb_dirs(self) -> dict[int, tuple[str, Path]]:
        found: dict[int, tuple[str, Path]] = {}
        for split, rel in SPLIT_RGB_DIRS.items():
            self._scan(self.root / rel, split, found)
        return found

    def videos(self, split: str | None = None) -> list[int]:
        """Video ids with a skeleton folder or an RGB folder (optionally of one split), sorted."""
        vids = {v for v, (s, _) in self._skeleton_dirs.items() if split is None or s == split}
        vids |= {v for v, (s, _) in self._rgb_dirs.items() if split is None or s == split}
        return sorted(vids)

    def skeleton_videos(self, split: str | None = None) -> list[int]:
        """Video ids with a skeleton folder (where ``{vid}_label.csv`` lives), sorted."""
        return sorted(v for v, (s, _) in self._skeleton_dirs.items() if split is None or s == split)

    def split_of_video(self, vid: int) -> str:
        """``train``, ``val`` or ``test``, from the folder the video's skeleton (else RGB) folder is in."""
        vid = int(vid)
        skel = self._skeleton_dirs.get(vid)
        rgb = self._rgb_dirs.get(vid)
        if skel and rgb and skel[0] != rgb[0]:
            raise ValueError(f"video {vid}: skeleton folder {skel[1]} ({skel[0]}) and RGB folder {rgb[1]} "
                             f"({rgb[0]}) disagree on the split")
        if skel or rgb:
            return (skel or rgb)[0]
        tried = [str(self.root / rel / n) for rel in SPLIT_SKELETON_DIRS.values() for n in _id_names(vid)]
        raise FileNotFoundError(f"video {vid} is not in the layout at {self.root}; looked for folders {tried}")

    # ---------------------------------------------------------------------------- file lookups
    def _find(self, folders: list[Path], names: list[str], what: str, vid: int) -> Path:
        tried = [folder / name for folder in folders for name in names]
        for path in tried:
            if path.is_file():
                return path
        raise FileNotFoundError(f"{what} of video {vid} not found; looked for: {', '.join(map(str, tried))}")

    def _skeleton_folders(self, vid: int) -> list[Path]:
        vid = int(vid)
        if vid in self._skeleton_dirs:
            return [self._skeleton_dirs[vid][1]]
        return [self.root / rel / n for rel in SPLIT_SKELETON_DIRS.values() for n in _id_names(vid)]

    def _skeleton_file(self, vid: int, suffix: str, what: str) -> Path:
        return self._find(self._skeleton_folders(vid), [f"{n}_{suffix}" for n in _id_names(vid)], what, vid)

    def label_csv(self, vid: int) -> Path:
        """The existing ``{vid}_label.csv`` of a video."""
        return self._skeleton_file(vid, "label.csv", "label CSV")

    def light_hand_csv(self, vid: int) -> Path:
        """The existing ``{vid}_light_hand.csv`` of a video."""
        return self._skeleton_file(vid, "light_hand.csv", "light_hand skeleton CSV")

    def openpose_xlsx(self, vid: int) -> Path:
        """The existing ``{vid}_openpose.xlsx`` of a video."""
        return self._skeleton_file(vid, "openpose.xlsx", "OpenPose xlsx")

    def mediapipe_light_hand_csv(self, vid: int) -> Path:
        """The existing mediapipe ``{vid}_light_hand.csv``: under ``mediapipe_root``, else ``<root>/mediapipe_skeleton``."""
        folders = [base / n for base in (self.mediapipe_root, self.root / MEDIAPIPE_DIR) for n in _id_names(vid)]
        return self._find(folders, [f"{n}_light_hand.csv" for n in _id_names(vid)], "mediapipe skeleton CSV", vid)

    def video_path(self, vid: int) -> Path:
        """The existing mp4 of a video (``{vid}.mp4`` in its RGB folder)."""
        vid = int(vid)
        if vid in self._rgb_dirs:
            folders = [self._rgb_dirs[vid][1]]
        else:
            folders = [self.root / rel / n for rel in SPLIT_RGB_DIRS.values() for n in _id_names(vid)]
        return self._find(folders, [f"{n}.mp4" for n in _id_names(vid)], "RGB video", vid)

    def openpose_json_dir(self, vid: int) -> Path:
        """The original release's per-frame OpenPose JSON folder ``Data/skeleton/raw/{vid}``."""
        tried = [self.root / "Data" / "skeleton" / "raw" / n for n in _id_names(vid)]
        for path in tried:
            if path.is_dir():
                return path
        raise FileNotFoundError(f"OpenPose JSON folder of video {vid} not found; looked for: {', '.join(map(str, tried))}")

    def raw_label_txt(self, vid: int) -> Path:
        """The original release's ``Label/raw/{vid}.txt``."""
        return self._find([self.root / "Label" / "raw"], [f"{n}.txt" for n in _id_names(vid)], "raw label file", vid)

    def skeleton_path(self, vid: int) -> Path:
        """The best skeleton of a video: the root's light_hand CSV, else a converted one (``converted_root``),
        else the OpenPose xlsx, else the OpenPose JSON folder. ``FileNotFoundError`` lists every place tried."""
        errors = []
        for locate in (self.light_hand_csv, self.converted_light_hand_csv, self.openpose_xlsx, self.openpose_json_dir):
            try:
                return locate(vid)
            except FileNotFoundError as exc:
                errors.append(str(exc))
        raise FileNotFoundError("; ".join(errors))


def tree(root: str | os.PathLike, max_entries: int = 3, max_depth: int = 6) -> str:
    """A ``tree``-style listing of a dataset root: every top-level entry, then at most ``max_entries`` per
    folder (the rest summarised as ``... N more``); hidden files (temporary, manifests) are left out."""
    root = Path(root)
    lines = [f"{root}/"]

    def walk(folder: Path, prefix: str, depth: int) -> None:
        entries = sorted((p for p in folder.iterdir() if not p.name.startswith(".")),
                         key=lambda p: (not p.is_dir(), p.name))
        limit = len(entries) if depth == 1 else max_entries
        shown = entries[:limit]
        for k, entry in enumerate(shown):
            last = k == len(shown) - 1 and len(entries) <= limit
            lines.append(f"{prefix}{'└── ' if last else '├── '}{entry.name}{'/' if entry.is_dir() else ''}")
            if entry.is_dir() and depth < max_depth:
                walk(entry, prefix + ("    " if last else "│   "), depth + 1)
        if len(entries) > limit:
            n_dirs = sum(p.is_dir() for p in entries[limit:])
            rest = len(entries) - limit
            kind = "folders" if n_dirs == rest else "files" if n_dirs == 0 else "entries"
            lines.append(f"{prefix}└── ... {rest} more {kind}")

    if root.is_dir():
        walk(root, "", 1)
    return "\n".join(lines)
