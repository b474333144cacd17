"""Checks a Keras 2 Sequential layer list against this project's FrameCNN and SequenceRegressor.

The check reads only the model_config's layer classes and settings, never the
weight names, and says which of our settings reproduce the network exactly.
Anything our models cannot express (a conv bias, another BatchNorm epsilon, a
GRU with reset_after=False, ...) is a KerasImportError naming the layer.
Layer facts: shared docs REFERENCE.md, "CNN feature extractor" and "Keras HDF5
checkpoints".
"""

from dataclasses import dataclass
from typing import Any

from affect_jax.keras_import.layers import (
    KerasImportError,
    KerasLayer,
    channels_last,
    expect,
    fail,
    fold_activations,
    input_shape,
    pair,
    parse_layers,
    take,
)
from affect_jax.models.cnn import VARIANTS
from affect_jax.models.input_norm import InputNormalization
from affect_jax.models.registry import FRAME_SHAPE

__all__ = ["Architecture", "KerasImportError", "KerasLayer", "analyze"]

# FrameCNN's input BatchNorm epsilon (cnn.py passes the same literal). Its
# momentum only steers training's running averages, so another one is reported,
# not refused.
NORM_EPSILON = InputNormalization.epsilon
_RNN_CELLS = {"GRU": "gru", "SimpleRNN": "simple_rnn"}
_CNN_LAYOUT = (
    "BatchNormalization, Conv2D, MaxPooling2D, Conv2D, MaxPooling2D, Conv2D, "
    "AveragePooling2D, Flatten, Dense, [Dropout], Dense"
)
_RNN_LAYOUT = "GRU or SimpleRNN layers (one kind), [Dropout], Dense"


@dataclass(frozen=True)
class Architecture:
    """What the layer list means for us.

    Attributes:
      kind: "cnn" or "rnn".
      settings: our model's settings (see keras_hdf5.model_settings).
      roles: our parameter group ("conv1", "layer2", "head", ...) -> the Keras
        layer whose weights fill it.
    """

    kind: str
    settings: dict[str, Any]
    roles: dict[str, KerasLayer]


def analyze(model_config: dict[str, Any], source: str) -> tuple[list[KerasLayer], Architecture]:
    """Parses and checks the layer list; raises KerasImportError on anything unsupported."""
    layers = parse_layers(model_config, source)
    folded = fold_activations(source, layers)
    if not folded:
        raise KerasImportError(f"{source}: the model has no layers besides its input.")
    shape = input_shape(layers, model_config)
    first = folded[0][0]
    if first.class_name in ("BatchNormalization", "Conv2D"):
        return layers, _analyze_cnn(source, folded, shape)
    if first.class_name in _RNN_CELLS:
        return layers, _analyze_rnn(source, folded, shape)
    raise fail(
        source,
        first,
        "an unsupported first layer",
        f"the CNN ({_CNN_LAYOUT}) or the RNN ({_RNN_LAYOUT})",
    )


def _check_pool(source: str, layer: KerasLayer, size: int) -> None:
    pool = pair(layer.config.get("pool_size", 2))
    strides = pair(layer.config.get("strides") or pool)  # Keras: strides None = pool_size.
    expect(source, layer, "pool_size", pool, ((size, size),))
    expect(source, layer, "strides", strides, ((size, size),))
    expect(source, layer, "padding", layer.config.get("padding", "valid"), ("valid",))
    channels_last(source, layer)


def _check_conv(source: str, layer: KerasLayer, activation: str) -> str:
    cfg = layer.config
    expect(source, layer, "kernel_size", pair(cfg.get("kernel_size")), ((5, 5),))
    expect(source, layer, "strides", pair(cfg.get("strides", 1)), ((1, 1),))
    expect(source, layer, "dilation_rate", pair(cfg.get("dilation_rate", 1)), ((1, 1),))
    expect(source, layer, "groups", cfg.get("groups", 1), (1,))
    expect(source, layer, "use_bias", cfg.get("use_bias", True), (False,))  # FrameCNN has none.
    expect(source, layer, "activation", activation, ("relu",))
    channels_last(source, layer)
    padding = str(cfg.get("padding", "valid")).upper()
    expect(source, layer, "padding", padding, ("SAME", "VALID"))
    return padding


