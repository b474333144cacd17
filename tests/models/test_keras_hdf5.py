"""Keras 2 HDF5 checkpoints -> FrameCNN / SequenceRegressor, against a NumPy Keras.

The files are written with h5py in Keras 2.3's layout (tests/helpers/keras_files.py);
the expected outputs come from a float64 NumPy version of the Keras layers written
from Keras' own equations (tests/helpers/keras_reference.py), sharing no code with
the models.
"""

import json
import subprocess
import sys
import zipfile

import h5py
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from affect_jax.keras_import import hdf5 as keras_hdf5
from affect_jax.keras_import.hdf5 import KerasImportError
from affect_jax.models.cnn import FrameCNN
from affect_jax.models.rnn import SequenceRegressor
from tests.helpers.keras_files import cnn_file, edit_config, layer, rnn_file, write_keras_file
from tests.helpers.keras_reference import np_cnn, np_rnn

TOLERANCE = {"rtol": 1e-5, "atol": 1e-5}


# ---- our models ------------------------------------------------------------------------------


def _shapes(tree):
    return jax.tree_util.tree_map(lambda a: tuple(a.shape), tree)


def _assert_same_tree(variables, model, example):
    expected = jax.eval_shape(lambda: model.init(jax.random.PRNGKey(0), example, train=False))
    assert jax.tree_util.tree_structure(variables) == jax.tree_util.tree_structure(expected)
    assert _shapes(variables) == _shapes(expected)
    assert all(a.dtype == np.float32 for a in jax.tree_util.tree_leaves(variables))


def _frame_cnn(settings, first_block):
    return FrameCNN(
        num_outputs=settings["num_outputs"],
        conv_features=settings["conv_features"],
        feature_dim=settings["feature_dim"],
        dropout_rate=settings["dropout_rate"],
        variant=settings["variant"],
        first_block=first_block,
    )


def _run_cnn(path, first_block, pixels):
    model_file = keras_hdf5.read_keras_file(path)
    settings = keras_hdf5.cnn_model_settings(model_file)
    variables = keras_hdf5.to_flax_variables(model_file)
    model = _frame_cnn(settings, first_block)
    _assert_same_tree(variables, model, jnp.zeros((1, 96, 96, 1)))
    apply = jax.jit(lambda v, x: model.apply(v, x, train=False, return_features=True))
    outputs, features = apply(variables, pixels)
    return model_file, settings, np.asarray(outputs), np.asarray(features)


@pytest.fixture
def pixels():
    return np.random.default_rng(1).integers(0, 256, (2, 96, 96, 1), dtype=np.uint8)


@pytest.mark.parametrize("first_block", ["plain", "fused"])
def test_reference_cnn_matches_keras(tmp_path, pixels, first_block):
    path = tmp_path / "cnn.hdf5"
    _, arrays = cnn_file(path, np.random.default_rng(0))
    model_file, settings, outputs, features = _run_cnn(path, first_block, pixels)
    assert (model_file.kind, model_file.keras_version, model_file.backend) == (
        "cnn",
        "2.3.0-tf",
        "tensorflow",
    )
    assert len(model_file.sha256) == 64 and model_file.training_config == {"loss": "ccc_loss"}
    assert settings == {
        "variant": "reference",
        "conv_features": (4, 8, 8),
        "feature_dim": 16,
        "dropout_rate": 0.5,
        "num_outputs": 2,
        "head": "regression",
        "head_activation": "linear",
        "input_norm": {"epsilon": 1e-3, "momentum": 0.99},
        "input_shape": (96, 96, 1),
    }
    want_outputs, want_features = np_cnn(pixels, arrays, ("same", "valid", "valid"), "linear", 9)
    assert np.abs(want_features).max() > 0.5  # Not a degenerate (all-ReLU-dead) network.
    np.testing.assert_allclose(features, want_features, **TOLERANCE)
    np.testing.assert_allclose(outputs, want_outputs, **TOLERANCE)


