"""Busy-until service of a shared target (an SRAM bank, the post-processing unit) that tolerates
temporal decoupling.

A single busy-until time is exact when requests arrive in time order.  Decoupled initiators (macros
running up to a quantum ahead of the kernel, ADCs booking their write-back at the end of a chunk's
conversions) reach a target out of time order: a plain busy-until would make a request queue behind a
booking that lies in its future.  The calendar therefore keeps the target's busy intervals from the
kernel's current time on (sorted, merged when they touch) and serves a request in the first gap at or
after its time that is long enough: first come, first served, and never behind the future.  In time
order this is exactly busy-until.  Intervals that end before the kernel's time can no longer matter
(no initiator's local time is behind the kernel) and are dropped.
"""
from __future__ import annotations

from bisect import bisect_right

PRUNE_AT = 256  # intervals kept before the ones already over are dropped (amortized)
MAX_INTERVALS = 4096  # past this, the oldest gaps are given up (booked as busy): bounded time per request


class Calendar:
    __slots__ = ("env", "starts", "ends", "limit")

    def __init__(self, env):
        self.env = env
        self.starts: list = []  # busy intervals [starts[i], ends[i]), sorted, disjoint, not touching
        self.ends: list = []
        self.limit = PRUNE_AT  # prune when more intervals than this are kept

    def book(self, t: int, cycles: int) -> int:
        """Serve `cycles` of work from time `t` on; returns the start time granted (>= t)."""
        if cycles <= 0:
            return t
        starts, ends = self.starts, self.ends
        if not ends or t >= ends[-1]:  # in time order: plain busy-until
            if ends and t == ends[-1]:
                ends[-1] = t + cycles
            else:
                starts.append(t)
                ends.append(t + cycles)
                if len(ends) > self.limit:
                    self._prune()
            return t
        return self._insert(t, cycles)

    def _insert(self, t: int, cycles: int) -> int:
        starts, ends = self.starts, self.ends
        i = bisect_right(ends, t)  # first interval ending after t
        s = t
        while i < len(starts):
            if starts[i] >= s + cycles:  # the gap before interval i is long enough
                break
            s = max(s, ends[i])
            i += 1
        e = s + cycles
        # insert [s, e) before interval i, merging with neighbours that touch it
        if i < len(starts) and starts[i] == e:
            starts[i] = s
            if i > 0 and ends[i - 1] == s:
                starts[i] = starts[i - 1]
                del starts[i - 1], ends[i - 1]
        elif i > 0 and ends[i - 1] == s:
            ends[i - 1] = e
        else:
            starts.insert(i, s)
            ends.insert(i, e)
        if len(ends) > self.limit:
            self._prune()
        return s

    def _prune(self) -> None:
        now = self.env.now
        starts, ends = self.starts, self.ends
        k = bisect_right(ends, now)
        if k:
            del starts[:k], ends[:k]
        if len(ends) > MAX_INTERVALS:  # give up the oldest gaps: one interval
            k = len(ends) - MAX_INTERVALS // 2
            ends[:k] = [ends[k - 1]]
            starts[:k] = [starts[0]]
        # many intervals still ahead of the kernel: prune less often (amortized linear time)
        self.limit = max(PRUNE_AT, 2 * len(ends))

    @property
    def busy_until(self) -> int:
        return self.ends[-1] if self.ends else 0
