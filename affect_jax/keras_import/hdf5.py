"""Reads the paper authors' Keras 2 HDF5 checkpoints into FrameCNN / SequenceRegressor variables.

Only Keras 2.x "legacy" HDF5 files (`model.save("x.hdf5")` or `.h5`) carry what
an exact import needs: the model_config JSON (checked layer by layer in
architecture.py) and every layer's weights under
`model_weights/<layer>/<weight name>`. Weights-only files (`save_weights`,
`layer_names` at the root) work when the model's JSON is passed in. No
TensorFlow is needed. Layout facts: shared docs REFERENCE.md, "Keras HDF5
checkpoints".

The arrays' mapping onto our trees: mapping.py.
"""

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from affect_jax.keras_import import mapping
from affect_jax.keras_import.architecture import (
    Architecture,
    KerasImportError,
    KerasLayer,
    analyze,
)

_FILE_ATTRS = ("keras_version", "backend", "model_config", "training_config")
_KERAS2_ONLY = (
    "only Keras 2 HDF5 files are supported: save with model.save('x.hdf5') (or '.h5') "
    "in Keras 2 / tf_keras"
)


@dataclass(frozen=True)
class KerasModel:
    """A checked Keras checkpoint.

    Attributes:
      path: the file read.
      sha256: hex digest of the file's bytes (record it next to imported runs).
      keras_version, backend: the file's attributes (None where absent).
      kind: "cnn" (FrameCNN) or "rnn" (SequenceRegressor).
      layers: the model_config's layers, in order.
      weights: layer name -> weight name ("kernel", "gamma", ...) -> array, as stored.
      training_config: the file's training_config JSON, if any.
    """

    path: Path
    sha256: str
    keras_version: str | None
    backend: str | None
    kind: str
    layers: tuple[KerasLayer, ...]
    weights: dict[str, dict[str, np.ndarray]]
    architecture: Architecture = field(repr=False)
    training_config: dict[str, Any] | None = None


