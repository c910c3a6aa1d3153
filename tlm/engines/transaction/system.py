"""Wiring and running the transaction-level engine: `simulate(arch, wl) -> tlm.engines.result.Result`.

It executes the plan (tlm/mapping/plan.py, built once; the engine never calls the analytic engine) of a
concrete mapping policy (`auto` is resolved above the engines, tlm/engines/registry.py).  One of two
controllers drives the same blocks: controller.py (sequential: tiles in rounds, layer by layer) or
pipeline.py (a resident mapping: the schedule's jobs, one process per resource).  Blocks, one module
each: macro.py (a process per macro, with its adc.py pipeline),
dma.py (a process per channel), sram.py (banks), postproc.py, extmem.py (targets); calendar.py is the
busy-until service of the shared targets, quantum.py the temporal decoupling.  The run loop steps the SimPy
kernel itself so that a watchdog can stop a run that makes no progress -- a deadlock (no event left
while the controller is unfinished) or a livelock (simulated time or events running on with no
transaction served) -- with a message naming what each blocked process waits for.
"""
from __future__ import annotations

import time

import numpy as np
import simpy

from tlm.mapping.plan import build_plan, static_per_layer
from tlm.engines.result import Result
from tlm.engines.transaction.controller import Controller
from tlm.engines.transaction.dma import Dma
from tlm.engines.transaction.extmem import ExternalMemory
from tlm.engines.transaction.macro import Macro
from tlm.engines.transaction.postproc import PostProc
from tlm.engines.transaction.sram import Sram
from tlm.engines.transaction.stats import COUNT_KEYS, Stats

PROGRESS_AFTER_S = 1.0  # show a progress bar only for runs longer than this (wall time)
EVENTS_WITHOUT_PROGRESS = 1_000_000  # kernel events in a row with no transaction served: livelock


class SimulationStalled(RuntimeError):
    """The simulation cannot finish (deadlock or livelock); the message names the blocked blocks."""


class System:
    """The accelerator as blocks and processes, built from `arch` for workload `wl`."""

    def __init__(self, arch, wl, *, quantum_cycles=None, contention=None, trace=None, input_density=None,
                 plan=None, data=None):
        self.arch, self.wl = arch, wl
        self.data = data  # tlm.engines.transaction.datapath.DataPath of a functional run, else None
        cfg = arch.tlm
        self.quantum = cfg.quantum_cycles if quantum_cycles is None else int(quantum_cycles)
        self.contention = cfg.contention if contention is None else bool(contention)
        self.watchdog_cycles = cfg.watchdog_cycles
        self.plan = plan = build_plan(arch, wl, input_density) if plan is None else plan
        plan.check_tile_limit()
        self.plans, self.resident = plan.layers, plan.resident
        self.io_in, self.io_out = plan.io_in_bits, plan.io_out_bits
        # a single transfer or tile may be stalled by everything else: scale the watchdog to the run
        self.watchdog_cycles = max(self.watchdog_cycles, 2 * plan.serial_bound_cycles)
        if plan.schedule is not None:  # a schedule's run can take its bound many times over when contended
            self.watchdog_cycles = max(self.watchdog_cycles, 64 * max(plan.schedule.makespan, 1))
        self.rows = len(wl.layers) + 1
        self.row_names = [l.name for l in wl.layers] + ["(image I/O)"]
        self.env = simpy.Environment()
        self.stats = Stats(self.rows)
        self.trace = None
        if trace:  # (imported here: a run without a trace needs neither json nor the trace module)
            from tlm.engines.transaction.trace import Trace
            self.trace = Trace(arch.clock.period_ns, f"{wl.name} on {arch.name}")
        self.controller = None
        self.memo = {}  # blocks' memoized cost-formula values of this run (arch fixed), by block kind
        self.sram = Sram(self)
        self.postproc = PostProc(self)
        self.extmem = ExternalMemory(self)
        self.dma = Dma(self)
        self.macros = [Macro(self, j) for j in range(arch.macro.count)]

    def blocks(self):
        return [self.controller, *self.dma.channels, *self.macros]

    def start(self):
        """The controller that drives the run: the sequential one (tiles in rounds, layer by layer) or,
        for a resident mapping, the one that executes the schedule's jobs (pipeline.py); the same blocks."""
        if self.plan.schedule is None:
            self.controller = Controller(self)
        else:  # (imported here: a sequential run does not load the mapped controller)
            from tlm.engines.transaction.pipeline import MappedController
            self.controller = MappedController(self)
        return self.controller.proc

    def run(self, progress=False):
        """Run to the end; raises SimulationStalled when the run cannot finish."""
        env = self.env
        done = self.start()
        step, st = env.step, self.stats
        last_txn, last_t, quiet = -1, 0, 0
        bar, t_wall, n = None, time.perf_counter(), 0
        try:
            while not done.triggered:
                try:
                    step()
                except simpy.core.EmptySchedule:
                    raise SimulationStalled(self._blocked("deadlock: no event left")) from None
                n += 1
                if st.transactions != last_txn:
                    last_txn, last_t, quiet = st.transactions, env.now, 0
                else:
                    quiet += 1
                    if quiet > EVENTS_WITHOUT_PROGRESS or env.now - last_t > self.watchdog_cycles:
                        raise SimulationStalled(self._blocked(
                            f"no transaction served for {env.now - last_t} cycles and {quiet} events; raise "
                            "tlm.watchdog_cycles if one transfer or tile really takes that long"))
                if progress and not (n & 255):
                    bar = self._progress(bar, t_wall)
            if not done.ok:
                raise done.value
        finally:
            if bar is not None:
                bar[0].stop()

    def _blocked(self, why: str) -> str:
        parts = [f"{b.name} waits for {b.waiting}" for b in self.blocks() if b is not None and b.waiting]
        return f"simulation stopped at cycle {self.env.now} ({why}): " + "; ".join(parts)

    def _progress(self, bar, t_wall):
        if bar is None:
            if time.perf_counter() - t_wall < PROGRESS_AFTER_S:
                return None
            from rich.console import Console
            from rich.progress import Progress
            p = Progress(console=Console(stderr=True), transient=True)
            task = p.add_task(f"tlm: {self.wl.name}", total=self.rows)
            p.start()
            bar = (p, task)
        bar[0].update(bar[1], completed=max(self.controller.layer_index, 0))
        return bar


