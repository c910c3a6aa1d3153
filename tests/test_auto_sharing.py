"""What a sweep's `mapping.policy: auto` shares between its policies and points, each against the same number
made without the sharing (tlm/engines/analytic.py, tlm/mapping/schedule.py, plan.py).

Which test fails when a mechanism is removed or wrong:
- a losing streamed policy gets its schedule, not a plan (analytic._pending), and the winner's plan takes
  the very schedule its cycles were read from: test_a_losing_stream_gets_no_plan;
- a stream's stage sums and fill/drain from one image's skeleton arrays (stages._stream_stages,
  _fill_drain_stream, the arrays kept on the skeleton): test_stream_stages_are_the_full_job_lists;
- a resident plan's assignment set at once (plan.Plan._all_in_round0): test_round0_assignment_is_set_assignments;
  its arrays kept on the assignment for every plan of it (mapper.round0):
  test_the_batches_of_an_assignment_share_its_round0_arrays;
- the job costs' index arrays kept on the skeleton and the fields they read recorded once per skeleton
  (schedule._spec_index, _COST_FIELDS): test_kept_job_costs_are_cold_costs.
"""
import dataclasses

import numpy as np
import pytest

from tlm.config.arch import load_arch
from tlm.config.overrides import with_precision
from tlm.engines import analytic
from tlm.mapping import mapper, reuse, schedule, stages
from tlm.mapping.plan import build_plan
from tlm.services.bench import cold


@pytest.fixture(scope="module")
def imagine(root):
    return load_arch(root / "configs" / "imagine.yaml")  # auto, objective throughput


def _macros(arch, n, **adc):
    return dataclasses.replace(arch, macro=dataclasses.replace(arch.macro, count=n),
                               adc=dataclasses.replace(arch.adc, **adc))


def test_a_losing_stream_gets_no_plan(imagine, resnet8, monkeypatch):
    """On 2 macros at 1-bit precision replicate (copies) and pipelined both fit and differ; one loses.  The
    brief choice builds a plan for the winner only, from the schedule its cycles were read from, and its
    Result is the full choice's."""
    a = _macros(imagine, 2)
    w = with_precision(resnet8, input=1, weight=1, output=1)
    built = []
    real = analytic.build_plan
    monkeypatch.setattr(analytic, "build_plan", lambda ap, *x, **k: built.append(ap.mapping.policy) or real(ap, *x, **k))
    cold()
    plans, _ = analytic.policy_plans(a, w, steady=True, lazy=True)
    streams = [q for q in plans if q in mapper.STREAM]
    assert sorted(streams) == ["pipelined", "replicate"]
    assert all(isinstance(plans[q][1], analytic._Pending) for q in streams) and built == ["sequential"]
    best, res, plan = analytic._brief_choice(a, w, plans)
    assert best in streams and built == ["sequential", best]  # the loser: a schedule, never a plan
    assert plan.schedule is plans[best][1].schedule  # one schedule, read for the choice and for the plan
    cold()
    best_full, res_full, _note, _plan = analytic.choose_policy(a, w, steady=True)
    assert best_full == best and res.to_json() == res_full.to_json()


def test_stream_stages_are_the_full_job_lists(imagine, resnet8):
    """A stream of 3 images: its stage cycles, per-layer stages, fill and drain as build_schedule reads
    them off one image's skeleton are those of the full job list (`_stages`, `_fill_drain` on every job)."""
    a = _macros(imagine, 4)
    w = dataclasses.replace(resnet8, batch=3)
    m, comp = mapper.comp_mapping(a, w)
    from tlm.mapping.rules import digital_ops
    ops = [digital_ops(l) for l in w.layers]
    for policy in mapper.STREAM:
        asg = mapper.assign(a, w, policy, ops)
        S = schedule.build_schedule(a, w, asg, ops, stream=True)
        full = dataclasses.replace(S, stage={}, layer_stage={}, fill=0, drain=0)
        stages._stages(full, len(w.layers), w.batch)
        full.bottleneck = max(full.stage, key=lambda k: (full.stage[k], -full.names.index(k)))
        stages._fill_drain(full, w.batch)
        assert (S.stage, S.layer_stage, S.bottleneck, S.fill, S.drain) == (
            full.stage, full.layer_stage, full.bottleneck, full.fill, full.drain), policy
        assert S.fill > 0 and S.drain >= 0 and len(S.layer_stage) >= len(comp)


def test_round0_assignment_is_set_assignments(imagine, resnet8):
    """A resident policy's plan sets every layer's assignment at once; each layer's set_assignment of the
    same macros (all in round 0) gives the same arrays, rounds and round loads."""
    a = mapper.with_policy(_macros(imagine, 4), "pipelined")
    plan = build_plan(a, resnet8)
    ref = build_plan(a, resnet8)
    for j, (tm, tr) in enumerate(plan.assignment):
        assert not tr.any()
        ref.set_assignment(j, tm.copy(), np.zeros_like(tm))
    for k in ("rounds", "round_loads_full", "round_loads_last"):
        assert np.array_equal(getattr(plan, k), getattr(ref, k)), k
    assert all(np.array_equal(x[0], y[0]) and np.array_equal(x[1], y[1]) for x, y in zip(plan.assignment, ref.assignment))
    assert sorted({int(x) for tm, _ in plan.assignment for x in tm}) == [0, 1, 2, 3]  # (the tiles spread)


