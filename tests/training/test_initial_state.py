"""The initial train state: compiled for a quick start, the values XLA's defaults give."""

import jax
import numpy as np
import pytest

from affect_jax.config import load_config
from affect_jax.models.registry import create_model, input_spec
from affect_jax.training import sharding, steps

FEATURE_DIM = 32  # The tiny CNN's feature width: the tiny GRU's input.


@pytest.mark.parametrize("name", ["affwild2_cnn", "affwild2_rnn"])
def test_the_quickly_compiled_initial_state_has_the_default_compiles_values(name):
    config = load_config(name, "tiny")
    model, mesh = create_model(config), sharding.make_data_mesh()
    sample = input_spec(config, FEATURE_DIM)
    state = steps.create_train_state(model, config, mesh, sample)
    # The same initializer compiled with XLA's default options.
    reference = jax.jit(steps.initial_state_function(model, config, sample))()
    got, want = jax.device_get((state.params, reference.params))
    assert jax.tree.structure(got) == jax.tree.structure(want)
    # On this CPU: identical for the CNN; the GRU's orthogonal initializer may move by ~1e-6.
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=0, atol=1e-5), got, want)
    assert int(state.step) == 0
    np.testing.assert_array_equal(
        jax.random.key_data(state.dropout_key), jax.random.key_data(reference.dropout_key)
    )
    # The shapes alone, as restoring a checkpoint needs them, without compiling.
    shapes = steps.train_state_shapes(model, config, sample)
    assert _leaf_shapes(shapes) == _leaf_shapes(state)


def _leaf_shapes(tree) -> list[tuple]:
    leaves = jax.tree_util.tree_leaves_with_path(tree)
    return [(jax.tree_util.keystr(path), leaf.shape, leaf.dtype) for path, leaf in leaves]
