"""Grain pipelines: per-process shard -> (sampling) -> shuffle -> batch.

A source is anything with `len` and random access (a TFDS ArrayRecord split, a
window view of the feature store). Training iterators are infinite, reshuffled
every epoch, and checkpointable (their state goes into the Orbax checkpoint).
Evaluation reads every example of its shard exactly once, in order, with no
sampling and no augmentation. Grain worker processes (`config.input.num_workers`)
end with the process that trains, however it ends.
"""

import dataclasses
import functools
import os
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

import grain
import jax
import ml_collections
import numpy as np

from affect_jax.data import augment as augment_lib
from affect_jax.faces import photometric as photometric_lib
from affect_jax.tasks.registry import Task


@dataclasses.dataclass(frozen=True)
class FrameToModelInputs(grain.transforms.Map):
    """TFDS frame record -> model example: uint8 `inputs`, float32 targets, int label.

    Pixels stay uint8 until they reach the device (4x less to copy); the model
    scales them. `map` is `normalise` then `to_example`; training augments
    between the two (ReadBlock).
    """

    targets: Sequence[str] = ()
    label_key: str | None = None
    photometric: str = photometric_lib.NONE  # config.input.photometric (faces/photometric.py).

    def normalise(self, record: dict[str, Any]) -> dict[str, Any]:
        """`record` with its face photometrically normalised (a new dict; "none": `record`)."""
        if self.photometric == photometric_lib.NONE:
            return record
        image = np.asarray(record["image"], np.uint8)
        return {**record, "image": photometric_lib.normalise_face(image, self.photometric)}

    def to_example(self, record: dict[str, Any]) -> dict[str, np.ndarray]:
        example = {
            "inputs": np.asarray(record["image"], np.uint8),
            "frame": np.asarray(record.get("frame", -1), np.int32),
        }
        if self.targets:  # Scalar fields (valence, arousal) or vectors (aus), flattened.
            parts = [np.ravel(record[name]) for name in self.targets]
            example["targets"] = np.concatenate(parts).astype(np.float32)
        if self.label_key:
            example["label"] = np.asarray(record[self.label_key], np.int32)
        return example

    def map(self, record: dict[str, Any]) -> dict[str, np.ndarray]:
        return self.to_example(self.normalise(record))


def frame_inputs(config: ml_collections.ConfigDict, task: Task) -> FrameToModelInputs:
    """The record transform for single-frame models of `config`, which trains `task`."""
    normalisation = photometric_lib.configured_method(config)
    if task.classifies:
        return FrameToModelInputs(label_key=config.label_key, photometric=normalisation)
    return FrameToModelInputs(targets=tuple(config.targets), photometric=normalisation)


def process_shard(dataset: grain.MapDataset) -> grain.MapDataset:
    """This process's share: every process_count-th element (record, or block of
    a batch) from process_index on."""
    return dataset[jax.process_index() :: jax.process_count()]


# How often a Grain worker checks that the process that started it is alive.
_TRAINER_POLL_S = 0.5


def exit_with_trainer(trainer_pid: int, worker_index: int, worker_count: int) -> None:
    """Grain worker initializer: the worker exits as soon as its trainer is gone.

    A trainer killed by SIGKILL (a preempted VM, an OOM kill, `kill -9`) runs no
    cleanup, and Grain's workers would live on, reparented to init, each holding
    its memory and the multiprocessing resource tracker (which exits once the
    last worker has). A daemon thread watches the parent pid instead of
    prctl(PR_SET_PDEATHSIG): that signal follows the parent *thread*, and Grain
    starts its workers from short-lived threads of a pool.

    Args:
      trainer_pid: the pid of the process that starts the workers.
      worker_index, worker_count: given by Grain's `mp_prefetch`; unused.
    """
    del worker_index, worker_count
    if os.getppid() != trainer_pid:  # Gone before this worker got here.
        os._exit(1)

    def watch() -> None:
        while os.getppid() == trainer_pid:
            time.sleep(_TRAINER_POLL_S)
        os._exit(1)  # From any thread: ends the process at once, no cleanup to hang in.

    threading.Thread(target=watch, name="exit_with_trainer", daemon=True).start()


def _read_options(config: ml_collections.ConfigDict) -> grain.ReadOptions:
    return grain.ReadOptions(
        num_threads=config.input.read_threads, prefetch_buffer_size=config.input.prefetch
    )


def _mapped(dataset: grain.MapDataset, transform: grain.transforms.Map | None):
    return dataset if transform is None else dataset.map(transform)


@dataclasses.dataclass(frozen=True)
class _Positioned(grain.transforms.MapWithIndex):
    """Record index -> (position in the training stream, record index)."""

    def map_with_index(self, position: int, index: int) -> tuple[int, int]:
        return position, index


