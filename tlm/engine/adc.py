"""ADC pipeline of one macro: a target.  A CONVERT transaction converts a chunk of pixels (one
conversion per output channel per pixel, with the in-ADC batch-norm); conversion times and energy
come from tlm/hw/adc.py via tlm/hw/controller.pixel_cycles.

Timing (same recurrence as hw.controller.tile_cycles): pixel i's conversions start at
c_i = max(DP_i done, converters free); with `adc.pipelined` the macro starts the next pixel's DP as soon
as the charge is sampled (c_i), otherwise when the conversion is over.  The results are written back
(final outputs to SRAM; partial sums read back, accumulated in post-processing and written again).
With contention on, a slow write-back keeps the converters busy: back-pressure onto the macro.
"""
from __future__ import annotations

from ..hw import adc as hw_adc
from .block import Block
from .payload import Command, Payload, Status
from .stats import KIND

_ADC = KIND["adc"]


class AdcPipeline(Block):
    def __init__(self, sys, index: int):
        super().__init__(sys, f"adc{index}", "adc")
        self.free = 0  # when the converters can start the next conversion
        self.done = 0  # when the last conversion and its write-back are over
        self.pipelined = self.arch.adc.pipelined
        self.psum_bits = self.arch.controller.psum_bits
        self.conversions = self.stats.counts["conversions"]
        self.rd = Payload(Command.READ, initiator=self.name)  # reused write-back payloads
        self.acc = Payload(Command.COMPUTE, initiator=self.name)
        self.wr = Payload(Command.WRITE, initiator=self.name)

    def start_tile(self, t: int, plan) -> None:
        self.free = self.done = t
        self.conversion_pj = hw_adc.conversion_energy_pj(self.arch, plan.bits_out)

    def b_transport(self, txn, delay: int) -> int:
        """Convert pixels [txn.pixel_lo, txn.pixel_hi) of tile `txn.tile` of layer `txn.layer`, whose
        first DP is done at now + `delay`.  Returns the delay at which the macro may start the next
        chunk's DP."""
        self.stats.transactions += 1
        row = txn.layer
        plan = self.sys.plans[row]
        tile = plan.tiles[txn.tile]
        p = txn.pixel_hi - txn.pixel_lo
        now = self.env.now
        c0 = now + delay
        if self.free > c0:
            c0 = self.free
        c_last = c0 + (p - 1) * plan.period
        end = c_last + plan.t_cv
        elems = p * tile.outputs  # one conversion per output channel per pixel
        self.stats.energy[row][_ADC] += elems * self.conversion_pj
        self.conversions[row] += elems
        if self.trace is not None:  # one span per conversion run (contiguous when not pipelined)
            self.busy(row, c0, p * plan.t_cv, "convert")
        else:
            self.track.busy[row] += p * plan.t_cv
        if txn.data is not None:  # functional run: noise, ABN, clipping; codes into the SRAM model
            self.sys.data.convert(plan, tile, txn.pixel_lo, txn.pixel_hi, txn.data)
            txn.data = None
        # write-back of the chunk's results, issued when its last conversion is over
        q = 0
        wb = end - now
        sram = self.sys.sram
        if tile.row_tile > 0:  # read back the partial sums so far and accumulate
            q += sram.b_transport(self._wb(self.rd, txn, elems * self.psum_bits), wb) - wb
            self.sys.postproc.b_transport(self._wb(self.acc, txn, elems), wb)
            q += self.sys.postproc.last_queue
        wr = self.wr
        wr.length = elems * (self.psum_bits if not tile.last_row else plan.bits_out)
        wr.layer, wr.tile, wr.pixel_lo, wr.pixel_hi = row, txn.tile, txn.pixel_lo, txn.pixel_hi
        q += sram.b_transport(wr, wb) - wb
        if q:
            self.stall(row, end, q, "write-back")
        self.free = self.done = end + q
        txn.status = Status.OK
        return (c_last if self.pipelined else end + q) - now

    @staticmethod
    def _wb(w, txn, length):
        w.length, w.layer, w.tile, w.pixel_lo, w.pixel_hi = length, txn.layer, txn.tile, txn.pixel_lo, txn.pixel_hi
        w.status = Status.INCOMPLETE
        return w
