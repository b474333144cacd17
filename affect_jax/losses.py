"""Training losses. Every loss maps (predictions, targets) to a scalar."""

from collections.abc import Callable

import jax.numpy as jnp
import optax


def concordance_correlation(
    predictions: jnp.ndarray, targets: jnp.ndarray, rows: jnp.ndarray | None = None
) -> jnp.ndarray:
    """Lin's CCC per column of [N, D] inputs, with population statistics.

    CCC = 2 cov(x, y) / (var x + var y + (mean x - mean y)^2), over the rows
    where `rows` ([N], 0/1) is 1, or over all of them.
    """
    if rows is None:
        rows = jnp.ones(predictions.shape[0], predictions.dtype)
    count = jnp.maximum(rows.sum(), 1.0)
    weights = rows[:, None]

    def mean(values):
        return (weights * values).sum(0) / count

    pred_mean = mean(predictions)
    target_mean = mean(targets)
    pred_var = mean((predictions - pred_mean) ** 2)
    target_var = mean((targets - target_mean) ** 2)
    covariance = mean((predictions - pred_mean) * (targets - target_mean))
    # The epsilon only guards a constant batch; it is far below any real var.
    return 2.0 * covariance / (pred_var + target_var + (pred_mean - target_mean) ** 2 + 1e-8)


def ccc_loss(predictions: jnp.ndarray, targets: jnp.ndarray) -> jnp.ndarray:
    """1 - mean CCC over the regressed dimensions (e.g. valence and arousal)."""
    return 1.0 - concordance_correlation(predictions, targets).mean()


def mse_loss(predictions: jnp.ndarray, targets: jnp.ndarray) -> jnp.ndarray:
    return jnp.mean((predictions - targets) ** 2)


def cross_entropy_loss(logits: jnp.ndarray, labels: jnp.ndarray) -> jnp.ndarray:
    """Softmax cross-entropy for integer class labels of shape [N]."""
    return optax.softmax_cross_entropy_with_integer_labels(logits, labels.astype(jnp.int32)).mean()


def masked_binary_cross_entropy(logits: jnp.ndarray, targets: jnp.ndarray) -> jnp.ndarray:
    """Sigmoid cross-entropy of [N, D] multi-label logits: summed over labels, mean over frames.

    Targets are 1 (active), 0 (not) or negative (not annotated: Aff-Wild2's -1
    for an action unit its file does not list), which count for nothing. Summing
    over the labels gives each one the gradient it would get trained alone; a
    mean over all entries divides it by their number (13 AUs: the tiny CNN
    learned only the base rates in 300 steps, vs macro F1 ~0.5 summed).
    """
    labelled = targets >= 0
    per_entry = optax.sigmoid_binary_cross_entropy(logits, jnp.clip(targets, 0.0, 1.0))
    frames = jnp.any(labelled, axis=-1).sum()
    return jnp.sum(jnp.where(labelled, per_entry, 0.0)) / jnp.maximum(frames, 1)


def _multitask_loss(outputs: jnp.ndarray, targets: jnp.ndarray) -> jnp.ndarray:
    from affect_jax import multitask  # It builds on this module's losses.

    return multitask.joint_loss(outputs, targets)


LOSSES: dict[str, Callable[[jnp.ndarray, jnp.ndarray], jnp.ndarray]] = {
    "ccc": ccc_loss,
    "mse": mse_loss,
    "cross_entropy": cross_entropy_loss,
    "binary_cross_entropy": masked_binary_cross_entropy,
    "multitask": _multitask_loss,  # VA + expression + AUs, each masked (multitask.py).
}
# Losses whose head has one unit per class (config.num_classes), not per target.
CLASS_LOSSES = ("cross_entropy", "binary_cross_entropy")


def get_loss(name: str) -> Callable[[jnp.ndarray, jnp.ndarray], jnp.ndarray]:
    """Returns the loss called `name` (config key `loss`)."""
    if name not in LOSSES:
        raise ValueError(f"Unknown loss {name!r} (config key `loss`); valid: {', '.join(LOSSES)}.")
    return LOSSES[name]
