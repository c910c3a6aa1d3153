"""Dataclasses at a lower start-up cost: `@record` is `@dataclass` for a `Record` subclass, with `__eq__`
and `__repr__` given once, generically, by `Record` instead of generated per class.

Why: `@dataclass` writes the source of every method it adds and compiles it when the module loads (about
0.2 ms per method on a 2-core machine; a 30-field `__init__` ~0.7 ms), and `tlm simulate` loads some twenty
dataclasses.  The generated `__eq__` and `__repr__` of a class are rarely called, so `Record` gives them
from `dataclasses.fields` with the same meaning as the generated ones (Python 3.11's): equal when the
other object is of the very same class and the tuples of the fields with `compare=True` are equal
(else NotImplemented); `Name(field=value, ...)` over the fields with `repr=True`, `...` for a recursive
reference; unhashable, as a non-frozen dataclass with `eq=True` is.  Only `__init__` (whose speed
matters: some classes are created thousands of times) is still generated.  Everything else is a plain
dataclass: `dataclasses.fields`, `replace`, `asdict` and `slots=True` work as before.
(tests/test_records.py checks equality and repr against plain dataclasses.)
"""
from __future__ import annotations

import dataclasses
import reprlib


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


def record(cls=None, /, **options):
    """`@dataclass(**options)` for a `Record` subclass, without generated `__eq__` and `__repr__`
    (`Record` gives them).  `repr`, `eq`, `order`, `frozen` and `unsafe_hash` are not options here."""
    bad = {"repr", "eq", "order", "frozen", "unsafe_hash"} & set(options)
    if bad:
        raise TypeError(f"@record takes no {', '.join(sorted(bad))} (use @dataclass)")

    def wrap(c):
        if not issubclass(c, Record):
            raise TypeError(f"@record: {c.__qualname__} must derive from tlm.records.Record")
        c = dataclasses.dataclass(c, repr=False, eq=False, **options)
        fields = dataclasses.fields(c)
        c.__record_compare__ = tuple(f.name for f in fields if f.compare)
        c.__record_repr__ = tuple(f.name for f in fields if f.repr)
        return c

    return wrap if cls is None else wrap(cls)
