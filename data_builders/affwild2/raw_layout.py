"""Reads the raw Aff-Wild2 release: annotation folders, annotation files, frames.

Pure Python (no TFDS), so it can be tested and reused on its own. The layout:

    cropped_aligned/<video>/00001.jpg           5-digit, 1-based; no file = no face
    annotations/<task folder>/<split folder>/<video>.txt
        line 1: a header fixed per task and release; line 1 + i: the labels of frame i

Annotation files may have one line more than the video has frames, and mark
unannotated frames with a sentinel value (-5 for valence-arousal, -1 for
expression and action units). The tasks differ only in headers, field count,
value range, sentinel and folder names, so each task is one `AnnotationFormat`.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from collections import Counter
from pathlib import Path

import numpy as np

from data_builders.errors import RawDataError, RawDataMissingError

IMAGES_FOLDER = "cropped_aligned"
ANNOTATIONS_FOLDER = "annotations"
_FRAME_NAME = re.compile(r"^(\d{5})\.jpg$")


@dataclasses.dataclass(frozen=True)
class AnnotationFormat:
    """How one task's annotation files look.

    Attributes:
      headers: the accepted first lines, oldest release first. A header's
        comma-separated names are the file's columns, or with `class_index`
        the class names.
      low: smallest valid value.
      high: largest valid value; ignored with `class_index`, where the
        header's name count sets it.
      unannotated: the sentinel; a line with it in any field is unannotated.
      folders: the accepted (task folder, {split: split folder}) layouts,
        newest release last.
      class_index: each line holds one class index into the header's names
        (expression) instead of one value per name (valence-arousal, AUs).
      integer: values must be whole numbers.
      example: a valid value, for error messages.
    """

    headers: tuple[str, ...]
    low: float
    high: float
    unannotated: float
    folders: tuple[tuple[str, dict[str, str]], ...]
    class_index: bool = False
    integer: bool = False
    example: str = "0.25"

    def num_fields(self, header: str) -> int:
        """Values per data line under `header`."""
        return 1 if self.class_index else len(header.split(","))

    def value_range(self, header: str) -> tuple[float, float]:
        """The valid (low, high) of a value under `header`."""
        if self.class_index:
            return self.low, len(header.split(",")) - 1
        return self.low, self.high


def _folders(abaw2020: str, later: str) -> tuple[tuple[str, dict[str, str]], ...]:
    return (
        (abaw2020, {"train": "Training_Set", "validation": "Validation_Set"}),
        (later, {"train": "Train_Set", "validation": "Validation_Set"}),
    )


VA = AnnotationFormat(
    headers=("valence,arousal",),
    low=-1.0,
    high=1.0,
    unannotated=-5.0,
    folders=_folders("VA_Set", "VA_Estimation_Challenge"),
)
# Later releases add class 7, "Other"; class indices 0-6 mean the same in both.
EXPR = AnnotationFormat(
    headers=(
        "Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise",
        "Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise,Other",
    ),
    low=0,
    high=7,
    unannotated=-1,
    folders=_folders("EXPR_Set", "EXPR_Recognition_Challenge"),
    class_index=True,
    integer=True,
    example="4",
)
# Not nested: AU20 is only in ABAW 2020, AU7/10/23/24/26 only later.
AU = AnnotationFormat(
    headers=(
        "AU1,AU2,AU4,AU6,AU12,AU15,AU20,AU25",
        "AU1,AU2,AU4,AU6,AU7,AU10,AU12,AU15,AU23,AU24,AU25,AU26",
    ),
    low=0,
    high=1,
    unannotated=-1,
    folders=_folders("AU_Set", "AU_Detection_Challenge"),
    integer=True,
    example="1",
)


@dataclasses.dataclass(frozen=True)
class Annotation:
    """One parsed annotation file.

    Attributes:
      values: (num_lines, num_fields), float32 (int8 for integer formats);
        row i is frame i + 1.
      annotated: bool (num_lines,); False where the sentinel appears.
      columns: the names in the file's header (class names with
        `class_index`).
    """

    values: np.ndarray
    annotated: np.ndarray
    columns: tuple[str, ...] = ()


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
    raise RawDataMissingError(f"No annotation folders in {manual_dir}: expected {expected}.")


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

    def fail(line_number: int, problem: str, fix: str) -> RawDataError:
        return RawDataError(f"{path}, line {line_number}: {problem}. Fix: {fix}.")

    header = lines[0].rstrip() if lines else None
    if header not in fmt.headers:
        found = repr(lines[0]) if lines else "an empty file"
        valid = " or ".join(map(repr, fmt.headers))
        one_of = "" if len(fmt.headers) == 1 else "one of "
        raise fail(
            1,
            f"the header must be exactly {one_of}{valid}, found {found}",
            f"make the first line {valid}",
        )
    if len(lines) == 1:
        # A truncated download or an interrupted export: silently building the
        # video with no frames would hide it.
        raise fail(
            1,
            "the file has a header but no label lines",
            "write one line per frame under the header, or delete the file to leave the video out",
        )
    num_fields = fmt.num_fields(header)
    low, high = fmt.value_range(header)
    sentinel = f"{fmt.unannotated:g}"
    # int8 for class indices and AUs: the whole release's labels stay small in memory.
    dtype = np.int8 if fmt.integer else np.float32
    values = np.empty((len(lines) - 1, num_fields), dtype)
    for row, line in enumerate(lines[1:]):
        number = row + 2
        fields = line.strip().split(",")
        if len(fields) != num_fields:
            shape = "one class index" if fmt.class_index else repr(header)
            raise fail(
                number,
                f"expected {num_fields} comma-separated values, found {line!r}",
                f"write one line per frame as {shape}",
            )
        try:
            parsed = [float(f) for f in fields]
        except ValueError:
            raise fail(
                number,
                f"not a number: {line!r}",
                f"write {'whole' if fmt.integer else 'decimal'} numbers such as "
                f"{fmt.example} (or the sentinel {sentinel} for an unannotated frame)",
            ) from None
        for value in parsed:
            if math.isnan(value):
                raise fail(number, f"NaN in {line!r}", f"write {sentinel} for an unannotated frame")
            if value == fmt.unannotated:
                continue
            if not low <= value <= high:
                raise fail(
                    number,
                    f"{value:g} is outside [{low:g}, {high:g}] in {line!r}",
                    f"use values in range or {sentinel} for an unannotated frame",
                )
            if fmt.integer and value != int(value):
                raise fail(
                    number,
                    f"{value:g} is not a whole number in {line!r}",
                    f"write whole numbers such as {fmt.example}",
                )
        values[row] = parsed
    annotated = ~np.any(values == fmt.unannotated, axis=1)
    return Annotation(values=values, annotated=annotated, columns=tuple(header.split(",")))


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


# Why an annotation line gives no example.
UNANNOTATED = "unannotated"
NO_IMAGE = "no_image"
NO_IMAGE_FOLDER = "no_image_folder"


def select_rows(images: set[int] | None, annotated: np.ndarray) -> tuple[list[int], Counter]:
    """The 0-based annotation rows that give an example, and why the others do not.

    Rows are checked for a label first, then for an image; each row left out
    is counted under one reason. With no image folder (`images` None) every
    row counts under `NO_IMAGE_FOLDER`.

    Args:
      images: the 1-based frame numbers with an image (`list_frames`).
      annotated: bool (num_rows,): whether row i (frame i + 1) has a label.
    """
    dropped: Counter = Counter()
    if images is None:
        dropped[NO_IMAGE_FOLDER] = len(annotated)
        return [], dropped
    keep = []
    for row, has_label in enumerate(annotated.tolist()):
        if not has_label:
            dropped[UNANNOTATED] += 1
        elif row + 1 not in images:
            dropped[NO_IMAGE] += 1
        else:
            keep.append(row)
    return keep, dropped
