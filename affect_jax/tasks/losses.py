"""Training losses. Every loss maps (predictions, targets) to a scalar.

Which task (config.task) uses which of them: tasks/registry.py.
"""

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


# Valid valence/arousal lie in [-1, 1]; Aff-Wild2 marks an unlabelled frame -5.
VA_ABSENT_BELOW = -1.5


def ccc_loss(predictions: jnp.ndarray, targets: jnp.ndarray) -> jnp.ndarray:
    """1 - mean CCC over the regressed dimensions (e.g. valence and arousal).

    Rows whose targets hold the -5 sentinel (a feature store of multitask
    records has frames with an expression or AU label only) count for nothing;
    where every row is labelled this is the plain CCC, bit for bit.
    """
    rows = jnp.all(targets > VA_ABSENT_BELOW, axis=-1).astype(predictions.dtype)
    return 1.0 - concordance_correlation(predictions, targets, rows=rows).mean()


def mse_loss(predictions: jnp.ndarray, targets: jnp.ndarray) -> jnp.ndarray:
    return jnp.mean((predictions - targets) ** 2)


def cross_entropy_loss(logits: jnp.ndarray, labels: jnp.ndarray) -> jnp.ndarray:
    """Softmax cross-entropy for integer class labels of shape [N].

    Labels < 0 (Aff-Wild2's -1: no expression label) count for nothing; with
    none of them it is the plain mean, bit for bit (the `where` picks it).
    """
    labelled = labels >= 0
    per_example = optax.softmax_cross_entropy_with_integer_labels(
        logits, jnp.where(labelled, labels, 0).astype(jnp.int32)
    )
    masked = jnp.sum(jnp.where(labelled, per_example, 0.0)) / jnp.maximum(labelled.sum(), 1)
    return jnp.where(jnp.all(labelled), per_example.mean(), masked)


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


def weighted_cross_entropy(
    logits: jnp.ndarray,
    labels: jnp.ndarray,
    weights: jnp.ndarray,
    mask: jnp.ndarray | None = None,
) -> jnp.ndarray:
    """Softmax cross-entropy, each example weighted by its class's weight.

    Normalised by the batch's total weight (PyTorch's CrossEntropyLoss(weight=)
    does the same), so a batch of one class gives that class's plain loss and
    equal weights give the unweighted mean.

    Args:
      logits: [N, C].
      labels: [N] integer classes.
      weights: [C], e.g. from `class_weights`.
      mask: optional [N] 0/1; padding rows (mask 0) count for nothing.

    Returns:
      The scalar loss; 0 for a batch whose total weight is 0.
    """
    labels = labels.astype(jnp.int32)
    per_example = optax.softmax_cross_entropy_with_integer_labels(logits, labels)
    example_weights = jnp.asarray(weights, logits.dtype)[labels]
    if mask is not None:
        example_weights = example_weights * mask
    total = example_weights.sum()
    return jnp.where(
        total > 0, (per_example * example_weights).sum() / jnp.maximum(total, 1e-12), 0.0
    )


def class_weighted_cross_entropy(
    logits: jnp.ndarray, labels: jnp.ndarray, weights: jnp.ndarray
) -> jnp.ndarray:
    """`weighted_cross_entropy` of [N] integer labels where labels < 0 (no
    expression label, e.g. a multitask feature store's frames) weigh nothing:
    the expression task's loss under `config.class_balance=loss_weights`."""
    return weighted_cross_entropy(
        logits, jnp.maximum(labels, 0), weights, mask=(labels >= 0).astype(logits.dtype)
    )
