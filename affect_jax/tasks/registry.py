"""One row per task (config.loss): its loss, head width, targets, metrics and figure.

The training loop, evaluation, the model registry and the input pipeline look a
task up here instead of branching on `config.loss`; adding a task is adding a row.
"""

import dataclasses
from collections.abc import Callable

import jax.numpy as jnp
import ml_collections
import numpy as np

from affect_jax.runtime import ConfigError
from affect_jax.tasks import losses, metrics, multitask

Loss = Callable[[jnp.ndarray, jnp.ndarray], jnp.ndarray]


@dataclasses.dataclass(frozen=True)
class Task:
    """What a `config.loss` name means everywhere.

    Attributes:
      loss: (outputs [N, K], targets) -> scalar.
      head_width: the model's number of outputs for a config.
      target_key: the batch field the loss compares with: "targets" (float
        [N, D]) or "label" (int [N]).
      metrics: (outputs [N, K], targets, config) -> whole-set metrics.
      figure: the validation figure a run draws (stages/outputs.py):
        "scatter", "confusion", "label_scores" or "multitask".
      regresses_values: outputs are valence/arousal values (the extract stage,
        the RNN stage and prediction need such a CNN).
    """

    loss: Loss
    head_width: Callable[[ml_collections.ConfigDict], int]
    target_key: str
    metrics: Callable[[np.ndarray, np.ndarray, ml_collections.ConfigDict], dict[str, float]]
    figure: str
    regresses_values: bool = False


def _one_per_target(config: ml_collections.ConfigDict) -> int:
    return len(config.targets)


def _one_per_class(config: ml_collections.ConfigDict) -> int:
    return config.num_classes


def _regression_metrics(outputs, targets, config) -> dict[str, float]:
    return metrics.regression_metrics(
        outputs, targets.reshape(outputs.shape), tuple(config.targets)
    )


def _classification_metrics(outputs, labels, config) -> dict[str, float]:
    del config
    return metrics.classification_metrics(outputs, labels.reshape(-1))


def _multilabel_metrics(outputs, targets, config) -> dict[str, float]:
    return metrics.multilabel_metrics(
        outputs, targets.reshape(outputs.shape), tuple(config.class_names)
    )


def _multitask_metrics(outputs, targets, config) -> dict[str, float]:
    return multitask.joint_metrics(
        outputs, targets.reshape(len(outputs), -1), tuple(config.action_units)
    )


_REGRESSION = dict(
    head_width=_one_per_target,
    target_key="targets",
    metrics=_regression_metrics,
    figure="scatter",
    regresses_values=True,
)
TASKS: dict[str, Task] = {
    "ccc": Task(loss=losses.ccc_loss, **_REGRESSION),
    "mse": Task(loss=losses.mse_loss, **_REGRESSION),
    "cross_entropy": Task(
        loss=losses.cross_entropy_loss,
        head_width=_one_per_class,
        target_key="label",
        metrics=_classification_metrics,
        figure="confusion",
    ),
    # Action units: sigmoid per class, entries not annotated (< 0) skipped.
    "binary_cross_entropy": Task(
        loss=losses.masked_binary_cross_entropy,
        head_width=_one_per_class,
        target_key="targets",
        metrics=_multilabel_metrics,
        figure="label_scores",
    ),
    # VA + expression + AUs in one head, each task over the frames it labels.
    "multitask": Task(
        loss=multitask.joint_loss,
        head_width=lambda config: multitask.NUM_OUTPUTS,
        target_key="targets",
        metrics=_multitask_metrics,
        figure="multitask",
    ),
}


def get_task(name: str) -> Task:
    """The task of `config.loss == name`."""
    if name not in TASKS:
        raise ConfigError(f"Unknown loss {name!r} (config key `loss`); valid: {', '.join(TASKS)}.")
    return TASKS[name]


def get_loss(name: str) -> Loss:
    """The loss function of `config.loss == name`."""
    return get_task(name).loss
