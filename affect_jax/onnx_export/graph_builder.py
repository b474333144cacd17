"""Small helpers over `onnx.helper`: one graph's nodes and weights, at one precision.

Weights are stored in float32 or float16 (`--precision`), and the arithmetic
between the input and output casts runs at that precision too, unless the
graph computes in float32 (the RNN: onnxruntime 1.32's CPU `RNN` operator
crashes on float16; its float16 weights are cast up as they load). The graphs'
inputs and outputs keep the same types at either precision (uint8 frames or
float32 windows in, float32 out), so a caller never needs to know which it has.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from affect_jax.inference.exported_folder import PRECISIONS as PRECISION_NAMES
from affect_jax.runtime import ProjectError

# ONNX's default domain at opset 17: the GRU/RNN, Conv and pooling operators used
# here exist there unchanged, and onnxruntime (desktop, mobile, web) runs it.
OPSET = 17
PRECISIONS = dict(zip(PRECISION_NAMES, (np.float32, np.float16), strict=True))
_ONNX_TYPES = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.float16): TensorProto.FLOAT16}


class ExportError(ProjectError, ValueError):
    """A run the exporter cannot write as ONNX; the message names the layer or setting."""


class GraphBuilder:
    """Collects the nodes and weights of one graph; `weight` and `node` return tensor names."""

    def __init__(self, precision: str, compute_in_float32: bool = False):
        if precision not in PRECISIONS:
            raise ExportError(
                f"Unknown precision {precision!r} (--precision); valid: {', '.join(PRECISIONS)}."
            )
        self.dtype = np.dtype(PRECISIONS[precision])
        self.onnx_type = TensorProto.FLOAT if compute_in_float32 else _ONNX_TYPES[self.dtype]
        self.nodes: list[onnx.NodeProto] = []
        self.weights: list[onnx.TensorProto] = []
        self._count = 0

    def _name(self, hint: str) -> str:
        self._count += 1
        return f"{hint}_{self._count}"

    def weight(self, name: str, value: np.ndarray) -> str:
        """A weight stored at the graph's precision, as the compute type."""
        self.weights.append(numpy_helper.from_array(np.asarray(value, self.dtype), name))
        if _ONNX_TYPES[self.dtype] == self.onnx_type:
            return name
        return self.node("Cast", [name], f"{name}_up", to=self.onnx_type)

    def int64s(self, name: str, values: list[int]) -> str:
        """A constant int64 vector (shapes and axes)."""
        self.weights.append(numpy_helper.from_array(np.asarray(values, np.int64), name))
        return name

    def node(self, op: str, inputs: list[str], hint: str, outputs: int = 1, **attributes) -> str:
        """Adds `op`; returns its (first) output's name."""
        names = [self._name(hint) for _ in range(outputs)]
        self.nodes.append(helper.make_node(op, inputs, names, name=names[0], **attributes))
        return names[0] if outputs == 1 else names

    def to_compute_type(self, tensor: str) -> str:
        return self.node("Cast", [tensor], "cast_in", to=self.onnx_type)

    def output(self, tensor: str, name: str) -> None:
        """Names `tensor` as a graph output, in float32."""
        self.nodes.append(
            helper.make_node("Cast", [tensor], [name], name=name, to=TensorProto.FLOAT)
        )

    def dense(self, x: str, layer: dict, name: str) -> str:
        """x @ kernel + bias of a flax Dense layer's parameters."""
        product = self.node("MatMul", [x, self.weight(f"{name}_kernel", layer["kernel"])], name)
        return self.node("Add", [product, self.weight(f"{name}_bias", layer["bias"])], name)

    def model(
        self, graph_name: str, inputs: list[onnx.ValueInfoProto], outputs: list[onnx.ValueInfoProto]
    ) -> onnx.ModelProto:
        graph = helper.make_graph(self.nodes, graph_name, inputs, outputs, self.weights)
        model = helper.make_model(
            graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="affect-jax"
        )
        onnx.checker.check_model(model, full_check=True)
        return model


def check_layers(params: dict, expected: set[str], where: str) -> None:
    """Refuses parameters of layers the graph would not carry, naming each."""
    unknown = sorted(set(params) - expected)
    if unknown:
        raise ExportError(
            f"{where} has layer(s) {', '.join(unknown)} that this exporter has no ONNX form "
            f"for (it writes {', '.join(sorted(expected))}). Export from a run of a "
            "model this version of affect-jax defines, or add the layer to affect_jax/onnx_export."
        )


def tensor_info(name: str, onnx_type: int, shape: list) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, onnx_type, shape)
