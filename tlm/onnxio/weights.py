"""The weights of an ONNX model, for the functional (accuracy) model: `tlm accuracy MODEL.onnx`.

tlm/onnxio/graph.py maps the graph to a workload (shapes only) and decides what folds where; this module
walks the same graph with that importer's decisions (`onnx_import.import_graph`: which workload layer
holds each tensor) and reads the values:

- Conv: weight (Cout, Cin/G, kh, kw) and optional bias; Gemm: B (transposed unless transB=1) times
  alpha, bias C times beta; MatMul: B transposed, no bias.
- A BatchNormalization or a per-channel Mul/Add/Sub/Div by a constant that the importer folded into a
  conv/dense layer's analog batch-norm (ABN) is folded here into that layer's float weights and bias:
  BN y = (x - mean) / sqrt(var + eps) * scale + B -> w' = a w, b' = a (b - mean) + B, a = scale /
  sqrt(var + eps).  tlm.functional.model then quantizes w' per output channel (step = max |w'_c| / (2^(r_w-1)
  - 1)), so the per-channel factor a ends up in the channel's weight step and hence in its ABN gain
  g_c = s_in step_c / s_out, and the shift in its ABN offset: the same fold the hardware does.
- Relu / Clip(min >= 0) are the workload layer's `relu: true` (the importer's decision).
- Activation ranges (the float value the r_out-bit codes span, per compute layer): from the model's
  metadata `tlm.range.<layer>` when present (scripts/export_mnist_onnx.py writes the trained ranges),
  else calibrated on a few images through the float model (the 99.99th percentile of each layer's
  output; |output| for layers without ReLU), as scripts/train_mnist.py calibrates.
- Input codes: unsigned `input.bits`-bit; code 2^bits - 1 is the float input `tlm.input_range`
  (metadata; 1.0, i.e. pixels / 255, when absent).

Weights must be initializers or Constant nodes (a weight computed by a constant subgraph is refused in
one line naming the node).  Layers the functional model cannot run (digital `eltwise` ops) are refused
when the network is run, in one line naming the layer.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from tlm.functional import model as F
from tlm.functional.joins import JOIN_TYPES
from tlm.config.npz import check_values
from tlm.errors import InputError, Where

CALIBRATION_PERCENTILE = 99.99  # as scripts/train_mnist.py calibrates the shipped network's ranges
FOLDABLE = ("BatchNormalization", "Mul", "Add", "Sub", "Div")


# element types an initializer may have, with their bytes per element: the real numeric ones (never string,
# complex, packed 4-bit or UNDEFINED); bfloat16 (16) and the float8 types (17-20) as onnx reads them
REAL_TYPES = {1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8, 16: 2, 17: 1, 18: 1,
              19: 1, 20: 1}


def _tensor(t, model_dir: Path, where: Where):
    """The values of initializer / Constant tensor `t`, every field checked: a real numeric type, dims
    >= 0 of a bounded count, no segment, data as long as the dims say; external data inside the model's
    folder only (a relative path without '..', no symbolic link, offset and length within the file)."""
    from onnx import TensorProto, numpy_helper

    from tlm.config.npz import MAX_TOTAL_ELEMENTS
    field = f"initializer '{t.name[:80]}'"
    if t.data_type not in REAL_TYPES:
        raise InputError(f"data_type {t.data_type} is not a real numeric type (float, integer or bool)", where, field)
    if t.HasField("segment"):
        raise InputError("segmented tensors are not supported", where, field)
    dims = list(t.dims)
    if any(d < 0 for d in dims) or len(dims) > 32 or int(np.prod(dims, dtype=object)) > MAX_TOTAL_ELEMENTS:
        raise InputError(f"dims {dims[:8]} are negative or too large", where, field)
    n = int(np.prod(dims, dtype=object))
    size = n * REAL_TYPES[t.data_type]
    if t.data_location == TensorProto.EXTERNAL:
        t2 = TensorProto()
        t2.CopyFrom(t)
        t2.raw_data = _external_bytes(t, model_dir, size, where, field)
        t2.data_location = TensorProto.DEFAULT
        del t2.external_data[:]
        t = t2
    elif t.HasField("raw_data") and len(t.raw_data) != size:
        raise InputError(f"raw_data holds {len(t.raw_data)} bytes, the dims {dims[:8]} need {size}", where, field)
    try:
        a = numpy_helper.to_array(t)
    except Exception as e:  # noqa: BLE001  (onnx raises several types on damaged tensors)
        raise InputError(f"cannot read its values ({type(e).__name__}: {' '.join(str(e).split())[:120]})", where,
                         field) from None
    if a.size != n:
        raise InputError(f"holds {a.size} values, the dims {dims[:8]} need {n}", where, field)
    return a


def _external_bytes(t, model_dir: Path, size: int, where: Where, field: str) -> bytes:
    import os
    info = {e.key: e.value for e in t.external_data}
    loc = info.get("location", "")
    try:
        offset, length = int(info.get("offset", 0)), int(info.get("length", size))
    except ValueError:
        raise InputError("external data offset and length must be integers", where, field) from None
    rel = Path(loc)
    if not loc or "\x00" in loc or rel.is_absolute() or ".." in rel.parts:
        raise InputError(f"external data location {loc[:80]!r} must be a path relative to the model's folder, "
                         "inside it", where, field)
    if offset < 0 or length < 0 or length != size:
        raise InputError(f"external data offset {offset} and length {length} do not give the {size} bytes the "
                         "dims need", where, field)
    p = model_dir / rel
    try:
        real = os.path.realpath(p)
        if real != os.path.join(os.path.realpath(model_dir), os.path.normpath(loc)):
            raise InputError(f"external data '{loc[:80]}' goes through a symbolic link", where, field)
        if not os.path.exists(real):
            raise InputError(f"external data file '{loc[:80]}' not found next to the model", where, field)
        if not os.path.isfile(real) or os.path.getsize(real) < offset + length:
            raise InputError(f"external data file '{loc[:80]}' is not a regular file of at least "
                             f"{offset + length} bytes", where, field)
        with open(real, "rb") as f:
            f.seek(offset)
            return f.read(length)
    except OSError as e:
        raise InputError(f"external data file '{loc[:80]}': {e.strerror}", where, field) from None


def _constants(model, model_dir: Path, where: Where) -> dict:
    vals = {t.name: _tensor(t, model_dir, where) for t in model.graph.initializer}
    for n in model.graph.node:
        if n.op_type == "Constant" and n.output:
            for a in n.attribute:
                if a.name == "value":
                    vals[n.output[0]] = _tensor(a.t, model_dir, where)
                elif a.name in ("value_float", "value_floats"):
                    vals[n.output[0]] = np.asarray(a.f if a.name == "value_float" else list(a.floats))
    return vals


@np.errstate(all="ignore")  # a fold that overflows gives inf or NaN, refused below by name (never a warning)
def read_weights(path, wl=None) -> tuple[object, dict, str]:
    """(workload, params for tlm.functional.model.FunctionalNet without ranges, where the ranges come from:
    'metadata' or None).  `wl`: the workload already imported from `path` (imported when None)."""
    from tlm.onnxio.graph import import_graph, load_onnx, read_model
    if wl is None:
        wl = load_onnx(path)
    model, _ = read_model(path)
    imp = import_graph(model, path)
    where = Where(str(path))
    rd = _Constants(_constants(model, Path(path).resolve().parent, where), where)
    layers = {L.name: L for L in wl.layers}
    params: dict = {}
    for n in imp._toposort():
        if not n.output or n.output[0] not in imp.acts:
            continue
        lname = imp.acts[n.output[0]].layer
        L = layers.get(lname)
        if n.op_type in ("Conv", "Gemm", "MatMul"):
            if L is not None and L.is_compute:
                w, b = _layer_weights(rd, n)
                params[lname + ".w"], params[lname + ".b"] = w, rd.per_channel(n, b, w.shape[0]).copy()
        elif n.op_type in FOLDABLE and L is not None and L.is_compute and lname + ".w" in params:
            ins = [x for x in n.input if x]
            acts = [x for x in ins if x in imp.acts]
            if len(acts) != 1 or imp.acts[acts[0]].layer != lname:
                continue  # not a fold into this layer (e.g. two feature maps)
            k = [x for x in ins if x not in imp.acts][0] if n.op_type != "BatchNormalization" else None
            params[lname + ".w"], params[lname + ".b"] = _fold(rd, n, params[lname + ".w"], params[lname + ".b"],
                                                               None if k is None else ins.index(k))
    _check_weight_shapes(wl, params, rd.where)
    return wl, params, _metadata_ranges(model, wl, params, rd.where)


class _Constants:
    """The constant tensors of a model, read as float64 per node input, with errors naming the node."""

    def __init__(self, consts: dict, where):
        self.consts, self.where = consts, where

    def __call__(self, n, i, what):
        name = n.input[i] if len(n.input) > i else ""
        if name not in self.consts:
            raise InputError(f"{what} '{name}' is not an initializer or Constant node: its values cannot be "
                             "read", self.where, f"node '{n.name or n.output[0]}' ({n.op_type})")
        v = np.asarray(self.consts[name], dtype=np.float64)
        if not np.all(np.isfinite(v)):
            raise InputError(f"{what} '{name}' holds non-finite values", self.where,
                             f"node '{n.name or n.output[0]}' ({n.op_type})")
        return v

    def per_channel(self, n, v, c):
        v = v.reshape(-1)
        if v.size not in (1, c):
            raise InputError(f"constant of {v.size} values does not fit {c} channels", self.where,
                             f"node '{n.name or n.output[0]}' ({n.op_type})")
        return np.broadcast_to(v, (c,)).astype(np.float64)


def _layer_weights(const: _Constants, n) -> tuple:
    """(float weights with the output channel first, bias) of a Conv, Gemm or MatMul node."""
    A = {a.name: a for a in n.attribute}
    if n.op_type == "Conv":
        w = const(n, 1, "weight")
        return w, const(n, 2, "bias") if len(n.input) > 2 and n.input[2] else np.zeros(w.shape[0])
    if n.op_type == "Gemm":
        alpha = A["alpha"].f if "alpha" in A else 1.0
        beta = A["beta"].f if "beta" in A else 1.0
        B = const(n, 1, "weight")
        w = (B if ("transB" in A and A["transB"].i) else B.T) * alpha
        b = const.per_channel(n, const(n, 2, "bias"), w.shape[0]) * beta \
            if len(n.input) > 2 and n.input[2] else np.zeros(w.shape[0])
        return w, b
    w = const(n, 1, "weight").T
    return w, np.zeros(w.shape[0])


def _fold(const: _Constants, n, w, b, k_index):
    """(w, b) of a layer with the per-channel op `n` folded in (BatchNormalization, or Mul/Div/Add/Sub by
    the constant at input `k_index`)."""
    c = w.shape[0]
    if n.op_type == "BatchNormalization":
        eps = next((a.f for a in n.attribute if a.name == "epsilon"), 1e-5)
        scale, shift, mean, var = (const.per_channel(n, const(n, i, "batch-norm parameter"), c)
                                   for i in (1, 2, 3, 4))
        a = scale / np.sqrt(var + eps)
        return w * a.reshape((-1,) + (1,) * (w.ndim - 1)), a * (b - mean) + shift
    v = const.per_channel(n, const(n, k_index, "constant"), c)
    vb = v.reshape((-1,) + (1,) * (w.ndim - 1))
    if n.op_type == "Mul":
        return w * vb, b * v
    if n.op_type == "Div":
        return w / vb, b / v
    if n.op_type == "Add":
        return w, b + v
    if k_index == 1:  # x - c
        return w, b - v
    return -w, v - b  # c - x


def _check_weight_shapes(wl, params, where) -> None:
    """Every compute layer has weights of its shape (a dense layer's flattened ones reshaped), finite and
    bounded as a weights file's."""
    for L in wl.layers:
        if L.is_compute and L.name + ".w" not in params:
            raise InputError(f"no weights found for layer '{L.name}'", where, L.name)
        if L.is_compute:
            want = (L.c_out, L.c_in // L.groups, *L.kernel) if L.type == "conv2d" else (L.c_out, L.in_shape[0])
            w = params[L.name + ".w"]
            if L.type == "dense" and w.shape != want and w.size == np.prod(want):
                params[L.name + ".w"] = w.reshape(want)
            elif tuple(w.shape) != want:
                raise InputError(f"weights of shape {list(w.shape)} do not fit the layer ({list(want)})", where,
                                 L.name)
            for key in (".w", ".b"):  # the weights file's bounds, after folding (tlm/config/npz.py)
                params[L.name + key] = check_values(params[L.name + key], where, f"{L.name}{key} (after folding)")


def _metadata_ranges(model, wl, params, where):
    """Sets `input.range` and, when the metadata gives every compute layer's, the `.range`s in `params`;
    returns 'metadata' then, else None."""
    meta = {p.key: p.value for p in model.metadata_props}
    try:
        params["input.range"] = float(meta.get("tlm.input_range", 1.0))
        ranges = {L.name: float(meta[f"tlm.range.{L.name}"]) for L in wl.layers  # joins: optional
                  if (L.is_compute or L.type in JOIN_TYPES) and f"tlm.range.{L.name}" in meta}
    except ValueError as e:
        raise InputError(f"metadata 'tlm.*' must be numbers: {e}", where, "metadata_props") from None
    check_values(params["input.range"], where, "metadata_props 'tlm.input_range'", "range")
    for k, r in ranges.items():
        check_values(r, where, f"metadata_props 'tlm.range.{k}'", "range")
    comp = {L.name for L in wl.layers if L.is_compute}
    if len(comp & ranges.keys()) != len(comp):
        return None
    for k, r in ranges.items():
        params[k + ".range"] = r
    return "metadata"


def calibrate_ranges(arch, wl, params: dict, images: np.ndarray,
                     percentile: float = CALIBRATION_PERCENTILE) -> dict:
    """`params` with each compute and join (add, concat) layer's `.range` set to the `percentile` of its
    float output (|output| without ReLU) over `images` (input codes)."""
    out = dict(params)
    for L in wl.layers:
        if L.is_compute:
            out.setdefault(L.name + ".range", 1.0)
    net = F.FunctionalNet(arch, wl, out)
    x = images.astype(np.float64) * (net.input_range / ((1 << wl.input_bits) - 1))
    vals = {"input": x}
    for L in wl.layers:
        xs = [vals[s] for s in L.inputs]
        if L.is_compute:
            y = net.q[L.name].float_forward(xs[0])
            r = float(np.percentile(np.abs(y), percentile)) if y.size else 0.0
            out[L.name + ".range"] = r if r > 0 else 1.0
        else:
            y, _ = F.digital(L, xs, [0] * len(xs), 0, True)
            if L.type in JOIN_TYPES:
                r = float(np.percentile(np.abs(y), percentile)) if y.size else 0.0
                out[L.name + ".range"] = r if r > 0 else 1.0
        vals[L.name] = y
    return out


def build_onnx(arch, wl, path, calibration=None, force_calibration=False):
    """The FunctionalNet of ONNX model `path` (workload `wl` imported from it, or None), and a note
    saying where the activation ranges come from.  `calibration()` -> (input codes, what they are): the
    images to calibrate on when the model carries no ranges (or with `force_calibration`)."""
    wl, params, src = read_weights(path, wl)
    if src is None or force_calibration:
        if calibration is None:
            raise InputError("the model carries no activation ranges (metadata 'tlm.range.*'): calibration "
                             "images are needed", Where(str(path)), "--calibration-images")
        images, what = calibration()
        params = calibrate_ranges(arch, wl, params, images)
        note = f"activation ranges calibrated on {what} ({CALIBRATION_PERCENTILE:g}th percentile of the float outputs)"
    else:
        note = f"activation ranges from the metadata of {Path(path).name} (as trained)"
    F.check_params(params, wl, Where(str(path)))  # the weights file's checks, after folding and calibrating
    return F.FunctionalNet(arch, wl, params), note


def weights_npz(path, wl, calibration=None) -> tuple[bytes, str]:
    """`tlm import MODEL.onnx --weights W.npz`: the bytes of an .npz in the workload weights format
    (tlm.functional.model.load_params: `L.w` float weights, `L.b`, `L.range`, `input.range`) and a note on the
    ranges.  Ranges from the model's metadata, else calibrated on `calibration()` -> (images, what)."""
    import io
    import zipfile

    from tlm.config.arch import load_arch
    from tlm.config.paths import DEFAULT_ARCH, resolve
    wl, params, src = read_weights(path, wl)
    if src is None:
        if calibration is None:
            raise InputError("the model carries no activation ranges (metadata 'tlm.range.*'): calibration "
                             "images are needed", Where(str(path)), "--dataset")
        calib, what = calibration()
        params = calibrate_ranges(load_arch(resolve(None, "configs", DEFAULT_ARCH)), wl, params, calib)
        note = f"read from {Path(path).name}; activation ranges calibrated on {what}"
    else:
        note = f"read from {Path(path).name}; activation ranges from its metadata"
    F.check_params(params, wl, Where(str(path)))  # what `tlm accuracy` will check when it reads the file
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:  # an .npz with fixed timestamps: same bytes
        for k, v in sorted(params.items()):
            arr = io.BytesIO()
            np.lib.format.write_array(arr, np.asarray(v, dtype=np.float64), allow_pickle=False)
            z.writestr(zipfile.ZipInfo(k + ".npy", date_time=(1980, 1, 1, 0, 0, 0)), arr.getvalue(),
                       compress_type=zipfile.ZIP_DEFLATED)
    return buf.getvalue(), note
