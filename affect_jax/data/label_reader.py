"""Scalar label columns of a TFDS ArrayRecord split, read without decoding images.

Balancing and class weighting need every training label but none of the
pixels: parsing only the scalar features of each serialized record is ~14x
faster than `source[i]`, which decodes the PNG. Columns are cached per shard.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from absl import logging
from tensorflow_datasets.proto import tf_example_generated_pb2

# Bump when the cache layout changes: older caches are then recomputed.
_CACHE_VERSION = 1
_CACHE_FOLDER = "label_cache"
_READ_CHUNK = 8192  # Records in memory at once (~6 KB each with their PNG).


def _shard_fingerprint(shard: Path, names: Sequence[str]) -> str:
    # A rebuilt dataset rewrites its shards, so size and mtime change with it.
    stat = shard.stat()
    return json.dumps(
        {
            "version": _CACHE_VERSION,
            "shard": shard.name,
            "size": stat.st_size,
            "mtime_ns": stat.st_mtime_ns,
            "names": list(names),
        }
    )


def _parse_shard(shard: Path, dtypes: dict[str, np.dtype]) -> dict[str, np.ndarray]:
    """Scalar features of every record of one ArrayRecord shard, images untouched."""
    # Imported here: only this reader needs the C++ module.
    from array_record.python import array_record_module

    reader = array_record_module.ArrayRecordReader(str(shard))
    try:
        count = reader.num_records()
        columns = {name: np.empty(count, dtype) for name, dtype in dtypes.items()}
        for start in range(0, count, _READ_CHUNK):
            records = reader.read(start, min(count, start + _READ_CHUNK))
            for offset, record in enumerate(records):
                features = tf_example_generated_pb2.Example.FromString(record).features.feature
                for name, column in columns.items():
                    feature = features[name]
                    kind = feature.WhichOneof("kind")
                    if kind not in ("float_list", "int64_list"):
                        raise ValueError(
                            f"Record {start + offset} of {shard} has no scalar feature "
                            f"{name!r} (found {kind})."
                        )
                    column[start + offset] = getattr(feature, kind).value[0]
    finally:
        reader.close()
    return columns


def _shard_labels(shard: Path, dtypes: dict[str, np.dtype], use_cache: bool) -> dict:
    """One shard's label columns, from the cache beside it when still valid."""
    fingerprint = _shard_fingerprint(shard, list(dtypes))
    cache = shard.parent / _CACHE_FOLDER / f"{shard.name}.npz"
    if use_cache and cache.exists():
        try:
            with np.load(cache) as stored:
                if str(stored["fingerprint"]) == fingerprint:
                    return {name: stored[name] for name in dtypes}
        except (OSError, ValueError, KeyError) as error:  # A corrupt cache is rebuilt.
            logging.warning("Ignoring unreadable label cache %s: %s", cache, error)
    columns = _parse_shard(shard, dtypes)
    if use_cache:
        try:
            cache.parent.mkdir(exist_ok=True)
            # Written whole, then renamed: a reader never sees half a cache.
            with tempfile.NamedTemporaryFile(dir=cache.parent, suffix=".npz", delete=False) as f:
                np.savez(f, fingerprint=np.array(fingerprint), **columns)
            os.replace(f.name, cache)
        except OSError as error:  # A read-only dataset folder still works.
            logging.warning("Could not write the label cache %s: %s", cache, error)
    return columns


def read_labels(
    source: Any, names: Sequence[str] = ("valence", "arousal"), *, use_cache: bool = True
) -> dict[str, np.ndarray]:
    """Scalar label columns of a TFDS ArrayRecord data source, without its images.

    Reads the shards' records and parses only `names` from each (~10x faster
    than `source[i]`, which decodes the PNG). The columns of each shard are
    cached in `label_cache/` in the dataset folder, keyed by the shard's size
    and modification time, so a rebuilt dataset is read afresh.

    Args:
      source: from `builder.as_data_source(split)` (or `sources.open_split`).
      names: scalar features to read.
      use_cache: read and write the cache.

    Returns:
      name -> array, in the source's record order (source[i] <-> column[i]).
    """
    info, split = source.dataset_info, source.split
    dtypes = {name: np.dtype(info.features[name].np_dtype) for name in names}
    parts: dict[str, list[np.ndarray]] = {name: [np.empty(0, d)] for name, d in dtypes.items()}
    for instruction in info.splits[split].file_instructions:
        columns = _shard_labels(Path(instruction.filename), dtypes, use_cache)
        stop = instruction.skip + instruction.take  # TFDS has resolved take=-1 already.
        for name in names:
            parts[name].append(columns[name][instruction.skip : stop])
    return {name: np.concatenate(arrays) for name, arrays in parts.items()}
