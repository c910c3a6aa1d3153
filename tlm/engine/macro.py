"""A CIM macro: a SimPy process (initiator) that runs the tiles the controller gives it, and a target
for its weight-write port (the DMA writes weights into it).

One tile = its output pixels in chunks of `chunk_pixels` (>= compute_txn_macs MACs each).  Per chunk
the macro issues, as plain calls with timing annotation:
  READ    to the SRAM: the chunk's activation bits (its share of the layer's input stream)
  COMPUTE to its array: input-serial DPs of the chunk (energy from tlm/hw/macro.py); the delay is
          the first pixel's DP phase
  CONVERT to its ADC pipeline, which pipelines the rest of the chunk and writes the results back.
The quantum keeper lets the macro run ahead of the kernel; it synchronises when the quantum is used
up and at the end of every tile (the controller's barrier).
"""
from __future__ import annotations

from ..hw import controller as hw_ctrl
from ..hw import macro as hw_macro
from .adc import AdcPipeline
from .block import Block
from .payload import Command, Payload, Status
from .quantum import QuantumKeeper
from .stats import KIND

_DP, _DRV, _WW = KIND["dp_array"], KIND["input_drivers"], KIND["weight_write"]
_CTRL = KIND["controller"]


class Macro(Block):
    def __init__(self, sys, index: int):
        super().__init__(sys, f"macro{index}", "macro")
        self.index = index
        self.adc = AdcPipeline(sys, index)
        self.qk = QuantumKeeper(self.env, sys.quantum)
        self.job = None
        self.wake = None
        self.waiting = "a tile from the controller"
        self.dp_cycles = self.stats.counts["dp_cycles"]
        self.loaded = self.stats.counts["weight_bits_loaded"]
        self.rd = Payload(Command.READ, initiator=self.name)  # reused payloads (a TLM memory manager)
        self.cmp = Payload(Command.COMPUTE, initiator=self.name)
        self.proc = self.env.process(self.run())

    # ---- target: the weight-write port ------------------------------------------------------------
    def b_transport(self, txn, delay: int) -> int:
        """WRITE of `txn.length` weight bits (energy only; the DMA accounts the transfer time)."""
        self.stats.transactions += 1
        self.stats.energy[txn.layer][_WW] += hw_macro.weight_write_energy_pj(self.arch, txn.length)
        self.loaded[txn.layer] += txn.length
        txn.status = Status.OK
        return delay

    # ---- initiator ---------------------------------------------------------------------------------
    def assign(self, plan, tile, barrier) -> None:
        self.job = (plan, tile, barrier)
        self.wake.succeed()

    def run(self):
        env = self.env
        while True:
            self.waiting = "a tile from the controller"
            self.wake = env.event()
            yield self.wake
            plan, tile, barrier = self.job
            self.waiting = f"its own tile {tile.index} of layer {plan.name}"
            yield from self._tile(plan, tile)
            barrier.arrive()

    def _tile(self, plan, tile):
        env, qk, adc, sram, arch, st = self.env, self.qk, self.adc, self.sys.sram, self.arch, self.stats
        row, P, cp = plan.row, plan.pixels, plan.chunk_pixels
        t_dp, t_cv, per, r_in, dens = plan.t_dp, plan.t_cv, plan.period, plan.bits_in, plan.density
        pipelined, quantum = adc.pipelined, qk.quantum
        energy, dp_count, busy, traced = st.energy[row], self.dp_cycles, self.track.busy, self.trace is not None
        dp_energy, drv_energy = hw_macro.dp_array_energy_pj, hw_macro.input_driver_energy_pj
        cells, cols, rows, reads = tile.cells, tile.cols, tile.rows, tile.read_bits
        rd, txn = self.rd, self.cmp
        data = self.sys.data
        rd.layer = txn.layer = row
        rd.tile = txn.tile = tile.index
        READ, COMPUTE, CONVERT, OK = Command.READ, Command.COMPUTE, Command.CONVERT, Status.OK
        t = qk.now  # local time, absolute
        adc.start_tile(t, plan)
        # the input-window registers of the tile's rows clock for the tile's nominal compute time
        energy[_CTRL] += hw_ctrl.window_energy_pj(arch, rows * plan.tile_cycles)
        n_full = cp * r_in  # a full chunk's DP energies, computed once per tile
        e_full = (dp_energy(arch, cells * n_full, cols * n_full, dens), drv_energy(arch, rows * n_full, dens))
        lo = 0
        while lo < P:
            hi = min(lo + cp, P)
            p = hi - lo
            ta = t
            now = env.now
            # activation stream for the chunk
            rd.command, rd.length, rd.pixel_lo, rd.pixel_hi = READ, reads * hi // P - reads * lo // P, lo, hi
            t = now + sram.b_transport(rd, t - now)
            q_sram = t - ta
            if t - now >= quantum and t > now:
                qk.set(t)
                yield qk.sync()
                now = env.now
            # the DPs of the chunk (one per pixel per input bit-plane); delay = the first pixel's DP phase
            txn.command, txn.pixel_lo, txn.pixel_hi = COMPUTE, lo, hi
            txn.length = n = p * r_in
            st.transactions += 1
            if data is not None:  # functional run: views of the chunk's inputs, the DPs on the array's weights
                txn.data = data.inputs(plan, tile, lo, hi)
                dps, ones = data.dp(plan, tile, lo, hi)  # tlm.functional.macro_dp on the array's weights
                d = ones / (n * rows)  # measured input bit density of the chunk: the energy follows the data
                energy[_DP] += dp_energy(arch, cells * n, cols * n, d)
                energy[_DRV] += drv_energy(arch, rows * n, d)
            elif n == n_full:
                energy[_DP] += e_full[0]
                energy[_DRV] += e_full[1]
            else:
                energy[_DP] += dp_energy(arch, cells * n, cols * n, dens)
                energy[_DRV] += drv_energy(arch, rows * n, dens)
            dp_count[row] += n
            txn.status = OK
            t += t_dp
            if t - now >= quantum and t > now:
                qk.set(t)
                yield qk.sync()
                now = env.now
            # conversions and write-back; the ADC says when the next chunk's DPs may start
            txn.command = CONVERT
            if data is not None:
                txn.data = dps
            t = now + adc.b_transport(txn, t - now)
            lo, first = hi, lo == 0
            if lo == P:
                t = adc.done
            if pipelined:
                natural = (t_dp if first else per) + (p - 1) * per + (t_cv if lo == P else 0)
            else:
                natural = p * per
            back = t - ta - q_sram - natural
            if traced:
                self.busy(row, ta + q_sram, natural, "compute")
            else:
                busy[row] += natural
            if q_sram:
                self.stall(row, ta, q_sram, "sram")
            if back:
                self.stall(row, ta + q_sram + natural, back, "adc back-pressure")
            if t - now >= quantum and t > now:
                qk.set(t)
                yield qk.sync()
        qk.set(t)
        if qk.local:
            yield qk.sync()
