"""CCC and the other losses/metrics against independent float64 computations."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from affect_jax.tasks import losses, metrics, registry


def _ccc_reference(x, y):
    """Lin's CCC written out from its definition, float64, one column."""
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    n = len(x)
    mx, my = sum(x) / n, sum(y) / n
    vx = sum((xi - mx) ** 2 for xi in x) / n
    vy = sum((yi - my) ** 2 for yi in y) / n
    cov = sum((xi - mx) * (yi - my) for xi, yi in zip(x, y, strict=False)) / n
    return 2 * cov / (vx + vy + (mx - my) ** 2)


@pytest.fixture
def pair():
    rng = np.random.default_rng(0)
    targets = rng.uniform(-1, 1, (500, 2))
    predictions = 0.6 * targets + rng.normal(0.1, 0.3, (500, 2))
    return predictions, targets


def test_ccc_matches_definition(pair):
    predictions, targets = pair
    expected = [_ccc_reference(predictions[:, i], targets[:, i]) for i in range(2)]
    np.testing.assert_allclose(
        losses.concordance_correlation(
            jnp.asarray(predictions, jnp.float32), jnp.asarray(targets, jnp.float32)
        ),
        expected,
        atol=1e-5,
    )
    np.testing.assert_allclose(
        metrics.concordance_correlation(predictions, targets), expected, atol=1e-12
    )


def test_ccc_identical_is_one_and_anticorrelated_is_negative(pair):
    _, targets = pair
    np.testing.assert_allclose(
        metrics.concordance_correlation(targets, targets), [1.0, 1.0], atol=1e-12
    )
    assert float(losses.ccc_loss(jnp.asarray(targets), jnp.asarray(targets))) == pytest.approx(
        0.0, abs=1e-5
    )
    mirrored = 2 * targets.mean(0) - targets  # Same mean and variance, r = -1.
    np.testing.assert_allclose(
        metrics.concordance_correlation(mirrored, targets), [-1.0, -1.0], atol=1e-12
    )


def test_ccc_penalizes_bias_unlike_pearson(pair):
    _, targets = pair
    shifted = targets + 0.5
    ccc = metrics.concordance_correlation(shifted, targets)
    assert (ccc < 0.8).all()


def test_whole_set_ccc_differs_from_mean_of_batch_cccs():
    # Predicting each batch's mean scores 0 per batch, yet it captures the
    # between-batch variation that the whole-set metric rewards.
    rng = np.random.default_rng(3)
    targets = np.concatenate([rng.normal(-0.5, 0.1, 100), rng.normal(0.5, 0.1, 100)])
    predictions = np.repeat([targets[:100].mean(), targets[100:].mean()], 100)
    per_batch = np.mean(
        [
            metrics.concordance_correlation(predictions[i : i + 100], targets[i : i + 100])
            for i in (0, 100)
        ]
    )
    whole = metrics.concordance_correlation(predictions, targets)
    assert abs(per_batch) < 0.01 and whole > 0.9


def test_regression_metrics_names_and_rmse(pair):
    predictions, targets = pair
    result = metrics.regression_metrics(predictions, targets, ("valence", "arousal"))
    assert set(result) == {
        "ccc_valence",
        "ccc_arousal",
        "rmse_valence",
        "rmse_arousal",
        "ccc_mean",
    }
    expected_rmse = np.sqrt(((predictions[:, 1] - targets[:, 1]) ** 2).mean())
    assert result["rmse_arousal"] == pytest.approx(expected_rmse)


def test_mse_and_cross_entropy():
    assert float(losses.mse_loss(jnp.array([1.0, 3.0]), jnp.array([0.0, 0.0]))) == pytest.approx(
        5.0
    )
    logits = jnp.array([[10.0, 0.0], [0.0, 10.0]])
    assert float(losses.cross_entropy_loss(logits, jnp.array([0, 1]))) < 1e-3
    assert float(losses.cross_entropy_loss(logits, jnp.array([1, 0]))) > 9.0


def test_classification_metrics_and_confusion():
    logits = np.array([[2, 0, 0], [0, 2, 0], [0, 2, 0], [0, 0, 2]], float)
    labels = np.array([0, 1, 0, 2])
    result = metrics.classification_metrics(logits, labels)
    assert result["accuracy"] == pytest.approx(0.75)
    assert result["recall_0"] == pytest.approx(0.5)
    # F1 per class: 2/3 (0), 2/3 (1), 1 (2); class 3 never occurs and does not count.
    wide = metrics.classification_metrics(np.pad(logits, ((0, 0), (0, 1))), labels)
    assert wide["f1_macro"] == pytest.approx((2 / 3 + 2 / 3 + 1) / 3)
    np.testing.assert_array_equal(
        metrics.confusion_matrix(labels, logits.argmax(1), 3),
        [[1, 1, 0], [0, 1, 0], [0, 0, 1]],
    )


def test_unknown_task_lists_valid_and_older_names():
    with pytest.raises(
        ValueError, match=r"va, va_mse, expr, au, multitask \(older names: ccc, mse"
    ):
        registry.get_task("huber")


def test_masked_binary_cross_entropy_skips_unannotated_entries():
    logits = jnp.array([[2.0, -1.0, 0.5], [0.0, 3.0, -2.0]])
    targets = jnp.array([[1.0, 0.0, -1.0], [-1.0, 1.0, -1.0]])
    loss = registry.get_task("binary_cross_entropy").loss
    bce = lambda z, y: float(optax.sigmoid_binary_cross_entropy(jnp.float32(z), jnp.float32(y)))
    # Three labelled entries over the two frames that have any: a sum per frame, a mean over frames.
    expected = (bce(2.0, 1.0) + bce(-1.0, 0.0) + bce(3.0, 1.0)) / 2
    assert float(loss(logits, targets)) == pytest.approx(expected, rel=1e-6)
    # An unannotated entry's logit has no gradient.
    grad = jax.grad(lambda z: loss(z, targets))(logits)
    assert float(grad[0, 2]) == 0.0 and float(grad[1, 0]) == 0.0 and float(grad[0, 0]) != 0.0


def test_multilabel_metrics_count_only_annotated_entries():
    logits = np.array([[1.0, -1.0, 1.0], [1.0, 1.0, -1.0], [-1.0, 1.0, 1.0], [-1.0, -1.0, 1.0]])
    targets = np.array([[1, 0, -1], [0, 1, -1], [1, 1, -1], [0, -1, -1]])
    result = metrics.multilabel_metrics(logits, targets, ("AU1", "AU2", "AU3"))
    # AU1: TP 1, FP 1, FN 1 -> 0.5; AU2: TP 2, FP 0, FN 0 -> 1; AU3 never annotated.
    assert result["f1_AU1"] == pytest.approx(0.5)
    assert result["f1_AU2"] == pytest.approx(1.0)
    assert "f1_AU3" not in result
    assert result["f1_mean"] == pytest.approx(0.75)
    assert result["accuracy"] == pytest.approx(5 / 7)
