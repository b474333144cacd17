"""Writes a builder's splits to ArrayRecord shards as the examples arrive.

Why not TFDS's own writer: it collects every serialized example of a split
before writing (in memory up to 1 GB, then in temporary bucket files that it
writes with `tf.io.gfile`, so without TensorFlow a split over 1 GB fails), and
sorts them by key. Aff-Wild2's training split is ~13 GB of PNG frames, and its
examples already arrive in the order we want to keep (video, frame). This
writer streams them to shards in arrival order with bounded memory, and
returns the same `SplitInfo`s TFDS would, so reading is unchanged.

Everything is written inside the builder's `incomplete.*` folder, which TFDS
renames only after all splits succeed.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import tensorflow_datasets as tfds
from absl import logging
from array_record.python import array_record_module
from tensorflow_datasets.core import example_serializer

from data_builders import example_encoder
from data_builders.errors import RawDataError

# Shards of about this size: few files, yet small enough to copy around.
SHARD_BYTES = 256 << 20
# TFDS's own setting: every record is its own chunk, for fast random access;
# zstd level 1 writes twice as fast as the default 3, for the same size here.
_WRITER_OPTIONS = "group_size:1,zstd:1"


def _write_split(
    builder: tfds.core.GeneratorBasedBuilder,
    split: str,
    examples: Iterable[tuple[Any, dict]],
    shard_bytes: int,
) -> tfds.core.SplitInfo:
    features = builder.info.features
    serializer = example_serializer.ExampleSerializer(features.get_serialized_info())
    encode = example_encoder.example_encoder(features) or (
        lambda example: serializer.serialize_example(features.encode_example(example))
    )
    # Private in TFDS, but the one place that knows the shard naming scheme.
    template = builder._get_filename_template(split_name=split)  # pylint: disable=protected-access
    temporary = []  # Final names need the shard count, known only at the end.
    shard_lengths: list[int] = []
    total_bytes = shard_size = 0
    writer = None
    for _, example in examples:
        try:
            record = encode(example)
        except Exception as error:
            raise RawDataError(
                f"Cannot encode an example of split {split!r}: "
                f"{ {k: v for k, v in example.items() if k != 'image'} }"
            ) from error
        if writer is None or shard_size >= shard_bytes:
            if writer is not None:
                writer.close()
            temporary.append(Path(template.data_dir) / f"{split}.streaming-{len(temporary)}")
            writer = array_record_module.ArrayRecordWriter(str(temporary[-1]), _WRITER_OPTIONS)
            shard_lengths.append(0)
            shard_size = 0
        writer.write(record)
        shard_lengths[-1] += 1
        shard_size += len(record)
        total_bytes += len(record)
    if writer is None:
        raise RawDataError(
            f"No examples were generated for split {split!r}: check that the "
            "manual dir holds both images and annotations for it."
        )
    writer.close()
    for index, path in enumerate(temporary):
        path.rename(template.sharded_filepath(shard_index=index, num_shards=len(temporary)))
    logging.info(
        "Wrote %s: %d examples in %d shards, %.1f MB",
        split,
        sum(shard_lengths),
        len(shard_lengths),
        total_bytes / 1e6,
    )
    return tfds.core.SplitInfo(
        name=split, shard_lengths=shard_lengths, num_bytes=total_bytes, filename_template=template
    )


def write_splits(
    builder: tfds.core.GeneratorBasedBuilder,
    split_generators: Mapping[str, Iterable[tuple[Any, dict]]],
    *,
    max_examples_per_split: int | None = None,
    shard_bytes: int | None = None,
) -> list[tfds.core.SplitInfo]:
    """Writes each split's (key, example) stream, in order, as ArrayRecord shards.

    Args:
      builder: the builder being prepared (its `data_dir` is the incomplete
        folder at this point).
      split_generators: {split name: iterable of (key, example dict)}; keys
        are ignored, the iteration order is the record order.
      max_examples_per_split: stop each split after this many (for tests).
      shard_bytes: start a new shard after this many serialized bytes;
        default `SHARD_BYTES`.

    Returns:
      One `tfds.core.SplitInfo` per split, for `builder.info.set_splits`.
    """
    infos = []
    for split, examples in split_generators.items():
        if max_examples_per_split is not None:
            examples = itertools.islice(examples, max_examples_per_split)
        infos.append(_write_split(builder, split, examples, shard_bytes or SHARD_BYTES))
    return infos


BUILD_REPORT_FILENAME = "build_report.json"


class StreamingBuilderMixin:
    """For a GeneratorBasedBuilder: streamed ArrayRecord splits and a build report.

    The builder keeps `self._reports` (split -> JSON-able report) while its
    generators run; the report file is written inside TFDS's `incomplete.*`
    folder, so it appears atomically with the finished dataset, never beside a
    partial one.
    """

    _reports: dict[str, Any]

    def _generate_splits(self, dl_manager, download_config):
        if self.info.file_format == tfds.core.FileFormat.ARRAY_RECORD:
            # TFDS's own writer holds up to 1 GB in memory and then needs
            # TensorFlow to spill to disk; ours streams straight to shards.
            return write_splits(
                self,
                self._split_generators(dl_manager),
                max_examples_per_split=download_config.max_examples_per_split,
            )
        return super()._generate_splits(dl_manager, download_config)

    def _download_and_prepare(self, dl_manager, download_config):
        super()._download_and_prepare(dl_manager, download_config)
        reports = {split: self._report_json(report) for split, report in self._reports.items()}
        path = Path(self.data_dir) / BUILD_REPORT_FILENAME
        path.write_text(json.dumps(reports, indent=1))

    def _report_json(self, report: Any) -> Any:
        """One split's report as JSON-able data; override for report objects."""
        return report
