"""Several macros at once: the TLM engine executing a resident mapping (tlm/mapping/mapper.py).

The mapper's schedule is the plan: jobs (image, layer, rows) on resources (each macro, the
post-processing, the DMA) in a fixed order per resource, each waiting for the jobs producing the input
rows it reads.  Here every resource is a SimPy process that runs its jobs in that order; all macros run
concurrently and share the activation SRAM banks (a bandwidth calendar), the post-processing (partial
sums and digital layers) and the DMA channels (image I/O).  A macro job:
  READ    its rows' input activations from the SRAM (waits when the banks are saturated: 'sram')
  COMPUTE the DPs of its tiles over the rows' pixels, then CONVERT in its ADC pipeline (the plan's cycles)
  WRITE   the outputs (or partial sums, read back and accumulated in post-processing) to the SRAM; a
          slow write-back holds the macro ('write-back', 'postproc').
Waiting for input rows is 'line buffer' (a producer is behind).  Without contention every job takes its
plan cycles and the run reproduces the mapper's contention-free schedule exactly; with it the fixed order
means the run can only be later than that bound.
"""
from __future__ import annotations

from tlm.hw import adc as hw_adc
from tlm.hw import controller as hw_ctrl
from tlm.hw import leakage as hw_leak
from tlm.hw import macro as hw_macro
from tlm.hw import sram as hw_sram
from tlm.engines.transaction import dma as dmamod
from tlm.engines.transaction.payload import Command, Payload
from tlm.engines.transaction.stats import KIND

_DP, _DRV, _ADC, _CTRL, _LEAK, _PP = (KIND[k] for k in ("dp_array", "input_drivers", "adc", "controller", "leakage",
                                                     "postproc"))


