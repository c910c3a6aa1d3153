"""The controller of a mapped run: the TLM engine executing a resident mapping's schedule (policies
resident, pipelined, replicate; tlm/mapping/schedule.py), on the same blocks as the sequential controller.

The schedule is the plan: jobs (image, layer, output rows) on resources (each macro, the
post-processing, the DMA channels) in a fixed order per resource, each waiting for the jobs producing
the input rows it reads.  Here every resource is a SimPy process that runs its jobs in that order; all
macros run at once and share the activation SRAM banks, the post-processing and the DMA channels.
- A macro job is handed to the macro block (macro.py) as tile runs: every tile of the layer's copy that
  the macro holds, over the job's output pixels (one image's rows; layer by layer every image of the
  batch in turn).  The macro reads its inputs from the SRAM chunk by chunk, computes its DPs and
  converts them in its ADC pipeline with its bounded FIFO, which writes the results (or partial sums,
  accumulated in post-processing) back to the SRAM; the quantum keeper decouples it from the kernel.
  Each run fills and drains the pipeline once: the schedule's job cost (tlm/hw/controller.tile_cycles).
- A digital job reads its rows' operands, has the post-processing compute them and writes the result.
- A DMA job moves the image in or out, or (layer by layer) spills a layer's live activations.
Waiting for input rows is the macro's stall 'line buffer' (streams) or 'layer barrier'.  The controller's
own track (block table, trace) is busy while any job runs, in spans named by the layers in flight.  Without
contention every job takes its schedule cycles and the run reproduces the contention-free schedule
exactly; with it the fixed order means the run can only be later than that bound.
"""
from __future__ import annotations

import numpy as np

from tlm.hw import controller as hw_ctrl
from tlm.hw import dma as hw_dma
from tlm.hw import leakage as hw_leak
from tlm.mapping.policies import STREAM
from tlm.mapping.mapper import clock_shares
from tlm.engines.transaction import dma as dmamod
from tlm.engines.transaction.block import Block
from tlm.engines.transaction.controller import Barrier
from tlm.engines.transaction.payload import Command, Payload
from tlm.engines.transaction.stats import KIND

_CTRL, _LEAK = KIND["controller"], KIND["leakage"]


