"""Rendering of the demo dataset: draw each frame from the true skeleton, encode H.264 with PyAV.

A press-conference shot: a sponsor backdrop, a table with a microphone, one seated person drawn with
OpenCV primitives (anti-aliased, sub-pixel) at the positions of :mod:`clipmg_lib.demo.motion`'s
joints: a jacket torso, arms (shoulder - elbow - wrist), palms and five fingers ending at the fingertip
joints, a head placed by the nose, eyes and ears. RGB-only cues (pressed lips, puffed cheeks, a pen, a
cap) are drawn from the tracks' cue levels; they never touch the skeleton. Frames are RGB ``uint8``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

import cv2
import numpy as np

from ..data.annotations import IMIGUE_FPS
from ..data.video_writer import write_h264
from .motion import EAR, ELBOW, EYE, NECK, NOSE, SHOULDER, TIPS, WRIST, VideoMotion

_SHIFT = 4  # OpenCV fixed-point bits: coordinates are drawn with 1/16 px precision
_ONE = 1 << _SHIFT
_AA = cv2.LINE_AA

RGB = tuple[int, int, int]

SKIN_TONES: tuple[RGB, ...] = ((241, 204, 178), (224, 172, 138), (198, 145, 108), (160, 110, 78), (112, 74, 52))
HAIR_COLOURS: tuple[RGB, ...] = ((30, 24, 20), (70, 45, 25), (120, 85, 50), (190, 160, 110), (110, 110, 110))
JACKET_COLOURS: tuple[RGB, ...] = ((25, 35, 70), (40, 40, 45), (150, 30, 35), (30, 90, 60), (200, 200, 205),
                                   (60, 110, 170), (230, 120, 40), (90, 60, 120))
SHIRT_COLOURS: tuple[RGB, ...] = ((235, 235, 235), (180, 200, 230), (250, 250, 240), (245, 225, 225))
HAT_COLOURS: tuple[RGB, ...] = ((210, 30, 40), (30, 90, 200), (245, 245, 245), (40, 160, 70))
LIP_COLOUR: RGB = (180, 70, 80)
BLUSH_COLOUR: RGB = (230, 90, 90)
PEN_COLOUR: RGB = (250, 210, 30)


@dataclass(frozen=True)
class Appearance:
    """How one subject looks (drawn the same in all of their videos)."""

    skin: RGB
    hair: RGB
    jacket: RGB
    shirt: RGB
    hat: RGB | None  # a cap, for hat-wearing subjects

    @classmethod
    def sample(cls, rng: np.random.Generator, wears_hat: bool) -> "Appearance":
        pick = lambda options: tuple(int(c) for c in options[int(rng.integers(len(options)))])  # noqa: E731
        return cls(pick(SKIN_TONES), pick(HAIR_COLOURS), pick(JACKET_COLOURS), pick(SHIRT_COLOURS),
                   pick(HAT_COLOURS) if wears_hat else None)


def _mix(a: RGB, b: RGB, w: float) -> RGB:
    return tuple(int(round(x + (y - x) * w)) for x, y in zip(a, b))


def _shade(c: RGB, f: float) -> RGB:
    return tuple(int(np.clip(round(x * f), 0, 255)) for x in c)


def _p(xy) -> tuple[int, int]:
    """A float point as OpenCV fixed-point integers."""
    return int(round(float(xy[0]) * _ONE)), int(round(float(xy[1]) * _ONE))


def _r(v: float) -> int:
    return max(1, int(round(v * _ONE)))


def draw_background(shape: tuple[int, int], unit: float, table_y: float, rng: np.random.Generator,
                    avoid: tuple[RGB, ...] = ()) -> np.ndarray:
    """(H, W, 3) uint8: a sponsor backdrop (a grid of logo panels) and a table cloth below ``table_y``.

    The wall colour keeps an L1 distance of at least 90 from each colour in ``avoid`` (the subject's), so
    that the person stands out as at a real press conference.
    """
    h, w = shape
    for _ in range(200):
        wall = np.array(rng.integers(60, 200, 3), dtype=np.float64)
        if all(np.abs(wall - np.array(c)).sum() >= 90 for c in avoid):
            break
    img = np.empty((h, w, 3), np.float64)
    img[:] = wall * np.linspace(0.85, 1.05, h)[:, None, None]
    cell_w, cell_h = rng.uniform(0.12, 0.2) * w, rng.uniform(0.14, 0.22) * h
    logos = [rng.integers(0, 256, 3) for _ in range(3)]
    x0, y0 = rng.uniform(-cell_w, 0), rng.uniform(-cell_h, 0)
    for row, y in enumerate(np.arange(y0, table_y, cell_h)):
        for col, x in enumerate(np.arange(x0 + (row % 2) * cell_w / 2, w, cell_w)):
            c = logos[(row + col) % len(logos)]
            cv2.rectangle(img, (int(x + 0.2 * cell_w), int(y + 0.35 * cell_h)),
                          (int(x + 0.8 * cell_w), int(y + 0.65 * cell_h)), tuple(float(v) for v in c), -1)
    img += rng.normal(0.0, 3.0, img.shape)  # sensor noise, fixed per video
    table = np.array(rng.integers(10, 90, 3), dtype=np.float64)
    ty = int(round(table_y))
    img[ty:] = table
    img[ty:ty + max(1, int(0.012 * unit))] = np.minimum(table + 60, 255)  # lit table edge
    return np.clip(img, 0, 255).astype(np.uint8)


@dataclass
class Scene:
    """Everything fixed over one video: background, subject, body unit (px), microphone position."""

    background: np.ndarray
    appearance: Appearance
    unit: float
    table_y: float
    mic_x: float
    outline: RGB = field(init=False)  # derived colours, computed once
    skin_dark: RGB = field(init=False)
    lips_pressed: RGB = field(init=False)
    hat_brim: RGB | None = field(init=False)

    def __post_init__(self) -> None:
        a = self.appearance
        self.outline = _shade(a.jacket, 0.55)
        self.skin_dark = _shade(a.skin, 0.8)
        self.lips_pressed = _shade(a.skin, 0.6)
        self.hat_brim = _shade(a.hat, 0.7) if a.hat is not None else None

    @classmethod
    def sample(cls, shape: tuple[int, int], appearance: Appearance, motion: VideoMotion,
               rng: np.random.Generator) -> "Scene":
        u = motion.unit_px
        a = appearance
        bg = draw_background(shape, u, motion.table_y_px, rng, avoid=(a.skin, _shade(a.skin, 0.8), a.jacket, a.shirt))
        mic_x = motion.neck_px[0] + rng.choice([-1, 1]) * rng.uniform(0.33, 0.42) * u
        return cls(bg, appearance, u, motion.table_y_px, float(mic_x))


def render_frame(canvas: np.ndarray, scene: Scene, motion: VideoMotion, t: int) -> np.ndarray:
    """Draw frame ``t`` of ``motion`` into ``canvas`` (H, W, 3) uint8 RGB, in place; returns it."""
    app, u, j, tr = scene.appearance, scene.unit, motion.joints[t], motion.tracks
    np.copyto(canvas, scene.background)
    neck, nose = j[NECK], j[NOSE]
    outline, skin_dark = scene.outline, scene.skin_dark

    # torso (jacket) down to the table, shirt collar, neck
    rs, ls = j[SHOULDER[0]], j[SHOULDER[1]]
    ty = scene.table_y
    torso = np.array([rs + (-0.03 * u, 0.02 * u), rs + (0.02 * u, -0.02 * u), ls + (-0.02 * u, -0.02 * u),
                      ls + (0.03 * u, 0.02 * u), (ls[0] + 0.05 * u, ty + 2), (rs[0] - 0.05 * u, ty + 2)])
    cv2.fillPoly(canvas, [np.round(torso * _ONE).astype(np.int32)], app.jacket, _AA, _SHIFT)
    collar = np.array([neck + (-0.06 * u, -0.005 * u), neck + (0.06 * u, -0.005 * u), neck + (0, 0.16 * u)])
    cv2.fillPoly(canvas, [np.round(collar * _ONE).astype(np.int32)], app.shirt, _AA, _SHIFT)
    cv2.line(canvas, _p(neck), _p(nose + (0, 0.06 * u)), app.skin, max(1, int(round(0.075 * u))), _AA, _SHIFT)

    # head: ears, face (cheeks puff), hair, eyes, nose, lips (pressed), blush, cap
    bulge = float(tr.cheeks_bulged[t])
    for e in EAR:
        cv2.ellipse(canvas, _p(j[e]), (_r(0.016 * u), _r(0.026 * u)), 0, 0, 360, skin_dark, -1, _AA, _SHIFT)
    face_c = nose + (0, -0.012 * u)
    cv2.ellipse(canvas, _p(face_c), (_r(0.072 * u * (1 + 0.25 * bulge)), _r(0.094 * u)), 0, 0, 360, app.skin,
                -1, _AA, _SHIFT)
    cv2.ellipse(canvas, _p(nose + (0, -0.062 * u)), (_r(0.078 * u), _r(0.052 * u)), 0, 180, 360, app.hair, -1,
                _AA, _SHIFT)
    for e in EYE:
        cv2.circle(canvas, _p(j[e]), _r(0.009 * u), (25, 20, 20), -1, _AA, _SHIFT)
    cv2.circle(canvas, _p(nose), _r(0.008 * u), skin_dark, -1, _AA, _SHIFT)
    if bulge > 0.02:
        blush = _mix(app.skin, BLUSH_COLOUR, 0.9 * bulge)
        for s in (-1, 1):
            cv2.circle(canvas, _p(nose + (s * 0.047 * u * (1 + 0.25 * bulge), 0.022 * u)), _r(0.03 * u), blush,
                       -1, _AA, _SHIFT)
    pressed = float(tr.lips_pressed[t])
    lips = _mix(LIP_COLOUR, scene.lips_pressed, pressed) if pressed > 0.01 else LIP_COLOUR
    cv2.ellipse(canvas, _p(nose + (0, 0.047 * u)), (_r(0.026 * u * (1 + 0.15 * pressed)),
                                                    _r(0.010 * u * (1 - 0.7 * pressed))),
                0, 0, 360, lips, -1, _AA, _SHIFT)
    if app.hat is not None:
        cv2.ellipse(canvas, _p(nose + (0, -0.078 * u)), (_r(0.088 * u), _r(0.07 * u)), 0, 180, 360, app.hat, -1,
                    _AA, _SHIFT)
        cv2.ellipse(canvas, _p(nose + (0, -0.074 * u)), (_r(0.105 * u), _r(0.02 * u)), 0, 0, 360,
                    scene.hat_brim, -1, _AA, _SHIFT)

    # arms (sleeves with an outline), palms, fingers; the pen in a hand
    thick_upper, thick_fore = max(2, int(round(0.07 * u))), max(2, int(round(0.06 * u)))
    for side in (0, 1):
        s, e, w = j[SHOULDER[side]], j[ELBOW[side]], j[WRIST[side]]
        cv2.line(canvas, _p(s), _p(e), outline, thick_upper + 2, _AA, _SHIFT)
        cv2.line(canvas, _p(e), _p(w), outline, thick_fore + 2, _AA, _SHIFT)
        cv2.line(canvas, _p(s), _p(e), app.jacket, thick_upper, _AA, _SHIFT)
        cv2.line(canvas, _p(e), _p(w), app.jacket, thick_fore, _AA, _SHIFT)
        cv2.circle(canvas, _p(w), _r(0.025 * u), app.shirt, -1, _AA, _SHIFT)  # cuff
        palm = motion.palms[t, side]
        cv2.circle(canvas, _p(palm), _r(0.032 * u), app.skin, -1, _AA, _SHIFT)
        finger = max(1, int(round(0.014 * u)))
        for tip in TIPS[side]:
            cv2.line(canvas, _p(palm), _p(j[tip]), app.skin, finger, _AA, _SHIFT)
    pen = int(tr.pen_hand[t])
    if pen >= 0:
        a = float(tr.pen_angle[t])
        palm = motion.palms[t, pen]
        d = np.array([np.cos(a) * (1 if pen == 0 else -1), np.sin(a)])
        cv2.line(canvas, _p(palm - 0.07 * u * d), _p(palm + 0.15 * u * d), PEN_COLOUR, max(2, int(0.028 * u)),
                 _AA, _SHIFT)
        cv2.circle(canvas, _p(palm + 0.15 * u * d), _r(0.016 * u), (30, 30, 30), -1, _AA, _SHIFT)

    # the microphone stands in front of the person
    mic_top = (scene.mic_x, ty - 0.2 * u)
    cv2.line(canvas, _p((scene.mic_x, ty + 0.02 * u)), _p(mic_top), (35, 35, 35), max(1, int(0.012 * u)), _AA,
             _SHIFT)
    cv2.ellipse(canvas, _p(mic_top), (_r(0.018 * u), _r(0.024 * u)), 0, 0, 360, (20, 20, 20), -1, _AA, _SHIFT)
    return canvas


def write_video(path: str | os.PathLike, scene: Scene, motion: VideoMotion, crf: int = 20,
                gop: int = 50) -> None:
    """Render every frame of ``motion`` and write an H.264 mp4 at 25 fps (yuv420p), atomically.

    One encoder thread (the generator parallelises over videos); a keyframe every ``gop`` frames and no
    B-frames keep random access cheap for frame-accurate readers (decord). Frames go to the encoder as
    I420 converted by OpenCV (BT.601), a third faster than letting libswscale convert RGB.
    """
    h, w = scene.background.shape[:2]
    canvas = np.empty_like(scene.background)
    frames = (cv2.cvtColor(render_frame(canvas, scene, motion, t), cv2.COLOR_RGB2YUV_I420)
              for t in range(motion.joints.shape[0]))
    write_h264(path, frames, width=w, height=h, fps=IMIGUE_FPS, frame_format="yuv420p", threads=1,
               options={"crf": str(crf), "preset": "veryfast", "g": str(gop), "bf": "0"})