def test_khorrami_class_cnn_with_activation_layers_matches_keras(tmp_path, pixels):
    path = tmp_path / "ck.h5"
    _, arrays = cnn_file(
        path,
        np.random.default_rng(2),
        paddings=("same",) * 3,
        feature_activation="relu",
        head_units=8,
        head_activation="softmax",
        avg_pool=12,
        split_relu=True,
    )
    _, settings, logits, features = _run_cnn(path, "plain", pixels)
    assert (settings["variant"], settings["head"], settings["num_outputs"]) == (
        "khorrami",
        "classes",
        8,
    )
    want_probabilities, want_features = np_cnn(pixels, arrays, ("same",) * 3, "relu", 12)
    want_probabilities = np.exp(want_probabilities - want_probabilities.max(-1, keepdims=True))
    want_probabilities /= want_probabilities.sum(-1, keepdims=True)
    np.testing.assert_allclose(features, want_features, **TOLERANCE)
    np.testing.assert_allclose(np.asarray(jax.nn.softmax(logits)), want_probabilities, **TOLERANCE)


@pytest.mark.parametrize("every", [False, True], ids=["next", "every"])
def test_three_layer_gru_matches_keras(tmp_path, every):
    path = tmp_path / "gru.hdf5"
    _, arrays, head = rnn_file(path, np.random.default_rng(3), every=every)
    model_file = keras_hdf5.read_keras_file(path)
    settings = keras_hdf5.rnn_model_settings(model_file)
    assert settings == {
        "cell": "gru",
        "layer_sizes": (5, 6, 3),
        "window": 7,
        "target": "every" if every else "next",
        "feature_dim": 4,
        "num_outputs": 2,
        "ignored_dropout": (),
    }
    x = np.random.default_rng(4).normal(0, 1, (2, 7, 4)).astype(np.float32)
    variables = keras_hdf5.to_flax_variables(model_file)
    want = np_rnn(x, arrays, head, "GRU", every)
    for wavefront in (True, False):  # Both of SequenceRegressor's ways to scan.
        model = SequenceRegressor(
            cell="gru", layer_sizes=(5, 6, 3), every_step=every, wavefront=wavefront
        )
        _assert_same_tree(variables, model, jnp.zeros((1, 7, 4)))
        np.testing.assert_allclose(np.asarray(model.apply(variables, x)), want, **TOLERANCE)


def test_simple_rnn_matches_keras(tmp_path):
    path = tmp_path / "rnn.hdf5"
    _, arrays, head = rnn_file(path, np.random.default_rng(5), cell="SimpleRNN", sizes=(6,))
    model_file = keras_hdf5.read_keras_file(path)
    settings = keras_hdf5.model_settings(model_file)
    assert (settings["cell"], settings["layer_sizes"], settings["target"]) == (
        "simple_rnn",
        (6,),
        "next",
    )
    model = SequenceRegressor(cell="simple_rnn", layer_sizes=(6,))
    variables = keras_hdf5.to_flax_variables(model_file)
    _assert_same_tree(variables, model, jnp.zeros((1, 7, 4)))
    x = np.random.default_rng(6).normal(0, 1, (3, 7, 4)).astype(np.float32)
    np.testing.assert_allclose(
        np.asarray(model.apply(variables, x)),
        np_rnn(x, arrays, head, "SimpleRNN", False),
        **TOLERANCE,
    )


def test_reference_sizes_give_our_default_models(tmp_path):
    """The authors' layer widths: FrameCNN's 1,333,706 variables and the 3-layer GRU."""
    cnn_path, gru_path = tmp_path / "cnn.hdf5", tmp_path / "gru.hdf5"
    rng = np.random.default_rng(9)
    cnn_file(cnn_path, rng, features=(64, 128, 256), feature_dim=300)
    rnn_file(gru_path, rng, sizes=(100, 100, 50), window=100, feature_dim=300)
    cnn = keras_hdf5.read_keras_file(cnn_path)
    variables = keras_hdf5.to_flax_variables(cnn)
    _assert_same_tree(variables, FrameCNN(), jnp.zeros((1, 96, 96, 1)))
    assert sum(a.size for a in jax.tree_util.tree_leaves(variables)) == 1_333_706
    gru = keras_hdf5.read_keras_file(gru_path)
    assert keras_hdf5.rnn_model_settings(gru)["window"] == 100
    model = SequenceRegressor(cell="gru", layer_sizes=(100, 100, 50))
    _assert_same_tree(keras_hdf5.to_flax_variables(gru), model, jnp.zeros((1, 100, 300)))
    with pytest.raises(KerasImportError, match=r"gru\.hdf5: holds a rnn model, not a cnn"):
        keras_hdf5.cnn_model_settings(gru)


