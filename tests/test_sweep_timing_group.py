"""Points that differ in timing parameters only, timed together (tlm/engines/pretime.pretime_streams,
tlm/mapping/schedule.pretime, retime.retime_many, linebuf.image_line_buffers): every point's numbers are
its own run's, byte for byte.

Which test fails when a mechanism is removed or wrong:
- retime_many's longest path per point (a point's own cycles ignored, e.g. the first column's used for
  every point) or its acceptance per point (one point's verdict given to all):
  test_retime_many_is_each_points_list_schedule;
- the per-point line buffers (image_line_buffers: another point's ends, or the zero-weight rows that
  stand for `peak_bits`' dropped ones): test_image_line_buffers_are_each_points;
- the schedules timed together read by each point's run (schedule._pretimed: another point's times, or
  the line buffers of another workload): test_grouped_points_equal_their_own_runs, which also fails when
  nothing is timed together (the mechanism switched off checks nothing).
"""
import copy
import random

import numpy as np
import pytest

from helpers import with_changes
from tlm.config.arch import load_arch
from tlm.config.overrides import with_precision
from tlm.engines import registry
from tlm.engines.analytic import digital_ops
from tlm.engines.registry import run, run_group
from tlm.mapping import mapper, schedule
from tlm.mapping.linebuf import image_line_buffers, stream_line_buffers
from tlm.mapping.listsched import _time
from tlm.mapping.retime import Order, retime_many
from tlm.services.bench import cold


def _stream(arch, wl, policy, macros):
    """ResNet-8's one-image schedule under `policy` on `macros` macros, and its skeleton."""
    a = mapper.with_policy(with_changes(arch, **{"macro.count": macros}), policy)
    ops = [digital_ops(l) for l in wl.layers]
    asg = mapper.assign(a, wl, policy, ops)
    S = mapper.build_schedule(a, wl, asg, ops, stream=True)
    sk = schedule.one_image(a, wl, asg, ops)[1]
    return S, sk


def _costs(S, rng, k):
    """k sweep-like cycle vectors: the macros' jobs scaled by one factor (ADC and DP speeds), the others by
    another (DMA, post-processing), and a few with each layer scaled on its own (orders move: refused)."""
    macro = [n.startswith("macro") for n in S.names]
    out = []
    for q in range(k):
        if q % 4 == 3:
            f = {li: rng.uniform(0.3, 3.0) for li in set(S.layer)}
            out.append([int(round(c * f[li])) for c, li in zip(S.cost, S.layer)])
        else:
            f = (rng.uniform(0.2, 5.0), rng.uniform(0.2, 5.0))
            out.append([int(round(c * f[macro[r]])) for c, r in zip(S.cost, S.res)])
    return out


