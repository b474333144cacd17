"""The joint valence-arousal, expression and action-unit loss and metrics (multitask.py)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from affect_jax.tasks import losses, metrics, multitask, registry

AU_NAMES = tuple(f"AU{i}" for i in range(multitask.NUM_ACTION_UNITS))


def _batch(seed: int = 0):
    """Six frames: VA on 0-3, expression on 2-5, AUs (8 of 13 slots) on 1, 3 and 5."""
    rng = np.random.default_rng(seed)
    outputs = rng.normal(size=(6, multitask.NUM_OUTPUTS)).astype(np.float32)
    va = rng.uniform(-1, 1, (6, 2)).astype(np.float32)
    va[4:] = -5.0
    expression = np.array([-1, -1, 4, 0, 6, 4], np.float32)
    aus = np.full((6, multitask.NUM_ACTION_UNITS), -1.0, np.float32)
    aus[[1, 3, 5], :8] = rng.integers(0, 2, (3, 8))
    return outputs, np.concatenate([va, expression[:, None], aus], axis=1)


def test_joint_loss_is_each_tasks_loss_over_the_frames_it_labels():
    outputs, targets = _batch()
    va_out, expression_out, au_out = multitask.split_outputs(outputs)
    expected = (
        losses.ccc_loss(va_out[:4], targets[:4, :2])
        + losses.cross_entropy_loss(expression_out[2:], targets[2:, 2])
        + losses.masked_binary_cross_entropy(au_out[[1, 3, 5]], targets[[1, 3, 5], 3:])
    )
    loss = multitask.joint_loss(jnp.asarray(outputs), jnp.asarray(targets))
    assert float(loss) == pytest.approx(float(expected), rel=1e-5)
    assert float(registry.get_task("multitask").loss(outputs, targets)) == pytest.approx(
        float(loss)
    )


def test_unlabelled_parts_get_no_gradient():
    outputs, targets = _batch(1)
    grads = np.asarray(jax.grad(multitask.joint_loss)(jnp.asarray(outputs), jnp.asarray(targets)))
    va_grad, expression_grad, au_grad = multitask.split_outputs(grads)
    assert np.all(va_grad[4:] == 0) and np.all(va_grad[:4] != 0)
    assert np.all(expression_grad[:2] == 0) and np.all(expression_grad[2:] != 0)
    assert np.all(au_grad[:, 8:] == 0) and np.all(au_grad[[0, 2, 4]] == 0)
    assert np.all(au_grad[[1, 3, 5], :8] != 0)


def test_a_batch_without_a_task_adds_nothing_for_it():
    outputs, targets = _batch(2)
    targets[:, :2] = -5.0
    targets[:, 2] = -1.0
    au_only = losses.masked_binary_cross_entropy(
        multitask.split_outputs(outputs)[2], targets[:, 3:]
    )
    loss = multitask.joint_loss(jnp.asarray(outputs), jnp.asarray(targets))
    assert np.isfinite(float(loss))
    assert float(loss) == pytest.approx(float(au_only), rel=1e-6)


def test_joint_metrics_are_each_tasks_metrics_on_its_frames():
    outputs, targets = _batch(3)
    result = multitask.joint_metrics(outputs, targets, AU_NAMES)
    va_out, expression_out, au_out = multitask.split_outputs(outputs)
    va = metrics.regression_metrics(va_out[:4], targets[:4, :2], ("valence", "arousal"))
    assert result["ccc_valence"] == pytest.approx(va["ccc_valence"])
    assert result["ccc_mean"] == pytest.approx(va["ccc_mean"])
    expression = metrics.classification_metrics(expression_out[2:], targets[2:, 2].astype(int))
    assert result["expression_f1_macro"] == pytest.approx(expression["f1_macro"])
    assert result["expression_accuracy"] == pytest.approx(expression["accuracy"])
    aus = metrics.multilabel_metrics(au_out, targets[:, 3:], AU_NAMES)
    assert result["au_f1_mean"] == pytest.approx(aus["f1_mean"])
    assert {k for k in result if k.startswith("au_f1_AU")} == {f"au_f1_AU{i}" for i in range(8)}
