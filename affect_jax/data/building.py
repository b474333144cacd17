"""Builds TFDS datasets from their raw files through the Python API (no TensorFlow).

The library side of `python -m affect_jax.build`: notebooks, tests and the
paper reproduction call `build_dataset` directly.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tensorflow_datasets as tfds
from absl import logging

from affect_jax.data import provenance, sources
from data_builders.affwild2.streaming_writer import BUILD_REPORT_FILENAME


def _warn_about_stale_incomplete_folders(builder: tfds.core.DatasetBuilder) -> None:
    # A killed build leaves its incomplete.* folder behind. TFDS never reads
    # it and the next build uses a fresh one; it only wastes disk, and it may
    # belong to a build still running elsewhere, so it is reported, not deleted.
    version_parent = Path(builder.data_path).parent
    stale = sorted(version_parent.glob(f"incomplete.*_{builder.version}"))
    if stale:
        logging.warning(
            "Left over by interrupted builds (safe to delete if no build is running): %s",
            ", ".join(map(str, stale)),
        )


def build_dataset(
    name: str,
    manual_dir: str | Path,
    data_dir: str | Path,
    builder_options: Mapping[str, Any] | None = None,
) -> tfds.core.DatasetBuilder:
    """Builds `name` from the raw files in `manual_dir` unless already built.

    Args:
      name: "dataset/config" (optionally ":version"), e.g. "affwild2/va".
      manual_dir: the raw release (or a synthetic one in the same layout).
      data_dir: root of the TFDS data folders.
      builder_options: keyword arguments of the builder (e.g. face_folders'
        `class_map`, `subject_regex`).

    Returns:
      The prepared builder; read with `builder.as_data_source(split)`.
    """
    sources.register_builder(name)
    data_dir = Path(data_dir).expanduser()
    builder = tfds.builder(
        name, data_dir=str(data_dir), file_format="array_record", **dict(builder_options or {})
    )
    # A first build has no folder yet: not prepared (TFDS would warn that the
    # folder it was asked about has no dataset_info.json, not the user's to fix).
    if Path(builder.data_dir).exists() and builder.is_prepared():
        # Options that are not part of the folder name (face_folders' class
        # map, ...) must match the finished build, or it would be reused wrongly.
        check_options = getattr(builder, "check_prepared_options", None)
        if check_options is not None:
            check_options()
        logging.info("%s is already built in %s; reusing it.", name, builder.data_dir)
        if provenance.read_source(builder.data_dir) is None:  # Built before the record.
            provenance.write_source(builder.data_dir, manual_dir)
        return builder
    if Path(builder.data_dir).exists():
        # TFDS would "reuse" any existing version folder, even one without
        # dataset_info.json that it could never read.
        raise FileExistsError(
            f"{builder.data_dir} exists but is not a finished dataset (no "
            "dataset_info.json); delete it and build again."
        )
    _warn_about_stale_incomplete_folders(builder)
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(manual_dir=str(Path(manual_dir).expanduser()))
    )
    provenance.write_source(builder.data_dir, manual_dir)
    return builder


def read_build_report(builder: tfds.core.DatasetBuilder) -> dict | None:
    """Per-split counts saved by the build, or None if the builder writes none."""
    path = Path(builder.data_dir) / BUILD_REPORT_FILENAME
    return json.loads(path.read_text()) if path.exists() else None
