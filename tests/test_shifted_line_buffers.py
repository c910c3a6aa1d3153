"""The line buffers of one image's stream shifted from the skeleton's kept run (tlm/mapping/retime.shifted:
a sweep's points that differ in the DMA only) computed once per kept run, not per point
(tlm/mapping/linebuf.shifted_line_buffers): test_shifted_points_reuse_the_line_buffers fails without it,
test_line_buffers_of_any_output_end checks the rule it rests on."""
import dataclasses

import pytest

from tlm.config.arch import load_arch
from tlm.config.overrides import with_precision
from tlm.config.workload import load_workload
from tlm.mapping import linebuf, mapper, schedule
from tlm.mapping.rules import digital_ops
from tlm.services.bench import cold as _cold


def cold():
    _cold()
    schedule.clear_skeletons()


@pytest.fixture(scope="module")
def setup(root):
    arch = load_arch(root / "configs" / "imagine.yaml")
    wl = with_precision(load_workload(root / "workloads" / "resnet8.yaml"), input=1, weight=1, output=1)
    return arch, wl


def _point(arch, bw):
    return mapper.with_policy(dataclasses.replace(arch, dma=dataclasses.replace(arch.dma,
                                                  bandwidth_bits_per_cycle=bw)), "pipelined")


def _kept_skeleton():
    (sk,) = [s for s in schedule._SKELETONS.values() if s.kept_times is not None]
    return sk


def _stream(arch, wl):
    ops = [digital_ops(l) for l in wl.layers]
    return mapper.build_schedule(arch, wl, mapper.assign(arch, wl, "pipelined", ops), ops, stream=True)


def test_shifted_points_reuse_the_line_buffers(setup, monkeypatch):
    """ResNet-8 at 1 bit on one macro (its weights fit), pipelined, at DMA bandwidths 64, 8, 200 bits a
    cycle: the 2nd and 3rd schedules are the 1st's shifted, their line buffers read off the kept run without
    a per-point `stream_line_buffers`, each the number a cold build computes."""
    arch, wl = setup
    real = linebuf.stream_line_buffers
    calls = []
    monkeypatch.setattr(linebuf, "stream_line_buffers", lambda *a: calls.append(1) or real(*a))
    cold()
    got = [_stream(_point(arch, bw), wl) for bw in (64, 8, 200)]
    assert len(calls) == 1  # (the first point's own run only)
    sk = _kept_skeleton()
    assert sk.kept_line_buffers is not None and sk.kept_line_buffers[2] is not None
    for bw, S in zip((64, 8, 200), got):
        cold()
        S_cold = _stream(_point(arch, bw), wl)
        assert S.line_buffer_bits == S_cold.line_buffer_bits > 0
        assert S.end.tolist() == S_cold.end.tolist() and S.makespan == S_cold.makespan


def test_line_buffers_of_any_output_end(setup):
    """The rule: every end moved alike (any shift) and the output transfer's end anywhere from its start
    on -- the line buffers are the kept run's whenever `shifted_line_buffers` gives a number (computed
    here with stream_line_buffers at each such end); a different wl object gets its own."""
    arch, wl = setup
    cold()
    S = _stream(_point(arch, 64), wl)
    sk = _kept_skeleton()
    _stream(_point(arch, 8), wl)  # (shifted: asks the rule)
    lb = linebuf.shifted_line_buffers(wl, sk)
    assert lb == S.line_buffer_bits
    end, st = sk.kept_times[3], sk.kept_times[2]
    J = len(end)
    for d in (0, 7, 1000):
        for e_out in (st[-1] + 1, end[-1], end.max(), end.max() + 5000):
            e = end + d
            e[-1] = e_out + d
            assert linebuf.stream_line_buffers(wl, sk, e[None], 0, J - 1) == lb
    wl2 = dataclasses.replace(wl)
    assert linebuf.shifted_line_buffers(wl2, sk) == lb and sk.kept_line_buffers[1] is wl2
