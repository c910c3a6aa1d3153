"""The engine registry, and the one place `mapping.policy: auto` is resolved (above both engines).

    ENGINES[name](arch, wl, options) -> tlm.engines.result.Result
    run(name, arch, wl, **kw) -> Result              (the same, with keyword options)
    resolve_policy(arch, wl, input_density) -> Resolved
    run_group(archs, wl, input_density) -> [Result or the exception of each point]   (analytic, many points)

`options` is None or any object with optional attributes (an argparse namespace from `tlm simulate`):
`input_density` (both engines), `quantum`, `no_contention`, `trace`, `quiet` (tlm engine).  Services
(sweep, bench) and the CLI look engines up here.  An engine itself runs a concrete policy only: given
`auto` it refuses (tlm/mapping/plan.py).  `auto` is chosen on the contention-free bounds of every policy
that fits (tlm/engines/analytic.choose_policy); the chosen policy's plan is built there once and handed
to the engine that executes it, and the Result says why (a note) and keeps the configuration as given.
No engine module imports this one.
"""
from __future__ import annotations

from typing import NamedTuple

from tlm.mapping.policies import STREAM
from tlm.mapping.template import TIMING_SETTINGS  # (settings that change cycles only: `_pretime`, `_apart`)


DEFAULT_ENGINE = "tlm"  # why: docs/tlm-engine.md ("Which engine by default")


class Resolved(NamedTuple):
    arch: object  # with a concrete mapping.policy
    plan: object  # the chosen policy's plan (tlm.mapping.plan.Plan), or None: the engine builds it
    note: object  # why auto chose it, or None
    bound: object  # the analytic Result of the chosen policy (auto only), or None


def resolve_policy(arch, wl, input_density=None, steady=False, brief=False, stats=None) -> Resolved:
    """`auto` -> the best concrete policy for `mapping.objective`; any other policy as it is.  `steady`:
    for the analytic engine, which executes no plan; `brief`: no note; `stats`: kept by a sweep between its
    points (tlm/engines/analytic.choose_policy)."""
    if arch.mapping.policy != "auto":
        return Resolved(arch, None, None, None)
    from tlm.engines.analytic import choose_policy
    best, res, note, plan = choose_policy(arch, wl, input_density, steady, brief, stats)
    return Resolved(res.arch, plan, note, res)  # (res.arch: `arch` with policy `best`)


def _as_given(res, arch, r: Resolved):
    if r.bound is not None:  # the configuration as given (auto); the choice is in extra["mapping"] and the note
        res.arch = arch
        if r.note is not None:
            res.notes.append(r.note)
    return res


def _analytic(arch, wl, options=None, brief=False, stats=None):
    d = getattr(options, "input_density", None)
    r = resolve_policy(arch, wl, d, steady=True, brief=brief, stats=stats)
    if r.bound is not None:  # auto ran the chosen policy's bound already
        return _as_given(r.bound, arch, r)
    from tlm.engines.analytic import _kept, simulate
    pinned = arch.mapping.policy in STREAM and d is None  # (what its look made: tlm/mapping/mapper._pinned)
    return simulate(arch, wl, input_density=d, shared={"pinned": _kept(lambda a: a, arch, wl)} if pinned else None)


def _tlm(arch, wl, options=None):
    from tlm.engines.transaction.system import simulate
    d = getattr(options, "input_density", None)
    r = resolve_policy(arch, wl, d)
    kw = dict(quantum_cycles=getattr(options, "quantum", None), input_density=d,
              contention=False if getattr(options, "no_contention", False) else None,
              trace=getattr(options, "trace", None), data=getattr(options, "data", None),
              progress=options is not None and not getattr(options, "quiet", False))
    return _as_given(simulate(r.arch, wl, plan=r.plan, **kw), arch, r)


ENGINES = {"analytic": _analytic, "tlm": _tlm}


class _Options:
    def __init__(self, kw):
        self.__dict__.update(kw)
        self.quiet = not kw.get("progress", False)


def run(name, arch, wl, **kw):
    """ENGINES[name] with keyword options: input_density, quantum, no_contention, trace, progress, data."""
    return ENGINES[name](arch, wl, _Options(kw))


# ---- many design points at once (the analytic engine; tlm/services/sweep) ------------------------------
GIVE_UP = 8  # groups of one point and none larger: the rest are run one by one (a grid of structural
# settings; recording what a point reads costs about half a run)


