"""A sweep's `auto` (analytic.policy_plans lazy) leaves the sequential plan's batching rule for later
(Plan.finish, analytic._Deferred) and never runs it when a resident policy beats a lower bound of the
sequential cycles (analytic._sequential_floor); the choice and the chosen Result are those of the full count.

Which test fails when a mechanism is removed:
- the deferral (the rule run at every spilling batch): test_a_losing_sequential_skips_its_batching_rule;
- a sequential plan that needs no rule counted where it cannot win (analytic.UNCOUNTED_SEQUENTIAL):
  test_a_losing_sequential_that_needs_no_rule_is_not_counted; and where it is alone (no resident policy
  fits) counted at once, its floor not computed: test_a_sequential_plan_alone_is_counted_at_once;
- a floor that is not a lower bound (e.g. the spills counted in, or a layer at its larger mode):
  test_floor_is_below_the_sequential_cycles;
- `_settle` not counting the sequential entry where its floor may be the fewest (or may tie):
  test_settle_counts_where_the_floor_may_win; `counted` not finishing the plan under another objective
  (every policy counted): test_a_counted_sequential_is_finished;
- anything a sweep's batches share wrongly (a batch given another's makespan, line buffers or sequential
  cycles): test_sweep_rows_are_each_points_own_run.
"""
import dataclasses

import numpy as np
import pytest

from test_auto_cost import _job, _rows_are_the_exhaustive_best
from tlm.config.arch import load_arch
from tlm.config.overrides import with_precision
from tlm.engines import analytic
from tlm.mapping import batching, mapper
from tlm.services.bench import cold


@pytest.fixture(scope="module")
def imagine(root):
    return load_arch(root / "configs" / "imagine.yaml")  # auto, objective throughput


def _point(arch, wl, n, p, b, objective=None):
    a = dataclasses.replace(arch, macro=dataclasses.replace(arch.macro, count=n))
    if objective:
        a = dataclasses.replace(a, mapping=dataclasses.replace(a.mapping, objective=objective))
    return a, dataclasses.replace(with_precision(wl, input=p, weight=p, output=p), batch=b)


def _same(res, full):
    assert res.row() == full.row()
    for k, v in res.per_layer.items():
        assert np.array_equal(v, full.per_layer[k]), k


def test_floor_is_below_the_sequential_cycles(imagine, resnet8):
    """At every batch that spills (the rule's batches), the floor is at most the sequential plan's counted
    cycles, and it is the counted cycles less at most the spill cycles and the layers' mode differences."""
    seen = 0
    for n, p in ((1, 8), (2, 8), (3, 4), (4, 8)):
        for b in (2, 7, 25):
            a, w = _point(imagine, resnet8, n, p, b)
            plans, _ = analytic.policy_plans(a, w, steady=True, lazy=True)
            e = plans["sequential"]
            if not isinstance(e[1], analytic._Deferred):
                continue
            seen += 1
            (cb, ci), _t = batching.layer_cycles(e[1].plan, b)  # (before the rule changes the plan)
            pl = analytic.counted(w, e)[2]
            assert 0 < e[1].floor <= int(pl["cycles"].sum())
            # and the floor is exact on what it counts: the digital layers and the image I/O as counted
            comp = e[1].plan.comp_idx
            other = np.ones(len(pl["cycles"]), dtype=bool)
            other[comp] = False  # (the digital layers and the image I/O row, their spills left out)
            rest = int((pl["cycles"] - pl["spill_cycles"])[other].sum())
            assert e[1].floor == rest + int(np.minimum(cb, ci).sum())
    assert seen >= 6  # (batches 2 fit the SRAM: no rule, nothing left for later)


def test_a_losing_sequential_skips_its_batching_rule(imagine, resnet8, monkeypatch):
    """ResNet-8 at 8 bits on 3 macros, batch 9, and on 4, batch 25: the whole batch spills, so the sequential plan runs
    its batching rule (a search over the runs of layers that go image by image); a streamed policy wins by
    far.  The brief choice (a sweep's) never runs the rule; its Result is the full choice's, which does."""
    calls = []
    real = batching.apply
    monkeypatch.setattr(batching, "apply", lambda plan: calls.append(plan.batch) or real(plan))
    for n, b in ((3, 9), (4, 25)):
        a, w = _point(imagine, resnet8, n, 8, b)
        cold()
        calls.clear()
        best, res, _note, _plan = analytic.choose_policy(a, w, steady=True, brief=True)
        assert best in mapper.STREAM and calls == []
        cold()
        best_full, full, _note, _plan = analytic.choose_policy(a, w, steady=True)
        assert best_full == best and calls == [b]
        _same(res, full)


