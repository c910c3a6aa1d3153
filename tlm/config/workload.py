"""CNN workloads: the YAML format, validation and layer-to-layer shape inference.

A workload file:

    name: mnist_cnn
    input: {shape: [1, 28, 28], bits: 8}        # C, H, W of one image and its precision
    precision: {input: 8, weight: 8, output: 8}  # defaults for every layer
    batch: 1                                     # images per run (weights loaded once per batch)
    layers:
      - {name: conv1, type: conv2d, out_channels: 16, kernel: 3, padding: 1}
      - {type: maxpool, kernel: 2}
      - {type: flatten}
      - {name: fc, type: dense, out_features: 10, precision: {output: 8}}

A layer reads the previous layer unless it names `input:` (one layer) or, for `add`/`concat`/
`eltwise`, `inputs:` (several).  Shapes are (C, H, W) tensors or (F,) vectors after `flatten`.

Two digital types exist mainly for imported graphs (tlm/onnxio/graph.py):
- `reshape` {shape: [C, H, W] or [F]}: a view of the same elements (like `flatten`), no cost;
- `eltwise` {op: NAME, ops_per_element: N}: digital post-processing of N ops per output element (e.g.
  an LRN, a batch-norm that cannot be folded into an ABN, a product of two tensors); its `inputs` may
  broadcast against the first one (each dimension equal or 1).
`notes:` (a list of strings) carries remarks of the workload's author or importer into the report.
"""
from __future__ import annotations

import math
from dataclasses import field

from tlm.records import Record, record
from tlm.errors import InputError, Where, did_you_mean, short
from tlm.config.schema import check_value
from tlm.config.yamlio import YDict, YList, load_file, to_ydict

COMPUTE_TYPES = ("conv2d", "dense")  # mapped onto the CIM macros
DIGITAL_TYPES = ("maxpool", "avgpool", "global_avgpool", "global_maxpool", "add", "concat", "flatten",
                 "reshape", "eltwise")
VIEW_TYPES = ("flatten", "reshape")  # same elements, new shape: no data moves, no cost
LAYER_TYPES = COMPUTE_TYPES + DIGITAL_TYPES
MAX_LAYERS = 10_000
MAX_DIM = 1 << 20  # any single dimension (channels, pixels) above this is refused as absurd
MAX_ELEMENTS = 1 << 34  # elements of one tensor
# Work of one run (batch included).  They keep every count of the engines (cycles, bits, cell
# switchings = MACs x bits x packing <= 2^40 x 2^3 x 2^16) exact in int64; far above real networks.
MAX_MACS_PER_RUN = 1 << 40  # MACs plus digital post-processing ops, ~1.1e12
MAX_ACTIVATIONS_PER_RUN = 1 << 36  # elements of the input and of every layer output, ~6.9e10


