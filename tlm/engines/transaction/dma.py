"""DMA: `dma.channels` channels, each a SimPy process (initiator) with its own queue of transfers.

A requester (the controller) submits a batch of transfers and gets an event that fires when the whole
batch is over.  Each transfer joins the queue of the channel that will be free first (the channel's
own state: the end of the work already queued on it; ties go to the lowest channel), and the channel
serves its queue in order: it reads or writes external memory and writes or reads the on-chip end (a
macro's weight port, the SRAM at the transfer's address range), and is taken for the transfer's cycles
(tlm/plan.weight_load_cycles for weights, tlm/hw/dma.transfer_cycles for bursts) plus any wait of the
on-chip end.  Weight loads, activation spills and the image I/O share the channels.
"""
from __future__ import annotations

from collections import deque

from tlm.hw import dma as hw_dma
from tlm.engines.transaction.block import Block
from tlm.engines.transaction.payload import Command, Payload, Status, check
from tlm.engines.transaction.stats import KIND

_DMA = KIND["dma"]


class Transfer:
    """One DMA transfer: the payload, its cycles on a channel, the on-chip end, a label, its batch."""

    __slots__ = ("txn", "cycles", "sink", "what", "batch")

    def __init__(self, txn, cycles, sink, what):
        self.txn, self.cycles, self.sink, self.what, self.batch = txn, cycles, sink, what, None


class Batch:
    __slots__ = ("left", "event")

    def __init__(self, env, n):
        self.left, self.event = n, env.event()

    def one_done(self):
        self.left -= 1
        if self.left == 0:
            self.event.succeed()


class Channel(Block):
    """One channel: a process serving its own queue."""

    def __init__(self, sys, dma, index):
        super().__init__(sys, f"dma.ch{index}", "dma")
        self.dma = dma
        self.queue = deque()
        self.queued_until = 0  # when the work queued on this channel will be over (if nothing waits)
        self.wake = None
        self.waiting = "a transfer"
        self.track.peak, self.track.peak_of = 0, "queued"  # the most transfers waiting at once
        self.proc = self.env.process(self.run())

    def push(self, tr) -> None:
        self.queue.append(tr)
        if len(self.queue) > self.track.peak:
            self.track.peak = len(self.queue)
        if self.trace is not None:  # the queue's length over time (a counter track)
            self.trace.counter(f"{self.name} queue", self.env.now, len(self.queue))
        self.queued_until = max(self.queued_until, self.env.now) + tr.cycles
        if self.wake is not None and not self.wake.triggered:
            self.wake.succeed()

    def run(self):
        env, st, arch = self.env, self.stats, self.arch
        names = self.sys.row_names
        while True:
            while not self.queue:
                self.waiting = "a transfer"
                self.wake = env.event()
                yield self.wake
            tr = self.queue.popleft()
            if self.trace is not None:
                self.trace.counter(f"{self.name} queue", env.now, len(self.queue))
            self.waiting = f"its transfer ({tr.what})"
            txn, row, start = tr.txn, tr.txn.layer, env.now
            st.transactions += 1
            st.energy[row][_DMA] += hw_dma.onchip_energy_pj(arch, txn.length)
            st.count("dma_bits", row, txn.length)
            self.sys.extmem.b_transport(txn, 0)
            check(txn, "extmem", names)
            q = 0
            if tr.sink is not None:
                txn.status = Status.INCOMPLETE
                q = tr.sink.b_transport(txn, 0)
                check(txn, tr.sink.name, names)
            self.busy(row, start, tr.cycles, tr.what)
            if q:
                self.stall(row, start + tr.cycles, q, "sram")
                self.queued_until += q
            yield env.timeout(tr.cycles + q)
            self.dma.outstanding -= 1
            tr.batch.one_done()
            if self.dma.outstanding == 0:
                self.dma.drained()


class Dma:
    """The channels and the dispatcher (no process of its own)."""

    def __init__(self, sys):
        self.env = sys.env
        self.name = "dma"
        self.waiting = ""
        self.channels = [Channel(sys, self, c) for c in range(sys.arch.dma.channels)]
        self.outstanding = 0
        self.drain_waiters = []

    def submit(self, transfers):
        """Queue a batch; returns the event that fires when all of it is over (an empty batch: when
        every transfer queued so far is over)."""
        if not transfers:
            ev = self.env.event()
            if self.outstanding == 0:
                ev.succeed()
            else:
                self.drain_waiters.append(ev)
            return ev
        b = Batch(self.env, len(transfers))
        now = self.env.now
        for tr in transfers:
            tr.batch = b
            ch = min(self.channels, key=lambda c: max(c.queued_until, now))
            self.outstanding += 1
            ch.push(tr)
        return b.event

    def drained(self):
        for ev in self.drain_waiters:
            ev.succeed()
        self.drain_waiters = []


def weights(macro, plan, tile) -> Transfer:
    txn = Payload(Command.WRITE, length=tile.weight_bits, layer=plan.row, tile=tile.index, initiator="dma")
    return Transfer(txn, plan.load_cycles, macro, f"weights {plan.name} t{tile.index} -> {macro.name}")


def burst(arch, row: int, bits: int, sink, what: str, command=Command.WRITE, address: int = 0) -> Transfer:
    txn = Payload(command, address=address, length=bits, layer=row, initiator="dma")
    return Transfer(txn, int(hw_dma.transfer_cycles(arch, bits)), sink, what)
