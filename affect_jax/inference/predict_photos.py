"""Prediction for photos: every face of each photo, through the CNN in batches shared by all.

A photo has no frames around it: its faces are not followed over time, and a
GRU has no window, so each face's values are the CNN head's (an RNN run's CNN
gives those it has; the others are empty). Each photo is searched for faces
at twice its size (faces/detectors.photo_search_width), so that faces from
40 px wide are found in a group, and each face is cropped as in videos
(aligned by its eyes, or the detector's box). A photo no larger
than framing.FACE_CROP_SIDE is a face crop: it is framed as the photo
builders frame such images (searched upscaled, else taken whole).

Per input (a photo, or a folder of photos) it writes OUT/<name>.csv, one row
per face: photo (file name), face_id (0, 1, ... left to right in that photo),
face_found, detector_score, box_x, box_y, box_w, box_h, then the run's values
as in a video's CSV (inference/outputs.py). A photo without a face has one
row with face_found 0 and empty values. Beside it OUT/<name>.json names the
model, and with `annotate` the photos are copied with boxes and values drawn:
OUT/<name>_annotated.jpg for a photo, OUT/<name>_annotated/<photo>.jpg for a
folder. A file that cannot be read as an image is reported and skipped; the
input's other photos go on.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
from absl import logging

from affect_jax.faces import align, detect, framing
from affect_jax.faces.detect import Detection
from affect_jax.faces.detectors import ScaledDetector, make_detector, photo_search_width
from affect_jax.faces.video_io import FrameSource, InputError, read_photo
from affect_jax.inference import outputs
from affect_jax.inference.cnn_batches import CnnBatches
from affect_jax.inference.track_values import clip_values
from affect_jax.tasks.columns import probabilities

if TYPE_CHECKING:
    from affect_jax.inference.frame_model import FrameModel
    from affect_jax.inference.video_faces import FaceOptions

# A video CSV's columns with the photo's file name for the frame and time.
PHOTO_COLUMNS = ("photo", *outputs.FRAME_COLUMNS[outputs.FRAME_COLUMNS.index("face_id") :])


@dataclasses.dataclass
class PhotoFaces:
    """One photo's faces (left to right) and, once the CNN has run, their values [faces, K]."""

    path: Path
    faces: list[Detection]
    values: np.ndarray | None = None


class PhotoFaceFinder:
    """Finds and crops every face of a photo."""

    def __init__(self, options: FaceOptions):
        self.options = options
        self.detector = make_detector(options.detector, min_face_size=options.min_face_size)
        self.eye_finder = None
        self._small_photo_cropper = None
        if options.crop == "aligned":
            self.eye_finder = align.EyeFinder(options.eyes, self.detector.name)

    def small_photo_cropper(self) -> framing.StillFaceCropper:
        """The builders' cropper of small images (faces/framing.py), with these options."""
        if self._small_photo_cropper is None:
            options = self.options
            own = framing.Framing(
                "predict",
                options.detector,
                aligned=options.crop == "aligned",
                margin=options.face_margin,
            )
            self._small_photo_cropper = framing.StillFaceCropper(own, options.eyes)
        return self._small_photo_cropper

    def faces(self, image: np.ndarray) -> tuple[list[Detection], list[np.ndarray]]:
        """The faces of a BGR photo, left to right, and their uint8 96x96 crops."""
        gray = detect.to_gray(image)
        if self.options.cropped_faces:  # The photo is a face crop already.
            return [Detection(detect.center_square(gray.shape), np.inf)], [
                detect.crop_face(gray, detect.center_square(gray.shape))
            ]
        if min(gray.shape) <= framing.FACE_CROP_SIDE:  # A face crop: framed as builds frame it.
            crop = self.small_photo_cropper().crop(gray, no_face_policy=detect.CENTER_CROP)
            # Taken whole, it is a face crop as --cropped_faces takes one: score inf.
            score = np.inf if crop.taken_whole else crop.score
            return [Detection(crop.box, score)], [crop.image]
        width = photo_search_width(gray.shape[1], gray.shape[0])
        found = ScaledDetector(self.detector.detector, width).detect_scored(gray)
        found = sorted(found, key=lambda d: (d.box.x, d.box.y))
        crops = []
        for detection in found:
            if self.eye_finder is not None:
                eyes = self.eye_finder.eyes(gray, detection.box)
                crops.append(align.aligned_crop(gray, eyes, margin=self.options.face_margin))
            else:
                crops.append(detect.crop_face(gray, detection.box, self.options.face_margin))
        return found, crops


