"""The model_config's layer list, read and checked one layer at a time (no weights).

architecture.py says what the whole list means for our models; this
module gives it the layers in order, with Activation layers folded into the
Conv2D or Dense before them, and the helpers whose errors name a layer, its
index and what is supported.
"""

from dataclasses import dataclass
from typing import Any

from affect_jax.runtime import ProjectError

_ALIASES = {"MaxPool2D": "MaxPooling2D", "AvgPool2D": "AveragePooling2D"}
_FOLDABLE = "an Activation directly after a linear Conv2D or Dense"


class KerasImportError(ProjectError, ValueError):
    """A Keras file that cannot become one of our models; the message names the file,
    the layer and the fix."""


@dataclass(frozen=True)
class KerasLayer:
    """One entry of the model_config's layer list."""

    index: int
    name: str
    class_name: str
    config: dict[str, Any]

    def describe(self) -> str:
        return f"layer {self.index} {self.name!r} ({self.class_name})"


def fail(source: str, layer: KerasLayer, what: str, supported: str) -> KerasImportError:
    """The error for `layer` of the file `source`: what it has and what is supported."""
    return KerasImportError(f"{source}: {layer.describe()}: {what}; supported: {supported}.")


def parse_layers(model_config: dict[str, Any], source: str) -> list[KerasLayer]:
    """The layers of a Sequential model_config, in order."""
    class_name = model_config.get("class_name")
    if class_name != "Sequential":
        raise KerasImportError(
            f"{source}: the model is a {class_name!r}; only Keras Sequential models "
            "(the authors' layout) are supported."
        )
    config = model_config.get("config")
    entries = config.get("layers") if isinstance(config, dict) else config  # Keras < 2.2: a list.
    if not isinstance(entries, list) or not entries:
        raise KerasImportError(f"{source}: model_config has no layer list.")
    layers = []
    for index, entry in enumerate(entries):
        layer_config = entry.get("config") or {}
        name = str(layer_config.get("name", f"#{index}"))
        class_name = _ALIASES.get(entry.get("class_name"), entry.get("class_name"))
        layers.append(KerasLayer(index, name, str(class_name), layer_config))
    return layers


def input_shape(layers: list[KerasLayer], model_config: dict[str, Any]) -> tuple | None:
    """The model's input shape less the batch axis (None where the file does not say)."""
    first = layers[0].config
    shape = first.get("batch_input_shape") or first.get("batch_shape")  # Keras 3: batch_shape.
    if shape is None:
        config = model_config.get("config")
        shape = config.get("build_input_shape") if isinstance(config, dict) else None
    return None if shape is None else tuple(shape[1:])


def _activation(source: str, layer: KerasLayer) -> str:
    activation = layer.config.get("activation", "linear")
    if not isinstance(activation, str):
        raise fail(source, layer, f"activation {activation!r}", "activations named by a string")
    return activation


def fold_activations(source: str, layers: list[KerasLayer]) -> list[tuple[KerasLayer, str]]:
    """Drops the InputLayer and merges Activation layers into the layer before them."""
    folded: list[tuple[KerasLayer, str]] = []
    for layer in layers:
        if layer.class_name == "InputLayer":
            if layer.index != 0:
                raise fail(source, layer, "an InputLayer after the first layer", "Sequential")
            continue
        if layer.class_name != "Activation":
            folded.append((layer, _activation(source, layer)))
            continue
        activation = _activation(source, layer)
        if activation == "linear":
            continue
        previous, previous_activation = folded[-1] if folded else (None, None)
        if previous is None or previous.class_name not in ("Conv2D", "Dense"):
            raise fail(source, layer, f"{activation} here", _FOLDABLE)
        if previous_activation != "linear":
            raise fail(source, layer, f"{activation} after {previous_activation}", _FOLDABLE)
        folded[-1] = (previous, activation)  # Same as the layer's own activation.
    return folded


def pair(value: Any) -> tuple:
    """A Keras size argument (an int or a pair) as a pair."""
    return tuple(value) if isinstance(value, (list, tuple)) else (value, value)


def expect(source: str, layer: KerasLayer, key: str, got: Any, allowed: tuple) -> None:
    """Raises unless the layer's setting `key` is one of `allowed`."""
    if got not in allowed:
        wanted = " or ".join(repr(a) for a in allowed)
        raise fail(source, layer, f"{key}={got!r}", f"{key}={wanted}")


def channels_last(source: str, layer: KerasLayer) -> None:
    """Raises unless the layer reads NHWC, as our models do."""
    fmt = layer.config.get("data_format", "channels_last")
    expect(source, layer, "data_format", fmt, ("channels_last", None))


def take(source: str, folded: list, position: int, class_name: str, layout: str):
    """(layer, activation) at `position` of the folded list, which must be a `class_name`."""
    if position >= len(folded):
        last = folded[-1][0]
        raise KerasImportError(
            f"{source}: the model ends at {last.describe()}, expected a {class_name} next; "
            f"supported layout: {layout}."
        )
    layer, activation = folded[position]
    if layer.class_name != class_name:
        raise fail(source, layer, f"expected a {class_name} here", layout)
    return layer, activation
