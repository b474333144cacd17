"""A video of the embedded default's face crops with a known valence-arousal trajectory.

The frames are what the synthetic Aff-Wild2 release stores in `cropped_aligned/`
(face_renderer.py, 112x112), of a person drawn from a seed, so a model trained on
the embedded default can be checked on new footage against the truth:

    valence, arousal = write_face_crop_video("crops.avi", num_frames=150, seed=7)
    # python -m affect_jax.predict --cropped_faces --input=crops.avi ...

Predict it with `cropped_faces` on: the frames are already face crops.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from affect_jax.synthetic import face_renderer
from affect_jax.synthetic.portrait_video import write_video


def trajectory(num_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """(valence, arousal) per frame: slow sinusoids of different periods in [-0.8, 0.8]."""
    t = np.arange(num_frames) / max(num_frames, 1)
    valence = 0.8 * np.sin(2 * np.pi * t)
    arousal = 0.7 * np.sin(2 * np.pi * t / 0.7 + 1.0)
    return valence.astype(np.float32), arousal.astype(np.float32)


def face_crop_frames(num_frames: int, *, seed: int = 0) -> tuple[list[np.ndarray], np.ndarray]:
    """112x112 BGR frames of one person and the [num_frames, 2] valence-arousal they show."""
    rng = np.random.default_rng(seed)
    identity = face_renderer.random_identity(rng)
    valence, arousal = trajectory(num_frames)
    head = 1.5 * np.sin(2 * np.pi * np.arange(num_frames) / 90.0)  # A slow sway, in pixels.
    frames = [
        face_renderer.render_face(identity, v, a, dx, 0.0, rng)
        for v, a, dx in zip(valence, arousal, head, strict=True)
    ]
    return frames, np.stack([valence, arousal], axis=1)


def write_face_crop_video(
    path: str | Path, num_frames: int, *, seed: int = 0, fps: float = 25.0, fourcc: str = "MJPG"
) -> tuple[np.ndarray, np.ndarray]:
    """Writes `face_crop_frames` as a video; returns the (valence, arousal) truth per frame."""
    frames, labels = face_crop_frames(num_frames, seed=seed)
    write_video(frames, path, fps, fourcc)
    return labels[:, 0], labels[:, 1]
