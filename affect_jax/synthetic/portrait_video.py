"""Writes test videos of one rendered person, with frames where there is no face.

For the prediction tests and benchmark: the portraits (portrait_renderer.py)
are drawn so that OpenCV's Haar cascade finds them, so the frames with a face
are known. The face drifts slowly and goes from a frown to a smile and back;
"no face" frames show only the background.

    face = write_portrait_video("clip.avi", num_frames=60, no_face=range(20, 30))
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np

from affect_jax.synthetic import expressions, portrait_renderer


def portrait_frames(
    num_frames: int,
    *,
    size: tuple[int, int] = (240, 320),
    no_face: Iterable[int] = (),
    seed: int = 0,
) -> tuple[list[np.ndarray], np.ndarray]:
    """Gray frames (height, width) and whether each shows a face.

    Args:
      num_frames: how many frames.
      size: (height, width) in pixels.
      no_face: indices of the frames that show no face.
      seed: picks the person and the pixel noise.
    """
    rng = np.random.default_rng(seed)
    identity = portrait_renderer.random_identity(rng)
    height, width = size
    radius = 0.17 * height
    face = np.ones(num_frames, bool)
    face[[i for i in no_face if 0 <= i < num_frames]] = False
    ramp = np.linspace(-0.5, 0.5, width, dtype=np.float32)
    background = identity.background + identity.background_tilt * ramp
    frames = []
    for i in range(num_frames):
        if not face[i]:
            noise = rng.normal(0.0, 2.0, (height, width))
            frames.append(np.clip(background[None] + noise, 0, 255).astype(np.uint8))
            continue
        phase = 2 * np.pi * i / max(num_frames, 1)
        smile = np.sin(phase)  # -1 sad .. 1 happy.
        expression = expressions.expression("happy" if smile >= 0 else "sadness", abs(smile))
        centre = (width / 2 + 0.08 * width * np.sin(phase / 2), 0.45 * height)
        frames.append(
            portrait_renderer.render_portrait(
                identity,
                expression,
                canvas_size=size,
                centre=centre,
                radius=radius,
                rng=rng,
            )
        )
    return frames, face


def write_video(frames: Iterable[np.ndarray], path: str | Path, fps: float, fourcc: str) -> Path:
    """Writes gray or BGR frames with OpenCV (e.g. MJPG in .avi, mp4v in .mp4)."""
    writer = None
    try:
        for frame in frames:
            if frame.ndim == 2:
                frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
            if writer is None:
                size = (frame.shape[1], frame.shape[0])
                writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, size)
                if not writer.isOpened():
                    raise OSError(f"OpenCV cannot write {path} with the {fourcc} codec.")
            writer.write(frame)
    finally:
        if writer is not None:
            writer.release()
    return Path(path)


def write_portrait_video(
    path: str | Path,
    num_frames: int,
    *,
    size: tuple[int, int] = (240, 320),
    no_face: Iterable[int] = (),
    fps: float = 25.0,
    fourcc: str = "MJPG",
    seed: int = 0,
) -> np.ndarray:
    """Writes a `portrait_frames` video; returns whether each frame shows a face."""
    frames, face = portrait_frames(num_frames, size=size, no_face=no_face, seed=seed)
    write_video(frames, path, fps, fourcc)
    return face
