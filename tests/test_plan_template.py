"""Points that differ in timing settings only share their plan's structure, re-timed (tlm/mapping/template.py,
Plan._timing), and equal assignments are one object (tlm/mapping/assign._interned): every plan, Result and
sweep row is the one built from scratch.

Which test fails when a mechanism is removed or wrong:
- a timing setting the structure reads (its fields then kept from another point), or a section left out of
  the key that it reads: test_the_structure_reads_no_timing_setting;
- a timed field kept from the first point, or computed from the wrong architecture:
  test_retimed_plans_are_plans_built_from_scratch (field by field, sequential and pipelined), which also
  fails when nothing is shared (the Mapping is the first point's object);
- auto on re-timed plans, where its choice flips between the points: test_auto_rows_where_the_choice_flips;
- the sweep's rows (pretime reading the structure's Mapping and bound): test_sweep_rows_with_and_without;
- the interning (an assignment kept for other contents, or none kept): test_equal_assignments_are_one_object;
- registry._pretime counting a look with nothing to time as a miss (the next structure's streams then not
  timed together): test_a_look_with_nothing_to_time_counts_neither_way;
- schedule.MAX_IMAGES below two pretime groups' one-image costs (the next group's points make theirs again):
  test_a_pretime_groups_costs_stay_kept_for_its_points;
- a re-timed plan without its own range check (a timing setting that takes the run beyond the exact int64
  range refused only when its point builds the structure): test_a_retimed_plan_beyond_the_exact_range_is_refused;
- the give-up on structures no other point reads (kept on: every structural sweep pays for them; never
  probed: a timing run after it shares nothing): test_structures_no_other_point_reads_are_given_up_then_probed.
"""
import dataclasses

import numpy as np
import pytest

from helpers import with_changes
from tlm.config.arch import load_arch
from tlm.config.workload import parse_workload
from tlm.engines.registry import run
from tlm.errors import InputError
from tlm.mapping import mapper, reuse, template
from tlm.mapping.plan import EXACT_LIMIT, Plan
from tlm.mapping.rules import digital_ops
from tlm.services.bench import cold


@pytest.fixture(scope="module")
def imagine(root):
    return load_arch(root / "configs" / "imagine.yaml")  # auto, objective throughput


