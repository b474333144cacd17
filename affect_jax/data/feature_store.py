"""The per-frame feature store: one CNN feature vector per frame, memory-mapped.

Layout of `<workdir>/features/<split>/`:
  features.npy     [frames, feature_dim] float16 or float32, the CNN's linear
                   feature layer (before dropout)
  cnn_outputs.npy  [frames, outputs] float32, the CNN's own predictions (the
                   single-frame baseline the RNN is compared with)
  video_ids.npy, frames.npy  int32 per frame
  labels.npy       [frames, labels] float32: every label the records have,
                   columns named by complete.json's label_names (valence,
                   arousal, expression, then AU1 ... AU26: the 13 AU slots).
                   The release's sentinels are the masks: -5 = no valence /
                   arousal, -1 = no expression, -1 = AU not annotated. A store
                   written before multitask records holds its CNN's targets.
  progress.json    rows written so far (resume point) and the video names
  complete.json    written last; a store without it is unfinished
Rows keep the dataset's order: by video, then frame.
"""

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from affect_jax.runtime import ConfigError, ProjectError
from affect_jax.tasks.labels import AFFWILD2_ACTION_UNITS

COMPLETE_FILE = "complete.json"
PROGRESS_FILE = "progress.json"
ARRAYS = ("features", "cnn_outputs", "video_ids", "frames", "labels")


class FeatureStoreError(ProjectError, FileNotFoundError):
    """A feature store is missing, unfinished or empty."""


# Record fields a store keeps, in column order, when the records have them;
# "aus" is one column per AU slot.
LABEL_FIELDS = ("valence", "arousal", "expression", "aus")


def label_fields(record: dict[str, Any]) -> tuple[str, ...]:
    """The fields of LABEL_FIELDS that `record` (a dataset record) has."""
    return tuple(name for name in LABEL_FIELDS if name in record)


def label_names(fields: tuple[str, ...]) -> list[str]:
    """Column names of labels.npy for `fields`: "aus" -> AU1 ... AU26."""
    names: list[str] = []
    for field in fields:
        names += list(AFFWILD2_ACTION_UNITS) if field == "aus" else [field]
    return names


def label_row(record: dict[str, Any], fields: tuple[str, ...]) -> np.ndarray:
    """One labels.npy row of `record`: its fields flattened, as float32."""
    return np.concatenate([np.asarray(record[name], np.float32).reshape(-1) for name in fields])


def label_columns(names: list[str], targets: tuple[str, ...], where: Any = "") -> list[int]:
    """Columns of labels.npy (named `names`) holding config.targets, "aus" expanded.

    Raises:
      ConfigError: naming the targets the store lacks.
    """
    wanted = label_names(tuple(targets))
    missing = [name for name in wanted if name not in names]
    if missing:
        raise ConfigError(
            f"config.targets asks for {missing}, but the feature store in {where} holds labels "
            f"{names}. Extract features over records that have them: a multitask CNN, or "
            "--config.extract.dataset=affwild2/multitask (configs/affwild2_extract.py)."
        )
    return [names.index(name) for name in wanted]


def write_json_atomically(path: Path, content: dict) -> None:
    """Replaces `path` in one rename, so a crash leaves the old or the new file."""
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(content, indent=1))
    os.replace(temporary, path)


def _readable_npy(path: Path) -> bool:
    try:
        np.load(path, mmap_mode="r")
    except (ValueError, OSError):
        return False
    return True


class NpyRowWriter:
    """Writes rows into a preallocated .npy file with plain file writes.

    Plain writes (not a writable memmap) turn a full disk into an OSError at
    the write, instead of a SIGBUS later. Rows can be rewritten, so a resumed
    extraction simply writes again from its last recorded row.
    """

    def __init__(self, path: Path, shape: tuple[int, ...], dtype: Any):
        self.path, self.shape, self.dtype = path, shape, np.dtype(dtype)
        # True when the file had to be (re)made: rows recorded earlier are gone.
        self.created = not path.exists() or not _readable_npy(path)
        if not self.created:
            existing = np.load(path, mmap_mode="r")
            if existing.shape != shape or existing.dtype != self.dtype:
                raise FeatureStoreError(
                    f"{path} holds {existing.shape} {existing.dtype}, expected {shape} "
                    f"{self.dtype}: another extraction wrote it. Delete {path.parent} and "
                    "extract again."
                )
            del existing
        else:
            path.unlink(missing_ok=True)  # A file whose sizing a full disk cut short.
            # Sized but sparse: disk blocks are taken as rows are written.
            np.lib.format.open_memmap(path, mode="w+", dtype=self.dtype, shape=shape).flush()
        self._file = open(path, "r+b")  # noqa: SIM115 (closed in close()).
        major, _ = np.lib.format.read_magic(self._file)
        if major == 1:
            np.lib.format.read_array_header_1_0(self._file)
        else:
            np.lib.format.read_array_header_2_0(self._file)
        self._offset = self._file.tell()
        self._row_bytes = int(np.prod(shape[1:], dtype=np.int64)) * self.dtype.itemsize

    def write(self, first_row: int, rows: np.ndarray) -> None:
        self._file.seek(self._offset + first_row * self._row_bytes)
        self._file.write(np.ascontiguousarray(rows, self.dtype).tobytes())

    def sync(self) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        self._file.close()


def array_path(directory: str | Path, name: str) -> Path:
    """The .npy file of the store's array `name` (one of ARRAYS)."""
    return Path(directory) / f"{name}.npy"


def open_row_writers(
    directory: Path, layouts: dict[str, tuple[tuple[int, ...], Any]]
) -> dict[str, NpyRowWriter]:
    """One NpyRowWriter per array of ARRAYS, from its (shape, dtype) in `layouts`."""
    if set(layouts) != set(ARRAYS):
        raise ValueError(f"A feature store holds {ARRAYS}, got {tuple(layouts)}.")
    writers: dict[str, NpyRowWriter] = {}
    try:
        for name in ARRAYS:
            writers[name] = NpyRowWriter(array_path(directory, name), *layouts[name])
    except BaseException:
        for writer in writers.values():
            writer.close()
        raise
    return writers


class FeatureStore:
    """Read-only, memory-mapped view of one split's finished feature store."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        complete = self.directory / COMPLETE_FILE
        if not complete.exists():
            raise FeatureStoreError(
                f"No finished feature store in {self.directory} ({COMPLETE_FILE} is "
                "missing). Run the extract stage (configs/affwild2_extract.py) first, or "
                "rerun it to finish an interrupted extraction."
            )
        self.metadata = json.loads(complete.read_text())
        for name in ARRAYS:
            setattr(self, name, np.load(array_path(self.directory, name), mmap_mode="r"))
        self.video_names: list[str] = self.metadata["video_names"]
        self.label_names: list[str] = self.metadata["label_names"]
        if len(self.features) == 0:
            raise FeatureStoreError(f"The feature store in {self.directory} has no frames.")

    def __len__(self) -> int:
        return len(self.features)
