"""Real footage of a real person, available offline, for pose tests, the notebook and the benchmark.

No installed package ships a video of a person, so the kit uses the one real photograph of a person
that is always installed with matplotlib (Grace Hopper, ``matplotlib.cbook.get_sample_data``) and
turns it into a short "video" by a slow pan and zoom, like a hand-held camera on a still subject.
It is real imagery (mediapipe sees a real face, shoulders and uniform), not a rendering; but the
person does not move, only the camera does. Each frame's camera transform is returned, so a test can
check that landmarks found in the video follow the camera.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np



def person_photo() -> np.ndarray:
    """Grace Hopper's portrait from matplotlib's sample data: uint8 RGB (600, 512, 3)."""
    import matplotlib.cbook as cbook
    from PIL import Image

    with cbook.get_sample_data("grace_hopper.jpg") as f:
        return np.asarray(Image.open(f).convert("RGB"))


def landscape_canvas(photo: np.ndarray, aspect: float) -> tuple[np.ndarray, np.ndarray]:
    """Place ``photo`` at the centre of a canvas of width/height ``aspect`` over a blurred copy of itself
    (the usual look of a portrait shot in a landscape video). Returns (canvas, offset (x, y) of the photo)."""
    import cv2

    h, w = photo.shape[:2]
    cw, ch = max(w, int(round(h * aspect))), max(h, int(round(w / aspect)))
    if (cw, ch) == (w, h):
        return photo, np.zeros(2)
    canvas = cv2.GaussianBlur(cv2.resize(photo, (cw, ch), interpolation=cv2.INTER_AREA), (0, 0), sigmaX=25)
    canvas = (canvas * 0.6).astype(np.uint8)
    x0, y0 = (cw - w) // 2, (ch - h) // 2
    canvas[y0:y0 + h, x0:x0 + w] = photo
    return canvas, np.array([x0, y0], np.float64)


def pan_zoom_transforms(num_frames: int, src_shape: tuple[int, int], out_size: tuple[int, int],
                        zoom: tuple[float, float] = (0.80, 0.95), shift: float = 0.05) -> np.ndarray:
    """Per-frame 2x3 affine maps from source pixels to frame pixels: (num_frames, 2, 3) float64.

    A crop window of ``zoom`` times the source (varying smoothly) drifts by up to ``shift`` of the source
    size around the centre and is resized to ``out_size`` = (W, H).
    """
    h, w = src_shape
    out_w, out_h = out_size
    t = np.arange(num_frames, dtype=np.float64)
    z = zoom[0] + (zoom[1] - zoom[0]) * 0.5 * (1 + np.sin(2 * np.pi * t / max(num_frames, 2)))
    cx = w / 2 + shift * w * np.sin(2 * np.pi * t / max(num_frames, 2) * 0.7)
    cy = h / 2 + shift * h * np.cos(2 * np.pi * t / max(num_frames, 2) * 0.5) - shift * h
    win_w, win_h = z * w, z * h
    sx, sy = out_w / win_w, out_h / win_h
    mats = np.zeros((num_frames, 2, 3))
    mats[:, 0, 0], mats[:, 0, 2] = sx, -(cx - win_w / 2) * sx
    mats[:, 1, 1], mats[:, 1, 2] = sy, -(cy - win_h / 2) * sy
    return mats


def pan_zoom_frames(num_frames: int = 48, out_size: tuple[int, int] = (320, 376),
                    photo: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Frames of the pan/zoom "video": uint8 (T, H, W, 3) and their affines (T, 2, 3) (PHOTO pixels -> frame).

    For an output aspect other than the photo's, the photo sits on a blurred landscape canvas
    (:func:`landscape_canvas`), so nothing is stretched.
    """
    import cv2

    photo = person_photo() if photo is None else photo
    canvas, offset = landscape_canvas(photo, out_size[0] / out_size[1])
    mats = pan_zoom_transforms(num_frames, canvas.shape[:2], out_size)
    frames = np.stack([cv2.warpAffine(canvas, m, out_size, flags=cv2.INTER_LINEAR,
                                      borderMode=cv2.BORDER_REFLECT) for m in mats])
    mats[:, :, 2] += mats[:, :, :2] @ offset        # photo -> canvas -> frame
    return frames, mats


def write_video(path: str | os.PathLike, frames: np.ndarray, fps: int = 25) -> Path:
    """Write uint8 RGB frames (T, H, W, 3) as an H.264 mp4 (PyAV), atomically. H and W must be even."""
    from ..data.video_writer import write_h264

    path = Path(path)
    t, h, w, _ = frames.shape
    write_h264(path, frames, width=w, height=h, fps=fps, options={"crf": "18", "preset": "veryfast"})
    return path


def write_person_video(path: str | os.PathLike, num_frames: int = 48,
                       out_size: tuple[int, int] = (320, 376), fps: int = 25) -> tuple[Path, np.ndarray]:
    """Write the pan/zoom video of the real photo to ``path``; returns (path, affines (T, 2, 3))."""
    frames, mats = pan_zoom_frames(num_frames, out_size)
    return write_video(path, frames, fps), mats


def project_points(points: np.ndarray, mats: np.ndarray) -> np.ndarray:
    """Where photo pixels (V, 2) land in each frame under the affines (T, 2, 3): (T, V, 2)."""
    return np.einsum("tij,vj->tvi", mats[:, :, :2], points) + mats[:, None, :, 2]
