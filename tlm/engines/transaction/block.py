"""What every block shares: its statistics track, the trace it writes to, the run's stats and clock."""
from __future__ import annotations


class Block:
    """A block instance: `name` is its track in the statistics and in the trace."""

    def __init__(self, sys, name: str, component: str, track: bool = True):
        self.sys = sys
        self.env = sys.env
        self.arch = sys.arch
        self.stats = sys.stats
        self.trace = sys.trace
        self.name = name
        self.track = sys.stats.track(name, component) if track else None
        self.waiting = ""  # what the block's process waits for (named by the watchdog)

    def busy(self, row: int, start: int, cycles: int, what: str) -> None:
        self.track.busy[row] += cycles
        if self.trace is not None:
            self.trace.span(self.name, what, start, cycles, layer=self.sys.row_names[row])

    def stall(self, row: int, start: int, cycles: int, reason: str) -> None:
        if cycles > 0:
            self.track.add_stall(row, reason, cycles)
            if self.trace is not None:
                self.trace.span(self.name, f"stall: {reason}", start, cycles, cat="stall",
                                layer=self.sys.row_names[row])
