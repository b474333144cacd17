"""Reads the raw CK+ release: labelled sequences, emotion files, frames.

Pure Python (no TFDS), so it can be tested and reused on its own. The layout:

    cohn-kanade-images/S005/001/S005_001_00000001.png    frames, 1-based
    Emotion/S005/001/S005_001_00000011_emotion.txt       "   3.0000000e+00"

Only 327 of the 593 sequences have an emotion file (the others have an empty
Emotion folder or none). The reference preprocessing makes four examples of
each labelled sequence: its first frame as neutral (code 0), and its last
three frames with the sequence's label.
"""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path

from affect_jax.tasks.labels import CK_PLUS_EMOTIONS
from data_builders.errors import RawDataError, RawDataMissingError

IMAGES_FOLDER = "cohn-kanade-images"
EMOTION_FOLDER = "Emotion"
EMOTION_NAMES = CK_PLUS_EMOTIONS
NEUTRAL = 0
PEAK_FRAMES = 3
# Frame files end in their number: S005_001_00000001.png.
_FRAME_NAME = re.compile(r"_(\d+)\.png$", re.IGNORECASE)
_EMOTION_SUFFIX = "_emotion.txt"


@dataclasses.dataclass(frozen=True)
class LabelledSequence:
    """A sequence with an emotion file.

    Attributes:
      subject: e.g. "S005".
      sequence: e.g. "001".
      label: the emotion code, 0-7.
      emotion_file: where the label came from.
    """

    subject: str
    sequence: str
    label: int
    emotion_file: Path


@dataclasses.dataclass(frozen=True)
class Example:
    """One image to build: a frame of a labelled sequence and its label."""

    subject: str
    sequence: str
    frame: int
    label: int
    path: Path


def parse_emotion_file(path: Path) -> int:
    """Reads one emotion file: a single number such as `   3.0000000e+00`.

    Returns:
      The code, an integer 0-7.

    Raises:
      ValueError: naming the file, what is wrong and how to fix it.
    """
    text = Path(path).read_text(encoding="utf-8-sig", errors="replace")
    fix = (
        "it must hold one number, the emotion code 0-7 "
        f"({', '.join(f'{c} {n}' for c, n in enumerate(EMOTION_NAMES))}), "
        "written like '   3.0000000e+00'; restore the file from the CK+ Emotion_labels "
        "archive, or delete it to leave the sequence unlabelled"
    )
    fields = text.split()
    if len(fields) != 1:
        found = "an empty file" if not fields else f"{len(fields)} values {text.strip()[:60]!r}"
        raise RawDataError(f"{path}: expected one emotion code, found {found}. Fix: {fix}.")
    try:
        value = float(fields[0])
    except ValueError:
        raise RawDataError(f"{path}: not a number: {fields[0][:60]!r}. Fix: {fix}.") from None
    if not math.isfinite(value) or value != round(value) or not 0 <= value < len(EMOTION_NAMES):
        raise RawDataError(f"{path}: unknown emotion code {fields[0]!r}. Fix: {fix}.")
    return int(value)


def find_labelled_sequences(manual_dir: Path) -> list[LabelledSequence]:
    """Every sequence with an emotion file, sorted by subject and sequence.

    Every emotion file is parsed here, before any image is read, so a bad
    file stops a build in its first second.

    Raises:
      FileNotFoundError: if `Emotion/` is missing.
      ValueError: for a bad emotion file, or a sequence with two of them.
    """
    emotion_root = Path(manual_dir) / EMOTION_FOLDER
    if not emotion_root.is_dir():
        raise RawDataMissingError(f"No {EMOTION_FOLDER}/ folder in {manual_dir}.")
    sequences = []
    for folder in sorted(p for p in emotion_root.glob("*/*") if p.is_dir()):
        files = sorted(folder.glob(f"*{_EMOTION_SUFFIX}"))
        if not files:
            continue  # An unlabelled sequence, as most are.
        if len(files) > 1:
            raise RawDataError(
                f"{folder}: {len(files)} emotion files ({', '.join(f.name for f in files)}). "
                "Fix: keep the one of the sequence's last frame."
            )
        sequences.append(
            LabelledSequence(
                subject=folder.parent.name,
                sequence=folder.name,
                label=parse_emotion_file(files[0]),
                emotion_file=files[0],
            )
        )
    return sequences


def list_frames(manual_dir: Path, subject: str, sequence: str) -> list[tuple[int, Path]]:
    """(frame number, path) of a sequence's PNG frames in frame order; [] if none."""
    folder = Path(manual_dir) / IMAGES_FOLDER / subject / sequence
    if not folder.is_dir():
        return []
    frames = []
    for path in folder.iterdir():
        match = _FRAME_NAME.search(path.name)
        if match and not path.name.startswith("."):  # Skips macOS "._" shadow files.
            frames.append((int(match.group(1)), path))
    return sorted(frames)


def sequence_examples(manual_dir: Path, labelled: LabelledSequence) -> list[Example]:
    """The first frame as neutral and the last three with the sequence's label.

    A sequence shorter than four frames gives its first frame as neutral and
    every later one with the label; a sequence of one frame gives only that
    frame, as neutral; a sequence with no frames gives nothing.
    """
    frames = list_frames(manual_dir, labelled.subject, labelled.sequence)
    if not frames:
        return []
    chosen = [(frames[0], NEUTRAL)]
    chosen += [(frame, labelled.label) for frame in frames[1:][-PEAK_FRAMES:]]
    return [
        Example(labelled.subject, labelled.sequence, number, label, path)
        for (number, path), label in chosen
    ]
