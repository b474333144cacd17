"""Class weights, the weighted cross-entropy, and class-balanced epochs."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from affect_jax.data import class_balancing as cb
from affect_jax.tasks import losses

# A CK+-like imbalance: 8 classes, class 6 absent.
LABELS = np.repeat(np.arange(8), [300, 45, 59, 25, 69, 28, 0, 83])


def test_class_weights_are_inverse_frequency_with_mean_one():
    weights = cb.class_weights(LABELS, 8)
    counts = np.bincount(LABELS, minlength=8)
    present = counts > 0
    assert weights.dtype == np.float32
    assert weights[6] == 0
    np.testing.assert_allclose(weights[present].mean(), 1.0, rtol=1e-6)
    # Each present class then carries the same total weight.
    totals = weights[present] * counts[present]
    np.testing.assert_allclose(totals, totals[0], rtol=1e-5)


@pytest.mark.parametrize(
    "labels, message",
    [
        (np.array([0, 8]), r"1 labels lie outside \[0, 8\) \(first: 8\)"),
        (np.array([-1, 0]), r"1 labels lie outside \[0, 8\) \(first: -1\)"),
        (np.array([]), r"non-empty 1-D array of labels; got shape \(0,\)"),
    ],
)
def test_class_weights_reject_bad_labels(labels, message):
    # Our own message, not numpy's (bincount refuses -1 by itself, and 8 would
    # only widen the counts).
    with pytest.raises(ValueError, match=message):
        cb.class_weights(labels.astype(int), 8)


def test_weighted_cross_entropy():
    logits = jax.random.normal(jax.random.key(0), (6, 4))
    labels = jnp.array([0, 1, 1, 2, 3, 3])
    plain = optax.softmax_cross_entropy_with_integer_labels(logits, labels)
    # Equal weights: the plain mean.
    np.testing.assert_allclose(
        losses.weighted_cross_entropy(logits, labels, jnp.full(4, 2.0)), plain.mean(), rtol=1e-6
    )
    # By hand: sum(w_i l_i) / sum(w_i).
    weights = jnp.array([1.0, 2.0, 0.5, 4.0])
    w = weights[labels]
    expected = (w * plain).sum() / w.sum()
    loss = jax.jit(losses.weighted_cross_entropy)(logits, labels, weights)
    np.testing.assert_allclose(loss, expected, rtol=1e-6)
    # Padding rows count for nothing.
    mask = jnp.array([1.0, 1.0, 1.0, 1.0, 0.0, 0.0])
    masked = losses.weighted_cross_entropy(logits, labels, weights, mask)
    np.testing.assert_allclose(masked, (w * plain)[:4].sum() / w[:4].sum(), rtol=1e-6)
    # Gradients flow and are finite.
    grads = jax.grad(losses.weighted_cross_entropy)(logits, labels, weights)
    assert np.isfinite(grads).all()
    zero = losses.weighted_cross_entropy(logits, labels, weights, jnp.zeros(6))
    assert zero == 0.0


def test_balanced_epoch_has_equal_classes_and_no_needless_repeats():
    indices = cb.balanced_sample_indices(LABELS, seed=0, epoch_size=703, num_classes=8)
    assert indices.shape == (703,) and indices.dtype == np.int64
    counts = np.bincount(LABELS[indices], minlength=8)
    present = np.bincount(LABELS, minlength=8) > 0
    assert counts[6] == 0
    assert counts[present].max() - counts[present].min() <= 1
    assert counts.sum() == 703
    # Class 0 (300 frames) is subsampled without duplicates; class 3 (25) repeats.
    zeros = indices[LABELS[indices] == 0]
    assert len(np.unique(zeros)) == len(zeros)
    threes = indices[LABELS[indices] == 3]
    assert len(np.unique(threes)) == 25
    # Shuffled, not grouped by class.
    assert len(np.unique(LABELS[indices[:20]])) > 2


def test_balanced_epochs_are_seeded():
    draw = lambda seed, epoch: cb.balanced_sample_indices(
        LABELS, seed=seed, epoch_size=200, epoch=epoch
    )
    np.testing.assert_array_equal(draw(1, 0), draw(1, 0))
    assert not np.array_equal(draw(1, 0), draw(1, 1))
    assert not np.array_equal(draw(1, 0), draw(2, 0))


def test_balanced_epoch_smaller_than_the_class_count():
    indices = cb.balanced_sample_indices(LABELS, seed=0, epoch_size=3)
    assert len(np.unique(LABELS[indices])) == 3
    with pytest.raises(ValueError, match="epoch_size"):
        cb.balanced_sample_indices(LABELS, seed=0, epoch_size=0)
