"""What a training stage reads: its train and evaluation sources and transform.

`train_cnn` reads frames from the TFDS records; `train_rnn` reads windows
over the feature store that the extract stage wrote.
"""

import dataclasses
from pathlib import Path
from typing import Any

import grain
import jax
import ml_collections
import numpy as np
from absl import logging

from affect_jax import stages
from affect_jax.data import (
    augment,
    class_balancing,
    label_reader,
    pipeline,
    provenance,
    sources,
    va_balancing,
    windows,
)
from affect_jax.data.feature_store import FeatureStore, label_columns
from affect_jax.plots.balancing import plot_histograms
from affect_jax.runtime import ConfigError
from affect_jax.tasks.registry import Task
from affect_jax.training import run


@dataclasses.dataclass
class StageInputs:
    train: Any
    evaluation: Any
    transform: grain.transforms.Map | None
    feature_dim: int  # An RNN's input width; 0 for the frame CNN.
    augment: grain.transforms.RandomMap | None = None  # Training records only.
    class_weights: np.ndarray | None = None  # For a class-weighted loss.
    # The RNN's evaluation feature store, opened once: its windows and the
    # per-video evaluation both read it.
    evaluation_store: FeatureStore | None = None
    # Where the training faces came from (data/provenance.py), for results.json.
    training_data: dict | None = None
    # An RNN's training feature store's complete.json (its CNN, the feature dtype).
    feature_store_info: dict | None = None


def window_source(
    store: FeatureStore, config: ml_collections.ConfigDict, task: Task
) -> windows.WindowSource:
    """Windows of `config.rnn` over a feature store, with their counts logged."""
    labels = np.asarray(store.labels)
    columns = label_columns(store.label_names, tuple(config.targets), store.directory)
    starts = windows.window_starts(
        store.video_ids, store.frames, config.rnn.window, config.rnn.stride, config.rnn.target
    )
    counts = windows.count_windows(store.video_ids, starts)
    logging.info(
        "%s: %d windows of %d frames from %d videos; %d videos give none (every gap-free run "
        "is shorter than the window)",
        store.directory.name,
        counts["windows"],
        config.rnn.window,
        counts["videos"],
        counts["videos_without_windows"],
    )
    return windows.WindowSource(
        store.features,
        labels[:, columns],
        starts,
        config.rnn.window,
        config.rnn.target,
        with_label=task.classifies,
    )


def window_class_weights(
    source: windows.WindowSource, config: ml_collections.ConfigDict, task: Task
) -> np.ndarray | None:
    """`config.class_balance` of an RNN: inverse-frequency weights of the windows' labels.

    Only `loss_weights` (a class-balanced epoch of windows is not offered):
    the labels are those the windows' outputs are scored on, unlabelled ones left out.
    """
    mode = config.get("class_balance", "none")
    if mode == "none":
        return None
    if mode != "loss_weights" or task.class_weighted_loss is None:
        raise ConfigError(
            f"config.class_balance={mode!r}: the RNN stage balances expression classes "
            "with 'loss_weights' only (task=expr), or 'none'."
        )
    labels = source.scored_labels()[:, 0]
    return class_balancing.class_weights(labels[labels >= 0].astype(np.int64), config.num_classes)


CLASS_BALANCE_MODES = ("none", "loss_weights", "sampling")


def _balance_classes(train: Any, config: ml_collections.ConfigDict) -> tuple[Any, Any]:
    """`config.class_balance`: weights for the loss, or a class-balanced epoch.

    CK+ is dominated by neutral and a few expressions; the paper shows that
    this skews the cross-dataset predictions on JAFFE.
    """
    mode = config.class_balance
    if mode not in CLASS_BALANCE_MODES:
        raise ConfigError(
            f"Unknown config.class_balance {mode!r}; valid: {', '.join(CLASS_BALANCE_MODES)}."
        )
    if mode == "none":
        return train, None
    labels = label_reader.read_labels(train, names=(config.label_key,))[config.label_key]
    if mode == "loss_weights":
        return train, class_balancing.class_weights(labels, config.num_classes)
    indices = class_balancing.balanced_sample_indices(
        labels, seed=config.seed, epoch_size=len(labels), num_classes=config.num_classes
    )
    return sources.SubsetSource(train, indices), None


def _frame_inputs(config: ml_collections.ConfigDict, task: Task, workdir: str) -> StageInputs:
    """TFDS records, one face each (the frame CNN)."""
    train = sources.open_split(
        config.dataset.name, config.dataset.data_dir, config.dataset.train_split
    )
    if config.balancing.enabled:
        train, result = va_balancing.balanced_training_source(train, config)
        if jax.process_index() == 0:
            va_balancing.write_summary(result, Path(workdir) / run.BALANCING_JSON)
            plot_histograms(result, Path(workdir) / run.BALANCING_PNG)
    weights = None
    if task.classifies:
        train, weights = _balance_classes(train, config)
    augment_records = None
    if config.augment.enabled:
        augment_records = augment.RandomAugment.from_config(config.augment, image_key="image")
    evaluation = sources.open_split(
        config.dataset.name, config.dataset.data_dir, config.dataset.eval_split
    )
    transform = pipeline.frame_inputs(config, task)
    built = sources.open_builder(config.dataset.name, config.dataset.data_dir).data_dir
    return StageInputs(
        train,
        evaluation,
        transform,
        0,
        augment_records,
        weights,
        training_data=provenance.training_data(config.dataset.name, built),
    )


def _window_inputs(config: ml_collections.ConfigDict, task: Task, workdir: str) -> StageInputs:
    """Windows of the feature store's CNN features (the RNN)."""
    del workdir  # No balancing report: windows are not resampled.
    root = Path(config.rnn.features_dir)
    train_store = FeatureStore(root / config.dataset.train_split)
    train = window_source(train_store, config, task)
    evaluation_store = FeatureStore(root / config.dataset.eval_split)
    evaluation = window_source(evaluation_store, config, task)
    for name, source in (("train", train), ("evaluation", evaluation)):
        if len(source) == 0:
            raise ConfigError(
                f"No {config.rnn.window}-frame windows in the {name} feature store under "
                f"{root}: every gap-free run is shorter. Lower config.rnn.window."
            )
    feature_dim = int(train[0]["inputs"].shape[-1])
    weights = window_class_weights(train, config, task)
    return StageInputs(
        train,
        evaluation,
        None,
        feature_dim,
        class_weights=weights,
        evaluation_store=evaluation_store,
        # The extraction copied its dataset's record into the store.
        training_data=train_store.metadata.get(provenance.TRAINING_DATA_KEY),
        feature_store_info=train_store.metadata,
    )


# A training stage's `reads` (stages.STAGES) -> what opens its sources.
_READERS = {"frames": _frame_inputs, "windows": _window_inputs}


def for_stage(config: ml_collections.ConfigDict, task: Task, workdir: str) -> StageInputs:
    """Sources of `config.stage`; balancing reports go into `workdir`."""
    stage = stages.stage_of(config)
    if not stage.trains:
        raise ConfigError(f"Stage {config.stage!r} does not train.")
    return _READERS[stage.reads](config, task, workdir)
