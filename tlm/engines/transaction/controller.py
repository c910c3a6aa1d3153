"""The macro controller: a SimPy process that sequences the run.

Image in (DMA) -> for each layer: [spill-in] -> the plan's rounds of tiles, each tile on the macro the
plan's assignment names, each round's weights loaded by the DMA (double-buffered when `macro.weight_double_buffer`: round k+1 loads while round k
computes; nothing to load when all tiles stay resident) -> [spill-out] -> layer barrier; digital layers
stream their inputs and output through the SRAM banks at the plan's addresses while the
post-processing computes -> image out (DMA).  Synchronisations are real events: a round barrier (all its
macros done) and DMA batch completions.  It also charges the clock/sequencing and leakage energy of
every layer from its measured cycles (tlm/hw/controller.py, tlm/hw/leakage.py).

Spills (live activations beyond the SRAM): without contention one burst out and one in per layer, as
the analytic engine assumes.  With contention they go as one chunk per round (read back before the
round, written out after it) through the same DMA channels as the weights.
"""
from __future__ import annotations

from tlm.hw import controller as hw_ctrl
from tlm.hw import leakage as hw_leak
from tlm.mapping.plan import split_share
from tlm.engines.transaction import dma as dmamod
from tlm.engines.transaction.block import Block
from tlm.engines.transaction.payload import Command, Payload, check
from tlm.engines.transaction.stats import KIND

_CTRL, _LEAK = KIND["controller"], KIND["leakage"]


class Barrier:
    """Fires its event when `n` participants have arrived."""

    __slots__ = ("n", "event", "shared")

    def __init__(self, env, n, shared=False):
        self.n, self.event = n, env.event()
        self.shared = shared  # several macros run at once: their SRAM accesses are kept in time order

    def arrive(self):
        self.n -= 1
        if self.n == 0:
            self.event.succeed()


