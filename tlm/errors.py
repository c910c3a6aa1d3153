"""One error type for user mistakes, rendered as one line.

`InputError` is raised for anything a user can get wrong (a YAML field, a workload shape, a CLI value,
an ONNX file).  The CLI prints `str(err)` -- `file:line:col: field: message` -- and exits with code 2.
Anything else that escapes is a bug in tlm: the CLI prints a short message and exits with code 1.
"""
from __future__ import annotations

import reprlib


class Where:
    """Where a value came from: a file and, when known, a 1-based line and column.  (A plain class, not a
    dataclass: it is made for every position an error could name, and a dataclass costs its generated
    methods' compilation at every start -- tlm/records.py.  Equal and printed as a dataclass would be.)"""

    __slots__ = ("file", "line", "col")

    def __init__(self, file: str = "<input>", line: int | None = None, col: int | None = None):
        self.file, self.line, self.col = file, line, col

    def __eq__(self, other):
        if other.__class__ is self.__class__:
            return (self.file, self.line, self.col) == (other.file, other.line, other.col)
        return NotImplemented

    __hash__ = None  # mutable, as before

    def __repr__(self) -> str:
        return f"Where(file={self.file!r}, line={self.line!r}, col={self.col!r})"

    def __str__(self) -> str:
        s = _clip(self.file, 300)
        if self.line is not None:
            s += f":{self.line}"
            if self.col is not None:
                s += f":{self.col}"
        return s


class InputError(Exception):
    """A mistake in user input.  Message is one line: `where: field: what`."""

    def __init__(self, message: str, where: Where | None = None, field: str | None = None):
        self.message = _clip(message, 400)  # always one line, never a screenful
        self.where = where or Where()
        self.field = _clip(field, 120) if field is not None else None
        super().__init__(str(self))

    def __str__(self) -> str:
        parts = [str(self.where)]
        if self.field:
            parts.append(self.field)
        parts.append(self.message)
        return ": ".join(parts)


def _clip(text, n: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[:n - 3] + "..."


def did_you_mean(word: str, choices) -> str:
    """' (did you mean 'x'?)' for the closest choice, or '' when none is close."""
    if not isinstance(word, (str, int)) or len(str(word)) > 100:  # only names can be misspelled
        return ""
    import difflib  # only on an error path: not on every start
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


class _Short(reprlib.Repr):
    """repr() that stays short and fast on any YAML value, even a shared-alias structure of 10^9 items."""

    def __init__(self):
        super().__init__()
        self.maxlevel, self.maxlist, self.maxdict, self.maxtuple = 3, 4, 4, 4
        self.maxstring, self.maxother, self.maxlong = 40, 40, 40

    def repr1(self, x, level):
        if isinstance(x, bool) or x is None:
            return repr(x)
        if isinstance(x, int) and x.bit_length() > 128:
            return f"<integer of {x.bit_length()} bits>"
        for t, f in ((dict, self.repr_dict), (list, self.repr_list), (tuple, self.repr_tuple),
                     (str, self.repr_str), (int, self.repr_int)):
            if isinstance(x, t):
                return f(t(x) if t in (int, str) else x, level)
        return super().repr1(x, level)


def short(value) -> str:
    """A value as it appears in an error message: its repr, abbreviated with '...' when long."""
    return _Short().repr(value)
