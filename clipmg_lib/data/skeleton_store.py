"""Memory-mappable skeletons: a one-time conversion of a root's skeleton files into ``.npy`` arrays outside it.

``python -m clipmg_lib.data.skeleton_store --root ROOT [--out DIR] [--workers 2]``

Why: every DataLoader worker that reads whole-video skeletons keeps its own copy (all of iMiGUE: 0.8 GB in
``openpose22``, 2.5 GB in ``light_hand35``, per worker), and a light_hand CSV takes ~1 s, an xlsx ~73 s, to
parse per video. An ``.npy`` opened with ``mmap_mode='r'`` is parsed by nobody and shared by every process
through the page cache.

On disk (default ``derived_dir(root, 'skeleton_npy')`` under the kit's cache dir, never inside the root)::

    {vid:04d}.npy            float32 (T, V, 3) x, y, confidence in the source's layout
    {vid:04d}.json           {"source", "source_bytes", "source_mtime_ns", "layout", "frames", ...}, written last
    {vid:04d}.{layout}.npy   the same frames in another layout (e.g. openpose22), made on first request

Each file is written atomically; a video whose ``.json`` matches its source file (path, size, mtime) is
skipped, so an interrupted conversion resumes, and a changed source is converted again. One progress bar per
file set (``skeletons -> npy``), never per row.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from concurrent.futures import as_completed
from pathlib import Path

import numpy as np

from ..core.atomic import atomic_open, atomic_path
from ..core.paths import derived_dir
from ..core.progress import progress_bar
from ..core.workers import process_pool
from .release_files import ReleaseFiles
from .skeleton import Skeleton, SkeletonFileError

log = logging.getLogger(__name__)

STORE_KIND = "skeleton_npy"
STORE_VERSION = 1


def store_dir(root: str | os.PathLike, cache: str | os.PathLike | None = None) -> Path:
    """Where the converted skeletons of ``root`` live (``<cache_dir>/skeleton_npy/<root>-<hash>``)."""
    return derived_dir(root, STORE_KIND, cache)


def _source_key(path: Path) -> dict:
    st = path.stat()
    if path.is_dir():  # a JSON folder: its entry count and newest file stand for its content
        names = [e for e in os.scandir(path)]
        return {"source": str(path), "source_bytes": len(names),
                "source_mtime_ns": max([e.stat().st_mtime_ns for e in names] + [st.st_mtime_ns])}
    return {"source": str(path), "source_bytes": st.st_size, "source_mtime_ns": st.st_mtime_ns}


def _meta_path(out: Path, vid: int) -> Path:
    return out / f"{int(vid):04d}.json"


def _array_path(out: Path, vid: int, layout: str | None = None) -> Path:
    return out / (f"{int(vid):04d}.npy" if layout is None else f"{int(vid):04d}.{layout}.npy")


def is_converted(out: Path, vid: int, source: Path) -> bool:
    """The store holds ``vid`` converted from ``source`` as it is now (same path, size and mtime)."""
    try:
        meta = json.loads(_meta_path(out, vid).read_text())
    except (OSError, ValueError):
        return False
    return (meta.get("version") == STORE_VERSION and _array_path(out, vid).is_file()
            and all(meta.get(k) == v for k, v in _source_key(source).items()))


def convert_video(source: str | os.PathLike, out: str | os.PathLike, vid: int) -> dict:
    """Read one skeleton file (any form :func:`~clipmg_lib.data.skeleton_io.read_skeleton` reads, xlsx and
    JSON without their own bars) and write ``{vid:04d}.npy`` then its ``.json``, atomically. Returns the meta."""
    from .skeleton_io import read_openpose_json_dir, read_openpose_xlsx, read_skeleton

    source, out = Path(source), Path(out)
    t0 = time.perf_counter()
    if source.is_dir():
        sk = read_openpose_json_dir(source, workers=1)
    elif source.suffix.lower() == ".xlsx":
        sk = read_openpose_xlsx(source)
    else:
        sk = read_skeleton(source)
    read_s = time.perf_counter() - t0
    with atomic_path(_array_path(out, vid)) as tmp:
        with open(tmp, "wb") as f:
            np.save(f, np.ascontiguousarray(sk.data, dtype=np.float32), allow_pickle=False)
    for stale in out.glob(f"{int(vid):04d}.*.npy"):  # derived layouts of an older source
        stale.unlink(missing_ok=True)
    meta = {"version": STORE_VERSION, "video": int(vid), **_source_key(source), "layout": sk.layout,
            "frames": sk.num_frames, "read_seconds": round(read_s, 3)}
    with atomic_open(_meta_path(out, vid)) as f:
        json.dump(meta, f)
    return meta


def convert_skeletons(root: str | os.PathLike | ReleaseFiles, out: str | os.PathLike | None = None,
                      videos: list[int] | None = None, workers: int = 1, progress: bool = True) -> dict:
    """Convert every video's skeleton (the file :meth:`ReleaseFiles.skeleton_path` picks) into the store.

    Resumable (converted videos whose source is unchanged are skipped) and atomic per file. ``workers`` > 1
    uses :func:`clipmg_lib.core.workers.process_pool`. Returns ``{out, converted, skipped, seconds}``.
    """
    layout = root if isinstance(root, ReleaseFiles) else ReleaseFiles(root)
    out = Path(out) if out is not None else store_dir(layout.root)
    out.mkdir(parents=True, exist_ok=True)
    vids = sorted(int(v) for v in (videos if videos is not None else layout.skeleton_videos()))
    todo, skipped = [], 0
    for vid in vids:
        try:
            source = layout.skeleton_path(vid)
        except FileNotFoundError:
            continue  # the clip index reports missing skeletons; nothing to convert
        if is_converted(out, vid, source):
            skipped += 1
        else:
            todo.append((source, vid))
    started = time.perf_counter()
    bar = progress_bar(total=len(todo), desc="skeletons -> npy", unit="video", disable=not progress or not todo)
    errors = []
    if workers <= 1 or len(todo) <= 1:
        for source, vid in todo:
            try:
                convert_video(source, out, vid)
            except SkeletonFileError as exc:
                errors.append(str(exc))
            bar.update()
    else:
        with process_pool(min(workers, len(todo))) as pool:
            futures = [pool.submit(convert_video, source, out, vid) for source, vid in todo]
            for fut in as_completed(futures):
                try:
                    fut.result()
                except SkeletonFileError as exc:
                    errors.append(str(exc))
                bar.update()
    bar.close()
    if errors:
        raise SkeletonFileError(f"{len(errors)} skeleton file(s) could not be converted:\n  " + "\n  ".join(errors))
    return {"out": str(out), "converted": len(todo), "skipped": skipped,
            "seconds": round(time.perf_counter() - started, 2)}


class SkeletonStore:
    """Read-only access to converted skeletons: :meth:`skeleton` gives a memory-mapped :class:`Skeleton`.

    ``folder``: the store folder (:meth:`for_root` finds a root's). Arrays are opened with
    ``np.load(mmap_mode='r')``: no parsing, no private copy; every process mapping the file shares its pages.
    """

    def __init__(self, folder: str | os.PathLike) -> None:
        self.dir = Path(folder)
        if not self.dir.is_dir():
            raise FileNotFoundError(f"{self.dir}: no converted skeletons here; run python -m "
                                    f"clipmg_lib.data.skeleton_store --root ROOT")

    @classmethod
    def for_root(cls, root: str | os.PathLike, cache: str | os.PathLike | None = None) -> "SkeletonStore":
        """The store of a dataset root (:func:`store_dir`)."""
        return cls(store_dir(root, cache))

    def __repr__(self) -> str:
        return f"SkeletonStore({str(self.dir)!r})"

    def meta(self, vid: int) -> dict:
        path = _meta_path(self.dir, vid)
        try:
            return json.loads(path.read_text())
        except FileNotFoundError:
            raise FileNotFoundError(f"{path}: video {vid} is not converted (run python -m clipmg_lib.data.skeleton_store"
                                    f" --root ROOT)") from None

    def has(self, vid: int) -> bool:
        return _meta_path(self.dir, vid).is_file() and _array_path(self.dir, vid).is_file()

    def skeleton(self, vid: int, layout: str | None = None, img_shape: tuple[int, int] | None = None) -> Skeleton:
        """Video ``vid``'s whole skeleton, memory-mapped: (T, V, 3) float32 in ``layout`` (None: the source's).

        Another layout than the source's is converted once and written beside it (atomically: concurrent
        workers may both write it; the second replace is harmless), then mapped too.
        """
        meta = self.meta(vid)
        src_layout = meta["layout"]
        path = _array_path(self.dir, vid)
        if layout is not None and layout != src_layout:
            derived = _array_path(self.dir, vid, layout)
            if not derived.is_file():
                from .joint_layouts import convert

                data = convert(np.load(path, mmap_mode="r", allow_pickle=False), src_layout, layout)
                with atomic_path(derived) as tmp:
                    with open(tmp, "wb") as f:
                        np.save(f, np.ascontiguousarray(data, dtype=np.float32), allow_pickle=False)
            path = derived
        data = np.load(path, mmap_mode="r", allow_pickle=False)
        return Skeleton(data, layout or src_layout, img_shape, f"{meta['source']} (converted: {path})")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m clipmg_lib.data.skeleton_store", description=__doc__.split("\n")[0])
    ap.add_argument("--root", required=True, help="dataset root (read-only)")
    ap.add_argument("--out", default=None, help="store folder (default: under the kit's cache dir)")
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        r = convert_skeletons(args.root, args.out, workers=args.workers)
    except (SkeletonFileError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{r['out']}: {r['converted']} converted, {r['skipped']} already there ({r['seconds']:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
