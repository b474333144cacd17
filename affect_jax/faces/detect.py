"""Finds faces with OpenCV's Haar cascade, and the box crop every framing shares.

The reference preprocessing: `detectMultiScale(gray, scaleFactor=1.1,
minNeighbors=4)`, crop, resize to 96x96 gray. Where the reference takes the
first detection (and crashes when there is none), the photo builders and
prediction take the largest and leave images with no face to a named policy
(`NO_FACE_POLICIES`); faces/framing.py cuts their crops (`haar_box` is the
paper's), so that a face is cropped the same way at training and prediction.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from typing import NamedTuple

import cv2
import numpy as np

from affect_jax.runtime import ProjectError

CASCADE_FILENAME = "haarcascade_frontalface_default.xml"
MODEL_IMAGE_SIZE = 96

# What to do with an image in which the cascade finds no face.
SKIP = "skip"  # Leave the image out (and report it).
CENTER_CROP = "center_crop"  # Use the largest centred square instead.
NO_FACE_POLICIES = (SKIP, CENTER_CROP)


class Box(NamedTuple):
    """A face rectangle in pixels, as OpenCV returns it."""

    x: int
    y: int
    width: int
    height: int

    @property
    def area(self) -> int:
        return self.width * self.height


class Detection(NamedTuple):
    """A face found in one frame, with the detector's confidence in it.

    `score` is the detector's own scale: the HOG detector's SVM margin, or the
    Haar cascade's last-stage weight; higher is surer.
    """

    box: Box
    score: float


@dataclasses.dataclass(frozen=True)
class FaceCrop:
    """What became of one image.

    Attributes:
      image: the uint8 (size, size) gray model input, or None when no face was
        found and the policy is `SKIP`.
      box: the region that was cropped (before the margin): the largest face,
        the centred square under `CENTER_CROP`, or None.
      found: whether the cascade found a face.
      num_faces: how many faces the cascade found (more than one is worth a
        look: the others were ignored).
    """

    image: np.ndarray | None
    box: Box | None
    found: bool
    num_faces: int


class MissingCascadeError(ProjectError, FileNotFoundError):
    """An OpenCV Haar cascade that this OpenCV cannot give (OpenCV 5 has none)."""


def opencv_cascade_path(filename: str) -> str:
    """The path of OpenCV's own cascade `filename`, ready for cv2.CascadeClassifier.

    Raises:
      MissingCascadeError: OpenCV 5.x has no CascadeClassifier and ships no
        cascade files; the message names the version and the fix.
    """
    folder = getattr(getattr(cv2, "data", None), "haarcascades", None)
    path = os.path.join(folder, filename) if folder else None
    if path is None or not os.path.isfile(path) or not hasattr(cv2, "CascadeClassifier"):
        raise MissingCascadeError(
            f"OpenCV's {filename} was not found (cv2 {cv2.__version__}, looked in "
            f"{folder!r}). OpenCV 5 dropped the Haar cascades: install "
            "'opencv-python-headless>=4.9,<5', or use what needs none (--detector=hog, "
            "--eyes=five_point or --eyes=box)."
        )
    return path


def cascades_available(filename: str = CASCADE_FILENAME) -> bool:
    """Whether this OpenCV can run its cascade `filename` (False on OpenCV 5.x)."""
    try:
        opencv_cascade_path(filename)
    except MissingCascadeError:
        return False
    return True


def to_gray(image: np.ndarray) -> np.ndarray:
    """A uint8 BGR, BGRA or gray image as gray (BGR weights, like video frames)."""
    if image.ndim == 2:
        return image
    if image.shape[2] == 1:
        return image[..., 0]
    code = cv2.COLOR_BGRA2GRAY if image.shape[2] == 4 else cv2.COLOR_BGR2GRAY
    return cv2.cvtColor(image, code)


def largest_face(boxes: Sequence[Box]) -> Box | None:
    """The box with the largest area (the first of equals), or None if there is none."""
    best = None
    for box in boxes:
        if best is None or box.area > best.area:
            best = box
    return best


def center_square(shape: Sequence[int]) -> Box:
    """The largest square centred in an image of `shape` (height, width, ...)."""
    height, width = int(shape[0]), int(shape[1])
    side = min(height, width)
    return Box((width - side) // 2, (height - side) // 2, side, side)


def crop_face(
    gray: np.ndarray, box: Box, margin: float = 0.0, size: int = MODEL_IMAGE_SIZE
) -> np.ndarray:
    """Cuts `box` (grown by `margin`) out of `gray` and resizes it to size x size.

    Args:
      gray: uint8 (height, width) image.
      box: the face.
      margin: extra border on every side as a fraction of the box's width
        (left, right) and height (top, bottom); the grown box is clipped to
        the image, so near an edge the crop is smaller on that side.
      size: output side in pixels.

    Returns:
      uint8 (size, size).
    """
    if gray.ndim != 2:
        raise ValueError(f"crop_face wants a 2-D gray image, got shape {gray.shape}.")
    if margin < 0:
        raise ValueError(f"margin must be >= 0, got {margin}.")
    dx, dy = round(box.width * margin), round(box.height * margin)
    x0, y0 = max(0, box.x - dx), max(0, box.y - dy)
    x1 = min(gray.shape[1], box.x + box.width + dx)
    y1 = min(gray.shape[0], box.y + box.height + dy)
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f"{box} lies outside the {gray.shape[1]}x{gray.shape[0]} image.")
    # INTER_AREA averages the source pixels: no aliasing when shrinking.
    return cv2.resize(gray[y0:y1, x0:x1], (size, size), interpolation=cv2.INTER_AREA)


class FaceDetector:
    """OpenCV's frontal-face Haar cascade with the reference settings.

    One detector must not be used from several threads at once: OpenCV's
    cascade keeps per-image state while it runs. Make one per thread.
    """

    def __init__(
        self,
        scale_factor: float = 1.1,
        min_neighbors: int = 4,
        min_size: tuple[int, int] | None = None,
        cascade_path: str | None = None,
    ):
        """Loads the cascade.

        Args:
          scale_factor: image pyramid step of `detectMultiScale`.
          min_neighbors: overlapping detections needed to keep a face; higher
            means fewer false faces and more missed ones.
          min_size: smallest face (width, height) searched for; None searches
            down to the cascade's 24x24 window. Larger is faster.
          cascade_path: another cascade XML; default OpenCV's frontal face one.

        Raises:
          MissingCascadeError: (a FileNotFoundError) if the cascade file or
            OpenCV's CascadeClassifier is missing (OpenCV 5 has neither).
        """
        if scale_factor <= 1.0:
            raise ValueError(f"scale_factor must be > 1, got {scale_factor}.")
        self.scale_factor = scale_factor
        self.min_neighbors = min_neighbors
        self.min_size = tuple(min_size) if min_size else None
        self.cascade_path = cascade_path or opencv_cascade_path(CASCADE_FILENAME)
        if not hasattr(cv2, "CascadeClassifier"):  # OpenCV 5, even with a file given.
            raise MissingCascadeError(
                f"cv2 {cv2.__version__} has no CascadeClassifier (OpenCV 5 dropped it): "
                "install 'opencv-python-headless>=4.9,<5', or use --detector=hog."
            )
        self._cascade = cv2.CascadeClassifier(self.cascade_path)
        if self._cascade.empty():
            raise MissingCascadeError(
                f"OpenCV could not load the cascade {self.cascade_path}: pass a Haar "
                "cascade XML file as cascade_path."
            )

    def detect(self, gray: np.ndarray) -> list[Box]:
        """All faces in a uint8 gray image, in OpenCV's order."""
        if gray.ndim != 2 or gray.dtype != np.uint8:
            raise ValueError(f"detect wants a uint8 gray image, got {gray.dtype} {gray.shape}.")
        kwargs = {"minSize": self.min_size} if self.min_size else {}
        found = self._cascade.detectMultiScale(
            gray, scaleFactor=self.scale_factor, minNeighbors=self.min_neighbors, **kwargs
        )
        return [Box(*(int(v) for v in row)) for row in found]

    def detect_scored(self, gray: np.ndarray) -> list[Detection]:
        """All faces with the cascade's confidence (the weight of its last stage)."""
        if gray.ndim != 2 or gray.dtype != np.uint8:
            raise ValueError(f"detect wants a uint8 gray image, got {gray.dtype} {gray.shape}.")
        kwargs = {"minSize": self.min_size} if self.min_size else {}
        found, _, weights = self._cascade.detectMultiScale3(
            gray,
            scaleFactor=self.scale_factor,
            minNeighbors=self.min_neighbors,
            outputRejectLevels=True,
            **kwargs,
        )
        return [
            Detection(Box(*(int(v) for v in row)), float(weight))
            for row, weight in zip(found, np.ravel(weights), strict=True)
        ]
