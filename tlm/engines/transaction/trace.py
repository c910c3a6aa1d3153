"""Chrome / Perfetto trace-event JSON: one track (thread) per block instance, one complete event ("X")
per busy span or stall, timestamps in microseconds of simulated time.  Open the file in
ui.perfetto.dev or chrome://tracing.  Each event's `args.cycles` holds its exact length in cycles, so
the busy time of a track can be checked against the statistics without rounding.

Besides the slices:
- counter tracks ("C" events): for each kind of block with several instances or a shared role, how many
  of its instances are busy at each moment (`busy sram banks`, `busy adcs`,
  `busy dma channels`, `busy macros`), made from the busy slices when the file is written, so the
  area under a counter is the kind's busy cycles of the block table; the counters the blocks report
  themselves (`counter()`, `step()`: each DMA channel's queued transfers `dma.chN queue`, each
  pipelined ADC's FIFO entries `adcN fifo`, each SRAM bank's requests held, waiting or served,
  `sram.bankN requests`), whose maxima are the `peak` of the block table, measured by the blocks
  (tlm/engines/transaction/stats.py); and the power (`power (mW)`: each layer's
  on-chip energy spread over its time);
- flow events ("s" -> "f"): an arrow from the initiator of each transaction a target traced (a slice
  with `args.by`) to that slice: from the initiator's slice that issued it (its latest slice started
  at or before the target's; the initiator `dma` is any of its channels `dma.chN`).
"""
from __future__ import annotations

import bisect
import json
import re

from tlm.config.yamlio import atomic_write


