"""The ADC pipeline of one macro: a target for its macro's CONVERT transactions, with a bounded input
FIFO, and an initiator of the write-back of its results.

State (nothing else decides its timing):
- `slots`: the end times of the conversions holding the `adc.fifo_depth` sample-and-hold slots.  A
  pixel whose DP phase is over enters a slot when one is free -- when the oldest entry's conversion is
  over; until then the macro holds the charge on its columns and cannot start the next pixel's DP:
  it stalls (back-pressure, reason "adc").  Depth 1 = the converters' own sampling capacitors.
- `free`: when the converters can start the next conversion (after the previous one and after its
  chunk's write-back has been accepted by the SRAM).
Without `adc.pipelined` DP and conversion share the column charge: the macro starts the next DP only
when the pixel's conversion is over.

A CONVERT covers the pixels [pixel_lo, pixel_hi) of one tile; the first pixel's DP is over at
kernel time + delay and the macro starts each further DP when the previous pixel has entered the FIFO.
The pipeline advances its state pixel by pixel and, once the state repeats with a period (the FIFO
full and the converters never idle, or the macro never waiting), jumps over the rest of the chunk in
one step.  It returns the delay at which the macro may start the next chunk's first DP.  After the
chunk's last conversion it writes the results back (final outputs to the SRAM; partial sums after the
first row tile are read back, accumulated in post-processing and written again); a write-back that
waits keeps the converters busy, which fills the FIFO and stalls the macro.
"""
from __future__ import annotations

from collections import deque

from tlm.hw import adc as hw_adc
from tlm.hw import macro as hw_macro
from tlm.engines.transaction.block import Block
from tlm.engines.transaction.payload import Command, Status
from tlm.engines.transaction.stats import KIND

_ADC, _PP = KIND["adc"], KIND["postproc"]
_OK = Status.OK


def fifo_chunk(d, p, t_dp, t_cv, D, free, slots, peak=None, log=None):
    """Advance a pipelined ADC over `p` pixels of one chunk.  The first pixel's DP is over at `d`; the
    macro starts each further DP when the previous pixel has entered the FIFO; `free`: when the
    converters can start; `slots` (a deque, updated in place): end times of the conversions holding the
    D slots.  Returns (when the last pixel entered, when its conversion is over, macro stall cycles,
    when the first conversion started).  A pixel holds its slot from entering until its conversion is
    over; `peak` (a one-element list) is raised to the most slots held at once; `log` (a list) gets
    every pixel's (entered, conversion over) -- pixel by pixel then, without the periodic jumps."""
    stall = 0
    first = None
    push = e = d
    i = 0
    while True:
        waited = len(slots) >= D and slots[0] > d  # FIFO full: the macro holds the charge
        push = slots[0] if waited else d
        s = push if push >= free else free
        if first is None:
            first = s
        stall += push - d
        e = free = s + t_cv
        slots.append(e)
        if peak is not None and peak[0] < D:  # slots held once it entered: the conversions not yet over
            n = 0
            for x in reversed(slots):  # end times ascend (one conversion at a time)
                if x <= push:
                    break
                n += 1
            if n > peak[0]:
                peak[0] = n
        if log is not None:
            log.append((push, e))
        i += 1
        left = p - i
        d = push + t_dp  # the next pixel's DP is over
        if log is not None:  # every pixel's times wanted: no jump
            if len(slots) > D:
                slots.popleft()
            if not left:
                return push, e, stall, first
            continue
        if left and waited and t_cv >= t_dp and len(slots) > D and slots[1] >= d \
                and all(slots[k + 1] - slots[k] == t_cv for k in range(D)):
            # periodic: the FIFO stays full and the converters busy back to back; each further pixel
            # waits t_cv - t_dp for a slot and everything moves by t_cv
            slots.popleft()
            stall += left * (t_cv - t_dp)
            shift = left * t_cv
            for k in range(D):
                slots[k] += shift
            return push + shift, e + shift, stall, first
        if len(slots) > D:
            slots.popleft()
        if not left:
            return push, e, stall, first
        if not waited and s == push and t_dp >= t_cv:
            # periodic: the macro never waits and the converters are idle when a pixel enters
            for k in range(max(left - D, 0) + 1, left + 1):
                slots.append(push + k * t_dp + t_cv)
                if len(slots) > D:
                    slots.popleft()
            push += left * t_dp
            return push, push + t_cv, stall, first