def test_input_layer_and_dropout_in_an_rnn(tmp_path):
    path = tmp_path / "rnn.hdf5"
    _, arrays, head = rnn_file(path, np.random.default_rng(10), sizes=(4,), window=None)

    def edit(layers):
        shape = layers[0]["config"].pop("batch_input_shape")
        layers.insert(0, layer("InputLayer", "input_1", batch_input_shape=shape, sparse=False))
        layers.insert(2, layer("Dropout", "dropout", rate=0.25, noise_shape=None, seed=None))

    edit_config(path, edit)
    model_file = keras_hdf5.read_keras_file(path)
    settings = keras_hdf5.rnn_model_settings(model_file)
    assert (settings["window"], settings["ignored_dropout"]) == (None, ("dropout.rate=0.25",))
    x = np.random.default_rng(11).normal(0, 1, (2, 5, 4)).astype(np.float32)
    got = SequenceRegressor(layer_sizes=(4,)).apply(keras_hdf5.to_flax_variables(model_file), x)
    np.testing.assert_allclose(np.asarray(got), np_rnn(x, arrays, head, "GRU", False), **TOLERANCE)


def test_weights_only_file_needs_the_model_json(tmp_path):
    path = tmp_path / "weights.h5"
    layers, _, _ = rnn_file(tmp_path / "full.h5", np.random.default_rng(7), sizes=(4,))
    with h5py.File(tmp_path / "full.h5", "r") as full:
        weights = {
            name: [
                (w.decode(), full["model_weights"][name][w.decode()][()])
                for w in full["model_weights"][name].attrs["weight_names"]
            ]
            for name in ("gru", "dense")
        }
    config = write_keras_file(path, layers, weights, weights_only=True, as_bytes=True)
    with pytest.raises(KerasImportError, match=r"weights\.h5.*no model_config.*to_json"):
        keras_hdf5.read_keras_file(path)
    model_file = keras_hdf5.read_keras_file(path, model_config=json.dumps(config))
    expected = keras_hdf5.to_flax_variables(keras_hdf5.read_keras_file(tmp_path / "full.h5"))
    got = keras_hdf5.to_flax_variables(model_file)
    jax.tree_util.tree_map(np.testing.assert_array_equal, got, expected)


def test_attributes_stored_as_bytes(tmp_path):
    path = tmp_path / "bytes.hdf5"
    layers, _, _ = rnn_file(path, np.random.default_rng(8), sizes=(3,))
    with h5py.File(path, "a") as f:
        for key in ("keras_version", "backend", "model_config"):
            f.attrs[key] = np.bytes_(f.attrs[key].encode())
    model_file = keras_hdf5.read_keras_file(path)
    assert (model_file.keras_version, model_file.kind) == ("2.3.0-tf", "rnn")


# ---- what is refused, and how it is said -----------------------------------------------------