def test_the_batches_of_an_assignment_share_its_round0_arrays(imagine, resnet8):
    """auto on 4 macros at batches 3 and 7 of one architecture object (a sweep's batches): the winner's
    plans have one assignment, and take the same read-only round-0 arrays from it (set_assignment's, the
    test above); each Result is its own full choice's."""
    a = _macros(imagine, 4)
    cold()
    plans = []
    for b in (3, 7):
        w = dataclasses.replace(resnet8, batch=b)
        best, res, _n, plan = analytic.choose_policy(a, w, steady=True, brief=True)
        assert best in mapper.STREAM
        plans.append(plan)
    p3, p7 = plans
    assert p3.multi is p7.multi and len(p3.assignment) == len(p7.assignment) > 1
    for x, y in zip(p3.assignment, p7.assignment):
        assert x is y and not x[0].flags.writeable and not x[1].any()
    cold()  # (batch 7 alone, its plans and assignment its own)
    best_full, full, _n, _p = analytic.choose_policy(a, w, steady=True)
    assert best_full == best and full.row() == res.row()


def test_kept_job_costs_are_cold_costs(imagine, resnet8):
    """The one-image job costs of a stream under architectures that differ only in the DMA, only in the
    digital side (the same row cycles: the same key but for the fields read), then the first again: the
    fields read are the same for each (which fields is fixed by the skeleton) and name both, and the costs
    kept (index arrays on the skeleton, fields recorded once) are those of a cold start."""
    from tlm.mapping.rules import digital_ops
    w = resnet8
    ops = [digital_ops(l) for l in w.layers]
    base = _macros(imagine, 4)
    archs = [base,
             dataclasses.replace(base, dma=dataclasses.replace(base.dma, bandwidth_bits_per_cycle=8,
                                                               latency_cycles=base.dma.latency_cycles + 7)),
             dataclasses.replace(base, postproc=dataclasses.replace(base.postproc, ops_per_cycle=3)),
             base]
    cold()
    asg = mapper.assign(base, w, "pipelined", ops)
    warm = [schedule.one_image(a, w, asg, ops)[2] for a in archs]
    fields = []
    for a, costs in zip(archs, warm):
        cold()
        key1, _sk, cold_costs, *_ = schedule.one_image(reuse.recording(a, set()), w, asg, ops)
        fields.append(schedule._COST_FIELDS[key1])
        assert cold_costs == costs
    assert len(set(fields)) == 1 and {("dma", "bandwidth_bits_per_cycle"), ("postproc", "ops_per_cycle")} <= set(fields[0])
    assert len({tuple(c) for c in warm}) == 3  # (each architecture's costs differ; the last is the first's)


def test_cold_forgets_the_kept_schedule_structures(imagine, resnet8):
    """tlm/services/bench.cold: after a streamed schedule is built, every structure kept for the next run
    -- the skeletons (with their kept list-scheduled orders), the layers' shape keys, the job costs, one
    image's kept entries -- is forgotten, so a benchmark's repeat costs what a new point costs."""
    from tlm.mapping.rules import digital_ops
    ops = [digital_ops(l) for l in resnet8.layers]
    a = _macros(imagine, 4)
    cold()
    mapper.build_schedule(a, resnet8, mapper.assign(a, resnet8, "pipelined", ops), ops)
    kept = (schedule._SKELETONS, schedule._SHAPES, schedule._COSTS)
    assert all(kept)  # (the schedule kept each of them)
    cold()
    assert not any(kept) and not schedule._IMAGES


def test_an_assignment_is_kept_for_the_points_that_read_the_same_values(imagine, resnet8):
    """tlm/mapping/assign._kept_key: a point whose architecture differs only where the assignment does not
    read (the DMA) gets the assignment kept from the first (the same object); one whose row cycles differ
    (the ADC's cycles per bit) gets its own, equal to a cold one (the first's object when it is equal to it:
    assign._interned)."""
    from tlm.mapping.rules import digital_ops
    ops = [digital_ops(l) for l in resnet8.layers]
    a = _macros(imagine, 4)
    other_dma = dataclasses.replace(a, dma=dataclasses.replace(a.dma, bandwidth_bits_per_cycle=8))
    slower = _macros(imagine, 4, cycles_per_bit=a.adc.cycles_per_bit + 3)

    def asg(x):
        m, comp = mapper.comp_mapping(x, resnet8)
        return mapper.assign(x, resnet8, "replicate", ops, m=m, rc=mapper.layer_row_cycles(x, resnet8, m, comp))
    cold()
    first = asg(a)
    assert asg(other_dma) is first
    s = asg(slower)
    assert (s is first) == (s == first)
    cold()
    assert s == asg(slower)
