"""What prediction writes per video: a CSV, a timeline PNG, an annotated video.

CSV: one row per frame and face, in frame order then face_id. Columns: frame
(0-based, in reading order), time_s (frame / fps), face_id (0, 1, ... in
order of appearance; empty in a frame with no face), face_found (0/1),
detector_score (the detector's confidence), box_x, box_y, box_w, box_h
(pixels; empty without a face), valence, arousal (in [-1, 1]), interpolated
(1 where the value is not the model's own output for that frame). A frame
with no face has one row; it carries the values interpolated for the video's
face when there is exactly one (as a one-person video always had), else none.
"""

from __future__ import annotations

import csv
import dataclasses
from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np

from affect_jax.faces.detect import Box
from affect_jax.faces.track import Track
from affect_jax.plots.timelines import Timeline, plot_timelines
from affect_jax.tasks.labels import VALENCE_AROUSAL

CSV_COLUMNS = (
    "frame",
    "time_s",
    "face_id",
    "face_found",
    "detector_score",
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
class FacePrediction:
    """One face's results over the whole video.

    Attributes:
      track: its detections (frames, boxes, scores, face_id).
      present: bool [frames], whether it was detected in each frame.
      values: float [frames, 2], valence and arousal (filled between detections).
      interpolated: bool [frames].
    """

    track: Track
    present: np.ndarray
    values: np.ndarray
    interpolated: np.ndarray

    def detections(self) -> dict[int, tuple[Box, float]]:
        return {
            f: (b, s)
            for f, b, s in zip(self.track.frames, self.track.boxes, self.track.scores, strict=True)
        }


@dataclasses.dataclass
class VideoPrediction:
    """Per-frame results of one video: every confirmed face."""

    name: str
    fps: float
    num_frames: int
    faces: list[FacePrediction]

    @property
    def any_face(self) -> np.ndarray:
        """bool [frames]: whether any face was found in each frame."""
        present = np.zeros(self.num_frames, bool)
        for face in self.faces:
            present |= face.present
        return present


def _number(value: float) -> str:
    return "" if np.isnan(value) else f"{value:.4f}"


def write_csv(prediction: VideoPrediction, path: Path) -> Path:
    """One row per frame and face (see the module docstring)."""
    found = [face.detections() for face in prediction.faces]
    alone = prediction.faces[0] if len(prediction.faces) == 1 else None
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(CSV_COLUMNS)
        for i in range(prediction.num_frames):
            time_s = f"{i / prediction.fps:.3f}"
            rows = 0
            for face, detections in zip(prediction.faces, found, strict=True):
                if i not in detections:
                    continue
                box, score = detections[i]
                valence, arousal = face.values[i]
                score_text = "" if np.isinf(score) else f"{score:.3f}"
                writer.writerow(
                    [i, time_s, face.track.face_id, 1, score_text, *box]
                    + [_number(valence), _number(arousal), int(face.interpolated[i])]
                )
                rows += 1
            if rows:
                continue
            values, interpolated = (np.nan, np.nan), 1
            if alone is not None:
                values, interpolated = alone.values[i], int(alone.interpolated[i])
            writer.writerow(
                [i, time_s, "", 0, "", "", "", "", ""]
                + [_number(values[0]), _number(values[1]), interpolated]
            )
    return path


def plot_timeline(prediction: VideoPrediction, path: Path) -> Path:
    """Valence and arousal against time, one panel per face; frames without it shaded."""
    times = np.arange(prediction.num_frames) / prediction.fps
    timelines = []
    for face in prediction.faces:
        values = face.values
        if len(prediction.faces) > 1:  # Each panel shows its face's frames only.
            values = np.where(face.present[:, None], values, np.nan)
        title = (
            prediction.name
            if len(prediction.faces) == 1
            else f"{prediction.name}: face {face.track.face_id}"
        )
        timelines.append(
            Timeline(title, times, values, gaps=~face.present, step=1 / prediction.fps)
        )
    if not timelines:
        nothing = np.full((prediction.num_frames, 2), np.nan)
        gaps = np.ones(prediction.num_frames, bool)
        timelines = [Timeline(prediction.name, times, nothing, gaps=gaps, step=1 / prediction.fps)]
    return plot_timelines(timelines, VALENCE_AROUSAL, path, xlabel="time (s)", overlay=True)


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


def annotate(
    frame: np.ndarray,
    faces: list[tuple[int, Box, np.ndarray, bool]],
    marker: tuple[np.ndarray, bool] | None = None,
) -> None:
    """Draws each face's box and id, and a valence-arousal marker, in place.

    Args:
      faces: (face_id, box, [valence, arousal], interpolated) of the faces in this frame.
      marker: the marker's values when no face is in the frame (a one-person
        video's interpolated values); the first face's otherwise.
    """
    for face_id, box, values, _ in faces:
        cv2.rectangle(frame, (box.x, box.y), (box.x + box.width, box.y + box.height), _GREEN, 2)
        if len(faces) > 1 or face_id > 0:
            label = f"{face_id}: V {values[0]:+.2f} A {values[1]:+.2f}"
            cv2.putText(
                frame, label, (box.x, max(12, box.y - 6)), cv2.FONT_HERSHEY_SIMPLEX, 0.45, _GREEN, 1
            )
    if faces:
        _, _, values, interpolated = faces[0]
    else:
        values, interpolated = marker if marker is not None else ((np.nan, np.nan), True)
    _draw_marker(frame, float(values[0]), float(values[1]), interpolated)


def write_annotated_video(
    prediction: VideoPrediction, frames: Iterable[np.ndarray], path: Path
) -> Path:
    """The frames, annotated, as an mp4 (mp4v) at the input's frame rate."""
    found = [face.detections() for face in prediction.faces]
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
            in_frame = [
                (face.track.face_id, detections[i][0], face.values[i], bool(face.interpolated[i]))
                for face, detections in zip(prediction.faces, found, strict=True)
                if i in detections
            ]
            alone = prediction.faces[0] if len(prediction.faces) == 1 else None
            marker = (
                (alone.values[i], True) if alone is not None and i < len(alone.values) else None
            )
            annotate(frame, in_frame, marker)
            if (frame.shape[1], frame.shape[0]) != size:  # Image folders of mixed sizes.
                frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
            writer.write(frame)
    finally:
        if writer is not None:
            writer.release()
    return path