def _text(value: Any) -> str:
    """An HDF5 attribute as str: h5py hands back str, bytes or 0-d arrays by writer."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    return value.decode("utf-8") if isinstance(value, (bytes, np.bytes_)) else str(value)


def _attr_list(attrs: h5py.AttributeManager, key: str) -> list[str] | None:
    """A list attribute; Keras splits long ones into key0, key1, ... (64 KB HDF5 limit)."""
    if key in attrs:
        parts = [attrs[key]]
    else:
        parts, i = [], 0
        while f"{key}{i}" in attrs:
            parts, i = parts + [attrs[f"{key}{i}"]], i + 1
        if not parts:
            return None
    return [_text(v) for part in parts for v in np.atleast_1d(part)]


def _weight_key(name: str) -> str:
    """'gru_1/gru_cell_1/kernel:0' -> 'kernel' (the cell scopes vary by Keras version)."""
    base = name.rsplit("/", 1)[-1]
    return base.split(":", 1)[0]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _dataset_names(group: h5py.Group) -> list[str]:
    names: list[str] = []
    group.visititems(
        lambda name, obj: names.append(name) if isinstance(obj, h5py.Dataset) else None
    )
    return names


def _read_weights(source: str, root: h5py.Group) -> dict[str, dict[str, np.ndarray]]:
    weights: dict[str, dict[str, np.ndarray]] = {}
    for layer_name in _attr_list(root.attrs, "layer_names") or []:
        group = root.get(layer_name)
        if group is None:
            raise KerasImportError(f"{source}: layer_names lists {layer_name!r}, no such group.")
        names = _attr_list(group.attrs, "weight_names")
        if names is None:  # Not a Keras writer: take every dataset below the group.
            names = _dataset_names(group)
        weights[layer_name] = {_weight_key(n): np.asarray(group[n]) for n in names}
    return weights


def _open_error(source: str, path: Path) -> KerasImportError:
    if not path.is_file():
        return KerasImportError(f"{source}: no such file.")
    with path.open("rb") as f:
        magic = f.read(4)
    if magic.startswith(b"PK"):  # A zip: the Keras 3 `.keras` format.
        return KerasImportError(f"{source}: a Keras 3 .keras archive; {_KERAS2_ONLY}.")
    return KerasImportError(f"{source}: not an HDF5 file (missing or corrupt); {_KERAS2_ONLY}.")


def read_keras_file(path: str | Path, model_config: str | dict | None = None) -> KerasModel:
    """Reads and checks a Keras 2 HDF5 checkpoint.

    Args:
      path: the `.hdf5` / `.h5` file.
      model_config: the model's JSON (`model.to_json()`) or its dict, needed only
        for weights-only files; a file's own model_config wins otherwise.

    Returns:
      The checked model; its weights fit our model (to_flax_variables).

    Raises:
      KerasImportError: unreadable file or a model our FrameCNN /
        SequenceRegressor cannot reproduce exactly; the message says why.
    """
    path = Path(path)
    source = str(path)
    if not path.is_file() or not h5py.is_hdf5(path):
        raise _open_error(source, path)
    try:
        with h5py.File(path, "r") as f:
            attrs = {key: _text(f.attrs[key]) for key in _FILE_ATTRS if key in f.attrs}
            if "model_weights" in f and "layer_names" in f["model_weights"].attrs:
                root = f["model_weights"]
            elif _attr_list(f.attrs, "layer_names") is not None:
                root = f  # model.save_weights(): the layers sit at the root.
            elif "layers" in f or "vars" in f:
                raise KerasImportError(f"{source}: a Keras 3 .weights.h5 file; {_KERAS2_ONLY}.")
            else:
                raise KerasImportError(
                    f"{source}: no Keras weights (no layer_names); {_KERAS2_ONLY}."
                )
            weights = _read_weights(source, root)
    except OSError as error:  # h5py: truncated or damaged file.
        raise KerasImportError(f"{source}: cannot be read as HDF5 ({error}).") from error
    config = attrs.get("model_config", model_config)
    if config is None:
        raise KerasImportError(
            f"{source}: no model_config (a weights-only file); pass model_config=model.to_json() "
            "of the model that saved it, or save the file with model.save('x.hdf5')."
        )
    try:
        config = json.loads(config) if isinstance(config, str) else config
        layers, architecture = analyze(config, source)
    except (json.JSONDecodeError, AttributeError, KeyError, TypeError) as error:
        raise KerasImportError(f"{source}: malformed model_config ({error!r}).") from error
    try:  # Only informative (loss, optimizer): an unreadable one is dropped.
        training = json.loads(attrs["training_config"]) if "training_config" in attrs else None
    except json.JSONDecodeError:
        training = None
    # Fail here, not when the variables are first used.
    mapping.check_weights(architecture, weights, source)
    return KerasModel(
        path,
        _sha256(path),
        attrs.get("keras_version"),
        attrs.get("backend"),
        architecture.kind,
        tuple(layers),
        weights,
        architecture,
        training,
    )


def model_settings(model: KerasModel) -> dict[str, Any]:
    """Our model's settings that reproduce the Keras network.

    CNN: variant, conv_features, feature_dim, dropout_rate, num_outputs, head
    ("regression" / "classes"), head_activation, input_norm {epsilon, momentum},
    input_shape. RNN: cell, layer_sizes, window (None for a free time axis),
    target ("next" / "every"), feature_dim, num_outputs, ignored_dropout.
    """
    settings = model.architecture.settings  # A copy: callers may edit theirs.
    return {
        key: dict(value) if isinstance(value, dict) else value for key, value in settings.items()
    }


def cnn_model_settings(model: KerasModel) -> dict[str, Any]:
    """model_settings for a CNN file; KerasImportError for any other."""
    _require_kind(model, "cnn")
    return model_settings(model)


def rnn_model_settings(model: KerasModel) -> dict[str, Any]:
    """model_settings for an RNN file; KerasImportError for any other."""
    _require_kind(model, "rnn")
    return model_settings(model)


def _require_kind(model: KerasModel, kind: str) -> None:
    if model.kind != kind:
        raise KerasImportError(f"{model.path}: holds a {model.kind} model, not a {kind}.")


def to_flax_variables(model: KerasModel) -> dict[str, dict]:
    """float32 NumPy variables for our model built with `model_settings(model)`.

    Returns:
      {"params": ..., "batch_stats": ...} for the CNN, {"params": ...} for the
      RNN: the same tree and shapes as that model's `init` gives.
    """
    return mapping.flax_variables(model.architecture, model.weights, str(model.path))