def _same(a, b, path="plan"):
    """a and b equal field by field (arrays by value and dtype), or an AssertionError naming where."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        assert isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype == b.dtype, path
        assert np.array_equal(a, b), path
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), path
        for k, (x, y) in enumerate(zip(a, b)):
            _same(x, y, f"{path}[{k}]")
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            _same(a[k], b[k], f"{path}[{k!r}]")
    elif dataclasses.is_dataclass(a) or hasattr(a, "__slots__") and not isinstance(a, (int, float, str)):
        assert type(a) is type(b), path
        names = ([f.name for f in dataclasses.fields(a)] if dataclasses.is_dataclass(a)
                 else [s for c in type(a).__mro__ for s in getattr(c, "__slots__", ())])
        for n in names:
            _same(getattr(a, n, None), getattr(b, n, None), f"{path}.{n}")
    else:
        assert a == b, (path, a, b)


def _plan_fields(p):
    return {k: v for k, v in vars(p).items() if k not in ("arch", "_structure")}


def test_the_structure_reads_no_timing_setting(imagine, resnet8, monkeypatch):
    """What a structure keeps -- the base but its timed fields (Plan._base without Plan._timing and the range
    check, which each point runs), the residency bound and sequential's description and assignment
    (template.sequential_desc, sequential_assignment) -- reads no timing setting and no section the key
    leaves out."""
    monkeypatch.setattr(template, "ON", False)
    for a in (with_changes(imagine, **{"macro.count": 4}), imagine):
        read = set()
        rec = reuse.recording(a, read)
        p = Plan.__new__(Plan)
        p.arch, p.wl, p.policy = rec, resnet8, "sequential"
        monkeypatch.setattr(Plan, "_timing", lambda self, arch, check=False: None)
        monkeypatch.setattr(Plan, "_check_range", lambda self, m: None)
        p._base(rec, resnet8, None)
        monkeypatch.undo()
        monkeypatch.setattr(template, "ON", False)
        p._structure = {}
        template.sequential_desc(p, rec, resnet8, {})
        template.sequential_assignment(p, rec.macro.count)
        timing = {tuple(s.split(".")) for s in template.TIMING_SETTINGS}
        assert read and not read & timing, read & timing
        assert not {s for s, _f in read} & template.UNREAD
        # (the timed fields do read timing settings: the split is not vacuous)
        read2 = set()
        p._timing(reuse.recording(a, read2), check=True)
        assert {("adc", "cycles_per_bit"), ("macro", "dp_cycles_per_bit")} <= read2


# points of one structure (4 macros): each timing setting changed on its own
TIMING_POINTS = [{}, {"adc.cycles_per_bit": 3}, {"macro.dp_cycles_per_bit": 4}, {"dma.bandwidth_bits_per_cycle": 8},
                 {"macro.weight_write_bits_per_cycle": 16}, {"macro.op_overhead_cycles": 2}, {"adc.fixed_cycles": 4},
                 {"dma.latency_cycles": 200}, {"postproc.ops_per_cycle": 2}]


@pytest.mark.parametrize("policy", ["sequential", "pipelined"])
def test_retimed_plans_are_plans_built_from_scratch(imagine, resnet8, monkeypatch, policy):
    """Every timing point's plan, built on the structure kept from the first point, equals the plan built
    from cold caches with no structure kept, field by field (its schedule too); the Mapping is the first
    point's object (shared), the timed fields each point's own (the ADC point's conversion cycles differ)."""
    base = mapper.with_policy(with_changes(imagine, **{"macro.count": 4}), policy)
    archs = [with_changes(base, **ch) for ch in TIMING_POINTS]
    monkeypatch.setattr(template, "ON", False)
    fresh = []
    for a in archs:
        cold()
        fresh.append(Plan(a, resnet8, None, policy, steady=True))
    monkeypatch.setattr(template, "ON", True)
    cold()
    kept = [Plan(a, resnet8, None, policy, steady=True) for a in archs]
    for k, (p, q) in enumerate(zip(kept, fresh)):
        assert p._structure is kept[0]._structure is not None and q._structure is None
        _same(_plan_fields(p), _plan_fields(q), f"point {k}")
        assert k == 0 or p.mapping is kept[0].mapping  # (shared, not rebuilt)
    assert not np.array_equal(kept[1].t_cv, kept[0].t_cv)
    assert not np.array_equal(kept[2].t_dp, kept[0].t_dp)


def test_auto_rows_where_the_choice_flips(imagine, resnet8, monkeypatch):
    """auto on 5 macros at 1-bit precision over ADC and DP speeds (one structure): its choice flips between
    replicate and pipelined across the points, and every point's Result is the one from scratch."""
    from tlm.config.overrides import with_precision
    wl = with_precision(resnet8, input=1, weight=1, output=1)
    archs = [with_changes(imagine, **{"macro.count": 5, "adc.cycles_per_bit": c, "macro.dp_cycles_per_bit": d})
             for c in (1, 3, 5) for d in (4, 12, 20)]

    def rows():
        out = []
        for a in archs:
            r = run("analytic", a, wl)
            out.append((r.extra["mapping"]["policy"], r.summary(), r.per_layer["cycles"].tolist(),
                        r.energy_pj.tolist(), r.notes))
        return out
    monkeypatch.setattr(template, "ON", False)
    cold()
    want = rows()
    monkeypatch.setattr(template, "ON", True)
    cold()
    got = rows()
    assert got == want
    assert len({x[0] for x in got}) >= 2, {x[0] for x in got}  # (the choice flips within the structure)


def test_sweep_rows_with_and_without(imagine, resnet8, monkeypatch):
    """A sweep's points run one by one (tlm/engines/registry.run_group: 2 structures x 4 timing points per
    precision, their streams timed together by tlm/engines/pretime.py, which reads the structure's Mapping
    and bound), auto and pinned sequential: the same rows with the structures shared as without."""
    from tlm.config.overrides import with_precision
    from tlm.engines import pretime, registry
    from tlm.services.sweep.evaluate import result_row
    timed = []
    real = pretime.pretime_streams
    monkeypatch.setattr(pretime, "pretime_streams", lambda *a, **k: timed.append(real(*a, **k)) or timed[-1])
    for pol in ("auto", "sequential"):
        for bits in (1, 4):
            wl = with_precision(resnet8, input=bits, weight=bits, output=bits)
            archs = [with_changes(mapper.with_policy(imagine, pol), **{
                "macro.count": n, "adc.cycles_per_bit": c, "macro.dp_cycles_per_bit": d})
                for n in (2, 5) for c in (1, 4) for d in (4, 20)]
            rows = []
            for on in (False, True):
                monkeypatch.setattr(template, "ON", on)
                cold()
                got = registry.run_group(archs, wl, state={"alone": registry.GIVE_UP}, brief=True)
                rows.append([result_row(r) for r in got])
            assert rows[0] == rows[1], (pol, bits)
    assert max(timed) > 0  # (streams were timed together: pretime read the structures)


def test_equal_assignments_are_one_object(imagine, resnet8):
    """Two points whose row cycles differ (the ADC's cycles per bit) and whose pipelined assignments are equal
    (computed from cold caches) get one Assignment object: what is kept on it (place_keys, job_places,
    round0, the placed layers) is made once; a point whose assignment differs gets its own."""
    ops = [digital_ops(l) for l in resnet8.layers]

    def asg(a, policy="pipelined"):
        m, comp = mapper.comp_mapping(a, resnet8)
        return mapper.assign(mapper.with_policy(a, policy), resnet8, policy, ops, m=m,
                             rc=mapper.layer_row_cycles(a, resnet8, m, comp))
    a1, a2 = (with_changes(imagine, **{"macro.count": 4, "adc.cycles_per_bit": c}) for c in (1, 2))
    cold()
    cold1 = asg(a1)
    cold()
    cold2 = asg(a2)
    assert cold1 == cold2 and cold1 is not cold2  # (equal contents: the premise)
    cold()
    first = asg(a1)
    assert asg(a2) is first
    other = asg(a1, "replicate")
    assert other is not first and other != first


def test_a_look_with_nothing_to_time_counts_neither_way(imagine, resnet8):
    """registry._pretime: calls none of whose points has a streamed schedule (one macro at 8 bits: no
    streamed policy fits) leave the count of calls that timed few unchanged, so the next structure whose
    streams fit is timed together (with them counted as misses it would be skipped: PRETIME_GIVE_UP)."""
    from tlm.config.overrides import with_precision
    from tlm.engines import analytic, registry
    from tlm.mapping import schedule
    none_fit = [with_changes(imagine, **{"adc.cycles_per_bit": c}) for c in (1, 2, 3)]
    wl8 = with_precision(resnet8, input=8, weight=8, output=8)
    fit = [with_changes(imagine, **{"macro.count": 4, "adc.cycles_per_bit": c}) for c in (1, 2, 3)]
    wl2 = with_precision(resnet8, input=2, weight=2, output=2)
    cold()
    st = {}
    for _ in range(registry.PRETIME_GIVE_UP + 1):
        registry._pretime(analytic, none_fit, wl8, None, st)
    assert st["pretime"][0] == 0
    registry._pretime(analytic, fit, wl2, None, st)
    assert st["pretime"] == (0, 0) and schedule._PRETIMED  # (timed together)


def test_a_pretime_groups_costs_stay_kept_for_its_points(imagine, resnet8, monkeypatch):
    """Two structures of 20 points each (5 and 4 macros, both streamed policies fitting), one after the other
    as a sweep runs them: what pretime made of each point's one image (schedule._kept_image: 2 per point) is
    still kept when the points run, so their schedules make no job costs again (with schedule.MAX_IMAGES 64
    the second structure's first points find theirs dropped)."""
    from tlm.config.overrides import with_precision
    from tlm.engines import registry
    from tlm.mapping import schedule
    wl = with_precision(resnet8, input=1, weight=1, output=1)
    monkeypatch.setattr(reuse, "GIVE_UP", 0)  # (every plan built plainly: none recorded for reuse.shared_plan)
    events, phase = [], [None]
    real_pretime, real_costs = registry._pretime, schedule._kept_costs

    def pretime(*a):
        phase[0] = "pretime"
        real_pretime(*a)
        phase[0] = "runs"
        events.append("pretime")

    def costs(*a):
        if phase[0] == "runs":
            events.append("costs")
        return real_costs(*a)
    monkeypatch.setattr(registry, "_pretime", pretime)
    monkeypatch.setattr(schedule, "_kept_costs", costs)
    cold()
    st = {"alone": registry.GIVE_UP}
    for n in (5, 4):
        archs = [with_changes(imagine, **{"macro.count": n, "adc.cycles_per_bit": c, "macro.dp_cycles_per_bit": d})
                 for c in (1, 2, 3, 4) for d in (4, 8, 12, 16, 20)]
        registry.run_group(archs, wl, state=st, brief=True)
    assert events == ["pretime", "pretime"]  # (once per structure, and no one-image costs made after it)


def test_structures_no_other_point_reads_are_given_up_then_probed(imagine, resnet8):
    """template.GIVE_UP: after that many structures kept in a row that no other point read (batches
    1, 2, ...: each its own structure), plans stop keeping theirs (no key); a run of timing points that
    follows shares one again within PROBE plans, and then every plan shares it."""
    from tlm.config.overrides import with_precision
    a = mapper.with_policy(imagine, "sequential")
    cold()
    for b in range(1, template.GIVE_UP + 2):
        Plan(a, with_precision(resnet8, batch=b), None, "sequential", steady=True)
    assert template._RUN[0] >= template.GIVE_UP
    keys = [template.key(a, resnet8) for _ in range(template.PROBE)]
    assert sum(k is not None for k in keys) == 2  # (a probe: two looks in PROBE)
    plans = [Plan(with_changes(a, **{"adc.cycles_per_bit": c}), resnet8, None, "sequential", steady=True)
             for c in range(1, template.PROBE + 5)]
    assert template._RUN == [0, 0]
    assert plans[-1].mapping is plans[-2].mapping is plans[-3].mapping  # (shared again)


def test_a_retimed_plan_beyond_the_exact_range_is_refused(imagine):
    """A point that shares a kept structure still gets its own range check (Plan._timing(check=True)).  One
    converter per macro, a 1x1 conv of one input channel: 256 x 256 pixels x batch 16 x 4096 output channels
    = 2^32 conversions, one after the other; at 2^31 - 1 cycles per decision and sampling, an 8b conversion
    takes 9 x (2^31 - 1) cycles: 2^32 x 9 x (2^31 - 1) ~ 8.3e19 > EXACT_LIMIT (2^62 ~ 4.6e18), while the
    shipped timing (a few cycles per decision) stays far below it."""
    a = with_changes(imagine, **{"adc.converters_per_macro": 1})
    slow = with_changes(a, **{"adc.cycles_per_bit": 2**31 - 1, "adc.fixed_cycles": 2**31 - 1})
    wl = parse_workload({"name": "pw", "batch": 16, "input": {"shape": [1, 256, 256]},
                         "layers": [{"type": "conv2d", "out_channels": 4096, "kernel": 1}]})
    assert 2**32 * 9 * (2**31 - 1) > EXACT_LIMIT
    cold()
    k = template.key(a, wl)
    assert k is not None and k == template.key(slow, wl)  # one structure
    Plan(a, wl)
    assert template.get(k, wl) is not None  # kept: the slow point re-times it
    with pytest.raises(InputError, match="count exactly"):
        Plan(slow, wl)
