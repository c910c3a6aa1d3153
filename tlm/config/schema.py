"""Typed, validated parameters (gem5-style) built from YAML mappings.

A parameter section is a frozen dataclass whose fields are declared with `param(...)`: a type, an
allowed range, a unit-bearing name and a one-line physical meaning.  `build(cls, ydict)` checks every
key (unknown ones get a "did you mean"), every type and every range, and raises `InputError` naming the
file, line and dotted field path.  Nested sections are dataclass-typed fields.
"""
from __future__ import annotations

import dataclasses
import functools
import math
import re
import typing
from dataclasses import MISSING, field

from tlm.errors import InputError, Where, did_you_mean, short
from tlm.records import install_init
from tlm.config.yamlio import YDict

_NO_DEFAULT = MISSING
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,63}")
MAX_INT = 2**31 - 1  # default upper bound of an integer parameter without its own `hi`
MAX_FLOAT = 1e30  # default upper bound of a number parameter without its own `hi`


def param(doc: str, *, lo=None, hi=None, choices=None, default=_NO_DEFAULT, lo_open=False, allow_inf=False,
          why_hi: str | None = None):
    """A validated parameter.  `lo`/`hi` bound numbers (inclusive unless `lo_open`); `allow_inf` admits
    YAML `.inf` (e.g. an unbounded bandwidth).  `why_hi` says why the upper bound is what it is (every
    integer parameter has one: a count of 2^31 channels would exhaust memory); the reference shows it."""
    md = {"doc": doc, "lo": lo, "hi": hi, "choices": choices, "lo_open": lo_open, "allow_inf": allow_inf,
          "why_hi": why_hi}
    if default is _NO_DEFAULT:
        return field(metadata=md)
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda d=default: type(d)(d), metadata=md)
    return field(default=default, metadata=md)


def section(cls, doc: str = "", default=_NO_DEFAULT):
    md = {"doc": doc, "section": True}
    if default is _NO_DEFAULT:
        return field(metadata=md)
    return field(default_factory=cls, metadata=md)


class Section:
    """Base of the parameter sections: immutable once built, compared, hashed and printed by their fields,
    as a frozen dataclass is (`frozen_section` below)."""

    __slots__ = ()

    def __setattr__(self, name, value):
        if name in self.__dict__:  # set once, by __init__ (or its __post_init__)
            raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")
        object.__setattr__(self, name, value)

    def __delattr__(self, name):
        raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")

    def _values(self) -> tuple:
        return tuple(getattr(self, f.name) for f in dataclasses.fields(self))

    def __eq__(self, other):
        if other.__class__ is self.__class__:
            return self._values() == other._values()
        return NotImplemented

    def __hash__(self):
        return hash(self._values())

    def __repr__(self):
        return (f"{self.__class__.__qualname__}("
                + ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in dataclasses.fields(self)) + ")")


def frozen_section(cls):
    """`@dataclass(frozen=True)` for a `Section` subclass, at a fraction of the import cost: the dataclass
    machinery generates no method (each generated method is compiled when the module loads, ~0.2 ms
    apiece, and a CLI run loads every section); `Section` gives them generically, and `__init__` is the
    one shared by the records (tlm/records.py: it fills the instance's `__dict__`, past the frozen
    `__setattr__`)."""
    assert issubclass(cls, Section), cls
    cls = dataclasses.dataclass(cls, init=False, repr=False, eq=False)
    install_init(cls)
    return cls


def _type_name(t) -> str:
    return {int: "an integer", float: "a number", bool: "true or false", str: "a string"}.get(t, str(t))


def _check_scalar(t, v, where: Where, path: str, allow_inf: bool = False):
    if t is bool:
        if not isinstance(v, bool):
            raise InputError(f"expected true or false, found {short(v)}", where, path)
        return v
    if t is int:
        if isinstance(v, bool) or not isinstance(v, int):
            if isinstance(v, float) and v.is_integer() and abs(v) < 2**53:
                return int(v)
            raise InputError(f"expected an integer, found {short(v)}", where, path)
        return v
    if t is float:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise InputError(f"expected a number, found {short(v)}", where, path)
        v = float(v)
        if not math.isfinite(v) and not (allow_inf and v == math.inf):
            raise InputError(f"expected a finite number, found {short(v)}", where, path)
        return v
    if t is str:
        if not isinstance(v, str):
            raise InputError(f"expected a string, found {short(v)}", where, path)
        return v
    raise TypeError(f"unsupported parameter type {t}")


def check_value(t, v, md: dict, where: Where, path: str):
    """Type- and range-check one value against a parameter declaration."""
    origin = typing.get_origin(t)
    if origin in (list, tuple):
        (inner, *_) = typing.get_args(t)
        if not isinstance(v, list) or not v:
            raise InputError(f"expected a non-empty list of {_type_name(inner)}s, found {short(v)}", where, path)
        return tuple(check_value(inner, x, md, getattr(v, "where", lambda i: where)(i), f"{path}[{i}]")
                     for i, x in enumerate(v))
    v = _check_scalar(t, v, where, path, md.get("allow_inf", False))
    lo, hi, choices = md.get("lo"), md.get("hi"), md.get("choices")
    if hi is None and t in (int, float) and not (t is float and v == math.inf):
        hi = MAX_INT if t is int else MAX_FLOAT  # no parameter is unbounded: keeps int64/float64 exact
    if choices is not None and v not in choices:
        raise InputError(f"expected one of {', '.join(map(str, choices))}, found {short(v)}"
                         + did_you_mean(v, choices), where, path)
    if lo is not None and (v <= lo if md.get("lo_open") else v < lo):
        raise InputError(f"expected {'>' if md.get('lo_open') else '>='} {lo}, found {short(v)}", where, path)
    if hi is not None and v > hi:
        raise InputError(f"expected <= {hi}, found {short(v)}", where, path)
    return v


