"""Per-component statistics of a TLM run: busy, stalled (by reason), idle, energy by kind; per layer.

Every block instance owns a `Track` (also its row in the trace).  Targets add busy cycles and energy as
they serve transactions; initiators add the cycles they waited on something, by reason.  Energy goes
into one rows x kinds table (rows = layers + image I/O, kinds = tlm.engines.result.KIND_NAMES), the same table
the analytic engine fills, so the Result prints the same way for both engines.
"""
from __future__ import annotations

import numpy as np

from tlm.engines.result import KIND_NAMES

KIND = {k: i for i, k in enumerate(KIND_NAMES)}
COUNT_KEYS = ("weight_bits_loaded", "conversions", "dp_cycles", "sram_read_bits", "sram_write_bits", "dma_bits",
              "spill_bits", "postproc_ops")


class Track:
    """Statistics of one block instance (e.g. `macro1`, `dma.ch0`) belonging to `component`.  `peak`:
    the most of something the block held at once, measured by the block itself (an int, or a Meter it
    feeds), named by `peak_of` (the ADC's FIFO entries, a DMA channel's queued transfers, an SRAM
    bank's requests); None for blocks that hold nothing."""

    __slots__ = ("name", "component", "busy", "stall", "rows", "peak", "peak_of")

    def __init__(self, name: str, component: str, rows: int):
        self.name, self.component, self.rows = name, component, rows
        self.busy = [0] * rows
        self.stall = {}  # reason -> [cycles per row]
        self.peak, self.peak_of = None, ""

    def add_stall(self, row: int, reason: str, cycles: int) -> None:
        if cycles > 0:
            s = self.stall.get(reason)
            if s is None:
                s = self.stall[reason] = [0] * self.rows
            s[row] += cycles

    @property
    def busy_cycles(self) -> int:
        return sum(self.busy)

    def stall_cycles(self) -> dict:
        return {r: sum(v) for r, v in sorted(self.stall.items())}


class Meter:
    """The most intervals [start, end) open at once, for intervals added out of time order (requests a
    decoupled initiator books ahead of the kernel) but never starting before the kernel's time when added.
    The occupancy before the kernel's time is then final: `add` settles it and drops the intervals over,
    every `limit` additions, so memory stays bounded by the intervals still ahead of the kernel."""

    __slots__ = ("env", "starts", "ends", "best", "limit", "base")

    def __init__(self, env, limit: int = 4096):
        self.env, self.starts, self.ends, self.best, self.limit, self.base = env, [], [], 0, limit, limit

    def add(self, start: int, end: int) -> None:
        self.starts.append(start)
        self.ends.append(end)
        if len(self.ends) > self.limit:
            self.settle(self.env.now)

    def settle(self, now) -> None:
        """Raise `best` to the peak occupancy before `now`; keep only the intervals ending after it."""
        s, e = np.array(self.starts, dtype=np.int64), np.array(self.ends, dtype=np.int64)
        t = np.concatenate([s, e])
        step = np.concatenate([np.ones(len(s), np.int64), -np.ones(len(e), np.int64)])
        order = np.lexsort((step, t))  # at one time, ends (-1) before starts: intervals are half-open
        level = np.cumsum(step[order])
        before = t[order] < now
        if before.any():
            self.best = max(self.best, int(level[before].max()))
        keep = e > now
        self.starts, self.ends = s[keep].tolist(), e[keep].tolist()
        self.limit = max(self.base, 2 * len(self.ends))  # many still ahead: settle less often (amortized)

    @property
    def value(self) -> int:
        """The peak over the whole run (call when the run is over)."""
        if self.ends:
            self.settle(float("inf"))
        return self.best


class Stats:
    def __init__(self, rows: int):
        self.rows = rows
        self.tracks: dict[str, Track] = {}
        self.energy = [[0.0] * len(KIND_NAMES) for _ in range(rows)]
        # per-layer event counts (bits, conversions, ...): blocks keep a reference to their list
        self.counts: dict[str, list] = {k: [0] * rows for k in COUNT_KEYS}
        self.transactions = 0  # b_transport calls served, all targets

    def track(self, name: str, component: str) -> Track:
        t = self.tracks[name] = Track(name, component, self.rows)
        return t

    def count(self, key: str, row: int, n: int) -> None:
        c = self.counts.get(key)
        if c is None:
            c = self.counts[key] = [0] * self.rows
        c[row] += n

    def counts_array(self, key: str) -> np.ndarray:
        return np.array(self.counts.get(key, [0] * self.rows), dtype=np.int64)

    def energy_array(self) -> np.ndarray:
        return np.array(self.energy, dtype=float)

    # ---- per component (instances summed), as the Result wants them -------------------------------
    def component_busy(self) -> dict:
        out = {}
        for t in self.tracks.values():
            out[t.component] = out.get(t.component, 0) + t.busy_cycles
        return out

    def component_stall(self) -> dict:
        out = {}
        for t in self.tracks.values():
            for r, v in t.stall_cycles().items():
                if v:
                    d = out.setdefault(t.component, {})
                    d[r] = d.get(r, 0) + v
        return out

    def instances(self, elapsed: int) -> dict:
        """Per instance: busy, stalled by reason, idle (= elapsed - busy - stalled, never negative), and
        for the blocks that hold work (FIFO, queue, bank) the most they held at once (`peak`, `peak_of`)."""
        out = {}
        for name, t in self.tracks.items():
            st = t.stall_cycles()
            stalled = sum(st.values())
            out[name] = {"component": t.component, "busy_cycles": t.busy_cycles,
                         "stall_cycles": {r: v for r, v in st.items() if v},
                         "idle_cycles": max(elapsed - t.busy_cycles - stalled, 0)}
            if t.peak is not None:
                out[name]["peak"] = int(t.peak.value if isinstance(t.peak, Meter) else t.peak)
                out[name]["peak_of"] = t.peak_of
        return out
