"""Reads the raw Aff-Wild2 release: annotation folders, annotation files, frames.

Pure Python (no TFDS), so it can be tested and reused on its own. The layout:

    cropped_aligned/<video>/00001.jpg           5-digit, 1-based; no file = no face
    annotations/<task folder>/<split folder>/<video>.txt
        line 1: a fixed header; line 1 + i: the labels of frame i

Annotation files may have one line more than the video has frames, and mark
unannotated frames with a sentinel value (-5 for valence-arousal). The formats
of the other tasks (expression, action units) differ only in header, field
count, value range and sentinel, so each task is one `AnnotationFormat`.
"""

from __future__ import annotations

import collections
import dataclasses
import math
import os
import re
from pathlib import Path

import numpy as np

IMAGES_FOLDER = "cropped_aligned"
ANNOTATIONS_FOLDER = "annotations"
_FRAME_NAME = re.compile(r"^(\d{5})\.jpg$")


@dataclasses.dataclass(frozen=True)
class AnnotationFormat:
    """How one task's annotation files look.

    Attributes:
      header: the exact first line of every file.
      num_fields: comma-separated values per data line.
      low: smallest valid value.
      high: largest valid value.
      unannotated: the sentinel; a line with it in any field is unannotated.
      folders: the accepted (task folder, {split: split folder}) layouts,
        newest release last.
    """

    header: str
    num_fields: int
    low: float
    high: float
    unannotated: float
    folders: tuple[tuple[str, dict[str, str]], ...]


VA = AnnotationFormat(
    header="valence,arousal",
    num_fields=2,
    low=-1.0,
    high=1.0,
    unannotated=-5.0,
    folders=(
        ("VA_Set", {"train": "Training_Set", "validation": "Validation_Set"}),  # ABAW 2020.
        ("VA_Estimation_Challenge", {"train": "Train_Set", "validation": "Validation_Set"}),
    ),
)


@dataclasses.dataclass(frozen=True)
class Annotation:
    """One parsed annotation file.

    Attributes:
      values: float32 (num_lines, num_fields); row i is frame i + 1.
      annotated: bool (num_lines,); False where the sentinel appears.
    """

    values: np.ndarray
    annotated: np.ndarray


def find_annotation_dirs(manual_dir: Path, fmt: AnnotationFormat) -> dict[str, Path]:
    """Finds the per-split annotation folders of one task.

    Args:
      manual_dir: the folder holding `cropped_aligned/` and `annotations/`.
      fmt: the task's format, listing the accepted folder names.

    Returns:
      {split name: folder of <video>.txt files}.

    Raises:
      FileNotFoundError: if no accepted layout is complete, naming what was
        looked for.
    """
    annotations = Path(manual_dir) / ANNOTATIONS_FOLDER
    for task_folder, split_folders in fmt.folders:
        dirs = {
            split: annotations / task_folder / folder for split, folder in split_folders.items()
        }
        if all(d.is_dir() for d in dirs.values()):
            return dirs
    expected = " or ".join(
        "{" + ", ".join(f"{ANNOTATIONS_FOLDER}/{task}/{f}" for f in folders.values()) + "}"
        for task, folders in fmt.folders
    )
    raise FileNotFoundError(f"No annotation folders in {manual_dir}: expected {expected}.")


def list_videos(annotation_dir: Path) -> list[tuple[str, Path]]:
    """(video name, annotation file) pairs of one split, sorted by name."""
    files = sorted(p for p in Path(annotation_dir).iterdir() if p.suffix == ".txt")
    return [(p.stem, p) for p in files]


