"""Seek-friendly proxy copies of the full-length videos: small frames, a keyframe every few frames.

Why: an iMiGUE video is a 10-20 minute 1280x720 H.264 file with a keyframe only every few seconds.
Reading one clip's frames means decoding from the keyframe before the clip to its last sampled
frame - on average half a keyframe interval plus the clip, ~200 frames at 720p for 8 sampled frames -
whichever reader does it (decord, OpenCV, PyAV). That floor is set by the file, not by the reader.
A proxy re-encoded once with a keyframe every ``gop`` frames at short side 256 (the MMAction2
``resize_videos`` convention; CLIP then sees 224) makes every seek short and every decoded frame
~8x smaller; ``bench/bench_video.py`` measures the effect (docs/PERFORMANCE.md).

The proxy keeps every frame, in order, at the source frame rate, so frame index ``i`` in the proxy is
frame ``i`` of the source: clip indices and skeleton frames need no change. Only the pixel size
differs (``img_shape`` of keypoints stays the source's; :func:`proxy_info` returns it from the proxy's
metadata). A source whose decoded frame count differs from its container's count, or whose timestamps
are not evenly spaced, is refused with an error naming it, since indices would then drift.

    python -m clipmg_lib.data.video_proxy --root IMIGUE_ROOT --out data/cache/proxy   # every video of a dataset
    python -m clipmg_lib.data.video_proxy SRC_DIR_OR_FILES... --out data/cache/proxy [--short-side 256 --gop 16]

Then read them with ``ClipDataset(..., proxy_root='data/cache/proxy')`` (or ``ClipReader(proxy_root=...)``).
Each proxy is written atomically and finished ones are skipped, so a stopped run resumes where it stopped;
a video that cannot be made frame-exact is reported and skipped (exit status 1 at the end).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterable, Sequence

from ..core.atomic import atomic_path
from .video_writer import fixed_gop_options, write_h264


class ProxyError(ValueError):
    """A source video that cannot be turned into a frame-exact proxy; the message names the file."""


@dataclass(frozen=True)
class ProxySpec:
    """How proxies are encoded. ``gop``: keyframe interval (frames); ``crf``: x264 quality (lower = better)."""

    short_side: int = 256
    gop: int = 16
    crf: int = 20
    preset: str = "veryfast"

    @property
    def tag(self) -> str:
        """Folder name that keys the proxies by their spec (a change of spec never reuses stale files)."""
        return f"s{self.short_side}_g{self.gop}_crf{self.crf}"


def proxy_size(height: int, width: int, short_side: int) -> tuple[int, int]:
    """(H, W) with the short side ``short_side``, aspect kept, both even (required by yuv420p)."""
    if height <= width:
        h, w = short_side, width * short_side / height
    else:
        h, w = height * short_side / width, short_side
    return int(round(h / 2) * 2), int(round(w / 2) * 2)


def proxy_path(source: str | os.PathLike, out_root: str | os.PathLike, spec: ProxySpec = ProxySpec()) -> Path:
    """Where the proxy of ``source`` lives: ``<out_root>/<spec.tag>/<source stem>.mp4``."""
    return Path(out_root) / spec.tag / f"{Path(source).stem}.mp4"


def make_proxy(source: str | os.PathLike, dest: str | os.PathLike, spec: ProxySpec = ProxySpec(),
               progress: bool = True) -> Path:
    """Re-encode ``source`` into a frame-exact seek-friendly proxy at ``dest`` (atomic; skipped if present).

    Every decoded frame is resized (area interpolation) and re-encoded with pts = its index, H.264
    yuv420p, no B-frames, a keyframe exactly every ``spec.gop`` frames. The source's size, frame count
    (the container's, checked against the frames decoded) and fps are stored in the mp4's ``comment``
    metadata as JSON.
    """
    import av
    from ..core.progress import progress_bar

    source, dest = Path(source), Path(dest)
    if dest.exists():
        return dest
    if not source.is_file():
        raise FileNotFoundError(f"{source}: video file not found")
    try:
        inp = av.open(str(source))
    except (av.error.FFmpegError, OSError) as exc:
        raise ProxyError(f"{source}: cannot open as a video: {exc}") from None
    with inp, atomic_path(dest) as tmp:
        if not inp.streams.video:
            raise ProxyError(f"{source}: no video stream")
        ist = inp.streams.video[0]
        ist.thread_type = "AUTO"
        rate = ist.average_rate or ist.guessed_rate
        if not rate:
            raise ProxyError(f"{source}: frame rate unknown")
        rate = Fraction(rate).limit_denominator(1001)
        src_h, src_w = ist.codec_context.height, ist.codec_context.width
        h, w = proxy_size(src_h, src_w, spec.short_side)
        expected = int(ist.frames) or None
        meta = {"source": source.name, "source_height": src_h, "source_width": src_w, "num_frames": expected,
                "fps": float(rate), "spec": asdict(spec)}
        frames = inp.decode(ist)
        if progress:
            frames = progress_bar(frames, total=expected, desc=f"proxy {source.name}", unit="frame", leave=False,
                                  file=sys.stderr)
        decoded = [0]

        def resized():
            step, last_pts = None, None
            for frame in frames:
                n = decoded[0]
                if frame.pts is not None and last_pts is not None:
                    d = frame.pts - last_pts
                    if step is None:
                        step = d
                    elif d != step:
                        raise ProxyError(f"{source}: uneven timestamps at frame {n} (step {d} after {step}); "
                                         "a variable-frame-rate video would shift clip frame indices")
                last_pts = frame.pts
                small = frame.reformat(width=w, height=h, format="yuv420p", interpolation="AREA")
                small.pts, small.time_base = n, 1 / rate
                yield small
                decoded[0] += 1

        options = fixed_gop_options(spec.gop, bframes=0, crf=spec.crf, preset=spec.preset)
        try:  # the header takes the metadata before the first packet
            n = write_h264(tmp, resized(), width=w, height=h, fps=rate, options=options,
                           metadata={"comment": json.dumps(meta)}, atomic=False)
        except av.error.FFmpegError as exc:
            raise ProxyError(f"{source}: decoding failed at frame {decoded[0]}: {exc}") from None
        if n == 0:
            raise ProxyError(f"{source}: no frames decoded")
        if expected and n != expected:
            raise ProxyError(f"{source}: decoded {n} frames but the container says {expected}; "
                             "proxy frame indices would not match the source's")
    return dest


def proxy_info(path: str | os.PathLike) -> dict:
    """The source facts stored in a proxy (``source_height``, ``source_width``, ``num_frames``, ``fps``, ``spec``)."""
    import av

    with av.open(str(path)) as c:
        text = c.metadata.get("comment", "")
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise ProxyError(f"{path}: not a proxy made by clipmg_lib (no JSON in its 'comment' metadata)") from None


def make_proxies(sources: Iterable[str | os.PathLike], out_root: str | os.PathLike,
                 spec: ProxySpec = ProxySpec(), progress: bool = True,
                 errors: list[str] | None = None) -> list[Path]:
    """Proxies of many videos under ``<out_root>/<spec.tag>/``; finished ones are skipped, so a stopped run
    resumes with the next unfinished video (each proxy is written atomically).

    ``errors``: when a list is given, a video that fails (:class:`ProxyError`, missing file) is skipped and
    its message appended there; otherwise the first failure raises. Returns the proxies made or found.
    """
    from ..core.progress import progress_bar

    sources = [Path(s) for s in sources]
    dup = sorted(stem for stem, n in Counter(s.stem for s in sources).items() if n > 1)
    if dup:
        raise ProxyError(f"two sources share the file name(s) {dup[:5]}: their proxies would collide in "
                         f"{Path(out_root) / spec.tag}")
    done: list[Path] = []
    it = progress_bar(sources, desc="proxies", unit="video", file=sys.stderr) if progress else sources
    for s in it:
        try:
            done.append(make_proxy(s, proxy_path(s, out_root, spec), spec, progress=progress))
        except (ProxyError, FileNotFoundError) as exc:
            if errors is None:
                raise
            errors.append(str(exc))
    return done


def dataset_sources(root: str | os.PathLike) -> list[Path]:
    """The mp4 of every video of an iMiGUE root in the MiGA layout (all splits), by video id."""
    from .release_files import ReleaseFiles

    layout = ReleaseFiles(root)
    if not Path(root).is_dir():
        raise FileNotFoundError(f"{root}: dataset root not found")
    found = []
    for vid in layout.videos():
        try:
            found.append(layout.video_path(vid))
        except FileNotFoundError:  # a skeleton-only video (no RGB in this copy)
            continue
    if not found:
        raise FileNotFoundError(f"{root}: no RGB videos found in the MiGA layout")
    return found


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sources", nargs="*", help="mp4 files, or folders searched recursively for *.mp4")
    ap.add_argument("--root", help="an iMiGUE root (MiGA layout): proxies of all its videos")
    ap.add_argument("--out", required=True, help="proxy root; files go to <out>/<spec tag>/<stem>.mp4")
    ap.add_argument("--short-side", type=int, default=ProxySpec.short_side)
    ap.add_argument("--gop", type=int, default=ProxySpec.gop)
    ap.add_argument("--crf", type=int, default=ProxySpec.crf)
    ap.add_argument("--preset", default=ProxySpec.preset, help="x264 preset (speed of the one-off encode)")
    args = ap.parse_args(argv)
    if not args.sources and not args.root:
        ap.error("give --root or source files/folders")
    files: list[Path] = dataset_sources(args.root) if args.root else []
    for s in map(Path, args.sources):
        files += sorted(s.rglob("*.mp4")) if s.is_dir() else [s]
    spec = ProxySpec(args.short_side, args.gop, args.crf, args.preset)
    errors: list[str] = []
    made = make_proxies(files, args.out, spec, errors=errors)
    print(f"{len(made)} of {len(files)} proxies in {Path(args.out) / spec.tag}")
    for e in errors:
        print(f"failed: {e}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
