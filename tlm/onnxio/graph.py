"""ONNX model -> tlm workload (the YAML-level format of tlm/config/workload.py).

Only shapes matter, never weight values: weights may come from initializers, Constant or
ConstantOfShape nodes or any other constant subgraph.  Shapes come from our own propagation over the
graph (every supported operator below has its shape rule here), with `onnx.shape_inference` as a
fallback for constant tensors produced by operators we do not model.

How each operator maps (docs/onnx.md has the table):
- Conv -> conv2d (groups, strides, explicit/asymmetric pads, dilation, auto_pad); Gemm/MatMul with a
  constant weight -> dense.  Their bias is the ABN offset: free.
- BatchNormalization, and Mul/Add/Sub/Div by a per-channel constant, directly on a conv/dense output
  that nothing else reads -> folded into that layer's analog batch-norm (ABN) inside the ADC: zero
  extra cost (the ABN capacitors already switch on every conversion).  Anywhere else (pre-activation
  BN, after an add or a pool) -> a digital `eltwise` affine of 2 ops per element, said in the notes.
- Relu, Clip(min >= 0) -> `relu: true` on the producing layer (the ADC's zero clamp); when the
  un-rectified tensor is also read elsewhere -> a digital `eltwise` relu of 1 op per element.
- MaxPool/AveragePool (ceil_mode as extra end padding), GlobalAverage/MaxPool, ReduceMean/ReduceMax
  over H and W -> pools; Add/Sum of equal shapes -> add; Concat on channels -> concat.
- Flatten/Reshape/Squeeze/Unsqueeze/Transpose -> views (`flatten`/`reshape`, no cost); a pure
  permutation (ShuffleNet's channel shuffle) is folded into the producer's SRAM write addresses.
- Pad -> folded into the padding of the conv or pool that reads it.
- Dropout, Identity -> identities; Softmax/LogSoftmax -> ignored for cost (said in the notes).
- LRN, Sigmoid, Tanh, HardSigmoid, HardSwish, LeakyRelu, PRelu, broadcasting Mul/Add/Sub/Max/Min of
  two feature maps -> digital `eltwise` layers with the op counts in ELTWISE_OPS.
- Anything else -> one InputError listing every unsupported operator with its node names.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tlm.errors import InputError, Where
from tlm.onnxio.shapes import Constants, attrs, inferred_shapes
from tlm.config.workload import Workload, parse_workload
from tlm.config.yamlemit import yaml_comment, yaml_flow
from tlm.config.yamlio import YDict, YList, load_text

# digital post-processing cost of elementwise operators: ops per output element (one op = one 8-16b
# add/compare/multiply of the post-processing unit; non-linear functions are one look-up table read)
LRN_OPS_EXTRA = 3  # [assumed] after the sum of squares: scale, power via LUT, multiply
ELTWISE_OPS = {
    "Mul": 1, "Add": 1, "Sub": 1, "Max": 1, "Min": 1,  # two feature maps (broadcasting)
    "Sigmoid": 1, "Tanh": 1,  # LUT
    "HardSigmoid": 2,  # scale-and-offset, clamp
    "HardSwish": 3,  # hard sigmoid, multiply
    "LeakyRelu": 1, "PRelu": 1,  # compare-and-scale
}
FALLBACK_OPS = {  # what folds into a conv/dense for free, when it cannot
    "affine": 2,  # per-channel multiply and add (an unfoldable BatchNormalization or scale)
    "relu": 1,  # compare with zero
    "clip": 1,  # compare with both bounds
}
OPS_PER_ELEMENT = {**ELTWISE_OPS, **FALLBACK_OPS}
COMPUTE_OPS = ("Conv", "Gemm", "MatMul")
AFFINE_OPS = ("BatchNormalization",)
VIEW_OPS = ("Reshape", "Flatten", "Squeeze", "Unsqueeze", "Transpose", "Identity", "Dropout", "Cast")
IGNORED_OPS = ("Softmax", "LogSoftmax")
POOL_OPS = ("MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "ReduceMean", "ReduceMax")
SUPPORTED_OPS = frozenset(COMPUTE_OPS + AFFINE_OPS + VIEW_OPS + IGNORED_OPS + POOL_OPS + (
    "Relu", "Clip", "Sum", "Concat", "Pad", "LRN", *ELTWISE_OPS))


_ATTR_TYPES = {0: "undefined", 1: "a FLOAT", 2: "an INT", 3: "a STRING", 4: "a TENSOR", 5: "a GRAPH",
               6: "FLOATS (a list)", 7: "INTS (a list of integers)", 8: "STRINGS", 9: "TENSORS", 10: "GRAPHS",
               11: "a SPARSE_TENSOR", 12: "SPARSE_TENSORS", 13: "a TYPE_PROTO", 14: "TYPE_PROTOS"}
_ATTR_VALUES = {  # allowed values of the attributes the mapping reads (the types come from the schema)
    "auto_pad": ("choice", ("NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID")),
    "group": ("expected >= 1", lambda x: x >= 1),
    "strides": ("every stride must be >= 1", lambda x: x >= 1),
    "dilations": ("every dilation must be >= 1", lambda x: x >= 1),
    "kernel_shape": ("every kernel size must be >= 1", lambda x: x >= 1),
    "ceil_mode": ("expected 0 or 1", lambda x: x in (0, 1)),
    "keepdims": ("expected 0 or 1", lambda x: x in (0, 1)),
    "transA": ("expected 0 or 1", lambda x: x in (0, 1)),
    "transB": ("expected 0 or 1", lambda x: x in (0, 1)),
    "count_include_pad": ("expected 0 or 1", lambda x: x in (0, 1)),
    "size": ("expected >= 1", lambda x: x >= 1),
}


def _onnx(path="<onnx>"):
    try:
        import onnx
    except ImportError:
        from tlm.extras import install_hint
        raise InputError(f"reading ONNX models needs the optional 'onnx' package: {install_hint('onnx')}",
                         Where(str(path))) from None
    return onnx


@dataclass
class _Act:
    """An activation tensor: which workload layer holds its data, and its ONNX shape (batch first)."""

    layer: str
    shape: tuple
    exclusive: bool  # the layer's output reaches this tensor through single-consumer ops only
    permuted: bool = False  # a transpose reordered elements on the way
    pads: tuple | None = None  # a Pad waiting for the conv/pool that reads it (top, left, bottom, right)


class _Importer:
    def __init__(self, model, path: str):
        self.model = model
        self.graph = model.graph
        self.path = path
        self.layers: list[dict] = []
        self.wl_shape: dict[str, tuple] = {}  # workload layer -> out shape (no batch)
        self.kind: dict[str, str] = {}  # workload layer -> its dict's type
        self.ldict: dict[str, dict] = {}
        self.acts: dict[str, _Act] = {}
        self.consts = Constants(model.graph)  # shapes (and small values) of constant tensors
        self.views: dict[tuple, str] = {}
        self.notes: dict[str, list[str]] = {}
        self.batch = 1
        self.origin: dict[str, tuple] = {}  # workload layer -> (ONNX node name, op type) it comes from

    # ---- errors and names ---------------------------------------------------------------------------
    def err(self, node, msg):
        return InputError(msg, Where(self.path), f"node '{node.name or node.output[0]}' ({node.op_type})")

    def note(self, key, node):
        self.notes.setdefault(key, []).append(node.name or (node.output[0] if node.output else node.op_type))

    def _name(self, node) -> str:
        base = node.name or (node.output[0] if node.output else node.op_type)
        name, k = base, 2
        while name in self.wl_shape or name == "input":
            name, k = f"{base}_{k}", k + 1
        return name

    def emit(self, node, d: dict, out_shape: tuple) -> str:
        d = {"name": self._name(node) if node is not None else d["name"], **{k: v for k, v in d.items()
                                                                              if k != "name"}}
        self.layers.append(d)
        self.ldict[d["name"]] = d
        if node is not None:
            self.origin[d["name"]] = (node.name or (node.output[0] if node.output else ""), node.op_type)
        self.wl_shape[d["name"]] = tuple(int(x) for x in out_shape)
        self.kind[d["name"]] = d["type"]
        return d["name"]

    # ---- the operator spec: attribute types and ranges, one writer per tensor ---------------------------
    def check_graph(self):
        """Every node's attributes against its operator's schema (type, required, allowed values) and
        every tensor written once: a hostile attribute must not silently become another model."""
        opset = next((o.version for o in self.model.opset_import if o.domain in ("", "ai.onnx")), None)
        writer = {x.name: "a graph input" for x in self.graph.input}
        writer.update({t.name: "an initializer" for t in self.graph.initializer})
        for n in self.graph.node:
            for o in n.output:
                if not o:
                    continue
                if o in writer:
                    raise self.err(n, f"output '{o}' is also written by {writer[o]}: each tensor needs one writer")
                writer[o] = f"node '{n.name or n.output[0]}' ({n.op_type})"
            if n.domain in ("", "ai.onnx") and opset:
                self.check_attributes(n, opset)

    def check_attributes(self, n, opset):
        from onnx import defs
        try:
            schema = defs.get_schema(n.op_type, opset, "")
        except Exception:  # noqa: BLE001  (an operator unknown at this opset: reported as unsupported)
            return
        spec = schema.attributes
        seen = set()
        for a in n.attribute:
            if a.name in seen:
                raise self.err(n, f"attribute '{a.name}' is given twice")
            seen.add(a.name)
            if a.name not in spec:
                if n.op_type in SUPPORTED_OPS:
                    raise self.err(n, f"attribute '{a.name}' is not an attribute of {n.op_type} (opset {opset})")
                continue
            want = int(spec[a.name].type)
            if a.type != want:
                raise self.err(n, f"attribute '{a.name}' must be {_ATTR_TYPES.get(want, want)}, found "
                                  f"{_ATTR_TYPES.get(a.type, a.type)}")
            if n.op_type in SUPPORTED_OPS:
                self.check_value(n, a)
        for name, at in spec.items():
            if at.required and name not in seen and n.op_type in SUPPORTED_OPS:
                raise self.err(n, f"attribute '{name}' is required by {n.op_type} and missing")

    def check_value(self, n, a):
        from onnx import helper
        v = helper.get_attribute_value(a)
        rule = _ATTR_VALUES.get(a.name)
        if rule is None or (a.name == "pads" and n.op_type == "Pad"):
            return
        kind, allowed = rule
        if kind == "choice":
            text = v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
            if text not in allowed:
                raise self.err(n, f"attribute '{a.name}' must be one of {', '.join(allowed)}, found '{text[:40]}'")
        else:
            vals = list(v) if isinstance(v, (list, tuple)) else [v]
            bad = [x for x in vals if not allowed(x)]
            if bad:
                raise self.err(n, f"attribute '{a.name}' = {vals[:8]}: {kind}")

    # ---- the walk -----------------------------------------------------------------------------------
    def run(self) -> dict:
        g = self.graph
        self.check_graph()
        nodes = self._toposort()
        inferred = inferred_shapes(self.model)
        data_inputs = [i for i in g.input if i.name not in self.consts.shape]
        if len(data_inputs) != 1:
            names = ", ".join(i.name for i in data_inputs) or "none"
            raise InputError(f"the graph has {len(data_inputs)} data inputs ({names}); tlm models networks "
                             "with one input image", Where(self.path), "graph.input")
        inp = data_inputs[0]
        dims = [d.dim_value if d.HasField("dim_value") else None for d in inp.type.tensor_type.shape.dim]
        if len(dims) not in (2, 3, 4) or any(d is None or d < 1 for d in dims[1:]):
            raise InputError(f"input '{inp.name}' has shape {dims}; tlm needs a fixed (N, C, H, W), (N, H, W) "
                             "or (N, F) input", Where(self.path), "graph.input")
        self.batch = dims[0] if dims[0] else 1
        self.input_name = inp.name
        full = (self.batch, *dims[1:])
        in_shape = tuple(dims[1:]) if len(dims) != 3 else (1, *dims[1:])
        self.wl_shape["input"] = in_shape
        self.kind["input"] = "input"
        self.acts[inp.name] = _Act("input", full, exclusive=False)

        consumers: dict[str, int] = {}
        for n in nodes:
            for x in n.input:
                if x:
                    consumers[x] = consumers.get(x, 0) + 1
        for o in g.output:
            consumers[o.name] = consumers.get(o.name, 0) + 1
        self.consumers = consumers

        unsupported: dict[str, list[str]] = {}
        for n in nodes:
            missing = [x for x in n.input if x and x not in self.acts and x not in self.consts.shape]
            if missing:
                raise self.err(n, f"reads '{missing[0]}', which no node, initializer or graph input provides")
            if not any(x in self.acts for x in n.input if x):  # a constant subgraph: shapes only
                self.consts.add_node(n, inferred)
                continue
            if n.op_type == "Shape":  # the shape of a feature map is a known constant
                A, a = attrs(n), self.acts[n.input[0]]
                val = np.array(a.shape, dtype=np.int64)[A.get("start", 0):A.get("end", len(a.shape))]
                self.consts.shape[n.output[0]], self.consts.value[n.output[0]] = val.shape, val
                continue
            if n.op_type not in SUPPORTED_OPS or n.domain not in ("", "ai.onnx"):
                unsupported.setdefault(n.op_type, []).append(n.name or n.output[0])
                for o in n.output:  # keep walking to list every unsupported operator at once
                    self.acts[o] = _Act("input", (), exclusive=False)
                continue
            if unsupported:
                for o in n.output:
                    self.acts[o] = _Act("input", (), exclusive=False)
                continue
            getattr(self, f"op_{n.op_type}", self.op_eltwise)(n)
        if unsupported:
            listed = "; ".join(f"{op} ({', '.join(v[:3])}{f' and {len(v) - 3} more' if len(v) > 3 else ''})"
                               for op, v in sorted(unsupported.items()))
            raise InputError(f"unsupported ONNX operators (tlm cannot model them; see docs/onnx.md): {listed}",
                             Where(self.path), "graph")
        for o in g.output:
            if o.name in self.acts:
                a = self.acts[o.name]
                if a.layer == "input":
                    raise InputError(f"output '{o.name}' does not depend on any modelled layer", Where(self.path),
                                     "graph.output")
        if not self.layers:
            raise InputError("the graph has no layers tlm can model", Where(self.path), "graph")
        self._output_last(g.output[0].name if g.output else None)
        return self._dict(self.wl_shape["input"])

    def _output_last(self, out_name):
        """A workload's last layer is what the DMA writes out: move the graph output's producer last when
        nothing reads it (its input becomes explicit; the layer after it already names its own)."""
        a = self.acts.get(out_name)
        if a is None or a.layer == self.layers[-1]["name"]:
            return
        names = [d["name"] for d in self.layers]
        k = names.index(a.layer)
        d = self.layers[k]
        read = any(d["name"] in (x.get("inputs") or [x.get("input")]) for x in self.layers[k + 1:])
        if read or (k + 1 < len(self.layers) and "input" not in self.layers[k + 1]
                    and "inputs" not in self.layers[k + 1]):
            return
        if "inputs" not in d and "input" not in d:
            d["input"] = names[k - 1] if k else "input"
        self.layers.append(self.layers.pop(k))

    def _toposort(self):
        g = self.graph
        produced = {o: i for i, n in enumerate(g.node) for o in n.output if o}
        order, state = [], [0] * len(g.node)
        for start in range(len(g.node)):
            if state[start]:
                continue
            stack = [(start, iter([produced[x] for x in g.node[start].input if x in produced]))]
            state[start] = 1
            while stack:
                i, it = stack[-1]
                j = next(it, None)
                if j is None:
                    stack.pop()
                    state[i] = 2
                    order.append(g.node[i])
                elif state[j] == 0:
                    state[j] = 1
                    stack.append((j, iter([produced[x] for x in g.node[j].input if x in produced])))
                elif state[j] == 1:
                    raise self.err(g.node[j], "the graph has a cycle")
        return order

    # ---- activations --------------------------------------------------------------------------------
    def act(self, n, i=0) -> _Act:
        x = n.input[i] if len(n.input) > i else ""
        if x not in self.acts:
            raise self.err(n, f"input {i} must be a feature map, found a constant or nothing")
        return self.acts[x]

    def source(self, n, a: _Act, allow_pads=False) -> str:
        """The workload layer holding `a`'s data in `a`'s shape (a view layer is added when needed)."""
        if a.pads is not None and not allow_pads:
            raise self.err(n, "reads a Pad output; tlm folds Pad only into a following Conv or pool")
        if a.shape[0] != self.batch:
            raise self.err(n, f"feature map of shape {list(a.shape)} does not keep the batch first")
        shape = tuple(a.shape[1:])
        if a.pads is not None:
            return a.layer
        if len(shape) not in (1, 3):
            raise self.err(n, f"feature map of shape {list(a.shape)}: tlm models (N, C, H, W) maps and "
                              "(N, F) vectors")
        if a.permuted:
            self.note("permutation", n)
        if shape == self.wl_shape[a.layer]:
            return a.layer
        key = (a.layer, shape)
        if key not in self.views:
            base = f"{a.layer}_{'flat' if len(shape) == 1 else 'reshape'}"
            name, k = base, 2
            while name in self.wl_shape:
                name, k = f"{base}_{k}", k + 1
            d = self._with_input({"name": name, "type": "flatten" if len(shape) == 1 else "reshape"}, a.layer)
            if len(shape) == 3:
                d["shape"] = list(shape)
            self.views[key] = self.emit(None, d, shape)
        return self.views[key]

    def out(self, n, layer, shape, exclusive=True, **kw):
        self.acts[n.output[0]] = _Act(layer, tuple(shape), exclusive=exclusive, **kw)

    def sole(self, n, i=0) -> bool:
        """The op is the only reader of its input `i`."""
        return self.consumers.get(n.input[i], 0) == 1

    def foldable(self, n, a: _Act) -> bool:
        """`n` can be folded into the layer that produced `a` (nothing else reads that output)."""
        return (a.layer != "input" and a.exclusive and self.sole(n) and a.pads is None
                and tuple(a.shape[1:]) == self.wl_shape[a.layer])

    def _prev(self):
        return self.layers[-1]["name"] if self.layers else "input"

    def _with_input(self, d, src):
        if src != self._prev():
            d["input"] = src
        return d

    # ---- compute ------------------------------------------------------------------------------------
    def op_Conv(self, n):
        A, a = attrs(n), self.act(n)
        src = self.source(n, a, allow_pads=True)
        w = self.consts.shape.get(n.input[1]) if len(n.input) > 1 else None
        if len(n.input) < 2 or n.input[1] in self.acts:
            raise self.err(n, "the weights must be a constant (initializer or constant node), not a feature map")
        if w is None or len(w) != 4:
            if len(a.shape) != 4:
                raise self.err(n, f"only 2-D convolutions are modelled; input shape {list(a.shape)}")
            raise self.err(n, f"cannot tell the weight shape of '{n.input[1]}'")
        if len(a.shape) != 4:
            raise self.err(n, f"only 2-D convolutions are modelled; input shape {list(a.shape)}")
        g = int(A.get("group", 1))
        cout, cin_g, kh, kw = w
        _, c, h, wd = a.shape
        if cin_g * g != c:
            raise self.err(n, f"weights {list(w)} with group={g} do not fit {c} input channels")
        ks = A.get("kernel_shape", [kh, kw])
        if list(ks) != [kh, kw]:
            raise self.err(n, f"kernel_shape {list(ks)} differs from the weight shape {list(w)}")
        d = {"type": "conv2d", "out_channels": int(cout), "kernel": [int(kh), int(kw)]}
        (sh, sw), (dh, dw), pad, (ho, wo) = self._window(n, A, a, (kh, kw), conv=True)
        d.update(stride=[sh, sw], padding=list(pad))
        if (dh, dw) != (1, 1):
            d["dilation"] = [dh, dw]
        if g != 1:
            d["groups"] = g
        name = self.emit(n, self._with_input(d, src), (cout, ho, wo))
        self.out(n, name, (a.shape[0], cout, ho, wo))

    def _window(self, n, A, a: _Act, k, conv):
        """Strides, dilations, explicit (top, left, bottom, right) pads and output size of a window op."""
        _, _, h, wd = (a.shape if a.pads is None else (0, 0, *self.wl_shape[a.layer][1:]))
        s = tuple(int(x) for x in A.get("strides", [1, 1]))
        dl = tuple(int(x) for x in A.get("dilations", [1, 1]))
        if len(s) != 2 or len(dl) != 2 or len(k) != 2:
            raise self.err(n, "only 2-D windows are modelled")
        if min(s) < 1 or min(dl) < 1 or min(k) < 1:
            raise self.err(n, f"kernel {list(k)}, strides {list(s)} and dilations {list(dl)} must be >= 1")
        ek = (dl[0] * (k[0] - 1) + 1, dl[1] * (k[1] - 1) + 1)
        auto = A.get("auto_pad", b"NOTSET")
        auto = auto.decode() if isinstance(auto, bytes) else str(auto)
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            pads = []
            for size, st, e in ((h, s[0], ek[0]), (wd, s[1], ek[1])):
                total = max(0, (-(-size // st) - 1) * st + e - size)
                lo = total - total // 2 if auto == "SAME_LOWER" else total // 2
                pads.append((lo, total - lo))
            pad = [pads[0][0], pads[1][0], pads[0][1], pads[1][1]]
        elif auto == "VALID":
            pad = [0, 0, 0, 0]
        else:
            pad = [int(x) for x in A.get("pads", [0, 0, 0, 0])]
            if len(pad) != 4:
                raise self.err(n, f"pads {pad}: only 2-D windows are modelled")
        if a.pads is not None:
            pad = [p + q for p, q in zip(pad, a.pads)]
        if not conv and A.get("ceil_mode", 0):
            for ax, size in ((0, h), (1, wd)):  # ceil mode = extra end padding (last window starts inside)
                span = size + pad[ax] + pad[ax + 2] - ek[ax]
                o = -(-span // s[ax]) + 1
                if (o - 1) * s[ax] >= size + pad[ax]:
                    o -= 1
                pad[ax + 2] = max(pad[ax + 2], (o - 1) * s[ax] + ek[ax] - size - pad[ax])
        ho = (h + pad[0] + pad[2] - ek[0]) // s[0] + 1
        wo = (wd + pad[1] + pad[3] - ek[1]) // s[1] + 1
        if min(pad) < 0:
            raise self.err(n, f"negative pads {pad} (cropping) are not modelled")
        if ho < 1 or wo < 1:
            raise self.err(n, f"window {list(k)} does not fit the {h}x{wd} input with pads {pad}")
        return s, dl, pad, (ho, wo)

    def _dense(self, n, a: _Act, fo: int):
        src = self.source(n, a)
        if len(a.shape) != 2:
            if len(a.shape) == 4 and a.shape[2:] == (1, 1):
                pass
            else:
                raise self.err(n, f"a dense layer needs an (N, F) input, found shape {list(a.shape)}")
        name = self.emit(n, self._with_input({"type": "dense", "out_features": int(fo)}, src), (fo,))
        self.out(n, name, (a.shape[0], fo))

    def op_Gemm(self, n):
        A, a = attrs(n), self.act(n)
        if A.get("transA", 0):
            raise self.err(n, "transA=1 (a transposed feature map) is not modelled")
        if n.input[1] in self.acts:
            raise self.err(n, "the weights must be a constant, not a feature map")
        w = self.consts.shape.get(n.input[1])
        if w is None or len(w) != 2:
            raise self.err(n, f"cannot tell the weight shape of '{n.input[1]}'")
        fi, fo = (w[1], w[0]) if A.get("transB", 0) else w
        if math.prod(a.shape[1:]) != fi:
            raise self.err(n, f"weights {list(w)} do not fit an input of shape {list(a.shape)}")
        self._dense(n, a, fo)

    def op_MatMul(self, n):
        a = self.act(n)
        if n.input[1] in self.acts:
            raise self.err(n, "a product of two feature maps (attention) is not modelled")
        w = self.consts.shape.get(n.input[1])
        if w is None or len(w) != 2:
            raise self.err(n, f"cannot tell the weight shape of '{n.input[1]}' (a 2-D constant is needed)")
        if len(a.shape) != 2 or a.shape[1] != w[0]:
            raise self.err(n, f"weights {list(w)} do not fit an input of shape {list(a.shape)}")
        self._dense(n, a, w[1])

    # ---- folded into the producer -------------------------------------------------------------------
    def _affine(self, n, a: _Act):
        """A per-channel scale/offset on `a`: into the producer's ABN when it is a conv/dense output
        nothing else reads, into a previous digital affine the same way, else a new digital affine."""
        if self.foldable(n, a):
            d = self.ldict[a.layer]
            if d["type"] in ("conv2d", "dense") and not d.get("relu"):
                self.note("abn", n)
                self.out(n, a.layer, a.shape)
                return
            if d["type"] == "eltwise" and d["op"] == "affine" and not d.get("relu"):
                self.out(n, a.layer, a.shape)
                return
        self.note("digital_affine", n)
        self._eltwise(n, a, "affine", [])

    def op_BatchNormalization(self, n):
        a = self.act(n)
        if len(a.shape) not in (2, 4):
            raise self.err(n, f"batch-norm on shape {list(a.shape)} is not modelled")
        self._affine(n, a)

    def _relu(self, n, a: _Act, op="relu"):
        if self.foldable(n, a) and self.kind[a.layer] not in ("flatten", "reshape"):
            self.ldict[a.layer]["relu"] = True
            self.out(n, a.layer, a.shape)
        else:
            self.note("digital_relu", n)
            self._eltwise(n, a, op, [])

    def op_Relu(self, n):
        self._relu(n, self.act(n))

    def op_Clip(self, n):
        A, a = attrs(n), self.act(n)
        lo = A.get("min")
        if lo is None and len(n.input) > 1 and n.input[1]:
            v = self.consts.value.get(n.input[1])
            if v is None:
                raise self.err(n, "the clip bounds must be constants")
            lo = float(np.asarray(v).reshape(-1)[0])
        if lo is not None and lo >= 0:
            self._relu(n, a)  # clamps at 0 and saturates: the ADC's output range
        elif self.foldable(n, a) and self.kind[a.layer] in ("conv2d", "dense"):
            self.note("saturation", n)
            self.out(n, a.layer, a.shape)
        else:
            self._eltwise(n, a, "clip", [])

    # ---- views and ignored --------------------------------------------------------------------------
    def _view(self, n, a: _Act, shape, permuted=False):
        if a.pads is not None:
            raise self.err(n, "reads a Pad output; tlm folds Pad only into a following Conv or pool")
        self.acts[n.output[0]] = _Act(a.layer, tuple(shape), exclusive=a.exclusive and self.sole(n),
                                      permuted=a.permuted or permuted)

    def _view_op(self, n):
        A, a = attrs(n), self.act(n)
        rank = len(a.shape)
        if n.op_type == "Transpose" and "perm" in A and sorted(A["perm"]) != list(range(rank)):
            raise self.err(n, f"attribute 'perm' = {list(A['perm'])[:8]} is not a permutation of the {rank} axes")
        if n.op_type == "Flatten" and not -rank <= A.get("axis", 1) <= rank:
            raise self.err(n, f"attribute 'axis' = {A['axis']} is out of range for a rank-{rank} input "
                              f"(expected {-rank} to {rank})")
        try:
            shape = self.consts.shape_rule(n, A, [a.shape] + [self.consts.shape.get(x) for x in n.input[1:]])
        except ValueError as e:
            raise self.err(n, str(e)) from None
        if shape is None:
            raise self.err(n, "cannot tell the output shape")
        perm = n.op_type == "Transpose" and list(A.get("perm", [])) != sorted(A.get("perm", []))
        if perm and n.input[0] == self.input_name and self.sole(n) and len(shape) == 4:
            # an NHWC graph input transposed to NCHW: the DMA writes the image in the layout it is read
            self.wl_shape["input"] = tuple(shape[1:])
            self.note("input_layout", n)
            self.acts[n.output[0]] = _Act("input", tuple(shape), exclusive=False)
            return
        self._view(n, a, shape, permuted=perm and sum(x > 1 for x in a.shape) > 1)

    op_Reshape = op_Flatten = op_Squeeze = op_Unsqueeze = op_Transpose = op_Cast = _view_op

    def op_Identity(self, n):
        a = self.act(n)
        self._view(n, a, a.shape)

    def op_Dropout(self, n):
        self.note("dropout", n)
        self.op_Identity(n)

    def op_Softmax(self, n):
        self.note("softmax", n)
        self.op_Identity(n)

    op_LogSoftmax = op_Softmax

    def op_Pad(self, n):
        A, a = attrs(n), self.act(n)
        pads = A.get("pads")
        if pads is None:
            v = self.consts.value.get(n.input[1]) if len(n.input) > 1 else None
            if v is None:
                raise self.err(n, "the pads must be a constant")
            pads = np.asarray(v).reshape(-1).tolist()
        pads = [int(p) for p in pads]
        if len(a.shape) != 4 or len(pads) != 8 or any(pads[i] for i in (0, 1, 4, 5)) or min(pads) < 0:
            raise self.err(n, f"only non-negative padding of H and W is modelled, found pads {pads}")
        if a.pads is not None or a.permuted or tuple(a.shape[1:]) != self.wl_shape[a.layer]:
            raise self.err(n, "Pad must read a conv, pool or input feature map directly")
        shape = (a.shape[0], a.shape[1], a.shape[2] + pads[2] + pads[6], a.shape[3] + pads[3] + pads[7])
        self.acts[n.output[0]] = _Act(a.layer, shape, exclusive=False,
                                      pads=(pads[2], pads[3], pads[6], pads[7]))

    # ---- digital post-processing --------------------------------------------------------------------
    def _pool(self, n, kind, k, A):
        a = self.act(n)
        if len(a.shape) != 4:
            raise self.err(n, f"pooling needs an (N, C, H, W) input, found {list(a.shape)}")
        src = self.source(n, a, allow_pads=True)
        s, dl, pad, (ho, wo) = self._window(n, A, a, k, conv=False)
        if dl != (1, 1):
            raise self.err(n, "dilated pooling is not modelled")
        d = {"type": kind, "kernel": [int(k[0]), int(k[1])], "stride": list(s), "padding": pad}
        name = self.emit(n, self._with_input(d, src), (a.shape[1], ho, wo))
        self.out(n, name, (a.shape[0], a.shape[1], ho, wo))

    def op_MaxPool(self, n):
        A = attrs(n)
        if len(n.output) > 1 and n.output[1] and self.consumers.get(n.output[1]):
            raise self.err(n, "the indices output of MaxPool is not modelled")
        self._pool(n, "maxpool", A.get("kernel_shape", [1, 1]), A)

    def op_AveragePool(self, n):
        A = attrs(n)
        self._pool(n, "avgpool", A.get("kernel_shape", [1, 1]), A)

    def _global(self, n, kind, keep=True):
        a = self.act(n)
        if len(a.shape) != 4:
            raise self.err(n, f"global pooling needs an (N, C, H, W) input, found {list(a.shape)}")
        src = self.source(n, a)
        name = self.emit(n, self._with_input({"type": kind}, src), (a.shape[1], 1, 1))
        self.out(n, name, (a.shape[0], a.shape[1], 1, 1))
        if not keep:
            self.acts[n.output[0]] = _Act(name, (a.shape[0], a.shape[1]), exclusive=True)

    def op_GlobalAveragePool(self, n):
        self._global(n, "global_avgpool")

    def op_GlobalMaxPool(self, n):
        self._global(n, "global_maxpool")

    def _reduce(self, n, kind):
        A, a = attrs(n), self.act(n)
        try:
            axes = self.consts.axes(n, A)
        except ValueError as e:
            raise self.err(n, str(e)) from None
        if len(a.shape) != 4 or axes is None or sorted(x % 4 for x in axes) != [2, 3]:
            raise self.err(n, f"only a reduction over H and W (axes [2, 3]) is modelled, found axes {axes}")
        self._global(n, kind, keep=bool(A.get("keepdims", 1)))

    def op_ReduceMean(self, n):
        self._reduce(n, "global_avgpool")

    def op_ReduceMax(self, n):
        self._reduce(n, "global_maxpool")

    def op_Sum(self, n):
        ins = [x for x in n.input if x]
        if len(ins) == 1:
            return self.op_Identity(n)
        if all(x in self.acts for x in ins) and len({self.acts[x].shape for x in ins}) == 1:
            srcs = [self.source(n, self.acts[x]) for x in ins]
            a = self.acts[ins[0]]
            name = self.emit(n, {"type": "add", "inputs": srcs}, a.shape[1:])
            self.out(n, name, a.shape)
        else:
            self.op_eltwise(n)

    def op_Add(self, n):
        self._binary(n)

    op_Sub = op_Mul = op_Div = op_Add

    def _binary(self, n):
        """A constant per-channel operand is a scale/offset (ABN); two feature maps of one shape an add;
        anything else a digital eltwise op."""
        xs = [x for x in n.input if x]
        consts = [x for x in xs if x not in self.acts]
        if len(xs) != 2:
            raise self.err(n, f"expected two inputs, found {len(xs)}")
        if consts:
            a = self.acts[xs[0] if xs[1] in consts else xs[1]]
            cs = self.consts.shape.get(consts[0])
            if cs is None:
                raise self.err(n, f"cannot tell the shape of the constant '{consts[0]}'")
            full = (1,) * (len(a.shape) - len(cs)) + tuple(cs)
            if n.op_type == "Div" and xs[1] not in consts:
                raise self.err(n, "dividing a constant by a feature map is not modelled")
            per_channel = len(full) == len(a.shape) and all(d == 1 for i, d in enumerate(full) if i != 1) \
                and len(a.shape) in (2, 4)
            if per_channel and tuple(np.broadcast_shapes(a.shape, full)) == a.shape:
                return self._affine(n, a)
            self.op_eltwise(n)
            return
        if n.op_type == "Add" and self.acts[xs[0]].shape == self.acts[xs[1]].shape:
            return self.op_Sum(n)
        if n.op_type == "Div":
            raise self.err(n, "dividing two feature maps is not modelled")
        self.op_eltwise(n)

    def op_Concat(self, n):
        A = attrs(n)
        ins = [x for x in n.input if x]
        if any(x not in self.acts for x in ins):
            raise self.err(n, "concatenating a constant is not modelled")
        acts = [self.acts[x] for x in ins]
        rank = len(acts[0].shape)
        if "axis" not in A:
            raise self.err(n, "attribute 'axis' is required by Concat and missing")
        if not -rank <= int(A["axis"]) < rank:
            raise self.err(n, f"attribute 'axis' = {A['axis']} is out of range for a rank-{rank} input "
                              f"(expected {-rank} to {rank - 1})")
        ax = int(A["axis"]) % rank
        if ax != 1:
            raise self.err(n, f"only concatenation along channels (axis 1) is modelled, found axis {ax}")
        if len(ins) == 1:
            return self.op_Identity(n)
        srcs = [self.source(n, a) for a in acts]
        shape = (acts[0].shape[0], sum(a.shape[1] for a in acts), *acts[0].shape[2:])
        name = self.emit(n, {"type": "concat", "inputs": srcs}, shape[1:])
        self.out(n, name, shape)

    def op_LRN(self, n):
        size = int(attrs(n).get("size", 1))
        self._eltwise(n, self.act(n), "lrn", [], ops=2 * size + LRN_OPS_EXTRA)

    def op_eltwise(self, n):
        xs = [x for x in n.input if x]
        acts = [self.acts[x] for x in xs if x in self.acts]
        try:
            shape = tuple(np.broadcast_shapes(*[x.shape for x in acts]))
        except ValueError:
            raise self.err(n, f"inputs {[list(x.shape) for x in acts]} do not broadcast") from None
        acts.sort(key=lambda x: x.shape != shape)  # the full-size map first, broadcast ones after
        self._eltwise(n, acts[0], n.op_type, acts[1:])

    def _eltwise(self, n, a: _Act, op, others, ops=None):
        if ops is None:
            ops = OPS_PER_ELEMENT.get(op, 1)
        try:
            shape = tuple(np.broadcast_shapes(a.shape, *[o.shape for o in others]))
        except ValueError:
            raise self.err(n, "inputs do not broadcast") from None
        if shape != a.shape:
            raise self.err(n, f"the first feature map {list(a.shape)} must have the output shape {list(shape)}")
        srcs = [self.source(n, x) for x in [a, *others]]
        d = {"type": "eltwise", "op": str(op), "ops_per_element": int(ops)}
        if len(srcs) > 1:
            d["inputs"] = srcs
        else:
            self._with_input(d, srcs[0])
        if op not in ("affine", "relu", "clip"):
            self.note("eltwise", n)
        name = self.emit(n, d, a.shape[1:])
        self.out(n, name, a.shape)

    # ---- output -------------------------------------------------------------------------------------
    NOTE_TEXT = {
        "abn": "{n} BatchNormalization/per-channel scale op(s) folded into the analog batch-norm (ABN) of the "
               "preceding conv/dense layer: zero extra cost, the ABN already acts on every conversion",
        "digital_affine": "{n} BatchNormalization/scale op(s) not directly after a conv/dense layer "
                          "(pre-activation or shared input) run as digital per-channel affines, "
                          f"{FALLBACK_OPS['affine']} ops/element",
        "digital_relu": "{n} Relu(s) that cannot fuse into their producer (its raw output is read elsewhere, "
                        "or it is the image) run digitally, 1 op/element",
        "saturation": "{n} Clip(s) without a zero clamp folded into the ADC output range (zero cost)",
        "softmax": "{n} Softmax op(s) ignored for cost (run on the host)",
        "dropout": "{n} Dropout op(s) are identities at inference (no cost)",
        "permutation": "{n} reshape/transpose chain(s) permute elements (e.g. channel shuffle): folded into "
                       "the SRAM write addresses of the producer, no cost",
        "input_layout": "the input image is transposed to (C, H, W) as it is written into SRAM, no cost",
        "eltwise": "{n} elementwise op(s) mapped to digital post-processing (see ops_per_element)",
    }

    def note_lines(self) -> list[str]:
        out = []
        for key, text in self.NOTE_TEXT.items():
            names = self.notes.get(key)
            if names:
                names = list(dict.fromkeys(names))
                shown = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
                out.append(f"{text.format(n=len(names))} ({shown})")
        return out

    def _dict(self, in_shape) -> dict:
        return {"in_shape": list(in_shape), "layers": self.layers, "notes": self.note_lines(),
                "batch": self.batch, "origin": self.origin}


MAX_ONNX_BYTES = 1 << 30  # protobuf parses at most 2 GiB; the whole file (weights too) is read to get shapes,
# so 1 GiB bounds memory to ~3 GiB (VGG-19 with its weights is 0.55 GB; larger models keep external data)


def _exists(p: Path) -> bool:
    try:
        return p.exists()
    except (OSError, ValueError):
        return False


def read_model(path):
    """Load an ONNX file (weights' external data is never read): InputError when it is not one."""
    onnx = _onnx(path)
    p = Path(path)
    try:
        size = p.stat().st_size if p.is_file() else None
    except (OSError, ValueError):  # an over-long name, a NUL
        size = None
    if size is None:
        raise InputError("ONNX model not found" if not _exists(p) else "expected a regular file", Where(str(path)))
    if size > MAX_ONNX_BYTES:
        raise InputError(f"file is {size} bytes, over the {MAX_ONNX_BYTES}-byte limit of an ONNX model",
                         Where(str(path)))
    try:
        data = p.read_bytes()
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror}", Where(str(path))) from None
    try:
        model = onnx.load_model_from_string(data)
    except Exception as e:  # noqa: BLE001  (protobuf raises several types on damaged input)
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise InputError(f"not a valid ONNX model (truncated or not a protobuf?): {msg}", Where(str(path))) from None
    if not model.HasField("graph") or not model.graph.node or not model.ir_version:
        raise InputError("not a valid ONNX model: no graph with nodes (truncated or not an ONNX file?)",
                         Where(str(path)))
    return model, hashlib.sha256(data).hexdigest()


