"""Shapes for the ONNX importer: constant tensors (their shapes, and the values of small ones such as
reshape targets, pads and axes) and the shape rules of view and elementwise operators.

Weights are never needed, only their shapes: a constant may be an initializer, a Constant or
ConstantOfShape node, or any node whose inputs are all constant.  Small integer subgraphs that exporters
emit for shapes (Shape -> Gather -> Unsqueeze -> Concat -> Reshape) are evaluated with numpy.
"""
from __future__ import annotations

import math

import numpy as np

SMALL = 64  # constant tensors up to this many elements have their values tracked (shapes, pads, axes)


def attrs(n) -> dict:
    """The attributes of a node as Python values."""
    from onnx import helper
    return {a.name: helper.get_attribute_value(a) for a in n.attribute}


def reshape_target(shape, target):
    """ONNX Reshape semantics: 0 copies a dimension, -1 takes the rest."""
    target = [int(x) for x in target]
    out = [shape[i] if t == 0 and i < len(shape) else t for i, t in enumerate(target)]
    if out.count(-1) > 1:
        raise ValueError("two -1 in a reshape")
    if -1 in out:
        known = math.prod(x for x in out if x != -1)
        out[out.index(-1)] = math.prod(shape) // known if known else 0
    if math.prod(out) != math.prod(shape):
        raise ValueError(f"cannot reshape {list(shape)} to {target}")
    return tuple(out)


def inferred_shapes(model) -> dict:
    """Fully known tensor shapes from onnx.shape_inference, or {} when it fails on this graph."""
    import onnx
    try:
        m = onnx.shape_inference.infer_shapes(model, data_prop=True)
    except Exception:  # noqa: BLE001  (inference is only a fallback; our own propagation decides)
        return {}
    out = {}
    for v in list(m.graph.value_info) + list(m.graph.output):
        dims = v.type.tensor_type.shape.dim
        shp = tuple(d.dim_value if d.HasField("dim_value") else None for d in dims)
        if v.type.tensor_type.HasField("shape") and None not in shp:
            out[v.name] = shp
    return out


