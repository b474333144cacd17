"""One CNN for Aff-Wild2's three tasks at once: valence-arousal, expression, action units.

The paper's future work. A record of the `affwild2/multitask` build carries
whichever labels its frame has; the others hold the release's sentinels (-5
for valence and arousal, -1 for the expression and for AUs), so the flattened
targets say by themselves which task labels a frame. One head of
2 + 8 + 13 outputs; the loss is the sum of each task's own loss over the frames
(for AUs: the entries) that task labels, and each task's metrics are computed
over its labelled frames only.
"""

import jax.numpy as jnp
import numpy as np
import optax

from affect_jax.tasks import losses, metrics
from affect_jax.tasks.labels import AFFWILD2_ACTION_UNITS, AFFWILD2_EXPRESSIONS, VALENCE_AROUSAL

# Record fields in target order: 2 scalars, 1 class index, 13 AU slots.
TARGETS = (*VALENCE_AROUSAL, "expression", "aus")
NUM_EXPRESSIONS = len(AFFWILD2_EXPRESSIONS)
NUM_ACTION_UNITS = len(AFFWILD2_ACTION_UNITS)
NUM_OUTPUTS = 2 + NUM_EXPRESSIONS + NUM_ACTION_UNITS
_VA_ABSENT_BELOW = losses.VA_ABSENT_BELOW


def split_outputs(outputs):
    """[..., 23] -> (valence-arousal [..., 2], expression logits [..., 8], AU logits [..., 13])."""
    first_au = 2 + NUM_EXPRESSIONS
    return outputs[..., :2], outputs[..., 2:first_au], outputs[..., first_au:]


def split_targets(targets):
    """[..., 16] -> (valence-arousal [..., 2], expression [...], AUs [..., 13]), sentinels kept."""
    return targets[..., :2], targets[..., 2], targets[..., 3:]


def labelled_frames(targets):
    """(has valence-arousal, has expression): boolean [N] masks of [N, 16] targets.

    Numpy or JAX arrays alike. AU entries mark themselves (negative = absent).
    """
    va_targets, expression, _ = split_targets(targets)
    return va_targets[:, 0] > _VA_ABSENT_BELOW, expression >= 0


# config.task_weights keys, in head order; a config without them weighs each task 1.
TASK_NAMES = ("va", "expression", "au")


def task_weights(config) -> tuple[float, float, float]:
    """(va, expression, au) loss weights from `config.task_weights` (default 1 each)."""
    weights = config.get("task_weights") or {}
    unknown = set(weights) - set(TASK_NAMES)
    if unknown:
        raise ValueError(
            f"config.task_weights has {sorted(unknown)}; valid keys: {', '.join(TASK_NAMES)}."
        )
    return tuple(float(weights.get(name, 1.0)) for name in TASK_NAMES)


def joint_loss(
    outputs: jnp.ndarray,
    targets: jnp.ndarray,
    weights: tuple[float, float, float] = (1.0, 1.0, 1.0),
) -> jnp.ndarray:
    """(1 - mean CCC) over VA frames + cross-entropy over expression frames + masked AU BCE.

    A task with no labelled frame in the batch adds 0. `weights` scale the
    three terms (config.task_weights); 1/1/1 is the plain sum.
    """
    va, expression_logits, au_logits = split_outputs(outputs)
    va_targets, expression, aus = split_targets(targets)
    has_va, has_expression = labelled_frames(targets)
    va_ccc = losses.concordance_correlation(va, va_targets, rows=has_va.astype(jnp.float32))
    va_loss = jnp.where(has_va.sum() > 0, 1.0 - va_ccc.mean(), 0.0)
    cross_entropy = optax.softmax_cross_entropy_with_integer_labels(
        expression_logits, jnp.where(has_expression, expression, 0).astype(jnp.int32)
    )
    expression_loss = jnp.sum(jnp.where(has_expression, cross_entropy, 0.0)) / jnp.maximum(
        has_expression.sum(), 1
    )
    au_loss = losses.masked_binary_cross_entropy(au_logits, aus)
    va_weight, expression_weight, au_weight = weights
    return va_weight * va_loss + expression_weight * expression_loss + au_weight * au_loss


def joint_metrics(
    outputs: np.ndarray, targets: np.ndarray, action_units: tuple[str, ...]
) -> dict[str, float]:
    """Each task's whole-set metrics over the frames it labels, keys prefixed by task.

    Valence-arousal keep their usual names (ccc_valence, ..., ccc_mean); the
    others are `expression_` (accuracy, f1_macro, recall_i) and `au_` (f1_<AU>,
    f1_mean, accuracy).
    """
    va, expression_logits, au_logits = split_outputs(np.asarray(outputs))
    targets = np.asarray(targets)
    va_targets, expression, aus = split_targets(targets)
    has_va, has_expression = labelled_frames(targets)
    result = {}
    if has_va.any():
        result.update(metrics.regression_metrics(va[has_va], va_targets[has_va], VALENCE_AROUSAL))
    if has_expression.any():
        scores = metrics.classification_metrics(
            expression_logits[has_expression], expression[has_expression].astype(np.int64)
        )
        result.update({f"expression_{key}": value for key, value in scores.items()})
    if (aus >= 0).any():
        scores = metrics.multilabel_metrics(au_logits, aus, action_units)
        result.update({f"au_{key}": value for key, value in scores.items()})
    return result