class Trace:
    def __init__(self, period_ns: float, title: str = "imagine-tlm"):
        self.us_per_cycle = period_ns / 1000.0
        self.title = title
        self.tids: dict[str, int] = {}
        self.events: list = []
        self.counters: list = []  # (name, cycle, value) reported by the blocks
        self.steps: dict = {}  # name -> {cycle: change}: counters the blocks report as changes
        self.period_ns = period_ns

    def tid(self, track: str) -> int:
        t = self.tids.get(track)
        if t is None:
            t = self.tids[track] = len(self.tids) + 1
        return t

    def span(self, track: str, name: str, start: int, cycles: int, cat: str = "busy", **args) -> None:
        """A span of `cycles` cycles from cycle `start` on `track`."""
        if cycles <= 0:
            return
        args["cycles"] = int(cycles)
        self.events.append({"name": name, "cat": cat, "ph": "X", "pid": 1, "tid": self.tid(track),
                            "ts": start * self.us_per_cycle, "dur": cycles * self.us_per_cycle,
                            "args": args})

    def counter(self, name: str, cycle: int, value: float) -> None:
        """A block's own counter (e.g. a queue's length) is `value` from cycle `cycle` on."""
        self.counters.append((name, int(cycle), value))

    def step(self, name: str, cycle: int, change: int) -> None:
        """A block's own counter (e.g. its FIFO's entries) changes by `change` at cycle `cycle`; the
        changes may come out of time order (a decoupled initiator books ahead): summed when written."""
        d = self.steps.get(name)
        if d is None:
            d = self.steps[name] = {}
        d[cycle] = d.get(cycle, 0) + change

    def to_json(self, layer_energy_pj: dict | None = None) -> str:
        meta = [{"name": "process_name", "ph": "M", "pid": 1, "tid": 0, "args": {"name": self.title}}]
        for name, tid in self.tids.items():
            meta.append({"name": "thread_name", "ph": "M", "pid": 1, "tid": tid, "args": {"name": name}})
            meta.append({"name": "thread_sort_index", "ph": "M", "pid": 1, "tid": tid,
                         "args": {"sort_index": tid}})
        evs = sorted(self.events, key=lambda e: (e["tid"], e["ts"]))
        extra = self._busy_counters() + self._own_counters() + self._flows() + self._power(layer_energy_pj or {})
        return json.dumps({"traceEvents": meta + evs + extra, "displayTimeUnit": "ns"},
                          separators=(",", ":")) + "\n"

    # ---- counters and flows, made when the file is written --------------------------------------------
    def _busy_counters(self) -> list:
        """Per kind of block (the track name without its index: sram.bank3 -> sram banks), the number of
        its instances busy at each moment, from the busy slices."""
        names = {tid: name for name, tid in self.tids.items()}
        steps: dict = {}  # kind -> {cycle: change}
        for e in self.events:
            if e["cat"] != "busy":
                continue
            kind = _kind(names[e["tid"]])
            start = round(e["ts"] / self.us_per_cycle)
            d = steps.setdefault(kind, {})
            d[start] = d.get(start, 0) + 1
            d[start + e["args"]["cycles"]] = d.get(start + e["args"]["cycles"], 0) - 1
        out = []
        for kind, d in sorted(steps.items()):
            level = 0
            for cycle in sorted(d):
                level += d[cycle]
                out.append({"name": f"busy {kind}", "ph": "C", "pid": 1, "ts": cycle * self.us_per_cycle,
                            "args": {"busy": level}})
        return out

    def _power(self, layer_energy_pj: dict) -> list:
        """`power (mW)`: each layer's on-chip energy spread evenly over its time, from its first span's
        start to its last span's end (layers that overlap add up), so the area under it is the run's
        on-chip energy of the layers that have spans."""
        first, last = {}, {}
        for e in self.events:
            layer = e["args"].get("layer")
            if layer in layer_energy_pj:
                a = round(e["ts"] / self.us_per_cycle)
                first[layer] = min(first.get(layer, a), a)
                last[layer] = max(last.get(layer, a), a + e["args"]["cycles"])
        steps: dict = {}
        for layer, a in first.items():
            mw = layer_energy_pj[layer] / ((last[layer] - a) * self.period_ns)  # pJ/ns = mW
            steps[a] = steps.get(a, 0.0) + mw
            steps[last[layer]] = steps.get(last[layer], 0.0) - mw
        out, level = [], 0.0
        for cycle in sorted(steps):
            level += steps[cycle]
            out.append({"name": "power (mW)", "ph": "C", "pid": 1, "ts": cycle * self.us_per_cycle,
                        "args": {"mW": round(level, 9) + 0.0}})  # (+0.0: no -0.0)
        return out

    def _own_counters(self) -> list:
        out = [{"name": name, "ph": "C", "pid": 1, "ts": cycle * self.us_per_cycle, "args": {"value": value}}
               for name, cycle, value in sorted(self.counters, key=lambda c: (c[0], c[1]))]
        for name, d in sorted(self.steps.items()):
            level = 0
            for cycle in sorted(d):
                if d[cycle]:  # the level after every change at that cycle; unchanged levels are not repeated
                    level += d[cycle]
                    out.append({"name": name, "ph": "C", "pid": 1, "ts": cycle * self.us_per_cycle,
                                "args": {"value": level}})
        return out

    def _flows(self) -> list:
        """An "s" event inside the initiator's slice and an "f" event (bound to the enclosing slice) at
        the start of the target's slice, for every target slice with `args.by`."""
        starts: dict = {}  # initiator name -> sorted [(ts, tid)] of its busy slices' starts
        names = {tid: name for name, tid in self.tids.items()}
        for e in self.events:
            if e["cat"] == "busy":
                n = names[e["tid"]]
                for key in {n, n.split(".")[0]}:  # dma.ch0 issues as `dma`
                    starts.setdefault(key, []).append((e["ts"], e["tid"]))
        for v in starts.values():
            v.sort()
        out, n = [], 0
        for e in sorted(self.events, key=lambda e: (e["ts"], e["tid"])):
            by = e["args"].get("by")
            cand = starts.get(by) if by is not None else None
            if not cand:
                continue
            i = bisect.bisect_right(cand, (e["ts"], float("inf"))) - 1
            if i < 0:
                continue
            ts, tid = cand[i]
            n += 1
            out.append({"name": "transaction", "cat": "flow", "ph": "s", "id": n, "pid": 1, "tid": tid, "ts": ts})
            out.append({"name": "transaction", "cat": "flow", "ph": "f", "bp": "e", "id": n, "pid": 1,
                        "tid": e["tid"], "ts": e["ts"]})
        return out

    def write(self, path, result=None) -> None:
        """The file; with the run's Result, the power counter too (each layer's on-chip energy)."""
        energy = None
        if result is not None:
            from tlm.engines.result import ON_CHIP
            energy = dict(zip(result.layer_names, result.energy_pj[:, ON_CHIP].sum(axis=1).tolist()))
        atomic_write(path, self.to_json(energy))


_KINDS = {"sram.bank": "sram banks", "dma.ch": "dma channels", "macro": "macros", "adc": "adcs"}


def _kind(track: str) -> str:
    """The kind of block a track is, by its name without the index: sram.bank3 -> 'sram banks'."""
    base = re.sub(r"[0-9]+$", "", track)
    return _KINDS.get(base, base)
