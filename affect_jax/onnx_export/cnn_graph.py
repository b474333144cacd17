"""The frame CNN (models/cnn.py) as an ONNX graph, from a run's parameters.

frames uint8 [N, 96, 96, 1] -> outputs float32 [N, K] (the head: VA values,
expression or AU logits) and features float32 [N, D] (what the RNN reads).
The batch N is dynamic. The input normalisation (pixels / 255, then the
BatchNorm's running statistics, scale and bias) is folded into one multiply
and add; the rest is the network as models/cnn.py writes it: three 5x5
convolutions with ReLU, 2x2 max pooling after the first two, the mean of each
image quadrant after the third, flattened in NHWC order, the feature layer
(with ReLU for the khorrami variant) and the head. Dropout is off at inference.
"""

from __future__ import annotations

import flax.linen as nn
import numpy as np
import onnx
from onnx import TensorProto

from affect_jax.models.cnn import VARIANTS
from affect_jax.models.registry import FRAME_SHAPE
from affect_jax.onnx_export.graph_builder import (
    ExportError,
    GraphBuilder,
    check_layers,
    tensor_info,
)

_LAYERS = {"input_norm", "conv1", "conv2", "conv3", "features", "head"}
_BATCHNORM_EPSILON = 1e-3  # Keras' default, as models/cnn.py uses.


def _conv_size(size: int, kernel: int, padding: str) -> int:
    return size if padding == "SAME" else size - kernel + 1


def cnn_graph(variables: dict, model_config, precision: str, where: str) -> onnx.ModelProto:
    """The CNN of `variables` ({"params", "batch_stats"} as NumPy arrays) as ONNX.

    Args:
      model_config: the run's config.model (variant, conv_features).
      where: the checkpoint, named in errors.
    """
    if model_config.name != "cnn":
        raise ExportError(f"{where} is a {model_config.name!r} model, not the frame CNN.")
    variant = model_config.get("variant", "reference")
    paddings, activation = VARIANTS.get(variant, (None, None))
    if paddings is None or activation not in (None, nn.relu):
        raise ExportError(
            f"{where}: CNN variant {variant!r} (config.model.variant) has no ONNX form; "
            f"known: {', '.join(VARIANTS)}."
        )
    feature_relu = activation is nn.relu
    params, stats = variables["params"], variables.get("batch_stats", {})
    check_layers(params, _LAYERS, where)
    check_layers(stats, {"input_norm"}, f"{where} (batch_stats)")
    graph = GraphBuilder(precision)

    # Pixels in [0, 255] -> BatchNorm(pixels / 255), as one affine map (float64 first).
    norm, running = params["input_norm"], stats["input_norm"]
    gain = np.asarray(norm["scale"], np.float64) / np.sqrt(
        np.asarray(running["var"], np.float64) + _BATCHNORM_EPSILON
    )
    shift = np.asarray(norm["bias"], np.float64) - np.asarray(running["mean"], np.float64) * gain
    x = graph.to_compute_type("frames")
    x = graph.node("Transpose", [x], "to_nchw", perm=[0, 3, 1, 2])
    x = graph.node(
        "Mul", [x, graph.weight("pixel_gain", (gain / 255.0).reshape(1, -1, 1, 1))], "norm"
    )
    x = graph.node("Add", [x, graph.weight("pixel_shift", shift.reshape(1, -1, 1, 1))], "norm")

    size = FRAME_SHAPE[0]
    for i, padding in enumerate(paddings):
        kernel = np.asarray(params[f"conv{i + 1}"]["kernel"])  # HWIO
        height = kernel.shape[0]
        # SAME as XLA pads it: k - 1 in all, the smaller half first.
        low, high = (height - 1) // 2, (height - 1) - (height - 1) // 2
        x = graph.node(
            "Conv",
            [x, graph.weight(f"conv{i + 1}_kernel", kernel.transpose(3, 2, 0, 1))],
            f"conv{i + 1}",
            kernel_shape=list(kernel.shape[:2]),
            pads=[low, low, high, high] if padding == "SAME" else [0, 0, 0, 0],
        )
        x = graph.node("Relu", [x], f"relu{i + 1}")
        size = _conv_size(size, height, padding)
        if i < 2:  # 2x2 max pooling; an odd last row/column is dropped (floor), as in JAX.
            x = graph.node("MaxPool", [x], f"pool{i + 1}", kernel_shape=[2, 2], strides=[2, 2])
            size //= 2
    # Mean over each image quadrant (an odd last row/column dropped): N x C x 2 x 2.
    half = size // 2
    x = graph.node("AveragePool", [x], "quadrants", kernel_shape=[half, half], strides=[half, half])
    x = graph.node("Transpose", [x], "to_nhwc", perm=[0, 2, 3, 1])
    width = 4 * np.asarray(params["conv3"]["kernel"]).shape[-1]
    x = graph.node("Reshape", [x, graph.int64s("flat_shape", [-1, width])], "flatten")
    features = graph.dense(x, params["features"], "features")
    if feature_relu:
        features = graph.node("Relu", [features], "features_relu")
    outputs = graph.dense(features, params["head"], "head")
    graph.output(outputs, "outputs")
    graph.output(features, "features")
    heads = np.asarray(params["head"]["kernel"]).shape[1]
    feature_dim = np.asarray(params["features"]["kernel"]).shape[1]
    return graph.model(
        "frame_cnn",
        [tensor_info("frames", TensorProto.UINT8, ["batch", *FRAME_SHAPE])],
        [
            tensor_info("outputs", TensorProto.FLOAT, ["batch", heads]),
            tensor_info("features", TensorProto.FLOAT, ["batch", feature_dim]),
        ],
    )
