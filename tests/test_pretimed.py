"""A one-image stream schedule timed with other points of its structure (tlm/mapping/schedule.pretime) takes
its statistics from their column computed for all of them at once (tlm/mapping/pretimed.py): the same
numbers as the schedule computing its own (stages._stream_stages, _fill_drain_stream, linebuf.stream_results).

Which test fails when the mechanism is removed or wrong: test_pretimed_statistics_are_each_points (another
point's column, a per-resource sum or maximum over the wrong jobs, the spill left out of the latency, the
makespan or the drain; and, the mechanism switched off, nothing read: it checks that each point read its
column).
"""
import pytest

from helpers import with_changes
from tlm.engines import pretime
from tlm.engines.analytic import _kept
from tlm.mapping import mapper, pretimed, streamsums
from tlm.services.bench import cold

FIELDS = ("start", "end", "order", "stage", "layer_stage", "bottleneck", "fill", "drain", "latency", "makespan",
          "line_buffer_bits", "spill_bits", "spill_cycles")


@pytest.mark.parametrize("kib", [None, 2.0])  # (the shipped SRAM, and one the line buffers spill out of)
def test_pretimed_statistics_are_each_points(arch, resnet8, monkeypatch, kib):
    """Points of one structure (3 macros, auto: both streams fit) that differ in ADC and DP cycles, timed
    together: each point's schedule of each streamed policy, built reading its column, equals the one built
    computing its own statistics, field by field (and the sums mapper.apply reads); the statistics differ
    between the points, and every point read its column."""
    changes = {"macro.count": 3, "mapping.policy": "auto"} | ({"sram.capacity_kib": kib} if kib else {})
    archs = [with_changes(arch, **changes, **{"adc.cycles_per_bit": a, "macro.dp_cycles_per_bit": d})
             for a, d in ((1, 4), (2, 4), (3, 12), (5, 20), (4, 8))]
    cold()
    pretime.pretime_streams(archs, resnet8)
    reads = []
    real = pretimed.read
    monkeypatch.setattr(pretimed, "read", lambda *a: reads.append((pretimed.ON, real(*a))) or reads[-1][1])
    seen, spills = set(), 0
    for a in archs:
        kept = _kept(lambda x: x, a, resnet8)
        m, comp, rc, ops = kept["inputs"]
        for p in mapper.STREAM:
            ap = kept["policy_archs"][p]
            asg = mapper.assign(ap, resnet8, p, ops, m=m, rc=rc, memo=kept["assign"])
            monkeypatch.setattr(pretimed, "ON", True)
            got = mapper.build_schedule(ap, resnet8, asg, ops, m=m, rc=rc)
            monkeypatch.setattr(pretimed, "ON", False)
            want = mapper.build_schedule(ap, resnet8, asg, ops, m=m, rc=rc)
            for f in FIELDS:
                assert getattr(got, f) == getattr(want, f) if f not in ("start", "end") else (
                    getattr(got, f).tolist() == getattr(want, f).tolist()), (p, f)
            n, R = len(resnet8.layers), len(got.names)
            g, w = streamsums.job_sums(got, n, R, a.macro.count), streamsums.job_sums(want, n, R, a.macro.count)
            assert g[2].tolist() == w[2].tolist() and g[4].tolist() == w[4].tolist() and g[5] == w[5]
            seen.add((got.makespan, got.fill, tuple(got.stage.values())))
            spills = spills + bool(got.spill_cycles)
    assert [r for on, r in reads if on] == [True] * 2 * len(archs) and not any(r for on, r in reads if not on)
    assert len(seen) > len(archs) and bool(spills) == bool(kib)
    cold()
