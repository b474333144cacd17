"""Serializes builder examples straight into `tf.train.Example` bytes.

TFDS's `encode_example` + `ExampleSerializer` flatten, validate and convert
every field through several layers of Python per example: on Aff-Wild2 that
was as much CPU as decoding the frame's JPEG. For the feature kinds the
Aff-Wild2 builder writes (raw pixel tensors, numeric scalars and fixed-shape
tensors, class labels, text) this writes the same protobuf directly, with the
same checks of shape and dtype; TFDS reads the records back unchanged (tests
compare every field with TFDS's own writer). A builder with any other feature
kind gets None and keeps TFDS's path.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
import tensorflow_datasets as tfds
from tensorflow_datasets.proto import tf_example_generated_pb2


@dataclasses.dataclass(frozen=True)
class _Field:
    name: str
    kind: str  # "bytes", "float" or "int64": the protobuf list it goes into.
    dtype: np.dtype | None  # For tensors: what the value must be castable to.
    shape: tuple[int, ...] | None
    class_names: tuple[str, ...] = ()

    def values(self, value: Any) -> Any:
        if self.kind == "bytes" and self.dtype is None:  # Text.
            return [value.encode("utf-8") if isinstance(value, str) else bytes(value)]
        if self.class_names and isinstance(value, str):
            return [self.class_names.index(value)]
        array = np.asarray(value)
        if not np.can_cast(array.dtype, self.dtype, casting="same_kind") and array.size:
            raise ValueError(f"{self.name}: {array.dtype} values for a {self.dtype} feature")
        if array.shape != self.shape:
            raise ValueError(f"{self.name}: shape {array.shape}, the feature has {self.shape}")
        array = array.astype(self.dtype, copy=False)
        if self.kind == "bytes":
            return [array.tobytes()]
        if self.kind == "int64":  # Booleans too: the protobuf takes them as 0 / 1.
            array = array.astype(np.int64, copy=False)
        return array.reshape(-1).tolist()


def _field(name: str, feature: tfds.features.FeatureConnector) -> _Field | None:
    if isinstance(feature, tfds.features.Text):
        return _Field(name, "bytes", None, None)
    if isinstance(feature, tfds.features.ClassLabel):
        return _Field(name, "int64", np.dtype(np.int64), (), tuple(feature.names))
    if type(feature) not in (tfds.features.Tensor, tfds.features.Scalar):
        return None
    shape, dtype = tuple(feature.shape), np.dtype(feature.np_dtype)
    if None in shape or dtype.kind not in "fiub":
        return None
    if feature._encoding == tfds.features.Encoding.BYTES:
        return _Field(name, "bytes", dtype, shape)
    if feature._encoding != tfds.features.Encoding.NONE:
        return None
    return _Field(name, "float" if dtype.kind == "f" else "int64", dtype, shape)


def example_encoder(features: tfds.features.FeaturesDict) -> Callable[[dict], bytes] | None:
    """example dict -> serialized `tf.train.Example`, or None if a feature is not ours."""
    fields = [_field(name, feature) for name, feature in features.items()]
    if None in fields:
        return None
    names = {field.name for field in fields}

    def encode(example: dict[str, Any]) -> bytes:
        if example.keys() != names:
            raise ValueError(f"Example fields {sorted(example)}, the features {sorted(names)}")
        message = tf_example_generated_pb2.Example()
        slots = message.features.feature
        for field in fields:
            values = field.values(example[field.name])
            getattr(slots[field.name], f"{field.kind}_list").value.extend(values)
        return message.SerializeToString()

    return encode
