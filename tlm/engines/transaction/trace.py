"""Chrome / Perfetto trace-event JSON: one track (thread) per block instance, one complete event ("X")
per busy span or stall, timestamps in microseconds of simulated time.  Open the file in
ui.perfetto.dev or chrome://tracing.  Each event's `args.cycles` holds its exact length in cycles, so
the busy time of a track can be checked against the statistics without rounding."""
from __future__ import annotations

import json

from tlm.config.yamlio import atomic_write


class Trace:
    def __init__(self, period_ns: float, title: str = "imagine-tlm"):
        self.us_per_cycle = period_ns / 1000.0
        self.title = title
        self.tids: dict[str, int] = {}
        self.events: list = []

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

    def to_json(self) -> str:
        meta = [{"name": "process_name", "ph": "M", "pid": 1, "tid": 0, "args": {"name": self.title}}]
        for name, tid in self.tids.items():
            meta.append({"name": "thread_name", "ph": "M", "pid": 1, "tid": tid, "args": {"name": name}})
            meta.append({"name": "thread_sort_index", "ph": "M", "pid": 1, "tid": tid,
                         "args": {"sort_index": tid}})
        evs = sorted(self.events, key=lambda e: (e["tid"], e["ts"]))
        return json.dumps({"traceEvents": meta + evs, "displayTimeUnit": "ns"}, separators=(",", ":")) + "\n"

    def write(self, path) -> None:
        atomic_write(path, self.to_json())
