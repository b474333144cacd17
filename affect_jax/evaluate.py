"""Whole-split evaluation: predictions for every example, then metrics.

Metrics are computed once over all predictions of the split (CCC of the whole
set, never a mean of per-batch values).
"""

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from jax.sharding import Mesh

from affect_jax import metrics, multitask, sharding, steps
from affect_jax.data import pipeline


def make_eval_step(mesh: Mesh) -> Callable:
    """`step(state, batch) -> batch with 'outputs' added`, all replicated.

    Returning labels and mask replicated lets every process assemble the whole
    split, whatever rows it loaded itself.
    """

    def step(state, batch):
        outputs = state.apply_fn(
            {"params": state.params, "batch_stats": state.batch_stats},
            batch["inputs"],
            train=False,
        )
        result = {key: value for key, value in batch.items() if key != "inputs"}
        result["outputs"] = outputs
        return result

    return jax.jit(
        step,
        in_shardings=(sharding.replicated(mesh), sharding.batch_sharded(mesh)),
        out_shardings=sharding.replicated(mesh),
    )


def predict_split(
    state: Any,
    eval_step: Callable,
    source: Any,
    transform: Any,
    config: ml_collections.ConfigDict,
    mesh: Mesh,
) -> dict[str, np.ndarray]:
    """Runs the model over every example of `source`; returns host arrays."""
    per_process = sharding.per_process_batch_size(config.eval_batch_size, "eval_batch_size")
    collected: dict[str, list[np.ndarray]] = {}
    for local_batch in pipeline.evaluation_batches(source, transform, config, per_process):
        result = jax.device_get(eval_step(state, sharding.to_global_batch(local_batch, mesh)))
        keep = result.pop("mask") > 0
        for key, value in result.items():
            collected.setdefault(key, []).append(value[keep])
    return {key: np.concatenate(parts) for key, parts in collected.items()}


def split_metrics(
    predictions: dict[str, np.ndarray], config: ml_collections.ConfigDict
) -> dict[str, float]:
    """Whole-set metrics plus `loss`, the training loss over the whole split."""
    # Per-frame outputs of sequence models ([N, W, D]) count frame by frame.
    outputs = predictions["outputs"].reshape(-1, predictions["outputs"].shape[-1])
    if config.loss == "cross_entropy":
        target = predictions["label"].reshape(-1)
        result = metrics.classification_metrics(outputs, target)
    elif config.loss == "binary_cross_entropy":
        target = predictions["targets"].reshape(outputs.shape)
        result = metrics.multilabel_metrics(outputs, target, tuple(config.class_names))
    elif config.loss == "multitask":
        target = predictions["targets"].reshape(len(outputs), -1)
        result = multitask.joint_metrics(outputs, target, tuple(config.action_units))
    else:
        target = predictions["targets"].reshape(outputs.shape)
        result = metrics.regression_metrics(outputs, target, tuple(config.targets))
    result["loss"] = float(
        steps.flat_loss(config)(jnp.asarray(outputs, jnp.float32), jnp.asarray(target))
    )
    return result
