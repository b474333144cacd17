"""The sequence model (models/rnn.py) as an ONNX graph, with ONNX's own GRU and RNN operators.

windows float32 [B, W, D] -> outputs float32 [B, K] (the last step's, target
"next") or [B, W, K] (every step's, target "every"); B is dynamic. Each layer
of flax's cells is one ONNX operator with zero initial state:
- GRUCell (reset gate applied after the recurrent product, as Keras'
  reset_after=True) is ONNX `GRU` with linear_before_reset=1: its gates in
  ONNX's order z, r, h; the input biases in Wb, the candidate's recurrent
  bias in Rb (flax's other recurrent products have none);
- SimpleCell (tanh, no residual) is ONNX `RNN`.
onnxruntime runs these operators only time-major, so the windows are
transposed to [W, B, D] first.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto

from affect_jax.onnx_export.graph_builder import (
    ExportError,
    GraphBuilder,
    check_layers,
    tensor_info,
)

# flax parameter names of each cell's products, in ONNX's gate order.
_GATES = {"gru": ("z", "r", "n"), "simple_rnn": ("",)}
_OPERATORS = {"gru": "GRU", "simple_rnn": "RNN"}


def rnn_graph(
    params: dict, model_config, every_step: bool, precision: str, where: str
) -> onnx.ModelProto:
    """The RNN of `params` (NumPy arrays) as ONNX.

    Args:
      model_config: the run's config.model (cell, layer_sizes).
      every_step: config.rnn.target == "every".
      where: the checkpoint, named in errors.
    """
    cell = model_config.get("cell", "gru")
    if cell not in _GATES:
        raise ExportError(
            f"{where}: RNN cell {cell!r} (config.model.cell) has no ONNX form; "
            f"known: {', '.join(_GATES)}."
        )
    sizes = tuple(model_config.layer_sizes)
    layers = [f"layer{i + 1}" for i in range(len(sizes))]
    check_layers(params, {*layers, "head"}, where)
    graph = GraphBuilder(precision, compute_in_float32=True)
    x = graph.to_compute_type("windows")
    x = graph.node("Transpose", [x], "time_major", perm=[1, 0, 2])
    squeeze_axis = graph.int64s("direction_axis", [1])
    for name, size in zip(layers, sizes, strict=True):
        kernels, recurrent, bias = _onnx_weights(params[name], cell, f"{where} {name}")
        x, last = graph.node(
            _OPERATORS[cell],
            [
                x,
                graph.weight(f"{name}_W", kernels),
                graph.weight(f"{name}_R", recurrent),
                graph.weight(f"{name}_B", bias),
            ],
            name,
            outputs=2,
            hidden_size=size,
            **({"linear_before_reset": 1} if cell == "gru" else {}),
        )
        x = graph.node("Squeeze", [x, squeeze_axis], f"{name}_steps")  # [W, B, H]
    if every_step:
        x = graph.node("Transpose", [x], "batch_major", perm=[1, 0, 2])
        shape = ["batch", "window", int(np.asarray(params["head"]["kernel"]).shape[1])]
    else:
        x = graph.node("Squeeze", [last, graph.int64s("layer_axis", [0])], "last_state")
        shape = ["batch", int(np.asarray(params["head"]["kernel"]).shape[1])]
    product = graph.node(
        "MatMul", [x, graph.weight("head_kernel", params["head"]["kernel"])], "head"
    )
    outputs = graph.node(
        "Add", [product, graph.weight("head_bias", params["head"]["bias"])], "head"
    )
    graph.output(outputs, "outputs")
    return graph.model(
        "sequence_model",
        [tensor_info("windows", TensorProto.FLOAT, ["batch", "window", "features"])],
        [tensor_info("outputs", TensorProto.FLOAT, shape)],
    )


def _onnx_weights(layer: dict, cell: str, where: str) -> tuple[np.ndarray, ...]:
    """ONNX's W [1, G*H, D], R [1, G*H, H] and B [1, 2*G*H] from one flax cell's Dense layers."""
    gates = _GATES[cell]
    expected = {f"{side}{gate}" for side in "ih" for gate in gates}
    check_layers(layer, expected, where)
    kernels = np.concatenate([np.asarray(layer[f"i{g}"]["kernel"]).T for g in gates])
    recurrent = np.concatenate([np.asarray(layer[f"h{g}"]["kernel"]).T for g in gates])

    def bias(dense: dict) -> np.ndarray:
        if "bias" in dense:
            return np.asarray(dense["bias"])
        return np.zeros(np.asarray(dense["kernel"]).shape[1], np.float32)

    biases = [bias(layer[f"i{g}"]) for g in gates] + [bias(layer[f"h{g}"]) for g in gates]
    if cell == "gru" and np.any(biases[3]) | np.any(biases[4]):
        raise ExportError(f"{where}: a GRU with biases on hz/hr has no ONNX GRU form.")
    return kernels[None], recurrent[None], np.concatenate(biases)[None]
