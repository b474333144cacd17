"""Face crops aligned like Aff-Wild2's `cropped_aligned` frames: eyes level, fixed scale.

Aff-Wild2's released crops are 112x112 faces, similarity-aligned (rotation,
scale, shift) by facial landmarks. We put the two eye centres where the common
112x112 five-point template puts them (eyes at (38.3, 51.7) and (73.5, 51.5)),
then resize to the CNN's 96x96, so that a video's faces reach the CNN in the
form the training frames have.

Where the eyes come from, best first:
  five_point  dlib's 5-point landmark model, when the `face-recognition-models`
              package is installed (the `[align]` extra; a 9 MB model file).
  cascade     OpenCV's eye cascade inside the face box (ships with OpenCV 4;
              OpenCV 5 has none, and `auto` then says so and uses the box).
  box         the eye positions that the detector's box implies (no rotation).
The chosen method is asked per face; a method that finds no pair of eyes falls
back to the next.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import cv2
import numpy as np
from absl import logging

from affect_jax.faces.detect import MODEL_IMAGE_SIZE, Box, cascades_available, opencv_cascade_path
from affect_jax.runtime import ConfigError

TEMPLATE_SIZE = 112
# Left eye (in the image) then right eye, in 112x112 template pixels.
TEMPLATE_EYES = np.array([[38.2946, 51.6963], [73.5318, 51.5014]])
# Where the eyes sit in a detector's box, as fractions of its width and height
# (measured on the synthetic portraits: HOG boxes put them at 0.29/0.69, 0.31).
BOX_EYES = {"hog": ((0.29, 0.31), (0.69, 0.31)), "haar": ((0.32, 0.38), (0.68, 0.38))}
EYE_METHODS = ("auto", "five_point", "cascade", "box")
EYE_CASCADE = "haarcascade_eye.xml"
_EYE_SEARCH_WIDTH = 80


def five_point_model_path() -> str | None:
    """dlib's 5-point landmark model inside `face-recognition-models`, if installed."""
    try:
        import face_recognition_models
    except ImportError:
        return None
    path = face_recognition_models.pose_predictor_five_point_model_location()
    return path if os.path.isfile(path) else None


