"""Small ONNX models built in code for the robustness tests and the fuzz harness (no files shipped)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

F = TensorProto.FLOAT


def make(nodes, inits, in_shape, out_name, path: Path, out_shape=None, opset=13) -> Path:
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", F, list(in_shape))],
                              [helper.make_tensor_value_info(out_name, F, out_shape)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="tests")
    model.ir_version = 8
    onnx.save(model, str(path))
    return Path(path)


def chain_model(path: Path, n: int, name_len: int = 0, channels: int = 4) -> Path:
    """x (1, C, 8, 8) -> n times (1x1 Conv, Relu) -> y; node names padded to `name_len` characters."""
    w = numpy_helper.from_array(np.zeros((channels, channels, 1, 1), np.float32), "w")
    nodes, last = [], "x"
    for i in range(n):
        name = f"conv{i}".ljust(name_len, "_")
        nodes.append(helper.make_node("Conv", [last, "w"], [f"{name}_o"], name=name))
        nodes.append(helper.make_node("Relu", [f"{name}_o"], [f"{name}_r"], name=f"{name}_relu"))
        last = f"{name}_r"
    return make(nodes, [w], [1, channels, 8, 8], last, path)


def small_cnn(path: Path) -> Path:
    """Conv(3x3, pads) -> Relu -> MaxPool -> Conv(group 2, strides) -> Concat -> GlobalAveragePool ->
    Flatten -> Gemm: most attribute kinds in a few nodes (a seed for byte mutation)."""
    inits = [numpy_helper.from_array(np.zeros(s, np.float32), n) for n, s in
             (("w1", (4, 3, 3, 3)), ("w2", (4, 2, 3, 3)), ("wf", (10, 8)), ("bf", (10,)))]
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c1"], name="conv1", pads=[1, 1, 1, 1], strides=[1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node("MaxPool", ["r1"], ["p1"], name="pool1", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p1", "w2"], ["c2"], name="conv2", group=2, strides=[1, 1],
                         auto_pad="SAME_UPPER"),
        helper.make_node("Concat", ["p1", "c2"], ["cat"], name="cat", axis=1),
        helper.make_node("GlobalAveragePool", ["cat"], ["g"], name="gap"),
        helper.make_node("Flatten", ["g"], ["f"], name="flat", axis=1),
        helper.make_node("Gemm", ["f", "wf", "bf"], ["y"], name="fc", transB=1),
    ]
    return make(nodes, inits, [1, 3, 16, 16], "y", path)


def conv_then(path: Path, attrs: dict | None = None, second=None) -> Path:
    """x (1, 4, 8, 8) -> Conv 3x3 (with `attrs`) -> [second(c) node builder] -> y: for hostile attributes."""
    w = numpy_helper.from_array(np.zeros((4, 4, 3, 3), np.float32), "w")
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv", **({"pads": [1, 1, 1, 1]} | (attrs or {})))]
    out = "c"
    if second is not None:
        extra, out = second("c")
        nodes += extra
    return make(nodes, [w], [1, 4, 8, 8], out, path)
