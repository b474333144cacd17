"""Keras 2 HDF5 files written with h5py, in the layout Keras 2.3 writes (no TensorFlow).

The layout: shared docs REFERENCE.md, "Keras HDF5 checkpoints". Weights are
random and non-symmetric, so that a swapped gate, a transposed kernel or a wrong
flatten order changes the numbers.
"""

import json

import h5py
import numpy as np


def layer(class_name, name, **config):
    """One model_config layer entry, as Keras 2.3 writes it."""
    return {
        "class_name": class_name,
        "config": {"name": name, "trainable": True, "dtype": "float32", **config},
    }


def write_keras_file(path, layers, weights, *, weights_only=False, as_bytes=False):
    """A Keras 2 `model.save` (or `save_weights`) file.

    Args:
      layers: model_config layer entries.
      weights: layer name -> [(weight name as Keras writes it, array)].
    """
    text = (lambda s: s.encode()) if as_bytes else (lambda s: s)
    config = {"class_name": "Sequential", "config": {"name": "sequential", "layers": layers}}
    names = [entry["config"]["name"] for entry in layers if entry["class_name"] != "InputLayer"]
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = text("2.3.0-tf")
        f.attrs["backend"] = text("tensorflow")
        root = f
        if not weights_only:
            f.attrs["model_config"] = text(json.dumps(config))
            f.attrs["training_config"] = text(json.dumps({"loss": "ccc_loss"}))
            root = f.create_group("model_weights")
            root.create_group("top_level_model_weights")  # Newer tf_keras; not a layer.
            f.create_dataset("optimizer_weights/training/SGD/iter:0", data=np.int64(7))
        root.attrs["layer_names"] = np.array([n.encode() for n in names])
        for name in names:
            group = root.create_group(name)
            pairs = weights.get(name, [])
            group.attrs["weight_names"] = np.array([w.encode() for w, _ in pairs])
            for weight_name, array in pairs:
                group.create_dataset(weight_name, data=np.asarray(array, np.float32))
    return config


def cnn_file(
    path,
    rng,
    *,
    features=(4, 8, 8),
    feature_dim=16,
    paddings=("same", "valid", "valid"),
    feature_activation="linear",
    head_units=2,
    head_activation="linear",
    avg_pool=9,
    input_shape=(96, 96, 1),
    epsilon=1e-3,
    conv_bias=False,
    split_relu=False,
):
    """A Sequential CNN file with random weights; returns (layers, keras arrays by role)."""
    arrays = {
        "gamma": rng.uniform(0.5, 2.0, 1),
        "beta": rng.normal(0, 0.3, 1),
        # A small variance, so that the BatchNorm epsilon visibly matters.
        "mean": rng.uniform(0.3, 0.6, 1),
        "var": rng.uniform(0.01, 0.05, 1),
    }
    layers = [
        layer(
            "BatchNormalization",
            "batch_normalization",
            batch_input_shape=[None, *input_shape],
            axis=[3],
            momentum=0.99,
            epsilon=epsilon,
            center=True,
            scale=True,
        )
    ]
    weights = {
        "batch_normalization": [
            (f"batch_normalization/{k}:0", arrays[v])
            for k, v in (
                ("gamma", "gamma"),
                ("beta", "beta"),
                ("moving_mean", "mean"),
                ("moving_variance", "var"),
            )
        ]
    }
    channels = input_shape[-1]
    for i, (filters, padding) in enumerate(zip(features, paddings, strict=True)):
        name = "conv2d" if i == 0 else f"conv2d_{i}"
        kernel = rng.normal(0, np.sqrt(2 / (25 * channels)), (5, 5, channels, filters))
        arrays[f"conv{i + 1}"] = kernel
        layers.append(
            layer(
                "Conv2D",
                name,
                filters=filters,
                kernel_size=[5, 5],
                strides=[1, 1],
                padding=padding,
                data_format="channels_last",
                dilation_rate=[1, 1],
                activation="linear" if split_relu else "relu",
                use_bias=conv_bias,
            )
        )
        weights[name] = [(f"{name}/kernel:0", kernel)]
        if conv_bias:
            weights[name].append((f"{name}/bias:0", rng.normal(0, 0.1, filters)))
        if split_relu:
            layers.append(layer("Activation", f"activation_{i}", activation="relu"))
        if i < 2:
            pool = "max_pooling2d" if i == 0 else "max_pooling2d_1"
            layers.append(
                layer(
                    "MaxPooling2D",
                    pool,
                    pool_size=[2, 2],
                    padding="valid",
                    strides=[2, 2],
                    data_format="channels_last",
                )
            )
        else:
            layers.append(
                layer(
                    "AveragePooling2D",
                    "average_pooling2d",
                    pool_size=[avg_pool, avg_pool],
                    padding="valid",
                    strides=[avg_pool, avg_pool],
                    data_format="channels_last",
                )
            )
        channels = filters
    layers.append(layer("Flatten", "flatten", data_format="channels_last"))
    for name, rows, units, activation in (
        ("dense", 4 * channels, feature_dim, feature_activation),
        ("dense_1", feature_dim, head_units, head_activation),
    ):
        layers.append(layer("Dense", name, units=units, activation=activation, use_bias=True))
        arrays[name] = (rng.normal(0, np.sqrt(1 / rows), (rows, units)), rng.normal(0, 0.2, units))
        weights[name] = [(f"{name}/kernel:0", arrays[name][0]), (f"{name}/bias:0", arrays[name][1])]
        if name == "dense":
            layers.append(layer("Dropout", "dropout", rate=0.5, noise_shape=None, seed=None))
    write_keras_file(path, layers, weights)
    return layers, arrays


