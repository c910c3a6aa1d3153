"""The rule of each ONNX operator: how it maps onto workload layers (tlm/onnxio/importer.py walks the
graph and calls `op_<OpType>` of OperatorRules for every node; tlm/onnxio/graph.py is the file-level entry).

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
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tlm.onnxio.shapes import attrs

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

@dataclass
class _Act:
    """An activation tensor: which workload layer holds its data, and its ONNX shape (batch first)."""

    layer: str
    shape: tuple
    exclusive: bool  # the layer's output reaches this tensor through single-consumer ops only
    permuted: bool = False  # a transpose reordered elements on the way
    pads: tuple | None = None  # a Pad waiting for the conv/pool that reads it (top, left, bottom, right)


class OperatorRules:
    """The `op_<OpType>` handlers; the state they use (acts, consts, layers, emit, out, ...) is Importer's."""

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