@pytest.mark.parametrize("policy,macros,points", [("pipelined", 3, 24), ("replicate", 4, 24), ("pipelined", 5, 6)])
def test_retime_many_is_each_points_list_schedule(arch, resnet8, policy, macros, points):
    """Every accepted point is exactly the list scheduler's schedule of its own cycles; the order kept is
    that of the first point, so most points keep it and some (the layers scaled apart) must be refused.
    (24 points: the ends level by level; 6: point by point, retime.LEVELS_FROM.)"""
    S, _sk = _stream(arch, resnet8, policy, macros)
    costs = _costs(S, random.Random(3), points)
    first = copy.copy(S)
    first.cost = costs[0]
    _time(first)
    start, end, ok = retime_many(Order(first), np.array(costs, dtype=np.int64).T)
    assert ok[0] and min(12, len(costs) // 3) <= ok.sum() < len(costs)
    for p, c in enumerate(costs):
        full = copy.copy(S)
        full.cost = c
        _time(full)
        same = bool(np.array_equal(end[:, p], full.end) and np.array_equal(start[:, p], full.start)
                    and full.order.keys() == first.order.keys()
                    and all(full.order[r] == first.order[r] for r in first.order))
        if ok[p]:
            assert same, p
        assert (end[:, p] - start[:, p]).tolist() == c  # (its own cycles)


def test_image_line_buffers_are_each_points(arch, resnet8):
    """One image's line-buffer peak at several points at once equals stream_line_buffers of each point's
    own ends (ends that differ, so a peak taken from another point's would differ too; rows freed before
    they are made among them)."""
    S, sk = _stream(arch, resnet8, "pipelined", 3)
    rng = random.Random(5)
    ends = [S.end] + [np.array([rng.randint(0, 2000) for _ in S.end], dtype=np.int64) for _ in range(7)]
    ends = np.array(ends, dtype=np.int64)  # (a schedule's ends, then any: the peak reads the ends only)
    got = image_line_buffers(resnet8, sk, ends)
    want = [stream_line_buffers(resnet8, sk, e[None], 0, ends.shape[1] - 1) for e in ends]
    assert got.tolist() == want
    assert len(set(want)) > 1


def test_grouped_points_equal_their_own_runs(root, resnet8, monkeypatch):
    """2 macro counts x 3 ADC speeds x 2 DP speeds x 2 precisions under auto (the streamed policies fit):
    run_group's rows, timed together, are each point's own run's (cold caches, nothing timed together);
    and the points of a precision were timed together (else this checks nothing)."""
    imagine = load_arch(root / "configs" / "imagine.yaml")  # as shipped: auto
    grid = {}
    for bits in (2, 4):
        wl = with_precision(resnet8, input=bits, weight=bits, output=bits)
        grid[bits] = (wl, [with_changes(imagine, **{"macro.count": n, "adc.cycles_per_bit": adc,
                                                    "macro.dp_cycles_per_bit": dp})
                           for n in (2, 3) for adc in (1, 2, 3) for dp in (4, 12)])
    want = {}
    monkeypatch.setattr(registry, "PRETIME", False)
    for bits, (wl, archs) in grid.items():
        want[bits] = []
        for a in archs:
            cold()
            want[bits].append(run("analytic", a, wl).row())
    monkeypatch.setattr(registry, "PRETIME", True)
    read = []
    real = schedule._pretimed
    monkeypatch.setattr(schedule, "_pretimed", lambda S, sk: read.append(1) or real(S, sk))
    cold()
    for bits, (wl, archs) in grid.items():
        state = {"alone": registry.GIVE_UP}  # (a structural grid: the points run one by one)
        got = run_group(archs, wl, state=state, brief=True)
        assert [r.row() for r in got] == want[bits]
        assert state["pretime"] == (0, 0)  # (the last call timed enough points together)
    assert len(read) >= len(grid) * len(archs) // 2


def test_pretimed_schedules_are_read_by_their_own_cycles_and_workload(arch, resnet8):
    """schedule.pretime keeps each point's times under its own cycles; a run with those cycles reads them,
    with the line buffers only for the workload they were computed for (another workload's rows hold other
    bits: its run computes its own)."""
    S, sk = _stream(arch, resnet8, "pipelined", 3)
    costs = _costs(S, random.Random(9), 6)
    schedule.clear_pretimed()
    assert schedule.pretime(sk, costs, resnet8) >= 3
    other = with_precision(resnet8, output=2)
    J = len(sk.res)
    read = 0
    for c in costs:
        full = copy.copy(S)
        full.cost = list(c)
        _time(full)
        for wl in (resnet8, other):
            T = copy.copy(S)
            T.cost, T.start, T.end = list(c), None, None
            lb = schedule._timed(T, sk, J, wl)
            assert np.array_equal(T.end, full.end) and T.order == full.order
            if lb is not None:
                assert wl is resnet8 and lb == stream_line_buffers(resnet8, sk, full.end[None], 0, J - 1)
                read += 1
    assert read >= 3
    schedule.clear_pretimed()


def test_a_recording_architecture_makes_its_own_mapping(arch, resnet8):
    """The Mapping pretime made (`shared["mapping"]`) is taken by a plan of the plain architecture only: a
    recording one (tlm/mapping/reuse.recording, a sweep noting which fields its result read) must read the
    macro's fields through its own map_layers, or the sweep would not know the result depends on them and a
    point that differs in them would share a stale row."""
    from tlm.mapping import reuse
    from tlm.mapping.geometry import map_layers
    from tlm.mapping.plan import build_plan
    wl = with_precision(resnet8, 4)
    kept = map_layers(arch, [l for l in wl.layers if l.is_compute])
    assert build_plan(arch, wl, policy="sequential", shared={"mapping": kept}).mapping is kept
    read = set()
    plan = build_plan(reuse.recording(arch, read), wl, policy="sequential", shared={"mapping": kept})
    assert plan.mapping is not kept and ("macro", "rows") in read
