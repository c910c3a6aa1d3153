"""DMA: a SimPy process (initiator) with `channels` channels, each a busy-until time.

Requesters (the controller) submit a batch of transfers and get an event that fires when the whole
batch is over.  The DMA process serves batches in arrival order: each transfer takes the channel that
frees first, lasts `transfer_cycles(bits, rate)` (tlm/hw/dma.py: burst latency + bits at the channel
rate, or at the macro write port's rate for weights), reads or writes external memory and writes the
on-chip end (a macro's weight port, the SRAM).  Weight loads, activation spills and the image I/O all
share the channels, so spills delay weight loads and vice versa.
"""
from __future__ import annotations

from collections import deque

from ..hw import dma as hw_dma
from .block import Block
from .payload import Command, Payload
from .stats import KIND

_DMA = KIND["dma"]


class Transfer:
    """One DMA transfer: the payload, the bits that set its duration, its rate, the on-chip end."""

    __slots__ = ("txn", "cycles", "sink", "what")

    def __init__(self, txn, cycles, sink, what):
        self.txn, self.cycles, self.sink, self.what = txn, cycles, sink, what


class Dma(Block):
    def __init__(self, sys):
        super().__init__(sys, "dma", "dma", track=False)  # its channels have the tracks
        self.channels = [sys.stats.track(f"dma.ch{c}", "dma") for c in range(self.arch.dma.channels)]
        self.free = [0] * len(self.channels)
        self.queue = deque()
        self.wake = None
        self.waiting = "a transfer request"
        self.proc = self.env.process(self.run())

    def submit(self, transfers):
        """Queue a batch; returns the event that fires when all of it is over (an empty batch: when
        every transfer queued so far is over)."""
        done = self.env.event()
        self.queue.append((transfers, done))
        if self.wake is not None and not self.wake.triggered:
            self.wake.succeed()
        return done

    def run(self):
        env = self.env
        while True:
            while not self.queue:
                self.waiting = "a transfer request"
                self.wake = env.event()
                yield self.wake
            transfers, done = self.queue.popleft()
            now = env.now
            finish = now if transfers else max([now] + self.free)  # an empty batch drains the DMA
            for tr in transfers:
                finish = max(finish, self._transfer(tr, now))
            self.waiting = "its transfers to finish"
            env.timeout(finish - now).callbacks.append(lambda _e, d=done: d.succeed())

    def _transfer(self, tr, now: int) -> int:
        free = self.free
        c = min(range(len(free)), key=free.__getitem__)
        start = max(now, free[c])
        dur = tr.cycles
        txn, st = tr.txn, self.stats
        st.transactions += 1
        row = txn.layer
        st.energy[row][_DMA] += hw_dma.onchip_energy_pj(self.arch, txn.length)
        st.count("dma_bits", row, txn.length)
        self.sys.extmem.b_transport(txn, start - now)
        q = 0
        if tr.sink is not None:
            q = tr.sink.b_transport(txn, start - now) - (start - now)
        end = start + dur + q
        free[c] = end
        ch = self.channels[c]
        ch.busy[row] += dur
        if q:
            ch.add_stall(row, "sram", q)
        if self.trace is not None:
            self.trace.span(ch.name, tr.what, start, dur, layer=self.sys.row_names[row])
            if q:
                self.trace.span(ch.name, "stall: sram", start + dur, q, cat="stall", layer=self.sys.row_names[row])
        return end


def weights(macro, plan, tile) -> Transfer:
    txn = Payload(Command.WRITE, address=macro.index, length=tile.cells, layer=plan.row, tile=tile.index,
                  initiator="dma")
    return Transfer(txn, plan.load_cycles, macro, f"weights {plan.name} t{tile.index} -> {macro.name}")


def burst(arch, row: int, bits: int, sink, what: str, command=Command.WRITE) -> Transfer:
    return Transfer(Payload(command, length=bits, layer=row, initiator="dma"), int(hw_dma.transfer_cycles(arch, bits)),
                    sink, what)
