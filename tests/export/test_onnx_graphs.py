"""The ONNX graphs (affect_jax/onnx_export) compute what the flax models compute.

The reference is each model's own flax forward pass (models/cnn.py,
models/rnn.py), on parameters drawn here, with input statistics away from
their defaults so that the folded normalisation is exercised.
"""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import onnxruntime
import pytest

from affect_jax.models.cnn import FrameCNN
from affect_jax.models.rnn import SequenceRegressor
from affect_jax.onnx_export.cnn_graph import cnn_graph
from affect_jax.onnx_export.graph_builder import ExportError
from affect_jax.onnx_export.rnn_graph import rnn_graph

# |ONNX - flax| <= tolerance * max(1, |flax|max) per precision.
TOLERANCE = {"float32": 1e-5, "float16": 1e-2}


def _run(graph, feeds):
    session = onnxruntime.InferenceSession(
        graph.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    return session.run(None, feeds)


def _perturbed(variables, seed):
    """Parameters moved off their initial values (biases are zero at init), in NumPy:
    JAX would compile a random draw for every shape."""
    rng = np.random.default_rng(seed)
    return jax.tree.map(
        lambda leaf: np.asarray(leaf) + rng.normal(0, 0.2, leaf.shape).astype(np.float32),
        jax.device_get(variables),
    )


def _assert_close(got, expected, precision):
    expected = np.asarray(expected)
    scale = max(1.0, float(np.abs(expected).max()))
    assert got.shape == expected.shape and got.dtype == np.float32
    assert np.abs(got - expected).max() <= TOLERANCE[precision] * scale


@pytest.mark.parametrize(
    "variant, conv_features, first_block",
    [
        ("reference", (8, 16, 16), "plain"),
        ("khorrami", (8, 12, 16), "fused"),
    ],
)
def test_cnn_graph_matches_the_flax_cnn(variant, conv_features, first_block):
    model = FrameCNN(
        num_outputs=5,
        conv_features=conv_features,
        feature_dim=24,
        variant=variant,
        first_block=first_block,
        conv_backend="xla",
    )
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (5, 96, 96, 1)).astype(np.uint8)
    # Jitted: op by op, the flax model would compile each of its operations alone.
    init = jax.jit(lambda x: model.init(jax.random.key(0), x, train=False))
    variables = _perturbed(init(jnp.asarray(frames)), 1)
    variables["batch_stats"] = {
        "input_norm": {"mean": np.array([0.42], np.float32), "var": np.array([0.05], np.float32)}
    }
    outputs, features = jax.jit(lambda v, x: model.apply(v, x, train=False, return_features=True))(
        variables, jnp.asarray(frames)
    )
    config = ml_collections.ConfigDict(
        {"name": "cnn", "variant": variant, "conv_features": conv_features}
    )
    for precision in TOLERANCE:
        graph = cnn_graph(jax.device_get(variables), config, precision, "test run")
        # The batch is dynamic: one graph serves 5 frames and 1.
        got_outputs, got_features = _run(graph, {"frames": frames})
        _assert_close(got_outputs, outputs, precision)
        _assert_close(got_features, features, precision)
        one_output, _ = _run(graph, {"frames": frames[2:3]})
        _assert_close(one_output, outputs[2:3], precision)


@pytest.mark.parametrize(
    "cell, layer_sizes, every_step",
    [
        ("gru", (12, 10, 6), False),
        ("gru", (8, 6), True),
        ("simple_rnn", (10, 6), True),
    ],
)
def test_rnn_graph_matches_the_flax_sequence_model(cell, layer_sizes, every_step):
    model = SequenceRegressor(
        cell=cell, layer_sizes=layer_sizes, num_outputs=3, every_step=every_step
    )
    windows = np.random.default_rng(1).normal(size=(4, 7, 20)).astype(np.float32)
    variables = _perturbed(jax.jit(model.init)(jax.random.key(0), jnp.asarray(windows)), 2)
    expected = jax.jit(model.apply)(variables, jnp.asarray(windows))
    config = ml_collections.ConfigDict({"name": "rnn", "cell": cell, "layer_sizes": layer_sizes})
    for precision in TOLERANCE:
        graph = rnn_graph(jax.device_get(variables["params"]), config, every_step, precision, "t")
        operators = {node.op_type for node in graph.graph.node}
        assert {"gru": "GRU", "simple_rnn": "RNN"}[cell] in operators  # ONNX's own operator.
        assert not operators & {"Loop", "Scan"}
        (got,) = _run(graph, {"windows": windows})
        _assert_close(got, expected, precision)


def test_a_layer_the_exporter_does_not_know_is_refused_by_name():
    model = FrameCNN(num_outputs=2, conv_features=(4, 4, 4), feature_dim=8, conv_backend="xla")
    variables = jax.device_get(
        jax.eval_shape(
            lambda: model.init(jax.random.key(0), jnp.zeros((1, 96, 96, 1), jnp.uint8), train=False)
        )
    )
    variables["params"]["attention"] = {"kernel": np.zeros((8, 8), np.float32)}
    config = ml_collections.ConfigDict(
        {"name": "cnn", "variant": "reference", "conv_features": (4, 4, 4)}
    )
    with pytest.raises(ExportError, match=r"runs/x.*attention"):
        cnn_graph(variables, config, "float32", "runs/x")
    del variables["params"]["attention"]
    config.variant = "dilated"
    with pytest.raises(ExportError, match="variant 'dilated'"):
        cnn_graph(variables, config, "float32", "runs/x")
    rnn_config = ml_collections.ConfigDict({"name": "rnn", "cell": "lstm", "layer_sizes": (4,)})
    with pytest.raises(ExportError, match="cell 'lstm'"):
        rnn_graph({}, rnn_config, False, "float32", "runs/y")
