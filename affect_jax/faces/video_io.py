"""Frames from videos and image folders, for prediction.

An input is a video file (read with OpenCV), a folder of video files (each
one an input), or a folder of images (one input: its images in name order).
Every input is read as a sequence of BGR frames with a frame rate; what cannot
be read raises `InputError` with a message that names the path.

    for source in find_inputs(["clips/", "talk.mp4"], errors):
        for frame in source.frames(): ...
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from pathlib import Path

import cv2
import numpy as np
from absl import logging

from affect_jax.runtime import ProjectError

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".m4v")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff")
DEFAULT_FPS = 25.0


class InputError(ProjectError, ValueError):
    """An input that cannot be read: missing, unreadable, empty."""


@dataclasses.dataclass(frozen=True)
class FrameSource:
    """One input to predict on.

    Attributes:
      name: the output name (file stem, or folder name for an image folder).
      path: the video file or image folder.
      images: the image files in frame order; empty for a video.
      default_fps: frame rate used when the file has none (and for images).
    """

    name: str
    path: Path
    images: tuple[Path, ...] = ()
    default_fps: float = DEFAULT_FPS

    @property
    def is_video(self) -> bool:
        return not self.images

    def open(self) -> VideoReader:
        """Opens the input; raises InputError if it cannot be read at all."""
        if self.is_video:
            return VideoReader(self.path, self.default_fps)
        return ImageFolderReader(self.images, self.default_fps)


class VideoReader:
    """Frames of a video file, in order, as uint8 BGR arrays."""

    def __init__(self, path: Path, default_fps: float = DEFAULT_FPS):
        self.path = path
        self._capture = cv2.VideoCapture(str(path))
        if not self._capture.isOpened():
            raise InputError(f"{path}: OpenCV cannot open this video (unknown format or corrupt).")
        fps = self._capture.get(cv2.CAP_PROP_FPS)
        # Some containers store no rate (OpenCV reports 0, or nonsense).
        self.fps = fps if 0 < fps < 1000 else default_fps
        self.frame_count = max(int(self._capture.get(cv2.CAP_PROP_FRAME_COUNT)), 0)

    def frames(self) -> Iterator[np.ndarray]:
        """Yields frames until the end; raises InputError if there is none."""
        count = 0
        while True:
            ok, frame = self._capture.read()
            if not ok:
                break
            count += 1
            yield frame
        self._capture.release()
        if count == 0:
            raise InputError(f"{self.path}: the video has no readable frames (empty or corrupt).")
        if self.frame_count and count < 0.9 * self.frame_count:
            logging.warning(
                "%s: read %d of the %d frames the file announces; the rest is unreadable.",
                self.path,
                count,
                self.frame_count,
            )

    def close(self) -> None:
        self._capture.release()


class ImageFolderReader:
    """Images of a folder as frames; an unreadable image becomes a black frame."""

    def __init__(self, images: Sequence[Path], fps: float = DEFAULT_FPS):
        self.images = tuple(images)
        self.fps = fps
        self.frame_count = len(self.images)

    def frames(self) -> Iterator[np.ndarray]:
        shape, pending = None, 0
        for path in self.images:
            frame = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if frame is None:
                # A black frame keeps one row per image in the output; it has no face.
                logging.warning("%s: unreadable image, treated as a frame with no face.", path)
                if shape is None:
                    pending += 1  # Sized like the first readable image, once known.
                    continue
                frame = np.zeros(shape, np.uint8)
            elif shape is None:
                shape = frame.shape
                yield from (np.zeros(shape, np.uint8) for _ in range(pending))
            yield frame
        if shape is None:
            raise InputError(f"{self.images[0].parent}: none of its images can be read.")

    def close(self) -> None:
        pass


def _sorted_files(folder: Path, suffixes: tuple[str, ...]) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in suffixes)


def sources_of(path: Path, default_fps: float = DEFAULT_FPS) -> list[FrameSource]:
    """The inputs one path stands for.

    Raises:
      InputError: a missing path, a file that is not a video, a folder with
        neither videos nor images.
    """
    if not path.exists():
        raise InputError(f"{path}: no such file or folder.")
    if path.is_file():
        if path.suffix.lower() not in VIDEO_SUFFIXES:
            raise InputError(
                f"{path}: not a video ({', '.join(VIDEO_SUFFIXES)}) or a folder of images."
            )
        return [FrameSource(path.stem, path, default_fps=default_fps)]
    videos = _sorted_files(path, VIDEO_SUFFIXES)
    images = _sorted_files(path, IMAGE_SUFFIXES)
    if videos:
        if images:
            logging.warning("%s: has videos, so its %d images are ignored.", path, len(images))
        return [FrameSource(v.stem, v, default_fps=default_fps) for v in videos]
    if not images:
        raise InputError(
            f"{path}: the folder has no videos ({', '.join(VIDEO_SUFFIXES)}) and no images "
            f"({', '.join(IMAGE_SUFFIXES)})."
        )
    return [FrameSource(path.resolve().name, path, tuple(images), default_fps)]


def find_inputs(
    paths: Sequence[str | Path], default_fps: float = DEFAULT_FPS
) -> tuple[list[FrameSource], list[tuple[str, str]]]:
    """Every input the paths stand for, with unique names, and the paths that failed.

    Returns:
      (sources, failures): failures are (path, message) pairs, so that one bad
      path does not stop the others.
    """
    sources: list[FrameSource] = []
    failures: list[tuple[str, str]] = []
    taken: set[str] = set()
    for path in paths:
        try:
            found = sources_of(Path(path), default_fps)
        except InputError as error:
            failures.append((str(path), str(error)))
            continue
        for source in found:
            # Two inputs named alike (a/x.mp4, b/x.mp4) must not overwrite each other.
            name, k = source.name, 2
            while name in taken:
                name, k = f"{source.name}_{k}", k + 1
            taken.add(name)
            sources.append(dataclasses.replace(source, name=name))
    return sources, failures