@dataclasses.dataclass(frozen=True)
class ReadBlock(grain.transforms.Map):
    """A block of (stream position, record index) pairs -> its examples, stacked.

    Reads, normalises, augments and converts the block's records in one call:
    Grain's own per-element work (statistics, metrics, a random generator per
    record) cost more than reading a record did, so it runs once per block instead.
    """

    source: Any
    transform: FrameToModelInputs | None
    augment: Any  # augment.RandomAugment | None; `with_uniforms(element, uniforms)`.
    seed: int

    def map(self, block: tuple[np.ndarray, np.ndarray]) -> dict[str, np.ndarray]:
        positions, indices = block
        elements = [self.source[int(index)] for index in indices]
        if self.transform is not None:
            # Before augmentation: its brightness then varies the normalised face,
            # the one evaluation and prediction show the model.
            elements = [self.transform.normalise(element) for element in elements]
        if self.augment is not None:
            uniforms = augment_lib.row_uniforms(
                self.seed, positions, augment_lib.UNIFORMS_PER_TRANSFORM
            )
            elements = [
                self.augment.with_uniforms(e, u) for e, u in zip(elements, uniforms, strict=True)
            ]
        if self.transform is not None:
            elements = [self.transform.to_example(element) for element in elements]
        return {key: np.stack([e[key] for e in elements]) for key in elements[0]}


def training_blocks(
    source: Any,
    transform: FrameToModelInputs | None,
    seed: int,
    per_process_batch: int,
    augment: Any = None,
) -> grain.MapDataset:
    """This process's training blocks as a lazy MapDataset (see `training_iterator`)."""
    stream = grain.MapDataset.range(len(source)).shuffle(seed=seed).repeat(None)
    blocks = stream.map_with_index(_Positioned()).batch(per_process_batch, drop_remainder=True)
    # Lazy: each process reads and decodes only the blocks it takes.
    return process_shard(blocks).map(ReadBlock(source, transform, augment, seed + 1))


def training_iterator(
    source: Any,
    transform: FrameToModelInputs | None,
    config: ml_collections.ConfigDict,
    per_process_batch: int,
    augment: Any = None,
) -> grain.DatasetIterator:
    """Infinite, shuffled, batched training iterator over this process's rows.

    One global order for every process count: the whole set is shuffled (a new
    order every epoch), then cut into blocks of b = B / P rows, and process p
    takes blocks p, p + P, p + 2P, ... Global batch k (the P processes' blocks
    side by side) is therefore rows kB .. kB + B - 1 in that order on 1 host or
    on P hosts (each of which reads and decodes only its b), so a multi-host run
    trains on exactly what a single-host run with the same global batch would,
    row for row: augmentation (drawn from each row's position in the stream) and
    dropout masks (drawn per row of the global batch) fall on the same examples.

    `source` is already the sampled training set (e.g. a VA-balanced subset).
    `augment` (an `augment.RandomAugment`) gives a new transform every epoch,
    and the same ones again after a resume.
    """
    blocks = training_blocks(source, transform, config.seed, per_process_batch, augment)
    iter_dataset = blocks.to_iter_dataset(_read_options(config))
    if config.input.num_workers > 0:
        iter_dataset = iter_dataset.mp_prefetch(
            grain.MultiprocessingOptions(num_workers=config.input.num_workers),
            worker_init_fn=functools.partial(exit_with_trainer, os.getpid()),
        )
    return iter(iter_dataset)


def evaluation_batches(
    source: Any,
    transform: grain.transforms.Map | None,
    config: ml_collections.ConfigDict,
    per_process_batch: int,
) -> Iterator[dict[str, np.ndarray]]:
    """Every example of this process's shard once, in fixed-size padded batches.

    Every process yields the same number of batches (so the compiled step runs
    in lockstep across hosts); rows past the end of a shard are zero padding with
    `mask` 0. Fixed shapes also mean one compilation.
    """
    if len(source) == 0:
        raise ValueError("The evaluation split is empty: nothing to evaluate.")
    dataset = process_shard(grain.MapDataset.source(source))
    largest_shard = -(-len(source) // jax.process_count())
    num_batches = -(-largest_shard // per_process_batch)
    batches = iter(
        _mapped(dataset, transform)
        .batch(per_process_batch, drop_remainder=False)
        .to_iter_dataset(_read_options(config))
    )
    # An exhausted shard still joins every step, with an all-padding batch.
    first = _mapped(grain.MapDataset.source(source), transform).batch(1)[0]
    empty = {key: value[:0] for key, value in first.items()}
    for _ in range(num_batches):
        yield pad_batch(next(batches, empty), per_process_batch)


def pad_batch(batch: dict[str, np.ndarray], size: int) -> dict[str, np.ndarray]:
    """Pads `batch` to `size` rows with zeros and adds a 0/1 `mask`."""
    rows = len(batch["inputs"])
    padded = {}
    for key, value in batch.items():
        pad = np.zeros((size - rows, *value.shape[1:]), value.dtype)
        padded[key] = np.concatenate([value, pad]) if rows < size else value
    padded["mask"] = (np.arange(size) < rows).astype(np.float32)
    return padded
