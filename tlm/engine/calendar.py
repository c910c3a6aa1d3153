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
MAX_WALK_WINDOWS = 1024  # past this a saturated request is booked as one block (bounded time)


class BandwidthCalendar:
    __slots__ = ("per_cycle", "cap", "used", "limit", "skip")

    def __init__(self, per_cycle: float):
        self.per_cycle = per_cycle  # units (bits, ops) the target serves per cycle
        self.cap = per_cycle * WINDOW_CYCLES
        self.used = {}  # window index -> units taken
        self.limit = 8192  # prune old windows when more than this many are kept
        self.skip = {}  # full window -> a later window that may have room (path-compressed pointers)

    def request(self, t: int, units: int, own_cycles: int) -> int:
        """Book `units` from cycle `t`; returns the extra wait beyond the request's own `own_cycles`."""
        used = self.used
        i = t // WINDOW_CYCLES
        u = used.get(i, 0) + units
        if u < self.cap:  # the common case: room in the window, no wait
            used[i] = u
            if u == units and len(used) > self.limit:  # a new window: forget old ones now and then
                self.prune(i - 4096)
            return 0
        if units <= 0:
            return 0
        return self._overflow(t, i, units, own_cycles)

    def _next_open(self, i: int) -> int:
        """The first window at or after `i` that is not known to be full (skip pointers, compressed)."""
        skip = self.skip
        j = i
        while j in skip:
            j = skip[j]
        while i in skip and skip[i] != j:
            skip[i], i = j, skip[i]
        return j

    def _overflow(self, t, i, units, own_cycles):
        used, cap, first = self.used, self.cap, i
        need = units
        steps = 0
        i = self._next_open(i)
        while True:
            u = used.get(i, 0)
            free = max(cap - u, 0)
            if free > need:
                used[i] = u + need
                break
            used[i] = cap  # this window is now full: later requests jump over it
            need -= free
            self.skip[i] = i + 1
            if need <= 0:
                break
            i = self._next_open(i + 1)
            steps += 1
            if steps > MAX_WALK_WINDOWS:
                # a request worth thousands of windows: book the rest as one block from here instead
                # of filling window by window, so the time per request stays bounded
                k = int(need // cap)
                i += k
                used[i] = used.get(i, 0) + (need - k * cap)
                break
        if len(used) > self.limit:
            self.prune(first - 4096)
        if i == first:
            return 0
        done = i * WINDOW_CYCLES + -(-used[i] // self.per_cycle)
        return max(0, int(done) - (t + own_cycles))

    def prune(self, below: int) -> None:
        for k in [k for k in self.used if k < below]:
            del self.used[k]
        for k in [k for k in self.skip if k < below]:
            del self.skip[k]
        # when recent windows alone exceed the limit, prune less often (amortized linear time)
        self.limit = max(8192, 2 * len(self.used))
