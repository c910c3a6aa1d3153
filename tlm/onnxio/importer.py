"""The ONNX graph walk: checks the operator spec, orders the nodes, tracks activations and emits workload
layers through the operator rules of tlm/onnxio/operators.py."""
from __future__ import annotations

import numpy as np

from tlm.errors import InputError, Where
from tlm.onnxio.operators import FALLBACK_OPS, SUPPORTED_OPS, OperatorRules, _Act
from tlm.onnxio.shapes import Constants, attrs, inferred_shapes


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


class Importer(OperatorRules):
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
