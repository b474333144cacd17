"""What prediction writes per video: a CSV, a timeline PNG, an annotated video.

CSV: one row per frame and face, in frame order then face_id. Columns: frame
(0-based, in reading order), time_s (frame / fps), face_id (0, 1, ... in
order of appearance; empty in a frame with no face), face_found (0/1),
detector_score (the detector's confidence), box_x, box_y, box_w, box_h
(pixels; empty without a face), then the run's values: valence, arousal (in
[-1, 1]) for a VA head; expression_prob_<class> (softmax probabilities) and
expression_label (the most likely class) for an expression head;
au_prob_<AU> (sigmoid probabilities) and au_active_<AU> (0/1 at the run's
threshold, chosen on validation) for an AU head; last interpolated (1 where
the values are not the model's own output for that frame: probabilities are
interpolated, labels derived from them). A VA-only run's CSV has exactly the
VA columns. A frame with no face has one row; it carries the values
interpolated for the video's face when there is exactly one (as a one-person
video always had), else none.

Beside the CSV, <name>.json names the model and where its training faces came
from; a model that learned from synthetic faces only says so there and in the
timeline's titles.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import cv2
import numpy as np

from affect_jax.faces.detect import Box
from affect_jax.faces.track import Track
from affect_jax.plots.timelines import Strip, Timeline, plot_timelines
from affect_jax.tasks import thresholds
from affect_jax.tasks.columns import AU_PREFIX, EXPRESSION_PREFIX, task_columns
from affect_jax.tasks.labels import VALENCE_AROUSAL

# Added to each timeline panel of a model that learned from synthetic faces only.
SYNTHETIC_TITLE = " (model trained on synthetic faces only)"
FRAME_COLUMNS = (
    "frame",
    "time_s",
    "face_id",
    "face_found",
    "detector_score",
    "box_x",
    "box_y",
    "box_w",
    "box_h",
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
    """Per-frame results of one video: every confirmed face.

    Attributes:
      value_names: the columns of each face's `values` (VideoModel.value_names).
      au_thresholds: per AU, the probability above which it is active.
    """

    name: str
    fps: float
    num_frames: int
    faces: list[FacePrediction]
    value_names: tuple[str, ...] = VALENCE_AROUSAL
    au_thresholds: dict = dataclasses.field(default_factory=dict)
    # What the sidecar JSON says of the model (FrameModel.description).
    model: dict = dataclasses.field(default_factory=dict)

    @property
    def synthetic_only(self) -> bool:
        return bool(self.model.get("synthetic_only"))

    @property
    def any_face(self) -> np.ndarray:
        """bool [frames]: whether any face was found in each frame."""
        present = np.zeros(self.num_frames, bool)
        for face in self.faces:
            present |= face.present
        return present


def _number(value: float) -> str:
    return "" if np.isnan(value) else f"{value:.4f}"


def _csv_name(name: str) -> str:
    if name.startswith(EXPRESSION_PREFIX):
        return "expression_prob_" + name[len(EXPRESSION_PREFIX) :]
    if name.startswith(AU_PREFIX):
        return "au_prob_" + name[len(AU_PREFIX) :]
    return name


def _labels(names: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """(expression class names, AU names) of a run's value columns."""
    groups = task_columns(names)
    expressions = [names[c][len(EXPRESSION_PREFIX) :] for c in groups.get("expression", [])]
    action_units = [names[c][len(AU_PREFIX) :] for c in groups.get("au", [])]
    return expressions, action_units


def value_columns(value_names: tuple[str, ...]) -> tuple[str, ...]:
    """The CSV columns of a run's values and the labels derived from them."""
    expressions, action_units = _labels(value_names)
    derived = ["expression_label"] if expressions else []
    derived += [f"au_active_{name}" for name in action_units]
    return (*map(_csv_name, value_names), *derived)


def csv_columns(value_names: tuple[str, ...] = VALENCE_AROUSAL) -> tuple[str, ...]:
    """The CSV header of a run whose values are `value_names` (see the module docstring)."""
    return (*FRAME_COLUMNS, *value_columns(value_names), "interpolated")


CSV_COLUMNS = csv_columns()  # A valence-arousal run's header.


def value_cells(values: np.ndarray, names: tuple[str, ...], au_thresholds: dict) -> list[str]:
    """The value and derived cells of one row (empty where the values are NaN)."""
    cells = [_number(v) for v in values]
    groups = task_columns(names)
    expressions, action_units = _labels(names)
    known = not np.isnan(values).all()
    if expressions:
        best = int(np.argmax(values[groups["expression"]])) if known else -1
        cells.append(expressions[best] if known else "")
    if action_units:
        active = thresholds.decisions(
            values[groups["au"]][None], tuple(action_units), au_thresholds
        )[0]
        cells += [str(int(a)) if known else "" for a in active]
    return cells


def write_model_sidecar(prediction: VideoPrediction, path: Path) -> Path:
    """<name>.json beside the CSV: the model, where its training faces came from."""
    path.write_text(json.dumps({"video": prediction.name, "model": prediction.model}, indent=2))
    return path


