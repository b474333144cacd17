"""The wavefront scan of stacked recurrent layers equals layer-by-layer scanning."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from affect_jax.models.rnn import SequenceRegressor


@pytest.mark.parametrize(
    "cell,layer_sizes,every_step",
    [("gru", (100, 100, 50), False), ("gru", (7,), True), ("simple_rnn", (6, 5), True)],
)
def test_outputs_and_gradients_equal_layer_by_layer(cell, layer_sizes, every_step):
    rng = np.random.default_rng(0)
    inputs = jnp.asarray(rng.normal(size=(4, 9, 12)), jnp.float32)
    wave = SequenceRegressor(cell=cell, layer_sizes=layer_sizes, every_step=every_step)
    layered = wave.clone(wavefront=False)
    variables = layered.init(jax.random.PRNGKey(0), inputs)
    # Initialised either way, the parameters are the same tree.
    same_init = wave.init(jax.random.PRNGKey(0), inputs)
    jax.tree.map(np.testing.assert_array_equal, variables, same_init)

    def loss(model):
        return lambda params: jnp.sum(model.apply({"params": params}, inputs) ** 2)

    np.testing.assert_allclose(
        wave.apply(variables, inputs), layered.apply(variables, inputs), rtol=1e-5, atol=1e-6
    )
    wave_grads = jax.grad(loss(wave))(variables["params"])
    layered_grads = jax.grad(loss(layered))(variables["params"])
    jax.tree.map(
        lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6),
        wave_grads,
        layered_grads,
    )