@record
class Layer(Record):
    """One layer with its resolved shapes and precisions."""

    name: str
    type: str
    inputs: tuple[str, ...]
    in_shape: tuple[int, ...]  # shape of the (first) input tensor
    out_shape: tuple[int, ...]
    bits_in: int  # r_in: input precision (input bit-planes streamed per DP)
    bits_w: int  # r_w: weight precision (adjacent columns per output channel)
    bits_out: int  # r_out: ADC / output precision
    kernel: tuple[int, int] = (1, 1)
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int, int, int] = (0, 0, 0, 0)  # top, left, bottom, right
    dilation: tuple[int, int] = (1, 1)
    groups: int = 1
    relu: bool = False
    op: str = ""  # eltwise: what the digital op computes (a label)
    ops_per_element: int = 0  # eltwise: post-processing ops per output element
    in_shapes: tuple[tuple[int, ...], ...] = ()
    extra: dict = field(default_factory=dict)  # fields kept for other tools (e.g. weights keys)
    where: Where | None = None  # where the layer stands in its file

    @property
    def is_compute(self) -> bool:
        return self.type in COMPUTE_TYPES

    @property
    def c_in(self) -> int:
        return self.in_shape[0]

    @property
    def c_out(self) -> int:
        return self.out_shape[0]

    @property
    def out_pixels(self) -> int:
        return math.prod(self.out_shape[1:]) if len(self.out_shape) == 3 else 1

    @property
    def macs(self) -> int:
        if not self.is_compute:
            return 0
        return self.out_pixels * self.c_out * self.kernel[0] * self.kernel[1] * (self.c_in // self.groups)


@record
class Workload(Record):
    """A network: its input, batch and layers (in execution order), as loaded and checked."""

    name: str
    input_shape: tuple[int, ...]
    input_bits: int
    batch: int
    layers: list[Layer]
    file: str = "<workload>"
    source: str = ""
    notes: list = field(default_factory=list)  # remarks carried into the report (e.g. from an importer)
    extra: dict = field(default_factory=dict)

    @property
    def macs(self) -> int:
        return sum(l.macs for l in self.layers)

    def to_dict(self) -> dict:
        """The resolved workload (shapes inferred) for JSON output."""
        return {
            "name": self.name, "batch": self.batch,
            "input": {"shape": list(self.input_shape), "bits": self.input_bits},
            "layers": [{
                "name": l.name, "type": l.type, "inputs": list(l.inputs),
                "in_shape": list(l.in_shape), "out_shape": list(l.out_shape),
                "precision": {"input": l.bits_in, "weight": l.bits_w, "output": l.bits_out},
                **({"kernel": list(l.kernel), "stride": list(l.stride), "padding": list(l.padding),
                    "dilation": list(l.dilation), "groups": l.groups, "relu": l.relu}
                   if l.type in ("conv2d", "maxpool", "avgpool") else {}),
                **({"op": l.op, "ops_per_element": l.ops_per_element} if l.type == "eltwise" else {}),
                "macs": l.macs,
            } for l in self.layers],
        }


# ---- per-type fields -------------------------------------------------------------------------------
_COMMON = {"name", "type", "input", "precision", "relu"}
_FIELDS = {
    "conv2d": {"out_channels", "kernel", "stride", "padding", "dilation", "groups", "weights"},
    "dense": {"out_features", "weights"},
    "maxpool": {"kernel", "stride", "padding"},
    "avgpool": {"kernel", "stride", "padding"},
    "global_avgpool": set(),
    "global_maxpool": set(),
    "add": {"inputs"},
    "concat": {"inputs"},
    "flatten": set(),
    "reshape": {"shape"},
    "eltwise": {"inputs", "op", "ops_per_element"},
}
_TOP = {"name", "source", "input", "precision", "batch", "layers", "weights", "notes"}
_INT = {"lo": 1}


def _pair(v, where, path, lo=1):
    if isinstance(v, list):
        if len(v) != 2:
            raise InputError(f"expected one integer or a list of two, found {short(v)}", where, path)
        return tuple(check_value(int, x, {"lo": lo, "hi": MAX_DIM}, where, path) for x in v)
    x = check_value(int, v, {"lo": lo, "hi": MAX_DIM}, where, path)
    return (x, x)


def _padding(v, where, path):
    if isinstance(v, str):
        if v not in ("same", "valid"):
            raise InputError(f"expected an integer, a list or 'same'/'valid', found {short(v)}", where, path)
        return v
    if isinstance(v, list) and len(v) == 4:
        return tuple(check_value(int, x, {"lo": 0, "hi": MAX_DIM}, where, path) for x in v)
    ph, pw = _pair(v, where, path, lo=0)
    return (ph, pw, ph, pw)


def _precision(d, where, path, base: dict) -> dict:
    out = dict(base)
    if d is None:
        return out
    if not isinstance(d, dict):
        raise InputError(f"expected a mapping with input/weight/output, found {short(d)}", where, path)
    for k, v in d.items():
        w = d.where(k) if isinstance(d, YDict) else where
        if k not in ("input", "weight", "output"):
            raise InputError(f"unknown field {short(k)}" + did_you_mean(k, ("input", "weight", "output")),
                             w, f"{path}.{k}")
        out[k] = check_value(int, v, {"lo": 1, "hi": 64}, w, f"{path}.{k}")
    return out


def parse_workload(data, file: str = "<workload>") -> Workload:
    """Validate a workload mapping (from YAML or built in code) and infer every layer's shapes."""
    if not isinstance(data, YDict):
        data = to_ydict(data, file)
    for k in data:
        if k not in _TOP:
            raise InputError(f"unknown field {short(k)}" + did_you_mean(k, _TOP), data.where(k), str(k))
    for k in ("input", "layers"):
        if k not in data:
            raise InputError("missing required field", data.where(), k)
    name = data.get("name", "workload")
    if not isinstance(name, str):
        raise InputError(f"expected a string, found {short(name)}", data.where("name"), "name")
    inp = data["input"]
    if not isinstance(inp, YDict):
        raise InputError(f"expected a mapping with shape and bits, found {short(inp)}", data.where("input"), "input")
    for k in inp:
        if k not in ("shape", "bits"):
            raise InputError(f"unknown field {short(k)}" + did_you_mean(k, ("shape", "bits")), inp.where(k),
                             f"input.{k}")
    if "shape" not in inp:
        raise InputError("missing required field", inp.where(), "input.shape")
    shape = inp["shape"]
    if not isinstance(shape, list) or len(shape) not in (1, 3):
        raise InputError(f"expected [C, H, W] or [F], found {short(shape)}", inp.where("shape"), "input.shape")
    shape = tuple(check_value(int, x, {"lo": 1, "hi": MAX_DIM}, inp.where("shape"), "input.shape")
                  for x in shape)
    base = _precision(data.get("precision"), data.where("precision"), "precision",
                      {"input": 8, "weight": 8, "output": 8})
    in_bits = check_value(int, inp.get("bits", base["input"]), {"lo": 1, "hi": 64}, inp.where("bits"),
                          "input.bits")
    batch = check_value(int, data.get("batch", 1), {"lo": 1, "hi": 1 << 20}, data.where("batch"), "batch")
    layers_y = data["layers"]
    if not isinstance(layers_y, YList) or not layers_y:
        raise InputError("expected a non-empty list of layers", data.where("layers"), "layers")
    if len(layers_y) > MAX_LAYERS:
        raise InputError(f"{len(layers_y)} layers, over the limit of {MAX_LAYERS}", data.where("layers"),
                         "layers")

    tally = RunLimits(shape, batch, inp.where("shape"))
    shapes: dict[str, tuple[int, ...]] = {"input": shape}
    bits_of: dict[str, int] = {"input": in_bits}
    layers: list[Layer] = []
    prev = "input"
    for i, ly in enumerate(layers_y):
        lw = layers_y.where(i)
        path = f"layers[{i}]"
        if not isinstance(ly, YDict):
            raise InputError(f"expected a mapping with a 'type', found {short(ly)}", lw, path)
        layer = _parse_layer(ly, i, path, prev, shapes, bits_of, base)
        if layer.name in shapes:
            raise InputError(f"layer name '{layer.name}' is used twice", ly.where("name"), f"{path}.name")
        tally.add(layer, ly.where(), path)
        shapes[layer.name] = layer.out_shape
        bits_of[layer.name] = layer.bits_out
        layers.append(layer)
        prev = layer.name
    extra = {k: data[k] for k in ("weights",) if k in data}
    notes = data.get("notes", [])
    if not isinstance(notes, list) or not all(isinstance(x, str) for x in notes):
        raise InputError("expected a list of strings", data.where("notes"), "notes")
    return Workload(name=name, input_shape=shape, input_bits=in_bits, batch=batch, layers=layers, file=file,
                    source=str(data.get("source", "")), notes=list(notes), extra=extra)


class RunLimits:
    """The limits of one run's work (MAX_MACS_PER_RUN) and activations (MAX_ACTIVATIONS_PER_RUN), counted
    layer by layer with the batch the run will have: the one place they apply, to a workload file as it is
    parsed and to the workload as it will run (`check_run_limits`: a `--set workload.batch`, a sweep point,
    the images of a functional run).  The same message in every case; only where the batch came from
    differs."""

    def __init__(self, input_shape, batch: int, where: Where):
        self.batch, self.work = batch, 0
        self.acts = math.prod(input_shape) * batch
        if self.acts > MAX_ACTIVATIONS_PER_RUN:
            raise InputError(f"{self.acts} input elements per run (batch x C x H x W), over the limit of "
                             f"{MAX_ACTIVATIONS_PER_RUN}", where, "input.shape")

    def add(self, layer, where: Where, path: str) -> None:
        self.work += (layer.macs + _digital_work(layer)) * self.batch
        self.acts += math.prod(layer.out_shape) * self.batch
        for what, n, limit in (("MACs and ops", self.work, MAX_MACS_PER_RUN),
                               ("activation elements", self.acts, MAX_ACTIVATIONS_PER_RUN)):
            if n > limit:
                raise InputError(f"the network needs {n} {what} per run (batch {self.batch}) up to this layer, "
                                 f"over the limit of {limit}", where, path)


def check_run_limits(wl, where: Where | None = None) -> None:
    """`RunLimits` on the workload as it will run (its batch as changed by --set, a sweep point or a
    functional run's image count).  `where`: where that batch came from (the command line); the layer's
    place in its file when None."""
    tally = RunLimits(wl.input_shape, wl.batch, where or Where(wl.file))
    for i, layer in enumerate(wl.layers):
        tally.add(layer, where or layer.where or Where(wl.file), f"layers[{i}]")


def _digital_work(layer) -> int:
    """Upper bound of the elementwise ops of a digital layer, for the work limit."""
    if layer.type in ("maxpool", "avgpool"):
        return math.prod(layer.out_shape) * layer.kernel[0] * layer.kernel[1]
    return sum(math.prod(s) for s in layer.in_shapes) if not layer.is_compute else 0


def _parse_layer(ly: YDict, i, path, prev, shapes, bits_of, base) -> Layer:
    w = ly.where
    t, name, path = _layer_head(ly, i, path)
    inputs = _layer_inputs(ly, t, path, prev, shapes)
    in_shapes = tuple(shapes[s] for s in inputs)
    in_shape = in_shapes[0]
    prec = _precision(ly.get("precision"), w("precision"), f"{path}.precision", base)
    if "input" not in (ly.get("precision") or {}):
        prec["input"] = bits_of[inputs[0]]  # a layer reads what its producer wrote
    if t not in COMPUTE_TYPES and "output" not in (ly.get("precision") or {}):
        prec["output"] = prec["input"]  # digital layers keep the precision of their input
    relu = ly.get("relu", False)
    if not isinstance(relu, bool):
        raise InputError(f"expected true or false, found {short(relu)}", w("relu"), f"{path}.relu")
    kw = dict(where=w(), name=name, type=t, inputs=inputs, in_shape=in_shape, in_shapes=in_shapes,
              bits_in=prec["input"], bits_w=prec["weight"], bits_out=prec["output"], relu=relu)
    if "weights" in ly:
        kw["extra"] = {"weights": ly["weights"]}
    out = _out_shape(ly, t, path, in_shapes, kw)
    if math.prod(out) > MAX_ELEMENTS:
        raise InputError(f"output shape {list(out)} is absurdly large", w("type"), f"{path}")
    kw["out_shape"] = out
    return Layer(**kw)


def _layer_head(ly: YDict, i, path) -> tuple:
    """(type, name, path naming the layer) of layer `i`, its fields checked against its type."""
    w = ly.where
    if "type" not in ly:
        raise InputError("missing required field", w(), f"{path}.type")
    t = ly["type"]
    if not isinstance(t, str) or t not in _FIELDS:
        raise InputError(f"unknown layer type {short(t)}, expected one of {', '.join(LAYER_TYPES)}"
                         + did_you_mean(t, LAYER_TYPES), w("type"), f"{path}.type")
    allowed = _COMMON | _FIELDS[t]
    for k in ly:
        if k not in allowed:
            raise InputError(f"unknown field {short(k)} for a {t} layer" + did_you_mean(k, allowed), w(k),
                             f"{path}.{k}")
    name = ly.get("name", f"{t}{i}")
    if not isinstance(name, str) or not name:
        raise InputError(f"expected a non-empty string, found {short(name)}", w("name"), f"{path}.name")
    return t, name, f"layers[{i}]({name})"


def _layer_inputs(ly: YDict, t, path, prev, shapes) -> tuple:
    """The names of the layers this one reads (`input`, `inputs`, or the previous layer)."""
    w = ly.where

    def ref(v, key):
        if not isinstance(v, str):
            raise InputError(f"expected a layer name, found {short(v)}", w(key), f"{path}.{key}")
        if v not in shapes:
            raise InputError(f"no earlier layer named '{v}'" + did_you_mean(v, shapes), w(key), f"{path}.{key}")
        return v

    if t == "eltwise" and "inputs" in ly and "input" in ly:
        raise InputError("give either 'input' or 'inputs', not both", w("input"), f"{path}.input")
    if t == "eltwise" and "inputs" in ly:
        srcs = ly["inputs"]
        if not isinstance(srcs, list) or not srcs:
            raise InputError(f"expected a list of layer names, found {srcs!r}", w("inputs"), f"{path}.inputs")
        return tuple(ref(s, "inputs") for s in srcs)
    if t in ("add", "concat"):
        if "input" in ly:
            raise InputError(f"a {t} layer takes 'inputs' (a list), not 'input'", w("input"), f"{path}.input")
        srcs = ly.get("inputs")
        if not isinstance(srcs, list) or len(srcs) < 2:
            raise InputError(f"expected a list of at least two layer names, found {short(srcs)}", w("inputs"),
                             f"{path}.inputs")
        return tuple(ref(s, "inputs") for s in srcs)
    return (ref(ly["input"], "input") if "input" in ly else prev,)


def _out_shape(ly: YDict, t, path, in_shapes, kw) -> tuple:
    """The output shape of a layer of type `t` (window fields and the like go into `kw`)."""
    w = ly.where
    in_shape = in_shapes[0]
    if t in ("conv2d", "maxpool", "avgpool", "global_avgpool", "global_maxpool") and len(in_shape) != 3:
        raise InputError(f"a {t} layer needs a (C, H, W) input, found shape {list(in_shape)}",
                         w("type"), f"{path}.type")
    if t in ("conv2d", "maxpool", "avgpool"):
        return _window_out_shape(ly, t, path, in_shape, kw)
    if t == "dense":
        if len(in_shape) == 3 and in_shape[1:] != (1, 1):
            raise InputError(f"a dense layer needs a flat input, found shape {list(in_shape)}; add a flatten "
                             "or global pool layer before it", w("type"), f"{path}.type")
        if "out_features" not in ly:
            raise InputError("missing required field", w(), f"{path}.out_features")
        fo = check_value(int, ly["out_features"], {"lo": 1, "hi": MAX_DIM}, w("out_features"),
                         f"{path}.out_features")
        kw["in_shape"] = (in_shape[0],)
        return (fo,)
    if t in ("global_avgpool", "global_maxpool"):
        return (in_shape[0], 1, 1)
    if t == "flatten":
        return (math.prod(in_shape),)
    if t == "reshape":
        return _reshape_out_shape(ly, path, in_shape)
    if t == "eltwise":
        return _eltwise_out_shape(ly, path, in_shapes, kw)
    if t == "add":
        if any(s != in_shape for s in in_shapes):
            raise InputError(f"add needs inputs of one shape, found {[list(s) for s in in_shapes]}",
                             w("inputs"), f"{path}.inputs")
        return in_shape
    # concat along channels
    if any(len(s) != len(in_shape) or s[1:] != in_shape[1:] for s in in_shapes):
        raise InputError(f"concat needs inputs that differ only in channels, found "
                         f"{[list(s) for s in in_shapes]}", w("inputs"), f"{path}.inputs")
    return (sum(s[0] for s in in_shapes),) + in_shape[1:]


def _window_out_shape(ly: YDict, t, path, in_shape, kw) -> tuple:
    """A conv2d or pool: its window (kernel, stride, padding, dilation, groups into `kw`) and output shape."""
    w = ly.where
    c, h, wd = in_shape
    if "kernel" not in ly:
        raise InputError("missing required field", w(), f"{path}.kernel")
    kh, kwd = _pair(ly["kernel"], w("kernel"), f"{path}.kernel")
    if "stride" in ly:
        sh, sw = _pair(ly["stride"], w("stride"), f"{path}.stride")
    else:  # convs default to stride 1, pools to their kernel
        sh, sw = (1, 1) if t == "conv2d" else (kh, kwd)
    dh, dw = _pair(ly.get("dilation", 1), w("dilation"), f"{path}.dilation")
    pad = _padding(ly.get("padding", 0), w("padding"), f"{path}.padding")
    ekh, ekw = dh * (kh - 1) + 1, dw * (kwd - 1) + 1
    if pad == "valid":
        pad = (0, 0, 0, 0)
    elif pad == "same":
        oh, ow = -(-h // sh), -(-wd // sw)
        ph = max(0, (oh - 1) * sh + ekh - h)
        pw = max(0, (ow - 1) * sw + ekw - wd)
        pad = (ph // 2, pw // 2, ph - ph // 2, pw - pw // 2)
    ho = (h + pad[0] + pad[2] - ekh) // sh + 1
    wo = (wd + pad[1] + pad[3] - ekw) // sw + 1
    if ho < 1 or wo < 1:
        raise InputError(f"kernel {kh}x{kwd} does not fit the {h}x{wd} input with padding {list(pad)}",
                         w("kernel"), f"{path}.kernel")
    cout = c
    groups = 1
    if t == "conv2d":
        if "out_channels" not in ly:
            raise InputError("missing required field", w(), f"{path}.out_channels")
        cout = check_value(int, ly["out_channels"], {"lo": 1, "hi": MAX_DIM}, w("out_channels"),
                           f"{path}.out_channels")
        groups = check_value(int, ly.get("groups", 1), {"lo": 1, "hi": MAX_DIM}, w("groups"),
                             f"{path}.groups")
        if c % groups or cout % groups:
            raise InputError(f"groups={groups} must divide both input channels ({c}) and out_channels "
                             f"({cout})", w("groups"), f"{path}.groups")
    kw.update(kernel=(kh, kwd), stride=(sh, sw), padding=pad, dilation=(dh, dw), groups=groups)
    return (cout, ho, wo)


def _reshape_out_shape(ly: YDict, path, in_shape) -> tuple:
    w = ly.where
    shp = ly.get("shape")
    if not isinstance(shp, list) or len(shp) not in (1, 3):
        raise InputError(f"expected [C, H, W] or [F], found {shp!r}", w("shape") if "shape" in ly else w(),
                         f"{path}.shape")
    out = tuple(check_value(int, x, {"lo": 1, "hi": MAX_DIM}, w("shape"), f"{path}.shape") for x in shp)
    if math.prod(out) != math.prod(in_shape):
        raise InputError(f"shape {list(out)} holds {math.prod(out)} elements, the input {list(in_shape)} "
                         f"holds {math.prod(in_shape)}", w("shape"), f"{path}.shape")
    return out


def _eltwise_out_shape(ly: YDict, path, in_shapes, kw) -> tuple:
    w = ly.where
    in_shape = in_shapes[0]
    op = ly.get("op")
    if not isinstance(op, str) or not op:
        raise InputError(f"expected the name of the digital op, found {op!r}", w("op") if "op" in ly else w(),
                         f"{path}.op")
    kw["op"] = op
    kw["ops_per_element"] = check_value(int, ly.get("ops_per_element", 1), {"lo": 0, "hi": 1 << 20},
                                        w("ops_per_element"), f"{path}.ops_per_element")
    for s in in_shapes[1:]:
        if len(s) != len(in_shape) or any(b not in (a, 1) for a, b in zip(in_shape, s)):
            raise InputError(f"input shape {list(s)} does not broadcast to {list(in_shape)}", w("inputs"),
                             f"{path}.inputs")
    return in_shape


def load_workload(path) -> Workload:
    """Read and validate a workload YAML file."""
    return parse_workload(load_file(path, "workload file"), str(path))


def check_against(wl: Workload, arch) -> None:
    """Semantic checks of a workload against an architecture: precisions the hardware supports."""
    sup = {"input": arch.precision.input_bits, "weight": arch.precision.weight_bits,
           "output": arch.precision.output_bits}
    for i, l in enumerate(wl.layers):
        if not l.is_compute:
            continue
        for kind, bits in (("input", l.bits_in), ("weight", l.bits_w), ("output", l.bits_out)):
            if bits not in sup[kind]:
                raise InputError(f"{kind} precision {bits}b is not supported by '{arch.name}' "
                                 f"(supported: {', '.join(map(str, sup[kind]))})",
                                 l.where or Where(wl.file), f"layers[{i}]({l.name}).precision.{kind}")
