"""Grain pipelines: per-process shard -> (sampling) -> shuffle -> batch.

Training iterators are infinite, reshuffled every epoch, and checkpointable
(their state goes into the Orbax checkpoint). Evaluation reads every example of
its shard exactly once, in order, with no sampling and no augmentation.
"""

import dataclasses
from collections.abc import Iterator, Sequence
from typing import Any

import grain
import jax
import ml_collections
import numpy as np


@dataclasses.dataclass(frozen=True)
class ToModelInputs(grain.transforms.Map):
    """Record -> model example: uint8 image, float32 targets, int label.

    Pixels stay uint8 until they reach the device (4x less to copy); the step
    divides by 255.
    """

    targets: Sequence[str] = ()
    label_key: str | None = None

    def map(self, record: dict[str, Any]) -> dict[str, np.ndarray]:
        example = {
            "image": np.asarray(record["image"], np.uint8),
            "frame": np.asarray(record.get("frame", -1), np.int32),
        }
        if self.targets:
            example["targets"] = np.asarray([record[name] for name in self.targets], np.float32)
        if self.label_key:
            example["label"] = np.asarray(record[self.label_key], np.int32)
        return example


def to_model_inputs(config: ml_collections.ConfigDict) -> ToModelInputs:
    if config.loss == "cross_entropy":
        return ToModelInputs(label_key=config.label_key)
    return ToModelInputs(targets=tuple(config.targets))


def process_shard(dataset: grain.MapDataset) -> grain.MapDataset:
    """This process's rows: every process_count-th record from process_index."""
    return dataset[jax.process_index() :: jax.process_count()]


def training_iterator(
    source: Any, config: ml_collections.ConfigDict, per_process_batch: int
) -> grain.DatasetIterator:
    """Infinite, shuffled, batched training iterator over this process's shard."""
    dataset = process_shard(grain.MapDataset.source(source))
    # Seam for the loader issue: VA-bin / class-balanced sampling selects the
    # record indices here, augmentation is a random_map after to_model_inputs.
    dataset = (
        dataset.shuffle(seed=config.seed)
        .repeat(None)
        .map(to_model_inputs(config))
        .batch(per_process_batch, drop_remainder=True)
    )
    iter_dataset = dataset.to_iter_dataset(
        grain.ReadOptions(
            num_threads=config.input.read_threads,
            prefetch_buffer_size=config.input.prefetch,
        )
    )
    if config.input.num_workers > 0:
        iter_dataset = iter_dataset.mp_prefetch(
            grain.MultiprocessingOptions(num_workers=config.input.num_workers)
        )
    return iter(iter_dataset)


def evaluation_batches(
    source: Any, config: ml_collections.ConfigDict, per_process_batch: int
) -> Iterator[dict[str, np.ndarray]]:
    """Every example of this process's shard once, in fixed-size padded batches.

    Every process yields the same number of batches (so the compiled step runs
    in lockstep across hosts); rows past the end of a shard are zero padding with
    `mask` 0. Fixed shapes also mean one compilation.
    """
    if len(source) == 0:
        raise ValueError("The evaluation split is empty: nothing to evaluate.")
    transform = to_model_inputs(config)
    dataset = process_shard(grain.MapDataset.source(source))
    largest_shard = -(-len(source) // jax.process_count())
    num_batches = -(-largest_shard // per_process_batch)
    batches = iter(
        dataset.map(transform)
        .batch(per_process_batch, drop_remainder=False)
        .to_iter_dataset(
            grain.ReadOptions(
                num_threads=config.input.read_threads,
                prefetch_buffer_size=config.input.prefetch,
            )
        )
    )
    # An exhausted shard still joins every step, with an all-padding batch.
    empty = {
        key: value[:0]
        for key, value in grain.MapDataset.source(source).map(transform).batch(1)[0].items()
    }
    for _ in range(num_batches):
        yield pad_batch(next(batches, empty), per_process_batch)


def pad_batch(batch: dict[str, np.ndarray], size: int) -> dict[str, np.ndarray]:
    """Pads `batch` to `size` rows with zeros and adds a 0/1 `mask`."""
    rows = len(batch["image"])
    padded = {}
    for key, value in batch.items():
        pad = np.zeros((size - rows, *value.shape[1:]), value.dtype)
        padded[key] = np.concatenate([value, pad]) if rows < size else value
    padded["mask"] = (np.arange(size) < rows).astype(np.float32)
    return padded
