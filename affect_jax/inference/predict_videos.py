"""Prediction over whole videos: frames -> faces -> CNN (-> RNN) -> per-frame files.

The library half of `python -m affect_jax.predict` (whose docstring describes
the outputs); notebooks call `predict_videos` directly. A failed input is
recorded in the Summary and skipped, never raised.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
from absl import logging

from affect_jax.faces import detect
from affect_jax.faces.track import FaceTracker
from affect_jax.faces.video_io import DEFAULT_FPS, FrameSource, InputError, find_inputs
from affect_jax.inference import outputs as prediction_outputs
from affect_jax.training.progress import RateMeter

if TYPE_CHECKING:  # The real import waits for the XLA flags (main).
    from affect_jax.faces.detect import Box
    from affect_jax.inference.video_model import VideoModel

_PROGRESS_EVERY_S = 10.0
_IN_FLIGHT = 2  # CNN batches dispatched but not yet collected.


@dataclasses.dataclass(frozen=True)
class Options:
    """How to find faces and what to write (see the flags)."""

    write_video: bool = False
    face_margin: float = 0.0
    min_face_size: int = 0
    search_region: bool = True
    # Frames that are already face crops (Aff-Wild2's cropped_aligned, an
    # aligner's output): no detection; each frame's centred square is the face.
    cropped_faces: bool = False


@dataclasses.dataclass
class Summary:
    """What became of each input of one call."""

    written: list[str] = dataclasses.field(default_factory=list)
    no_face: list[str] = dataclasses.field(default_factory=list)
    failed: list[tuple[str, str]] = dataclasses.field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    def lines(self) -> list[str]:
        lines = [f"{len(self.written)} written, {len(self.failed)} failed."]
        lines += [f"  no face in any frame: {name}" for name in self.no_face]
        lines += [f"  FAILED: {message}" for _, message in self.failed]
        return lines


def track_and_embed(
    model: VideoModel, source: FrameSource, options: Options
) -> tuple[float, list[Box | None], np.ndarray, np.ndarray]:
    """Reads every frame, follows the face, runs the CNN on the crops.

    Returns:
      (fps, boxes per frame, CNN outputs [faces, K], features [faces, D]).
    """
    reader = source.open()
    if options.cropped_faces:
        tracker = None
    else:
        detector = detect.FaceDetector(
            min_size=(options.min_face_size,) * 2 if options.min_face_size else None
        )
        tracker = FaceTracker(detector, search_region=options.search_region)
    boxes, crops, pending, results = [], [], [], []
    meter, last_report = RateMeter(reader.frame_count), time.monotonic()
    for frame in reader.frames():
        gray = detect.to_gray(frame)
        box = detect.center_square(gray.shape) if tracker is None else tracker.track(gray)
        boxes.append(box)
        if box is not None:
            crops.append(detect.crop_face(gray, box, options.face_margin))
        if len(crops) == model.batch_size:
            pending.append(model.submit(np.stack(crops)))
            crops = []
            if len(pending) > _IN_FLIGHT:
                results.append(model.collect(pending.pop(0)))
        meter.update()
        if time.monotonic() - last_report > _PROGRESS_EVERY_S:
            rate, eta = meter.report()
            total = reader.frame_count or "?"
            logging.info(
                "%s: %d/%s frames, %.1f frames/s, ETA %s", source.name, meter.done, total, rate, eta
            )
            last_report = time.monotonic()
    if crops:
        pending.append(model.submit(np.stack(crops)))
    results += [model.collect(p) for p in pending]
    if not results:
        return reader.fps, boxes, np.zeros((0, 2), np.float32), np.zeros((0, 1), np.float32)
    outputs, features = (np.concatenate(parts) for parts in zip(*results, strict=True))
    return reader.fps, boxes, outputs, features


def predict_source(model: VideoModel, source: FrameSource, out_dir: Path, options: Options) -> bool:
    """Predicts one input and writes its files; returns whether any face was found."""
    start = time.perf_counter()
    fps, boxes, outputs, features = track_and_embed(model, source, options)
    face = np.array([box is not None for box in boxes], bool)
    values, interpolated = model.values(face, features, outputs, source.name)
    prediction = prediction_outputs.VideoPrediction(source.name, fps, boxes, values, interpolated)
    seconds = time.perf_counter() - start
    if not face.any():
        logging.warning(
            "%s: no face in any of its %d frames; the CSV has empty valence/arousal.",
            source.name,
            len(boxes),
        )
    csv_path = prediction_outputs.write_csv(prediction, out_dir / f"{source.name}.csv")
    prediction_outputs.plot_timeline(prediction, out_dir / f"{source.name}_timeline.png")
    if options.write_video:
        video_path = out_dir / f"{source.name}_annotated.mp4"
        prediction_outputs.write_annotated_video(prediction, source.open().frames(), video_path)
    logging.info(
        "%s: %d frames in %.1f s (%.1f frames/s), face in %d, interpolated %d -> %s",
        source.name,
        len(boxes),
        seconds,
        len(boxes) / max(seconds, 1e-9),
        int(face.sum()),
        int(interpolated.sum()),
        csv_path,
    )
    return bool(face.any())


def predict_videos(
    checkpoint: str,
    inputs: list[str],
    output: str,
    *,
    cnn_checkpoint: str | None = None,
    step: str = "best",
    batch_size: int = 64,
    default_fps: float = DEFAULT_FPS,
    options: Options = Options(),
) -> Summary:
    """Predicts every input; one that fails is recorded in the summary, not raised.

    Raises:
      checkpoints.NotACheckpointError: `checkpoint` cannot be used.
    """
    from affect_jax.inference import video_model  # Imports JAX: after the CPU flags are set.

    model = video_model.load_video_model(
        checkpoint, cnn_path=cnn_checkpoint, which=step, batch_size=batch_size
    )
    out_dir = Path(output)
    out_dir.mkdir(parents=True, exist_ok=True)
    sources, failures = find_inputs(inputs, default_fps)
    summary = Summary(failed=failures)
    for _, message in failures:
        logging.error("Skipped: %s", message)
    for source in sources:
        try:
            found = predict_source(model, source, out_dir, options)
        except (InputError, OSError, cv2.error) as error:
            logging.error("Skipped: %s", error)
            summary.failed.append((str(source.path), str(error)))
            continue
        summary.written.append(source.name)
        if not found:
            summary.no_face.append(source.name)
    return summary


