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

from affect_jax.data import provenance
from affect_jax.faces.track import Track
from affect_jax.faces.video_io import DEFAULT_FPS, FrameSource, InputError, find_inputs
from affect_jax.inference import outputs as prediction_outputs
from affect_jax.inference.cnn_batches import CnnBatches
from affect_jax.inference.exported_folder import is_exported_folder
from affect_jax.inference.predict_photos import predict_photo_sources
from affect_jax.inference.track_values import RnnBatches, TrackValues
from affect_jax.inference.video_faces import FaceOptions, crops_by_frame, find_faces

if TYPE_CHECKING:
    from affect_jax.inference.frame_model import FrameModel


@dataclasses.dataclass(frozen=True)
class Options(FaceOptions):
    """How to find faces (see FaceOptions and the flags), what to read and what to write."""

    # Annotated copies: <name>_annotated.mp4 for videos, .jpg for photos.
    write_video: bool = False
    image_folders: str = "auto"  # video_io.IMAGE_FOLDERS: how a folder of images is read.


@dataclasses.dataclass
class Summary:
    """What became of each input of one call."""

    written: list[str] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)  # About the model, first.
    no_face: list[str] = dataclasses.field(default_factory=list)
    failed: list[tuple[str, str]] = dataclasses.field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    def lines(self) -> list[str]:
        lines = [*self.notes, f"{len(self.written)} written, {len(self.failed)} failed."]
        lines += [f"  no face found: {name}" for name in self.no_face]
        lines += [f"  FAILED: {message}" for _, message in self.failed]
        return lines


def face_values(
    model: FrameModel,
    source: FrameSource,
    tracks: list[Track],
    presents: list[np.ndarray],
    options: Options,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each track's (values [frames, K], interpolated [frames]), streamed over the video.

    Crops of all tracks go to the CNN in shared batches, dispatched
    asynchronously so that the next crops are cut while the CNN runs; each
    batch's results go straight to their faces (track_values.py), so no
    crop, feature or CNN output is held for the whole video.
    """
    windows = RnnBatches(model)
    faces = []
    for track, present in zip(tracks, presents, strict=True):
        name = source.name if len(tracks) == 1 else f"{source.name} face {track.face_id}"
        faces.append(TrackValues(model, present, windows, name))

    def deliver(owners: np.ndarray, outputs: np.ndarray, features: np.ndarray) -> None:
        for t in np.unique(owners):
            faces[t].add(outputs[owners == t], features[owners == t])

    crops = CnnBatches(model, deliver)
    for track_index, crop in crops_by_frame(source, tracks, options):
        crops.add(track_index, crop)
    crops.flush()
    windows.flush()
    return [face.finish() for face in faces]


def predict_source(model: FrameModel, source: FrameSource, out_dir: Path, options: Options) -> bool:
    """Predicts one input and writes its files; returns whether any face was found."""
    start = time.perf_counter()
    fps, num_frames, tracks = find_faces(source, options)
    presents = [np.isin(np.arange(num_frames), track.frames) for track in tracks]
    faces = [
        prediction_outputs.FacePrediction(track, present, values, interpolated)
        for track, present, (values, interpolated) in zip(
            tracks, presents, face_values(model, source, tracks, presents, options), strict=True
        )
    ]
    prediction = prediction_outputs.VideoPrediction(
        source.name,
        fps,
        num_frames,
        faces,
        model.value_names,
        model.au_thresholds,
        model=model.description(),
    )
    seconds = time.perf_counter() - start
    if not faces:
        logging.warning(
            "%s: no face in any of its %d frames; the CSV has empty valence/arousal.",
            source.name,
            num_frames,
        )
    csv_path = prediction_outputs.write_csv(prediction, out_dir / f"{source.name}.csv")
    prediction_outputs.write_model_sidecar(prediction, out_dir / f"{source.name}.json")
    prediction_outputs.plot_timeline(prediction, out_dir / f"{source.name}_timeline.png")
    if options.write_video:
        video_path = out_dir / f"{source.name}_annotated.mp4"
        prediction_outputs.write_annotated_video(prediction, source.open().frames(), video_path)
    logging.info(
        "%s: %d frames in %.1f s (%.1f frames/s), %d face(s) in %d frames -> %s",
        source.name,
        num_frames,
        seconds,
        num_frames / max(seconds, 1e-9),
        len(faces),
        int(prediction.any_face.sum()),
        csv_path,
    )
    return bool(faces)


def load_model(
    checkpoint: str, *, cnn_checkpoint: str | None = None, step: str = "best", batch_size: int = 64
) -> FrameModel:
    """A training run restored with JAX, or an exported folder opened with onnxruntime."""
    if is_exported_folder(checkpoint):  # No JAX on this path.
        from affect_jax.inference.exported_model import load_exported_model

        if cnn_checkpoint or step != "best":
            logging.warning(
                "%s is an exported model (one CNN, one step): --cnn_checkpoint and --step "
                "are ignored.",
                checkpoint,
            )
        return load_exported_model(checkpoint, batch_size=batch_size)
    from affect_jax.inference import video_model  # Imports JAX: after the CPU flags are set.

    return video_model.load_video_model(
        checkpoint, cnn_path=cnn_checkpoint, which=step, batch_size=batch_size
    )


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
    """Predicts every input with `checkpoint`; see `predict_with`.

    Raises:
      ProjectError (checkpoints.NotACheckpointError, ExportedFolderError, ...):
        `checkpoint` cannot be used.
    """
    model = load_model(checkpoint, cnn_checkpoint=cnn_checkpoint, step=step, batch_size=batch_size)
    return predict_with(model, inputs, output, default_fps=default_fps, options=options)


def predict_with(
    model: FrameModel,
    inputs: list[str],
    output: str,
    *,
    default_fps: float = DEFAULT_FPS,
    options: Options = Options(),
) -> Summary:
    """Predicts every input; one that fails is recorded in the summary, not raised."""
    out_dir = Path(output)
    out_dir.mkdir(parents=True, exist_ok=True)
    sources, failures = find_inputs(inputs, default_fps, options.image_folders)
    summary = Summary(failed=failures)
    if model.synthetic_only:  # Printed first by the command line and the notebook.
        summary.notes.append(provenance.SYNTHETIC_NOTE)
    for _, message in failures:
        logging.error("Skipped: %s", message)
    photos = [source for source in sources if source.photos]
    for source in sources:
        if source.images and source.path.is_dir():
            read_as = "separate photos" if source.photos else "one video's frames"
            summary.notes.append(f"{source.path}: {len(source.images)} images, read as {read_as}.")
    if photos:
        if model.has_rnn:
            summary.notes.append("Photos: the CNN's values (a GRU needs a sequence of frames).")
        found, failed = predict_photo_sources(model, photos, out_dir, options, options.write_video)
        summary.failed += failed
        for name, any_face in found.items():
            summary.written.append(name)
            if not any_face:
                summary.no_face.append(name)
    for source in sources:
        if source.photos:
            continue
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
