"""Activation SRAM: a target made of `sram.banks` banks, each with its own busy-until service.

A READ or WRITE names a bit-address range [address, address + length) (addresses form a ring over the
capacity; tlm/mapping/plan.py places every tensor).  Bank b holds the addresses with
(a // interleave) % banks == b, `interleave` = `sram.interleave_bits` (0: capacity / banks, one
contiguous range per bank; tlm/plan.bank_interleave_bits).  The
range is split over the banks it touches; each part occupies the bank's read or write port for
ceil(bits / width_bits) cycles, booked in the port's calendar (tlm/engines/transaction/calendar.py); `sram.ports`
says whether a bank has a read and a write port (1r1w) or one port for both (1rw).  Two reads on one
bank at once wait for each other, on different banks they do not.  The requester waits only until every bank it
needs has begun its part (the access then streams behind the requester's own work through its line
buffer, as the contention-free schedule assumes); a saturated bank makes the next request wait.
Energy per bit: tlm/hw/sram.py.  With `tlm.contention` off the banks never make anyone wait.
"""
from __future__ import annotations

from tlm.hw import sram as hw_sram
from tlm.mapping.plan import bank_interleave_bits
from tlm.engines.transaction.block import Block
from tlm.engines.transaction.calendar import Calendar
from tlm.engines.transaction.payload import Command, Status
from tlm.engines.transaction.stats import KIND

_READ, _WRITE = KIND["sram_read"], KIND["sram_write"]
_RD, _WR, _OK = Command.READ, Command.WRITE, Status.OK


def bank_bits(address: int, length: int, interleave: int, banks: int, capacity: int) -> list:
    """[(bank, bits)] of the range [address, address + length) on a ring of `capacity` bits."""
    out = {}
    a = address % capacity
    left = length
    if length > capacity:  # whole turns of the ring: every bank's share of the ring, that many times
        turns, left = divmod(length, capacity)
        for b, n in bank_bits(0, capacity, interleave, banks, capacity):
            out[b] = n * turns
    while left > 0:  # at most two pieces: the rest of the ring from `a`, then its start
        n = min(left, capacity - a)
        w0, w1 = a // interleave, (a + n - 1) // interleave
        if w0 == w1:
            b = w0 % banks
            out[b] = out.get(b, 0) + n
        else:
            b0, b1 = w0 % banks, w1 % banks
            out[b0] = out.get(b0, 0) + (w0 + 1) * interleave - a
            out[b1] = out.get(b1, 0) + a + n - w1 * interleave
            inner = w1 - w0 - 1
            if inner:
                q, r = divmod(inner, banks)
                for k in range(min(inner, banks)):
                    b = (w0 + 1 + k) % banks
                    out[b] = out.get(b, 0) + (q + (k < r)) * interleave
        left -= n
        a = 0
    return sorted(out.items())


class Bank:
    """One bank: a read port and a write port, each a busy-until calendar (one shared calendar when the
    bank has a single read/write port, `sram.ports: 1rw`)."""

    __slots__ = ("index", "read", "write", "track")

    def __init__(self, sys, index):
        self.index = index
        self.read = Calendar(sys.env)
        self.write = self.read if sys.arch.sram.ports == "1rw" else Calendar(sys.env)
        self.track = sys.stats.track(f"sram.bank{index}", "sram")