def predict_photo_sources(
    model: FrameModel,
    sources: list[FrameSource],
    out_dir: Path,
    options: FaceOptions,
    annotate: bool,
) -> tuple[dict[str, bool], list[tuple[str, str]]]:
    """Predicts every photo of `sources` (in shared CNN batches) and writes each input's files.

    Returns:
      (found, failures): per source name, whether any of its photos had a
      face; (path, message) of each photo that could not be read.
    """
    finder = PhotoFaceFinder(options)
    photos: list[PhotoFaces] = []
    values_of: list[list[np.ndarray]] = []  # Per photo, its faces' values as they come.
    failures: list[tuple[str, str]] = []

    def deliver(owners: np.ndarray, cnn_outputs: np.ndarray, features: np.ndarray) -> None:
        del features  # A photo has no sequence for an RNN.
        values = probabilities(model.cnn_head_values(cnn_outputs), model.value_names)
        # Batches come back in order, so each photo's faces do too.
        for photo, row in zip(owners, clip_values(values, model.value_names), strict=True):
            values_of[photo].append(row)

    batches = CnnBatches(model, deliver)
    by_source: list[list[int]] = []
    for source in sources:
        by_source.append([])
        for path in source.images:
            try:
                found, crops = finder.faces(read_photo(path))
            except InputError as error:
                logging.error("Skipped: %s", error)
                failures.append((str(path), str(error)))
                continue
            by_source[-1].append(len(photos))
            photos.append(PhotoFaces(path, found))
            values_of.append([])
            for crop in crops:
                batches.add(len(photos) - 1, crop)
    batches.flush()
    width = len(model.value_names)
    for photo, values in zip(photos, values_of, strict=True):
        photo.values = np.array(values).reshape(len(values), width)
    found = {}
    for source, indices in zip(sources, by_source, strict=True):
        if not indices:
            continue  # Every photo failed, and each was reported.
        chosen = [photos[i] for i in indices]
        try:
            _write(model, source, chosen, out_dir, annotate)
        except (InputError, OSError, cv2.error) as error:  # A full disk, a photo gone since.
            logging.error("Skipped: %s", error)
            failures.append((str(source.path), f"{source.path}: {error}"))
            continue
        found[source.name] = any(p.faces for p in chosen)
    return found, failures


def _rows(model: FrameModel, photos: list[PhotoFaces]):
    nothing = np.full(len(model.value_names), np.nan)
    for photo in photos:
        if not photo.faces:
            cells = outputs.value_cells(nothing, model.value_names, model.au_thresholds)
            yield [photo.path.name, "", 0, "", "", "", "", "", *cells]
        for face_id, (detection, values) in enumerate(zip(photo.faces, photo.values, strict=True)):
            score = "" if np.isinf(detection.score) else f"{detection.score:.3f}"
            cells = outputs.value_cells(values, model.value_names, model.au_thresholds)
            yield [photo.path.name, face_id, 1, score, *detection.box, *cells]


def _write(
    model: FrameModel, source: FrameSource, photos: list[PhotoFaces], out_dir: Path, annotate: bool
) -> None:
    header = (*PHOTO_COLUMNS, *outputs.value_columns(model.value_names))
    csv_path = outputs.write_csv_rows(out_dir / f"{source.name}.csv", header, _rows(model, photos))
    sidecar = {"photos": source.name, "model": model.description()}
    (out_dir / f"{source.name}.json").write_text(json.dumps(sidecar, indent=2))
    if annotate:
        single = source.path.is_file()
        folder = out_dir / f"{source.name}_annotated"
        for photo in photos:
            path = out_dir / f"{source.name}_annotated.jpg" if single else folder / photo.path.name
            _write_annotated(model, photo, path.with_suffix(".jpg"))
    faces = sum(len(p.faces) for p in photos)
    logging.info("%s: %d photo(s), %d face(s) -> %s", source.name, len(photos), faces, csv_path)


def _write_annotated(model: FrameModel, photo: PhotoFaces, path: Path) -> None:
    image = read_photo(photo.path)
    faces = [
        (face_id, d.box, outputs.valence_arousal(v, model.value_names), False)
        for face_id, (d, v) in enumerate(zip(photo.faces, photo.values, strict=True))
    ]
    outputs.annotate(image, faces, corner=len(faces) == 1)  # Several faces: labels only.
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), image):
        raise OSError(f"OpenCV cannot write {path}.")
