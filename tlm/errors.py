"""One error type for user mistakes, rendered as one line.

`InputError` is raised for anything a user can get wrong (a YAML field, a workload shape, a CLI value,
an ONNX file).  The CLI prints `str(err)` -- `file:line:col: field: message` -- and exits with code 2.
Anything else that escapes is a bug in tlm: the CLI prints a short message and exits with code 1.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass


@dataclass
class Where:
    """Where a value came from: a file and, when known, a 1-based line and column."""

    file: str = "<input>"
    line: int | None = None
    col: int | None = None

    def __str__(self) -> str:
        s = self.file
        if self.line is not None:
            s += f":{self.line}"
            if self.col is not None:
                s += f":{self.col}"
        return s


class InputError(Exception):
    """A mistake in user input.  Message is one line: `where: field: what`."""

    def __init__(self, message: str, where: Where | None = None, field: str | None = None):
        self.message = " ".join(str(message).split())  # always one line
        self.where = where or Where()
        self.field = field
        super().__init__(str(self))

    def __str__(self) -> str:
        parts = [str(self.where)]
        if self.field:
            parts.append(self.field)
        parts.append(self.message)
        return ": ".join(parts)


def did_you_mean(word: str, choices) -> str:
    """' (did you mean 'x'?)' for the closest choice, or '' when none is close."""
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
