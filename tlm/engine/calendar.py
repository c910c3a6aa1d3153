"""Bandwidth of a shared target as busy-until bookkeeping that tolerates temporal decoupling.

A single busy-until time is exact when one initiator uses a target in time order (a DMA channel, a
macro's own ADC).  A target shared by decoupled initiators (N macros on the SRAM) sees requests out of
time order: one macro running a quantum ahead would make the others queue behind its future accesses.
The calendar keeps, per window of WINDOW_CYCLES, how much of the window's capacity is taken; a request
takes capacity from its window onwards and waits only for what overflows.  Below saturation nobody
waits, whatever the order of arrival, so strict and decoupled runs agree; at saturation requests are
delayed by the overflow, i.e. the target's throughput is the bound.
"""
from __future__ import annotations

WINDOW_CYCLES = 64


class BandwidthCalendar:
    __slots__ = ("per_cycle", "cap", "used", "floor")

    def __init__(self, per_cycle: float):
        self.per_cycle = per_cycle  # units (bits, ops) the target serves per cycle
        self.cap = per_cycle * WINDOW_CYCLES
        self.used = {}  # window index -> units taken
        self.floor = 0

    def request(self, t: int, units: int, own_cycles: int) -> int:
        """Book `units` from cycle `t`; returns the extra wait beyond the request's own `own_cycles`."""
        used = self.used
        i = t // WINDOW_CYCLES
        u = used.get(i, 0) + units
        if u <= self.cap:  # the common case: room in the window, no wait
            used[i] = u
            if u == units and len(used) > 8192:  # a new window: forget old ones now and then
                self.prune(i - 4096)
            return 0
        if units <= 0:
            return 0
        return self._overflow(t, i, units, own_cycles)

    def _overflow(self, t, i, units, own_cycles):
        used, cap, first = self.used, self.cap, i
        need = units
        while True:
            u = used.get(i, 0)
            free = cap - u
            if free >= need:
                used[i] = u + need
                break
            if free > 0:
                used[i] = cap
                need -= free
            i += 1
        if len(used) > 8192:
            self.prune(first - 4096)
        if i == first:
            return 0
        done = i * WINDOW_CYCLES + -(-used[i] // self.per_cycle)
        return max(0, int(done) - (t + own_cycles))

    def prune(self, below: int) -> None:
        for k in [k for k in self.used if k < below]:
            del self.used[k]
