"""The CNN matches the reference architecture."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from affect_jax.models import cnn, pooling


def _init(model, batch=2):
    images = jnp.asarray(np.random.default_rng(0).random((batch, 96, 96, 1)), jnp.float32)
    return images, model.init(jax.random.PRNGKey(0), images, train=False)


def test_reference_parameter_count_matches_keras():
    # Keras counts BatchNorm's moving mean/variance among its 1,333,706.
    _, variables = _init(cnn.FrameCNN(num_outputs=2))
    count = sum(leaf.size for leaf in jax.tree.leaves(variables))
    assert count == 1_333_706


@pytest.mark.parametrize(
    "variant,num_outputs", [("reference", 2), ("khorrami", 8), ("reference", 1)]
)
def test_outputs_and_features_shapes(variant, num_outputs):
    model = cnn.FrameCNN(num_outputs=num_outputs, variant=variant)
    images, variables = _init(model, batch=3)
    outputs, features = model.apply(variables, images, train=False, return_features=True)
    assert outputs.shape == (3, num_outputs)
    assert features.shape == (3, 300)
    if variant == "khorrami":
        assert float(features.min()) >= 0.0  # ReLU on the feature layer.


def _quadrant_means(x: np.ndarray) -> np.ndarray:
    """[B, H, W, C] -> [B, 2 * 2 * C]: the mean of each quadrant, flattened as Keras does."""
    b, h, w, c = x.shape
    return x.reshape(b, 2, h // 2, 2, w // 2, c).mean(axis=(2, 4)).reshape(b, -1)


@pytest.mark.parametrize("variant, activation", [("reference", None), ("khorrami", "relu")])
def test_features_are_the_dense_layer_of_the_pooled_conv3_output(variant, activation):
    model = cnn.FrameCNN(variant=variant)
    images, variables = _init(model, batch=4)
    (_, features), state = model.apply(
        variables, images, train=False, return_features=True, capture_intermediates=True
    )
    # Recomputed from conv3's captured output: ReLU, quadrant means, then the
    # feature layer's own kernel and bias, with no activation (reference) or a
    # ReLU (khorrami).
    conv3 = np.asarray(state["intermediates"]["conv3"]["__call__"][0], np.float64)
    dense = variables["params"]["features"]
    linear = _quadrant_means(np.maximum(conv3, 0)) @ dense["kernel"] + dense["bias"]
    expected = linear if activation is None else np.maximum(linear, 0)
    np.testing.assert_allclose(features, expected, rtol=1e-5, atol=1e-5)
    if activation is None:
        assert (linear < 0).mean() > 0.2  # A ReLU here would change these.


def test_unknown_variant_names_valid_ones():
    model = cnn.FrameCNN(variant="resnet")
    with pytest.raises(ValueError, match="reference, khorrami"):
        _init(model)


def test_pooling_equals_flax_pooling_ops():
    x = jnp.asarray(np.random.default_rng(1).normal(size=(2, 18, 18, 5)), jnp.float32)
    relu_max = nn.max_pool(nn.relu(x), (2, 2), (2, 2))
    np.testing.assert_allclose(pooling.relu_max_pool_2x2(x), relu_max, rtol=1e-6)
    np.testing.assert_allclose(pooling.quadrant_pool(x), nn.avg_pool(x, (9, 9), (9, 9)), rtol=1e-5)
    odd = jnp.asarray(np.random.default_rng(2).normal(size=(1, 45, 45, 3)), jnp.float32)
    np.testing.assert_allclose(
        pooling.relu_max_pool_2x2(odd), nn.max_pool(nn.relu(odd), (2, 2), (2, 2)), rtol=1e-6
    )


@pytest.mark.parametrize("size", [16, 17])
def test_pooling_gradient_equals_flax_max_pool_including_ties(size):
    # Small integers make many windows tie (and many maxima 0 or negative):
    # the gradient must go where nn.max_pool's does, to the first maximum.
    rng = np.random.default_rng(3)
    x = jnp.asarray(rng.integers(-2, 3, size=(3, size, size, 4)), jnp.float32)
    upstream = jnp.asarray(rng.normal(size=(3, size // 2, size // 2, 4)), jnp.float32)
    ours = jax.vjp(pooling.relu_max_pool_2x2, x)[1](upstream)[0]
    flax_pool = jax.vjp(lambda v: nn.max_pool(nn.relu(v), (2, 2), (2, 2)), x)[1](upstream)[0]
    windows = x[:, : size // 2 * 2, : size // 2 * 2].reshape(3, size // 2, 2, size // 2, 2, 4)
    ties = (windows == windows.max(axis=(2, 4), keepdims=True)).sum(axis=(2, 4))
    assert int((ties > 1).sum()) > 50  # The case under test occurs.
    np.testing.assert_array_equal(ours, flax_pool)


def test_dropout_only_in_training():
    model = cnn.FrameCNN()
    images, variables = _init(model)
    eval_a = model.apply(variables, images, train=False)
    eval_b = model.apply(variables, images, train=False)
    np.testing.assert_array_equal(eval_a, eval_b)
    train_a, _ = model.apply(
        variables,
        images,
        train=True,
        mutable=["batch_stats"],
        rngs={"dropout": jax.random.PRNGKey(1)},
    )
    train_b, _ = model.apply(
        variables,
        images,
        train=True,
        mutable=["batch_stats"],
        rngs={"dropout": jax.random.PRNGKey(2)},
    )
    assert not np.allclose(train_a, train_b)
