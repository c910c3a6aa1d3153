"""A CIM macro: a SimPy process (initiator) that runs the tiles the controller gives it, and a target
for its weight-write port (the DMA writes a tile's weights into it).

One tile = its output pixels in chunks of `chunk_pixels` (>= tlm.compute_txn_macs MACs each, from the
plan).  Per chunk the macro issues, as plain calls with absolute times (the targets' direct interfaces,
Sram.access and AdcPipeline.convert: no payload per chunk; b_transport is the checked entry of the same
service):
  READ    to the SRAM: the chunk's share of the tile's input range (its address decides the banks);
          the macro waits until the banks begin (a bank taken by someone else delays it: "sram")
  COMPUTE on its own array: the chunk's input-serial DPs (energy from tlm/hw/macro.py); the first
          pixel's DP phase takes t_dp
  CONVERT to its ADC pipeline, which takes the pixels into its bounded FIFO (a full FIFO stalls the
          macro: "adc"), converts them and writes the results back; it answers when the macro may
          start the next chunk's DPs.
Busy = its DP phases (and, without a pipelined ADC, the conversions the columns wait through, and
with one the last pixel's conversion of the tile); the rest of the tile's time is a stall by reason:
"sram" (a bank it reads is taken), "adc" (back-pressure: the ADC FIFO is full, or without pipelining
the converters are still writing back), "adc drain" (at the tile's end, the pixels still in the FIFO).
The quantum keeper lets the macro run ahead of the kernel: it syncs when need_sync() says the quantum
is used up and at the end of every tile (the controller's round barrier).
"""
from __future__ import annotations

from collections import deque

from tlm.hw import controller as hw_ctrl
from tlm.hw import macro as hw_macro
from tlm.engines.transaction.adc import AdcPipeline
from tlm.engines.transaction.block import Block
from tlm.engines.transaction.payload import Command, Payload, Status
from tlm.engines.transaction.quantum import QuantumKeeper
from tlm.engines.transaction.stats import KIND

_DP, _DRV, _DAC, _WW = KIND["dp_array"], KIND["input_drivers"], KIND["input_dac"], KIND["weight_write"]
_DP_KINDS = (_DP, _DRV, _DAC)
_CTRL = KIND["controller"]


def dp_energies(arch, tile, n, density):
    """The (DP array, input driver, row DAC) energies of `n` DP phases of `tile` (tlm/hw/macro.py)."""
    return (hw_macro.dp_array_energy_pj(arch, tile.cells * n, tile.cols * n, density),
            hw_macro.input_driver_energy_pj(arch, tile.rows * n, density), hw_macro.dac_energy_pj(arch, tile.rows * n))


