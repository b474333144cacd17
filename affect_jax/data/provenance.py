"""Where a dataset's faces came from: real recordings, or the synthetic default.

A build records it (`SOURCE_FILE` in the built version folder): the raw folder
it read and whether that folder is a synthetic release (`python -m
affect_jax.synthetic` marks its output with a SYNTHETIC_<DATASET>.json file).
A training run copies the record of the data it learned from into its
results.json (`TRAINING_DATA_KEY`): the dataset's for a frame CNN, the feature
store's (that is, its dataset's) for an RNN. Prediction reads it back, so a
model that has only seen synthetic faces says so wherever its numbers appear,
and frames faces as its training faces were framed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from affect_jax.faces.framing import FACE_MARGIN_KEY, FRAMING_KEY

SOURCE_FILE = "source.json"
METADATA_FILE = "metadata.json"  # TFDS's file of a build's MetadataDict.
TRAINING_DATA_KEY = "training_data"
SYNTHETIC_MARKER_GLOB = "SYNTHETIC_*.json"
# What prediction prints for a model that learned from synthetic faces only.
SYNTHETIC_NOTE = (
    "This model learned from synthetic (cartoon) faces only: its numbers mean nothing "
    "for real people. Use the paper's models (python -m affect_jax.import_keras) or "
    "train on your own data."
)


def synthetic_marker(manual_dir: str | Path) -> str | None:
    """The synthetic-release marker file in `manual_dir`, or None for real data."""
    found = sorted(Path(manual_dir).expanduser().glob(SYNTHETIC_MARKER_GLOB))
    return found[0].name if found else None


def write_source(built_dir: str | Path, manual_dir: str | Path) -> dict[str, Any]:
    """Records in a finished build where its raw files were and whether they are synthetic."""
    marker = synthetic_marker(manual_dir)
    source = {
        "manual_dir": str(Path(manual_dir).expanduser().resolve()),
        "synthetic": marker is not None,
        "synthetic_marker": marker,
    }
    (Path(built_dir) / SOURCE_FILE).write_text(json.dumps(source, indent=2) + "\n")
    return source


def read_source(built_dir: str | Path) -> dict[str, Any] | None:
    """The record of `write_source`, or None for builds made before it existed."""
    path = Path(built_dir) / SOURCE_FILE
    return json.loads(path.read_text()) if path.is_file() else None


def read_framing(built_dir: str | Path) -> str | None:
    """The framing a photo build cut its faces with (faces/framing.py), or None.

    None for datasets of face crops (Aff-Wild2, face_folders/cropped) and for
    builds made before the record.
    """
    return _build_metadata(built_dir).get(FRAMING_KEY)


def training_data(dataset: str, built_dir: str | Path) -> dict[str, Any]:
    """What a run that learned from the build in `built_dir` records in its results.

    `synthetic` is None where the build predates the record; `framing` and
    `face_margin` are there only where the build framed faces itself (see
    `read_framing`).
    """
    source = read_source(built_dir) or {}
    record = {"dataset": dataset, "synthetic": source.get("synthetic")}
    framing = read_framing(built_dir)
    if framing is None:
        return record
    return {**record, FRAMING_KEY: framing, FACE_MARGIN_KEY: read_face_margin(built_dir)}


def read_face_margin(built_dir: str | Path) -> float:
    """The border a photo build added around its framed faces (0 where unrecorded)."""
    return float(_build_metadata(built_dir).get(FACE_MARGIN_KEY) or 0.0)


def _build_metadata(built_dir: str | Path) -> dict[str, Any]:
    path = Path(built_dir) / METADATA_FILE
    return json.loads(path.read_text()) if path.is_file() else {}


def learned_only_from_synthetic(records: list[dict | None]) -> bool:
    """Whether every network of a model has a record, and every record says synthetic."""
    return bool(records) and all(r is not None and r.get("synthetic") is True for r in records)
