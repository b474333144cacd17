"""The fused first block equals the plain layers: values, gradients, parameters."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

from affect_jax.models import cnn
from affect_jax.models.first_layer import normalized_conv_relu_pool
from affect_jax.models.onednn import library
from tests.helpers.onednn_calls import onednn_calls

# oneDNN's handlers run on the CPU only (tests marked cpu_only are left out on a GPU).
CONV_BACKENDS = ["xla", pytest.param("onednn", marks=pytest.mark.cpu_only)]


def _plain_block(x_hat, scale, bias, kernel, padding):
    y = lax.conv_general_dilated(
        x_hat * scale + bias, kernel, (1, 1), padding, dimension_numbers=("NHWC", "HWIO", "NHWC")
    )
    return nn.max_pool(nn.relu(y), (2, 2), (2, 2))


@pytest.mark.parametrize("conv_backend", CONV_BACKENDS)
@pytest.mark.parametrize(
    "size,channels,padding",
    [(24, 1, "SAME"), (23, 1, "SAME"), (21, 2, "VALID")],  # 23: odd conv output
)
def test_values_and_all_gradients_equal_autodiff_of_plain_layers(
    size, channels, padding, conv_backend
):
    rng = np.random.default_rng(0)
    x_hat = jnp.asarray(rng.normal(size=(3, size, size, channels)), jnp.float32)
    scale = jnp.asarray(rng.uniform(0.5, 1.5, channels), jnp.float32)
    bias = jnp.asarray(rng.normal(size=channels) * 0.3, jnp.float32)
    kernel = jnp.asarray(rng.normal(size=(5, 5, channels, 8)) * 0.2, jnp.float32)
    args = (x_hat, scale, bias, kernel)

    def fused_block(*args):
        return normalized_conv_relu_pool(*args, padding, conv_backend)

    def plain_block(*args):
        return _plain_block(*args, padding)

    upstream_shape = jax.eval_shape(plain_block, *args).shape
    upstream = jnp.asarray(rng.normal(size=upstream_shape), jnp.float32)

    def with_gradients(block):
        """The block's outputs and its pullback of `upstream`, compiled as training runs it."""

        def outputs_and_gradients(*args):
            outputs, pullback = jax.vjp(block, *args)
            return outputs, pullback(upstream)

        return jax.jit(outputs_and_gradients)

    # Who computed them: oneDNN (the x_hat gradient, asked for here, too), or XLA alone.
    lowered = with_gradients(fused_block).lower(*args)
    calls = onednn_calls(lowered)
    assert calls == (set(library.TARGETS) if conv_backend == "onednn" else set())
    fused, fused_gradients = lowered.compile()(*args)
    plain, plain_gradients = with_gradients(plain_block)(*args)
    np.testing.assert_allclose(fused, plain, rtol=1e-6, atol=1e-6)
    names = ("x_hat", "scale", "bias", "kernel")
    for name, ours, reference in zip(names, fused_gradients, plain_gradients, strict=True):
        scale_of = float(jnp.abs(reference).max())
        np.testing.assert_allclose(ours, reference, atol=1e-5 * scale_of, err_msg=name)


def _cnn_gradients(model, variables, images, targets):
    def loss(params):
        outputs, updates = model.apply(
            {**variables, "params": params},
            images,
            train=True,
            mutable=["batch_stats"],
            rngs={"dropout": jax.random.PRNGKey(2)},
        )
        return jnp.mean((outputs - targets) ** 2), updates

    return jax.grad(loss, has_aux=True)(variables["params"])


@pytest.mark.parametrize("conv_backend", CONV_BACKENDS)
def test_fused_and_plain_cnn_share_parameters_outputs_and_gradients(conv_backend):
    rng = np.random.default_rng(1)
    images = jnp.asarray(rng.integers(0, 256, (4, 96, 96, 1)), jnp.uint8)
    targets = jnp.asarray(rng.uniform(-1, 1, (4, 2)), jnp.float32)
    fused = cnn.FrameCNN(first_block="fused", conv_backend=conv_backend)
    plain = cnn.FrameCNN(first_block="plain", conv_backend="xla")
    # Compiled, as training runs them (op by op, the same programs take seconds more).
    init = lambda model: jax.jit(lambda key: model.init(key, images, train=False))
    fused_vars = init(fused)(jax.random.PRNGKey(0))
    plain_vars = init(plain)(jax.random.PRNGKey(0))
    # Same variable names, shapes and initial values: checkpoints move between them.
    assert jax.tree.structure(fused_vars) == jax.tree.structure(plain_vars)
    jax.tree.map(np.testing.assert_array_equal, fused_vars, plain_vars)
    apply = lambda model: jax.jit(lambda v: model.apply(v, images, train=False))
    np.testing.assert_allclose(
        apply(fused)(plain_vars), apply(plain)(plain_vars), rtol=1e-5, atol=1e-6
    )
    gradients = lambda model: jax.jit(lambda v: _cnn_gradients(model, v, images, targets))
    lowered = gradients(fused).lower(plain_vars)
    assert (onednn_calls(lowered) == set(library.TARGETS)) == (conv_backend == "onednn")
    fused_grads, fused_stats = lowered.compile()(plain_vars)
    plain_grads, plain_stats = gradients(plain)(plain_vars)
    jax.tree.map(
        lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6),
        fused_stats,
        plain_stats,
    )
    for path, ours in jax.tree_util.tree_leaves_with_path(fused_grads):
        reference = plain_grads
        for key in path:
            reference = reference[key.key]
        scale_of = float(jnp.abs(reference).max())
        np.testing.assert_allclose(ours, reference, atol=2e-5 * scale_of, err_msg=str(path))


@pytest.mark.cpu_only
def test_auto_is_fused_on_cpu_and_typos_name_the_valid_choices():
    assert cnn.resolve_first_block("auto") == "fused"  # Tests run on CPU.
    with pytest.raises(ValueError, match="auto, fused, plain"):
        cnn.resolve_first_block("fast")