def _yaml_line(d) -> str:
    return yaml_flow(d)  # the emitter, one line (tlm/config/yamlemit.py)


def onnx_to_workload_data(path, precision: dict | None = None) -> tuple[dict, list[str]]:
    """The workload mapping of an ONNX model (the YAML-level format) and the header comment lines."""
    data, header, _ = _convert(path, precision)
    return data, header


def _convert(path, precision: dict | None = None) -> tuple[dict, list[str], str]:
    """The workload mapping, the header comment lines and the YAML text `tlm import` writes."""
    model, digest = read_model(path)
    try:
        d = _Importer(model, str(path)).run()
    except InputError:
        raise
    except (TypeError, ValueError, KeyError, IndexError, AttributeError, UnicodeError, ArithmeticError) as e:
        # a damaged protobuf still parses (e.g. bytes where a name should be): user input, not a bug
        raise InputError(f"malformed ONNX graph, cannot interpret it ({type(e).__name__}: {e})",
                         Where(str(path))) from None
    prec = {"input": 8, "weight": 8, "output": 8, **(precision or {})}
    opset = ", ".join(f"{o.domain or 'ai.onnx'} {o.version}" for o in model.opset_import)
    producer = f"{model.producer_name} {model.producer_version}".strip() or "unknown producer"
    header = [f"Imported by `tlm import` from {Path(path).name} (sha256 {digest[:16]}, {producer}, opset {opset}).",
              "Only shapes were read from the model; see docs/onnx.md for how each operator maps.",
              *(f"note: {x}" for x in d["notes"])]
    data = {
        "name": Path(path).stem,
        "source": f"ONNX model {Path(path).name} (sha256 {digest[:16]})",
        "input": {"shape": d["in_shape"], "bits": prec["input"]},
        "precision": prec,
        "batch": d["batch"],
        **({"notes": d["notes"]} if d["notes"] else {}),
        "layers": d["layers"],
    }
    text = check_file_limits(data, header, path, d["origin"])  # the same limits for import and simulate
    return data, header, text