class Macro(Block):
    def __init__(self, sys, index: int):
        super().__init__(sys, f"macro{index}", "macro")
        self.index = index
        self.adc = AdcPipeline(sys, index)
        self.qk = QuantumKeeper(self.env, sys.quantum)
        self.jobs = deque()  # (layer plan, tile, first pixel, end pixel, barrier) assigned, run in order
        self.wake = None
        self.waiting = "a tile from the controller"
        self.dp_cycles = self.stats.counts["dp_cycles"]
        self.loaded = self.stats.counts["weight_bits_loaded"]
        self.cmp = Payload(Command.COMPUTE, initiator=self.name)  # functional runs: its `data` = input views
        self.energies = sys.memo.setdefault("macro run", {})  # tile-run energies by their arguments (run-wide)
        self.proc = self.env.process(self.run())

    # ---- target: the weight-write port ------------------------------------------------------------
    def b_transport(self, txn, delay: int) -> int:
        """WRITE of `txn.length` weight bits (energy; the DMA channel is taken for the load's cycles)."""
        self.stats.transactions += 1
        if txn.command is not Command.WRITE:
            txn.status = Status.COMMAND_ERROR
            return delay
        self.stats.energy[txn.layer][_WW] += hw_macro.weight_write_energy_pj(self.arch, txn.length)
        self.loaded[txn.layer] += txn.length
        txn.status = Status.OK
        return delay

    # ---- initiator ---------------------------------------------------------------------------------
    def assign(self, plan, tile, barrier, lo: int = 0, hi: int | None = None) -> None:
        """Run `tile` over its output pixels [lo, hi) (default all of them), then arrive at `barrier`."""
        self.jobs.append((plan, tile, lo, plan.pixels if hi is None else hi, barrier))
        if self.wake is not None and not self.wake.triggered:
            self.wake.succeed()

    def run(self):
        env = self.env
        while True:
            while not self.jobs:
                self.waiting = "a tile from the controller"
                self.wake = env.event()
                yield self.wake
            plan, tile, lo, hi, barrier = self.jobs.popleft()
            self.waiting = f"its own tile {tile.index} of layer {plan.name}"
            yield from self._tile(plan, tile, lo, hi, barrier.shared)
            barrier.arrive()

    def _run_energy(self, plan, tile, lo, end):
        """Charge the controller energy of a tile run over pixels [lo, end): the input-window registers of
        the tile's rows clock for the tile's nominal compute time (a run over part of its pixels: that
        share), the ABN parameters are loaded with its first pixel.  Returns a full chunk's (DP array,
        input driver, row DAC) energies at the plan's density.  All depend only on the arguments below,
        memoized (the mapped runs repeat the same tile runs image after image)."""
        P, rows = plan.pixels, tile.rows
        whole = (lo == 0 and end == P) or plan.passes > 1  # the whole tile, or one pass of it (a full tile
        # run over one image's pixels, its weights and ABN parameters loaded again: tlm/mapping/batching.py)
        key = (rows, plan.tile_cycles if whole else plan.tile_cycles * (end - lo) / P, end - lo, plan.bits_in,
               tile.outputs if whole or lo == 0 else 0, tile.cells, tile.cols, plan.chunk_pixels * plan.dp_phases,
               plan.density)
        e = self.energies.get(key)
        if e is None:
            if len(self.energies) > 65536:
                self.energies.clear()
            arch, n = self.arch, key[7]
            e = self.energies[key] = (hw_ctrl.tile_energy_pj(arch, *key[:5]),
                                      *dp_energies(arch, tile, n, plan.density))
        self.stats.energy[plan.row][_CTRL] += e[0]
        return e[1:]

    def _compute_data(self, plan, tile, lo, hi, n):
        """A functional run's COMPUTE: views of the chunk's inputs, its DPs on the array's weights
        (tlm.functional.model.macro_dp) for the CONVERT (returned), and the DP energies at the chunk's
        measured input bit density (`n` DP phases)."""
        data, cmp, arch, energy = self.sys.data, self.cmp, self.arch, self.stats.energy[plan.row]
        cmp.layer, cmp.tile, cmp.pixel_lo, cmp.pixel_hi = plan.row, tile.index, lo, hi
        cmp.data = data.inputs(plan, tile, lo, hi)
        dps, ones = data.dp(plan, tile, lo, hi)
        cmp.status = Status.OK
        d = ones / (n * tile.rows)
        for k, v in zip(_DP_KINDS, dp_energies(arch, tile, n, d)):
            energy[k] += v
        return dps

    def _tile(self, plan, tile, lo, end, shared):
        """One run of `tile` over its output pixels [lo, end): the whole layer (the sequential controller)
        or the rows of one image of a mapped job (tlm/engines/transaction/pipeline.py).  Its READs go to
        the SRAM's and its CONVERTs to its ADC pipeline's direct interface (Sram.access,
        AdcPipeline.convert): plain calls with absolute times, no payload per chunk."""
        env, qk, adc, sram, arch, st = self.env, self.qk, self.adc, self.sys.sram, self.arch, self.stats
        row, P, cp = plan.row, plan.pixels, plan.chunk_pixels
        t_dp, t_cv, r_in, dens = plan.t_dp, plan.t_cv, plan.dp_phases, plan.density
        pipelined = adc.pipelined
        energy, dp_count, busy, traced = st.energy[row], self.dp_cycles, self.track.busy, self.trace is not None
        span, base, cap = tile.read_bits, plan.in_addr + tile.in_lo, sram.capacity
        access, convert, data, name, quantum = sram.access, adc.convert, self.sys.data, self.name, qk.quantum
        per_px = t_dp if pipelined else t_dp + t_cv  # the macro's own cycles per pixel
        t = qk.now  # local time, absolute
        adc.start_tile(t, plan, tile)
        e_full = self._run_energy(plan, tile, lo, end)  # a full chunk's DP energies
        n_full = cp * r_in
        while lo < end:
            hi = lo + cp if lo + cp < end else end
            p = hi - lo
            if shared and qk.local:  # other macros read the SRAM in this round: keep time order
                yield qk.sync()  # (the kernel reaches local time t)
            ta = t
            # the chunk's activations: its share of the tile's input range
            a0 = span * lo // P
            t = access(True, (base + a0) % cap, span * hi // P - a0, row, t, name)
            q_sram = t - ta
            # the DPs of the chunk on its own array (one per pixel per input bit-plane)
            n = p * r_in
            st.transactions += 1
            dps = None
            if data is not None:  # functional run: the chunk's inputs and DPs; the energy follows the data
                dps = self._compute_data(plan, tile, lo, hi, n)
            else:  # a full chunk's energies are computed once per tile run
                e = e_full if n == n_full else dp_energies(arch, tile, n, dens)
                energy[_DP] += e[0]
                energy[_DRV] += e[1]
                energy[_DAC] += e[2]
            dp_count[row] += n
            # conversions and write-back; the ADC pipeline says when the next chunk's DPs may start
            t = convert(row, lo, hi, t + t_dp, dps)
            lo = hi
            own = p * per_px
            drain = 0
            if lo == end:  # the run is over when its last conversion and write-back are
                if pipelined:  # the last pixel's conversion is the macro's work, the rest a drain
                    own += t_cv
                    drain = adc.done - t - t_cv
                t = adc.done
            if traced:
                self.busy(row, ta + q_sram, own, "compute")
            else:
                busy[row] += own
            if q_sram:
                self.stall(row, ta, q_sram, "sram")
            back = t - ta - q_sram - own - drain
            if back:  # the FIFO was full (or, without pipelining, the converters were still busy)
                self.stall(row, ta + q_sram + own, back, "adc")
            if drain:
                self.stall(row, t - drain, drain, "adc drain")
            local = qk.local = t - env.now  # advance local time (QuantumKeeper.set, need_sync inlined)
            if local > 0 and local >= quantum:
                yield qk.sync()
        if qk.local:
            yield qk.sync()