RECORD_ONE = False  # True: a call with one point records it too (tests; under auto, recording a point costs
# about twice its own run: ResNet-8's macros x precision x batch sweep, whose calls have one point each)


def run_group(archs, wl, input_density=None, state=None, brief=False) -> list:
    """`ENGINES["analytic"](arch, wl)` of every architecture in `archs` (one workload), each a Result equal
    to its own run, or the exception its own run raises.  Points that agree on every field the plans,
    the counts and the cycles read (recorded through the first point: tlm/mapping/reuse.recording) and on
    every field that is not a float share one plan and one set of counts; their energy fields (supplies,
    capacitances, the clock) differ, and the energy formulas of tlm/hw evaluate all of them at once,
    given arrays (tlm/engines/analytic.energies).  `auto` is resolved per point on its own numbers.  The
    Results of a group share their per-layer arrays: read them, do not change them.  `state`: a dict kept
    by the caller between calls of one sweep (how many groups had one point, how many more).  `brief` (a
    sweep, which writes each Result's row only): auto's Results carry no note, and the policies that
    cannot win get no Result (tlm/engines/analytic.choose_policy); the rows are the same.  Points run one
    by one (a grid of structural settings) have their streamed schedules timed together first where they
    share one (`_pretime`).  A call with one point (each point its own workload: a grid of batches or
    precisions) runs it on its own, unrecorded (RECORD_ONE); so are the points of a call that differ pairwise
    in a field that is not a float or in a timing setting (`_apart`: no group of two)."""
    from tlm.engines import analytic
    out = [None] * len(archs)
    todo = list(range(len(archs)))
    st = state if state is not None else {}
    apart = len(archs) > 1 and not (st.get("alone", 0) >= GIVE_UP and not st.get("grouped", 0)) and _apart(archs)
    if apart:
        st["alone"] = st.get("alone", 0) + len(archs)  # (each point a group of one, known unrecorded)
    while todo:
        i0 = todo[0]
        if len(archs) == 1 and not RECORD_ONE:  # (a group of one: nothing to share, nothing to record; the
            out[i0] = _one(archs[i0], wl, input_density, brief, st)  # state is the larger calls')
            break
        if apart or st.get("alone", 0) >= GIVE_UP and not st.get("grouped", 0):
            for k in range(0, len(todo), PRETIME_POINTS):
                part = todo[k:k + PRETIME_POINTS]
                _pretime(analytic, [archs[i] for i in part], wl, input_density, st)
                for i in part:
                    out[i] = _one(archs[i], wl, input_density, brief, st)
            break
        read = set()
        try:
            runs, skipped = _counted(analytic, archs[i0], wl, input_density, read)
        except Exception:  # noqa: BLE001  (its own run says what went wrong)
            out[i0] = _one(archs[i0], wl, input_density, brief, st)
            todo = todo[1:]
            st["alone"] = st.get("alone", 0) + 1
            continue
        fields = sorted(read, key=lambda p: (p[0], p[1] or ""))
        rigid = {}
        key0 = _key(archs[i0], fields, rigid)
        group = [i for i in todo if _key(archs[i], fields, rigid) == key0]
        k = "alone" if len(group) == 1 else "grouped"
        st[k] = st.get(k, 0) + 1
        try:
            stacked = _stack([archs[i] for i in group])
            es = {p: analytic.energies(stacked, plan, pl, clock, points=len(group))
                  for p, (plan, pl, busy, clock) in runs.items()}
        except Exception:  # noqa: BLE001  (a formula that does not take arrays: one by one)
            group = [i0]
            es = {p: analytic.energies(archs[i0], plan, pl, clock) for p, (plan, pl, busy, clock) in runs.items()}
        for k, i in enumerate(group):
            out[i] = _pick(analytic, archs[i], wl, runs, es, k, skipped, brief)
        done = set(group)
        todo = [i for i in todo if i not in done]
    return out


