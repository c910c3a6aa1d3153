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
    """Statistics of one block instance (e.g. `macro1`, `dma.ch0`) belonging to `component`."""

    __slots__ = ("name", "component", "busy", "stall", "rows")

    def __init__(self, name: str, component: str, rows: int):
        self.name, self.component, self.rows = name, component, rows
        self.busy = [0] * rows
        self.stall = {}  # reason -> [cycles per row]

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
        """Per instance: busy, stalled by reason, idle (= elapsed - busy - stalled, never negative)."""
        out = {}
        for name, t in self.tracks.items():
            st = t.stall_cycles()
            stalled = sum(st.values())
            out[name] = {"component": t.component, "busy_cycles": t.busy_cycles,
                         "stall_cycles": {r: v for r, v in st.items() if v},
                         "idle_cycles": max(elapsed - t.busy_cycles - stalled, 0)}
        return out
