"""JSON Schemas (draft 2020-12) of the architecture and workload formats, for editors and standard
validators (`tlm schema`; README "Editor support").

Made from the declarations that validate the files, never written by hand:
- the architecture: the `param(...)` fields of the sections in tlm/config/arch.py (types, bounds
  `lo`/`hi`/`lo_open`, `choices`, the one-line meaning with its unit, defaults; tlm/config/schema.py),
  and the `published:` section of tlm/config/published.py;
- the workload: the keys and bounds of tlm/config/workload.py (`_TOP`, `_COMMON`, `_FIELDS`, `MAX_DIM`,
  `MAX_LAYERS`; tests/test_schema.py checks the schema names the same keys).

What a JSON Schema cannot say is left to `tlm validate`: checks across fields (a kernel that fits its
input, groups that divide the channels, a layer name used before it exists, `check()` methods).
A file with `extends:` gives only the fields that differ from its base: it is checked as a partial
architecture (every field optional; types, bounds and unknown keys still checked).
"""
from __future__ import annotations

import dataclasses
import math
import typing

from tlm.config.schema import MAX_FLOAT, MAX_INT, _doc_with_bound, _hints

DIALECT = "https://json-schema.org/draft/2020-12/schema"
_TYPES = {int: "integer", float: "number", bool: "boolean", str: "string"}


def _scalar(t, md: dict) -> dict:
    out: dict = {"type": _TYPES[t]}
    if md.get("choices") is not None:
        out["enum"] = list(md["choices"])
    if t in (int, float):
        lo, hi = md.get("lo"), md.get("hi")
        if lo is not None:
            out["exclusiveMinimum" if md.get("lo_open") else "minimum"] = lo
        if hi is None and not md.get("allow_inf"):
            hi = MAX_INT if t is int else MAX_FLOAT  # tlm/config/schema.py: no parameter is unbounded
        if hi is not None:
            out["maximum"] = hi
    return out


def _default(f):
    if f.default is not dataclasses.MISSING:
        v = f.default
    elif f.default_factory is not dataclasses.MISSING:
        v = f.default_factory()
    else:
        return dataclasses.MISSING
    if isinstance(v, tuple):
        v = list(v)
    if isinstance(v, float) and not math.isfinite(v):
        return dataclasses.MISSING  # JSON has no inf
    return v


def field_schema(t, md: dict) -> dict:
    """One parameter: its type, bounds and enum, with its description."""
    if typing.get_origin(t) in (list, tuple):
        inner = typing.get_args(t)[0]
        out = {"type": "array", "minItems": 1, "items": _scalar(inner, md)}
    else:
        out = _scalar(t, md)
    doc = _doc_with_bound(md)
    return {"description": doc, **out} if doc else out


def section_schema(cls, partial: bool = False, skip=()) -> dict:
    """A section dataclass (tlm/config/schema.py `param`/`section` fields) as an object schema; nested
    sections recursively.  `partial`: nothing required (a file that `extends:` another)."""
    hints = _hints(cls)
    props, required = {}, []
    for f in dataclasses.fields(cls):
        if not f.init or f.name in skip:
            continue
        t = hints[f.name]
        if dataclasses.is_dataclass(t):
            s = section_schema(t, partial)
            if f.metadata.get("doc"):
                s = {"description": f.metadata["doc"], **s}
        else:
            s = field_schema(t, f.metadata)
            d = _default(f)
            if d is not dataclasses.MISSING:
                s["default"] = d
        props[f.name] = s
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING and not partial:
            required.append(f.name)
    out = {"type": "object", "properties": props, "additionalProperties": False}
    if required:
        out["required"] = required
    return out


def published_schema() -> dict:
    """The `published:` section: the paper's figures a design is compared with (tlm/config/published.py)."""
    from tlm.config.published import MAX_FIGURES, Figure, Published
    from tlm.config.published import MAX_FITTED
    head = section_schema(Published, skip=("figures", "file"))
    head["properties"]["fitted"].update(minItems=0, maxItems=MAX_FITTED)  # `fitted: []` is read as none
    head["properties"]["figures"] = {"description": "the published figures", "type": "array", "minItems": 1,
                                     "maxItems": MAX_FIGURES, "items": section_schema(Figure)}
    head["required"] = sorted(set(head.get("required", [])) | {"figures"})
    return {"description": "the paper this design is compared with (`tlm paper`, `tlm chips`)", **head}


def arch_schema() -> dict:
    """The architecture file: every section of tlm/config/arch.py, `extends:` and `published:`."""
    from tlm.config.arch import Arch
    extras = {"extends": {"type": "string", "description": "the base this file changes: a path relative to "
                                                           "this file, or a shipped config's name"},
              "published": published_schema()}
    full, part = section_schema(Arch), section_schema(Arch, partial=True)
    for s in (full, part):
        s["properties"].update(extras)
    return {"$schema": DIALECT,
            "title": "imagine-tlm architecture", "description": "An architecture file of imagine-tlm "
            "(tlm/config/arch.py). With `extends:` every field is optional (the base gives the rest).",
            "if": {"required": ["extends"]}, "then": part, "else": full}


# ---- the workload -------------------------------------------------------------------------------------
def _int(lo: int, hi: int, doc: str) -> dict:
    return {"description": doc, "type": "integer", "minimum": lo, "maximum": hi}


