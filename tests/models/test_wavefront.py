"""The wavefront scan of stacked recurrent layers equals layer-by-layer scanning."""

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from affect_jax.models.rnn import SequenceRegressor
from tests.helpers import trees

_FLAX_CELLS = {"gru": nn.GRUCell, "simple_rnn": nn.SimpleCell}


class _FlaxStack(nn.Module):
    """Stacked recurrent layers written with plain Flax, independently of models/rnn.py."""

    cell: str
    layer_sizes: Sequence[int]
    every_step: bool

    @nn.compact
    def __call__(self, inputs):
        x = inputs
        for i, size in enumerate(self.layer_sizes):
            x = nn.RNN(_FLAX_CELLS[self.cell](features=size, name=f"layer{i + 1}"))(x)
        return nn.Dense(2, name="head")(x if self.every_step else x[:, -1])


@pytest.mark.parametrize(
    "cell,layer_sizes,every_step,steps",
    [
        ("gru", (100, 100, 50), False, 9),
        ("gru", (7,), True, 9),
        ("simple_rnn", (6, 5), True, 9),
        # Fewer steps than layers: no iteration where all layers advance.
        ("gru", (6, 5, 4), True, 2),
    ],
)
def test_outputs_and_gradients_equal_layer_by_layer(cell, layer_sizes, every_step, steps):
    rng = np.random.default_rng(0)
    inputs = jnp.asarray(rng.normal(size=(4, steps, 12)), jnp.float32)
    wave = SequenceRegressor(cell=cell, layer_sizes=layer_sizes, every_step=every_step)
    layered = wave.clone(wavefront=False)
    # Compiled, as training runs them: op by op, the same programs take ~5x longer here.
    variables = jax.jit(wave.init)(jax.random.PRNGKey(0), inputs)
    # The parameters are those of plain Flax layers (names, shapes, initial
    # values), which checkpoints and the Keras import rely on.
    flax_stack = _FlaxStack(cell, layer_sizes, every_step)
    trees.assert_trees_equal(variables, jax.jit(flax_stack.init)(jax.random.PRNGKey(0), inputs))
    wave_outputs = jax.jit(wave.apply)(variables, inputs)
    np.testing.assert_allclose(
        wave_outputs, jax.jit(flax_stack.apply)(variables, inputs), rtol=1e-5, atol=1e-6
    )

    def loss(model):
        return lambda params: jnp.sum(model.apply({"params": params}, inputs) ** 2)

    np.testing.assert_allclose(
        wave_outputs, jax.jit(layered.apply)(variables, inputs), rtol=1e-5, atol=1e-6
    )
    wave_grads = jax.jit(jax.grad(loss(wave)))(variables["params"])
    layered_grads = jax.jit(jax.grad(loss(layered)))(variables["params"])
    jax.tree.map(
        lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6),
        wave_grads,
        layered_grads,
    )