def parse_annotation_file(path: Path, fmt: AnnotationFormat) -> Annotation:
    """Parses and validates one annotation file.

    Trailing whitespace, Windows line ends, a UTF-8 byte-order mark and blank
    lines at the end of the file are tolerated; everything else must be exact.

    Args:
      path: the <video>.txt file.
      fmt: the task's format.

    Returns:
      The parsed `Annotation`.

    Raises:
      ValueError: naming the file, the line number (the header is line 1) and
        how to fix it.
    """
    lines = Path(path).read_text(encoding="utf-8-sig").splitlines()
    while lines and not lines[-1].strip():
        lines.pop()

    def fail(line_number: int, problem: str, fix: str) -> ValueError:
        return ValueError(f"{path}, line {line_number}: {problem}. Fix: {fix}.")

    if not lines or lines[0].rstrip() != fmt.header:
        found = repr(lines[0]) if lines else "an empty file"
        raise fail(
            1,
            f"the header must be exactly {fmt.header!r}, found {found}",
            f"make the first line {fmt.header!r}",
        )
    values = np.empty((len(lines) - 1, fmt.num_fields), np.float32)
    for row, line in enumerate(lines[1:]):
        number = row + 2
        fields = line.strip().split(",")
        if len(fields) != fmt.num_fields:
            raise fail(
                number,
                f"expected {fmt.num_fields} comma-separated values, found {line!r}",
                f"write one line per frame as {fmt.header!r}",
            )
        try:
            parsed = [float(f) for f in fields]
        except ValueError:
            raise fail(
                number,
                f"not a number: {line!r}",
                "write decimal numbers such as 0.25 (or the sentinel "
                f"{fmt.unannotated:g} for an unannotated frame)",
            ) from None
        for value in parsed:
            if math.isnan(value):
                raise fail(
                    number,
                    f"NaN in {line!r}",
                    f"write {fmt.unannotated:g} for an unannotated frame",
                )
            if value != fmt.unannotated and not fmt.low <= value <= fmt.high:
                raise fail(
                    number,
                    f"{value:g} is outside [{fmt.low:g}, {fmt.high:g}] in {line!r}",
                    f"use values in range or {fmt.unannotated:g} for an unannotated frame",
                )
        values[row] = parsed
    annotated = ~np.any(values == fmt.unannotated, axis=1)
    return Annotation(values=values, annotated=annotated)


def list_frames(frame_dir: Path) -> set[int] | None:
    """The frame numbers with an image, or None if the folder does not exist."""
    try:
        entries = os.scandir(frame_dir)  # One system call per folder: fast on big trees.
    except FileNotFoundError:
        return None
    with entries:
        return {int(m.group(1)) for e in entries if (m := _FRAME_NAME.match(e.name))}


def frame_path(manual_dir: Path, video: str, frame: int) -> Path:
    """Path of 1-based frame `frame` of `video`."""
    return Path(manual_dir) / IMAGES_FOLDER / video / f"{frame:05d}.jpg"


@dataclasses.dataclass
class VideoPlan:
    """The frames of one video to build, and the ones left out by reason.

    Attributes:
      video: the video name.
      frames: 1-based frame numbers with an image and an annotation, in order.
      labels: float32 (len(frames), num_fields), the labels of `frames`.
      dropped: {reason: count} of annotation lines left out.
    """

    video: str
    frames: list[int]
    labels: np.ndarray
    dropped: collections.Counter


# Why an annotation line gives no example.
UNANNOTATED = "unannotated"
NO_IMAGE = "no_image"
NO_IMAGE_FOLDER = "no_image_folder"


def pair_frames(manual_dir: Path, video: str, annotation: Annotation) -> VideoPlan:
    """Pairs data line i of the annotation with frame i's image.

    Lines are checked for the sentinel first, then for an image; each line
    left out is counted under one reason. A video with no image folder has
    all its lines counted under `NO_IMAGE_FOLDER`.
    """
    dropped = collections.Counter()
    images = list_frames(Path(manual_dir) / IMAGES_FOLDER / video)
    num_lines = len(annotation.annotated)
    if images is None:
        dropped[NO_IMAGE_FOLDER] = num_lines
        return VideoPlan(video, [], annotation.values[:0], dropped)
    keep = []
    for row in range(num_lines):
        if not annotation.annotated[row]:
            dropped[UNANNOTATED] += 1
        elif row + 1 not in images:
            dropped[NO_IMAGE] += 1
        else:
            keep.append(row)
    return VideoPlan(video, [row + 1 for row in keep], annotation.values[keep], dropped)