class MappedController(Block):
    """Runs the schedule `system.plan.schedule`; `proc` fires when every resource has run its jobs."""

    def __init__(self, system):
        super().__init__(system, "controller", "controller")
        self.runs = []  # (start, end, layer) of every job, for the controller's own track (finish)
        S = self.S = system.plan.schedule
        self.asg = system.plan.multi
        self.layer_index = -1
        self.done = [False] * len(S.res)
        self.waiters = {}
        self.layer_busy = {}  # (layer, resource) -> busy + stalled cycles
        self.spans = {}  # layer -> [first job start, last job end]
        self.ready = set()  # layers whose data a functional run has computed
        self.in_start = {}  # image -> when its input transfer started (a paced stream: tlm/mapping/schedule._time)
        self.left = np.bincount(S.layer, minlength=len(system.plans) + 1).tolist()  # jobs not yet done per row
        self.stream = self.asg.policy in STREAM
        self.N = len(system.macros)
        self.tiles_on = {}  # (layer, copy, macro) -> the tiles it holds, from the placement
        for p in self.asg.places:
            self.tiles_on.setdefault((p.layer, p.replica, p.macro), []).append(p.tile)
        self.tiles_of, self.shapes = {}, {}  # memoized: (layer, copy, macro) -> its tiles; layer -> shape
        if system.trace is not None:  # one track per macro, in macro order, then the shared blocks
            for mac in system.macros:
                system.trace.tid(mac.name)
        env = self.env
        self.procs = [env.process(self._resource(r, jobs)) for r, jobs in sorted(S.order.items())]
        self.proc = env.all_of(self.procs)

    def _wait(self, j):
        ev = self.waiters.get(j)
        if ev is None:
            ev = self.waiters[j] = self.env.event()
        return ev

    def _finish(self, j):
        self.done[j] = True
        ev = self.waiters.pop(j, None)
        if ev is not None:
            ev.succeed()

    def _resource(self, r, jobs):
        system, S, env = self.sys, self.S, self.env
        name = S.names[r]
        block = system.macros[r] if r < self.N else None
        for j in jobs:
            t = env.now
            li = S.layer[j]
            for d in S.deps[j]:
                if not self.done[d]:
                    if block is not None:
                        block.waiting = f"input rows of {system.row_names[li]} (image {S.image[j]})"
                    yield self._wait(d)
            n_rows = len(system.plans)
            if S.ii and li == n_rows and S.row[j] == 0 and S.image[j] > 0:  # paced: ii after the last input
                wait = self.in_start[S.image[j] - 1] + S.ii - env.now
                if wait > 0:
                    yield env.timeout(wait)
            if block is not None and env.now > t and jobs[0] != j:
                block.stall(li, t, env.now - t, "line buffer" if self.stream else "layer barrier")
            self.layer_index = max(self.layer_index, li if li < len(system.plans) else -1)
            if system.data is not None and li < len(system.plans) and li not in self.ready:
                self._data(li)
            t0 = env.now
            if r < self.N:
                yield from self._macro_job(j, r)
            elif r > self.N:  # the DMA channels: image I/O and spills
                yield self._dma_job(j)
            else:
                dur = self._digital_job(j)
                if dur:
                    yield env.timeout(dur)
            t_start = t0 if r <= self.N else env.now - S.cost[j]
            if li == n_rows and S.row[j] == 0:
                self.in_start[S.image[j]] = t_start
            self.runs.append((t_start, env.now, li))
            sp = self.spans.get(li)
            if sp is None:
                self.spans[li] = [t_start, env.now]
            else:
                sp[0], sp[1] = min(sp[0], t_start), max(sp[1], env.now)
            key = (li, name)
            self.layer_busy[key] = self.layer_busy.get(key, 0) + (env.now - t if r <= self.N else S.cost[j])
            if system.data is not None and li == len(system.plans) and S.row[j] == 0 and "in" not in self.ready:
                self.ready.add("in")
                system.data.image_in()
            self._finish(j)
            self.left[li] -= 1
            if system.data is not None and not self.left[li] and li < len(system.plans) and system.plans[li].compute:
                system.data.release(system.plans[li])
        if block is not None:
            block.waiting = ""

    def _data(self, li):
        """A functional run: the layer's values, computed when its first job starts (its producers' first
        jobs are over; the values of a layer do not depend on when its rows run)."""
        self.ready.add(li)
        plan = self.sys.plans[li]
        if plan.compute:
            self.sys.data.ensure(plan)
        else:
            self.sys.data.digital(plan)

    # ---- jobs ------------------------------------------------------------------------------------------
    def _runs(self, j, m):
        """The tile runs of macro job j on macro m: (tile, first pixel, end pixel), the pixels of the job's
        rows of its image (image -1: every image of the batch, one after the other, per tile)."""
        S, system = self.S, self.sys
        li, image = S.layer[j], S.image[j]
        f = self.asg.replicas.get(li, 1)
        key = (li, S.row[j] % f if image >= 0 else 0, m)
        tiles = self.tiles_of.get(key)
        if tiles is None:
            plan = system.plans[li]
            tiles = self.tiles_of[key] = [plan.tiles[k] for k in self.tiles_on[key]]
        HW, H, W = self._shape(li)
        if image < 0:
            return [(t, b * HW, (b + 1) * HW) for t in tiles for b in range(system.wl.batch)]
        c = S.chunks[li]
        q = S.row[j]
        lo, hi = image * HW + q * H // c * W, image * HW + (q + 1) * H // c * W
        return [(t, lo, hi) for t in tiles]

    def _shape(self, li):
        """(pixels of one image, rows, columns) of layer li's output."""
        sh = self.shapes.get(li)
        if sh is None:
            system = self.sys
            HW = system.plans[li].pixels // system.wl.batch
            H = system.wl.layers[li].out_shape[1] if len(system.wl.layers[li].out_shape) == 3 else 1
            sh = self.shapes[li] = (HW, H, HW // H)
        return sh

    def _macro_job(self, j, m):
        system = self.sys
        plan = system.plans[self.S.layer[j]]
        runs = self._runs(j, m)
        barrier = Barrier(self.env, len(runs), shared=self.N > 1)
        mac = system.macros[m]
        for tile, lo, hi in runs:
            mac.assign(plan, tile, barrier, lo, hi)
        yield barrier.event

    def _digital_job(self, j):
        """A digital layer's rows on the post-processing: read the operands, compute, write the result.
        The SRAM streams behind the ops; a saturated bank or a busy post-processing delays them."""
        system, S = self.sys, self.S
        li = S.layer[j]
        plan = system.plans[li]
        H = system.wl.layers[li].out_shape[1] if len(system.wl.layers[li].out_shape) == 3 else 1
        c = S.chunks[li] if S.image[j] >= 0 else 1
        lo, hi = S.row[j] * H // c, (S.row[j] + 1) * H // c
        B = system.wl.batch
        if S.image[j] < 0:  # the whole batch
            share = lambda total: total  # noqa: E731
        else:
            share = lambda total: (total // B) * hi // H - (total // B) * lo // H  # noqa: E731
        ops = share(plan.ops)
        rb, wb = share(plan.read_bits), share(plan.write_bits)
        if not ops and not rb:
            return 0
        env, sram, cap = system.env, system.sram, system.sram.capacity
        b = max(S.image[j], 0)
        off = lambda total: ((total // B) * b + (total // B) * lo // H)  # noqa: E731
        q = 0
        if rb:
            q = sram.b_transport(Payload(Command.READ, address=(plan.in_addr + off(plan.read_bits)) % cap,
                                         length=rb, layer=li, initiator="postproc"), 0)
        d0 = system.postproc.b_transport(Payload(Command.COMPUTE, ops=ops, layer=li, initiator="postproc"), q)
        done = system.postproc.last_done - env.now if ops else d0
        if wb:
            w = sram.b_transport(Payload(Command.WRITE, address=(plan.out_addr + off(plan.write_bits)) % cap,
                                         length=wb, layer=li, initiator="postproc"), d0)
            if system.contention:  # the result streams through its bank's write port
                done = max(done, w + -(-wb // (system.arch.sram.width_bits)))
        cost = S.cost[j]
        if done > cost:
            system.postproc.stall(li, env.now + cost, done - cost, "sram" if q or d0 > q else "postproc")
        return max(done, cost)

    def _dma_job(self, j):
        system, S = self.sys, self.S
        io, li, kind = len(system.plans), S.layer[j], S.row[j]
        if li < io:  # a spill of layer li's live activations (resident, layer by layer)
            bits = system.plans[li].spill_bits
            if kind == -1:
                system.stats.count("spill_bits", li, bits)
            return system.dma.submit([dmamod.burst(system.arch, li, bits, None, f"spill {'in' if kind == -1 else 'out'} "
                                                                          f"{system.row_names[li]}")])
        B = 1 if self.stream else system.wl.batch  # streams move one image at a time, each at its own address
        b, cap = max(S.image[j], 0) if self.stream else 0, system.sram.capacity
        if kind == 0:
            bits = system.io_in * B // system.wl.batch
            return system.dma.submit([dmamod.burst(system.arch, io, bits, system.sram, "image in",
                                                address=(system.plan.sram.address["input"] + b * bits) % cap)])
        bits = system.io_out * B // system.wl.batch
        return system.dma.submit([dmamod.burst(system.arch, io, bits, system.sram, "image out", Command.READ,
                                            address=(system.plans[-1].out_addr + b * bits) % cap)])

    # ---- after the run ---------------------------------------------------------------------------------
    def layer_cycles(self, elapsed):
        """(cycles per row, makespan): layer by layer the span of each layer's jobs (the image I/O its
        transfers), as the analytic engine counts them; streams each layer's share of the makespan."""
        n, S = len(self.sys.plans), self.S
        makespan = elapsed + S.spill_cycles  # the line-buffer spill: out and back, serialized
        cyc = np.zeros(n + 1, dtype=np.int64)
        if self.stream:
            for (li, _res), c in self.layer_busy.items():
                cyc[li] = max(cyc[li], c)
            cyc[n] += S.spill_cycles
            return clock_shares(cyc, makespan), makespan
        for li, (a, b) in self.spans.items():
            cyc[li] = b - a
        cyc[n] = sum(c for (li, _r), c in self.layer_busy.items() if li == n) + S.spill_cycles
        return cyc, makespan

    def sequence(self) -> None:
        """The controller's own track: busy while any job runs, in spans of one set of layers in flight
        (named by them; a span's cycles go to the first of them), as the sequential controller's track
        shows the layer it runs."""
        change: dict = {}
        for a, b, li in self.runs:
            if b > a:
                change.setdefault(a, []).append((li, 1))
                change.setdefault(b, []).append((li, -1))
        live: dict = {}
        start, names = None, None
        for t in sorted(change):
            for li, d in change[t]:
                live[li] = live.get(li, 0) + d
                if not live[li]:
                    del live[li]
            now = tuple(sorted(live))
            if now == names:
                continue
            if names:
                self.busy(names[0], start, t - start, " + ".join(self.sys.row_names[i] for i in names))
            start, names = t, now

    def charge_clock(self, cycles, macros_used):
        """Always-on clock and leakage energy of each row over its cycles (their sum is the run)."""
        for row, c in enumerate(cycles.tolist()):
            e = self.stats.energy[row]
            e[_CTRL] += hw_ctrl.energy_pj(self.arch, c)
            e[_LEAK] += hw_leak.energy_pj(self.arch, c, macros_used)

    def finish(self, elapsed):
        """The per-row cycles, compute cycles, spill cycles and temporal utilization of the run, its
        makespan, and the notes and extra fields of a mapped run (system.build_result assembles them)."""
        system, S, st = self.sys, self.S, self.stats
        n = len(system.plans)
        cyc, makespan = self.layer_cycles(elapsed)
        self.sequence()
        if S.spill_bits:  # the line-buffer spill's bits and DMA energy (the DMA block moved the rest)
            st.count("spill_bits", n, S.spill_bits)
            st.count("dma_bits", n, 2 * S.spill_bits)
            st.energy[n][KIND["dma"]] += hw_dma.onchip_energy_pj(system.arch, 2 * S.spill_bits)
            st.energy[n][KIND["external"]] += hw_dma.external_energy_pj(system.arch, 2 * S.spill_bits)
        comp = np.array([p.compute for p in system.plans] + [False])
        spill = np.zeros(n + 1, dtype=np.int64)
        spill[n] = S.spill_cycles
        desc = dict(system.plan.mapping_desc)
        self.charge_clock(cyc, desc["macros_used"])
        macro_busy = np.sum([st.tracks[m.name].busy for m in system.macros], axis=0)
        nmac = np.array([max(len(desc["layers"].get(nm, {}).get("macros", [])), 1) for nm in system.row_names])
        span = makespan if self.stream else np.maximum(cyc, 1)
        util = np.where(comp, macro_busy / (nmac * span), 0.0)
        desc["tlm_makespan_cycles"] = makespan
        notes = [f"tlm: {makespan:,} cycles against the contention-free bound of {S.makespan:,} "
                 f"({(makespan / max(S.makespan, 1) - 1):+.1%})"]
        return dict(cycles=cyc, compute=np.where(comp, cyc, 0), spill=spill, util=util, elapsed=makespan,
                    notes=notes, extra={"mapping": desc, "bound_cycles": S.makespan})
