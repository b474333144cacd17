"""Face detectors by name (`--detector`): dlib's HOG detector or OpenCV's Haar cascade.

Both give scored detections (`detect_scored(gray) -> [Detection]`) on uint8
gray frames. HOG is the default: on four real videos it found every face and
no false one at 80-96 frames/s (640 wide, 2 cores), where the Haar cascade of
the paper put 15 "faces" on lettering (STACK.md). dlib's detector is built
into the `dlib-bin` wheel: no model file, nothing downloaded.

Frames are searched at `detect_width` pixels wide (scaled up or down, boxes
mapped back): HOG finds faces from ~80 px at that width, and a fixed width
keeps the cost per frame fixed whatever the video's resolution.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np

from affect_jax.faces.detect import Box, Detection, FaceDetector
from affect_jax.runtime import ConfigError

DETECTORS = ("hog", "haar")
DEFAULT_DETECTOR = "hog"
DEFAULT_DETECT_WIDTH = 640
# Photos: faces from this wide (at the photo's resolution) are searched for.
SMALLEST_PHOTO_FACE = 40
HOG_SMALLEST_FACE = 80  # dlib's HOG window.
# Above this many searched pixels (~1.5 s of HOG on 2 cores) a photo is
# searched smaller, and its smallest faces grow accordingly.
_MOST_SEARCHED_PIXELS = 12_000_000
# A video's search for small faces (once a second) stops at 1280x720: ~110 ms.
_MOST_SEARCHED_VIDEO_PIXELS = 1280 * 720


class HogDetector:
    """dlib's frontal-face HOG + linear SVM detector (the `dlib-bin` wheel's built-in one)."""

    name = "hog"

    def __init__(self, threshold: float = 0.0):
        """Loads dlib's detector.

        Args:
          threshold: added to dlib's decision threshold; higher means fewer
            false faces and more missed ones.
        """
        try:
            import dlib
        except ImportError as error:
            raise ConfigError(
                "The HOG face detector needs dlib: pip install dlib-bin (a prebuilt wheel with "
                "the detector inside), or pass --detector=haar."
            ) from error
        self._detector = _frontal_face_detector(dlib)
        self.threshold = threshold

    def detect_scored(self, gray: np.ndarray) -> list[Detection]:
        """Faces in a uint8 gray image, best first."""
        # dlib reads a strided view (a window cut from a frame) as if it were
        # contiguous, and finds nothing in it.
        rects, scores, _ = self._detector.run(np.ascontiguousarray(gray), 0, self.threshold)
        found = [
            Detection(Box(r.left(), r.top(), r.width(), r.height()), float(s))
            for r, s in zip(rects, scores, strict=True)
        ]
        return sorted(found, key=lambda d: -d.score)


@functools.cache
def _frontal_face_detector(dlib):
    """dlib's detector, built once per process: building it takes ~0.36 s, a video's 10th."""
    return dlib.get_frontal_face_detector()


class HaarDetector:
    """OpenCV's frontal-face Haar cascade with the reference settings (the paper's)."""

    name = "haar"

    def __init__(self, min_face_size: int = 0):
        min_size = (min_face_size, min_face_size) if min_face_size else None
        self._cascade = FaceDetector(min_size=min_size)

    def detect_scored(self, gray: np.ndarray) -> list[Detection]:
        return self._cascade.detect_scored(gray)


class ScaledDetector:
    """Runs a detector on the frame scaled to `width` pixels and maps its boxes back."""

    def __init__(self, detector, width: int = DEFAULT_DETECT_WIDTH):
        self.detector, self.width = detector, width
        self.name = detector.name

    def detect_scored(self, gray: np.ndarray) -> list[Detection]:
        scale = self.width / gray.shape[1] if self.width else 1.0
        if abs(scale - 1.0) < 1e-3:
            return self.detector.detect_scored(gray)
        size = (self.width, max(1, round(gray.shape[0] * scale)))
        interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        found = self.detector.detect_scored(cv2.resize(gray, size, interpolation=interpolation))
        return [Detection(scaled_box(d.box, 1 / scale, gray.shape), d.score) for d in found]


def scaled_box(box: Box, factor: float, shape: tuple[int, ...]) -> Box:
    """`box` times `factor`, clipped to an image of `shape`."""
    x0, y0 = max(0, round(box.x * factor)), max(0, round(box.y * factor))
    x1 = min(shape[1], round((box.x + box.width) * factor))
    y1 = min(shape[0], round((box.y + box.height) * factor))
    return Box(x0, y0, max(1, x1 - x0), max(1, y1 - y0))


def make_detector(
    name: str = DEFAULT_DETECTOR,
    *,
    detect_width: int = DEFAULT_DETECT_WIDTH,
    min_face_size: int = 0,
):
    """The detector called `name`, searching frames scaled to `detect_width` (0: as they are)."""
    if name == "hog":
        detector = HogDetector()
    elif name == "haar":
        detector = HaarDetector(min_face_size)
    else:
        raise ConfigError(f"Unknown --detector {name!r}; valid: {', '.join(DETECTORS)}.")
    return ScaledDetector(detector, detect_width)


def photo_search_width(width: int, height: int) -> int:
    """The width a photo is searched at: faces from SMALLEST_PHOTO_FACE px reach HOG's 80 px.

    Twice the photo's size, or less for photos so large that twice would
    search more than _MOST_SEARCHED_PIXELS (a 12-megapixel photo is searched
    at ~1x, so its faces from ~80 px are found).
    """
    return _search_width(width, height, _MOST_SEARCHED_PIXELS)


def small_face_search_width(width: int, height: int) -> int:
    """The width a video's frames are searched at for small faces (faces/finder.py).

    Twice the video's size up to 1280x720 searched: faces from 40 px in a
    640x360 video, from 80 px in a 1920x1080 one.
    """
    return _search_width(width, height, _MOST_SEARCHED_VIDEO_PIXELS)


def _search_width(width: int, height: int, most_pixels: int) -> int:
    scale = HOG_SMALLEST_FACE / SMALLEST_PHOTO_FACE
    scale = min(scale, (most_pixels / max(1, width * height)) ** 0.5)
    return max(1, round(width * scale))