class EyeFinder:
    """The two eye centres of a face: `eyes(gray, box) -> [[x, y], [x, y]]`, image-left first."""

    def __init__(self, method: str = "auto", detector_name: str = "hog"):
        if method not in EYE_METHODS:
            raise ConfigError(f"Unknown --eyes {method!r}; valid: {', '.join(EYE_METHODS)}.")
        model = five_point_model_path() if method in ("auto", "five_point") else None
        if method == "five_point" and model is None:
            raise ConfigError(
                "--eyes=five_point needs dlib's landmark model: pip install "
                "'affect-jax[align]' (face-recognition-models), or use --eyes=cascade."
            )
        self.method = "five_point" if model else ("box" if method == "box" else "cascade")
        if self.method == "cascade" and method == "auto" and not cascades_available(EYE_CASCADE):
            logging.warning(
                "Eyes from the face box (no rotation): no five-point model ('affect-jax[align]') "
                "and cv2 %s has no eye cascade (OpenCV 5).",
                cv2.__version__,
            )
            self.method = "box"
        self._predictor = None
        if model:
            import dlib

            self._predictor = dlib.shape_predictor(model)
        self._cascade = None
        if self.method == "cascade":  # --eyes=cascade on OpenCV 5: MissingCascadeError.
            eye_file = opencv_cascade_path(EYE_CASCADE)
            self._cascade = cv2.CascadeClassifier(eye_file)
        self.box_eyes = np.array(BOX_EYES.get(detector_name, BOX_EYES["hog"]))

    def from_box(self, box: Box) -> np.ndarray:
        return np.array([box.x, box.y]) + self.box_eyes * (box.width, box.height)

    def _five_point(self, gray: np.ndarray, box: Box) -> np.ndarray:
        import dlib

        rect = dlib.rectangle(box.x, box.y, box.x + box.width, box.y + box.height)
        parts = self._predictor(gray, rect).parts()
        # The model's points 0-1 are one eye's corners, 2-3 the other's, 4 the nose.
        corners = np.array([[p.x, p.y] for p in parts[:4]], np.float64)
        eyes = np.stack([corners[:2].mean(0), corners[2:4].mean(0)])
        return eyes[np.argsort(eyes[:, 0])]

    def _from_cascade(self, gray: np.ndarray, box: Box) -> np.ndarray | None:
        """The best pair of eye detections in the box's upper part, one on each half."""
        y1 = min(gray.shape[0], box.y + int(0.6 * box.height))
        region = gray[box.y : y1, box.x : box.x + box.width]
        if region.size == 0:
            return None
        # Searched with the face at most _EYE_SEARCH_WIDTH wide: a third of the
        # time of a 125 px face as it is, with the same eye error (~1 px, RESULTS.md).
        scale = min(1.0, _EYE_SEARCH_WIDTH / region.shape[1])
        if scale < 1.0:
            region = cv2.resize(region, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        width = region.shape[1]
        # Eyes are a fifth to a third of the face's width: searching only those
        # sizes skips the scales where none can be.
        smallest, largest = max(8, width // 8), max(12, width // 3)
        found = self._cascade.detectMultiScale(
            region, 1.1, 3, minSize=(smallest, smallest), maxSize=(largest, largest)
        )
        centres = [((x + w / 2) / scale, (y + h / 2) / scale) for x, y, w, h in found]
        left = [c for c in centres if c[0] < box.width / 2]
        right = [c for c in centres if c[0] >= box.width / 2]
        if not left or not right:
            return None
        expected = self.box_eyes * (box.width, box.height)
        pick = lambda cs, e: min(cs, key=lambda c: (c[0] - e[0]) ** 2 + (c[1] - e[1]) ** 2)
        eyes = np.array([pick(left, expected[0]), pick(right, expected[1])], np.float64)
        return eyes + (box.x, box.y)

    def eyes(self, gray: np.ndarray, box: Box) -> np.ndarray:
        """[[x, y] of the image-left eye, [x, y] of the other] in pixels."""
        if self.method == "five_point":
            return self._five_point(gray, box)
        if self.method == "cascade":
            found = self._from_cascade(gray, box)
            if found is not None:
                return found
        return self.from_box(box)


def alignment_matrix(
    eyes: np.ndarray, size: int = MODEL_IMAGE_SIZE, margin: float = 0.0
) -> np.ndarray:
    """The 2x3 similarity transform that puts `eyes` on the template eyes of a size x size crop.

    `margin` widens the view on every side by that fraction of the template's
    crop: the template's eyes move towards the centre by 1 / (1 + 2 margin).
    """
    centre = np.array([size / 2, size / 2])
    target = centre + (TEMPLATE_EYES * (size / TEMPLATE_SIZE) - centre) / (1 + 2 * margin)
    source_vector = eyes[1] - eyes[0]
    target_vector = target[1] - target[0]
    scale = np.linalg.norm(target_vector) / max(np.linalg.norm(source_vector), 1e-6)
    angle = np.arctan2(target_vector[1], target_vector[0]) - np.arctan2(
        source_vector[1], source_vector[0]
    )
    rotation = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    shift = target.mean(0) - rotation @ eyes.mean(0)
    return np.concatenate([rotation, shift[:, None]], axis=1)


def warp_crop(gray: np.ndarray, matrix: np.ndarray, size: int = MODEL_IMAGE_SIZE) -> np.ndarray:
    """The uint8 size x size crop that the 2x3 `matrix` maps `gray` onto (edges replicated)."""
    scale = np.hypot(*matrix[:, 0])
    # Shrinking by much more than 2 aliases with bilinear sampling: blur first.
    if scale < 0.5:
        gray = cv2.GaussianBlur(gray, (0, 0), 0.4 / scale)
    return cv2.warpAffine(
        gray, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )


def aligned_crop(
    gray: np.ndarray, eyes: np.ndarray, size: int = MODEL_IMAGE_SIZE, margin: float = 0.0
) -> np.ndarray:
    """The uint8 size x size crop with `eyes` at the template's eye positions (see `margin`
    in `alignment_matrix`)."""
    return warp_crop(gray, alignment_matrix(np.asarray(eyes, np.float64), size, margin), size)


def smooth_along_track(values: np.ndarray, frames: Sequence[int], window: int = 5) -> np.ndarray:
    """A centred moving average of per-detection values [n, ...] over a track.

    The video is read whole, so the average may look ahead: no lag. Only
    detections within `window // 2` frames of each other are averaged, so a
    face that comes back after a gap does not drag its old position along.
    """
    values = np.asarray(values, np.float64)
    frames = np.asarray(frames)  # Increasing.
    half = window // 2
    first = np.searchsorted(frames, frames - half, side="left")
    stop = np.searchsorted(frames, frames + half, side="right")
    totals = np.concatenate([np.zeros((1, *values.shape[1:])), np.cumsum(values, axis=0)])
    counts = (stop - first).reshape(-1, *([1] * (values.ndim - 1)))
    return (totals[stop] - totals[first]) / counts
