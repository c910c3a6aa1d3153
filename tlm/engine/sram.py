"""Activation SRAM: a target.  READ/WRITE transactions cost energy per bit (tlm/hw/sram.py) and occupy
the banks for `access_cycles(bits)` (all banks interleaved).  With contention on, the banks' aggregate
width is a shared bandwidth (a BandwidthCalendar): a requester waits only when the banks are
saturated.  The access itself is pipelined behind the requester's own work (line buffers), which is
what the analytic engine assumes."""
from __future__ import annotations

from ..hw import sram as hw_sram
from .block import Block
from .calendar import BandwidthCalendar
from .payload import Command, Status
from .stats import KIND

_READ, _WRITE = KIND["sram_read"], KIND["sram_write"]
_RD, _OK = Command.READ, Status.OK
_access, _read_pj, _write_pj = hw_sram.access_cycles, hw_sram.read_energy_pj, hw_sram.write_energy_pj


class Sram(Block):
    def __init__(self, sys):
        super().__init__(sys, "sram", "sram")
        a = self.arch.sram
        self.calendar = BandwidthCalendar(a.banks * a.width_bits) if sys.contention else None
        self.energy, self.busy_rows = self.stats.energy, self.track.busy
        self.costs = {}
        self.read_bits = self.stats.counts["sram_read_bits"]
        self.write_bits = self.stats.counts["sram_write_bits"]

    def b_transport(self, txn, delay: int) -> int:
        """Serve `txn` at kernel time + `delay`; returns the delay at which it is granted."""
        bits, row, arch = txn.length, txn.layer, self.arch
        self.stats.transactions += 1
        txn.status = _OK
        if bits <= 0:
            return delay
        cost = self.costs.get(bits)  # (cycles, read pJ, write pJ) of this size, memoized
        if cost is None:
            if len(self.costs) > 4096:
                self.costs.clear()
            cost = self.costs[bits] = (_access(arch, bits), _read_pj(arch, bits), _write_pj(arch, bits))
        cyc = cost[0]
        if txn.command is _RD:
            self.energy[row][_READ] += cost[1]
            self.read_bits[row] += bits
        else:
            self.energy[row][_WRITE] += cost[2]
            self.write_bits[row] += bits
        self.busy_rows[row] += cyc
        if self.trace is not None:
            self.trace.span(self.name, txn.command.name.lower(), self.env.now + delay, cyc,
                            layer=self.sys.row_names[row], by=txn.initiator)
        if self.calendar is None:
            return delay
        return delay + self.calendar.request(self.env.now + delay, bits, cyc)
