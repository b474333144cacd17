"""Reads the raw JAFFE release: one flat folder of TIFFs and an optional ratings file.

Pure Python (no TFDS), so it can be tested and reused on its own. The layout:

    KA.AN1.39.tiff      subject . expression code + pose index . image number
    README_FIRST.txt    optional ratings table: index, HAP SAD SUR ANG DIS FEA (1-5),
                        picture (KA-AN1)

The folder may be the manual dir itself or its one subfolder holding TIFFs
(the archive extracts to `jaffedbase/`). The semantic ratings come as a table
inside the release's README text file ((A_)README_FIRST.txt); the table is
found by its header line in any .txt file, and text files without one are
ignored.
"""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path

import numpy as np

from data_builders.errors import RawDataError, RawDataMissingError

# Expression codes in file names -> CK+ emotion codes (JAFFE has no contempt).
CODES = {"NE": 0, "AN": 1, "DI": 3, "FE": 4, "HA": 5, "SA": 6, "SU": 7}
# The ratings features, in this order.
RATING_COLUMNS = ("HAP", "SAD", "SUR", "ANG", "DIS", "FEA")
NO_RATING = -1.0
_TIFF_SUFFIXES = (".tiff", ".tif")
_FILE_NAME = re.compile(r"^([A-Za-z]+)\.([A-Za-z]+)(\d+)\.(\d+)\.tiff?$", re.IGNORECASE)
_PICTURE = re.compile(r"^([A-Za-z]+)-([A-Za-z]+)(\d+)$")
_NAME_FIX = "JAFFE names look like KA.AN1.39.tiff: subject . code + pose . number"


@dataclasses.dataclass(frozen=True)
class Image:
    """One photograph, as its file name describes it."""

    path: Path
    subject: str
    code: str
    pose: int
    number: int

    @property
    def label(self) -> int:
        return CODES[self.code]

    @property
    def picture(self) -> str:
        """The ratings file's name for this picture, e.g. KA-AN1."""
        return f"{self.subject}-{self.code}{self.pose}"


def _is_tiff(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in _TIFF_SUFFIXES and not path.name[0] == "."


def find_image_folder(manual_dir: Path) -> Path:
    """The folder of TIFFs: `manual_dir` or its one subfolder that holds them.

    Raises:
      FileNotFoundError: if no TIFF is found, or several subfolders hold some.
    """
    manual_dir = Path(manual_dir)
    if any(_is_tiff(p) for p in manual_dir.iterdir()):
        return manual_dir
    folders = [
        d for d in sorted(manual_dir.iterdir()) if d.is_dir() and any(map(_is_tiff, d.iterdir()))
    ]
    if len(folders) == 1:
        return folders[0]
    if not folders:
        raise RawDataMissingError(f"No .tiff images in {manual_dir} or its subfolders.")
    raise RawDataMissingError(
        f"Several folders of .tiff images in {manual_dir}: {', '.join(d.name for d in folders)}; "
        "point the manual dir at the one holding the JAFFE images."
    )


def parse_file_name(path: Path) -> Image:
    """Reads subject, expression, pose and number from a JAFFE file name.

    Raises:
      ValueError: naming the file, what is wrong and how to fix it.
    """
    match = _FILE_NAME.match(Path(path).name)
    if not match:
        raise RawDataError(f"{path}: not a JAFFE file name. Fix: {_NAME_FIX}; rename or remove it.")
    subject, code, pose, number = match.groups()
    if code.upper() not in CODES:
        raise RawDataError(
            f"{path}: unknown expression code {code!r}. Fix: use one of "
            f"{', '.join(CODES)} ({_NAME_FIX}); rename or remove the file."
        )
    return Image(Path(path), subject.upper(), code.upper(), int(pose), int(number))


def list_images(folder: Path) -> list[Image]:
    """Every TIFF of the folder, parsed, sorted by subject and image number."""
    images = [parse_file_name(p) for p in Path(folder).iterdir() if _is_tiff(p)]
    return sorted(images, key=lambda i: (i.subject, i.number, i.path.name))


def _read_lines(path: Path) -> list[str]:
    return Path(path).read_text(encoding="utf-8-sig", errors="replace").splitlines()


def _find_header(lines: list[str]) -> tuple[int, list[str]] | None:
    """(index, column names) of the ratings table's header line, or None."""
    for index, line in enumerate(lines):
        names = line.strip().lstrip("#").upper().split()
        if {*RATING_COLUMNS, "PIC"} <= set(names):
            return index, names
    return None


def find_ratings_file(*folders: Path) -> Path | None:
    """The semantic ratings file among the folders' .txt files, or None.

    Raises:
      ValueError: if more than one file has a ratings header.
    """
    candidates = {p for folder in folders for p in Path(folder).glob("*.txt")}
    found = sorted(p for p in candidates if _find_header(_read_lines(p)) is not None)
    if len(found) > 1:
        raise RawDataError(
            f"Several semantic ratings files: {', '.join(map(str, found))}. "
            "Fix: keep the one to use in the manual dir and move the others away."
        )
    return found[0] if found else None


def _parse_rating_line(path: Path, number: int, line: str, order: list[str]) -> tuple:
    """(picture name, float32 ratings in RATING_COLUMNS order) of one data line."""

    def fail(problem: str) -> RawDataError:
        return RawDataError(
            f"{path}, line {number}: {problem} in {line.strip()!r}. Fix: write "
            "[index] then the six ratings (1-5) in the header's order, then the "
            "picture name such as KA-AN1."
        )

    fields = line.split()
    picture = _PICTURE.match(fields[-1])
    if picture is None or len(fields) not in (7, 8):
        raise fail("expected 6 ratings and a picture name")
    try:
        values = [float(v) for v in fields[-7:-1]]
    except ValueError:
        raise fail("a rating is not a number") from None
    if not all(math.isfinite(v) and 1.0 <= v <= 5.0 for v in values):
        raise fail("a rating is outside [1, 5]")
    subject, code, pose = picture.groups()
    by_column = dict(zip(order, values, strict=True))
    ratings = np.array([by_column[c] for c in RATING_COLUMNS], np.float32)
    return f"{subject.upper()}-{code.upper()}{int(pose)}", ratings


def parse_ratings(path: Path) -> dict[str, np.ndarray]:
    """Reads the ratings table: {picture (KA-AN1): float32 ratings in RATING_COLUMNS order}.

    The table starts at a header line naming HAP SAD SUR ANG DIS FEA PIC (text
    before it, as in the release's README, is ignored) and ends at the first
    line that does not end in a picture name. Each row holds an optional
    index, the six mean ratings (1-5) in the header's order and the picture.

    Raises:
      ValueError: naming the file, the line, and how to fix it.
    """
    lines = _read_lines(path)
    found = _find_header(lines)
    if found is None:
        raise RawDataError(f"{path}: no HAP SAD SUR ANG DIS FEA PIC header line.")
    header_index, header = found
    order = [c for c in header if c in RATING_COLUMNS]  # The file's column order.
    ratings: dict[str, np.ndarray] = {}
    for number, line in enumerate(lines[header_index + 1 :], start=header_index + 2):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not _PICTURE.match(line.split()[-1]):
            break  # Text after the table.
        name, values = _parse_rating_line(path, number, line, order)
        if name in ratings:
            raise RawDataError(
                f"{path}, line {number}: {name} is rated twice. Fix: keep one line per picture."
            )
        ratings[name] = values
    return ratings
