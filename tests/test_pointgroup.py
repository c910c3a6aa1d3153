"""The points of one structure computed together (tlm/mapping/pointgroup.py, tlm/engines/pretime._stream_costs):
each point's row cycles and one-image job costs are its own run's numbers.

Which test fails when a mechanism is removed or wrong:
- the row cycles of many points at once (pointgroup.row_cycles: a point's own timing settings ignored, the
  wrong axis, the non-pipelined ADC rule): test_row_cycles_of_many_points_are_each_points;
- the job costs of many points at once (pointgroup.job_costs_many: another point's row cycles, the
  digital or transfer jobs lost): test_job_costs_of_many_points_are_each_points;
- pretime_streams computing them once per structure (removed: layer_row_cycles and spec_costs run per
  point) or keeping them where the point's run does not find them (schedule._IMAGES, analytic._kept) or
  with another point's numbers, or replicate's test of pipelined's places not kept for the run
  (analytic._as_pipelined): test_a_structures_points_share_the_work_and_keep_their_own_numbers;
- the balanced spreads checked against a traced one (pointgroup.same_balanced: a point whose works sort
  or load the macros otherwise accepted, the stop of a spread that does not fit not followed):
  test_same_balanced_accepts_only_the_traced_decisions; pipelined's assignment shared by a structure's
  points (pretime._spreads_together: removed, every point spreads its tiles; another point's assignment
  given): test_a_structures_pipelined_assignments_are_each_points.
"""
import random

import numpy as np
import pytest

from helpers import with_changes
from tlm.engines import analytic, pretime
from tlm.engines.analytic import digital_ops
from tlm.mapping import mapper, pointgroup, schedule
from tlm.mapping.geometry import map_layers
from tlm.mapping.jobcosts import spec_costs
from tlm.mapping.template import TIMING_SETTINGS
from tlm.services.bench import cold

TIMING = [{"adc.cycles_per_bit": a, "macro.dp_cycles_per_bit": d, "adc.fixed_cycles": f,
           "macro.op_overhead_cycles": o} for a, d, f, o in ((1, 4, 2, 0), (3, 8, 2, 1), (5, 20, 0, 3), (2, 12, 7, 0))]


def _points(arch, changes=(), **common):
    return [with_changes(arch, **{**common, **c}) for c in (changes or TIMING)]


@pytest.mark.parametrize("pipelined", [True, False])
def test_row_cycles_of_many_points_are_each_points(arch, resnet8, pipelined):
    """Each point's slice equals its own layer_row_cycles (the points' timing settings all differ, so a
    slice of another point's would differ too); a setting that is not an int leaves the points alone."""
    archs = _points(arch, **{"macro.count": 3, "adc.pipelined": pipelined})
    comp = [i for i, l in enumerate(resnet8.layers) if l.is_compute]
    m = map_layers(archs[0], [resnet8.layers[i] for i in comp])
    got = pointgroup.row_cycles(archs, resnet8, m, comp, TIMING_SETTINGS)
    want = [mapper.layer_row_cycles(a, resnet8, m, comp) for a in archs]
    assert [pointgroup.as_dict(r, comp) for r in got] == want
    assert len({tuple(w.items()) for w in want}) == len(archs)
    assert pointgroup.row_cycles(_points(arch, [{"dma.bandwidth_bits_per_cycle": 8},
                                               {"dma.bandwidth_bits_per_cycle": 12.5}]), resnet8, m, comp,
                                 TIMING_SETTINGS) is None


def test_job_costs_of_many_points_are_each_points(arch, resnet8):
    """A stream skeleton's job costs of several points from the first point's and each one's row cycles
    equal spec_costs of each point (row jobs, digital jobs and the image transfers)."""
    archs = [mapper.with_policy(a, "pipelined") for a in _points(arch, **{"macro.count": 3})]
    ops = [digital_ops(l) for l in resnet8.layers]
    comp = [i for i, l in enumerate(resnet8.layers) if l.is_compute]
    m = map_layers(archs[0], [resnet8.layers[i] for i in comp])
    rcs = [mapper.layer_row_cycles(a, resnet8, m, comp) for a in archs]
    asg = mapper.assign(archs[0], resnet8, "pipelined", ops, m=m, rc=rcs[0])
    _k, sk, costs0, *_ = schedule.one_image(archs[0], resnet8, asg, ops, m, rcs[0])
    rows = np.array([[rc[i] for i in comp] for rc in rcs], dtype=np.int64)
    got = pointgroup.job_costs_many(sk, costs0, rows, comp)
    want = [spec_costs(a, resnet8, sk, ops, rc) for a, rc in zip(archs, rcs)]
    assert got == want and len({tuple(w) for w in want}) == len(archs)


