"""Pass 1 over a video at speed: whole-frame searches every few frames, near each face between.

A whole-frame HOG search costs ~28 ms at 640x360 on 2 cores; the same search
in the window around a face already being followed ~5 ms (benchmarks/RESULTS.md). So every
`full_search_every`-th frame is searched whole, which finds a face that comes
in within that many frames, and the frames in between are searched only near
the live tracks' predicted boxes. The video is read whole, so when a
whole-frame search starts a track, the recent frames (kept in memory: those
since the last whole search and `max_gap` more) are searched backwards near
its box, past a frame or two where the detector blinks: a face's first frames
are not lost, even when it was missed at the whole search before.
`full_search_every=1` searches every frame whole.

HOG finds faces from 80 px at the searched width, so a whole search at 640
px misses the small faces of a group. Every `small_face_search_every` frames
(once a second at 25 fps) the whole frame is therefore searched at twice the
video's size (faces/detectors.small_face_search_width: faces from 40 px at
the video's resolution, up to a pixel budget). A small face found there is
followed, like any other, in a window searched scaled up (`_scale_for`),
also at the whole-frame searches that cannot see it.

    finder = FaceFinder(detector, eye_finder, FaceTracks())
    for index, gray in enumerate(frames):
        finder.add(index, gray)
    tracks = finder.tracks.finish()
"""

from __future__ import annotations

import collections
from typing import NamedTuple

import cv2
import numpy as np

from affect_jax.faces.align import EyeFinder
from affect_jax.faces.detect import Box, Detection
from affect_jax.faces.detectors import (
    HOG_SMALLEST_FACE,
    ScaledDetector,
    scaled_box,
    small_face_search_width,
)
from affect_jax.faces.track import FaceTracks, Track, iou

DEFAULT_FULL_SEARCH_EVERY = 5
DEFAULT_SMALL_FACE_SEARCH_EVERY = 25
# The search window reaches this many face widths beyond the predicted box on
# each side: room for a face moving fast, or a box that was predicted wrong.
_WINDOW_MARGIN = 0.6
# Windows of big faces are searched scaled down, by steps of dlib's image
# pyramid, while the face stays this wide: above HOG's smallest face (80 px),
# so that a face that shrinks a little is still found.
_FACE_WIDTH = 100
_PYRAMID_STEP = 5 / 6
_SAME_FACE_IOU = 0.5
# A box this much inside another is the same face, found at another scale.
_NESTED = 0.7
# Looking back, this many frames in a row without the face end the search.
_BACKFILL_MISSES = 2
# Windows larger than this share of the frame (in all) cost about as much as searching
# it whole. Windows of a scale are searched as one rectangle around them all when that
# is at most _MERGE_AREA times their summed area: HOG's cost goes with the pixels searched,
# and each call has its own pyramid. Four faces' windows in 640x360 (63% of the frame):
# 13-15 ms as four calls, 9 ms as one rectangle (56%), 16-19 ms the whole frame.
_MOST_WINDOW_AREA = 0.7
_MERGE_AREA = 1.5


class Window(NamedTuple):
    """A rectangle [y0:y1, x0:x1] of a frame scaled by `scale` (`image`), to search for faces."""

    image: np.ndarray
    scale: float
    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def area(self) -> int:
        return (self.x1 - self.x0) * (self.y1 - self.y0)


