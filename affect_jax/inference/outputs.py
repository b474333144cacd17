"""What prediction writes per video: a CSV, a timeline PNG, an annotated video.

CSV columns: frame (0-based, in reading order), time_s (frame / fps),
face_found (0/1), box_x, box_y, box_w, box_h (pixels; empty without a face),
valence, arousal (in [-1, 1]; empty when the video has no face at all),
interpolated (1 where the value is not the model's own output for that frame).
"""

from __future__ import annotations

import csv
import dataclasses
from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np

from affect_jax.faces.detect import Box
from affect_jax.plots.timelines import Timeline, plot_timelines
from affect_jax.tasks.labels import VALENCE_AROUSAL

CSV_COLUMNS = (
    "frame",
    "time_s",
    "face_found",
    "box_x",
    "box_y",
    "box_w",
    "box_h",
    "valence",
    "arousal",
    "interpolated",
)
_GREEN, _ORANGE, _WHITE, _GRAY, _DARK = (
    (60, 200, 60),
    (0, 150, 255),
    (255,) * 3,
    (150,) * 3,
    (40,) * 3,
)


@dataclasses.dataclass
class VideoPrediction:
    """Per-frame results of one video.

    Attributes:
      boxes: the tracked face of each frame, or None.
      values: float [frames, 2], valence and arousal (NaN: none).
      interpolated: bool [frames].
    """

    name: str
    fps: float
    boxes: list[Box | None]
    values: np.ndarray
    interpolated: np.ndarray

    @property
    def face(self) -> np.ndarray:
        return np.array([box is not None for box in self.boxes], bool)


def _number(value: float) -> str:
    return "" if np.isnan(value) else f"{value:.4f}"


def write_csv(prediction: VideoPrediction, path: Path) -> Path:
    """One row per frame (see the module docstring)."""
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(CSV_COLUMNS)
        for i, box in enumerate(prediction.boxes):
            valence, arousal = prediction.values[i]
            writer.writerow(
                [
                    i,
                    f"{i / prediction.fps:.3f}",
                    int(box is not None),
                    *(box if box is not None else ("", "", "", "")),
                    _number(valence),
                    _number(arousal),
                    int(prediction.interpolated[i]),
                ]
            )
    return path


def plot_timeline(prediction: VideoPrediction, path: Path) -> Path:
    """Valence and arousal against time; frames with no face shaded."""
    times = np.arange(len(prediction.boxes)) / prediction.fps
    timeline = Timeline(
        prediction.name, times, prediction.values, gaps=~prediction.face, step=1 / prediction.fps
    )
    return plot_timelines([timeline], VALENCE_AROUSAL, path, xlabel="time (s)", overlay=True)


def _draw_marker(frame: np.ndarray, valence: float, arousal: float, interpolated: bool) -> None:
    """A valence (x) / arousal (y) square in the top-left corner with a dot at the value."""
    side = max(60, min(frame.shape[:2]) // 4)
    x0, y0 = 8, 8
    cv2.rectangle(frame, (x0, y0), (x0 + side, y0 + side), _DARK, -1)
    cv2.line(frame, (x0 + side // 2, y0), (x0 + side // 2, y0 + side), _GRAY, 1)
    cv2.line(frame, (x0, y0 + side // 2), (x0 + side, y0 + side // 2), _GRAY, 1)
    if np.isnan(valence):
        return
    cx = x0 + int(round((valence + 1) / 2 * side))
    cy = y0 + int(round((1 - arousal) / 2 * side))  # Arousal up.
    # Hollow where interpolated: the model did not see this frame's face.
    cv2.circle(frame, (cx, cy), max(3, side // 15), _ORANGE, 1 if interpolated else -1)
    text = f"V {valence:+.2f} A {arousal:+.2f}"
    (width, height), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.45, 1)
    cv2.rectangle(frame, (x0, y0 + side), (x0 + width + 6, y0 + side + height + 10), _DARK, -1)
    cv2.putText(
        frame, text, (x0 + 3, y0 + side + height + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.45, _WHITE, 1
    )


def annotate(frame: np.ndarray, box: Box | None, values: np.ndarray, interpolated: bool) -> None:
    """Draws the face box and the valence-arousal marker on a BGR frame, in place."""
    if box is not None:
        cv2.rectangle(frame, (box.x, box.y), (box.x + box.width, box.y + box.height), _GREEN, 2)
    _draw_marker(frame, float(values[0]), float(values[1]), interpolated)


def write_annotated_video(
    prediction: VideoPrediction, frames: Iterable[np.ndarray], path: Path
) -> Path:
    """The frames, annotated, as an mp4 (mp4v) at the input's frame rate."""
    writer, size = None, None
    try:
        for i, frame in enumerate(frames):
            if writer is None:
                size = (frame.shape[1], frame.shape[0])
                writer = cv2.VideoWriter(
                    str(path), cv2.VideoWriter_fourcc(*"mp4v"), prediction.fps, size
                )
                if not writer.isOpened():
                    raise OSError(f"OpenCV cannot write the video {path} (mp4v codec).")
            if i < len(prediction.boxes):
                annotate(
                    frame, prediction.boxes[i], prediction.values[i], prediction.interpolated[i]
                )
            if (frame.shape[1], frame.shape[0]) != size:  # Image folders of mixed sizes.
                frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
            writer.write(frame)
    finally:
        if writer is not None:
            writer.release()
    return path