class PipelineRun:
    def __init__(self, sys, asg, S):
        self.sys, self.asg, self.S = sys, asg, S
        env = sys.env
        self.done = [False] * len(S.res)
        self.waiters = {}
        self.layer_busy = {}  # (layer, resource) -> busy + stalled cycles
        self.spans = {}  # layer -> [first job start, last job end]
        self.geom, self.sums, self.cv = {}, {}, {}
        wl, arch = sys.wl, sys.arch
        self.n = len(wl.layers)
        self.stream = asg.policy in ("pipelined", "replicate")
        self.N = arch.macro.count
        # tiles of each (layer, replica) on each macro, from the placement
        self.tiles_on = {}
        for p in asg.places:
            self.tiles_on.setdefault((p.layer, p.replica, p.macro), []).append(p.tile)
        if sys.trace is not None:  # one track per macro, in macro order, then the shared blocks
            for mac in sys.macros:
                sys.trace.tid(mac.name)
        self.procs = [env.process(self._resource(r, jobs)) for r, jobs in sorted(S.order.items())]
        self.finished = env.all_of(self.procs)

    def _wait(self, j):
        ev = self.waiters.get(j)
        if ev is None:
            ev = self.waiters[j] = self.sys.env.event()
        return ev

    def _finish(self, j):
        self.done[j] = True
        ev = self.waiters.pop(j, None)
        if ev is not None:
            ev.succeed()

    def _resource(self, r, jobs):
        sys, S, env = self.sys, self.S, self.sys.env
        name = S.names[r]
        block = sys.macros[r] if r < self.N else None
        spans = self.spans
        for j in jobs:
            t = env.now
            for d in S.deps[j]:
                if not self.done[d]:
                    if block is not None:
                        block.waiting = f"input rows of {sys.row_names[S.layer[j]]} (image {S.image[j]})"
                    yield self._wait(d)
            li = S.layer[j]
            if block is not None and env.now > t and jobs[0] != j:
                block.stall(li, t, env.now - t, "line buffer" if self.stream else "layer barrier")
            if r < self.N:
                dur = self._macro_job(j, r)
            elif r > self.N:  # the DMA channels: image I/O and spills
                ev = self._dma_job(j)
                yield ev
                dur = 0
            else:
                dur = self._digital_job(j)
            if dur:
                yield env.timeout(dur)
            sp = spans.get(li)
            t_start = env.now - (dur if dur else S.cost[j])
            if sp is None:
                spans[li] = [t_start, env.now]
            else:
                sp[0], sp[1] = min(sp[0], t_start), max(sp[1], env.now)
            key = (li, name)
            self.layer_busy[key] = self.layer_busy.get(key, 0) + (env.now - t if r <= self.N else S.cost[j])
            self._finish(j)
        if block is not None:
            block.waiting = ""

    # ---- jobs ------------------------------------------------------------------------------------------
    def _rows(self, j):
        S = self.S
        li = S.layer[j]
        g = self.geom.get(li)
        if g is None:
            l = self.sys.wl.layers[li]
            H = l.out_shape[1] if len(l.out_shape) == 3 else 1
            W = l.out_shape[2] if len(l.out_shape) == 3 else 1
            g = self.geom[li] = (l, H, W, S.chunks[li])
        l, H, W, c = g
        if S.image[j] < 0:  # layer by layer: the job covers the whole batch, image after image
            return l, H, W, 0, H
        q = S.row[j]
        return l, H, W, q * H // c, (q + 1) * H // c

    def _tile_sums(self, li, rep, m):
        """Sums over the tiles of (layer, copy) on macro m: cells, columns, rows, read bits per image,
        outputs of final and of partial-sum tiles, tile count (the energies are linear in them)."""
        key = (li, rep, m)
        v = self.sums.get(key)
        if v is None:
            plan, B = self.sys.plans[li], self.sys.wl.batch
            ts = [plan.tiles[k] for k in self.tiles_on[key]]
            a = self.sys.arch  # per pixel, as the ADC block counts them (tlm/hw/adc.py, via the plan's tiles)
            conv_px = sum(t.conversions for t in ts)
            pix_pj = sum(float(hw_adc.pixel_energy_pj(a, t.outputs, plan.bits_in, plan.bits_w, plan.bits_out))
                         for t in ts)
            be_pj = sum(float(hw_adc.backend_energy_pj(a, t.outputs, plan.bits_in, plan.bits_w, plan.bits_out))
                        for t in ts)
            v = self.sums[key] = (sum(t.cells for t in ts), sum(t.cols for t in ts), sum(t.rows for t in ts),
                                  sum(t.read_bits // B for t in ts), sum(t.outputs for t in ts if t.last_row),
                                  sum(t.outputs for t in ts if not t.last_row), len(ts), conv_px, pix_pj, be_pj)
        return v

    def _macro_job(self, j, m):
        sys, S, arch, st = self.sys, self.S, self.sys.arch, self.sys.stats
        env = sys.env
        li = S.layer[j]
        plan = sys.plans[li]
        l, H, W, lo, hi = self._rows(j)
        f = self.asg.replicas.get(li, 1)
        cells, cols, rows, rd_img, out_last, out_psum, nt, conv_px, pix_pj, be_pj = self._tile_sums(li, S.row[j] % f, m)
        b = S.image[j]
        mult = sys.wl.batch if b < 0 else 1  # images the job covers
        b = max(b, 0)
        px = (hi - lo) * W * mult
        n_dp = px * plan.dp_phases  # DP phases per pixel (tlm/hw/macro.dp_phases: bit-serial or multi-level)
        cost = S.cost[j]
        e = st.energy[li]
        e[_DP] += hw_macro.dp_array_energy_pj(arch, cells * n_dp, cols * n_dp, plan.density)
        e[_DRV] += hw_macro.input_driver_energy_pj(arch, rows * n_dp, plan.density)
        # the tiles on this macro take turns: each clocks its rows for cost / nt cycles; ABN parameters are
        # loaded once per tile and run (with the job that starts the layer's first image)
        e[_CTRL] += hw_ctrl.tile_energy_pj(arch, rows, cost / nt, px, plan.bits_in,
                                           (out_last + out_psum) if lo == 0 and b == 0 else 0)
        reads = (rd_img * hi // H - rd_img * lo // H) * mult
        writes = out_last * px * plan.bits_out
        psum = out_psum * px
        conv = conv_px * px
        st.counts["dp_cycles"][li] += n_dp * nt
        st.counts["conversions"][li] += conv
        e[_ADC] += px * pix_pj
        e[_PP] += px * be_pj
        mac = sys.macros[m]
        mac.adc.track.busy[li] += px * plan.t_cv * nt
        t0 = env.now
        sram = sys.sram
        cap = sram.capacity
        q_r = sram.b_transport(Payload(Command.READ, address=(plan.in_addr + rd_img * b + rd_img * lo // H) % cap, length=reads, layer=li, initiator=mac.name), 0)
        q_w = 0
        end = q_r + cost
        if psum:
            pb = arch.controller.psum_bits
            a = (plan.psum_addr + out_psum * W * pb * (b * H + lo)) % cap
            q_w += sram.b_transport(Payload(Command.READ, address=a, length=psum * pb, layer=li,
                                            initiator=mac.name), end) - end
            q_w += sys.postproc.b_transport(Payload(Command.COMPUTE, ops=psum, layer=li, initiator=mac.name),
                                            end + q_w) - (end + q_w)
            q_w += sram.b_transport(Payload(Command.WRITE, address=a, length=psum * pb, layer=li,
                                            initiator=mac.name), end + q_w) - (end + q_w)
        if writes:
            a = (plan.out_addr + out_last * W * plan.bits_out * (b * H + lo)) % cap
            q_w += sram.b_transport(Payload(Command.WRITE, address=a, length=writes, layer=li, initiator=mac.name),
                                    end + q_w) - (end + q_w)
        if mac.trace is not None:
            mac.busy(li, t0 + q_r, cost, f"{l.name} img{S.image[j]} rows {lo}-{hi - 1}")
        else:
            mac.track.busy[li] += cost
        if q_r:
            mac.stall(li, t0, q_r, "sram")
        if q_w:
            mac.stall(li, t0 + end, q_w, "write-back")
        return q_r + cost + q_w

    def _cv_pj(self, bits):
        v = self.cv.get(bits)
        if v is None:
            v = self.cv[bits] = hw_adc.conversion_energy_pj(self.sys.arch, bits)
        return v

    def _digital_job(self, j):
        """A digital layer's rows on the post-processing: read the operands, compute, write the result.
        The SRAM streams behind the ops; a saturated bank or a busy post-processing delays them."""
        sys, S = self.sys, self.S
        li = S.layer[j]
        plan = sys.plans[li]
        l, H, W, lo, hi = self._rows(j)
        B = sys.wl.batch
        if S.image[j] < 0:  # the whole batch
            share = lambda total: total  # noqa: E731
        else:
            share = lambda total: (total // B) * hi // H - (total // B) * lo // H  # noqa: E731
        ops = share(plan.ops)
        rb, wb = share(plan.read_bits), share(plan.write_bits)
        if not ops and not rb:
            return 0
        env, sram, cap = sys.env, sys.sram, sys.sram.capacity
        b = max(S.image[j], 0)
        off = lambda total: ((total // B) * b + (total // B) * lo // H)  # noqa: E731
        q = 0
        if rb:
            q = sram.b_transport(Payload(Command.READ, address=(plan.in_addr + off(plan.read_bits)) % cap,
                                         length=rb, layer=li, initiator="postproc"), 0)
        d0 = sys.postproc.b_transport(Payload(Command.COMPUTE, ops=ops, layer=li, initiator="postproc"), q)
        done = sys.postproc.last_done - env.now if ops else d0
        if wb:
            w = sram.b_transport(Payload(Command.WRITE, address=(plan.out_addr + off(plan.write_bits)) % cap,
                                         length=wb, layer=li, initiator="postproc"), d0)
            if sys.contention:  # the result streams through its bank's write port
                done = max(done, w + -(-wb // (sys.arch.sram.width_bits)))
        cost = S.cost[j]
        if done > cost:
            sys.postproc.stall(li, env.now + cost, done - cost, "sram" if q or d0 > q else "postproc")
        return max(done, cost)

    def _dma_job(self, j):
        sys, S = self.sys, self.S
        io, li, kind = self.n, S.layer[j], S.row[j]
        if li < io:  # a spill of layer li's live activations (resident, layer by layer)
            bits = sys.plans[li].spill_bits
            if kind == -1:
                sys.stats.count("spill_bits", li, bits)
            return sys.dma.submit([dmamod.burst(sys.arch, li, bits, None, f"spill {'in' if kind == -1 else 'out'} "
                                                                          f"{sys.row_names[li]}")])
        B = 1 if self.stream else sys.wl.batch  # streams move one image at a time
        if kind == 0:
            return sys.dma.submit([dmamod.burst(sys.arch, io, sys.io_in * B // sys.wl.batch, sys.sram, "image in")])
        return sys.dma.submit([dmamod.burst(sys.arch, io, sys.io_out * B // sys.wl.batch, sys.sram, "image out",
                                            Command.READ, address=sys.plans[-1].out_addr)])


def charge_clock(sys, per_layer_cycles, makespan, macros_used):
    """Always-on clock and leakage energy over the makespan, split like the analytic engine does."""
    from tlm.mapping.mapper import clock_shares
    share = clock_shares(per_layer_cycles, makespan)
    for row, c in enumerate(share):
        e = sys.stats.energy[row]
        e[_CTRL] += hw_ctrl.energy_pj(sys.arch, int(c))
        e[_LEAK] += hw_leak.energy_pj(sys.arch, int(c), macros_used)
    return share


def run_mapped(sys, trace=None):
    """Run the plan's resident mapping (policy resident, pipelined or replicate) on the System's blocks
    and build the Result."""
    import numpy as np

    from tlm.mapping import mapper
    from tlm.mapping.plan import static_per_layer
    from tlm.engines.result import Result
    from tlm.engines.transaction.stats import COUNT_KEYS as COUNTED
    arch, wl, plan = sys.arch, sys.wl, sys.plan
    asg, S = plan.multi, plan.schedule
    run = PipelineRun(sys, asg, S)
    sys.start = lambda: run.finished
    sys.watchdog_cycles = max(sys.watchdog_cycles, 64 * max(S.makespan, 1))
    sys.run(progress=False)
    elapsed = int(sys.env.now)
    # the line-buffer spill (pipelined, when the SRAM is short): out and back through the DMA, serialized
    makespan = elapsed + S.spill_cycles
    n = len(wl.layers)
    st = sys.stats
    pl = static_per_layer(plan)
    for k in COUNTED:
        pl[k][:] = st.counts_array(k)
    if S.spill_bits:
        pl["spill_bits"][n] += S.spill_bits
        pl["dma_bits"][n] += 2 * S.spill_bits
        pl["spill_cycles"][n] = S.spill_cycles
    comp = np.array([l.is_compute for l in wl.layers] + [False])
    cyc = np.zeros(n + 1, dtype=np.int64)
    for (li, _res), c in run.layer_busy.items():
        cyc[li] = max(cyc[li], c)
    if not run.stream:  # layer by layer: the span of the layer's jobs, as the analytic engine counts it
        cyc = _spans(sys, run, n)
        cyc[n] += S.spill_cycles
    else:  # layers overlap: each layer's share of the makespan, as the analytic engine splits it
        cyc[n] += S.spill_cycles
        cyc = mapper.clock_shares(cyc, makespan)
    pl["cycles"] = cyc
    pl["compute_cycles"] = np.where(comp, cyc, 0)
    macro_busy = np.sum([st.tracks[m.name].busy for m in sys.macros], axis=0)
    nmac = np.array([max(len(plan.mapping_desc["layers"].get(nm, {}).get("macros", [])), 1)
                     for nm in sys.row_names])
    span = makespan if run.stream else np.maximum(cyc, 1)
    pl["temporal_utilization"] = np.where(comp, macro_busy / (nmac * span), 0.0)
    # dma energy of the line-buffer spill (the DMA block charged the image I/O and resident spills)
    from tlm.hw import dma as hw_dma
    if S.spill_bits:
        st.energy[n][KIND["dma"]] += hw_dma.onchip_energy_pj(arch, 2 * S.spill_bits)
        st.energy[n][KIND["external"]] += hw_dma.external_energy_pj(arch, 2 * S.spill_bits)
    desc = mapper.describe(arch, wl, asg, S)
    charge_clock(sys, pl["cycles"], int(pl["cycles"].sum()), desc["macros_used"])
    notes = list(plan.notes)
    stalls = st.component_stall()
    for comp_name, reasons in sorted(stalls.items()):
        for r, v in sorted(reasons.items()):
            notes.append(f"tlm: {comp_name} stalled {v:,} cycles on {r} (summed over instances)")
    notes.append(f"tlm: {makespan:,} cycles against the contention-free bound of {S.makespan:,} "
                 f"({(makespan / max(S.makespan, 1) - 1):+.1%})")
    desc["tlm_makespan_cycles"] = makespan
    extra = {"weights_resident": True, "transactions": st.transactions, "quantum_cycles": sys.quantum,
             "contention": sys.contention, "elapsed_cycles": makespan, "instances": st.instances(makespan),
             "mapping": desc, "bound_cycles": S.makespan}
    res = Result(engine="tlm", arch=arch, workload=wl, layer_names=list(sys.row_names),
                 layer_types=list(plan.types), per_layer=pl, energy_pj=st.energy_array(),
                 component_busy_cycles=st.component_busy(), component_stall_cycles=stalls, notes=notes,
                 extra=extra)
    if trace:
        sys.trace.write(trace, res)
    return res


def _spans(sys, run, n):
    import numpy as np
    cyc = np.zeros(n + 1, dtype=np.int64)
    for li, (a, b) in run.spans.items():
        cyc[li] = b - a
    cyc[n] = sum(c for (li, _r), c in run.layer_busy.items() if li == n)  # image in + out, not their span
    return cyc