def test_unknown_layer_names_its_index_and_name(tmp_path):
    path = tmp_path / "lambda.hdf5"
    cnn_file(path, np.random.default_rng(0))
    edit_config(path, lambda layers: layers.insert(3, layer("Lambda", "lambda", function="f")))
    with pytest.raises(
        KerasImportError,
        match=r"lambda\.hdf5: layer 3 'lambda' \(Lambda\).*"
        r"supported: BatchNormalization, Conv2D",
    ):
        keras_hdf5.read_keras_file(path)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"input_shape": (64, 64, 1)}, r"layer 0 'batch_normalization'.*input shape \(64, 64, 1\)"),
        ({"epsilon": 1e-5}, r"'batch_normalization'.*epsilon=1e-05.*epsilon=0\.001"),
        ({"conv_bias": True}, r"layer 1 'conv2d' \(Conv2D\): use_bias=True"),
        ({"avg_pool": 6}, r"'average_pooling2d'.*pool_size=\(6, 6\).*\(9, 9\)"),
        (
            {"paddings": ("same", "same", "valid")},
            r"'conv2d'.*paddings \['SAME', 'SAME', 'VALID'\]",
        ),
        ({"feature_activation": "relu"}, r"'dense' \(Dense\): activation='relu'.*'linear'"),
        ({"head_units": 3}, r"'dense_1'.*3 units"),
    ],
)
def test_cnn_the_model_cannot_express(tmp_path, kwargs, message):
    path = tmp_path / "bad.hdf5"
    cnn_file(path, np.random.default_rng(0), **kwargs)
    with pytest.raises(KerasImportError, match=message):
        keras_hdf5.read_keras_file(path)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            {"reset_after": False},
            r"layer 0 'gru' \(GRU\): reset_after=False; supported: reset_after",
        ),
        ({"recurrent_activation": "hard_sigmoid"}, r"'gru'.*recurrent_activation='hard_sigmoid'"),
    ],
)
def test_rnn_the_model_cannot_express(tmp_path, kwargs, message):
    path = tmp_path / "bad.hdf5"
    rnn_file(path, np.random.default_rng(0), sizes=(3,), **kwargs)
    with pytest.raises(KerasImportError, match=message):
        keras_hdf5.read_keras_file(path)


def test_inner_rnn_layer_must_return_sequences(tmp_path):
    path = tmp_path / "bad.hdf5"
    rnn_file(path, np.random.default_rng(0), sizes=(3, 3))
    edit_config(path, lambda layers: layers[0]["config"].update(return_sequences=False))
    with pytest.raises(KerasImportError, match=r"layer 0 'gru'.*return_sequences=False"):
        keras_hdf5.read_keras_file(path)


def test_weights_that_do_not_fit_the_config(tmp_path):
    path = tmp_path / "bad.hdf5"
    rnn_file(path, np.random.default_rng(0), sizes=(3,))
    edit_config(path, lambda layers: layers[0]["config"].update(units=4))
    with pytest.raises(KerasImportError, match=r"'gru'.*kernel has shape \(4, 9\).*\(4, 12\)"):
        keras_hdf5.read_keras_file(path)


def test_files_that_are_not_keras_2_hdf5(tmp_path):
    text = tmp_path / "notes.hdf5"
    text.write_text("not a checkpoint")
    with pytest.raises(KerasImportError, match=r"notes\.hdf5: not an HDF5 file"):
        keras_hdf5.read_keras_file(text)
    with pytest.raises(KerasImportError, match=r"missing\.h5: no such file"):
        keras_hdf5.read_keras_file(tmp_path / "missing.h5")
    archive = tmp_path / "model.keras"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("config.json", "{}")
    with pytest.raises(KerasImportError, match=r"Keras 3 \.keras.*only Keras 2 HDF5"):
        keras_hdf5.read_keras_file(archive)
    keras3 = tmp_path / "model.weights.h5"
    with h5py.File(keras3, "w") as f:
        f.create_group("layers/dense/vars").create_dataset("0", data=np.zeros((2, 2)))
    with pytest.raises(KerasImportError, match=r"Keras 3 \.weights\.h5.*model\.save\('x\.hdf5'\)"):
        keras_hdf5.read_keras_file(keras3)
    truncated = tmp_path / "truncated.hdf5"
    cnn_file(truncated, np.random.default_rng(0))
    truncated.write_bytes(truncated.read_bytes()[:3000])
    with pytest.raises(KerasImportError, match=r"truncated\.hdf5"):
        keras_hdf5.read_keras_file(truncated)


def test_missing_model_config(tmp_path):
    path = tmp_path / "no_config.hdf5"
    rnn_file(path, np.random.default_rng(0), sizes=(3,))
    with h5py.File(path, "a") as f:
        del f.attrs["model_config"]
    with pytest.raises(KerasImportError, match=r"no_config\.hdf5: no model_config"):
        keras_hdf5.read_keras_file(path)


def test_reading_needs_no_tensorflow():
    code = "import sys, affect_jax.keras_import.hdf5; sys.exit('tensorflow' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
