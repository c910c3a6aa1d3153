"""Export the shipped trained MNIST CNN (workloads/mnist_cnn.yaml + mnist_cnn.npz) to ONNX, with the onnx
helper API (the optional extra `onnx`).

    python scripts/export_mnist_onnx.py [--out workloads/mnist_cnn.onnx]

Graph (opset 17, float32, input `image` (1, 1, 28, 28) = pixel / 255): conv1 Conv 3x3 pad 1 + bias ->
Relu -> MaxPool 2 -> conv2 Conv 3x3 pad 1 + bias -> Relu -> MaxPool 2 -> Flatten -> fc Gemm(transB=1)
-> `logits` (1, 10).  Weights: the int8 weights times their per-channel step (float32), the float biases.
The trained activation ranges travel as metadata (`tlm.range.<layer>`, `tlm.input_range`), so that
`tlm accuracy workloads/mnist_cnn.onnx` rebuilds exactly the network of the .npz; without them it
calibrates ranges on data (tlm/onnxio/weights.py).  The output is deterministic (same bytes every run).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def build_model(npz_path: Path):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    z = np.load(npz_path, allow_pickle=False)

    def w(name):
        q = z[name + ".w"].astype(np.float64)
        s = z[name + ".w_scale"].astype(np.float64).reshape((-1,) + (1,) * (q.ndim - 1))
        return numpy_helper.from_array((q * s).astype(np.float32), name + ".weight")

    def b(name):
        return numpy_helper.from_array(z[name + ".b"].astype(np.float32), name + ".bias")

    inits = [w("conv1"), b("conv1"), w("conv2"), b("conv2"), w("fc"), b("fc")]
    nodes = [
        helper.make_node("Conv", ["image", "conv1.weight", "conv1.bias"], ["c1"], name="conv1",
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node("MaxPool", ["r1"], ["p1"], name="pool1", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p1", "conv2.weight", "conv2.bias"], ["c2"], name="conv2",
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c2"], ["r2"], name="relu2"),
        helper.make_node("MaxPool", ["r2"], ["p2"], name="pool2", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["p2"], ["flat"], name="flatten", axis=1),
        helper.make_node("Gemm", ["flat", "fc.weight", "fc.bias"], ["logits"], name="fc", transB=1),
    ]
    graph = helper.make_graph(
        nodes, "mnist_cnn",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 1, 28, 28])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 10])], initializer=inits)
    model = helper.make_model(graph, producer_name="imagine-tlm scripts/export_mnist_onnx.py",
                              opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    meta = {"tlm.input_range": f"{float(z['input.range']):.9g}"}
    for name in ("conv1", "conv2", "fc"):
        meta[f"tlm.range.{name}"] = f"{float(z[name + '.range']):.9g}"
    helper.set_model_props(model, meta)
    onnx.checker.check_model(model)
    return model


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", type=Path, default=ROOT / "workloads" / "mnist_cnn.npz")
    ap.add_argument("--out", type=Path, default=ROOT / "workloads" / "mnist_cnn.onnx")
    a = ap.parse_args(argv)
    model = build_model(a.weights)
    data = model.SerializeToString(deterministic=True)
    tmp = a.out.with_name(a.out.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(a.out)
    print(f"wrote {a.out} ({len(data):,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
