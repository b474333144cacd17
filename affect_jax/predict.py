r"""Valence and arousal for every frame of new videos, from a trained run.

  python -m affect_jax.predict --checkpoint=runs/gru3 \
      --input=talk.mp4 --input=clips/ --output=predictions [--write_video]

`--checkpoint` is a train_rnn run (its CNN is found through the RNN's feature
store, or given with --cnn_checkpoint) or a train_cnn run (the CNN's own head,
frame by frame); the checkpoint's saved config rebuilds the model. Inputs are
videos (mp4, avi, mov, ...), folders of videos, or folders of images (one
sequence, in name order). Per frame: gray, Haar face detection, the face
followed from frame to frame (face_tracking.py) — or, with --cropped_faces,
the frame's centred square, for inputs that are face crops already (such as
Aff-Wild2's cropped_aligned folders) — a 96x96 crop, the CNN in
batches, then the RNN over every full window at once (video_model.py says
which frames it predicts and how the others are filled).

Writes per input OUT/<name>.csv (one row per frame), OUT/<name>_timeline.png
and, with --write_video, OUT/<name>_annotated.mp4. An input that fails is
reported and skipped; the exit status is 1 if any failed.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
from absl import app, flags, logging

from affect_jax import faces, prediction_outputs, quiet_logs, xla_cpu_flags
from affect_jax.face_tracking import FaceTracker
from affect_jax.progress import RateMeter
from affect_jax.video_io import DEFAULT_FPS, FrameSource, InputError, find_inputs

if TYPE_CHECKING:  # The real import waits for the XLA flags (main).
    from affect_jax.faces import Box
    from affect_jax.video_model import VideoModel

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
        detector = faces.FaceDetector(
            min_size=(options.min_face_size,) * 2 if options.min_face_size else None
        )
        tracker = FaceTracker(detector, search_region=options.search_region)
    boxes, crops, pending, results = [], [], [], []
    meter, last_report = RateMeter(reader.frame_count), time.monotonic()
    for frame in reader.frames():
        gray = faces.to_gray(frame)
        box = faces.center_square(gray.shape) if tracker is None else tracker.track(gray)
        boxes.append(box)
        if box is not None:
            crops.append(faces.crop_face(gray, box, options.face_margin))
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
      video_model.NotACheckpointError: `checkpoint` cannot be used.
    """
    from affect_jax import video_model  # Imports JAX: after the CPU flags are set.

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


_CHECKPOINT = flags.DEFINE_string("checkpoint", None, "A train_rnn or train_cnn run (workdir).")
_CNN_CHECKPOINT = flags.DEFINE_string(
    "cnn_checkpoint", None, "The CNN run of an RNN, if its feature store is gone."
)
_STEP = flags.DEFINE_string("step", "best", "Checkpoint: best (validation loss), latest or N.")
_INPUT = flags.DEFINE_multi_string("input", None, "Video, folder of videos or of images.")
_OUTPUT = flags.DEFINE_string("output", None, "Folder for the CSV, PNG (and video) files.")
_WRITE_VIDEO = flags.DEFINE_bool("write_video", False, "Also write <name>_annotated.mp4.")
_BATCH_SIZE = flags.DEFINE_integer("batch_size", 64, "Face crops per CNN call.")
_FPS = flags.DEFINE_float("fps", DEFAULT_FPS, "Frame rate of image folders and rate-less videos.")
_FACE_MARGIN = flags.DEFINE_float("face_margin", 0.0, "Border around the face box (fraction).")
_MIN_FACE = flags.DEFINE_integer(
    "min_face_size", 0, "Smallest face in pixels (0: 24, the cascade's)."
)
_CROPPED_FACES = flags.DEFINE_bool(
    "cropped_faces",
    False,
    "Inputs are already face crops (e.g. Aff-Wild2's cropped_aligned frames): no "
    "detection, the centred square of each frame is the face.",
)
_FULL_FRAME = flags.DEFINE_bool(
    "full_frame_detection",
    False,
    "Search every whole frame (slower) instead of near the last face.",
)


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments {argv[1:]}; inputs go in --input.")
    quiet_logs.install()
    xla_cpu_flags.apply_fast_cpu_flags()  # Before JAX starts its backend.
    from affect_jax import checkpoints, video_model

    options = Options(
        write_video=_WRITE_VIDEO.value,
        face_margin=_FACE_MARGIN.value,
        min_face_size=_MIN_FACE.value,
        search_region=not _FULL_FRAME.value,
        cropped_faces=_CROPPED_FACES.value,
    )
    try:
        summary = predict_videos(
            _CHECKPOINT.value,
            _INPUT.value,
            _OUTPUT.value,
            cnn_checkpoint=_CNN_CHECKPOINT.value,
            step=_STEP.value,
            batch_size=_BATCH_SIZE.value,
            default_fps=_FPS.value,
            options=options,
        )
    except (video_model.NotACheckpointError, checkpoints.CheckpointMismatchError) as error:
        print(f"Cannot use --checkpoint: {error}", file=sys.stderr)
        sys.exit(1)
    print("\n".join(summary.lines()), file=sys.stderr if summary.failed else sys.stdout)
    sys.exit(summary.exit_code)


def run() -> None:
    """Console-script entry point (affect-jax-predict)."""
    flags.mark_flags_as_required(["checkpoint", "input", "output"])
    app.run(main)


if __name__ == "__main__":
    run()
