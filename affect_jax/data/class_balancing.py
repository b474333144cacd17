"""Class balancing for classification (CK+): loss weights, or balanced sampling.

Two alternatives for an imbalanced training split (CK+ has four times as many
neutral images as fear ones): weight the cross-entropy by inverse class
frequency (`class_weights` here, `tasks.losses.weighted_cross_entropy`), or draw epochs in which
every present class appears equally often (`balanced_sample_indices`). Both
read only the integer labels of the training split.
"""

from __future__ import annotations

import numpy as np


def _checked_labels(labels: np.ndarray, num_classes: int) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim != 1 or len(labels) == 0:
        raise ValueError(f"Expected a non-empty 1-D array of labels; got shape {labels.shape}.")
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"Labels must be integers; got {labels.dtype}.")
    bad = (labels < 0) | (labels >= num_classes)
    if bad.any():
        raise ValueError(
            f"{bad.sum()} labels lie outside [0, {num_classes}) (first: {labels[bad][0]})."
        )
    return labels


def class_weights(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """Inverse-frequency weight per class, with mean 1 over the classes present.

    A class absent from `labels` gets weight 0 (it never occurs in a batch, and
    a finite value keeps the loss finite). With mean 1 the weighted loss stays
    on the scale of the unweighted one, so the learning rate need not change.

    Returns:
      float32 [num_classes].
    """
    counts = np.bincount(_checked_labels(labels, num_classes), minlength=num_classes)
    present = counts > 0
    inverse = np.divide(1.0, counts, out=np.zeros(num_classes), where=present)
    return (inverse / inverse[present].mean()).astype(np.float32)


def balanced_sample_indices(
    labels: np.ndarray,
    *,
    seed: int,
    epoch_size: int,
    num_classes: int | None = None,
    epoch: int = 0,
) -> np.ndarray:
    """Indices into `labels` for one class-balanced epoch, shuffled.

    Every present class gets epoch_size // P indices (P: classes present), the
    remainder going to randomly chosen classes. Within a class, examples are
    taken in random order without repeats until the class is used up, then
    again in a fresh order: a rare class repeats, a common one is subsampled
    without duplicates.

    Args:
      labels: [N] integer labels of the training split.
      seed: with `epoch`, fixes the draw.
      epoch_size: number of indices to return.
      num_classes: for the label range check; default max(labels) + 1.
      epoch: a different epoch gives a different draw from the same seed.

    Returns:
      int64 [epoch_size] indices into `labels`.
    """
    if epoch_size <= 0:
        raise ValueError(f"epoch_size must be positive; got {epoch_size}.")
    labels = np.asarray(labels)
    if num_classes is None:
        num_classes = int(labels.max()) + 1 if labels.size else 0
    labels = _checked_labels(labels, num_classes)
    rng = np.random.default_rng([seed, epoch])
    members = [np.flatnonzero(labels == c) for c in range(num_classes)]
    members = [m for m in members if len(m)]
    quota = np.full(len(members), epoch_size // len(members))
    quota[rng.choice(len(members), epoch_size % len(members), replace=False)] += 1
    chosen = []
    for indices, count in zip(members, quota, strict=True):
        if count == 0:  # epoch_size below the number of classes.
            continue
        rounds = -(-count // len(indices))
        order = np.concatenate([rng.permutation(indices) for _ in range(rounds)])
        chosen.append(order[:count])
    return rng.permutation(np.concatenate(chosen)).astype(np.int64)