_BUILTIN_TYPES = {"int": int, "float": float, "str": str, "bool": bool}
_TUPLES = {f"tuple[{n}, ...]": tuple[t, ...] for n, t in _BUILTIN_TYPES.items()}


@functools.lru_cache(maxsize=None)
def _hints(cls) -> dict:
    """Resolved types of the fields of a section class, as typing.get_type_hints gives them (cached:
    resolving them dominates `build` otherwise).  A field typed by a plain name (`int`, `Macro`) is
    looked up as get_type_hints would (the class's namespace, then its module's, then the builtins)
    without compiling the annotation (~15 us each, a hundred fields at every start); any other
    annotation but `tuple[int, ...]` and the like falls back to get_type_hints."""
    import sys
    spaces = (vars(cls), vars(sys.modules[cls.__module__]), _BUILTIN_TYPES)
    out = {}
    for f in dataclasses.fields(cls):
        t = f.type
        if isinstance(t, str):
            if t.isidentifier():
                t = next((ns[t] for ns in spaces if t in ns), None)
                t = t if isinstance(t, type) else None
            else:
                t = _TUPLES.get(t) if not any("tuple" in ns for ns in spaces[:2]) else None
            if t is None:
                return typing.get_type_hints(cls)
        out[f.name] = t
    return out


def build(cls, data, path: str = "", where: Where | None = None):
    """Build dataclass `cls` from YAML mapping `data`, validating everything."""
    hints = _hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    if not isinstance(data, dict):
        raise InputError(f"expected a mapping of fields, found {short(data)}", where or Where(), path or None)
    w = data.where if isinstance(data, YDict) else (lambda k=None: where or Where())
    for key in data:
        if key not in fields:
            kw = w(key)
            if kw.file != getattr(data, "file", kw.file) and not _IDENT.fullmatch(str(key)):
                # a key of an `extends:` base that is no name (e.g. a line of a file that is no config):
                # its file and line are named, its text is not repeated
                raise InputError("unknown field (this base file is not an architecture file?)", kw, path or None)
            raise InputError(f"unknown field {short(key)}" + did_you_mean(key, fields), kw,
                             f"{path}.{key}" if path else str(key))
    kwargs = {}
    for name, f in fields.items():
        sub = f"{path}.{name}" if path else name
        t = hints[name]
        if name not in data:
            if f.default is not MISSING or f.default_factory is not MISSING:
                continue
            raise InputError("missing required field", w(), sub)
        v = data[name]
        if dataclasses.is_dataclass(t):
            kwargs[name] = build(t, v, sub, w(name))
        else:
            kwargs[name] = check_value(t, v, f.metadata, w(name), sub)
    try:
        obj = cls(**kwargs)
    except InputError:
        raise
    check = getattr(obj, "check", None)
    if check is not None:
        check(data, path)
    return obj


def to_dict(obj) -> dict:
    """A dataclass tree as plain dicts (tuples become lists), for JSON and for rebuilding."""
    out = {}
    for f in dataclasses.fields(obj):
        v = getattr(obj, f.name)
        if dataclasses.is_dataclass(v):
            out[f.name] = to_dict(v)
        elif isinstance(v, tuple):
            out[f.name] = list(v)
        else:
            out[f.name] = v
    return out


def describe(cls, prefix: str = ""):
    """(dotted path, type, doc, default) for every parameter: the YAML reference is made from it."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        t = hints[f.name]
        p = f"{prefix}.{f.name}" if prefix else f.name
        if dataclasses.is_dataclass(t):
            yield p, "section", f.metadata.get("doc", ""), ""
            yield from describe(t, p)
        else:
            if f.default is not MISSING:
                default = repr(f.default)
            elif f.default_factory is not MISSING:
                default = repr(f.default_factory())
            else:
                default = ""
            name = getattr(t, "__name__", str(t)).replace("typing.", "")
            if typing.get_origin(t) in (list, tuple):
                name = f"list of {typing.get_args(t)[0].__name__}"
            yield p, name, _doc_with_bound(f.metadata), default


def int_params(cls, prefix: str = ""):
    """(dotted path, field metadata) of every integer parameter (int or tuple of int), sections walked:
    the bounds table of docs/robustness.md and its test are made from it."""
    hints = _hints(cls)
    for f in dataclasses.fields(cls):
        t, path = hints[f.name], f"{prefix}{f.name}"
        if dataclasses.is_dataclass(t):
            yield from int_params(t, path + ".")
        elif t is int or typing.get_args(t)[:1] == (int,):
            yield path, f.metadata


def _doc_with_bound(md) -> str:
    doc = md.get("doc", "")
    if md.get("why_hi"):
        doc += f" (at most {md['hi']:,}: {md['why_hi']})"
    return doc
