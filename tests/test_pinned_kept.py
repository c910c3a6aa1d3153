"""A pinned streamed run's plan reads what its look made before a sweep's points ran (tlm/engines/pretime.py:
the assignments' memo and the row cycles, kept per architecture by tlm/engines/analytic._kept), and the
residency bound of its structure (tlm/mapping/template.py), as auto's plans do (tlm/mapping/mapper._pinned,
resident_schedule): the same rows.

Which test fails when a mechanism is wrong:
- the kept memo or row cycles of another point read (or read at all): test_pinned_points_equal_their_own_runs
  (rows), and it fails too when nothing is read (the mechanism switched off checks nothing);
- a recording architecture's plan taking them (the fields the row cycles and the assignment read then go
  unrecorded: a point that differs in them would share a stale plan): test_a_recording_plan_reads_its_own;
- the structure's bound given to another structure, or a refusal that skips its message:
  test_the_structure_keeps_its_bound;
- the kept bound not read (each plan bounding again: slower, the same rows):
  test_the_structure_bound_is_read_not_recomputed.
"""
import pytest

from helpers import with_changes
from tlm.config.overrides import with_precision
from tlm.engines import registry
from tlm.engines.analytic import _kept
from tlm.engines.registry import run, run_group
from tlm.errors import InputError
from tlm.mapping import mapper, reuse
from tlm.mapping.plan import build_plan, structure
from tlm.services.bench import cold


@pytest.mark.parametrize("policy", ["pipelined", "replicate"])
def test_pinned_points_equal_their_own_runs(arch, resnet8, policy, monkeypatch):
    """2 macro counts x 3 ADC speeds x 2 DP speeds pinned to a streamed policy: run_group's rows (each plan
    reading its look's memo and row cycles) are each point's own run's (cold caches, no look); and the
    plans did read them."""
    wl = with_precision(resnet8, 4)
    archs = [with_changes(mapper.with_policy(arch, policy), **{"macro.count": n, "adc.cycles_per_bit": adc,
                                                               "macro.dp_cycles_per_bit": dp})
             for n in (3, 4) for adc in (1, 2, 3) for dp in (4, 12)]
    want = []
    for a in archs:
        cold()
        want.append(run("analytic", a, wl).row())
    adopted = []
    real = mapper._pinned
    monkeypatch.setattr(mapper, "_pinned", lambda a, m, shared: adopted.append(
        "inputs" in shared.get("pinned", {})) or real(a, m, shared))
    cold()
    got = run_group(archs, wl, state={"alone": registry.GIVE_UP}, brief=True)
    assert [r.row() for r in got] == want
    assert sum(adopted) >= len(archs) // 2


def test_a_recording_plan_reads_its_own(arch, resnet8):
    """A plan built on a recording architecture (tlm/mapping/reuse.recording) leaves the pinned run's kept
    memo and row cycles alone: it reads the ADC's fields itself (noted), and assigns on its own."""
    wl = with_precision(resnet8, 4)
    a = with_changes(mapper.with_policy(arch, "pipelined"), **{"macro.count": 4})
    cold()
    kept = _kept(lambda x: x, a, wl)
    m = structure(a, wl)["mapping"]
    comp = [i for i, l in enumerate(wl.layers) if l.is_compute]
    stale = {i: (1, 1) for i in comp}  # (row cycles no point has: read, they would change the schedule)
    kept["inputs"] = (m, comp, stale, [0] * len(wl.layers))
    read = set()
    plan = build_plan(reuse.recording(a, read), wl, shared={"pinned": kept})
    assert ("adc", "cycles_per_bit") in read
    assert plan.schedule.makespan == build_plan(a, wl).schedule.makespan
    assert build_plan(a, wl, steady=True, shared={"pinned": kept}).schedule.makespan != plan.schedule.makespan
    kept.clear()


def test_the_structure_keeps_its_bound(arch, resnet8):
    """A streamed plan keeps its structure's residency bound (tlm/mapping/template.py), also where the tiles
    do not fit (its refusal says why, as without it); a plan of another macro count asks its own."""
    wl = with_precision(resnet8, 8)
    one = mapper.with_policy(arch, "pipelined")  # (ResNet-8 at 8 bits needs more than one macro)
    cold()
    with pytest.raises(InputError) as first:
        build_plan(one, wl, steady=True)
    st = structure(one, wl)["_structure"]
    assert st["bound"] == mapper.residency_bound(one, structure(one, wl)["mapping"]) > 1
    with pytest.raises(InputError) as again:
        build_plan(with_changes(one, **{"adc.cycles_per_bit": 3}), wl, steady=True)  # (its structure's bound)
    assert again.value.message == first.value.message
    many = with_changes(one, **{"macro.count": st["bound"] + 8})
    assert build_plan(many, wl, steady=True).mapping_desc["macros_for_residency"] >= st["bound"]
    assert structure(many, wl)["_structure"] is not st


def test_the_structure_bound_is_read_not_recomputed(arch, resnet8, monkeypatch):
    """Once plans are built plainly (a sweep past reuse.GIVE_UP plans without a reuse), the next streamed plan
    of a structure (another DP speed: a timing setting) reads the bound its structure kept: assign neither
    packs nor bounds again (its residency_bound is not called).  (A plan built through a recording reads
    and notes everything itself.)"""
    from tlm.mapping import assign
    wl = with_precision(resnet8, 4)
    a = with_changes(mapper.with_policy(arch, "pipelined"), **{"macro.count": 4})
    cold()
    for dp in range(1, reuse.GIVE_UP + 3):
        build_plan(with_changes(a, **{"macro.dp_cycles_per_bit": dp}), wl, steady=True)
    calls = []
    real = assign.residency_bound
    monkeypatch.setattr(assign, "residency_bound", lambda *x: calls.append(1) or real(*x))
    build_plan(with_changes(a, **{"macro.dp_cycles_per_bit": reuse.GIVE_UP + 5}), wl, steady=True)
    assert calls == []
