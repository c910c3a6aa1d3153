"""`auto` where only the sequential policy fits (a sweep's one-macro points whose weights need more macros than
there are: most of benchmarks/bench_sweep.py PREC_ADC_DMA): analytic.policy_plans refuses every resident
policy at once with the one reason the test gives (`_none_fits`), and the brief choice makes the sequential
Result alone, with no cycles to compare (`_brief_choice`); both the pinned sequential run's numbers.

Which test fails when a mechanism is removed:
- the resident policies refused one by one again (the loop of policy_plans not stopped, the reason made per
  policy): test_resident_policies_refused_at_once;
- the brief choice comparing cycles of a single policy again (`_settle`, `contenders`):
  test_a_lone_sequential_is_chosen_without_comparing;
- a reason or a row that ignores the point's own precision or ADC speed: both tests compare two points with
  the refusal of each policy's own plan and with the pinned sequential run of each point;
- the brief run of a point whose kept structure needs more macros than there are going through policy_plans
  again (tlm/engines/alone.py), or taking that path where the weights fit, or the next point of the same
  structure looking at the kept structure again: test_a_kept_structure_that_cannot_fit_runs_the_pinned_plan.
"""
import dataclasses
import re

import pytest

from tlm.config.arch import load_arch
from tlm.config.overrides import with_precision
from tlm.engines import analytic
from tlm.errors import InputError
from tlm.mapping import mapper, template
from tlm.mapping.plan import build_plan
from tlm.services.bench import cold


@pytest.fixture(scope="module")
def imagine(root):
    return load_arch(root / "configs" / "imagine.yaml")  # one macro, auto, objective throughput


def _point(arch, wl, p, adc):
    a = dataclasses.replace(arch, adc=dataclasses.replace(arch.adc, cycles_per_bit=adc))
    return a, with_precision(wl, input=p, weight=p, output=p)


def _own_refusal(arch, wl, p):
    """(tiles, macros) named by policy `p`'s own plan when it refuses the point (assign's message)."""
    with pytest.raises(InputError) as e:
        build_plan(mapper.with_policy(arch, p), wl)
    tiles, need = re.search(r"the (\d+) weight tiles of .* need at least (\d+) macros", e.value.message).groups()
    return int(tiles), int(need)


def test_resident_policies_refused_at_once(imagine, resnet8, monkeypatch):
    """At 3 and 8 bits ResNet-8's weights need more than the one macro: policy_plans builds the sequential plan
    only, and one call of `_none_fits` refuses resident, pipelined and replicate, each with the tiles and
    macros its own plan names when it refuses (more tiles at 8 bits than at 3: the point's own precision)."""
    calls = []
    real = analytic._none_fits
    monkeypatch.setattr(analytic, "_none_fits", lambda *a: calls.append(a[-1]) or real(*a))
    seen = set()
    for p in (3, 8):
        a, w = _point(imagine, resnet8, p, 1)
        cold()
        calls.clear()
        plans, skipped = analytic.policy_plans(a, w, steady=True, lazy=True)
        assert list(plans) == ["sequential"]
        assert len(calls) == 1 and set(calls[0]) == {"resident", "pipelined", "replicate"}
        assert [q for q, _ in skipped] == [q for q in mapper.CONCRETE if q != "sequential"]
        for q, why in skipped:
            tiles, need = map(int, re.search(r"the (\d+) weight tiles .* at least (\d+) macros", why).groups())
            assert (tiles, need) == _own_refusal(a, w, q) and need > a.macro.count
        seen.add(tiles)
    assert len(seen) == 2  # (3 bits: fewer weight columns, fewer tiles)


def test_a_lone_sequential_is_chosen_without_comparing(imagine, resnet8, monkeypatch):
    """Two points where only sequential fits (3 bits, ADC 1 and 5 cycles per bit): the brief choice counts the
    sequential plan once, compares nothing, and its row is the pinned sequential run's of that point (the
    slower ADC: more cycles)."""
    def no(*_a):
        raise AssertionError("compared cycles of a lone policy")
    rows = []
    for adc in (1, 5):
        a, w = _point(imagine, resnet8, 3, adc)
        cold()
        with monkeypatch.context() as m:
            m.setattr(analytic, "_settle", no)
            m.setattr(analytic, "contenders", no)
            best, res, note, plan = analytic.choose_policy(a, w, steady=True, brief=True)
        assert best == "sequential" and note is None and plan.policy == "sequential"
        cold()
        pinned = analytic.simulate(mapper.with_policy(a, "sequential"), w)
        assert res.row() == pinned.row()
        rows.append(res.row())
    assert rows[0]["cycles_per_batch"] < rows[1]["cycles_per_batch"]


def test_a_kept_structure_that_cannot_fit_runs_the_pinned_plan(imagine, resnet8, monkeypatch):
    """Points of one structure (3 bits, ADC 1, 3, 5 cycles per bit): the first point's plan keeps the structure
    with its residency bound -- the macros resident's own plan says the weights need, more than the one
    macro --, and the brief runs of the others build the pinned sequential plan and Result (tlm/engines/alone.py)
    with no policy_plans; their rows are the pinned runs'.  At 2 bits the weights fit the macro: every point
    goes through policy_plans, its structure kept or not.  The third point reads the second's answer (the
    same structure: template.same_structure), not the kept structure."""
    calls, peeks = [], []
    real, peek = analytic.policy_plans, template.kept_structure
    monkeypatch.setattr(analytic, "policy_plans", lambda *a, **k: calls.append(a[0]) or real(*a, **k))
    monkeypatch.setattr(template, "kept_structure", lambda *a: peeks.append(a[0]) or peek(*a))
    for p, alone in ((3, True), (2, False)):
        cold()
        calls.clear()
        peeks.clear()
        pts = [_point(imagine, resnet8, p, adc) for adc in (1, 3, 5)]
        w = pts[0][1]
        pts = [(a, w) for a, _w in pts]  # (one workload object: the structure's layers)
        rows = [analytic.choose_policy(a, w, steady=True, brief=True)[1].row() for a, _w in pts]
        # (the first point finds no structure kept, the second reads it, the third the second's answer)
        assert peeks == [a for a, _w in pts[:2]]
        st = peek(pts[0][0], w)
        if alone:
            assert st["bound"] == _own_refusal(pts[0][0], w, "resident")[1] > imagine.macro.count
            assert calls == [pts[0][0]]
            cold()
            assert rows == [analytic.simulate(mapper.with_policy(a, "sequential"), w).row() for a, _w in pts]
        else:
            assert st["bound"] <= imagine.macro.count and calls == [a for a, _w in pts]
            assert {r["policy"] for r in rows} == {"pipelined"}