def rnn_file(
    path,
    rng,
    *,
    cell="GRU",
    sizes=(5, 6, 3),
    window=7,
    feature_dim=4,
    every=False,
    reset_after=True,
    recurrent_activation="sigmoid",
):
    """A Sequential GRU/SimpleRNN file; returns (layers, weights by layer name)."""
    layers, weights, arrays, inputs = [], {}, [], feature_dim
    for i, units in enumerate(sizes):
        base = cell.lower() if cell == "GRU" else "simple_rnn"
        name, cell_name = (base, f"{base}_cell") if i == 0 else (f"{base}_{i}", f"{base}_cell_{i}")
        config = dict(
            units=units,
            activation="tanh",
            use_bias=True,
            dropout=0.0,
            recurrent_dropout=0.0,
            return_sequences=i < len(sizes) - 1 or every,
            return_state=False,
            go_backwards=False,
            stateful=False,
            unroll=False,
            time_major=False,
        )
        if i == 0:
            config["batch_input_shape"] = [None, window, feature_dim]
        gates = 3 if cell == "GRU" else 1
        layer_arrays = [
            rng.normal(0, 0.5, (inputs, gates * units)),
            rng.normal(0, 0.5, (units, gates * units)),
        ]
        if cell == "GRU":
            config.update(
                recurrent_activation=recurrent_activation, implementation=2, reset_after=reset_after
            )
            layer_arrays.append(rng.normal(0, 0.5, (2, 3 * units)))
        else:
            layer_arrays.append(rng.normal(0, 0.5, units))
        layers.append(layer(cell, name, **config))
        weights[name] = [
            (f"{name}/{cell_name}/{w}:0", a)
            for w, a in zip(("kernel", "recurrent_kernel", "bias"), layer_arrays, strict=True)
        ]
        arrays.append(layer_arrays)
        inputs = units
    layers.append(layer("Dense", "dense", units=2, activation="linear", use_bias=True))
    head = (rng.normal(0, 0.5, (inputs, 2)), rng.normal(0, 0.5, 2))
    weights["dense"] = [("dense/kernel:0", head[0]), ("dense/bias:0", head[1])]
    write_keras_file(path, layers, weights)
    return layers, arrays, head


def edit_config(path, edit):
    """Applies `edit` to the file's model_config layer list, in place."""
    with h5py.File(path, "a") as f:
        config = json.loads(f.attrs["model_config"])
        edit(config["config"]["layers"])
        f.attrs["model_config"] = json.dumps(config)
