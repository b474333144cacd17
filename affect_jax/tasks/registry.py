"""One row per task (config.task): its loss, head width, targets, metrics, outputs and figure.

A stage looks its task up once (`get_task(config)`) and passes the row down:
the training loop, evaluation, the model registry and the input pipeline ask it
instead of branching on the name; adding a task is adding a row.
"""

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

import jax.numpy as jnp
import ml_collections
import numpy as np

from affect_jax.runtime import ConfigError
from affect_jax.tasks import losses, metrics, multitask
from affect_jax.tasks.columns import AU_PREFIX, EXPRESSION_PREFIX, probabilities
from affect_jax.tasks.labels import VALENCE_AROUSAL

Loss = Callable[[jnp.ndarray, jnp.ndarray], jnp.ndarray]


@dataclasses.dataclass(frozen=True)
class Task:
    """What a `config.task` name means everywhere.

    Attributes:
      name: the row's key in TASKS.
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
      class_weighted_loss: (logits, labels, class weights [C]) -> scalar, the
        loss `config.class_balance=loss_weights` trains with; None: the task
        cannot weigh classes.
    """

    name: str
    loss: Loss
    head_width: Callable[[ml_collections.ConfigDict], int]
    target_key: str
    metrics: Callable[[np.ndarray, np.ndarray, ml_collections.ConfigDict], dict[str, float]]
    figure: str
    output_names: Callable[[ml_collections.ConfigDict], tuple[str, ...]]
    regresses_values: bool = False
    loss_options: Callable[[ml_collections.ConfigDict], dict[str, Any]] | None = None
    class_weighted_loss: Callable[..., jnp.ndarray] | None = None

    @property
    def classifies(self) -> bool:
        """One integer class per example (batch field "label"), scored by its argmax."""
        return self.target_key == "label"

    def targets_of(self, batch: dict[str, Any]) -> Any:
        """The batch field the loss and metrics compare the outputs with."""
        return batch[self.target_key]

    def training_loss(self, config: ml_collections.ConfigDict, class_weights: Any = None) -> Loss:
        """The task's loss over all outputs, whatever their leading axes.

        A sequence model that predicts every frame of a window gives [B, W, K]
        outputs; CCC is over all B * W frames at once. With `class_weights`
        ([C]) it is the row's class-weighted loss.
        """
        loss_fn = self.loss
        if self.loss_options is not None:  # E.g. the multitask weights of the config.
            loss_fn = functools.partial(self.loss, **self.loss_options(config))
        if class_weights is not None:
            if self.class_weighted_loss is None:
                raise ConfigError(
                    f"Task {self.name!r} has no class-weighted loss: set "
                    "config.class_balance='none'."
                )
            loss_fn = functools.partial(
                self.class_weighted_loss, weights=jnp.asarray(class_weights, jnp.float32)
            )

        def flat_loss(outputs: jnp.ndarray, targets: jnp.ndarray) -> jnp.ndarray:
            flat_outputs = outputs.reshape(-1, outputs.shape[-1])
            if self.classifies:
                return loss_fn(flat_outputs, targets.reshape(-1))
            return loss_fn(flat_outputs, targets.reshape(-1, targets.shape[-1]))

        return flat_loss

    def probabilities(self, outputs: np.ndarray, config: ml_collections.ConfigDict) -> np.ndarray:
        """Outputs [N, K] with expression logits as softmax and AU logits as sigmoid."""
        return probabilities(outputs, self.output_names(config))


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
    # Valence/arousal regression (the paper's): 1 - mean CCC, or mean squared error.
    "va": Task(name="va", loss=losses.ccc_loss, **_REGRESSION),
    "va_mse": Task(name="va_mse", loss=losses.mse_loss, **_REGRESSION),
    # One expression class per frame (CK+, JAFFE, Aff-Wild2 EXPR): softmax.
    "expr": Task(
        name="expr",
        loss=losses.cross_entropy_loss,
        class_weighted_loss=losses.class_weighted_cross_entropy,
        head_width=_one_per_class,
        target_key="label",
        metrics=_classification_metrics,
        figure="confusion",
        output_names=_expression_columns,
    ),
    # Action units: sigmoid per class, entries not annotated (< 0) skipped.
    "au": Task(
        name="au",
        loss=losses.masked_binary_cross_entropy,
        head_width=_one_per_class,
        target_key="targets",
        metrics=_multilabel_metrics,
        figure="label_scores",
        output_names=_au_columns,
    ),
    # VA + expression + AUs in one head, each task over the frames it labels.
    "multitask": Task(
        name="multitask",
        loss=multitask.joint_loss,
        head_width=lambda config: multitask.NUM_OUTPUTS,
        target_key="targets",
        metrics=_multitask_metrics,
        figure="multitask",
        output_names=_multitask_columns,
        loss_options=lambda config: {"weights": multitask.task_weights(config)},
    ),
}


# The names the key had when it was `config.loss`: configs, command lines
# (`--config.loss=mse`) and runs written with them keep working.
LOSS_NAMES = {
    "ccc": "va",
    "mse": "va_mse",
    "cross_entropy": "expr",
    "binary_cross_entropy": "au",
}


def task_name(config_or_name: ml_collections.ConfigDict | str) -> str:
    """The TASKS key a config (its `task`, or the older `loss`) or a name means."""
    if isinstance(config_or_name, str):
        name = config_or_name
    else:  # Configs older than the `task` key name it `loss`; older still, neither (VA).
        name = config_or_name.get("task", config_or_name.get("loss", "va"))
    return LOSS_NAMES.get(name, name)


def get_task(config_or_name: ml_collections.ConfigDict | str) -> Task:
    """The task row of a config (its `task` or `loss` key) or of a name."""
    name = task_name(config_or_name)
    if name not in TASKS:
        raise ConfigError(
            f"Unknown task {name!r} (config key `task`); valid: {', '.join(TASKS)} "
            f"(older names: {', '.join(LOSS_NAMES)})."
        )
    return TASKS[name]


def output_names(config: ml_collections.ConfigDict) -> tuple[str, ...]:
    """One name per output column of `config`'s head (frame CNN or RNN alike).

    "valence" and "arousal" are values in [-1, 1]; "expression_<class>" are
    softmax logits over the expression columns; "au_<AU>" are sigmoid logits
    (AU active when the sigmoid passes the run's threshold, see
    tasks/thresholds.py). A multitask head is 2 + 8 + 13 columns in that order.
    """
    return get_task(config).output_names(config)