def _render(data: dict, header) -> tuple[list[str], int]:
    """The lines of the workload YAML text (`tlm import` writes them joined) and the index of the first
    layer line."""
    lines = [yaml_comment(x) for x in header]
    first = None
    for key, v in data.items():
        if isinstance(v, list) and key in ("notes", "layers"):  # one line per item
            lines.append(f"{key}:")
            if key == "layers":
                first = len(lines)
            lines += [f"  - {_yaml_line(x)}" for x in v]
        else:
            lines.append(f"{key}: {_yaml_line(v)}")
    return lines, first


def _values(v) -> int:
    """YAML values the loader counts for `v` (yamlio.MAX_NODES): every scalar, key, mapping and
    sequence, and each pair of a mapping once more (as `<<:` merges are counted)."""
    if isinstance(v, dict):
        return 1 + sum(2 + _values(x) for x in v.values())
    if isinstance(v, list):
        return 1 + sum(_values(x) for x in v)
    return 1


def check_file_limits(data: dict, header, path, origin: dict) -> str:
    """The YAML text `tlm import` writes for `data`, refused when a workload file could not be read back
    (over MAX_YAML_BYTES bytes or MAX_NODES values): `tlm import` and `tlm simulate MODEL.onnx` accept
    the same models, and every imported file simulates.  The error names the ONNX file and the node at
    which the limit is crossed, never a line of generated text."""
    from tlm.config.yamlio import MAX_NODES, MAX_YAML_BYTES
    layers = data["layers"]
    n_values = _values(data)
    if n_values > MAX_NODES:  # counted on the data (cheap), before any text is made
        n_values -= sum(_values(x) for x in layers)
        for i, d in enumerate(layers):
            n_values += _values(d)
            if n_values > MAX_NODES:
                _limit_error(path, origin, d, i, len(layers), f"{n_values} YAML values, over the {MAX_NODES}-value "
                             "limit")
    lines, first = _render(data, header)
    size = sum(len(x.encode("utf-8")) + 1 for x in lines)
    if size > MAX_YAML_BYTES:
        n_bytes = sum(len(x.encode("utf-8")) + 1 for x in lines[:first])
        for i, d in enumerate(layers):
            n_bytes += len(lines[first + i].encode("utf-8")) + 1
            if n_bytes > MAX_YAML_BYTES:
                _limit_error(path, origin, d, i, len(layers), f"{n_bytes} bytes of YAML, over the "
                             f"{MAX_YAML_BYTES}-byte limit")
    return "\n".join(lines) + "\n"


