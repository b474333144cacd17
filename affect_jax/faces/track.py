"""Every face of a video followed over frames, with stable ids, and only faces that hold up.

Frame by frame, each detection joins the track whose predicted box overlaps
it most (intersection over union >= `min_iou`), largest overlaps first. A
track's box is predicted at constant velocity from its last detections, so
two faces that cross keep their ids, and one hidden for a few frames behind
the other is found again where it went. A track unseen for more than
`max_gap` frames ends, so a detector that blinks keeps the id, and a person
who leaves and comes back much later gets a new one. A detection that joins
no track starts one.

A track counts (is confirmed) only if the face was detected in
`confirm_frames` consecutive frames (all frames of a shorter clip, such as a
still image): isolated hits (lettering, a pattern that flickers) are
reported as no face, however high their score. A score threshold was
weighed and left out: HOG scores a clear face that flickers as high as a
steady one (tests/faces/test_tracking.py). The video is read whole, so a confirmed
track's first frames count too. Of the confirmed tracks, `max_faces` (0:
all) with the most frames are kept, numbered 0, 1, ... in order of appearance.
"""

from __future__ import annotations

import bisect
import dataclasses

import numpy as np

from affect_jax.faces.detect import Box, Detection


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes."""
    width = min(a.x + a.width, b.x + b.width) - max(a.x, b.x)
    height = min(a.y + a.height, b.y + b.height) - max(a.y, b.y)
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    return inter / float(a.area + b.area - inter)


@dataclasses.dataclass
class Track:
    """One face over the frames it was detected in (increasing frame numbers).

    Attributes:
      face_id: 0, 1, ... in order of first appearance (set when tracking ends).
      eyes: per detection, [[x, y], [x, y]] (image-left eye first), or None.
    """

    frames: list[int] = dataclasses.field(default_factory=list)
    boxes: list[Box] = dataclasses.field(default_factory=list)
    scores: list[float] = dataclasses.field(default_factory=list)
    eyes: list[np.ndarray | None] = dataclasses.field(default_factory=list)
    face_id: int = -1

    def add(self, frame: int, detection: Detection, eyes: np.ndarray | None) -> None:
        self.frames.append(frame)
        self.boxes.append(detection.box)
        self.scores.append(detection.score)
        self.eyes.append(eyes)

    def add_before(self, frame: int, detection: Detection, eyes: np.ndarray | None) -> None:
        """Adds a detection in a frame before the track's first (found looking back)."""
        if self.frames and frame >= self.frames[0]:
            raise ValueError(f"frame {frame} is not before the track's first, {self.frames[0]}")
        self.frames.insert(0, frame)
        self.boxes.insert(0, detection.box)
        self.scores.insert(0, detection.score)
        self.eyes.insert(0, eyes)

    def box_at(self, frame: int) -> Box | None:
        """The detection's box in `frame`, or None if the face was not found there."""
        i = bisect.bisect_left(self.frames, frame)
        return self.boxes[i] if i < len(self.frames) and self.frames[i] == frame else None

    def predicted(self, frame: int) -> Box:
        """The box expected at `frame`: the last one moved on at the recent velocity."""
        last = self.boxes[-1]
        if len(self.frames) < 2:
            return last
        back = max(0, len(self.frames) - 4)  # A few detections back: steadier than one.
        steps = self.frames[-1] - self.frames[back]
        first = self.boxes[back]
        ahead = (frame - self.frames[-1]) / max(steps, 1)
        dx, dy = (last.x - first.x) * ahead, (last.y - first.y) * ahead
        return Box(round(last.x + dx), round(last.y + dy), last.width, last.height)

    def longest_run(self) -> int:
        """The most consecutive frames in which the face was detected."""
        best = run = 0
        for i, frame in enumerate(self.frames):
            run = run + 1 if i and frame == self.frames[i - 1] + 1 else 1
            best = max(best, run)
        return best


class FaceTracks:
    """Feed `update(frame, detections)` frame after frame, then take `finish()`.

    Make one per video.
    """

    def __init__(
        self,
        *,
        min_iou: float = 0.3,
        max_gap: int = 12,
        confirm_frames: int = 3,
        max_faces: int = 0,
    ):
        self.min_iou, self.max_gap = min_iou, max_gap
        self.confirm_frames = confirm_frames
        self.max_faces = max_faces
        self._tracks: list[Track] = []
        self._frames = 0

    def live(self, frame: int) -> list[Track]:
        """The tracks that a detection in `frame` may still join."""
        return [t for t in self._tracks if frame - t.frames[-1] <= self.max_gap + 1]

    def held(self, frame: int, box: Box, min_iou: float) -> bool:
        """Whether some track's detection in `frame` overlaps `box` by >= `min_iou`."""
        for track in self._tracks:
            other = track.box_at(frame)
            if other is not None and iou(other, box) >= min_iou:
                return True
        return False

    def update(
        self,
        frame: int,
        detections: list[Detection],
        eyes: list[np.ndarray | None] | None = None,
    ) -> list[Track]:
        """Adds one frame's detections; returns the track of each detection, in order."""
        self._frames = max(self._frames, frame + 1)
        eyes = eyes if eyes is not None else [None] * len(detections)
        live = self.live(frame)
        pairs = sorted(
            (
                (iou(t.predicted(frame), d.box), ti, di)
                for ti, t in enumerate(live)
                for di, d in enumerate(detections)
            ),
            reverse=True,
        )
        owner: dict[int, Track] = {}
        taken: set[int] = set()
        for overlap, ti, di in pairs:
            if overlap < self.min_iou:
                break
            if ti in taken or di in owner:
                continue
            owner[di] = live[ti]
            taken.add(ti)
        result = []
        for di, detection in enumerate(detections):
            track = owner.get(di)
            if track is None:
                track = Track()
                self._tracks.append(track)
            track.add(frame, detection, eyes[di])
            result.append(track)
        return result

    def confirmed(self, track: Track) -> bool:
        # A clip shorter than confirm_frames (a still image) needs every frame.
        needed = min(self.confirm_frames, max(self._frames, 1))
        return track.longest_run() >= needed

    def finish(self) -> list[Track]:
        """The confirmed tracks (at most `max_faces`), ids 0, 1, ... by first frame."""
        kept = [t for t in self._tracks if self.confirmed(t)]
        if self.max_faces:
            kept = sorted(kept, key=lambda t: -len(t.frames))[: self.max_faces]
        kept.sort(key=lambda t: t.frames[0])
        for face_id, track in enumerate(kept):
            track.face_id = face_id
        return kept