class Constants:
    """Shape of every constant tensor (None when unknown) and the value of the small ones."""

    def __init__(self, graph):
        from onnx import numpy_helper  # the optional package: imported only once a model is read
        self.shape: dict[str, tuple | None] = {}
        self.value: dict[str, np.ndarray] = {}
        for t in graph.initializer:
            self.shape[t.name] = tuple(int(d) for d in t.dims)
            if math.prod(t.dims) <= SMALL:
                try:
                    self.value[t.name] = numpy_helper.to_array(t)
                except Exception:  # noqa: BLE001  (a damaged small initializer: its value stays unknown)
                    pass

    def __contains__(self, name) -> bool:
        return name in self.shape

    def add_node(self, n, inferred):
        """A node whose inputs are all constant: track its output shapes (and small values)."""
        from onnx import numpy_helper
        A = attrs(n)
        shape, val = None, None
        try:
            if n.op_type == "Constant":
                for k in ("value", "sparse_value"):
                    if k in A:
                        t = A[k]
                        shape = tuple(int(d) for d in t.dims)
                        if math.prod(shape) <= SMALL and k == "value":
                            val = numpy_helper.to_array(t)
                for k in ("value_float", "value_int", "value_string"):
                    if k in A:
                        shape, val = (), np.array(A[k])
                for k in ("value_floats", "value_ints", "value_strings"):
                    if k in A:
                        shape, val = (len(A[k]),), np.array(A[k])
            elif n.op_type == "ConstantOfShape":
                s = self.value.get(n.input[0])
                if s is not None:
                    shape = tuple(int(x) for x in np.asarray(s).reshape(-1))
                    if math.prod(shape) <= SMALL:
                        v = A.get("value")
                        fill = numpy_helper.to_array(v).reshape(-1)[0] if v is not None else 0.0
                        val = np.full(shape, fill)
            else:
                vals = [self.value.get(x) for x in n.input if x]
                if n.input and all(v is not None for v in vals):
                    val = self.evaluate(n, A, vals)
                if val is not None:
                    shape = tuple(val.shape)
                else:
                    shape = self.shape_rule(n, A, [self.shape.get(x) for x in n.input if x])
        except (ValueError, TypeError, IndexError, KeyError):
            shape, val = None, None
        for i, o in enumerate(n.output):
            s = shape if i == 0 else None
            self.shape[o] = s if s is not None else inferred.get(o)
            if i == 0 and val is not None and val.size <= SMALL:
                self.value[o] = np.asarray(val)

    def evaluate(self, n, A, vals):
        """Values of small constant ops (shape arithmetic of exporters); None when not modelled."""
        op = n.op_type
        if op in ("Identity", "Cast"):
            return vals[0]
        if op in ("Add", "Sub", "Mul", "Div"):
            a, b = vals
            return {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply,
                    "Div": np.floor_divide if a.dtype.kind in "iu" else np.divide}[op](a, b)
        if op == "Concat":
            return np.concatenate([np.atleast_1d(v) for v in vals], axis=A.get("axis", 0))
        if op == "Gather":
            return np.take(vals[0], vals[1], axis=A.get("axis", 0))
        if op == "Unsqueeze":
            axes = A.get("axes", vals[1].tolist() if len(vals) > 1 else [])
            out = vals[0]
            for ax in sorted(int(a) % (out.ndim + len(axes)) for a in axes):
                out = np.expand_dims(out, ax)
            return out
        if op == "Squeeze":
            axes = A.get("axes", vals[1].tolist() if len(vals) > 1 else None)
            return np.squeeze(vals[0], axis=None if axes is None else tuple(int(a) for a in axes))
        if op == "Reshape":
            return vals[0].reshape(reshape_target(vals[0].shape, vals[1].tolist()))
        if op == "Slice":
            data = vals[0]
            starts = A.get("starts", vals[1].tolist() if len(vals) > 1 else [])
            ends = A.get("ends", vals[2].tolist() if len(vals) > 2 else [])
            axes = A.get("axes", vals[3].tolist() if len(vals) > 3 else list(range(len(starts))))
            steps = vals[4].tolist() if len(vals) > 4 else [1] * len(starts)
            sl = [slice(None)] * data.ndim
            for s, e, ax, st in zip(starts, ends, axes, steps):
                sl[int(ax)] = slice(int(s), int(e), int(st))
            return data[tuple(sl)]
        return None

    def axes(self, n, A, pos=1):
        if "axes" in A:
            return [int(a) for a in A["axes"]]
        if len(n.input) > pos and n.input[pos]:
            v = self.value.get(n.input[pos])
            if v is None:
                raise ValueError("axes are not a known constant")
            return [int(a) for a in np.asarray(v).reshape(-1)]
        return None

    def shape_rule(self, n, A, shapes):
        """Output shape of the view and elementwise operators (constants and activations alike)."""
        op, s = n.op_type, shapes[0]
        if s is None:
            return None
        if op in ("Identity", "Cast", "Dropout", "Relu", "Clip", "LRN", "Softmax", "LogSoftmax",
                  "BatchNormalization", "Sigmoid", "Tanh", "HardSigmoid", "HardSwish", "LeakyRelu", "PRelu"):
            return tuple(s)
        if op in ("Add", "Sub", "Mul", "Div", "Max", "Min", "Sum"):
            if any(x is None for x in shapes):
                return None
            return tuple(np.broadcast_shapes(*[tuple(x) for x in shapes]))
        if op == "Reshape":
            v = self.value.get(n.input[1])
            if v is None:
                raise ValueError("the target shape is not a known constant")
            return reshape_target(tuple(s), np.asarray(v).reshape(-1).tolist())
        if op == "Flatten":
            ax = A.get("axis", 1) % (len(s) or 1) if A.get("axis", 1) != len(s) else len(s)
            return (math.prod(s[:ax]), math.prod(s[ax:]))
        if op == "Transpose":
            perm = A.get("perm", list(range(len(s)))[::-1])
            return tuple(s[p] for p in perm)
        if op == "Unsqueeze":
            axes = self.axes(n, A)
            out = list(s)
            for ax in sorted(a % (len(s) + len(axes)) for a in axes):
                out.insert(ax, 1)
            return tuple(out)
        if op == "Squeeze":
            axes = self.axes(n, A)
            if axes is None:
                return tuple(x for x in s if x != 1)
            axes = {a % len(s) for a in axes}
            return tuple(x for i, x in enumerate(s) if i not in axes)
        return None