def _pair(lo: int, doc: str) -> dict:
    from tlm.config.workload import MAX_DIM
    one = {"type": "integer", "minimum": lo, "maximum": MAX_DIM}
    return {"description": doc, "oneOf": [one, {"type": "array", "items": one, "minItems": 2, "maxItems": 2}]}


def layer_fields() -> dict:
    """Every layer field (tlm/config/workload.py `_COMMON` and `_FIELDS`) with its schema."""
    from tlm.config.workload import LAYER_TYPES, MAX_DIM
    bits = {"type": "integer", "minimum": 1, "maximum": 64}
    pad_one = {"type": "integer", "minimum": 0, "maximum": MAX_DIM}
    return {
        "name": {"description": "the layer's name (unique; default: type and index)", "type": "string", "minLength": 1},
        "type": {"description": "what the layer computes", "enum": list(LAYER_TYPES)},
        "input": {"description": "the layer it reads (default: the previous one)", "type": "string"},
        "precision": {"description": "this layer's precisions, bits (default: the workload's; the input's "
                                     "defaults to its producer's output)", "type": "object",
                      "properties": {k: {**bits, "description": f"{k} precision, bits"} for k in
                                     ("input", "weight", "output")}, "additionalProperties": False},
        "relu": {"description": "a ReLU after the layer", "type": "boolean"},
        "out_channels": _int(1, MAX_DIM, "output channels"),
        "out_features": _int(1, MAX_DIM, "output features"),
        "kernel": _pair(1, "kernel size, pixels: k or [kh, kw]"),
        "stride": _pair(1, "stride, pixels: s or [sh, sw] (pools: default the kernel)"),
        "dilation": _pair(1, "dilation: d or [dh, dw]"),
        "groups": _int(1, MAX_DIM, "channel groups (depthwise: the input channels)"),
        "padding": {"description": "padding, pixels: p, [ph, pw], [top, left, bottom, right], same or valid",
                    "oneOf": [pad_one, {"type": "array", "items": pad_one, "minItems": 2, "maxItems": 2},
                              {"type": "array", "items": pad_one, "minItems": 4, "maxItems": 4},
                              {"enum": ["same", "valid"]}]},
        "weights": {"description": "where this layer's weights are (written by `tlm import`)"},
        "inputs": {"description": "the layers it reads (add, concat: two or more)", "type": "array",
                   "items": {"type": "string"}, "minItems": 1},
        "shape": {"description": "the output shape, [C, H, W] or [F]", "type": "array",
                  "items": {"type": "integer", "minimum": 1, "maximum": MAX_DIM}, "minItems": 1, "maxItems": 3},
        "op": {"description": "the name of the digital op (eltwise)", "type": "string"},
        "ops_per_element": _int(0, 1 << 20, "digital ops per output element (eltwise)"),
    }


_REQUIRED = {"conv2d": ["out_channels", "kernel"], "dense": ["out_features"], "maxpool": ["kernel"],
             "avgpool": ["kernel"], "add": ["inputs"], "concat": ["inputs"], "reshape": ["shape"],
             "eltwise": ["op"]}


def layer_schema() -> dict:
    """One layer: `type` chooses the fields it may have (an unknown one is reported at its path)."""
    from tlm.config.workload import _COMMON, _FIELDS
    fields = layer_fields()
    rules = []
    for t, own in _FIELDS.items():
        allowed = sorted(_COMMON | own)
        rule = {"properties": {k: fields[k] for k in allowed}, "additionalProperties": False}
        if _REQUIRED.get(t):
            rule["required"] = _REQUIRED[t]
        rules.append({"if": {"properties": {"type": {"const": t}}, "required": ["type"]}, "then": rule})
    return {"type": "object", "required": ["type"], "properties": {"type": fields["type"]}, "allOf": rules}


def workload_schema() -> dict:
    """The workload file (tlm/config/workload.py)."""
    from tlm.config.workload import MAX_DIM, MAX_LAYERS
    bits = {"type": "integer", "minimum": 1, "maximum": 64}
    top = {
        "name": {"description": "the network's name", "type": "string"},
        "source": {"description": "where the network comes from"},
        "input": {"description": "one input image", "type": "object", "required": ["shape"],
                  "additionalProperties": False,
                  "properties": {"shape": {"description": "[C, H, W] or [F] of one image", "type": "array",
                                           "items": {"type": "integer", "minimum": 1, "maximum": MAX_DIM},
                                           "minItems": 1, "maxItems": 3},
                                 "bits": {**bits, "description": "input precision, bits (default: precision.input)"}}},
        "precision": {"description": "default precisions of every layer, bits", "type": "object",
                      "additionalProperties": False,
                      "properties": {k: {**bits, "description": f"{k} precision, bits", "default": 8}
                                     for k in ("input", "weight", "output")}},
        "batch": {"description": "images per run (weights are loaded once per batch)", "type": "integer",
                  "minimum": 1, "maximum": 1 << 20, "default": 1},
        "layers": {"description": "the layers, in order", "type": "array", "minItems": 1, "maxItems": MAX_LAYERS,
                   "items": layer_schema()},
        "weights": {"description": "the .npz file of trained weights, relative to this file", "type": "string"},
        "notes": {"description": "free-text notes", "type": "array", "items": {"type": "string"}},
    }
    return {"$schema": DIALECT,
            "title": "imagine-tlm workload", "description": "A workload file of imagine-tlm (tlm/config/workload.py).",
            "type": "object", "required": ["input", "layers"], "properties": top, "additionalProperties": False}


SCHEMAS = {"arch": arch_schema, "workload": workload_schema}