def write_csv_rows(path: Path, header: Iterable[str], rows: Iterable[list]) -> Path:
    """Writes `rows` as they come, under a temporary name that becomes `path` after the last.

    An interrupted run leaves no CSV that looks complete, and an earlier
    run's stays until the new one is whole.
    """
    partial = path.with_name(f".{path.name}.partial")
    try:
        with open(partial, "w", newline="") as file:
            writer = csv.writer(file)
            writer.writerow(header)
            writer.writerows(rows)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, path)
    return path


def write_csv(prediction: VideoPrediction, path: Path) -> Path:
    """One row per frame and face (see the module docstring), written by `write_csv_rows`."""
    return write_csv_rows(path, csv_columns(prediction.value_names), _csv_rows(prediction))


def _cells(values: np.ndarray, prediction: VideoPrediction) -> list[str]:
    return value_cells(values, prediction.value_names, prediction.au_thresholds)


def _csv_rows(prediction: VideoPrediction) -> Iterator[list]:
    found = [face.detections() for face in prediction.faces]
    alone = prediction.faces[0] if len(prediction.faces) == 1 else None
    nothing = np.full(len(prediction.value_names), np.nan)
    for i in range(prediction.num_frames):
        time_s = f"{i / prediction.fps:.3f}"
        rows = 0
        for face, detections in zip(prediction.faces, found, strict=True):
            if i not in detections:
                continue
            box, score = detections[i]
            score_text = "" if np.isinf(score) else f"{score:.3f}"
            yield (
                [i, time_s, face.track.face_id, 1, score_text, *box]
                + _cells(face.values[i], prediction)
                + [int(face.interpolated[i])]
            )
            rows += 1
        if rows:
            continue
        values, interpolated = nothing, 1
        if alone is not None:
            values, interpolated = alone.values[i], int(alone.interpolated[i])
        yield ([i, time_s, "", 0, "", "", "", "", ""] + _cells(values, prediction) + [interpolated])


def valence_arousal(values: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """[..., 2] valence and arousal of value rows (NaN where the run has none)."""
    values = np.asarray(values, np.float64)
    picked = [
        values[..., names.index(n)] if n in names else np.full(values.shape[:-1], np.nan)
        for n in VALENCE_AROUSAL
    ]
    return np.stack(picked, axis=-1)


def _strips(values: np.ndarray, names: tuple[str, ...]) -> tuple[Strip, ...]:
    """Expression and AU probabilities of a face, as heat strips."""
    groups = task_columns(names)
    expressions, action_units = _labels(names)
    strips = []
    if expressions:
        strips.append(Strip("expression", values[:, groups["expression"]], tuple(expressions)))
    if action_units:
        strips.append(Strip("AUs", values[:, groups["au"]], tuple(action_units)))
    return tuple(strips)


def plot_timeline(prediction: VideoPrediction, path: Path) -> Path:
    """Values against time, a panel per face (frames without it shaded).

    Valence and arousal as lines; expression and AU probabilities, where the
    run has those heads, as heat strips under them.
    """
    names = prediction.value_names
    times = np.arange(prediction.num_frames) / prediction.fps
    step = 1 / prediction.fps
    timelines = []
    for face in prediction.faces:
        values = face.values
        if len(prediction.faces) > 1:  # Each panel shows its face's frames only.
            values = np.where(face.present[:, None], values, np.nan)
        title = prediction.name
        if len(prediction.faces) > 1:
            title = f"{prediction.name}: face {face.track.face_id}"
        if prediction.synthetic_only:
            title += SYNTHETIC_TITLE
        timelines.append(
            Timeline(
                title,
                times,
                valence_arousal(values, names),
                gaps=~face.present,
                step=step,
                strips=_strips(values, names),
            )
        )
    if not timelines:
        nothing = np.full((prediction.num_frames, 2), np.nan)
        gaps = np.ones(prediction.num_frames, bool)
        timelines = [Timeline(prediction.name, times, nothing, gaps=gaps, step=step)]
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
    corner: bool = True,
) -> None:
    """Draws each face's box and id, and a valence-arousal marker, in place.

    Args:
      faces: (face_id, box, [valence, arousal], interpolated) of the faces in this frame.
      marker: the marker's values when no face is in the frame (a one-person
        video's interpolated values); the first face's otherwise.
      corner: whether to draw the marker (in the top-left corner) at all.
    """
    for face_id, box, values, _ in faces:
        cv2.rectangle(frame, (box.x, box.y), (box.x + box.width, box.y + box.height), _GREEN, 2)
        if len(faces) > 1 or face_id > 0:
            label = f"{face_id}: V {values[0]:+.2f} A {values[1]:+.2f}"
            cv2.putText(
                frame, label, (box.x, max(12, box.y - 6)), cv2.FONT_HERSHEY_SIMPLEX, 0.45, _GREEN, 1
            )
    if not corner:
        return
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
                (
                    face.track.face_id,
                    detections[i][0],
                    valence_arousal(face.values[i], prediction.value_names),
                    bool(face.interpolated[i]),
                )
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
