"""Digital post-processing: a target doing elementwise ops (pooling, residual add, partial-sum
accumulation) at `postproc.ops_per_cycle` (tlm/hw/postproc.py), one unit with busy-until service
(tlm/engines/transaction/calendar.py).  Shared by the controller (digital layers) and every ADC pipeline (partial
sums).  b_transport returns the delay at which the ops begin; `last_done` is when they are over."""
from __future__ import annotations

from tlm.hw import postproc as hw_pp
from tlm.engines.transaction.block import Block
from tlm.engines.transaction.calendar import Calendar
from tlm.engines.transaction.payload import Command, Status
from tlm.engines.transaction.stats import KIND

_PP = KIND["postproc"]


class PostProc(Block):
    def __init__(self, sys):
        super().__init__(sys, "postproc", "postproc")
        self.calendar = Calendar(self.env) if sys.contention else None
        self.ops = self.stats.counts["postproc_ops"]
        self.last_done = 0

    def b_transport(self, txn, delay: int) -> int:
        if txn.command is not Command.COMPUTE:
            self.stats.transactions += 1
            txn.status = Status.COMMAND_ERROR
            return delay
        txn.status = Status.OK
        now = self.env.now
        return self.compute(txn.layer, txn.ops, now + delay) - now

    def compute(self, row: int, ops: int, t: int) -> int:
        """A COMPUTE of `ops` elementwise operations for Result row `row` arriving at absolute time `t`:
        returns when the ops begin (`last_done`: when they are over).  b_transport checks a payload and
        calls it; the ADC pipelines' partial-sum accumulations call it directly."""
        self.stats.transactions += 1
        if ops <= 0:
            self.last_done = t
            return t
        cyc = int(hw_pp.op_cycles(self.arch, ops))
        self.stats.energy[row][_PP] += hw_pp.op_energy_pj(self.arch, ops)
        self.ops[row] += ops
        s = t if self.calendar is None else self.calendar.book(t, cyc)
        self.busy(row, s, cyc, "ops")
        self.last_done = s + cyc
        return s
