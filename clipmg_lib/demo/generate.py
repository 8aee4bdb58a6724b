"""A small synthetic iMiGUE in the exact MiGA on-disk layout, for the kit's tests, CI and notebooks.

``python -m clipmg_lib.demo --out data/demo [--seed 0] [--size small|default] [--force]``

What it writes (through the data layer's own writers, so it reads back like the real release)::

    <out>/labels_20200831.csv                                                official columns
    <out>/imigue_data_phase1/datasets/imigue_skeleton_{train,validate}/{vid:04d}/{vid}_label.csv
                                                                            /{vid}_light_hand.csv
    <out>/imigue_data_phase2/imigue_skeleton_test/{vid:04d}/...
    <out>/imigue_rgb_phase1/{train_data,validation_data}/{vid}/{vid}.mp4     H.264, 25 fps, 320x180
    <out>/imigue_rgb_phase2/{vid}/{vid}.mp4
    <out>/demo_manifest.json                                                 written last: the dataset is complete

Subjects carry real iMiGUE subject ids, so the cross-subject protocol of :mod:`clipmg_lib.data.splits` applies
unchanged: training subjects from ``TRAIN_SUBJECTS`` (two of their videos, with ids from
``MIGA_VALIDATION_VIDEOS``, sit in the validation folders), test subjects from the other ids. Video ids,
genders and emotion labels are synthetic (nationality is written as ``Demo``).

Emotion (``win_or_lose``, synthetic): half of the training subjects' videos and half of the test videos lose.
A video's outcome tilts which classes it draws from its split's clip pool: class ``c`` comes
``exp(+-EMOTION_GAIN * r_c / 2)`` times more often in a Lose / Win video, where ``r_c`` is the class's real
log rate ratio Lose/Win in iMiGUE (``REAL_LOSE_LOG_RATIO``, exaggerated 3x). The per-split class totals are
unchanged; only which video holds which clip depends on the emotion.

Each video is a press-conference shot at 320x180 (a quarter of the release's 1280x720, for speed; the
skeleton CSVs are in these pixels): a seated upper body behind a table, rest with breathing and idle sway,
and many labelled clips, most separated by rest: mostly 0.2-1.2 s, and now and then (``DemoSize.long_rest``) a
stretch of 3-12 s with no micro-gesture, as in iMiGUE's press conferences (what spotting must sit through).

Clips overlap as iMiGUE's do (``DemoSize.overlaps``, :class:`OverlapModel`; on in both sizes). In iMiGUE
(``overlap_statistics`` of the official CSV) 23.6 % of the clips share frames with a later clip of their
video; of the 4,881 overlapping pairs, 20 % are nested (one clip inside the other), the rest boundary
overlaps that mostly share a single frame (61 %; quartiles 1 / 1 / 6 frames). The demo re-places dealt clips
(the same clips, classes and lengths per video; they are not added): the next clip starts a few frames
before the previous one ends, or sits inside it on body parts the outer clip does not move (rubbing hands
with a shoulder shake, a torso sway with a hand at the ear; a one-hand clip inside another takes the free
hand), so both gestures show in the skeleton and the video. Motion stays continuous where clips share
frames: a later clip blends each hand from the state the earlier one left instead of overwriting it, and
body shifts add up (:func:`~clipmg_lib.demo.motion.synthesize_video`). The default size, seed 0: 23.5 % of
its 1,100 clips overlap a later one, 266 pairs, 21 % of them nested, boundary pairs sharing a median 1 frame.
The true skeleton (light_hand35: BODY_25 + fingertips; hips and legs hidden under the table) drives the
drawing, so both modalities agree; ``{vid}_light_hand.csv`` holds the true joints plus detection noise,
OpenPose-like confidences and dropped joints. Subjects differ in
skin tone, hair, jacket, shirt, size and position; videos differ in backdrop, table and microphone.

Classes, movements and cues (amplitudes in px at 320x180; length = median clip frames before scaling):

====  =================================  ===============================  ================================================  ======  ===================================  ========
raw   class                              joints that move                 movement                                          length  RGB-only cue                          decided by
====  =================================  ===============================  ================================================  ======  ===================================  ========
99    Illustrative body language         both wrists, fingertips, head    hands lift 25 px, swing +-7 px                    33                                            both
31    Shaking shoulders                  shoulders, neck, head            +-1.3 px at 5 Hz                                  27                                            pose
29    Pressing lips                      (nose 0.4 px)                    none in the skeleton                              35      lips pressed to a pale line           rgb
20    Moving torso                       neck, shoulders, head, elbows    +-4.5 px sway at 0.7 Hz                           57                                            pose
8     Touching or scratching facial      one wrist, its fingertips        hand to cheek, fingertips scratch 2 px            61                                            both
23    Rubbing or holding hands           both wrists, fingertips          hands meet, 1.8 px circles at 2 Hz                79                                            both
24    Crossing fingers                   both wrists, fingertips          hands meet, fingers fan and interlace (static)    79                                            pose
22    Scratching or touching arms        one wrist, its fingertips        hand to the other forearm, scratches              83                                            both
2     Bulging face, deep breath          shoulders, head                  shoulders rise 1 px (deep breath)                 34      cheeks puff and redden                rgb
11    Touching jaw                       one wrist, its fingertips        fist under the chin, still                        76                                            both
26    Playing or manipulating objects    both wrists, fingertips          as rubbing hands                                  103     a pen in one hand                     rgb
17    Folding arms                       both wrists, elbows, fingertips  wrists cross to the other upper arm               83                                            both
4     Touching or scratching head        one wrist, its fingertips        hand to the temple, fingers on the crown, scratch 55                                            both
21    Sitting straightly                 neck, shoulders, head            upper body rises 3.6 px, chest out                44                                            pose
12    Touching or scratching neck        one wrist, its fingertips        hand to the side of the neck, scratches           76                                            both
9     Touching ears                      one wrist, its fingertips        hand to the ear                                   52                                            both
3     Touching hat                       one wrist, its fingertips        as touching head                                  39      a cap (hat-wearing subjects only)     rgb
1     Turtle neck                        head, shoulders                  head sinks 3.6 px, shoulders rise 1.8 px          36                                            pose
====  =================================  ===============================  ================================================  ======  ===================================  ========

So each modality alone confuses some classes that the other separates: the skeleton cannot tell rubbing
hands from manipulating a pen, touching the head from touching a hat, or pressing lips / puffing cheeks
from rest; a low-resolution RGB model barely sees shoulder shakes, torso sway, sitting up, a sinking head,
or interlaced fingers against rubbed hands. Fusion can beat either alone. Every elbow comes from two-link
IK, every hand from a five-finger fan, every idle motion is shared by all classes.

The test split is larger than iMiGUE's share (500 clips, at least 8 per class, against 600 for training and
validation): with 220 test clips one seed moved the full model's Top-1 by up to 9 points, too much to read an
ablation table. Class frequencies follow iMiGUE's long tail, tempered (clip counts ~ real counts ** 0.7, class 99 the
most frequent, a few clips minimum per class and split), and clip lengths are log-normal around each
class's real median (scaled so the overall median is near iMiGUE's 40 frames).

Deterministic from ``--seed`` (per-video random streams: the same bytes whatever the worker count);
idempotent (a complete dataset with the same seed, size and generator version is kept; ``--force`` redoes).
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import time
from concurrent.futures import as_completed
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..data.annotations import IMIGUE_FPS, sample_id, write_label_csv, write_official_csv
from ..core.atomic import atomic_open
from ..data.classes import raw_to_label
from .motion import CLASS_MOTIONS, HAT_ONLY_CLASSES, LAYOUT, NO_HAT_CLASSES, ClipSpec, clip_drives, detect, \
    synthesize_video
from ..core.paths import DEMO_MANIFEST_NAME
from ..data.release_files import MEDIAPIPE_DIR, OFFICIAL_CSV_NAME, SPLIT_RGB_DIRS, SPLIT_SKELETON_DIRS, \
    ReleaseFiles
from ..data.skeleton import Skeleton
from ..data.skeleton_io import write_light_hand_csv
from ..data.splits import clip_split
from ..core.progress import progress_bar
from ..core.workers import process_pool

log = logging.getLogger(__name__)

#: Bump when the generator's output changes: existing demo datasets are then regenerated.
GENERATOR_VERSION = 5
_INCOMPLETE_NAME = ".demo_incomplete.json"

#: iMiGUE's clip count per raw class (labels_20200831.csv); the demo's class prior is these ** 0.7.
REAL_CLIP_COUNTS = {99: 5715, 31: 2880, 29: 1547, 20: 1217, 8: 1134, 23: 1035, 24: 888, 22: 527, 2: 515,
                    11: 454, 26: 430, 17: 406, 4: 271, 21: 227, 12: 198, 9: 132, 3: 45, 1: 15}
FREQUENCY_TEMPERATURE = 0.7

#: log(rate in Lose videos / rate in Win videos) of each raw class in iMiGUE (labels_20200831.csv, +1 smoothed).
REAL_LOSE_LOG_RATIO = {99: 0.05, 31: -0.09, 29: 0.11, 20: -0.39, 8: 0.27, 23: -0.49, 24: -0.11, 22: 0.08, 2: 0.16,
                       11: -0.12, 26: 0.44, 17: -0.38, 4: -0.04, 21: -0.22, 12: -0.12, 9: 0.51, 3: -0.52, 1: 0.70}
#: The demo's emotion shift: a Lose video draws class ``c`` at ``exp(+g * r_c / 2)`` times the rate of a neutral
#: video, a Win video at ``exp(-g * r_c / 2)`` (``r_c`` from REAL_LOSE_LOG_RATIO, ``g`` this gain). Synthetic:
#: the real direction of each class, exaggerated so that 14 videos can carry a signal.
EMOTION_GAIN = 3.0
EMOTIONS = ("Win", "Lose")


@dataclass(frozen=True)
class DemoVideo:
    """One video of the roster: id, real subject id, MiGA split folder, subject wears a cap."""

    video: int
    subject: int
    split: str  # 'train', 'val' or 'test'
    hat: bool = False


@dataclass(frozen=True)
class OverlapModel:
    """How often a demo clip shares frames with the next one, as iMiGUE's clips do (:data:`IMIGUE_OVERLAPS`).

    After each clip, the next one is (one draw per clip, from its video's own stream):

    - ``nested`` probability: placed strictly inside it, when it is shorter by at least 2 frames and the
      two drive disjoint body parts (:func:`~clipmg_lib.demo.motion.clip_drives`; a one-hand inner clip
      takes the hand the outer one leaves free; never inside a nested clip, nor on frames the outer one shares
      with an earlier clip), else it follows as usual;
    - ``boundary`` probability: starts ``k`` frames before the latest-ending clip so far ends, ``k`` from
      ``boundary_frames`` (``(probability, min, max)`` bands, uniform inside a band), at most the shorter
      clip's length - 2 (so the pair is not nested) and never into a clip nested in that one;
    - otherwise: after a gap of rest, as without overlaps.

    The clips, their classes and lengths are the same as without overlaps; only their places move.
    """

    boundary: float = 0.0
    boundary_frames: tuple[tuple[float, int, int], ...] = ((1.0, 1, 1),)
    nested: float = 0.0


@dataclass(frozen=True)
class DemoSize:
    """A named size of the demo dataset (configs are data)."""

    name: str
    videos: tuple[DemoVideo, ...]
    clips_train: int  # clips of training subjects (train + val videos)
    clips_test: int
    min_clips_per_class: tuple[int, int]  # (train subjects, test subjects)
    max_clip_frames: int
    length_scale: float  # multiplies each class's real median clip length
    gap_frames: tuple[int, int]  # rest between clips, uniform range
    resolution: tuple[int, int] = (320, 180)  # (W, H)
    #: (probability, min, max frames): a gap is instead a long stretch of rest, as between iMiGUE's clips
    long_rest: tuple[float, int, int] = (0.0, 0, 0)
    #: clips sharing frames with the next one (boundary overlaps and nested co-occurrences)
    overlaps: OverlapModel = OverlapModel()


#: iMiGUE's overlap rates, from ``overlap_statistics(read_official_csv("labels_20200831.csv"))`` (18,498
#: clips): the share of clips that share a frame with a later clip of their video, the share of overlapping
#: pairs where one clip lies inside the other, and the median frames shared by the other (boundary) pairs.
IMIGUE_OVERLAPS = {"overlapping_clips": 0.236, "nested_share": 0.203, "boundary_median_frames": 1.0}
#: The demo's overlap model. iMiGUE's boundary (not nested) pairs share 1 frame in 61 % of the pairs, 2-3 in
#: 7 %, 4-24 in 22 %, more in 9 % (quartiles 1 / 1 / 6, 90th percentile 23). A nesting attempt succeeds for
#: for about a quarter of the clips (the next clip must be shorter and on other body parts), hence 0.25
#: attempts; with 0.19 boundary overlaps the default size comes out near iMiGUE's rates (docs/RECONSTRUCTION.md).
_OVERLAPS = OverlapModel(boundary=0.19, boundary_frames=((0.61, 1, 1), (0.07, 2, 3), (0.22, 4, 24), (0.10, 25, 60)),
                         nested=0.25)

_DEFAULT_VIDEOS = (
    DemoVideo(1, 42, "val"), DemoVideo(118, 42, "train"),
    DemoVideo(3, 43, "val"), DemoVideo(127, 43, "train"),
    DemoVideo(298, 22, "train"), DemoVideo(45, 5, "train"), DemoVideo(73, 13, "train", hat=True),
    DemoVideo(156, 30, "train"), DemoVideo(214, 61, "train"),
    DemoVideo(371, 1, "test"), DemoVideo(52, 7, "test"), DemoVideo(233, 19, "test", hat=True),
    DemoVideo(340, 33, "test"), DemoVideo(189, 50, "test"),
)
_SMALL_VIDEOS = (
    DemoVideo(1, 42, "val"), DemoVideo(118, 42, "train"), DemoVideo(73, 13, "train", hat=True),
    DemoVideo(52, 7, "test"), DemoVideo(233, 19, "test", hat=True),
)

SIZES: dict[str, DemoSize] = {
    "default": DemoSize("default", _DEFAULT_VIDEOS, clips_train=600, clips_test=500, min_clips_per_class=(6, 8),
                        max_clip_frames=150, length_scale=0.85, gap_frames=(6, 30),
                        long_rest=(0.08, 75, 300), overlaps=_OVERLAPS),
    "small": DemoSize("small", _SMALL_VIDEOS, clips_train=48, clips_test=30, min_clips_per_class=(1, 1),
                      max_clip_frames=40, length_scale=0.6, gap_frames=(4, 12),
                      long_rest=(0.15, 30, 80), overlaps=_OVERLAPS),
}


# ------------------------------------------------------------------------------------------ planning

@dataclass
class VideoPlan:
    """Everything one worker needs to write one video (picklable)."""

    video: DemoVideo
    clips: list[ClipSpec]
    num_frames: int
    seed: int
    resolution: tuple[int, int]
    emotion: str = "Win"  # 'Win' or 'Lose': the synthetic outcome that shifted the video's class frequencies


def check_roster(size: DemoSize) -> None:
    """The roster must respect the protocol: split folders agree with :func:`clip_split`."""
    for v in size.videos:
        expected = clip_split(v.subject, v.video)
        if expected != v.split:
            raise ValueError(f"demo size {size.name!r}: video {v.video} of subject {v.subject} is in the {v.split} "
                             f"folder but the protocol puts it in {expected}")
    if not any(v.split == "test" for v in size.videos) or not any(v.split == "train" for v in size.videos):
        raise ValueError(f"demo size {size.name!r} needs training and test videos")


def class_quotas(n: int, minimum: int) -> dict[int, int]:
    """Clips per raw class for ``n`` clips: ``minimum`` each, the rest by largest remainder on the prior."""
    classes = list(CLASS_MOTIONS)
    if n < minimum * len(classes):
        raise ValueError(f"{n} clips cannot hold {minimum} clip(s) of each of {len(classes)} classes")
    prior = np.array([REAL_CLIP_COUNTS[c] for c in classes], float) ** FREQUENCY_TEMPERATURE
    share = (n - minimum * len(classes)) * prior / prior.sum()
    base = np.floor(share).astype(int)
    left = int(n - minimum * len(classes) - base.sum())
    base[np.argsort(-(share - base), kind="stable")[:left]] += 1
    return {c: minimum + int(b) for c, b in zip(classes, base)}


def assign_emotions(size: DemoSize, seed: int) -> dict[int, str]:
    """Video id -> 'Win' / 'Lose': half of the training subjects' videos and half of the test videos lose
    (the odd one out wins), in a seeded order, so both outcomes occur on both sides of the split."""
    rng = np.random.default_rng([seed, 104723])
    out = {}
    for videos in ([v for v in size.videos if v.split != "test"], [v for v in size.videos if v.split == "test"]):
        for rank, i in enumerate(rng.permutation(len(videos))):
            out[videos[int(i)].video] = EMOTIONS[1] if rank < len(videos) // 2 else EMOTIONS[0]
    return out


def emotion_weight(raw_class: int, emotion: str) -> float:
    """How much more often a video of ``emotion`` draws ``raw_class`` than a neutral one (EMOTION_GAIN)."""
    sign = 1.0 if emotion == EMOTIONS[1] else -1.0
    return float(np.exp(sign * EMOTION_GAIN * REAL_LOSE_LOG_RATIO[int(raw_class)] / 2))


def plan_dataset(size: DemoSize, seed: int) -> list[VideoPlan]:
    """Deal clips to videos (hat classes only to hat wearers; each video's emotion tilts which classes it
    draws, :func:`emotion_weight`) and lay each video's timeline out."""
    check_roster(size)
    rng = np.random.default_rng([seed, 7919])
    per_video: dict[int, list[int]] = {v.video: [] for v in size.videos}
    weight = {v.video: rng.uniform(0.7, 1.3) for v in size.videos}
    emotion = assign_emotions(size, seed)
    groups = (("train", [v for v in size.videos if v.split != "test"], size.clips_train, size.min_clips_per_class[0]),
              ("test", [v for v in size.videos if v.split == "test"], size.clips_test, size.min_clips_per_class[1]))
    for name, videos, n, minimum in groups:
        pool = [c for c, q in class_quotas(n, minimum).items() for _ in range(q)]
        for cls in rng.permutation(pool):
            eligible = [v for v in videos if (cls not in HAT_ONLY_CLASSES or v.hat) and
                        (cls not in NO_HAT_CLASSES or not v.hat)]
            if not eligible:
                raise ValueError(f"demo size {size.name!r}: no {name} video may hold class {cls} (hat rule)")
            w = np.array([weight[v.video] * emotion_weight(cls, emotion[v.video]) for v in eligible])
            per_video[eligible[int(rng.choice(len(eligible), p=w / w.sum()))].video].append(int(cls))

    plans = []
    for v in size.videos:
        classes = per_video[v.video]
        if not classes:
            raise ValueError(f"demo size {size.name!r}: video {v.video} got no clips")
        clips, num_frames = _lay_out(size, seed, v.video, classes)
        plans.append(VideoPlan(v, clips, num_frames, seed, size.resolution, emotion[v.video]))
    return plans


def _band_draw(rng: np.random.Generator, bands: tuple[tuple[float, int, int], ...]) -> int:
    """One integer from ``(probability, min, max)`` bands: a band by its probability, uniform inside it."""
    p = np.array([b[0] for b in bands], float)
    _, lo, hi = bands[int(rng.choice(len(bands), p=p / p.sum()))]
    return int(rng.integers(lo, hi + 1))


def _lay_out(size: DemoSize, seed: int, video: int, classes: list[int]) -> tuple[list[ClipSpec], int]:
    """One video's timeline: its clips in deal order with their lengths, rest between them and overlaps
    (:class:`OverlapModel`); returns ``(clips sorted by start, num_frames)``. Lengths and gaps come from
    their own streams, so overlaps and long rests change where clips sit, never which clips there are."""
    vrng = np.random.default_rng([seed, video, 1])
    rest_rng = np.random.default_rng([seed, video, 5])  # its own stream: clip lengths do not depend on it
    overlap_rng = np.random.default_rng([seed, video, 6])
    ov = size.overlaps
    t = int(vrng.integers(15, 40))  # where the next clip starts when it follows after rest
    clips: list[ClipSpec] = []
    last_end = -1  # the latest frame any clip holds so far
    before_prev_end = -1  # ... before the previous clip
    prev_nested = False  # the previous clip sits inside another one
    for cls in classes:
        median = CLASS_MOTIONS[cls].median_frames * size.length_scale
        length = int(np.clip(round(median * np.exp(0.5 * vrng.standard_normal())), 8, size.max_clip_frames))
        gap = int(vrng.integers(size.gap_frames[0], size.gap_frames[1] + 1))
        p, lo, hi = size.long_rest
        if p > 0 and rest_rng.random() < p:
            gap = int(rest_rng.integers(lo, hi + 1))
        u, pos, k, hand = overlap_rng.random(), overlap_rng.random(), _band_draw(overlap_rng, ov.boundary_frames), \
            int(overlap_rng.integers(2))  # drawn every clip: one clip's choice never shifts the next one's draws
        start = t
        prev = clips[-1] if clips else None
        if prev is not None and u < ov.nested and not prev_nested:
            spec = _nest(prev, cls, length, hand, max(prev.start_frame + 1, before_prev_end + 1), pos)
            if spec is not None:
                clips[-1], inner = spec
                clips.append(inner)
                prev_nested = True
                t = max(t, last_end + 1 + gap)
                continue
        if prev is not None and ov.nested <= u < ov.nested + ov.boundary:
            last = max(clips, key=lambda c: c.end_frame)
            others_end = max((c.end_frame for c in clips if c is not last), default=-1)
            # shares frames with that one clip only (not with a clip nested in it), and is not nested itself
            k = min(k, length - 2, last.end_frame - last.start_frame + 1 - 2, last_end - others_end)
            if k >= 1:
                start = last_end + 1 - k
        clips.append(ClipSpec(cls, start, start + length - 1))
        prev_nested = False
        before_prev_end = last_end
        last_end = max(last_end, start + length - 1)
        t = last_end + 1 + gap
    return sorted(clips, key=lambda c: (c.start_frame, c.end_frame)), t + int(vrng.integers(15, 30))


def _nest(outer: ClipSpec, cls: int, length: int, hand: int, earliest: int,
          pos: float) -> tuple[ClipSpec, ClipSpec] | None:
    """``(outer, inner)`` with a clip of ``cls`` and ``length`` frames strictly inside ``outer``, starting no
    earlier than ``earliest``, at relative position ``pos`` (0..1) of the room left; None when it does not
    fit or the two would drive a common body part. One-hand clips get their hands fixed (the inner one the
    hand the outer leaves free)."""
    first, last = max(outer.start_frame + 1, earliest), outer.end_frame - length  # inner ends before outer
    if last < first:
        return None
    one_hand = {c for c, m in CLASS_MOTIONS.items() if "hand" in m.drives}
    outer_hand = outer.hand if outer.hand is not None else (hand if outer.raw_class in one_hand else None)
    inner_hand = (1 - outer_hand if outer_hand is not None else hand) if cls in one_hand else None
    if clip_drives(outer.raw_class, outer_hand) & clip_drives(cls, inner_hand):
        return None
    start = first + int(round(pos * (last - first)))
    return (ClipSpec(outer.raw_class, outer.start_frame, outer.end_frame, outer_hand),
            ClipSpec(cls, start, start + length - 1, inner_hand))


def overlap_statistics(clips: pd.DataFrame) -> dict:
    """How a clip table's clips (``video, start_frame, end_frame``, inclusive frames) overlap within their
    videos: ``clips``; ``overlapping_clips``, the share of clips sharing a frame with a later-starting clip
    (ties: a later row) of their video; ``pairs`` of clips sharing frames; ``nested_share``, the share of
    those pairs where one clip lies inside the other (shared frames = the shorter clip's length);
    ``boundary_median_frames``, the median frames shared by the other pairs (nan without any)."""
    n_later, pairs, nested, shared = 0, 0, 0, []
    for _, g in clips.groupby("video", sort=False):
        g = g.sort_values(["start_frame", "end_frame"], kind="stable")
        s, e = g["start_frame"].to_numpy(np.int64), g["end_frame"].to_numpy(np.int64)
        for i in range(len(g)):
            inter = np.minimum(e[i], e[i + 1:]) - s[i + 1:] + 1
            hit = inter > 0
            n_later += bool(hit.any())
            pairs += int(hit.sum())
            inner = hit & (e[i + 1:] <= e[i]) | hit & (s[i + 1:] == s[i])
            nested += int(inner.sum())
            shared.extend(inter[hit & ~inner].tolist())
    return {"clips": int(len(clips)), "overlapping_clips": n_later / max(1, len(clips)), "pairs": pairs,
            "nested_share": nested / pairs if pairs else 0.0,
            "boundary_median_frames": float(np.median(shared)) if shared else float("nan")}


# ------------------------------------------------------------------------------------------ writing

def _subject_look(seed: int, subject: int, hat: bool, resolution: tuple[int, int]):
    """Per-subject appearance and framing: (Appearance, unit px, neck position px)."""
    from .render import Appearance

    w, h = resolution
    rng = np.random.default_rng([seed, 1_000_003, subject])
    appearance = Appearance.sample(rng, hat)
    unit = h * rng.uniform(0.88, 1.04)
    neck = (w / 2 + rng.uniform(-0.07, 0.07) * w, h * rng.uniform(0.46, 0.5))
    return appearance, unit, neck


def build_video(plan: VideoPlan):
    """The true motion and the scene of one planned video: ``(VideoMotion, Scene)`` (nothing written)."""
    from .render import Scene

    v, (w, h) = plan.video, plan.resolution
    appearance, unit, neck = _subject_look(plan.seed, v.subject, v.hat, plan.resolution)
    vrng = np.random.default_rng([plan.seed, v.video, 2])
    neck = (neck[0] + vrng.uniform(-0.02, 0.02) * w, neck[1] + vrng.uniform(-0.01, 0.01) * h)
    motion = synthesize_video(plan.clips, plan.num_frames, unit, neck, np.random.default_rng([plan.seed, v.video, 3]))
    scene = Scene.sample((h, w), appearance, motion, np.random.default_rng([plan.seed, v.video, 4]))
    return motion, scene


def write_video_files(root: str | os.PathLike, plan: VideoPlan) -> dict:
    """Synthesize, render and write one video's mp4, label CSV and light_hand CSV. Returns a summary."""
    import cv2

    from .render import write_video

    cv2.setNumThreads(1)
    layout = ReleaseFiles(root)
    v, (w, h) = plan.video, plan.resolution
    motion, scene = build_video(plan)

    paths = {"label": layout.label_csv_path(v.video, v.split), "skeleton": layout.light_hand_csv_path(v.video, v.split),
             "rgb": layout.rgb_path(v.video, v.split)}
    write_label_csv(paths["label"], [(c.raw_class, c.start_frame, c.end_frame) for c in plan.clips])
    detected = detect(motion.joints, motion.unit_px, (h, w), np.random.default_rng([plan.seed, v.video, 5]))
    write_light_hand_csv(paths["skeleton"], Skeleton(detected, LAYOUT, (h, w), str(paths["skeleton"])))
    write_video(paths["rgb"], scene, motion)
    root = Path(root)
    return {"video": v.video, "frames": plan.num_frames,
            "files": {p.relative_to(root).as_posix(): p.stat().st_size for p in paths.values()}}


def clip_table(plans: list[VideoPlan], seed: int) -> pd.DataFrame:
    """The demo's clip index plus the official CSV's extra columns (synthetic gender; ``win_or_lose`` is each
    plan's emotion)."""
    rows = []
    rng = np.random.default_rng([seed, 104729])
    gender = {s: rng.choice(["M", "F"]) for s in sorted({p.video.subject for p in plans})}
    for p in sorted(plans, key=lambda p: (p.video.subject, p.video.video)):
        for i, c in enumerate(p.clips):
            rows.append({"sample_id": sample_id(p.video.video, i), "video": p.video.video, "subject": p.video.subject,
                         "start_frame": c.start_frame, "end_frame": c.end_frame, "raw_class": c.raw_class,
                         "label": raw_to_label(c.raw_class), "split": clip_split(p.video.subject, p.video.video),
                         "label_id": i + 1, "gender": gender[p.video.subject], "nationality": "Demo",
                         "win_or_lose": p.emotion})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------ orchestration

def _owned_paths(root: Path) -> list[Path]:
    """What the generator writes (and may delete when regenerating), plus data derived from its videos."""
    tops = {rel.parts[0] for rel in (*SPLIT_SKELETON_DIRS.values(), *SPLIT_RGB_DIRS.values())}
    return [root / t for t in sorted(tops)] + [root / OFFICIAL_CSV_NAME, root / MEDIAPIPE_DIR]


def read_manifest(root: str | os.PathLike) -> dict | None:
    """The manifest of a demo dataset at ``root``, or None when there is none (or it is unreadable)."""
    path = Path(root) / DEMO_MANIFEST_NAME
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def is_complete(root: str | os.PathLike, seed: int, size: str) -> bool:
    """A demo dataset with this seed, size and generator version, all files present at their sizes."""
    m = read_manifest(root)
    if not m or (m.get("generator_version"), m.get("seed"), m.get("size")) != (GENERATOR_VERSION, seed, size):
        return False
    root = Path(root)
    return all((root / rel).is_file() and (root / rel).stat().st_size == n for rel, n in m["files"].items())


def generate_demo(out: str | os.PathLike, seed: int = 0, size: str = "default", force: bool = False,
                  workers: int | None = None, progress: bool = True) -> dict:
    """Write the demo dataset at ``out``; return its manifest. Skips when it is already complete.

    ``workers``: processes (default: CPU count, at most the number of videos); 1 writes in-process.
    ``force`` regenerates a dataset this generator wrote (its manifest or in-progress marker is there). A
    folder holding iMiGUE layout files without either is refused, ``force`` or not: it may be a user's dataset.
    """
    if size not in SIZES:
        raise ValueError(f"unknown demo size {size!r}; known: {sorted(SIZES)}")
    root = Path(out)
    if not force and is_complete(root, seed, size):
        log.info("demo dataset at %s is complete (seed %d, size %s): kept", root, seed, size)
        return read_manifest(root)
    ours = (root / DEMO_MANIFEST_NAME).exists() or (root / _INCOMPLETE_NAME).exists()
    existing = [p for p in _owned_paths(root) if p.exists()]
    if existing and not ours:  # a dataset the generator did not write: never replaced, --force or not
        raise FileExistsError(
            f"{root} holds {[str(p) for p in existing]} but no {DEMO_MANIFEST_NAME}: it is not a demo dataset written "
            f"by this generator, and the generator never replaces a dataset it did not write (--force neither). "
            f"Choose another --out for the demo. To run the chain on this dataset, read-only: "
            f"make imigue IMIGUE={root}  (or: python -m clipmg_lib.runs.chain --dataset-root {root})")

    started = time.perf_counter()
    cfg = SIZES[size]
    plans = plan_dataset(cfg, seed)
    root.mkdir(parents=True, exist_ok=True)
    (root / DEMO_MANIFEST_NAME).unlink(missing_ok=True)
    with atomic_open(root / _INCOMPLETE_NAME) as f:
        json.dump({"seed": seed, "size": size, "generator_version": GENERATOR_VERSION}, f)
    for p in _owned_paths(root):
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()

    n_workers = max(1, min(workers or os.cpu_count() or 1, len(plans)))
    order = sorted(plans, key=lambda p: -p.num_frames)  # longest first balances the pool
    summaries = []
    bar = progress_bar(total=len(plans), desc=f"demo videos ({n_workers} proc)", unit="video", disable=not progress)
    if n_workers == 1:
        for p in order:
            summaries.append(write_video_files(root, p))
            bar.update()
    else:
        with process_pool(n_workers) as pool:
            for fut in as_completed([pool.submit(write_video_files, root, p) for p in order]):
                summaries.append(fut.result())
                bar.update()
    bar.close()

    table = clip_table(plans, seed)
    write_official_csv(root / OFFICIAL_CSV_NAME, table)
    files = {rel: n for s in summaries for rel, n in s["files"].items()}
    files[OFFICIAL_CSV_NAME] = (root / OFFICIAL_CSV_NAME).stat().st_size
    frames = {s["video"]: s["frames"] for s in summaries}
    manifest = {
        "generator": "clipmg_lib.demo", "generator_version": GENERATOR_VERSION, "seed": seed, "size": size,
        "fps": IMIGUE_FPS, "resolution": list(cfg.resolution), "layout": LAYOUT, "num_clips": len(table),
        "num_classes": int(table["raw_class"].nunique()),
        "clips_per_split": {k: int(n) for k, n in table["split"].value_counts().sort_index().items()},
        "videos": [{**asdict(p.video), "frames": frames[p.video.video], "clips": len(p.clips)} for p in plans],
        "files": dict(sorted(files.items())),
    }
    with atomic_open(root / DEMO_MANIFEST_NAME) as f:
        json.dump(manifest, f, indent=1)
    (root / _INCOMPLETE_NAME).unlink(missing_ok=True)
    log.info("demo dataset written to %s in %.1f s: %d clips, %d videos", root, time.perf_counter() - started,
             len(table), len(plans))
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m clipmg_lib.demo", description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=None, help="dataset root (default: clipmg_lib.core.paths.demo_root())")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", choices=sorted(SIZES), default="default")
    parser.add_argument("--force", action="store_true", help="regenerate a demo dataset this generator wrote, even when complete "
                        "(a folder without its manifest is never replaced)")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: CPU count)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.out is None:
        from ..core.paths import demo_root
        args.out = demo_root()
    started = time.perf_counter()
    try:
        m = generate_demo(args.out, seed=args.seed, size=args.size, force=args.force, workers=args.workers)
    except (FileExistsError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{args.out}: {m['num_clips']} clips of {m['num_classes']} classes in {len(m['videos'])} videos "
          f"{m['clips_per_split']} ({time.perf_counter() - started:.1f} s)")
    return 0

