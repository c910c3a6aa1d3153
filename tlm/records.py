"""Dataclasses at a lower start-up cost: `@record` is `@dataclass` for a `Record` subclass, with `__init__`,
`__eq__` and `__repr__` given once, generically, instead of generated per class.

Why: `@dataclass` writes the source of every method it adds and compiles it when the module loads (about
0.2 ms per method on a 2-core machine; a 30-field `__init__` ~0.7 ms), and `tlm simulate` loads some thirty
dataclasses.  Here the methods are plain functions shared by every class, reading the class's fields
(computed once, when the class is made), with the meaning of the generated ones (Python 3.11's):
- `__init__(*args, **kwargs)`: the fields in order, positional or by name; defaults and default
  factories; `__post_init__()` if the class has one; the generated `__init__`'s TypeErrors (a missing, an
  unknown or a repeated argument, too many positional ones).  It fills the instance's `__dict__` with one
  update (~2 us for any number of fields), or sets each slot of a `slots=True` class.  A class made many
  thousands of times (a tile, a transaction) keeps the generated one: `@record(generated_init=True)`.
- `__eq__`: true when the other object is of the very same class and the tuples of the fields with
  `compare=True` are equal (else NotImplemented); unhashable, as a non-frozen dataclass with `eq=True`.
- `__repr__`: `Name(field=value, ...)` over the fields with `repr=True`, `...` for a recursive reference.
Everything else is a plain dataclass: `dataclasses.fields`, `replace`, `asdict`, pickling and
`slots=True` work as before.  tlm/config/schema.py's frozen sections use the same `__init__`
(`install_init`).  tests/test_records.py checks all of this against plain dataclasses.
"""
from __future__ import annotations

import dataclasses
import reprlib

_MISSING = dataclasses.MISSING


class _Init:
    """What the shared `__init__` needs of one class: its fields in order, which are required, the
    defaults (a dict in field order: the instance's `__dict__` is filled in that order), the factories."""

    __slots__ = ("qualname", "names", "fields", "required", "template", "factories", "post_init", "slots")

    def __init__(self, cls):
        fs = dataclasses.fields(cls)
        odd = [f.name for f in fs if not f.init or f.kw_only]
        if odd:
            raise TypeError(f"{cls.__qualname__}: fields {odd} (init=False or kw_only) need @dataclass")
        self.qualname = cls.__qualname__
        self.names = tuple(f.name for f in fs)
        self.fields = frozenset(self.names)
        self.required = frozenset(f.name for f in fs if f.default is _MISSING and f.default_factory is _MISSING)
        self.template = {f.name: f.default for f in fs}
        self.factories = tuple((f.name, f.default_factory) for f in fs if f.default_factory is not _MISSING)
        self.post_init = hasattr(cls, "__post_init__")
        self.slots = cls.__dictoffset__ == 0  # no __dict__: a slots=True class


def _bind(spec: _Init, args: tuple, kwargs: dict) -> None:
    """The positional arguments into `kwargs`, with the generated `__init__`'s errors."""
    if len(args) > len(spec.names):
        hi, lo = len(spec.names) + 1, len(spec.required) + 1  # (+ self; the required fields come first)
        takes = f"{hi} positional argument{'s' if hi > 1 else ''}" if lo == hi else \
            f"from {lo} to {hi} positional arguments"
        raise TypeError(f"{spec.qualname}.__init__() takes {takes} but {len(args) + 1} were given")
    for name, value in zip(spec.names, args):
        if name in kwargs:
            raise TypeError(f"{spec.qualname}.__init__() got multiple values for argument '{name}'")
        kwargs[name] = value


def _bad_arguments(spec: _Init, kwargs: dict) -> TypeError:
    unknown = [k for k in kwargs if k not in spec.fields]
    if unknown:
        return TypeError(f"{spec.qualname}.__init__() got an unexpected keyword argument '{unknown[0]}'")
    missing = [n for n in spec.names if n in spec.required and n not in kwargs]
    listed = " and ".join(", ".join(repr(n) for n in missing).rsplit(", ", 1))
    return TypeError(f"{spec.qualname}.__init__() missing {len(missing)} required positional "
                     f"argument{'s' if len(missing) > 1 else ''}: {listed}")


def _init(self, *args, **kwargs):
    spec = self.__record_init__
    if args:
        _bind(spec, args, kwargs)
    if not (kwargs.keys() <= spec.fields and spec.required <= kwargs.keys()):
        raise _bad_arguments(spec, kwargs)
    if spec.slots:
        for name, value in spec.template.items():
            object.__setattr__(self, name, kwargs.get(name, value))
    else:
        d = self.__dict__
        d.update(spec.template)
        d.update(kwargs)
    for name, factory in spec.factories:
        if name not in kwargs:
            object.__setattr__(self, name, factory())
    if spec.post_init:
        self.__post_init__()


def install_init(cls) -> None:
    """Give dataclass `cls` (made with init=False) the shared `__init__`."""
    cls.__record_init__ = _Init(cls)
    cls.__init__ = _init


class Record:
    """Base of the `@record` classes: `__eq__` and `__repr__` by their fields (as `@dataclass` makes them)."""

    __slots__ = ()
    __hash__ = None  # as a dataclass with eq=True and frozen=False: unhashable

    def __eq__(self, other):
        if other.__class__ is self.__class__:
            names = self.__record_compare__
            return tuple(getattr(self, n) for n in names) == tuple(getattr(other, n) for n in names)
        return NotImplemented

    @reprlib.recursive_repr()
    def __repr__(self):
        return (f"{self.__class__.__qualname__}("
                + ", ".join(f"{n}={getattr(self, n)!r}" for n in self.__record_repr__) + ")")


def record(cls=None, /, *, generated_init: bool = False, **options):
    """`@dataclass(**options)` for a `Record` subclass, with the shared `__init__` (the generated one when
    `generated_init`), `__eq__` and `__repr__`.  `init`, `repr`, `eq`, `order`, `frozen` and
    `unsafe_hash` are not options here (use @dataclass)."""
    bad = {"init", "repr", "eq", "order", "frozen", "unsafe_hash"} & set(options)
    if bad:
        raise TypeError(f"@record takes no {', '.join(sorted(bad))} (use @dataclass)")

    def wrap(c):
        if not issubclass(c, Record):
            raise TypeError(f"@record: {c.__qualname__} must derive from tlm.records.Record")
        if not c.__doc__:  # (else @dataclass makes one from inspect.signature: slow)
            c.__doc__ = f"{c.__name__}({', '.join(c.__dict__.get('__annotations__', {}))})"
        c = dataclasses.dataclass(c, init=generated_init, repr=False, eq=False, **options)
        if not generated_init:
            install_init(c)
        fields = dataclasses.fields(c)
        c.__record_compare__ = tuple(f.name for f in fields if f.compare)
        c.__record_repr__ = tuple(f.name for f in fields if f.repr)
        return c

    return wrap if cls is None else wrap(cls)
