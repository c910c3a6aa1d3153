"""The targets' direct interfaces (Sram.access, AdcPipeline.convert, PostProc.compute), which the macro and
its ADC pipeline call per chunk instead of b_transport: the same service as the checked payload path,
on hand-derived port times.  (Whole runs through them are checked by the exact-cycle tests of
tests/test_tlm_blocks.py and tests/test_tlm_engine.py.)"""
import pytest

from tlm.config.arch import load_arch
from tlm.engines.transaction.payload import Command, Payload, Status
from tlm.engines.transaction.system import System

from conftest import ROOT, sequential
from helpers import with_changes, workload

WL = workload([{"name": "c", "type": "conv2d", "out_channels": 8, "kernel": 3, "padding": 1}])


def _system(**changes):
    arch = with_changes(sequential(load_arch(ROOT / "configs" / "imagine.yaml")),
                        **{"sram.banks": 2, "sram.width_bits": 128, **changes})
    return System(arch, WL)


def _via_payload(s, reading, a, bits, t):
    txn = Payload(Command.READ if reading else Command.WRITE, address=a, length=bits, layer=0, initiator="test")
    d = s.sram.b_transport(txn, t - s.env.now)
    assert txn.status is Status.OK
    return s.env.now + d


# (reading, address in half-capacities, bits, arrival) -> start granted.  Two banks of 128-bit ports,
# bank b = the b-th half of the capacity (interleave 0).  Read 1,024 bits of bank 0 at 0: 8 cycles, starts
# at once (port busy [0, 8)).  256 bits of bank 0 at 4: waits for the port, starts at 8 (busy to 10).
# 256 bits of bank 1 at 4: its own port, starts at 4.  A write of bank 0 at 4: the write port (1r1w),
# starts at 4.  128 bits of bank 0 at 1, arriving after the kernel booked [0, 10): the first gap at or
# after 1 long enough is at 10.
CASES = [(True, 0, 1024, 0, 0), (True, 0, 256, 4, 8), (True, 1, 256, 4, 4), (False, 0, 512, 4, 4),
         (True, 0, 128, 1, 10)]


@pytest.mark.parametrize("direct", [True, False], ids=["access", "b_transport"])
def test_bank_ports_grant_the_hand_derived_starts(direct):
    s = _system()
    half = s.sram.capacity // 2
    for reading, h, bits, t, start in CASES:
        n = s.stats.transactions
        got = s.sram.access(reading, h * half, bits, 0, t, "test") if direct else _via_payload(s, reading, h * half,
                                                                                              bits, t)
        assert got == start, (reading, h, bits, t)
        assert s.stats.transactions == n + 1  # one transaction either way
        assert s.sram.last_done == start + -(-bits // 128)
    # occupancy: bank 0's ports served 8 + 2 + 1 read and 4 write cycles, bank 1's 2 read cycles
    assert s.stats.tracks["sram.bank0"].busy[0] == 15 and s.stats.tracks["sram.bank1"].busy[0] == 2


def test_one_rw_port_serializes_a_write_behind_a_read():
    """`sram.ports: 1rw`: the write of case 4 shares bank 0's only port with the reads: busy [0, 10) after
    the first two reads, so it starts at 10."""
    s = _system(**{"sram.ports": "1rw"})
    half = s.sram.capacity // 2
    for reading, h, bits, t, _ in CASES[:3]:
        s.sram.access(reading, h * half, bits, 0, t, "test")
    assert s.sram.access(False, 0, 512, 0, 4, "test") == 10


def test_the_payload_path_still_checks_command_and_range():
    s = _system()
    bad = Payload(Command.READ, address=s.sram.capacity, length=8, layer=0, initiator="test")
    s.sram.b_transport(bad, 0)
    assert bad.status is Status.ADDRESS_ERROR
    bad = Payload(Command.CONVERT, address=0, length=8, layer=0, initiator="test")
    s.sram.b_transport(bad, 0)
    assert bad.status is Status.COMMAND_ERROR
    cv = Payload(Command.READ, layer=0, initiator="test")
    s.macros[0].adc.b_transport(cv, 0)
    assert cv.status is Status.COMMAND_ERROR


@pytest.mark.parametrize("direct", [True, False], ids=["convert", "b_transport"])
def test_a_non_pipelined_chunk_converts_and_writes_back_at_the_derived_times(direct):
    """Non-pipelined ADC, free banks: the first pixel's DP over at d = 100; pixel i+1's DP starts when
    pixel i's conversion ends, so p = 3 pixels end at d + t_cv + 2 (t_dp + t_cv); the write-back then
    starts at once and the macro may go on at that time."""
    s = _system()
    lp = s.plan.layers[0]
    tile = lp.tiles[0]
    adc = s.macros[0].adc
    adc.start_tile(0, lp, tile)
    end = 100 + lp.t_cv + 2 * (lp.t_dp + lp.t_cv)
    if direct:
        nxt = adc.convert(lp.row, 0, 3, 100)
    else:
        txn = Payload(Command.CONVERT, layer=lp.row, pixel_lo=0, pixel_hi=3, initiator="test")
        nxt = s.env.now + adc.b_transport(txn, 100)
        assert txn.status is Status.OK
    assert nxt == end and adc.done == end
    assert s.stats.tracks["adc0"].busy[lp.row] == 3 * lp.t_cv
    assert s.stats.counts["sram_write_bits"][lp.row] == tile.write_bits * 3 // lp.pixels