class Controller(Block):
    def __init__(self, sys):
        super().__init__(sys, "controller", "controller")
        n = sys.rows
        self.cycles = [0] * n
        self.compute_cycles = [0] * n
        self.spill_cycles = [0] * n
        self.layer_index = -1
        self.proc = self.env.process(self.run())

    def _wait_dma(self, transfers, what):
        self.waiting = f"the DMA ({what})"
        yield self.sys.dma.submit(transfers)

    def run(self):
        sys, env = self.sys, self.env
        io = sys.rows - 1
        yield from self._wait_dma([dmamod.burst(self.arch, io, sys.io_in, sys.sram, "image in",
                                                        address=sys.plan.sram.address["input"])], "image in")
        io_in = env.now
        self.busy(io, 0, io_in, "image in")
        if sys.data is not None:  # functional run: the images are in the activation SRAM
            sys.data.image_in()
        for plan in sys.plans:
            self.layer_index = plan.row
            t0 = env.now
            if plan.compute:
                yield from self._compute_layer(plan)
            else:
                yield from self._digital_layer(plan)
            self.busy(plan.row, t0, env.now - t0, plan.name)
            self._close(plan.row, env.now - t0)
        self.layer_index = io
        t0 = env.now
        yield from self._wait_dma([dmamod.burst(self.arch, io, sys.io_out, sys.sram, "image out", Command.READ,
                                                        address=sys.plans[-1].out_addr)], "image out")
        self.busy(io, t0, env.now - t0, "image out")
        self._close(io, io_in + env.now - t0)
        self.waiting = ""

    def _close(self, row, cycles):
        """The layer (row) took `cycles`: record them and charge the clock and leakage energy."""
        self.cycles[row] = cycles
        e = self.stats.energy[row]
        e[_CTRL] += hw_ctrl.energy_pj(self.arch, cycles)
        e[_LEAK] += hw_leak.energy_pj(self.arch, cycles, self.sys.plan.mapping_desc["macros_used"])

    # ---- spills -------------------------------------------------------------------------------------
    def _spill(self, plan, bits, direction):
        return dmamod.burst(self.arch, plan.row, bits, None, f"spill {direction} {plan.name}")

    def _serial_spill(self, plan, direction):
        if plan.spill_bits and not self.sys.contention:
            t = self.env.now
            self.stats.count("spill_bits", plan.row, plan.spill_bits if direction == "in" else 0)
            yield from self._wait_dma([self._spill(plan, plan.spill_bits, direction)], f"spill {direction}")
            self.spill_cycles[plan.row] += self.env.now - t

    def _round_spill(self, plan, k, rounds, direction):
        """With contention: the spill chunk of round k (empty list otherwise)."""
        if not (plan.spill_bits and self.sys.contention):
            return []
        bits = split_share(plan.spill_bits, rounds, k)
        if direction == "in":
            self.stats.count("spill_bits", plan.row, bits)
        return [self._spill(plan, bits, direction)] if bits else []

    # ---- layers -------------------------------------------------------------------------------------
    def _digital_layer(self, plan):
        sys, env = self.sys, self.env
        yield from self._serial_spill(plan, "in")
        inb = self._round_spill(plan, 0, 1, "in")
        if inb:
            t = env.now
            yield from self._wait_dma(inb, "spill in")
            self.spill_cycles[plan.row] += env.now - t
        row = plan.row
        names = sys.row_names
        now = env.now
        done = now
        sram = sys.sram
        # the SRAM streams every input in and the result out; the post-processing computes
        reqs = [(Command.READ, a, b) for a, b in zip(plan.in_addrs, plan.in_bits_each)]
        if plan.write_bits:
            reqs.append((Command.WRITE, plan.out_addr, plan.write_bits))
        for cmd, addr, bits in reqs:
            txn = Payload(cmd, address=addr, length=bits, layer=row, initiator=self.name)
            sram.b_transport(txn, 0)
            check(txn, "sram", names)
            done = max(done, sram.last_done)
        txn = Payload(Command.COMPUTE, ops=plan.ops, layer=row, initiator=self.name)
        sys.postproc.b_transport(txn, 0)
        check(txn, "postproc", names)
        d = sys.postproc.last_done - now
        if sys.data is not None:  # functional run: post-processing computes the layer on the SRAM tensors
            sys.data.digital(plan)
        if sys.contention and done - now > d:  # the SRAM streams are the bound
            sys.postproc.stall(row, now + d, done - now - d, "sram")
            d = done - now
        if d:
            self.waiting = f"post-processing ({plan.name})"
            yield env.timeout(d)
        out = self._round_spill(plan, 0, 1, "out")
        if out:
            t = env.now
            yield from self._wait_dma(out, "spill out")
            self.spill_cycles[row] += env.now - t
        yield from self._serial_spill(plan, "out")

    def _compute_layer(self, plan):
        sys, env = self.sys, self.env
        rounds = plan.rounds_of()  # the plan's assignment: the tiles of each round, each on its macro
        R = len(rounds)
        # the plan's passes (tlm/mapping/batching.py): the rounds once over the whole batch, or once per
        # image over its pixels, each pass loading its rounds' weights again (unless resident)
        passes = plan.passes
        seq = [(b, k) for b in range(passes) for k in range(R)]
        S = len(seq)
        row = plan.row
        yield from self._serial_spill(plan, "in")
        double = self.arch.macro.weight_double_buffer

        def batch(q):
            k = seq[q][1]
            loads = [] if sys.resident else [dmamod.weights(sys.macros[t.macro], plan, t) for t in rounds[k]]
            return loads + self._round_spill(plan, q, S, "in")

        def wait_loads(ev, q):
            k = seq[q][1]
            t = env.now
            self.waiting = f"the DMA (weights of round {k} of {plan.name})"
            yield ev
            dt = env.now - t
            for j in sorted({t.macro for t in rounds[k]}):
                sys.macros[j].stall(row, t, dt, "weight load")

        first = batch(0)
        if first:
            yield from wait_loads(sys.dma.submit(first), 0)
        for q, (b, k) in enumerate(seq):
            ts = rounds[k]
            px = () if passes == 1 else (plan.pixels * b // passes, plan.pixels * (b + 1) // passes)
            if not double and q > 0:
                nb = batch(q)
                if nb:
                    yield from wait_loads(sys.dma.submit(nb), q)
            t_go = env.now
            barrier = Barrier(env, len(ts), shared=len({t.macro for t in ts}) > 1)
            for t in ts:
                sys.macros[t.macro].assign(plan, t, barrier, *px)
            nxt = None
            if double and q + 1 < S:
                nb = batch(q + 1)
                nxt = sys.dma.submit(nb) if nb else None
            used = sorted({t.macro for t in ts})
            self.waiting = f"macros {', '.join(sys.macros[j].name for j in used)} (round {k} of {plan.name})"
            yield barrier.event
            self.compute_cycles[row] += env.now - t_go
            out = self._round_spill(plan, q, S, "out")
            if out:
                sys.dma.submit(out)
            if nxt is not None:
                yield from wait_loads(nxt, q + 1)
        if sys.data is not None:  # functional run: the accumulated partials become the layer's output codes
            sys.data.finish(plan)
        if plan.spill_bits and sys.contention:  # the last spill-out must be over before the barrier
            t = env.now
            yield from self._wait_dma([], "spill out")
            self.spill_cycles[row] += env.now - t
        yield from self._serial_spill(plan, "out")