def _analyze_cnn(source: str, folded: list, shape: tuple | None) -> Architecture:
    layout = _CNN_LAYOUT
    if shape != FRAME_SHAPE:
        raise fail(
            source,
            folded[0][0],
            f"input shape {shape}",
            f"{FRAME_SHAPE} (96x96 gray frames, channels last)",
        )
    roles: dict[str, KerasLayer] = {}
    norm, _ = take(source, folded, 0, "BatchNormalization", layout)
    expect(source, norm, "axis", pair(norm.config.get("axis", -1))[0], (-1, 3))
    epsilon = float(norm.config.get("epsilon", 1e-3))
    if abs(epsilon - NORM_EPSILON) > 1e-12:
        raise fail(source, norm, f"epsilon={epsilon}", f"epsilon={NORM_EPSILON} (FrameCNN's)")
    roles["input_norm"] = norm
    size, paddings, features, position = FRAME_SHAPE[0], [], [], 1
    for i in range(3):
        conv, activation = take(source, folded, position, "Conv2D", layout)
        paddings.append(_check_conv(source, conv, activation))
        features.append(int(conv.config["filters"]))
        roles[f"conv{i + 1}"] = conv
        size = size if paddings[-1] == "SAME" else size - 4
        pool, _ = take(
            source, folded, position + 1, "MaxPooling2D" if i < 2 else "AveragePooling2D", layout
        )
        if i < 2:
            _check_pool(source, pool, 2)
            size = size // 2
        position += 2
    variant = next((v for v, (p, _) in VARIANTS.items() if list(p) == paddings), None)
    if variant is None:
        raise fail(
            source,
            roles["conv1"],
            f"paddings {paddings}",
            ", ".join(f"{v}: {list(p)}" for v, (p, _) in VARIANTS.items()),
        )
    # Our quadrant pooling = the mean over each (size // 2)-square, odd tails dropped.
    _check_pool(source, pool, size // 2)
    flatten, _ = take(source, folded, position, "Flatten", layout)
    channels_last(source, flatten)
    dense, activation = take(source, folded, position + 1, "Dense", layout)
    wanted = getattr(VARIANTS[variant][1], "__name__", "linear")
    expect(source, dense, "activation", activation, (wanted,))  # Fixed by the variant.
    roles["features"], position = dense, position + 2
    dropout_rate = 0.0
    if position < len(folded) and folded[position][0].class_name == "Dropout":
        dropout_rate = float(folded[position][0].config.get("rate", 0.0))
        position += 1
    head, head_activation = take(source, folded, position, "Dense", layout)
    units = int(head.config["units"])
    if head_activation == "linear" and units in (1, 2):
        head_kind = "regression"
    elif (head_activation == "softmax" and units >= 2) or (
        head_activation == "linear" and units == 8
    ):
        head_kind = "classes"  # Our head gives logits; softmax of them is Keras' output.
    else:
        raise fail(
            source,
            head,
            f"{units} units, activation {head_activation}",
            "1 or 2 linear units (valence/arousal) or softmax / 8 linear class logits",
        )
    roles["head"] = head
    if position + 1 < len(folded):
        raise fail(source, folded[position + 1][0], "a layer after the head", layout)
    settings = {
        "variant": variant,
        "conv_features": tuple(features),
        "feature_dim": int(dense.config["units"]),
        "dropout_rate": dropout_rate,
        "num_outputs": units,
        "head": head_kind,
        "head_activation": head_activation,
        "input_norm": {"epsilon": epsilon, "momentum": float(norm.config.get("momentum", 0.99))},
        "input_shape": FRAME_SHAPE,
    }
    return Architecture("cnn", settings, roles)


def _check_cell(source: str, layer: KerasLayer, activation: str) -> None:
    cfg = layer.config
    expect(source, layer, "activation", activation, ("tanh",))
    for key in ("return_state", "go_backwards", "stateful", "time_major"):
        expect(source, layer, key, cfg.get(key, False), (False,))
    if layer.class_name == "GRU":
        # reset_after=False computes r * h before the recurrent product; flax cannot.
        expect(source, layer, "reset_after", cfg.get("reset_after", True), (True,))
        expect(source, layer, "recurrent_activation", cfg.get("recurrent_activation"), ("sigmoid",))


def _analyze_rnn(source: str, folded: list, shape: tuple | None) -> Architecture:
    if shape is None or len(shape) != 2 or shape[1] is None:
        raise fail(source, folded[0][0], f"input shape {shape}", "[time or null, features]")
    cell_class = folded[0][0].class_name
    roles: dict[str, KerasLayer] = {}
    sizes, ignored, head = [], [], None
    for layer, activation in folded:
        if layer.class_name in _RNN_CELLS and head is None:
            if layer.class_name != cell_class:
                raise fail(
                    source,
                    layer,
                    f"a {layer.class_name} after {cell_class}s",
                    "one cell kind in every layer",
                )
            _check_cell(source, layer, activation)
            sizes.append(int(layer.config["units"]))
            roles[f"layer{len(sizes)}"] = layer
            for key in ("dropout", "recurrent_dropout"):
                if float(layer.config.get(key, 0.0)):
                    ignored.append(f"{layer.name}.{key}={layer.config[key]}")
        elif layer.class_name == "Dropout" and head is None:
            ignored.append(f"{layer.name}.rate={layer.config.get('rate')}")
        elif layer.class_name == "Dense" and head is None:
            expect(source, layer, "activation", activation, ("linear",))
            head = layer
        else:
            raise fail(source, layer, "unsupported here", _RNN_LAYOUT)
    if head is None:
        raise KerasImportError(f"{source}: the RNN has no Dense head; supported: {_RNN_LAYOUT}.")
    cells = [roles[f"layer{i + 1}"] for i in range(len(sizes))]
    for layer in cells[:-1]:  # Our stacked layers always pass on the whole sequence.
        expect(source, layer, "return_sequences", layer.config.get("return_sequences"), (True,))
    every = bool(cells[-1].config.get("return_sequences", False))
    roles["head"] = head
    settings = {
        "cell": _RNN_CELLS[cell_class],
        "layer_sizes": tuple(sizes),
        "window": None if shape[0] is None else int(shape[0]),
        "target": "every" if every else "next",
        "feature_dim": int(shape[1]),
        "num_outputs": int(head.config["units"]),
        # Dropout is identity at inference; our SequenceRegressor has none to train with.
        "ignored_dropout": tuple(ignored),
    }
    return Architecture("rnn", settings, roles)
