"""The points of one structure computed together (tlm/mapping/pointgroup.py, tlm/engines/pretime._stream_costs):
each point's row cycles and one-image job costs are its own run's numbers.

Which test fails when a mechanism is removed or wrong:
- the row cycles of many points at once (pointgroup.row_cycles: a point's own timing settings ignored, the
  wrong axis, the non-pipelined ADC rule): test_row_cycles_of_many_points_are_each_points;
- the job costs of many points at once (pointgroup.job_costs_many: another point's row cycles, the
  digital or transfer jobs lost): test_job_costs_of_many_points_are_each_points;
- pretime_streams computing them once per structure (removed: layer_row_cycles and spec_costs run per
  point) or keeping them where the point's run does not find them (schedule._IMAGES, analytic._kept) or
  with another point's numbers: test_a_structures_points_share_the_work_and_keep_their_own_numbers.
"""
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
        for p in mapper.STREAM:
            ap = kept["policy_archs"][p]
            asg = mapper.assign(ap, resnet8, p, ops, m=m, rc=rc, memo=kept["assign"])
            asgs.add((p, id(asg)))
            k = pointgroup.image_key(ap, resnet8, asg, ops, rc)
            one = schedule._IMAGES[k][4]
            (_k1, sk, costs), = one.values()
            assert costs == spec_costs(ap, resnet8, sk, ops, rc)
    assert calls["rc"] == 0 and calls["costs"] <= len(asgs) < 2 * len(archs)
    cold()
