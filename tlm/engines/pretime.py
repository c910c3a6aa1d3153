"""Before the analytic engine runs a sweep's structural points one by one (tlm/engines/registry.run_group):
the one-image schedules of their streamed policies timed together where points share a schedule's
structure (tlm/mapping/schedule.pretime).  Each point's own run (tlm/engines/analytic.policy_plans) then
reads its schedule's times, and what was made on the way, from where it keeps them: the same numbers.
Under `auto` it reads each streamed policy's makespan too (`_keep_makespans`), and builds the schedule of
the policy that wins only.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from tlm.engines import analytic as A  # (its helpers: `_kept`, `_with_policy`, `_same_places`; PRUNE read when run)
from tlm.errors import InputError
from tlm.mapping import mapper, pointgroup, schedule
from tlm.mapping.assign import layer_works
from tlm.mapping.plan import structure
from tlm.mapping.template import TIMING_SETTINGS
from tlm.mapping.linebuf import makespan_cycles, stream_spill
from tlm.mapping.rules import digital_ops


def pretime_streams(archs, wl, input_density=None, seen=None) -> int:
    """Before the points `archs` (of one workload) run one by one (tlm/engines/registry.run_group): the
    one-image schedules of their streamed policies (`auto`'s that fit, or the pinned one) timed together,
    the points that share a schedule's structure -- its skeleton: a sweep's points that differ in ADC, DP
    or DMA cycles only -- as a numpy axis (tlm/mapping/schedule.pretime).  Each point's own run then finds
    its schedule timed (or, refused there, list-schedules it): the same numbers.  What this computes on the
    way -- the compute layers' Mapping and row cycles, the assignments, the skeletons and job costs -- is
    kept where each point's run reads it (analytic._kept, assign's memo, schedule.one_image); the row cycles
    and job costs of a structure's points computed together (`_stream_costs`).  One image only (a batch's
    streams are tlm/mapping/steady.py's).  Returns how many schedules were timed together; `seen`: a list
    that receives how many points had a streamed schedule to time."""
    schedule.clear_pretimed()
    if wl.batch != 1 or input_density is not None:
        return 0
    groups, each = {}, _stream_costs(archs, wl)
    for _arch, _kept, got in each:
        for _p, sk, cost in got:
            groups.setdefault(id(sk), (sk, []))[1].append(cost)
    timed = sum(schedule.pretime(sk, costs, wl) for sk, costs in groups.values() if len(costs) > 1)
    if seen is not None:
        seen.append(sum(1 for _a, _k, got in each if got))
    if timed:
        _keep_makespans(each, wl)
    return timed


def _keep_makespans(each, wl) -> None:
    """Each `auto` point's makespan of each streamed policy timed together, kept where its run reads it
    (analytic._kept, per batch and image: analytic._pending), so that its run reads the cycles of a policy
    that loses without building its schedule (`_pretimed_makespan`: the numbers build_schedule gives)."""
    for arch, kept, got in each:
        if arch.mapping.policy != "auto" or not got:
            continue
        for p, sk, cost in got:
            ms = _pretimed_makespan(arch, wl, sk, cost)
            if ms is not None:
                kept[A.makespan_key(p, wl)] = ms


def _stream_costs(archs, wl) -> list:
    """[(arch, its kept dict, [(policy, one-image skeleton, its jobs' cycles)])] of the points `archs` but those
    whose look raises (their own runs say why): the streamed policies each point's run evaluates, reached as that run
    reaches them (tlm/engines/analytic.policy_plans, mapper.resident_schedule; replicate not when it is
    pipelined's run, analytic._as_pipelined).  The row cycles of a structure's points (tlm/mapping/template.py)
    are computed together, and so are the job costs of its points that get the same assignment
    (tlm/mapping/pointgroup.py: each point's own numbers), kept where each point's run reads them."""
    looks = []
    for arch in archs:
        try:
            looks.append(_look(arch, wl))
        except InputError:
            continue
    _row_cycles_together([lk for lk in looks if lk.todo], wl)
    _spreads_together([lk for lk in looks if "pipelined" in lk.todo and lk.arch.mapping.policy == "auto"], wl)
    asgs, costs = [], {}
    for k, lk in enumerate(looks):
        try:
            asgs.append(_assigned(lk.arch, wl, lk.todo, lk.kept, lk.shared, lk.memo))
        except InputError:
            asgs.append(None)  # (its own run says why)
            continue
        for p, ap, asg in asgs[-1]:
            costs.setdefault((p, id(asg)), []).append((k, ap, asg))
    got = {}
    for (p, _id), members in costs.items():
        _costs_together(p, members, looks, wl, got)
    return [(look.arch, look.kept, [got[(k, p)] for p, _ap, _asg in asgs[k] if got[(k, p)] is not None])
            for k, look in enumerate(looks) if asgs[k] is not None]


class _Look(NamedTuple):
    """A point about to be timed with others (`_look`)."""
    arch: object
    todo: list  # the streamed policies its run evaluates (none: no compute layer, or none fits)
    kept: dict = None  # its analytic._kept dict
    shared: dict = None  # its plans' shared dict (assign's memo in it)
    memo: dict = None  # assign's memo
    mapping: object = None  # the compute layers' Mapping of its structure (tlm/mapping/template.py)
    ops: list = None  # the digital ops per layer of its structure


def _look(arch, wl) -> _Look:
    """A point's `_Look` (no streamed policy when it has no compute layer, or when the residency bound of its
    structure exceeds its macros)."""
    pol = arch.mapping.policy
    todo = [p for p in mapper.STREAM if pol in ("auto", p)]
    if not todo or not any(l.is_compute for l in wl.layers):
        return _Look(arch, [])
    kept = A._kept(lambda a: a, arch, wl)
    shared = {"kept": kept, "assign": kept.setdefault("assign", {})}
    # (kept for the points of its structure, tlm/mapping/template.py; asked on the architecture its plans are
    # built on, whose structure's key is then kept for them: auto's sequential one)
    base = structure(A._with_policy(shared, arch, "sequential") if pol == "auto" else arch, wl)
    st = base["_structure"]
    if "bound" not in st:
        st["bound"] = mapper.residency_bound(arch, base["mapping"])
    if st["bound"] > arch.macro.count:
        return _Look(arch, [])  # no streamed policy fits (its run skips them as cheaply)
    memo = shared["assign"]  # (a pinned run's plan reads it too: tlm/mapping/mapper._pinned)
    memo["bound"] = st["bound"]  # (what assign reads first: kept in its memo)
    if "inputs" not in kept and st.get("ops") is None:
        st["ops"] = [digital_ops(l) for l in wl.layers]
    return _Look(arch, todo, kept, shared, memo, base["mapping"], st.get("ops"))


def _row_cycles_together(looks, wl) -> None:
    """The inputs of analytic._inputs (the Mapping, compute layers, row cycles, digital ops) of the points
    `looks` (`_look`) that have none kept, made: the row cycles of the points of one Mapping (one structure)
    at once (pointgroup.row_cycles), else each point's on its own (mapper.layer_row_cycles)."""
    by = {}
    for lk in looks:
        if "inputs" not in lk.kept:
            by.setdefault(id(lk.mapping), []).append(lk)
    comp = [i for i, l in enumerate(wl.layers) if l.is_compute]
    for group in by.values():
        m, ops = group[0].mapping, group[0].ops
        rcs = pointgroup.row_cycles([lk.arch for lk in group], wl, m, comp, TIMING_SETTINGS) if group[1:] else None
        for k, lk in enumerate(group):
            rc = pointgroup.as_dict(rcs[k], comp) if rcs is not None else mapper.layer_row_cycles(lk.arch, wl, m, comp)
            lk.kept["mapping"] = m  # (the plans': policy_plans)
            lk.kept["inputs"] = (m, comp, rc, ops)  # (analytic._inputs)


def _spreads_together(looks, wl) -> None:
    """Pipelined's assignment of the auto points `looks` (`_look`) of one structure whose balanced spread
    takes the decisions of the first one's (pointgroup.same_balanced: their row cycles order and load the
    macros alike): the first one's, kept in their assign memos (what assign answers first) without a spread
    of their own.  The others make their own (`_assigned`)."""
    by = {}
    for lk in looks:
        if ("assignment", "pipelined") not in lk.memo:
            by.setdefault(id(lk.kept["inputs"][0]), []).append(lk)
    for group in by.values():
        arch, kept, shared, memo = group[0].arch, group[0].kept, group[0].shared, group[0].memo
        m, comp, rc, ops = kept["inputs"]
        if len(group) < 2:
            continue
        memo["spread_trace"] = trace = ([], [])
        try:
            asg = mapper.assign(A._with_policy(shared, arch, "pipelined"), wl, "pipelined", ops, m=m, rc=rc,
                                memo=memo)
        except InputError:
            continue  # (its own run says why)
        finally:
            del memo["spread_trace"]
        items = memo.get("packing", (None,) * 4)[3]
        if items and len(trace[0]) == len(items) and trace[1]:  # (its spread made here: traced)
            _share_spread(group, wl, comp, trace, items, asg)


def _share_spread(group, wl, comp, trace, items, asg) -> None:
    """`_spreads_together` of the points `group`, the first traced (`trace`), its assignment `asg`."""
    shape = {x[0]: x for x in items}
    rows = [shape[k] for k in trace[0]]
    less = [(-a[2], -a[3], a[0]) < (-b[2], -b[3], b[0]) for a, b in zip(rows, rows[1:])]
    works = [layer_works(wl, comp, lk.kept["inputs"][2]) for lk in group]  # (each tile's: its layer's)
    work = np.array([[w[k[0]] for k in trace[0]] for w in works], dtype=np.int64)
    ok = pointgroup.same_balanced(less, trace[1], work, asg.macros)
    for lk, same in zip(group[1:], ok[1:].tolist()):
        if same:
            lk.memo[("assignment", "pipelined")] = asg


def _assigned(arch, wl, todo, kept, shared, memo) -> list:
    """[(policy, its architecture, its assignment)] of the streamed policies `todo` of a point (`_look`)
    whose one-image costs its run reads: replicate not when it places every tile as pipelined does (under
    auto that answer kept where its run's analytic._as_pipelined reads it)."""
    if not todo:
        return []
    m, _comp, rc, ops = kept["inputs"]
    pol, out = arch.mapping.policy, []
    for p in todo:
        ap = A._with_policy(shared, arch, p) if pol == "auto" else arch
        asg = mapper.assign(ap, wl, p, ops, m=m, rc=rc, memo=memo)
        if p == "replicate" and pol == "auto" and out:
            kept["as_pipelined"] = same = A._same_places(out[0][2], asg)
            if A.PRUNE and same:
                continue
        out.append((p, ap, asg))
    return out


def _costs_together(p, members, looks, wl, got) -> None:
    """The one-image skeleton and job costs of policy `p` at the points `members` [(point, its architecture for
    p, the assignment: one object for them all)], into `got[(point, p)]` ((p, skeleton, its jobs' cycles), or
    None: too many jobs): the first point's by schedule.one_image, the others' whose spec_costs reads the
    same architecture values (the same digital and transfer cycles) from their row cycles at once
    (pointgroup.job_costs_many), kept where one_image finds them (`_keep_image`)."""
    from tlm.mapping.reuse import values
    k0, ap0, asg = members[0]
    m, comp, rc0, ops = looks[k0].kept["inputs"]
    key1, sk, costs0, _rc, group, over = schedule.one_image(ap0, wl, asg, ops, m, rc0)
    got[(k0, p)] = None if over else (p, sk, schedule.job_costs(sk, costs0))
    fields = schedule._COST_FIELDS.get(key1)
    like = schedule._IMAGES.get(pointgroup.image_key(ap0, wl, asg, ops, rc0))
    same, alone = [], members[1:]
    if not over and fields is not None and like is not None and like[0] is ap0 and group in like[4]:
        v0, alone = values(ap0, fields), []
        for x in members[1:]:
            (same if values(x[1], fields) == v0 and looks[x[0]].kept["inputs"][3] == ops else alone).append(x)
    if same:
        rcs = np.array([[looks[k].kept["inputs"][2][i] for i in comp] for k, _ap, _a in same], dtype=np.int64)
        for (k, ap, _a), costs in zip(same, pointgroup.job_costs_many(sk, costs0, rcs, comp)):
            _keep_image(ap, wl, asg, ops, looks[k].kept["inputs"][2], like, group, costs)
            got[(k, p)] = (p, sk, schedule.job_costs(sk, costs))
    for k, ap, _a in alone:
        m, comp, rc, ops_k = looks[k].kept["inputs"]
        _key1, sk_k, costs, _rc, _group, over_k = schedule.one_image(ap, wl, asg, ops_k, m, rc)
        got[(k, p)] = None if over_k else (p, sk_k, schedule.job_costs(sk_k, costs))


def _keep_image(arch, wl, asg, ops, rc, like, group, costs) -> None:
    """Keep for schedule._kept_image (one_image) of `arch` what it would make: the entry `like` of another
    point of the structure with the same assignment object, layers, digital ops and image (its structure
    key, and at `group` rows per job its one-image key and skeleton: none reads a timing setting), with this
    point's costs `costs` (pointgroup.job_costs_many)."""
    k = pointgroup.image_key(arch, wl, asg, ops, rc)
    got = schedule._IMAGES.get(k)
    if got is not None and got[0] is arch and got[1] is asg:
        return
    if len(schedule._IMAGES) >= schedule.MAX_IMAGES:
        schedule._IMAGES.clear()
    schedule._IMAGES[k] = (arch, asg, tuple(wl.layers), like[3], {group: (*like[4][group][:2], costs)})


def _pretimed_makespan(arch, wl, sk, cost):
    """The makespan schedule.build_schedule gives one image of workload `wl` on `arch` whose one-image
    skeleton is `sk` and jobs' cycles `cost`, read off schedule.pretime's run of them (its ends and the line
    buffers it computed for `wl`: S.end.max() + the spill, linebuf.stream_results), without the schedule;
    None when schedule.pretime did not time them for `wl` (the point's run then builds the schedule)."""
    got = schedule._PRETIMED.get((id(sk), tuple(cost)))
    if got is None or got[0] is not sk or got[4][0] is not wl:
        return None
    return makespan_cycles(got[3], stream_spill(arch, got[4][1])[1])