def test_a_structures_points_share_the_work_and_keep_their_own_numbers(arch, resnet8, monkeypatch):
    """pretime_streams over one structure's points (auto, 3 macros: both streams fit) computes no point's
    row cycles on its own and the job costs once per assignment, and keeps for each point its own numbers
    where its run reads them: analytic._kept's inputs (the row cycles) and one_image's (the job costs)."""
    cold()
    archs = _points(arch, **{"macro.count": 3, "mapping.policy": "auto"})
    calls = {"rc": 0, "costs": 0}
    real_rc, real_costs = mapper.layer_row_cycles, schedule.spec_costs
    monkeypatch.setattr(mapper, "layer_row_cycles", lambda *a, **k: calls.__setitem__("rc", calls["rc"] + 1)
                        or real_rc(*a, **k))
    monkeypatch.setattr(schedule, "spec_costs", lambda *a, **k: calls.__setitem__("costs", calls["costs"] + 1)
                        or real_costs(*a, **k))
    pretime.pretime_streams(archs, resnet8)
    monkeypatch.undo()
    asgs = set()
    for a in archs:
        kept = analytic._kept(lambda x: x, a, resnet8)
        m, comp, rc, ops = kept["inputs"]
        assert rc == mapper.layer_row_cycles(a, resnet8, m, comp)
        both = {}
        for p in mapper.STREAM:
            ap = kept["policy_archs"][p]
            asg = both[p] = mapper.assign(ap, resnet8, p, ops, m=m, rc=rc, memo=kept["assign"])
            asgs.add((p, id(asg)))
            k = pointgroup.image_key(ap, resnet8, asg, ops, rc)
            one = schedule._IMAGES[k][4]
            (_k1, sk, costs), = one.values()
            assert costs == spec_costs(ap, resnet8, sk, ops, rc)
        assert kept["as_pipelined"] == analytic._same_places(both["pipelined"], both["replicate"])  # (its run's)
    assert calls["rc"] == 0 and calls["costs"] <= len(asgs) < 2 * len(archs)
    cold()


def _verdict(arch, works, N=2):
    """same_balanced of points whose items (one small tile per layer 0, 1, ...: every macro has room) have
    the works `works[p]`, traced at point 0, and each point's own pack_balanced."""
    from tlm.mapping import packing
    items = [((i, 0, 0), 8, 8, 8) for i in range(len(works[0]))]
    trace = ([], [])
    packing.pack_balanced(arch, items, {x[0]: works[0][x[0][0]] for x in items}, N, trace=trace)
    order = [x for k in trace[0] for x in items if x[0] == k]
    less = [(-x[2], -x[3], x[0]) < (-y[2], -y[3], y[0]) for x, y in zip(order, order[1:])]
    w = np.array([[wp[k[0]] for k in trace[0]] for wp in works], dtype=np.int64)
    own = [packing.pack_balanced(arch, items, {x[0]: wp[x[0][0]] for x in items}, N) for wp in works]
    return pointgroup.same_balanced(less, trace[1], w, N).tolist(), own


def test_same_balanced_by_hand(arch):
    """Two macros, one tile per layer.  Works 10, 5 (layer 0 first: macro 0; then layer 1: macro 1) against
    5, 10 (layer 1 first: macro 0, then layer 0: macro 1): each step takes the macro of the traced step,
    but the items come in another order -- refused.  Works 10, 9, 8, 7 (macros 0, 1, 1 (9 < 10), 0 (10 <
    17)) against 10, 3, 2, 1 (the same order; macros 0, 1, 1 (3 < 10), 1 (5 < 10)): refused at the last
    item.  A work scaled by 3 (the same comparisons) accepted."""
    got, own = _verdict(arch, [(10, 5), (5, 10), (30, 15)])
    assert got == [True, False, True] and own[1] != own[0] == own[2]
    got, own = _verdict(arch, [(10, 9, 8, 7), (10, 3, 2, 1), (30, 27, 24, 21)])
    assert got == [True, False, True] and own[1] != own[0] == own[2]
    assert [v[0] for _k, v in sorted(own[0].items())] == [0, 1, 1, 0]


