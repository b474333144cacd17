"""Whole-split evaluation: predictions for every example, then metrics.

Metrics are computed once over all predictions of the split (CCC of the whole
set, never a mean of per-batch values). The final model on other datasets'
splits uses these too (cross_dataset.py).
"""

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from jax.sharding import Mesh

from affect_jax.data import pipeline
from affect_jax.stages.inputs import StageInputs
from affect_jax.tasks.registry import Task
from affect_jax.training import sharding


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
    predictions: dict[str, np.ndarray], config: ml_collections.ConfigDict, task: Task
) -> dict[str, float]:
    """Whole-set metrics plus `loss`, the training loss over the whole split."""
    # Per-frame outputs of sequence models ([N, W, D]) count frame by frame.
    outputs = predictions["outputs"].reshape(-1, predictions["outputs"].shape[-1])
    targets = task.targets_of(predictions)
    result = task.metrics(outputs, targets, config)
    result["loss"] = float(
        task.training_loss(config)(jnp.asarray(outputs, jnp.float32), jnp.asarray(targets))
    )
    return result


def run_validation(
    state: Any,
    predict_step,
    inputs: StageInputs,
    config: ml_collections.ConfigDict,
    task: Task,
    mesh,
) -> tuple[dict, dict]:
    """Metrics and predictions of the whole evaluation split."""
    predictions = predict_split(
        state, predict_step, inputs.evaluation, inputs.transform, config, mesh
    )
    return split_metrics(predictions, config, task), predictions
