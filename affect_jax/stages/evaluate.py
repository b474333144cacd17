"""Whole-split evaluation: predictions for every example, then metrics.

Metrics are computed once over all predictions of the split (CCC of the whole
set, never a mean of per-batch values). Also the final model on another
dataset's split (cross-dataset, CK+ -> JAFFE).
"""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from jax.sharding import Mesh

from affect_jax.data import pipeline, sources
from affect_jax.plots.training import confusion_matrices
from affect_jax.stages.inputs import StageInputs
from affect_jax.tasks import registry
from affect_jax.training import sharding, steps


def predict_split(
    state: Any,
    predict_step: Callable,
    source: Any,
    transform: Any,
    config: ml_collections.ConfigDict,
    mesh: Mesh,
) -> dict[str, np.ndarray]:
    """Runs the model over every example of `source`; returns host arrays."""
    per_process = sharding.per_process_batch_size(config.eval_batch_size, "eval_batch_size")
    collected: dict[str, list[np.ndarray]] = {}
    for local_batch in pipeline.evaluation_batches(source, transform, config, per_process):
        result = jax.device_get(predict_step(state, sharding.to_global_batch(local_batch, mesh)))
        keep = result.pop("mask") > 0
        for key, value in result.items():
            collected.setdefault(key, []).append(value[keep])
    return {key: np.concatenate(parts) for key, parts in collected.items()}


def split_metrics(
    predictions: dict[str, np.ndarray], config: ml_collections.ConfigDict
) -> dict[str, float]:
    """Whole-set metrics plus `loss`, the training loss over the whole split."""
    task = registry.get_task(config.loss)
    # Per-frame outputs of sequence models ([N, W, D]) count frame by frame.
    outputs = predictions["outputs"].reshape(-1, predictions["outputs"].shape[-1])
    targets = predictions[task.target_key]
    result = task.metrics(outputs, targets, config)
    result["loss"] = float(
        steps.flat_loss(config)(jnp.asarray(outputs, jnp.float32), jnp.asarray(targets))
    )
    return result


def run_validation(
    state: Any, predict_step, inputs: StageInputs, config: ml_collections.ConfigDict, mesh
) -> tuple[dict, dict]:
    """Metrics and predictions of the whole evaluation split."""
    predictions = predict_split(
        state, predict_step, inputs.evaluation, inputs.transform, config, mesh
    )
    return split_metrics(predictions, config), predictions


def cross_dataset(
    state: Any,
    predict_step,
    inputs: StageInputs,
    config: ml_collections.ConfigDict,
    mesh,
    workdir: Path,
) -> dict[str, float]:
    """The final model on another dataset's split (CK+ -> JAFFE), `<name>_` keys."""
    other = config.cross_dataset
    source = sources.open_split(other.name, other.data_dir or config.dataset.data_dir, other.split)
    predictions = predict_split(state, predict_step, source, inputs.transform, config, mesh)
    prefix = other.name.split("/")[0]
    result = split_metrics(predictions, config)
    if jax.process_index() == 0:
        confusion_matrices(
            predictions["label"],
            predictions["outputs"].argmax(-1),
            config.num_classes,
            workdir / "plots" / f"confusion_{prefix}.png",
            title=f"{other.name} {other.split}",
            class_names=tuple(config.get("class_names", ())),
        )
    return {f"{prefix}_{key}": value for key, value in result.items()}