def _limit_error(path, origin, d, i, n, what):
    node, op = origin.get(d["name"], (d["name"], d["type"]))
    raise InputError(f"the workload reaches {what} of a workload file at this node (layer {i + 1} of {n}); "
                     "tlm would write a file it cannot read back. Fewer layers, or shorter node names, fit",
                     Where(str(path)), f"node '{node}' ({op})")


def onnx_to_yaml(path, precision: dict | None = None) -> str:
    """The workload YAML text of an ONNX model, with a comment header naming its source."""
    return _convert(path, precision)[2]


def _ydata(v, file: str):
    """Plain dicts/lists -> the YDict/YList the workload parser reads (no line numbers: the file is ONNX)."""
    if isinstance(v, dict):
        out = YDict((k, _ydata(x, file)) for k, x in v.items())
    elif isinstance(v, list):
        out = YList(_ydata(x, file) for x in v)
    else:
        return v
    out.file = file
    return out


def _workload(ydata, path) -> Workload:
    wl = parse_workload(ydata, str(path))
    for layer in wl.layers:  # errors name the ONNX file, not a line of generated text
        layer.where = Where(str(path))
    return wl


def parse_yaml(text: str, path) -> Workload:
    """The workload of imported YAML text (what `tlm import` writes); errors name the ONNX file, not a
    line of the generated text."""
    try:
        return _workload(load_text(text, str(path)), path)
    except InputError as e:
        raise InputError(e.message, Where(str(path)), e.field) from None


def load_onnx(path, precision: dict | None = None) -> Workload:
    """Workload loader for `.onnx` files (tlm simulate MODEL.onnx): the same mapping `tlm import` writes,
    parsed without the text round trip."""
    data, _ = onnx_to_workload_data(path, precision)
    return _workload(_ydata(data, str(path)), path)


def import_graph(model, path):
    """The importer after its walk over `model` (for tlm/onnxio/weights.py): `acts` says which workload
    layer holds each tensor and `ldict` each layer's mapping, so the weights reader folds exactly what the
    cost import decided to fold.  Raises InputError like `load_onnx`."""
    imp = _Importer(model, str(path))
    imp.run()
    return imp
