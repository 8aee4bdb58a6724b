"""Shared helpers of the benchmarks: side-by-side timing, machine facts, result files, the long test video.

Timing discipline (the machine is shared and small, so single timings are noise):

- every contender gets ``warmup`` untimed calls, then ``repeats`` timed rounds;
- contenders are timed *interleaved*, round by round, in an order that alternates between rounds,
  so a burst of load from another process hits all of them alike;
- we report the median and the inter-quartile range of each, and the speed-up as the ratio of medians,
  together with the spread of the per-round ratios (the ratio of the two contenders within one round);
- we also record the process's CPU time (all threads): when other jobs load the machine, wall time
  stretches but CPU time much less, so the CPU-time ratio is a cross-check of the wall-clock ratio.

Results of each benchmark module go to ``bench/out/<module>.json`` (atomic write); the runner
(``python -m bench``) prints them together at the end.
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Callable, Iterable, Mapping

import numpy as np

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
#: Cached inputs (the long video) and result JSON files; git-ignored.
OUT_DIR = Path(os.environ.get("CLIPMG_BENCH_OUT", BENCH_DIR / "out"))


# ----------------------------------------------------------------------------------------------- timing
@dataclass
class Timing:
    """Wall-clock samples of one contender, in seconds per call."""

    name: str
    samples: list[float]
    #: CPU seconds (user + system, all threads of this process) per call; robust to other jobs' load
    cpu_samples: list[float] = field(default_factory=list)
    #: how many work units (frames, clips, images) one call processes; for throughput figures.
    units_per_call: float = 1.0
    unit: str = "call"

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def iqr(self) -> tuple[float, float]:
        if len(self.samples) < 2:
            return self.samples[0], self.samples[0]
        q = np.percentile(self.samples, [25, 75])
        return float(q[0]), float(q[1])

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu_samples) if self.cpu_samples else float("nan")

    @property
    def per_unit(self) -> float:
        """Median seconds per work unit."""
        return self.median / self.units_per_call

    @property
    def throughput(self) -> float:
        """Median work units per second."""
        return self.units_per_call / self.median

    def summary(self) -> dict:
        q1, q3 = self.iqr
        return {"name": self.name, "median_s": self.median, "q1_s": q1, "q3_s": q3,
                "n": len(self.samples), "unit": self.unit, "units_per_call": self.units_per_call,
                "per_unit_s": self.per_unit, "units_per_s": self.throughput, "samples_s": self.samples,
                "cpu_median_s": self.cpu_median, "cpu_samples_s": self.cpu_samples}


def _sync(device: str | None) -> None:
    if device and device.startswith("cuda"):
        import torch
        torch.cuda.synchronize()


def time_side_by_side(contenders: Mapping[str, Callable[[], object]], *, repeats: int = 5, warmup: int = 1,
                      units_per_call: float | Mapping[str, float] = 1.0, unit: str = "call",
                      device: str | None = None, progress: bool = True) -> dict[str, Timing]:
    """Time several callables interleaved, round by round; returns ``{name: Timing}``.

    Round ``r`` runs the contenders in order when ``r`` is even and reversed when odd, so slow drifts
    (another job starting, CPU frequency) bias none of them. ``device='cuda'`` synchronises around
    each call (wall clock of the whole call; use :func:`cuda_time` for kernel time).
    """
    names = list(contenders)
    units = {n: (units_per_call[n] if isinstance(units_per_call, Mapping) else units_per_call) for n in names}
    for _ in range(warmup):
        for n in names:
            contenders[n]()
    _sync(device)
    samples: dict[str, list[float]] = {n: [] for n in names}
    cpu: dict[str, list[float]] = {n: [] for n in names}
    rounds = range(repeats)
    if progress:
        from tqdm.auto import tqdm
        rounds = tqdm(rounds, desc="rounds", leave=False, file=sys.stderr)
    for r in rounds:
        for n in (names if r % 2 == 0 else names[::-1]):
            _sync(device)
            c0, t0 = time.process_time(), time.perf_counter()
            contenders[n]()
            _sync(device)
            samples[n].append(time.perf_counter() - t0)
            cpu[n].append(time.process_time() - c0)
    return {n: Timing(n, samples[n], cpu[n], units[n], unit) for n in names}


def ratio(baseline: Timing, candidate: Timing) -> dict:
    """Speed-up of ``candidate`` over ``baseline`` (per work unit): ratio of wall-clock medians, the spread of
    the per-round ratios, and the ratio of CPU-time medians (less sensitive to other jobs on the machine)."""
    per_round = [(b / baseline.units_per_call) / (c / candidate.units_per_call)
                 for b, c in zip(baseline.samples, candidate.samples)]
    cpu = ((baseline.cpu_median / baseline.units_per_call) / (candidate.cpu_median / candidate.units_per_call)
           if baseline.cpu_samples and candidate.cpu_samples and candidate.cpu_median > 0 else float("nan"))
    return {"baseline": baseline.name, "candidate": candidate.name,
            "speedup": baseline.per_unit / candidate.per_unit,
            "per_round_min": min(per_round), "per_round_max": max(per_round), "cpu_speedup": cpu}


def cuda_time(fn: Callable[[], object], *, repeats: int = 10, warmup: int = 3) -> list[float]:
    """Seconds per call measured with CUDA events (GPU time of the queued work), one sample per repeat."""
    import torch
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    out = []
    for _ in range(repeats):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        out.append(start.elapsed_time(end) / 1e3)
    return out


# ----------------------------------------------------------------------------------------------- printing
def fmt_seconds(s: float) -> str:
    if s >= 1:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.1f} ms"
    return f"{s * 1e6:.0f} us"


def print_timings(title: str, timings: Iterable[Timing], baseline: str | None = None) -> list[dict]:
    """Print a table of contenders (median, IQR, per unit, throughput, speed-up vs ``baseline``)."""
    timings = list(timings)
    base = next((t for t in timings if t.name == baseline), None)
    rows = []
    print(f"\n== {title}")
    head = (f"  {'contender':<44} {'median':>9} {'IQR':>19} {'per unit':>9} {'cpu/unit':>9} {'units/s':>8} "
            f"{'speed-up [rounds]':>19} {'cpu x':>6}")
    print(head)
    for t in timings:
        q1, q3 = t.iqr
        row = t.summary()
        sp, cx = "", ""
        if base is not None and t is not base:
            r = ratio(base, t)
            row["vs_baseline"] = r
            sp = f"{r['speedup']:6.1f}x [{r['per_round_min']:.1f}-{r['per_round_max']:.1f}]"
            cx = f"{r['cpu_speedup']:5.1f}x"
        elif base is not None:
            sp = "baseline"
        print(f"  {t.name:<44} {fmt_seconds(t.median):>9} {fmt_seconds(q1):>9}-{fmt_seconds(q3):<9} "
              f"{fmt_seconds(t.per_unit):>9} {fmt_seconds(t.cpu_median / t.units_per_call):>9} "
              f"{t.throughput:8.1f} {sp:>19} {cx:>6}")
        rows.append(row)
    unit = timings[0].unit if timings else "call"
    print(f"  (per unit = per {unit}; wall clock, median of {len(timings[0].samples) if timings else 0} interleaved "
          f"rounds; speed-up = ratio of medians [min-max of per-round ratios]; cpu x = ratio of CPU-time medians)")
    return rows


# ----------------------------------------------------------------------------------------------- machine
def machine_info() -> dict:
    """Facts that make figures comparable: CPU, cores, load, library versions, GPU if any."""
    info = {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count()}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        info["loadavg_1min"] = os.getloadavg()[0]
    except OSError:
        pass
    import torch
    info["torch"] = torch.__version__
    info["torch_threads"] = torch.get_num_threads()
    info["gpu"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return info


def set_cpu_threads(requested: int | None) -> int:
    """Set torch's intra-op threads: ``requested``, else the cores other jobs leave free (cores minus the
    1-minute load average, rounded; at least 1), and say so when that is fewer than the cores.

    Why: when another job holds a core, a multi-threaded op ends at an OpenMP barrier whose sibling thread
    has been descheduled, and spins there. Measured on the 2-core machine, the tiny model one clip at a
    time: 7-10 ms per clip with 2 threads on idle cores, 545-795 ms with 2 threads while other jobs ran
    (load average 1.6-3.4, CPU time = wall time: spinning), 13 ms with 1 thread - so 2 threads there
    measured the neighbours, not the kit. Returns the thread count in use.
    """
    import torch

    if requested is None:
        load, cores = os.getloadavg()[0], os.cpu_count() or 1
        free = max(1, min(cores, cores - int(round(load))))
        if free < cores:
            requested = free
            print(f"load average {load:.1f} on {cores} cores: timing with {free} torch thread(s), the cores other "
                  "jobs leave free (--threads N to override)")
    if requested:
        torch.set_num_threads(int(requested))
    return torch.get_num_threads()


def print_machine(info: dict | None = None) -> dict:
    info = info or machine_info()
    gpu = info.get("gpu") or "no GPU"
    print(f"machine: {info.get('cpu', '?')} ({info['machine']}), {info['cpus']} cores, torch {info['torch']} "
          f"({info['torch_threads']} threads), {gpu}, load average {info.get('loadavg_1min', float('nan')):.2f}")
    return info


def write_results(name: str, payload: dict) -> Path:
    """Write ``bench/out/<name>.json`` atomically (the runner reads them for its summary)."""
    from clipmg_lib.core.atomic import atomic_open

    payload = {"benchmark": name, "time": time.strftime("%Y-%m-%d %H:%M:%S"), "machine": machine_info(),
               **payload}
    path = OUT_DIR / f"{name}.json"
    with atomic_open(path, "w") as f:
        json.dump(payload, f, indent=1, default=_json_default)
    return path


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, Timing):
        return o.summary()
    if hasattr(o, "__dataclass_fields__"):
        return asdict(o)
    return str(o)


# ----------------------------------------------------------------------------------------------- long video
@dataclass(frozen=True)
class LongVideoSpec:
    """A synthetic broadcast-like H.264 video; every frame carries its own index (:func:`read_frame_code`)."""

    seconds: int = 600
    fps: int = 25
    width: int = 1280
    height: int = 720
    gop: int = 250  #: keyframe interval in frames (broadcast-like)
    bitrate: int = 2_000_000  #: bit/s (press-conference 720p footage is ~1.5-3 Mbit/s)
    bframes: int = 3  #: x264's default

    @property
    def num_frames(self) -> int:
        return self.seconds * self.fps

    @property
    def filename(self) -> str:
        return (f"long_{self.width}x{self.height}_{self.seconds}s_{self.fps}fps_gop{self.gop}"
                f"_{self.bitrate // 1000}k_b{self.bframes}.mp4")


CODE_BITS = 16  #: bits of the long video's frame code (up to 65,536 frames)


def read_frame_code(frame: np.ndarray) -> int:
    """The index the long video's frame carries (:func:`clipmg_lib.demo.media.read_frame_codes`, 16 bits)."""
    from clipmg_lib.demo.media import read_frame_codes

    return int(read_frame_codes(frame, bits=CODE_BITS))


