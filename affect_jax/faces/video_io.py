"""Frames from videos, image folders and photos, for prediction.

An input is a video file (read with OpenCV), a folder of video files (each
one an input), a photo (an image file), or a folder of images. A folder of
images is one of two things (`image_folders`):
  - a video, its images the frames in number order, when the names are
    numbered frames: the same text around a number that differs in every
    name (`00001.jpg` ... as in Aff-Wild2's cropped_aligned, `frame_0001.png`
    ...), or when the caller says `video`;
  - otherwise, or when the caller says `photos`, a set of photos, each with
    its own faces (one input, so that they share the CNN's batches).
Which one was chosen is logged and returned with the sources. A video is read
as a sequence of BGR frames with a frame rate; what cannot be read raises
`InputError` with a message that names the path.

    sources, failures = find_inputs(["clips/", "talk.mp4", "group.jpg"])
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import cv2
import numpy as np
from absl import logging

from affect_jax.runtime import ConfigError, ProjectError

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".m4v")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
DEFAULT_FPS = 25.0
IMAGE_FOLDERS = ("auto", "video", "photos")
# A numbered frame's name: anything, the frame number, anything without digits.
_NUMBERED = re.compile(r"^(.*?)(\d+)(\D*)$")


class InputError(ProjectError, ValueError):
    """An input that cannot be read: missing, unreadable, empty."""


@dataclasses.dataclass(frozen=True)
class FrameSource:
    """One input to predict on.

    Attributes:
      name: the output name (file stem, or folder name for an image folder).
      path: the video file, image folder or photo.
      images: the image files in frame order (or the photos); empty for a video.
      default_fps: frame rate used when the file has none (and for images).
      photos: whether `images` are separate photos rather than frames.
    """

    name: str
    path: Path
    images: tuple[Path, ...] = ()
    default_fps: float = DEFAULT_FPS
    photos: bool = False

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


def are_numbered_frames(images: Sequence[Path]) -> bool:
    """Whether the names are one text around a frame number that differs in each name."""
    parts = [_NUMBERED.match(p.stem) for p in images]
    if len(images) < 2 or not all(parts):
        return False
    if (
        len(
            {(m.group(1), m.group(3), p.suffix.lower()) for m, p in zip(parts, images, strict=True)}
        )
        != 1
    ):
        return False
    return len({int(m.group(2)) for m in parts}) == len(parts)


def _frame_number(path: Path) -> int:
    return int(_NUMBERED.match(path.stem).group(2))


def _image_folder(path: Path, images: list[Path], how: str, default_fps: float) -> FrameSource:
    if how not in IMAGE_FOLDERS:
        raise ConfigError(f"Unknown --image_folders {how!r}; valid: {', '.join(IMAGE_FOLDERS)}.")
    numbered = are_numbered_frames(images)
    as_video = how == "video" or (how == "auto" and numbered)
    if numbered:  # frame_9 before frame_10, where names are not zero-padded.
        images = sorted(images, key=_frame_number)
    if how == "auto":
        logging.info(
            "%s: %d images %s, read as %s (--image_folders=%s to read them as %s).",
            path,
            len(images),
            "named as numbered frames" if as_video else "not named as numbered frames",
            "one video" if as_video else "separate photos",
            "photos" if as_video else "video",
            "photos" if as_video else "one video",
        )
    return FrameSource(path.resolve().name, path, tuple(images), default_fps, not as_video)


def sources_of(
    path: Path, default_fps: float = DEFAULT_FPS, image_folders: str = "auto"
) -> list[FrameSource]:
    """The inputs one path stands for.

    Raises:
      InputError: a missing path, a file that is neither a video nor an
        image, a folder with neither videos nor images.
    """
    if not path.exists():
        raise InputError(f"{path}: no such file or folder.")
    if path.is_file():
        if path.suffix.lower() in IMAGE_SUFFIXES:
            return [FrameSource(path.stem, path, (path,), default_fps, photos=True)]
        if path.suffix.lower() not in VIDEO_SUFFIXES:
            raise InputError(
                f"{path}: not a video ({', '.join(VIDEO_SUFFIXES)}), an image "
                f"({', '.join(IMAGE_SUFFIXES)}) or a folder of them."
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
    return [_image_folder(path, images, image_folders, default_fps)]


def find_inputs(
    paths: Sequence[str | Path], default_fps: float = DEFAULT_FPS, image_folders: str = "auto"
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
            found = sources_of(Path(path), default_fps, image_folders)
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


def read_photo(path: Path) -> np.ndarray:
    """A photo as uint8 BGR: gray, RGB, RGBA (over white) and 16-bit alike, turned as EXIF says.

    Raises:
      InputError: the file cannot be read, is not an image, or is a truncated JPEG.
    """
    try:
        data = path.read_bytes()
    except OSError as error:
        raise InputError(f"{path}: cannot be read ({error.strerror}).") from error
    if path.suffix.lower() in (".jpg", ".jpeg") and data[:2] == b"\xff\xd8":
        if _truncated_jpeg(data):  # OpenCV would fill the missing part in grey.
            raise InputError(
                f"{path}: the JPEG is truncated (the file ends before the image does); "
                "copy it again."
            )
    encoded = np.frombuffer(data, np.uint8)
    image = cv2.imdecode(encoded, cv2.IMREAD_COLOR) if len(data) else None
    if image is None:
        raise InputError(f"{path}: not an image OpenCV can read (corrupt, or another format).")
    if path.suffix.lower() in (".png", ".webp", ".tif", ".tiff"):
        full = cv2.imdecode(encoded, cv2.IMREAD_UNCHANGED)
        if full is not None and full.ndim == 3 and full.shape[2] == 4:
            # Transparent parts hold any colour; shown over white, as viewers do.
            alpha = full[..., 3:].astype(np.float32) / np.iinfo(full.dtype).max
            image = np.round(image * alpha + 255.0 * (1 - alpha)).astype(np.uint8)
    return image


def _truncated_jpeg(data: bytes) -> bool:
    """Whether a JPEG file (it starts like one) was cut off before its end."""
    if data.rstrip(b"\x00\r\n ").endswith(b"\xff\xd9"):  # Ends with its end-of-image marker.
        return False
    import io

    from PIL import Image  # Installed with matplotlib; only for files without the marker.

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()  # Raises on a truncated file; a file with trailing data loads.
    except OSError:
        return True
    return False