# TIMING_SETTINGS (tlm/mapping/template.py, where plans of points that differ in these alone share their
# structure): a sweep run in-process evaluates such points next to each other
# (tlm/services/sweep/runner.structure_first), so that they come to run_group together and `_pretime` times
# each structure's points at once.  A hint for speed only: every row is its point's own run in any order.
PRETIME = True  # False: each point's streamed schedule timed on its own (tests compare the two)
PRETIME_POINTS = 32  # points timed together at most (what they keep for their own runs stays kept:
# tlm/engines/analytic._kept holds 64 architectures)
PRETIME_GIVE_UP = 4  # calls in a row that timed fewer than a quarter of their points with a streamed schedule
PRETIME_PROBE = 4  # together: then only one call in PRETIME_PROBE looks (a grid whose streams differ in their
# transfers only, which each point's run shifts), until one times enough again; a call none of whose points
# has a streamed schedule (none fits) counts neither way (its look costs little: a structure's Mapping and
# residency bound are kept, tlm/mapping/template.py)


_STREAMED = frozenset(("auto",) + STREAM)  # policies whose run may time a streamed schedule


def _pretime(analytic, archs, wl, input_density, st):
    """The points about to run one by one (a grid of structural settings): their streamed schedules timed
    together where they share a structure (tlm/engines/pretime.pretime_streams: the points that differ in
    timing parameters only), each point's own run then reads its schedule's times from there.  `st`: the
    sweep's state (calls in a row that timed few, calls skipped since)."""
    if not PRETIME or len(archs) < 2 or not any(a.mapping.policy in _STREAMED for a in archs):
        return  # (no point with a streamed policy to time: pinned sequential or resident)
    misses, skipped = st.get("pretime", (0, 0))
    if misses >= PRETIME_GIVE_UP and skipped % PRETIME_PROBE != PRETIME_PROBE - 1:
        st["pretime"] = (misses, skipped + 1)
        return
    from tlm.engines.alone import known_alone
    if all(a.mapping.policy == "auto" for a in archs) and known_alone(archs[0], wl) and known_alone(archs[-1], wl):
        return  # (a structure where only sequential fits, the last point asked's: its points are in a row)
    if 4 * len(_firsts(archs)) <= len(archs):  # (most points shift from the point before: no look)
        return
    from tlm.engines.pretime import pretime_streams
    seen = []
    timed = pretime_streams(archs, wl, input_density, seen)
    n = seen[0] if seen else 0  # (points with a streamed schedule to time)
    if n:
        st["pretime"] = (misses + 1, skipped + 1) if 4 * timed < n else (0, 0)
    else:
        st["pretime"] = (misses, skipped + 1)  # (nothing to time: neither way)


# Settings that change the cycles of DMA transfers only (tlm/hw/dma.transfer_cycles): in one image's stream,
# its input and output transfers -- the first job and the last --, which a point's run shifts from the run of
# the point before it when nothing else differs (tlm/mapping/retime.shifted), cheaper than timing it together
# (`_firsts`)
TRANSFER_SETTINGS = frozenset({"dma.bandwidth_bits_per_cycle", "dma.latency_cycles"})


def _firsts(archs) -> list:
    """The indices of the points of `archs` that differ from the point before in more than the
    TRANSFER_SETTINGS (the first point always).  When these are at most a quarter of the points (a grid whose
    DMA settings vary fastest), `_pretime` makes no look: the others' runs shift, and timing the few firsts
    together costs more than their own runs (list-scheduled once per structure, then re-timed in its order,
    tlm/mapping/schedule._timed).  The sections the points share are one object
    (tlm/services/sweep/points.PointBuilder); others compare equal field by field."""
    out, prev = [], None
    for i, a in enumerate(archs):
        if prev is None or not _transfers_only(prev, a):
            out.append(i)
        prev = a
    return out


def _transfers_only(a, b) -> bool:
    """Do architectures `a` and `b` agree on every field but the TRANSFER_SETTINGS?"""
    import dataclasses
    for name in _names(type(a)):
        x, y = getattr(a, name), getattr(b, name)
        if x is y:
            continue
        if not dataclasses.is_dataclass(x) or type(x) is not type(y):
            if x != y:
                return False
            continue
        for g in _names(type(x)):
            if getattr(x, g) != getattr(y, g) and f"{name}.{g}" not in TRANSFER_SETTINGS:
                return False
    return True


_NAMES = {}  # dataclass -> its field names (`_transfers_only`)


def _names(cls) -> tuple:
    got = _NAMES.get(cls)
    if got is None:
        import dataclasses
        got = _NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return got


