"""Before the analytic engine runs a sweep's structural points one by one (tlm/engines/registry.run_group):
the one-image schedules of their streamed policies timed together where points share a schedule's
structure (tlm/mapping/schedule.pretime).  Each point's own run (tlm/engines/analytic.policy_plans) then
reads its schedule's times, and what was made on the way, from where it keeps them: the same numbers.
Under `auto` it reads each streamed policy's makespan too (`_keep_makespans`), and builds the schedule of
the policy that wins only.
"""
from __future__ import annotations

from tlm.engines import analytic as A  # (its helpers: `_kept`, `_with_policy`, `_same_places`; PRUNE read when run)
from tlm.errors import InputError
from tlm.mapping import mapper, schedule
from tlm.mapping.plan import structure
from tlm.mapping.linebuf import makespan_cycles, stream_spill
from tlm.mapping.rules import digital_ops


def pretime_streams(archs, wl, input_density=None, seen=None) -> int:
    """Before the points `archs` (of one workload) run one by one (tlm/engines/registry.run_group): the
    one-image schedules of their streamed policies (`auto`'s that fit, or the pinned one) timed together,
    the points that share a schedule's structure -- its skeleton: a sweep's points that differ in ADC, DP
    or DMA cycles only -- as a numpy axis (tlm/mapping/schedule.pretime).  Each point's own run then finds
    its schedule timed (or, refused there, list-schedules it): the same numbers.  What this computes on the
    way -- the compute layers' Mapping and row cycles, the assignments, the skeletons and job costs -- is
    kept where each point's run reads it (analytic._kept, assign's memo, schedule.one_image).  One image only
    (a batch's streams are tlm/mapping/steady.py's).  Returns how many schedules were timed together; `seen`:
    a list that receives how many points had a streamed schedule to time."""
    schedule.clear_pretimed()
    if wl.batch != 1 or input_density is not None:
        return 0
    groups, each = {}, []
    for arch in archs:
        try:
            got = _stream_costs(arch, wl)
        except InputError:
            continue  # (its own run says why)
        for _p, sk, cost in got:
            groups.setdefault(id(sk), (sk, []))[1].append(cost)
        each.append((arch, got))
    timed = sum(schedule.pretime(sk, costs, wl) for sk, costs in groups.values() if len(costs) > 1)
    if seen is not None:
        seen.append(sum(1 for _a, got in each if got))
    if timed:
        _keep_makespans(each, wl)
    return timed


def _keep_makespans(each, wl) -> None:
    """Each `auto` point's makespan of each streamed policy timed together, kept where its run reads it
    (analytic._kept, per batch and image: analytic._pending), so that its run reads the cycles of a policy
    that loses without building its schedule (`_pretimed_makespan`: the numbers build_schedule gives)."""
    for arch, got in each:
        if arch.mapping.policy != "auto":
            continue
        kept = A._kept(lambda a: a, arch, wl)
        for p, sk, cost in got:
            ms = _pretimed_makespan(arch, wl, sk, cost)
            if ms is not None:
                kept[A.makespan_key(p, wl)] = ms


def _stream_costs(arch, wl) -> list:
    """[(policy, one-image skeleton, its jobs' cycles)] of the streamed policies `arch`'s run evaluates, reached as
    that run reaches them (tlm/engines/analytic.policy_plans, mapper.resident_schedule): replicate not when
    it is pipelined's run (analytic._as_pipelined)."""
    pol = arch.mapping.policy
    todo = [p for p in mapper.STREAM if pol in ("auto", p)]
    if not todo:
        return []
    comp = [i for i, l in enumerate(wl.layers) if l.is_compute]
    if not comp:
        return []
    kept = A._kept(lambda a: a, arch, wl)
    shared = {"kept": kept, "assign": kept.setdefault("assign", {})}
    # (kept for the points of its structure, tlm/mapping/template.py; asked on the architecture its plans are
    # built on, whose structure's key is then kept for them: auto's sequential one)
    base = structure(A._with_policy(shared, arch, "sequential") if pol == "auto" else arch, wl)
    st = base["_structure"]
    if "bound" not in st:
        st["bound"] = mapper.residency_bound(arch, base["mapping"])
    if st["bound"] > arch.macro.count:
        return []  # no streamed policy fits (the point's own run skips them as cheaply)
    memo = shared["assign"] if pol == "auto" else {}
    memo["bound"] = st["bound"]  # (what assign reads first: kept in its memo)
    got = kept.get("inputs")
    if got is None:
        m = kept["mapping"] = base["mapping"]  # (the plans': policy_plans)
        rc = mapper.layer_row_cycles(arch, wl, m, comp)
        ops = st.get("ops")
        if ops is None:
            ops = st["ops"] = [digital_ops(l) for l in wl.layers]
        got = kept["inputs"] = (m, comp, rc, ops)  # (analytic._inputs)
    m, _comp, rc, ops = got
    asg, out = {}, []
    for p in todo:
        ap = A._with_policy(shared, arch, p) if pol == "auto" else arch
        asg[p] = mapper.assign(ap, wl, p, ops, m=m, rc=rc, memo=memo)
        if p == "replicate" and pol == "auto" and A.PRUNE and A._same_places(asg["pipelined"], asg[p]):
            continue
        _key1, sk, costs, _rc, _group, over = schedule.one_image(ap, wl, asg[p], ops, m, rc)
        if not over:
            out.append((p, sk, schedule.job_costs(sk, costs)))
    return out


def _pretimed_makespan(arch, wl, sk, cost):
    """The makespan schedule.build_schedule gives one image of workload `wl` on `arch` whose one-image
    skeleton is `sk` and jobs' cycles `cost`, read off schedule.pretime's run of them (its ends and the line
    buffers it computed for `wl`: S.end.max() + the spill, linebuf.stream_results), without the schedule;
    None when schedule.pretime did not time them for `wl` (the point's run then builds the schedule)."""
    got = schedule._PRETIMED.get((id(sk), tuple(cost)))
    if got is None or got[0] is not sk or got[4][0] is not wl:
        return None
    return makespan_cycles(got[3], stream_spill(arch, got[4][1])[1])
