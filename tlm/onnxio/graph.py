"""ONNX model -> tlm workload (the YAML-level format of tlm/config/workload.py).

Only shapes matter, never weight values: weights may come from initializers, Constant or
ConstantOfShape nodes or any other constant subgraph.  Shapes come from our own propagation over the
graph (every supported operator has its shape rule in tlm/onnxio/operators.py), with `onnx.shape_inference` as a
fallback for constant tensors produced by operators we do not model.

The operator rules are in tlm/onnxio/operators.py (docs/onnx.md has the table), the graph walk in
tlm/onnxio/importer.py; this module reads the file, converts it and renders the workload YAML.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from tlm.errors import InputError, Where
from tlm.onnxio.importer import Importer
from tlm.config.workload import Workload, parse_workload
from tlm.config.yamlemit import yaml_comment, yaml_flow
from tlm.config.yamlio import YDict, YList, load_text


def _onnx(path="<onnx>"):
    try:
        import onnx
    except ImportError:
        from tlm.extras import install_hint
        raise InputError(f"reading ONNX models needs the optional 'onnx' package: {install_hint('onnx')}",
                         Where(str(path))) from None
    return onnx



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
        d = Importer(model, str(path)).run()
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
    parsed without the text round trip.  Without `precision` the conversion is kept between runs
    (tlm/onnxio/cache.py: a second run of the same file does not import onnx)."""
    if precision is None:
        from tlm.onnxio.cache import cached_workload_data
        data = cached_workload_data(path, lambda: onnx_to_workload_data(path)[0])
    else:
        data, _ = onnx_to_workload_data(path, precision)
    return _workload(_ydata(data, str(path)), path)


def import_graph(model, path):
    """The importer after its walk over `model` (for tlm/onnxio/weights.py): `acts` says which workload
    layer holds each tensor and `ldict` each layer's mapping, so the weights reader folds exactly what the
    cost import decided to fold.  Raises InputError like `load_onnx`."""
    imp = Importer(model, str(path))
    imp.run()
    return imp