class AdcPipeline(Block):
    def __init__(self, sys, index: int):
        super().__init__(sys, f"adc{index}", "adc")
        self.depth = self.arch.adc.fifo_depth
        self.pipelined = self.arch.adc.pipelined
        self.slots = deque()  # conversion end times of the pixels in the FIFO's slots (oldest first)
        self.free = 0
        self.done = 0  # when the last conversion and its write-back are over
        self.conversions = self.stats.counts["conversions"]
        self.plan = self.tile = None
        self.sram = sys.sram
        # the most pixels its FIFO held at once (a pipelined ADC's; without pipelining there is no FIFO)
        self.peak = [0]
        if self.pipelined:
            self.track.peak, self.track.peak_of = 0, "fifo"
        self.counter = f"{self.name} fifo"
        self.postproc = sys.postproc
        self.energies = sys.memo.setdefault("adc pixel", {})  # (outputs, bits) -> per-pixel energies (run-wide)

    def start_tile(self, t: int, plan, tile) -> None:
        self.free = self.done = t
        self.slots.clear()
        self.plan, self.tile = plan, tile
        # one pixel of this tile: its conversions and its digital back-end (tlm/hw/adc.py), per tile shape
        key = (tile.outputs, plan.bits_in, plan.bits_w, plan.bits_out, tile.rows)
        pj = self.energies.get(key)
        if pj is None:
            a, k = self.arch, key[:4]
            arr = hw_adc.array_dac_pixel_energy_pj(a, tile.outputs * hw_macro.block_rows(a, tile.rows), *k[1:])
            pj = self.energies[key] = (float(hw_adc.pixel_energy_pj(a, *k) + arr), float(hw_adc.backend_energy_pj(a, *k)))
        self.pixel_pj, self.backend_pj = pj
        self.outputs, self.conversions_px = tile.outputs, tile.conversions
        # where the tile's results go: its output channels' range of the layer's output tensor (final
        # outputs) or of the layer's partial-sum buffer, channel-major; a chunk writes its pixels' share
        psum_base = plan.psum_addr + tile.ch_lo * plan.pixels * plan.psum_bits
        self.wr_base = plan.out_addr + tile.ch_lo * plan.pixels * plan.bits_out if tile.last_row else psum_base
        self.wr_span = tile.write_bits
        self.rd_base, self.rd_span = psum_base, tile.psum_read_bits  # partial sums read back (row tile > 0)
        self.t_dp, self.t_cv, self.P = plan.t_dp, plan.t_cv, plan.pixels
        self.energy_row = self.stats.energy[plan.row]

    def b_transport(self, txn, delay: int) -> int:
        if txn.command is not Command.CONVERT:
            self.stats.transactions += 1
            txn.status = Status.COMMAND_ERROR
            return delay
        now = self.env.now
        txn.status = _OK
        nxt = self.convert(txn.layer, txn.pixel_lo, txn.pixel_hi, now + delay, txn.data)
        txn.data = None
        return nxt - now

    def convert(self, row: int, lo: int, hi: int, d: int, data=None) -> int:
        """The CONVERT of the current tile's pixels [lo, hi) for Result row `row`, whose first DP is over
        at absolute time `d` (`data`: a functional run's DPs); returns the absolute time at which the
        macro may start the next chunk's first DP.  b_transport checks a payload and calls it; the macro
        calls it directly (its own pipeline: no payload per chunk)."""
        self.stats.transactions += 1
        p = hi - lo
        t_dp, t_cv = self.t_dp, self.t_cv
        free = self.free
        log = None
        if not self.pipelined:
            # DP and conversion share the columns: pixel i+1's DP starts when pixel i's conversion ends
            first_start = d if d >= free else free
            e = first_start + t_cv + (p - 1) * (t_dp + t_cv)
            nxt = e  # the macro starts the next chunk's DP when the last conversion is over
        else:
            log = [] if self.trace is not None else None  # the trace's FIFO counter: every pixel's times
            nxt, e, _, first_start = fifo_chunk(d, p, t_dp, t_cv, self.depth, free, self.slots, self.peak, log)
            self.track.peak = self.peak[0]
        if log:
            step, name = self.trace.step, self.counter
            for a, b in log:
                step(name, a, 1)
                step(name, b, -1)
        er = self.energy_row
        er[_ADC] += p * self.pixel_pj
        er[_PP] += p * self.backend_pj
        self.conversions[row] += p * self.conversions_px  # counted by the plan (tlm/hw/adc.py)
        if self.trace is not None:
            self.busy(row, first_start, p * t_cv, "convert")
        else:
            self.track.busy[row] += p * t_cv
        if data is not None:  # functional run: noise, ABN, clipping; codes into the SRAM model
            self.sys.data.convert(self.plan, self.tile, lo, hi, data)
        # write-back of the chunk's results once its last conversion is over (at e): the results' ranges
        # are the plan's, valid by construction (the SRAM's direct interface, Sram.access)
        s = e
        P = self.P
        sram = self.sram
        cap = sram.capacity
        if self.rd_span:  # read back the partial sums so far and accumulate them
            span = self.rd_span
            a0 = span * lo // P
            s = sram.access(True, (self.rd_base + a0) % cap, span * hi // P - a0, row, s, self.name)
            s = self.postproc.compute(row, p * self.outputs, s)  # one op per output value
        span = self.wr_span
        a0 = span * lo // P
        s = sram.access(False, (self.wr_base + a0) % cap, span * hi // P - a0, row, s, self.name)
        if s > e:
            self.stall(row, e, s - e, "sram")
        self.free = self.done = s
        return nxt if self.pipelined else s
