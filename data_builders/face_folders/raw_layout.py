r"""Reads a folder of class folders: each image, its label, split folder and subject.

Pure Python (no TFDS), so it can be tested and reused on its own. The layouts:

    MANUAL_DIR/<class>/<image>                 flat (CK+48, KDEF-style exports)
    MANUAL_DIR/<split>/<class>/<image>         split folders train/, validation/ or
                                               val/, test/ (FER2013: train/, test/)

Class folder names map to the CK+ codes through the spelling table in
`affect_jax.tasks.labels` (angry/anger, happy/happiness, ...), ignoring case,
or through an explicit class map that is looked up first. A manual dir that
holds only one folder which is neither a split nor a class (an archive's top
folder, e.g. `CK+48/`) is looked into. Images may sit in subfolders of their
class folder; hidden files and files that are not images are left out (and
listed). With a subject regex, each image's subject is read from its path
inside the class folder, e.g. `S\d{3}` gives `S010` for CK+48's
`S010_004_00000017.png`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from affect_jax.runtime import ConfigError
from affect_jax.tasks.labels import CK_PLUS_EMOTIONS, expression_code, spellings_by_label
from data_builders.errors import RawDataError, RawDataMissingError

# Top-level folder names (any case) -> split names.
SPLIT_FOLDERS = {"train": "train", "validation": "validation", "val": "validation", "test": "test"}
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm")
CLASS_MAP_EXAMPLE = "class_map=Happyish:happy,7:neutral"


@dataclasses.dataclass(frozen=True)
class Image:
    """One image file and what its place in the layout says about it.

    Attributes:
      path: the file.
      relative: its path relative to the layout's root (stored as `filename`).
      split: the split of its split folder, or None in a flat layout.
      label: the CK+ code of its class folder.
      class_folder: the class folder's name as written on disk.
      subject: the person, read with the subject regex; "" without one.
    """

    path: Path
    relative: str
    split: str | None
    label: int
    class_folder: str
    subject: str


@dataclasses.dataclass
class Layout:
    """Everything found under the root, before any image is decoded."""

    root: Path
    images: list[Image]
    split_folders: dict[str, str]  # split -> folder name; empty when flat.
    class_folders: dict[str, str]  # folder (relative to root) -> CK+ label name.
    empty_class_folders: list[str]
    ignored_files: list[str]


def _visible_name(name: str) -> bool:
    # Hidden files (.DS_Store, macOS "._" shadows) and archivers' __MACOSX folders.
    return not name.startswith(".") and name != "__MACOSX"


def _visible(path: Path) -> bool:
    return _visible_name(path.name)


def _subfolders(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and _visible(p))


def _label_of(value: str | int, entry: str) -> int:
    """A class map value (CK+ name, any spelling, or code 0-7) as a CK+ code."""
    text = str(value).strip()
    if text.isdigit() and int(text) < len(CK_PLUS_EMOTIONS):
        return int(text)
    code = expression_code(text)
    if code is None:
        raise ConfigError(
            f"class_map entry {entry!r}: {text!r} is not an expression label; use a CK+ "
            f"name ({', '.join(CK_PLUS_EMOTIONS)}), a common spelling of one, or its code 0-7."
        )
    return code


def parse_class_map(value: str | Mapping | Iterable | None) -> dict[str, int]:
    """{folder name, lower case: CK+ code} from a class map in any accepted form.

    Args:
      value: None; a mapping {folder: label}; (folder, label) pairs; or a
        string "folder:label,folder:label" (`=` also separates), as a command
        line gives it. Labels are CK+ names, their spellings or codes 0-7.

    Raises:
      ConfigError: naming the entry that cannot be read.
    """
    if not value:
        return {}
    if isinstance(value, str):
        pairs = []
        for entry in filter(None, (e.strip() for e in value.split(","))):
            folder, sep, label = entry.replace("=", ":").rpartition(":")
            if not sep or not folder.strip():
                raise ConfigError(
                    f"class_map entry {entry!r} is not FOLDER:LABEL; write e.g. "
                    f"{CLASS_MAP_EXAMPLE.split('=', 1)[1]}."
                )
            pairs.append((folder, label))
    else:
        pairs = list(value.items() if isinstance(value, Mapping) else value)
    return {str(f).strip().lower(): _label_of(label, f"{f}:{label}") for f, label in pairs}


def unknown_folders_message(unknown: list[Path], class_map: Mapping[str, int]) -> str:
    """What to tell about class folders whose names map to no label, and the fixes."""
    table = "; ".join(f"{label} <- {', '.join(s)}" for label, s in spellings_by_label().items())
    mapped = ", ".join(f"{f}:{CK_PLUS_EMOTIONS[c]}" for f, c in class_map.items()) or "none"
    return (
        f"Class folders whose names are no expression: {', '.join(map(str, unknown))}. "
        f"Folder names map to the 8 CK+ labels (any case): {table}. Class map given: "
        f"{mapped}. Fix: rename each folder to one of these spellings, or map it with the "
        f"class_map builder option (python -m affect_jax.build --builder_option="
        f"{CLASS_MAP_EXAMPLE}; in Python FaceFolders(class_map={{'Happyish': 'happy'}}))."
    )


def find_root(manual_dir: Path, class_map: Mapping[str, int]) -> Path:
    """The folder holding the split or class folders: `manual_dir` or its one wrapper folder.

    Raises:
      RawDataMissingError: if the manual dir is missing or holds no folder.
    """
    manual_dir = Path(manual_dir)
    if not manual_dir.is_dir():
        raise RawDataMissingError(f"The manual dir {manual_dir} does not exist.")
    folders = _subfolders(manual_dir)
    if not folders:
        raise RawDataMissingError(
            f"No folders in {manual_dir}: expected one folder per class (happy/, sad/, ...) "
            "or split folders (train/, test/) holding them."
        )

    def known(name: str) -> bool:
        lower = name.lower()
        return lower in SPLIT_FOLDERS or lower in class_map or expression_code(name) is not None

    if len(folders) == 1 and not known(folders[0].name):
        return folders[0]  # An archive's top folder, e.g. CK+48/.
    return manual_dir


def _subject(pattern: re.Pattern | None, inside: str) -> str | None:
    """The subject in an image's path inside its class folder; None if it has none."""
    if pattern is None:
        return ""
    match = pattern.search(inside)
    if match is None:
        return None
    if "subject" in pattern.groupindex:
        return match.group("subject")
    return match.group(1) if pattern.groups else match.group(0)