def _one(arch, wl, input_density, brief=False, state=None):
    try:
        return _analytic(arch, wl, _Options({"input_density": input_density}), brief, state if brief else None)
    except Exception as e:  # noqa: BLE001
        return e


def _counted(analytic, arch, wl, d, read):
    """{policy: (plan, per-layer arrays, busy cycles, clock cycles)} of every policy `arch` runs (`auto`:
    every one that fits) and the skipped ones, every architecture field read noted in `read`."""
    from tlm.mapping.plan import build_plan
    from tlm.mapping.reuse import recording
    if arch.mapping.policy == "auto":
        plans, skipped = analytic.policy_plans(arch, wl, d, steady=True, record=read)
        return {p: x[1:] for p, x in plans.items()}, skipped
    plan = build_plan(recording(arch, read), wl, d, steady=True)
    return {arch.mapping.policy: (plan, *analytic.counts(recording(arch, read), wl, plan))}, None


def _pick(analytic, arch, wl, runs, es, k, skipped, brief=False):
    """Point k of a group: its Result (the chosen policy's, with auto's note unless `brief`, as `_analytic`
    gives it)."""
    if brief and skipped is not None:
        keep = analytic.contenders(arch.mapping.objective, {p: int(x[1]["cycles"].sum()) for p, x in runs.items()})
        res = {p: analytic._result(arch, wl, *runs[p][:2], es[p][k], dict(runs[p][2])) for p in keep}
        return res[analytic.brief_best(arch.mapping.objective, res)]
    res = {p: analytic._result(arch, wl, plan, pl, es[p][k], dict(busy)) for p, (plan, pl, busy, _c) in runs.items()}
    if skipped is None:
        return next(iter(res.values()))
    best, note = analytic.choose(arch, res, skipped)
    res[best].notes.append(note)
    return res[best]


def _apart(archs) -> bool:
    """Do the points `archs` differ pairwise in a field that is not a float (an int setting, the macros, ...)
    or in a timing setting (TIMING_SETTINGS: the cycles, which every plan reads)?  Then no two share a group
    (`_key`), and recording the first point of each call to find its group (`_counted`: under auto every
    policy's plan, several runs' cost) finds groups of one only: run_group runs them one by one.  (A timing
    setting that some plan did not read would only have its points run apart: the same rows.)"""
    rigid, seen = {}, set()
    try:
        for a in archs:
            k = (_key(a, (), rigid), _timing(a))
            if k in seen:
                return False  # (two that may share a group: stop at the first, an energy grid's second point)
            seen.add(k)
    except TypeError:  # (a field holding a list)
        return False
    return True


_TIMING = tuple(tuple(p.split(".")) for p in sorted(TIMING_SETTINGS))


def _timing(arch) -> tuple:
    return tuple(getattr(getattr(arch, s), f) for s, f in _TIMING)


def _key(arch, fields, rigid):
    """What a point must share with the group's first: the values of the fields read, and every field
    that is not a float (`rigid`: a cache per section object)."""
    import dataclasses
    from tlm.mapping.reuse import values
    parts = [values(arch, fields)]
    for f in dataclasses.fields(arch):
        v = getattr(arch, f.name)
        if dataclasses.is_dataclass(v):
            r = rigid.get(id(v))
            if r is None:
                r = rigid[id(v)] = (v, tuple(x for x in v._values() if type(x) is not float))
            parts.append(r[1])
        elif type(v) is not float:
            parts.append(v)
    return tuple(parts)


def _stack(archs):
    """One architecture whose float fields that differ between `archs` are arrays of shape (points, 1)."""
    import copy
    import dataclasses

    import numpy as np
    base = archs[0]
    new = {}
    for f in dataclasses.fields(base):
        secs = [getattr(a, f.name) for a in archs]
        if all(s is secs[0] for s in secs) or not dataclasses.is_dataclass(secs[0]):
            continue
        sec = None
        for g in dataclasses.fields(secs[0]):
            vals = [getattr(s, g.name) for s in secs]
            if any(v != vals[0] for v in vals):
                sec = sec or copy.copy(secs[0])
                object.__setattr__(sec, g.name, np.array(vals, dtype=float).reshape(-1, 1))
        if sec is not None:
            new[f.name] = sec
    if not new:
        return base
    out = copy.copy(base)
    for name, sec in new.items():
        object.__setattr__(out, name, sec)
    return out