@pytest.mark.parametrize("macros", [3, 5])  # (3: the FFD count, where most spreads stop; 5: they fit)
def test_same_balanced_accepts_only_the_traced_decisions(arch, resnet8, macros):
    """Works per layer: a traced run's, the same scaled (the same decisions), random ones: every point
    accepted gets pack_balanced's answer of the traced point (a spread or, stopped, None), some points are
    refused and their own answers differ from it."""
    from tlm.mapping import packing
    a = with_changes(arch, **{"macro.count": macros})
    _rects, _m, comp, items, _need, _where = packing.packing(a, resnet8)
    rng = random.Random(macros)
    lws = [{i: rng.randint(50, 5000) for i in comp}]
    lws += [{i: 3 * w for i, w in lws[0].items()}] + [{i: rng.randint(50, 5000) for i in comp} for _ in range(40)]
    trace = ([], [])
    first = packing.pack_balanced(a, items, {x[0]: lws[0][x[0][0]] for x in items}, macros, trace=trace)
    shape = {x[0]: x for x in items}
    rows = [shape[k] for k in trace[0]]
    less = [(-x[2], -x[3], x[0]) < (-y[2], -y[3], y[0]) for x, y in zip(rows, rows[1:])]
    works = np.array([[lw[k[0]] for k in trace[0]] for lw in lws], dtype=np.int64)
    ok = pointgroup.same_balanced(less, trace[1], works, macros)
    own = [packing.pack_balanced(a, items, {x[0]: lw[x[0][0]] for x in items}, macros) for lw in lws]
    assert ok[0] and ok[1]
    assert all(own[p] == first for p in np.flatnonzero(ok))
    assert any(own[p] != first for p in np.flatnonzero(~ok))


def test_a_structures_pipelined_assignments_are_each_points(arch, resnet8, monkeypatch):
    """pretime_streams over one structure's auto points (4 macros: the spreads fit) gives each point's
    assign memo pipelined's assignment equal to the point's own (made cold, field by field), spreading the
    tiles for one point, not for each."""
    from tlm.mapping import assign
    from tlm.mapping.assign import place_fields
    cold()
    archs = _points(arch, **{"macro.count": 4, "mapping.policy": "auto"})
    spreads = []
    real = assign._spread
    monkeypatch.setattr(assign, "_spread", lambda *a, **k: spreads.append(1) or real(*a, **k))
    pretime.pretime_streams(archs, resnet8)
    monkeypatch.undo()
    got = []
    for a in archs:
        kept = analytic._kept(lambda x: x, a, resnet8)
        m, comp, rc, ops = kept["inputs"]
        got.append(kept["assign"][("assignment", "pipelined")])
    cold()
    for a, asg in zip(archs, got):
        ap = mapper.with_policy(a, "pipelined")
        comp = [i for i, l in enumerate(resnet8.layers) if l.is_compute]
        m = map_layers(ap, [resnet8.layers[i] for i in comp])
        own = mapper.assign(ap, resnet8, "pipelined", [digital_ops(l) for l in resnet8.layers], m=m,
                            rc=mapper.layer_row_cycles(ap, resnet8, m, comp))
        assert (place_fields(asg), asg.replicas, asg.notes, asg.macros_for_residency, asg.macros) == (
            place_fields(own), own.replicas, own.notes, own.macros_for_residency, own.macros)
    assert len(spreads) == 1
    cold()  # (the verdict honoured: points refused spread their own tiles)
    monkeypatch.setattr(assign, "_spread", lambda *a, **k: spreads.append(1) or real(*a, **k))
    monkeypatch.setattr(pointgroup, "same_balanced", lambda *a: np.arange(len(archs)) % 2 == 0)
    pretime.pretime_streams(archs, resnet8)
    assert len(spreads) == 1 + 1 + len(archs) // 2
    cold()
