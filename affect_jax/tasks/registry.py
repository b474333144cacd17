"""One row per task (config.loss): its loss, head width, targets, metrics and figure.

The training loop, evaluation, the model registry and the input pipeline look a
task up here instead of branching on `config.loss`; adding a task is adding a row.
"""

import dataclasses
from collections.abc import Callable
from typing import Any

import jax.numpy as jnp
import ml_collections
import numpy as np

from affect_jax.runtime import ConfigError
from affect_jax.tasks import losses, metrics, multitask
from affect_jax.tasks.labels import VALENCE_AROUSAL

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
      output_names: one name per output column for a config (see
        `output_names` below): what each column of the head means.
      regresses_values: outputs are valence/arousal values only.
      loss_options: config -> keyword arguments of `loss` (the multitask
        weights); None: the loss takes none.
    """

    loss: Loss
    head_width: Callable[[ml_collections.ConfigDict], int]
    target_key: str
    metrics: Callable[[np.ndarray, np.ndarray, ml_collections.ConfigDict], dict[str, float]]
    figure: str
    output_names: Callable[[ml_collections.ConfigDict], tuple[str, ...]]
    regresses_values: bool = False
    loss_options: Callable[[ml_collections.ConfigDict], dict[str, Any]] | None = None


def _one_per_target(config: ml_collections.ConfigDict) -> int:
    return len(config.targets)


def _one_per_class(config: ml_collections.ConfigDict) -> int:
    return config.num_classes


def _regression_metrics(outputs, targets, config) -> dict[str, float]:
    targets = np.asarray(targets).reshape(outputs.shape)
    labelled = np.all(targets > losses.VA_ABSENT_BELOW, axis=-1)  # -5: no VA label.
    return metrics.regression_metrics(outputs[labelled], targets[labelled], tuple(config.targets))


def _classification_metrics(outputs, labels, config) -> dict[str, float]:
    del config
    labels = np.asarray(labels).reshape(-1)
    labelled = labels >= 0  # -1: no expression label (a multitask feature store).
    return metrics.classification_metrics(outputs[labelled], labels[labelled].astype(np.int64))


# Output column names, shared by every task that has the head part: the
# prediction side reads a run's columns from them (`output_names`).
EXPRESSION_PREFIX = "expression_"
AU_PREFIX = "au_"


def _class_names(config: ml_collections.ConfigDict) -> tuple[str, ...]:
    names = tuple(config.get("class_names", ()) or ())
    return names or tuple(str(i) for i in range(config.num_classes))


def _expression_columns(config: ml_collections.ConfigDict) -> tuple[str, ...]:
    return tuple(EXPRESSION_PREFIX + name for name in _class_names(config))


def _au_columns(config: ml_collections.ConfigDict) -> tuple[str, ...]:
    return tuple(AU_PREFIX + name for name in _class_names(config))


def _multitask_columns(config: ml_collections.ConfigDict) -> tuple[str, ...]:
    expressions = tuple(config.get("class_names", ()) or ())
    action_units = tuple(config.get("action_units", ()) or ())
    return (
        *VALENCE_AROUSAL,
        *(EXPRESSION_PREFIX + name for name in expressions),
        *(AU_PREFIX + name for name in action_units),
    )


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
    output_names=lambda config: tuple(config.targets),
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
        output_names=_expression_columns,
    ),
    # Action units: sigmoid per class, entries not annotated (< 0) skipped.
    "binary_cross_entropy": Task(
        loss=losses.masked_binary_cross_entropy,
        head_width=_one_per_class,
        target_key="targets",
        metrics=_multilabel_metrics,
        figure="label_scores",
        output_names=_au_columns,
    ),
    # VA + expression + AUs in one head, each task over the frames it labels.
    "multitask": Task(
        loss=multitask.joint_loss,
        head_width=lambda config: multitask.NUM_OUTPUTS,
        target_key="targets",
        metrics=_multitask_metrics,
        figure="multitask",
        output_names=_multitask_columns,
        loss_options=lambda config: {"weights": multitask.task_weights(config)},
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


def output_names(config: ml_collections.ConfigDict) -> tuple[str, ...]:
    """One name per output column of `config`'s head (frame CNN or RNN alike).

    "valence" and "arousal" are values in [-1, 1]; "expression_<class>" are
    softmax logits over the expression columns; "au_<AU>" are sigmoid logits
    (AU active when the sigmoid passes the run's threshold, see
    tasks/thresholds.py). A multitask head is 2 + 8 + 13 columns in that order.
    """
    return get_task(config.get("loss", "ccc")).output_names(config)


def task_columns(names: tuple[str, ...]) -> dict[str, list[int]]:
    """{"va" | "expression" | "au": the columns of `output_names` that task owns}.

    A task the head lacks is absent; "va" lists the valence and/or arousal columns.
    """
    found: dict[str, list[int]] = {}
    for column, name in enumerate(names):
        if name in VALENCE_AROUSAL:
            found.setdefault("va", []).append(column)
        elif name.startswith(EXPRESSION_PREFIX):
            found.setdefault("expression", []).append(column)
        elif name.startswith(AU_PREFIX):
            found.setdefault("au", []).append(column)
    return found
