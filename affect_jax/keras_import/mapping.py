"""A checked Keras layer list's arrays -> FrameCNN / SequenceRegressor variable trees.

Mapping facts (tests/models/test_keras_hdf5.py checks them against an
independent NumPy implementation of the Keras layers):
* Conv2D kernels are HWIO in both frameworks: copied as they are.
* Keras Flatten of the NHWC [2, 2, C] map reads row (h * 2 + w) * C + c, and so
  does FrameCNN's reshape of quadrant_pool's [N, 2, 2, C]: no permutation.
* Keras GRU (reset_after=True) stacks the gates z, r, h in the kernel columns;
  bias row 0 is the input bias, row 1 the recurrent one. Flax's GRUCell has no
  recurrent bias for z and r, but there the two biases are only ever added, so
  z's and r's are summed into iz / ir; the candidate's recurrent bias sits inside
  r * (h Uh + rh) and goes to hn's bias. Both write h' = z * h + (1 - z) * n.
"""

import numpy as np

from affect_jax.keras_import.architecture import Architecture, KerasImportError, KerasLayer

Arrays = dict[str, dict[str, np.ndarray]]  # Keras layer name -> weight name -> array.


class _Weights:
    """Hands out a file's arrays by (layer, name, shape), remembering what was taken."""

    def __init__(self, source: str, arrays: Arrays):
        self.source, self.arrays, self.taken = source, arrays, set()

    def get(self, layer: KerasLayer, name: str, shape: tuple, absent: float | None = None):
        if layer.name not in self.arrays and absent is None:
            raise KerasImportError(
                f"{self.source}: {layer.describe()}: the file has no weights for it "
                f"(its layers: {sorted(self.arrays)})."
            )
        arrays = self.arrays.get(layer.name, {})
        if name not in arrays and absent is not None:  # The config says Keras made none.
            return np.full(shape, absent, np.float32)
        if name not in arrays:
            raise KerasImportError(
                f"{self.source}: {layer.describe()}: no weight {name!r} "
                f"(has {sorted(arrays)}); the weights do not fit the config."
            )
        array = np.array(arrays[name], np.float32)  # A copy: callers may edit it.
        if array.shape != tuple(shape):
            raise KerasImportError(
                f"{self.source}: {layer.describe()}: {name} has shape "
                f"{array.shape}, the config implies {tuple(shape)}."
            )
        self.taken.add((layer.name, name))
        return array


def check_weights(architecture: Architecture, arrays: Arrays, source: str) -> None:
    """Every array has the shape the config implies and a place in our model."""
    used = _Weights(source, arrays)
    _convert(architecture, used)
    for layer_name, layer_arrays in arrays.items():
        extra = sorted(n for n in layer_arrays if (layer_name, n) not in used.taken)
        if extra:
            raise KerasImportError(
                f"{source}: layer {layer_name!r} has weights {extra} "
                "that our model has no place for."
            )


def flax_variables(architecture: Architecture, arrays: Arrays, source: str) -> dict[str, dict]:
    """float32 variables: {"params", "batch_stats"} for the CNN, {"params"} for the RNN."""
    return _convert(architecture, _Weights(source, arrays))


def _convert(architecture: Architecture, weights: _Weights) -> dict[str, dict]:
    if architecture.kind == "cnn":
        return _cnn_variables(architecture, weights)
    return _rnn_variables(architecture, weights)


def _absent(enabled: bool, fill: float = 0.0) -> float | None:
    """The fill of a weight that a Keras option (use_bias, center, scale) can
    switch off: None (required) when it is on."""
    return None if enabled else fill


def _dense(weights: _Weights, layer: KerasLayer, rows: int, units: int) -> dict:
    bias = _absent(layer.config.get("use_bias", True))
    return {
        "kernel": weights.get(layer, "kernel", (rows, units)),
        "bias": weights.get(layer, "bias", (units,), bias),
    }


def _cnn_variables(arch: Architecture, weights: _Weights) -> dict[str, dict]:
    s, roles = arch.settings, arch.roles
    norm, channels = roles["input_norm"], s["input_shape"][-1]
    scale = weights.get(norm, "gamma", (channels,), _absent(norm.config.get("scale", True), 1.0))
    bias = weights.get(norm, "beta", (channels,), _absent(norm.config.get("center", True)))
    params: dict[str, dict] = {"input_norm": {"scale": scale, "bias": bias}}
    stats = {
        "mean": weights.get(norm, "moving_mean", (channels,)),
        "var": weights.get(norm, "moving_variance", (channels,)),
    }
    for i, features in enumerate(s["conv_features"]):
        shape = (5, 5, channels, features)  # HWIO in Keras and flax alike.
        params[f"conv{i + 1}"] = {"kernel": weights.get(roles[f"conv{i + 1}"], "kernel", shape)}
        channels = features
    # Flatten order matches (module docstring): 4 quadrants x C rows, unpermuted.
    params["features"] = _dense(weights, roles["features"], 4 * channels, s["feature_dim"])
    params["head"] = _dense(weights, roles["head"], s["feature_dim"], s["num_outputs"])
    return {"params": params, "batch_stats": {"input_norm": stats}}


def _rnn_variables(arch: Architecture, weights: _Weights) -> dict[str, dict]:
    s, roles = arch.settings, arch.roles
    params: dict[str, dict] = {}
    inputs = s["feature_dim"]
    for i, size in enumerate(s["layer_sizes"]):
        layer = roles[f"layer{i + 1}"]
        no_bias = _absent(layer.config.get("use_bias", True))
        if s["cell"] == "simple_rnn":
            params[f"layer{i + 1}"] = {
                "i": {
                    "kernel": weights.get(layer, "kernel", (inputs, size)),
                    "bias": weights.get(layer, "bias", (size,), no_bias),
                },
                "h": {"kernel": weights.get(layer, "recurrent_kernel", (size, size))},
            }
        else:
            kernel = weights.get(layer, "kernel", (inputs, 3 * size))
            recurrent = weights.get(layer, "recurrent_kernel", (size, 3 * size))
            bias = weights.get(layer, "bias", (2, 3 * size), no_bias)
            z, r, h = (slice(k * size, (k + 1) * size) for k in range(3))  # Keras' gate order.
            params[f"layer{i + 1}"] = {
                # Input and recurrent biases of z and r are only summed: fold them.
                "iz": {"kernel": kernel[:, z], "bias": bias[0, z] + bias[1, z]},
                "ir": {"kernel": kernel[:, r], "bias": bias[0, r] + bias[1, r]},
                "in": {"kernel": kernel[:, h], "bias": bias[0, h]},
                "hz": {"kernel": recurrent[:, z]},
                "hr": {"kernel": recurrent[:, r]},
                # rh is multiplied by r with h Uh: it is hn's bias, as in flax.
                "hn": {"kernel": recurrent[:, h], "bias": bias[1, h]},
            }
        inputs = size
    params["head"] = _dense(weights, roles["head"], inputs, s["num_outputs"])
    return {"params": params}