def compile_subject_regex(subject_regex: str) -> re.Pattern | None:
    """The compiled regex, or None for "" (no subjects)."""
    if not subject_regex:
        return None
    try:
        return re.compile(subject_regex)
    except re.error as error:
        raise ConfigError(
            f"subject_regex '{subject_regex}' is not a regular expression ({error}); CK+48's "
            r"names take S\d{3}."
        ) from None


def read_layout(manual_dir: Path, class_map: Mapping[str, int], subject_regex: str) -> Layout:
    """Every image under the manual dir with its label, split folder and subject.

    Every folder name and image name is checked here, before any image is
    decoded, so a bad name stops a build in its first second.

    Raises:
      RawDataMissingError: no class folders, or split folders without train/.
      RawDataError: class folders with no known name (listing them all, the
        spelling table and the fixes), or images with no subject.
    """
    root = find_root(manual_dir, class_map)
    pattern = compile_subject_regex(subject_regex)
    tops = _subfolders(root)
    split_tops = {
        f.name: SPLIT_FOLDERS[f.name.lower()] for f in tops if f.name.lower() in SPLIT_FOLDERS
    }
    if split_tops:
        others = [f.name for f in tops if f.name not in split_tops]
        if others:
            raise RawDataError(
                f"{root} mixes split folders ({', '.join(split_tops)}) with other folders "
                f"({', '.join(others)}). Fix: put every class folder inside train/, "
                "validation/ (or val/) or test/, or use no split folders at all."
            )
        if len(set(split_tops.values())) < len(split_tops):
            raise RawDataError(
                f"{root} has both validation/ and val/. Fix: merge them into one folder."
            )
        if "train" not in split_tops.values():
            raise RawDataMissingError(
                f"{root} has split folders ({', '.join(split_tops)}) but no train/ folder."
            )
        bases = [(root / name, split) for name, split in sorted(split_tops.items())]
    else:
        bases = [(root, None)]
    layout = Layout(root, [], {s: n for n, s in split_tops.items()}, {}, [], [])
    unknown, subjectless = [], []
    for base, split in bases:
        folders = _subfolders(base)
        if not folders:
            raise RawDataMissingError(f"No class folders in {base}.")
        for folder in folders:
            code = class_map.get(folder.name.strip().lower(), expression_code(folder.name))
            if code is None:
                unknown.append(folder)
                continue
            relative_folder = str(folder.relative_to(root))
            layout.class_folders[relative_folder] = CK_PLUS_EMOTIONS[code]
            found = 0
            for path in sorted(p for p in folder.rglob("*") if p.is_file()):
                inside = path.relative_to(folder)
                relative = str(path.relative_to(root))
                hidden = not all(map(_visible_name, inside.parts))
                if hidden or path.suffix.lower() not in IMAGE_SUFFIXES:
                    layout.ignored_files.append(relative)
                    continue
                subject = _subject(pattern, inside.as_posix())
                if subject is None:
                    subjectless.append(relative)
                    continue
                found += 1
                layout.images.append(Image(path, relative, split, code, folder.name, subject))
            if not found:
                layout.empty_class_folders.append(relative_folder)
    if unknown:
        raise RawDataError(unknown_folders_message(unknown, class_map))
    if subjectless:
        raise RawDataError(
            f"{len(subjectless)} images have no subject matching subject_regex "
            f"'{subject_regex}': {', '.join(subjectless[:10])}"
            f"{' ...' if len(subjectless) > 10 else ''}. Fix: rename them, move them out of "
            "the manual dir, or change subject_regex (or leave it empty for no subjects)."
        )
    if not layout.images:
        raise RawDataMissingError(f"No images in the class folders under {root}.")
    return layout
