"""Follows one face through a video with the Haar cascade of faces.py.

The rule: on the first frame, and on the first frame after one with no face,
take the largest face; otherwise take the face nearest (by centre) to the
previous frame's box, so that a second person walking by does not steal the
track.

Speed: a full 640x360 frame costs the cascade ~25 ms on two cores, too slow
for 30 frames/s. A face moves little between frames, so the tracker first
searches only a region around the previous box, at face sizes near the
previous size (~5 ms); only when that finds nothing does it search the whole
frame. Any face inside that region is nearer than any face outside it, so the
rule above is kept; the boxes can differ from a whole-frame search by a few
pixels (the cascade's window grid starts at the region's corner).
`search_region=False` turns the shortcut off.
"""

from __future__ import annotations

import cv2
import numpy as np

from affect_jax.faces.detect import Box, FaceDetector, largest_face


def nearest_face(boxes: list[Box], previous: Box) -> Box | None:
    """The box whose centre is nearest to `previous`'s centre (None if none)."""
    if not boxes:
        return None
    px, py = previous.x + previous.width / 2, previous.y + previous.height / 2
    distances = [(b.x + b.width / 2 - px) ** 2 + (b.y + b.height / 2 - py) ** 2 for b in boxes]
    return boxes[int(np.argmin(distances))]


class FaceTracker:
    """One face per frame: `track(gray) -> Box | None`, frame after frame.

    Make one per video (it remembers the last box), and one per thread.
    """

    def __init__(
        self,
        detector: FaceDetector,
        *,
        search_region: bool = True,
        region_margin: float = 0.5,
        size_ratio: float = 1.3,
    ):
        """Sets up the tracker.

        Args:
          detector: the cascade and its settings (scale factor, neighbours,
            smallest face) for whole-frame searches.
          search_region: search near the previous box first (fast); False
            searches every whole frame.
          region_margin: the region is the previous box grown by this fraction
            of its size on every side.
          size_ratio: the region search looks for faces from previous size /
            ratio to previous size * ratio.
        """
        self.detector = detector
        self.search_region = search_region
        self.region_margin = region_margin
        self.size_ratio = size_ratio
        self.previous: Box | None = None
        # A cascade of our own: FaceDetector.detect has no maximum face size.
        self._cascade = cv2.CascadeClassifier(detector.cascade_path)

    def _search_near(self, gray: np.ndarray, box: Box) -> list[Box]:
        dx, dy = round(box.width * self.region_margin), round(box.height * self.region_margin)
        x0, y0 = max(0, box.x - dx), max(0, box.y - dy)
        x1 = min(gray.shape[1], box.x + box.width + dx)
        y1 = min(gray.shape[0], box.y + box.height + dy)
        smallest = max(24, int(min(box.width, box.height) / self.size_ratio))
        largest = int(max(box.width, box.height) * self.size_ratio) + 1
        if min(x1 - x0, y1 - y0) < smallest:
            return []
        found = self._cascade.detectMultiScale(
            gray[y0:y1, x0:x1],
            scaleFactor=self.detector.scale_factor,
            minNeighbors=self.detector.min_neighbors,
            minSize=(smallest, smallest),
            maxSize=(largest, largest),
        )
        return [Box(int(x) + x0, int(y) + y0, int(w), int(h)) for x, y, w, h in found]

    def track(self, gray: np.ndarray) -> Box | None:
        """The face followed in this frame (uint8 gray), or None if there is none."""
        previous, box = self.previous, None
        if previous is not None and self.search_region:
            box = nearest_face(self._search_near(gray, previous), previous)
        if box is None:
            boxes = self.detector.detect(gray)
            box = largest_face(boxes) if previous is None else nearest_face(boxes, previous)
        self.previous = box
        return box