def test_a_losing_sequential_that_needs_no_rule_is_not_counted(imagine, resnet8, monkeypatch):
    """Batches 1 and 2 of 8-bit ResNet-8 fit the SRAM (no batching rule), on 4 macros a streamed policy wins
    by far: the brief choice leaves the sequential entry uncounted (analytic.UNCOUNTED_SEQUENTIAL: its floor
    above the winner's cycles), where the full choice counts it; the Results are the same.  With the switch
    off the sequential plan is counted at once."""
    counted = []
    real = analytic.counts
    monkeypatch.setattr(analytic, "counts", lambda ap, wl, plan: counted.append(plan.policy) or real(ap, wl, plan))
    for b in (1, 2):
        a, w = _point(imagine, resnet8, 4, 8, b)
        for on in (True, False):
            monkeypatch.setattr(analytic, "UNCOUNTED_SEQUENTIAL", on)
            cold()
            counted.clear()
            best, res, _note, _plan = analytic.choose_policy(a, w, steady=True, brief=True)
            assert best in mapper.STREAM and best in counted
            assert ("sequential" in counted) is not on, (b, on, counted)
            cold()
            best_full, full, _note, _plan = analytic.choose_policy(a, w, steady=True)
            assert best_full == best
            _same(res, full)


def test_a_sequential_plan_alone_is_counted_at_once(imagine, resnet8):
    """On one macro 8-bit ResNet-8 cannot stay resident (every resident policy is skipped): the sequential
    plan, at batch 1 (no rule) and at batch 25 (the whole batch spills: the rule run), is counted at once,
    with no floor to compute first; on 4 macros it is left behind its floor (tests above)."""
    for n, b, alone in ((1, 1, True), (1, 25, True), (4, 1, False), (4, 25, False)):
        a, w = _point(imagine, resnet8, n, 8, b)
        cold()
        plans, _ = analytic.policy_plans(a, w, steady=True, lazy=True)
        assert isinstance(plans["sequential"][1], analytic._Deferred) is not alone, (n, b)
        assert (list(plans) == ["sequential"]) is alone, (n, b)
        if alone:  # (the rule run: the plan is the full choice's)
            cold()
            _same(analytic.choose_policy(a, w, steady=True, brief=True)[1],
                  analytic.choose_policy(a, w, steady=True)[1])


def test_settle_counts_where_the_floor_may_win(imagine, resnet8):
    """`_settle` counts the sequential entry when its floor is at most the fewest cycles of the others (it
    may win or tie), and leaves it otherwise (it cannot)."""
    a, w = _point(imagine, resnet8, 4, 8, 9)
    plans, _ = analytic.policy_plans(a, w, steady=True, lazy=True)
    seq = plans["sequential"]
    assert isinstance(seq[1], analytic._Deferred)
    floor = seq[1].floor
    for other, counted in ((floor - 1, False), (floor, True)):  # (fewer: it cannot win; equal: it may tie)
        fake = {"sequential": seq, "replicate": (None, None, {"cycles": np.array([other])}, None, None)}
        analytic._settle(w, fake)
        assert isinstance(fake["sequential"][1], analytic._Deferred) is not counted
        if counted:
            assert analytic.cycles_of(fake["sequential"]) >= floor
    alone = {"sequential": seq}
    analytic._settle(w, alone)  # no other policy: counted
    assert not isinstance(alone["sequential"][1], analytic._Deferred)


def test_a_counted_sequential_is_finished(imagine, resnet8):
    """Where the sequential entry is counted -- alone (8-bit ResNet-8 needs 3 macros to stay resident: one
    macro, batch 25), or with an objective other than throughput (every policy counted) -- its plan runs
    the batching rule first: the brief choice gives the full choice's Result."""
    for n, objective in ((1, None), (4, "energy"), (4, "edp")):
        a, w = _point(imagine, resnet8, n, 8, 25, objective)
        cold()
        best, res, _n, _p = analytic.choose_policy(a, w, steady=True, brief=True)
        cold()
        best_full, full, _n, _p = analytic.choose_policy(a, w, steady=True)
        assert best == best_full and (n > 1 or best == "sequential")
        _same(res, full)


def test_sweep_rows_are_each_points_own_run(imagine, resnet8, tmp_path):
    """A sweep over the batch (what its points share: the steady state of a stream per structure, the
    assignments, the sequential rule left for later) gives each point the row of the best pinned policy run
    alone from cold caches: a batch that took another batch's makespan, line buffers or sequential cycles
    would differ.  8-bit ResNet-8 on 1 macro (sequential alone) and 4 (a stream wins); batches 2 (no spill),
    7 and 11 (the sequential batch spills: the rule left for later, run where sequential is alone)."""
    job = _job(imagine, resnet8, ["macro.count=1,4", "workload.precision=8", "workload.batch=2,7,11"])
    won = _rows_are_the_exhaustive_best(job, tmp_path)
    assert "sequential" in won and won & set(mapper.STREAM), won