def simulate(arch, wl, *, quantum_cycles=None, contention=None, trace=None, progress=False,
             input_density=None, plan=None, data=None) -> Result:
    """Transaction-level simulation of `wl` on `arch` (a concrete `mapping.policy`: `auto` is resolved
    above the engines, tlm/engines/registry.py).  `quantum_cycles` and `contention` override the
    config's `tlm:` section; `trace` is a path for a Chrome/Perfetto trace-event JSON file; `plan` an
    already built tlm.mapping.plan.Plan of (arch, wl, input_density); `data` a
    tlm.engines.transaction.datapath.DataPath for a functional run (real images through the blocks:
    outputs in `data.outputs()`, measured activity in `data.stats`), under every policy."""
    sys = System(arch, wl, quantum_cycles=quantum_cycles, contention=contention, trace=trace,
                 input_density=input_density, plan=plan, data=data)
    sys.run(progress=progress)
    res = to_result(sys)
    if trace:
        sys.trace.write(trace, res)
    return res


def to_result(system) -> Result:
    """The Result of a finished run, either controller's (one builder: counts, cycles, stall notes)."""
    c = system.controller
    if system.plan.schedule is not None:  # the mapped controller (pipeline.py)
        return build_result(system, **c.finish(int(system.env.now)))
    cyc = np.array(c.cycles, dtype=np.int64)
    comp = np.array([p.compute for p in system.plans] + [False])
    macro_busy = np.sum([system.stats.tracks[m.name].busy for m in system.macros], axis=0)
    spill = np.array(c.spill_cycles, dtype=np.int64)
    util = np.where(comp, macro_busy / (len(system.macros) * np.maximum(cyc - spill, 1)), 0.0)
    return build_result(system, cycles=cyc, compute=np.array(c.compute_cycles, dtype=np.int64), spill=spill,
                        util=util, elapsed=int(system.env.now), notes=[], extra={})


def build_result(system, *, cycles, compute, spill, util, elapsed, notes, extra) -> Result:
    """Per row: `cycles`, `compute` and `spill` cycles (load = the rest, compute rows), temporal
    utilization `util`; `elapsed` the run's cycles; `notes` and `extra` what a controller adds."""
    st, plan = system.stats, system.plan
    pl = static_per_layer(plan)
    for k in COUNT_KEYS:
        pl[k][:] = st.counts_array(k)
    comp = np.array([p.compute for p in system.plans] + [False])
    pl["cycles"], pl["compute_cycles"], pl["spill_cycles"] = cycles, compute, spill
    pl["load_cycles"] = np.where(comp, cycles - compute - spill, 0)
    pl["temporal_utilization"] = util
    stalls = st.component_stall()
    out = list(plan.notes)
    for comp_name, reasons in sorted(stalls.items()):
        for r, v in sorted(reasons.items()):
            out.append(f"tlm: {comp_name} stalled {v:,} cycles on {r} (summed over instances)")
    extra = {"weights_resident": bool(system.resident), "transactions": st.transactions, "quantum_cycles": system.quantum,
             "contention": system.contention, "elapsed_cycles": elapsed, "instances": st.instances(elapsed),
             "mapping": plan.mapping_desc, **extra}
    return Result(engine="tlm", arch=system.arch, workload=system.wl, layer_names=list(system.row_names),
                  layer_types=list(plan.types), per_layer=pl, energy_pj=st.energy_array(),
                  component_busy_cycles=st.component_busy(), component_stall_cycles=stalls, notes=out + notes,
                  extra=extra)