class Sram(Block):
    def __init__(self, sys):
        super().__init__(sys, "sram", "sram", track=False)  # its banks have the tracks
        a = self.arch.sram
        self.capacity = max(a.capacity_bits, 1)
        self.width = a.width_bits
        self.interleave = bank_interleave_bits(self.arch)
        self.banks = [Bank(sys, b) for b in range(a.banks)]
        self.nbanks = len(self.banks)
        self.whole = self.capacity % self.interleave == 0  # a range in one interleave block never wraps
        self.read_ports = [b.read for b in self.banks]
        self.write_ports = [b.write for b in self.banks]
        self.bank_busy = [b.track.busy for b in self.banks]
        self.contention = sys.contention
        self.energy = self.stats.energy
        self.read_bits = self.stats.counts["sram_read_bits"]
        self.write_bits = self.stats.counts["sram_write_bits"]
        # functional runs: the tensors it holds, by name (their bit addresses are the plan's SRAM layout)
        self.data = sys.data.tensors if getattr(sys, "data", None) is not None else None
        self.read_pj, self.write_pj = {}, {}
        self.split = {}  # (address, length) -> bank parts, memoized (chunks of a tile repeat)
        self.last_done = 0  # when the last request's parts are all over (a requester that streams reads it)

    def _memo(self, table, fn, bits):
        if len(table) > 65536:
            table.clear()
        pj = table[bits] = fn(self.arch, bits)
        return pj

    def b_transport(self, txn, delay: int) -> int:
        """Serve `txn` at kernel time + `delay`; returns the delay at which every bank it needs has begun."""
        cmd, a, bits = txn.command, txn.address, txn.length
        if cmd is not _RD and cmd is not _WR:
            self.stats.transactions += 1
            txn.status = Status.COMMAND_ERROR
            return delay
        if not 0 <= a < self.capacity or bits < 0:
            self.stats.transactions += 1
            txn.status = Status.ADDRESS_ERROR
            return delay
        txn.status = _OK
        now = self.env.now
        return self.access(cmd is _RD, a, bits, txn.layer, now + delay, txn.initiator) - now

    def access(self, reading: bool, a: int, bits: int, row: int, t: int, by: str) -> int:
        """The banks' side of a READ (`reading`) or WRITE of the valid range [a, a + bits) for Result row
        `row` from initiator `by`, arriving at absolute time `t`: one transaction (counted, energy,
        bank occupancy, calendar bookings).  Returns the absolute time at which every bank it needs has
        begun; `last_done` is when they are all over.  b_transport checks a payload and calls it; the
        macros' activation streams and the ADCs' write-backs, whose ranges the plan makes valid by
        construction, call it directly (TLM's direct interface: no payload per access)."""
        self.stats.transactions += 1
        if bits == 0:
            self.last_done = t
            return t
        if reading:
            pj = self.read_pj.get(bits)  # energy of this access size, memoized
            if pj is None:
                pj = self._memo(self.read_pj, hw_sram.read_energy_pj, bits)
            self.energy[row][_READ] += pj
            self.read_bits[row] += bits
        else:
            pj = self.write_pj.get(bits)
            if pj is None:
                pj = self._memo(self.write_pj, hw_sram.write_energy_pj, bits)
            self.energy[row][_WRITE] += pj
            self.write_bits[row] += bits
        I = self.interleave
        w0 = a // I
        if w0 == (a + bits - 1) // I and (self.whole or a + bits <= self.capacity):  # the common case: one bank
            b = w0 % self.nbanks
            cyc = -(-bits // self.width)
            self.bank_busy[b][row] += cyc
            s = t
            if self.contention:
                cal = (self.read_ports if reading else self.write_ports)[b]
                ends = cal.ends
                if not ends or t > ends[-1]:  # in time order: plain busy-until (Calendar.book inlined)
                    cal.starts.append(t)
                    ends.append(t + cyc)
                    if len(ends) > cal.limit:
                        cal._prune()
                elif t == ends[-1]:
                    ends[-1] = t + cyc
                else:
                    s = cal.book(t, cyc)
            if self.trace is not None:
                self.trace.span(self.banks[b].track.name, "read" if reading else "write", s, cyc,
                                layer=self.sys.row_names[row], by=by)
            self.last_done = s + cyc
            return s
        return self._multi(reading, a, bits, row, t, by)

    def _multi(self, reading, a, bits, row, t, by) -> int:
        """A range over several banks: each bank's part booked on that bank's port."""
        key = (a, bits)
        parts = self.split.get(key)
        if parts is None:
            if len(self.split) > 65536:
                self.split.clear()
            w = self.width
            parts = self.split[key] = [(self.banks[b], -(-n // w))
                                       for b, n in bank_bits(a, bits, self.interleave, len(self.banks), self.capacity)]
        latest = done = t
        trace = self.trace
        for bank, cyc in parts:
            bank.track.busy[row] += cyc
            if self.contention:
                s = (bank.read if reading else bank.write).book(t, cyc)
                if s > latest:
                    latest = s
            else:
                s = t
            if s + cyc > done:
                done = s + cyc
            if trace is not None:
                trace.span(bank.track.name, "read" if reading else "write", s, cyc, layer=self.sys.row_names[row],
                           by=by)
        self.last_done = done
        return latest
