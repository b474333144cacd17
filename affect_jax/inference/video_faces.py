"""The two passes over a video: find and track every face, then crop each one for the CNN.

Pass 1 detects faces (whole frames every few frames, near the faces being
followed in between: faces/finder.py), finds each face's eyes and links the
detections into confirmed tracks (faces/track.py). Pass 2 reads the video
again and cuts each track's crops: aligned by the eyes (faces/align.py), with
eyes and boxes smoothed along the track so that crops do not jitter, or the
detector's box as it is (`crop="box"`): the framings of faces/framing.py,
the model's own by default (`trained_framing`). Reading twice keeps memory flat for
long videos; decoding costs little next to detection.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator

import numpy as np
from absl import logging

from affect_jax.faces import align, detect
from affect_jax.faces import framing as framing_lib
from affect_jax.faces.detect import Box, Detection
from affect_jax.faces.detectors import DEFAULT_DETECT_WIDTH, DEFAULT_DETECTOR, make_detector
from affect_jax.faces.finder import (
    DEFAULT_FULL_SEARCH_EVERY,
    DEFAULT_SMALL_FACE_SEARCH_EVERY,
    FaceFinder,
)
from affect_jax.faces.track import FaceTracks, Track
from affect_jax.faces.video_io import FrameSource
from affect_jax.runtime import ConfigError
from affect_jax.training.progress import RateMeter

CROPS = ("aligned", "box")
_PROGRESS_EVERY_S = 10.0


@dataclasses.dataclass(frozen=True)
class FaceOptions:
    """How faces are found, followed and cropped (the predict flags of the same names)."""

    detector: str = DEFAULT_DETECTOR
    detect_width: int = DEFAULT_DETECT_WIDTH
    # Whole-frame searches every this many frames, near the faces in between.
    full_search_every: int = DEFAULT_FULL_SEARCH_EVERY
    # A search at twice the video's size, for faces from 40 px, every this many frames (0: none).
    small_face_search_every: int = DEFAULT_SMALL_FACE_SEARCH_EVERY
    min_face_size: int = 0
    max_faces: int = 0
    crop: str = "aligned"
    eyes: str = "auto"
    # Around the face on each side, a fraction of its size: of the box, or of the
    # aligned template (faces/align.py), as the builders add it.
    face_margin: float = 0.0
    smooth_frames: int = 5
    # Frames that are face crops already: no detection, one face, the centred square.
    cropped_faces: bool = False


def trained_framing(training_data: tuple[dict | None, ...]) -> str | None:
    """The framing the model's CNN learned from (its run's record), or None if unrecorded."""
    return _cnn_record(training_data).get(framing_lib.FRAMING_KEY)


def trained_face_margin(training_data: tuple[dict | None, ...]) -> float | None:
    """The border its training build added around the framed faces, or None if unrecorded."""
    return _cnn_record(training_data).get(framing_lib.FACE_MARGIN_KEY)


def _cnn_record(training_data: tuple[dict | None, ...]) -> dict:
    return (training_data[0] if training_data else None) or {}


def with_framing(options: FaceOptions, name: str, *, keep: frozenset[str] = frozenset()):
    """`options` with the detector and crop of the framing `name`, but for the fields in `keep`.

    `keep` names the options the user set (e.g. {"detector"}): they win.
    """
    framing = framing_lib.framing_named(name)
    chosen = {"detector": framing.detector, "crop": framing.crop}
    return dataclasses.replace(options, **{k: v for k, v in chosen.items() if k not in keep})


def _report(meter: RateMeter, name: str, what: str, last: float) -> float:
    if time.monotonic() - last < _PROGRESS_EVERY_S:
        return last
    rate, eta = meter.report()
    logging.info("%s, %s: %d frames, %.1f frames/s, ETA %s", name, what, meter.done, rate, eta)
    return time.monotonic()


def find_faces(source: FrameSource, options: FaceOptions) -> tuple[float, int, list[Track]]:
    """Pass 1: (frame rate, number of frames, the confirmed face tracks)."""
    if options.crop not in CROPS:
        raise ConfigError(f"Unknown --crop {options.crop!r}; valid: {', '.join(CROPS)}.")
    reader = source.open()
    meter, last = RateMeter(reader.frame_count), time.monotonic()
    if options.cropped_faces:
        track, count = Track(), 0
        for count, frame in enumerate(reader.frames(), start=1):
            track.add(count - 1, Detection(detect.center_square(frame.shape), np.inf), None)
        track.face_id = 0
        return reader.fps, count, [track] if count else []
    detector = make_detector(
        options.detector, detect_width=options.detect_width, min_face_size=options.min_face_size
    )
    eye_finder = None
    if options.crop == "aligned":
        eye_finder = align.EyeFinder(options.eyes, detector.name)
    if options.full_search_every < 1:
        raise ConfigError(
            f"--full_search_every must be 1 (every frame) or more, not {options.full_search_every}."
        )
    if options.small_face_search_every < 0:
        raise ConfigError(
            f"--small_face_search_every must be 0 (never) or more, not "
            f"{options.small_face_search_every}."
        )
    finder = FaceFinder(
        detector,
        eye_finder,
        FaceTracks(max_faces=options.max_faces),
        options.full_search_every,
        options.small_face_search_every,
    )
    count = 0
    for count, frame in enumerate(reader.frames(), start=1):
        finder.add(count - 1, detect.to_gray(frame))
        meter.update()
        last = _report(meter, source.name, "finding faces", last)
    return reader.fps, count, finder.tracks.finish()


@dataclasses.dataclass(frozen=True)
class CropPlan:
    """Where each track's crop of each frame comes from (smoothed along the track)."""

    frames: np.ndarray  # [n] frame of each detection
    eyes: np.ndarray | None  # [n, 2, 2] for aligned crops
    boxes: list[Box]


def plan_crops(track: Track, options: FaceOptions) -> CropPlan:
    frames = np.asarray(track.frames)
    if options.crop == "aligned" and not options.cropped_faces:
        eyes = np.stack(track.eyes)
        return CropPlan(frames, align.smooth_along_track(eyes, frames, options.smooth_frames), [])
    boxes = track.boxes
    if options.smooth_frames > 1 and not options.cropped_faces:
        smoothed = align.smooth_along_track(
            np.array(boxes, np.float64), frames, options.smooth_frames
        )
        boxes = [Box(*(int(round(v)) for v in row)) for row in smoothed]
    return CropPlan(frames, None, boxes)


def crops_by_frame(
    source: FrameSource, tracks: list[Track], options: FaceOptions
) -> Iterator[tuple[int, np.ndarray]]:
    """Pass 2: (track index, uint8 96x96 crop) for every face of every frame, in frame order."""
    plans = [plan_crops(track, options) for track in tracks]
    # Per frame, which (track, detection index) pairs it holds.
    wanted: dict[int, list[tuple[int, int]]] = {}
    for t, plan in enumerate(plans):
        for k, frame in enumerate(plan.frames):
            wanted.setdefault(int(frame), []).append((t, k))
    reader = source.open()
    meter, last = RateMeter(reader.frame_count), time.monotonic()
    for index, frame in enumerate(reader.frames()):
        meter.update()
        if index not in wanted:
            continue
        gray = detect.to_gray(frame)
        for t, k in wanted[index]:
            plan = plans[t]
            if plan.eyes is not None:
                yield t, align.aligned_crop(gray, plan.eyes[k], margin=options.face_margin)
            else:
                yield t, detect.crop_face(gray, plan.boxes[k], options.face_margin)
        last = _report(meter, source.name, "cropping faces", last)
