"""Digital post-processing: a target doing elementwise ops (pooling, residual add, partial-sum
accumulation) at `ops_per_cycle` (tlm/hw/postproc.py).  Shared by the controller (digital layers) and
every ADC pipeline (partial sums); with contention on, its throughput is a BandwidthCalendar."""
from __future__ import annotations

from ..hw import postproc as hw_pp
from .block import Block
from .calendar import BandwidthCalendar
from .payload import Status
from .stats import KIND

_PP = KIND["postproc"]


class PostProc(Block):
    def __init__(self, sys):
        super().__init__(sys, "postproc", "postproc")
        self.calendar = BandwidthCalendar(self.arch.postproc.ops_per_cycle) if sys.contention else None
        self.ops = self.stats.counts["postproc_ops"]
        self.last_queue = 0

    def b_transport(self, txn, delay: int) -> int:
        """COMPUTE of `txn.length` ops.  Returns the delay when the ops are done (a digital layer waits
        for them) -- `queue_delay` gives only the wait for a pipelined requester (partial sums)."""
        ops, row = txn.length, txn.layer
        self.stats.transactions += 1
        txn.status = Status.OK
        if ops <= 0:
            return delay
        cyc = int(hw_pp.op_cycles(self.arch, ops))
        t = self.env.now + delay
        self.stats.energy[row][_PP] += hw_pp.op_energy_pj(self.arch, ops)
        self.ops[row] += ops
        self.busy(row, t, cyc, "ops")
        q = 0 if self.calendar is None else self.calendar.request(t, ops, cyc)
        self.last_queue = q
        return delay + q + cyc
