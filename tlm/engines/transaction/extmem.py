"""External memory (DRAM): the DMA's far end.  A target whose access energy per bit is reported apart
from the on-chip energy (tlm/hw/dma.py); its latency is part of the DMA burst latency."""
from __future__ import annotations

from tlm.hw import dma as hw_dma
from tlm.engines.transaction.block import Block
from tlm.engines.transaction.payload import Status
from tlm.engines.transaction.stats import KIND

_EXT = KIND["external"]


class ExternalMemory(Block):
    def __init__(self, sys):
        super().__init__(sys, "extmem", "external")

    def b_transport(self, txn, delay: int) -> int:
        self.stats.transactions += 1
        self.stats.energy[txn.layer][_EXT] += hw_dma.external_energy_pj(self.arch, txn.length)
        txn.status = Status.OK
        return delay