class FaceFinder:
    """Detects, finds the eyes of and tracks the faces of one video, frame by frame."""

    def __init__(
        self,
        detector: ScaledDetector,
        eye_finder: EyeFinder | None,
        tracks: FaceTracks,
        full_search_every: int = DEFAULT_FULL_SEARCH_EVERY,
        small_face_search_every: int = DEFAULT_SMALL_FACE_SEARCH_EVERY,
    ):
        """`small_face_search_every`: 0 never looks for faces below 80 px at the searched width."""
        if full_search_every < 1 or small_face_search_every < 0:
            raise ValueError(
                f"full_search_every must be >= 1 ({full_search_every}) and "
                f"small_face_search_every >= 0 ({small_face_search_every})"
            )
        self.detector, self.eye_finder, self.tracks = detector, eye_finder, tracks
        self.full_search_every = full_search_every
        self.small_face_search_every = small_face_search_every
        self._small_face_detector: ScaledDetector | None = None
        # The frames a new track is followed back through.
        self._recent: collections.deque[tuple[int, np.ndarray]] = collections.deque(
            maxlen=full_search_every - 1 + tracks.max_gap if full_search_every > 1 else 0
        )

    def add(self, frame: int, gray: np.ndarray) -> None:
        """Adds the uint8 gray frame numbered `frame` (0, 1, ... in order)."""
        windows = []
        whole = frame % self.full_search_every == 0
        if not whole:
            scaled: dict[float, np.ndarray] = {}  # Faces of a size share one scaled frame.
            live = self.tracks.live(frame)
            windows = [self._window(gray, t.predicted(frame), scaled) for t in live]
            windows = _merged([w for w in windows if w is not None])
            # Many faces: their windows would cost more than the frame itself.
            whole = sum(w.area for w in windows) > _MOST_WINDOW_AREA * self._frame_area(gray)
        if not whole:
            found = self._in_windows(gray, windows)
        elif self._searches_small_faces(frame, gray):
            found = self._small_face_detector.detect_scored(gray)
        else:
            found = self.detector.detect_scored(gray)
            # Faces too small for this search are looked for where they are going.
            small = [t.predicted(frame) for t in self.tracks.live(frame)]
            small = [b for b in small if b.width * self._whole_scale(gray) < HOG_SMALLEST_FACE]
            windows = [self._window(gray, box, {}) for box in small]
            found = _distinct(found + self._in_windows(gray, [w for w in windows if w]))
        owners = self.tracks.update(frame, found, self._eyes(gray, found))
        if whole:
            for track in owners:
                if len(track.frames) == 1:  # Started by this search.
                    self._backfill(track)
        if self._recent.maxlen:
            self._recent.append((frame, gray))

    def _searches_small_faces(self, frame: int, gray: np.ndarray) -> bool:
        """Whether `frame` gets the search at twice the video's size (and sets it up)."""
        if not self.small_face_search_every or frame % self.small_face_search_every:
            return False
        if self.detector.name != "hog":  # Haar finds faces from 24 px, and false ones below.
            self.small_face_search_every = 0
            return False
        if self._small_face_detector is None:
            width = small_face_search_width(gray.shape[1], gray.shape[0])
            if width <= (self.detector.width or gray.shape[1]):
                self.small_face_search_every = 0  # The whole search sees small faces already.
                return False
            self._small_face_detector = ScaledDetector(self.detector.detector, width)
        return True

    def _whole_scale(self, gray: np.ndarray) -> float:
        return self.detector.width / gray.shape[1] if self.detector.width else 1.0

    def _eyes(self, gray: np.ndarray, found: list[Detection]) -> list[np.ndarray | None]:
        if self.eye_finder is None:
            return [None] * len(found)
        return [self.eye_finder.eyes(gray, d.box) for d in found]

    def _frame_area(self, gray: np.ndarray) -> float:
        return gray.size * self._whole_scale(gray) ** 2

    def _window(self, gray: np.ndarray, box: Box, scaled: dict[float, np.ndarray]) -> Window | None:
        """Where to look for the face expected at `box`.

        `scaled` holds this frame's scaled copies, by scale, for the other windows.
        """
        scale = self._scale_for(box, gray.shape[1])
        image = gray
        if abs(scale - 1.0) > 1e-3:
            if scale not in scaled:
                size = (max(1, round(gray.shape[1] * scale)), max(1, round(gray.shape[0] * scale)))
                interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
                scaled[scale] = cv2.resize(gray, size, interpolation=interpolation)
            image = scaled[scale]
        reach = _WINDOW_MARGIN * max(box.width, box.height) * scale
        # The window starts on HOG's 8-pixel cell grid, as the whole-frame search's
        # cells lie: the same face gets the same box either way.
        x0 = max(0, int((box.x * scale - reach) // 8 * 8))
        y0 = max(0, int((box.y * scale - reach) // 8 * 8))
        x1 = min(image.shape[1], int((box.x + box.width) * scale + reach))
        y1 = min(image.shape[0], int((box.y + box.height) * scale + reach))
        if x1 - x0 < 8 or y1 - y0 < 8:
            return None
        return Window(image, scale, x0, y0, x1, y1)

    def _in_windows(self, gray: np.ndarray, windows: list[Window]) -> list[Detection]:
        found = []
        for image, scale, x0, y0, x1, y1 in windows:
            for d in self.detector.detector.detect_scored(image[y0:y1, x0:x1]):
                in_frame = Box(x0 + d.box.x, y0 + d.box.y, d.box.width, d.box.height)
                found.append(Detection(scaled_box(in_frame, 1 / scale, gray.shape), d.score))
        return _distinct(found)

    def search_near(self, gray: np.ndarray, box: Box) -> list[Detection]:
        """Faces in the window around `box`, in frame pixels, best first."""
        window = self._window(gray, box, {})
        return self._in_windows(gray, [window]) if window is not None else []

    def _scale_for(self, box: Box, frame_width: int) -> float:
        """The whole-frame search's scale, times the pyramid steps that bring the face near
        `_FACE_WIDTH`: the window is searched at levels that the whole frame is too (and
        scaled up for a face below HOG's smallest)."""
        scale = self.detector.width / frame_width if self.detector.width else 1.0
        while box.width * scale * _PYRAMID_STEP >= _FACE_WIDTH:
            scale *= _PYRAMID_STEP
        while box.width * scale < _FACE_WIDTH * _PYRAMID_STEP:
            scale /= _PYRAMID_STEP
        return scale

    def _backfill(self, track: Track) -> None:
        """Follows a new track back through the recent frames, over a detector's blinks."""
        misses = 0
        for frame, gray in reversed(self._recent):
            first = track.boxes[0]
            near = [d for d in self.search_near(gray, first) if iou(d.box, first) >= 0.3]
            # A face another track already holds in that frame is not this one.
            near = [d for d in near if not self.tracks.held(frame, d.box, _SAME_FACE_IOU)]
            if near:
                misses = 0
                track.add_before(frame, near[0], self._eyes(gray, near[:1])[0])
            else:
                misses += 1
                if misses > _BACKFILL_MISSES:
                    return


def _merged(windows: list[Window]) -> list[Window]:
    """Windows of one scale as one rectangle around them, where that searches few more pixels."""
    by_scale: dict[float, list[Window]] = {}
    for window in windows:
        by_scale.setdefault(window.scale, []).append(window)
    merged = []
    for group in by_scale.values():
        around = Window(
            group[0].image,
            group[0].scale,
            min(w.x0 for w in group),
            min(w.y0 for w in group),
            max(w.x1 for w in group),
            max(w.y1 for w in group),
        )
        if len(group) > 1 and around.area <= _MERGE_AREA * sum(w.area for w in group):
            merged.append(around)
        else:
            merged += group
    return merged


def _distinct(found: list[Detection]) -> list[Detection]:
    """One detection per face: windows that overlap find the same face twice, and
    searches at two scales find it as two boxes, the smaller one inside the other."""
    kept: list[Detection] = []
    for detection in sorted(found, key=lambda d: -d.score):
        if not any(_same_face(detection.box, k.box) for k in kept):
            kept.append(detection)
    return kept


def _same_face(a: Box, b: Box) -> bool:
    if iou(a, b) >= _SAME_FACE_IOU:
        return True
    width = min(a.x + a.width, b.x + b.width) - max(a.x, b.x)
    height = min(a.y + a.height, b.y + b.height) - max(a.y, b.y)
    return width > 0 and height > 0 and width * height >= _NESTED * min(a.area, b.area)