def make_long_video(spec: LongVideoSpec = LongVideoSpec(), folder: Path | None = None,
                    progress: bool = True) -> Path:
    """Write (once; cached by ``spec``) the long test video with PyAV/libx264 and return its path.

    Content: a real photograph (matplotlib's ``grace_hopper.jpg``) panned slowly, with per-frame sensor-like
    noise and the frame's index as a barcode (:mod:`clipmg_lib.demo.media`, 16 bits in a centre strip), so
    the encoder spends a realistic bitrate; x264 ``keyint=min-keyint=gop, scenecut=0`` gives a keyframe
    exactly every ``gop`` frames, like broadcast footage. Written atomically.
    """
    from matplotlib import cbook
    from PIL import Image
    from tqdm.auto import tqdm

    from clipmg_lib.data.video_writer import fixed_gop_options
    from clipmg_lib.demo.media import write_frame_coded_video

    folder = Path(folder or OUT_DIR)
    path = folder / spec.filename
    if path.exists():
        return path
    W, H = spec.width, spec.height
    with Image.open(cbook.get_sample_data("grace_hopper.jpg")) as im:
        photo = np.asarray(im.convert("RGB").resize((W * 2, H * 2), Image.BILINEAR))
    rng = np.random.default_rng(0)
    noise = [rng.integers(0, 4, size=(H, W, 3), dtype=np.uint8) for _ in range(7)]

    def background(i: int) -> np.ndarray:
        phase = 2 * np.pi * i / 250
        x = int(W / 2 * (1 + np.sin(0.37 * phase)))
        y = int(H / 2 * (1 + np.sin(0.23 * phase)))
        return photo[y:y + H, x:x + W] + noise[i % len(noise)]

    def frames_wrapper(indices):
        return tqdm(indices, desc=f"writing {path.name}", unit="frame", file=sys.stderr) if progress else indices

    write_frame_coded_video(path, spec.num_frames, H, W, fps=Fraction(spec.fps), bits=CODE_BITS,
                            options=fixed_gop_options(spec.gop, spec.bframes), bit_rate=spec.bitrate,
                            background=background, strip=1 / 20, frames_wrapper=frames_wrapper)
    return path


# ----------------------------------------------------------------------------------------------- FLOPs
def count_flops(fn: Callable[[], object]) -> int:
    """FLOPs of one call of ``fn`` by ``torch.utils.flop_counter.FlopCounterMode`` (a multiply-add = 2 FLOPs).

    PyTorch's fused inference path of ``nn.MultiheadAttention`` (``_native_multi_head_attention``, taken
    under ``no_grad`` in eval mode, e.g. by open_clip's ViT) is invisible to the counter and would hide
    the attention blocks' projections (~35% of a ViT-B/16's FLOPs), so it is switched off while counting.
    """
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    fastpath = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with FlopCounterMode(display=False) as counter:
            fn()
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)
    return int(counter.get_total_flops())
