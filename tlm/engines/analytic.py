"""The analytic engine: cycles, utilization and energy of a whole inference, all layers at once.

It is the contention-free bound: it sums the plan (tlm/mapping/plan.py) as if every shared block were free
whenever the schedule needs it -- the SRAM banks, the DMA channels beyond the weight-load rounds, the
post-processing -- and counts energy with the formulas in tlm/hw/.  The TLM engine executes the same
plan with queues; its cycles are never below these and equal them when nothing is shared (see
docs/tlm-engine.md).  Follow one layer: mapping.py (tiles) -> plan.py (volumes, timing constants,
assignment) -> hw/controller.py (tile and layer schedule) -> hw/* (energy per event) -> Result.
"""
from __future__ import annotations

import threading

import numpy as np

from tlm.hw import adc as hw_adc
from tlm.hw import controller as hw_ctrl
from tlm.hw import dma as hw_dma
from tlm.hw import leakage as hw_leak
from tlm.hw import macro as hw_macro
from tlm.hw import postproc as hw_pp
from tlm.hw import sram as hw_sram
from tlm.mapping.plan import build_plan, digital_ops, live_bits, spill_cycles, static_per_layer, weights_resident  # noqa: F401
from tlm.mapping.batching import pass_schedule_cycles
from tlm.mapping import mapper, template
from tlm.errors import InputError
from tlm.engines.alone import forget as forget_alone, sequential_alone
from tlm.engines.result import KIND_NAMES, Result

K = {k: i for i, k in enumerate(KIND_NAMES)}
PRUNE = True  # False: every policy that fits is counted (tests compare the choices both ways)
STREAM_BOUND_MIN_BATCH = 4  # a stream's bound (`_unbeatable`) from this batch on: below it the bound costs
# half a schedule and hardly ever prunes (a stream's fill is most of one image's run, and replicate, counted
# first, is rarely far from pipelined); resident's bound (a sum over layers) is asked for at every batch


def policy_plans(arch, wl, input_density=None, steady=False, record=None, stats=None, lazy=False):
    """The plans and counts (`counts`) of every concrete policy that may be best for `mapping.policy: auto`,
    sharing what their plans have in common (tlm/mapping/plan.build_plan): ({policy: (arch with that
    policy, its plan, per-layer arrays, busy cycles, clock cycles)}, [(policy, why it was skipped)]).
    Skipped: the resident policies when the weights cannot stay resident, and (objective throughput) a
    policy a lower bound of whose cycles exceeds the cycles of a policy already counted (`_unbeatable`): it
    cannot win, its schedule is not built; and replicate when it is pipelined's very run (`_as_pipelined`).
    With PRUNE False only the first are skipped (the same choice, tested).  `record`: a set noting every
    architecture field read (tlm/mapping/reuse.recording); `stats`: a dict kept by a sweep between its
    points (`_worth_asking`); `lazy`: a streamed policy's counts are left None (`cycles_of` reads its
    cycles off its schedule; `counted` counts it when asked), and where the plans are built plainly its
    plan too (`_Pending`: its schedule only; `counted` builds the plan), and sequential's batching rule
    (`_Deferred`: counted by `_settle` or `counted` only where its cycles may be the fewest)."""
    from tlm.mapping.reuse import recording
    rec = (lambda a: a) if record is None else (lambda a: recording(a, record))
    plans, skipped = {}, []
    kept = _kept(rec, arch, wl)
    defer = lazy and record is None and input_density is None  # (sequential's batching rule: `_Deferred`)
    # what the policies' plans have in common is built once (tlm/mapping/plan.build_plan); the assignments
    # (and what they start from) once per architecture and layers (`_kept`)
    shared = {"kept": kept, "assign": kept.setdefault("assign", {}), "defer_batching": defer}
    if "mapping" in kept:  # (made by tlm/engines/pretime.py for this architecture and layers: the plans' Mapping)
        shared["mapping"] = kept["mapping"]
    # replicate before pipelined, resident last: replicate is at least as fast on most networks, so a large
    # batch's pipelined schedule, and often resident's, is not needed at all (`_unbeatable`); the results are
    # listed in CONCRETE order
    for p in _ORDER:
        if p != "sequential":
            seq = _plan_of(plans["sequential"])
            need = seq.mapping_desc["macros_for_residency"]  # a lower bound (no packing)
            if need > rec(arch).macro.count:  # every resident policy would refuse: none is built (`_none_fits`)
                skipped.extend(_none_fits(seq, wl, need, _ORDER[_ORDER.index(p):]))
                break
            if PRUNE and p == "replicate" and _as_pipelined(rec, arch, wl, plans, shared):
                skipped.append((p, "no copies, every tile where pipelined puts it: pipelined's run, which wins "
                                   "the tie"))
                continue
            if PRUNE and _worth_asking(stats, p, plans) and _asked(stats, p, plans, _unbeatable(
                    rec, arch, wl, p, plans, shared, skipped, input_density)):
                continue
        try:
            ap = _with_policy(shared, arch, p)
            if lazy and p in mapper.STREAM and record is None and input_density is None and shared.get("plain"):
                plans[p] = (ap, _pending(ap, wl, p, shared, steady), None, None, None)
                continue
            plan = build_plan(rec(ap), wl, input_density, shared=shared, steady=steady)
        except InputError as e:
            if p == "sequential":
                raise
            skipped.append((p, e.message.split(": ", 1)[-1].split(" (")[0][:160]))
            continue
        if _uncounted(plan, p, defer, arch):
            plans[p] = (ap, _Deferred(plan, _sequential_floor(ap, plan)), None, None, None)
            continue
        plans[p] = (ap, plan, None, None, None) if lazy and p in mapper.STREAM else (
            ap, plan.finish(), *counts(rec(ap), wl, plan))
    skipped.sort(key=lambda x: mapper.CONCRETE.index(x[0]))
    return {p: plans[p] for p in mapper.CONCRETE if p in plans}, skipped


# replicate before pipelined, resident last (`policy_plans`)
_ORDER = tuple(sorted(mapper.CONCRETE, key=lambda q: {"pipelined": 1, "resident": 2}.get(q, 0)))


def _none_fits(seq, wl, need, rest) -> list:
    """The skips of the resident policies `rest` when the sequential plan `seq`'s residency bound `need` exceeds
    the macros: every policy left refused alike, with one reason (the loop of `policy_plans` stops there)."""
    tiles = int(seq.mapping.tiles.sum()) if seq.mapping is not None else 0
    why = f"the {tiles} weight tiles of '{wl.name}' need at least {need} macros to stay resident"
    return [(q, why) for q in rest]


def _uncounted(plan, p, defer, arch) -> bool:
    """Is policy `p`'s plan left uncounted behind its floor (`_Deferred`)?  The sequential plan whose batching
    rule is left for later (Plan.finish), or with UNCOUNTED_SEQUENTIAL any sequential plan of a lazy `policy_plans`
    (`defer`) -- unless no resident policy can fit: it is alone then, counted at once (`_settle` would)."""
    if p != "sequential" or plan.mapping is None:
        return False
    if plan.mapping_desc["macros_for_residency"] > arch.macro.count:
        return False
    return plan.deferred or (defer and UNCOUNTED_SEQUENTIAL)


class _Pending:
    """A streamed policy's entry of `policy_plans` (lazy) before its plan: its schedule (mapper.resident_schedule,
    kept in the plans' shared dict, where its plan finds it when built: `counted`), read for its cycles
    (`cycles_of`), or (schedule None) only its makespan, timed together with other points of its structure
    (tlm/engines/pretime.py: the schedule is built with the plan, if ever).  A policy that cannot win
    (`contenders`) never gets a plan."""
    __slots__ = ("schedule", "build", "makespan")

    def __init__(self, schedule, build, makespan=None):
        self.schedule, self.build = schedule, build
        self.makespan = int(schedule.makespan) if schedule is not None else makespan


def makespan_key(p, wl) -> tuple:
    """Where `_kept` holds streamed policy `p`'s makespan timed by tlm/engines/pretime.py: per policy and what
    one image's schedule reads of the workload beyond its layers (the batch, the image's shape and bits)."""
    return ("makespan", p, wl.batch, wl.input_bits, tuple(wl.input_shape))


def _pending(ap, wl, p, shared, steady) -> _Pending:
    """Streamed policy `p`'s schedule for `policy_plans` (lazy), its plan left to `counted`.  Only where
    the plans of `shared` are built plainly (tlm/mapping/reuse.shared_plan: shared["plain"], the
    sequential plan's build; no field read to record, no plan kept by what it read), so that the plan
    built later reads the same architecture and finds the same schedule; raises the InputError its plan
    would (the assignment's, the schedule's)."""
    build = lambda: build_plan(ap, wl, None, shared=shared, steady=steady)  # noqa: E731
    ms = shared["kept"].get(makespan_key(p, wl))
    if ms is not None:  # (timed with other points of its structure: its assignment and schedule fit)
        return _Pending(None, build, ms)
    base = shared["base"]
    ops_img = shared.get("ops_img")
    if ops_img is None:
        ops_img = shared["ops_img"] = [digital_ops(l) for l in wl.layers]
    _asg, S = mapper.resident_schedule(ap, wl, p, shared, ops_img, steady, base["mapping"], base["comp_idx"],
                                       base["spill_bits"])
    return _Pending(S, build)


class _Deferred:
    """The sequential entry of `policy_plans` (lazy) left uncounted, with a lower bound of its cycles
    (`_sequential_floor`): its plan left its batching rule for later (Plan.finish: a batch that spills, the
    rule's search over which layers run image by image), or needs none (its `counts` only are left:
    UNCOUNTED_SEQUENTIAL).  It is counted (`counted`) only when its cycles may matter (`_settle`): when a
    streamed policy beats the bound -- most points of a sweep that a resident policy wins -- neither the
    rule nor the counts run."""
    __slots__ = ("plan", "floor")

    def __init__(self, plan, floor):
        self.plan, self.floor = plan, floor


def _plan_of(entry):
    """The Plan of a policy_plans entry (the sequential one's, counted or not)."""
    return entry[1].plan if isinstance(entry[1], _Deferred) else entry[1]


def _low(entry) -> int:
    """The cycles of a policy_plans entry (`cycles_of`), or the lower bound of an uncounted sequential one's."""
    return entry[1].floor if isinstance(entry[1], _Deferred) else cycles_of(entry)


def _settle(wl, plans) -> None:
    """Count the sequential entry of `plans` left uncounted (`_Deferred`) when its cycles may be the fewest:
    no other policy, or its lower bound not above the fewest cycles of the others.  Otherwise it cannot be
    the fewest, nor tie with it: the choice on throughput, and every bound compared with the fewest, are
    the same as with its cycles counted (another objective counts every policy: `contenders`, `counted`)."""
    e = plans.get("sequential")
    if e is None or not isinstance(e[1], _Deferred):
        return
    others = [cycles_of(x) for q, x in plans.items() if q != "sequential"]
    if not others or e[1].floor <= min(others):
        plans["sequential"] = counted(wl, e)


UNCOUNTED_SEQUENTIAL = True  # False: a sequential plan that needs no batching rule is counted at once (`_Deferred`;
# the same choice and rows, tested); it is anyway where no resident policy can fit (it is alone: counted)
BOUND_GIVE_UP = 16  # bounds of one kind that a sweep asked without one skip: asked only every BOUND_PROBE-th
BOUND_PROBE = 16  # time after that, in that sweep (a bound that skips again is asked every time again)


def _bound_kind(p, plans) -> tuple:
    """A kind of bound in a sweep's `stats`: the policy, and whether it is compared with a policy that
    overlaps more than sequential (`plans` counted so far)."""
    return ("bound", p, len(plans) > 1)


def _worth_asking(stats, p, plans) -> bool:
    """Is `_unbeatable` worth asking for policy `p`, `plans` counted so far?  Always, outside a sweep.  In a
    sweep (`stats`, kept between its points), a kind of bound -- the policy, and whether it is compared
    with sequential alone or with a policy that overlaps more -- that skipped nothing in BOUND_GIVE_UP
    tries is asked once in BOUND_PROBE after (on most grids replicate, counted first, beats sequential at
    every point: its bound costs a one-image walk and never skips).  The choice is the same either way
    (a bound only ever skips a policy that cannot win); only a sweep's work changes, and its rows hold no
    note (registry.run_group brief)."""
    if stats is None:
        return True
    k = _bound_kind(p, plans)
    hit, miss, held = stats.get(k, (0, 0, 0))
    if hit or miss < BOUND_GIVE_UP:
        return True
    stats[k] = (hit, miss, held + 1)
    return held % BOUND_PROBE == BOUND_PROBE - 1


def _asked(stats, p, plans, got) -> bool:
    """`got` (the answer of `_unbeatable`: True, False, or None when it had no bound to compare), noted in
    `stats` (`_worth_asking`)."""
    if stats is not None and got is not None:
        k = _bound_kind(p, plans)
        hit, miss, held = stats.get(k, (0, 0, 0))
        stats[k] = (hit + got, miss + (not got), held)
    return bool(got)


def _with_policy(shared, arch, p):
    """`arch` with policy `p`, made once per auto run, or per architecture object (`_kept`): the bounds,
    the assignments and the plan of one policy read the same architecture."""
    archs = shared["kept"].setdefault("policy_archs", {})
    ap = archs.get(p)
    if ap is None:
        ap = archs[p] = mapper.with_policy(arch, p)
        template.same_key(ap, arch)  # (its structure's key, if `arch`'s is kept: tlm/engines/alone.py asked)
    return ap


def _inputs(rec, arch, wl, plans, shared):
    """(the compute layers' Mapping, their indices, layer_row_cycles, digital ops per layer) of the
    sequential plan, computed once per auto run (in `shared`, which the plans read too) or per
    architecture and layers (`_kept`); None without a compute layer."""
    seq = _plan_of(plans["sequential"])
    m = seq.mapping
    if m is None:
        return None
    got = shared.get("inputs")
    if got is None:
        got = shared["kept"].get("inputs")
        if got is None:
            comp = seq.comp_idx.tolist()
            got = (m, comp, mapper.layer_row_cycles(rec(arch), wl, m, comp), [digital_ops(l) for l in wl.layers])
            shared["kept"].update(inputs=got, mapping=m)  # (the Mapping: the next batch's plans', `policy_plans`)
        shared["inputs"] = got
        shared["row_cycles"] = got[2]
        shared.setdefault("ops_img", got[3])  # (the plans' digital ops per image: the same list)
    return got


_KEPT = {}  # (id(arch), ids of the layers) -> (arch, layers, a dict), the least recently used first
MAX_KEPT = 64
_KEPT_LOCK = threading.Lock()


def clear_kept() -> None:
    """Forget what auto keeps between runs (`_kept`; the assignments and packings of
    tlm/mapping/assign.clear_kept)."""
    with _KEPT_LOCK:
        _KEPT.clear()
    mapper.clear_kept()
    mapper.clear_sums()
    forget_alone()


def _kept(rec, arch, wl) -> dict:
    """A dict of what an auto run derives from the architecture and the layers alone -- the policies'
    architectures, the compute layers' Mapping, row cycles and digital ops, the assignments' memo
    (tlm/mapping/assign.assign) --, the same for the next run on the same architecture and layer objects
    (a sweep's points that differ in the batch only).  Its values are shared: read them, do not change
    them.  A new dict when the fields read are recorded (registry.run_group: each first run must read
    them)."""
    if rec(arch) is not arch:
        return {}
    key = (id(arch), *map(id, wl.layers))
    with _KEPT_LOCK:
        got = _KEPT.pop(key, None)
        if got is not None:
            _KEPT[key] = got
    if got is not None and got[0] is arch and all(a is b for a, b in zip(got[1], wl.layers)):
        return got[2]
    d = {}
    with _KEPT_LOCK:
        _KEPT[key] = (arch, tuple(wl.layers), d)  # (holding them: their ids stay theirs)
        while len(_KEPT) > MAX_KEPT:
            _KEPT.pop(next(iter(_KEPT)))
    return d


def _as_pipelined(rec, arch, wl, plans, shared) -> bool:
    """Does replicate place every tile, with no copy, exactly where pipelined does?  Then its plan is
    pipelined's (the policies differ only in the assignment, tlm/mapping/assign.py): the same cycles and
    energies, a tie that the simpler pipelined wins for every objective, so replicate is not counted.
    (The assignments are kept in shared["assign"] for the plans.)"""
    got, kept = _inputs(rec, arch, wl, plans, shared), shared["kept"]
    if got is None or "as_pipelined" in kept:  # (it reads the assignments alone: kept with them, asked once)
        return got is not None and kept["as_pipelined"]
    m, _comp, rc, ops = got
    memo = shared.setdefault("assign", {})
    try:
        asg = {p: mapper.assign(rec(_with_policy(shared, arch, p)), wl, p, ops, m=m, rc=rc, memo=memo)
               for p in mapper.STREAM}
    except InputError:
        return False  # (the plans say why)
    got = kept["as_pipelined"] = _same_places(asg["pipelined"], asg["replicate"])
    return got


def _same_places(a, b) -> bool:
    """Do assignments `a` and `b` place every tile alike, with the same copies (`_as_pipelined`)?"""
    return a is b or (a.replicas == b.replicas and mapper.place_keys(a) == mapper.place_keys(b)
                      and mapper.place_fields(a) == mapper.place_fields(b))  # (the cheaper tests first)


def _unbeatable(rec, arch, wl, p, plans, shared, skipped, input_density):
    """Objective throughput: is a lower bound of policy `p`'s cycles above the fewest cycles counted so far?
    (Then it is skipped, with the reason: it cannot win, its plan and schedule are not built.)  None: no
    bound to compare (another objective, a measured density, a small batch for a stream, no assignment).  The bounds
    (tlm/mapping/bounds.py): resident, its layers one after the other with the image transfers; a stream,
    each resource's work after the earliest its first job can start and before what must follow its last."""
    from tlm.mapping.bounds import layer_by_layer_bound, stream_bound
    a = rec(arch)
    if a.mapping.objective != "throughput" or input_density is not None:
        return None
    got = _inputs(rec, arch, wl, plans, shared)
    if got is None:
        return None
    m, comp, rc, ops = got
    if p in mapper.STREAM:
        if wl.batch < STREAM_BOUND_MIN_BATCH:
            return None
        ap = rec(_with_policy(shared, arch, p))
        try:
            asg = mapper.assign(ap, wl, p, ops, m=m, rc=rc, memo=shared.setdefault("assign", {}))
        except InputError:
            return None  # (the plan says why)
        lb, what = stream_bound(ap, wl, asg, ops, m=m, rc=rc), "its jobs' chains and busiest block take at least"
    else:
        lb, what = layer_by_layer_bound(a, wl, m, comp, rc, ops), "its layers one after the other take at least"
    if lb <= min(_low(x) for x in plans.values()):
        return False  # (below every policy's cycles, or their lower bound: no count needed to say so)
    _settle(wl, plans)
    best = min(plans, key=lambda q: (_low(plans[q]), mapper.CONCRETE.index(q)))
    c = cycles_of(plans[best])  # (an uncounted sequential is never the best: `_settle`)
    if lb <= c:
        return False
    skipped.append((p, f"{what} {lb:,} cycles, more than {best}'s {c:,} in all"))
    return True


def choose(arch, runs, skipped, summaries=None):
    """The best of `runs` (policy -> Result) for `mapping.objective` (ties to the simpler policy) and the
    note saying why.  `summaries`: each run's summary() if the caller has them."""
    obj = arch.mapping.objective
    summaries = summaries or {p: rp.summary() for p, rp in runs.items()}
    best = min(runs, key=lambda p: (mapper.score(runs[p], obj, summaries[p]), mapper.CONCRETE.index(p)))
    parts = []
    for p, rp in runs.items():
        s = summaries[p]
        parts.append(f"{p} {s['inferences_per_s']:,.0f} inf/s, image latency "
                     f"{mapper.image_latency_cycles(rp):,} cycles, {s['energy_per_inference_pj'] / 1e6:.3g} uJ/inf")
    note = (f"mapping auto (objective {obj}): chose {best} on {arch.macro.count} macro(s) -- " + "; ".join(parts)
            + "".join(f"; {', '.join(p for p, r in skipped if r == why)}: {why}"
                      for why in dict.fromkeys(r for _, r in skipped)))
    return best, note


def choose_policy(arch, wl, input_density=None, steady=False, brief=False, stats=None):
    """`mapping.policy: auto` (asked by tlm/engines/registry.py): the bound of every concrete policy that
    fits, the best for `mapping.objective` (ties to the simpler policy).  Returns (policy, its Result, a
    note saying why, its plan: built once, for the engine that executes it).  `steady`: the plans are the
    analytic engine's own (schedules from their steady state, shared with other runs: tlm/mapping/plan.py
    build_plan), not for an engine that executes every job.  `brief`: no note (None), and only the Results the
    choice reads are made (`_brief_choice`, tlm/engines/alone.py); `stats`: kept by a sweep (`_worth_asking`)."""
    if brief and (ap := sequential_alone(arch, wl, input_density)) is not None:  # (none other fits: the pinned run)
        return "sequential", simulate(ap, wl, None, plan := build_plan(ap, wl, None, steady=steady)), None, plan
    plans, skipped = policy_plans(arch, wl, input_density, steady, stats=stats, lazy=brief)
    if brief:
        best, res, plan = _brief_choice(arch, wl, plans)
        return best, res, None, plan
    runs = {p: _result(ap, wl, plan, pl, energies(ap, plan, pl, clock)[0], busy)
            for p, (ap, plan, pl, busy, clock) in plans.items()}
    best, note = choose(arch, runs, skipped)
    return best, runs[best], note, plans[best][1]


def _brief_choice(arch, wl, plans):
    """The policy `choose` picks among `plans` (policy_plans), its Result and its plan, making only the
    Results (and plans) the choice reads (`contenders`)."""
    if len(plans) == 1:  # (sequential alone, most often where nothing else fits: no cycles to compare)
        (p, e), = plans.items()
        ap, plan, pl, busy, clock = counted(wl, e)
        return p, _result(ap, wl, plan, pl, energies(ap, plan, pl, clock)[0], busy), plan
    runs, built = {}, {}
    _settle(wl, plans)
    for p in contenders(arch.mapping.objective, {p: _low(x) for p, x in plans.items()}):
        ap, plan, pl, busy, clock = counted(wl, plans[p])
        runs[p], built[p] = _result(ap, wl, plan, pl, energies(ap, plan, pl, clock)[0], busy), plan
    best = brief_best(arch.mapping.objective, runs)
    return best, runs[best], built[best]


def cycles_of(entry) -> int:
    """The cycles of a policy_plans entry: its counts' sum, or a streamed policy's uncounted (lazy) schedule's
    makespan, the same number (mapper.apply shares the makespan out over the rows exactly: clock_shares)."""
    pl = entry[2]
    if pl is None and isinstance(entry[1], _Deferred):  # (counted now: `_settle` counts it where it matters)
        pl = counted(entry[1].plan.wl, entry)[2]
    if pl is not None:
        return int(pl["cycles"].sum())
    return entry[1].makespan if isinstance(entry[1], _Pending) else int(entry[1].schedule.makespan)


def counted(wl, entry):
    """A policy_plans entry with its counts (`counts`, made now when lazy)."""
    if entry[2] is not None:
        return entry
    ap, plan = entry[:2]
    if isinstance(plan, _Pending):
        plan = plan.build()
    elif isinstance(plan, _Deferred):
        plan = plan.plan.finish()
    return (ap, plan, *counts(ap, wl, plan))


def contenders(objective, cycles) -> list:
    """The policies of `cycles` ({policy: its cycles}) that `choose` may pick: with objective throughput
    the score is (cycles, energy), so a policy with more cycles than the fewest cannot win and needs no
    counts, energies, nor a Result; with another objective every one."""
    if objective != "throughput" or len(cycles) == 1:
        return list(cycles)
    fewest = min(cycles.values())
    return [p for p in cycles if cycles[p] == fewest]


def brief_best(objective, runs):
    """`choose`'s pick among `runs` (policy -> Result), without their summaries: each score reads the
    Result's energy per inference, the summary's own (tested)."""
    if len(runs) == 1:
        return next(iter(runs))
    return min(runs, key=lambda p: (mapper.score(runs[p], objective), mapper.CONCRETE.index(p)))


def _compute_layers(arch, plan, pl, busy) -> None:
    """The compute layers' rows of the per-layer arrays `pl` and busy cycles `busy` (the sequential
    formulas: a resident policy's schedule replaces the cycles afterwards, mapper.apply)."""
    m, ci = plan.mapping, plan.comp_idx
    P = plan.pixels
    tile, passes = plan.tile_cycles, plan.passes  # a tile over the pixels of one pass (tlm/mapping/batching.py)
    layer_cyc = pass_schedule_cycles(arch, tile, plan.round_loads_full, plan.round_loads_last, plan.rounds,
                                     passes)
    compute = passes * plan.rounds * tile
    loaded = _loaded(plan)
    dp_cyc = m.tiles * P * plan.dp_phases  # DP phases per pixel (tlm/hw/macro.py)
    conv = P * m.row_tiles * plan.conversions_per_pixel
    psum_elems = plan.out_elems[ci] * (m.row_tiles - 1)
    for k, v in (("compute_cycles", compute), ("load_cycles", layer_cyc - compute),
                 ("weight_bits_loaded", loaded), ("conversions", conv), ("dp_cycles", dp_cyc),
                 ("sram_read_bits", plan.in_bits[ci] * m.col_tiles + plan.psum_bits),
                 ("sram_write_bits", plan.out_bits[ci] + plan.psum_bits),
                 ("dma_bits", loaded), ("postproc_ops", psum_elems), ("cycles", layer_cyc)):
        pl[k][ci] = v
    busy_macro = passes * m.tiles * tile
    pl["temporal_utilization"][ci] = busy_macro / (arch.macro.count * np.maximum(layer_cyc, 1))
    busy["macro"] += int(busy_macro.sum())
    busy["adc"] += int((m.tiles * P * plan.t_cv).sum())
    busy["dma"] += int((passes * ((plan.rounds - 1) * plan.round_loads_full + plan.round_loads_last)).sum())


def _loaded(plan):
    """Weight bits written into the macros per compute layer (none when the weights stay resident)."""
    m = plan.mapping
    return plan.passes * (np.zeros_like(m.active_cells) if plan.resident else m.active_cells)


def counts(arch, wl, plan):
    """Everything of a run but its energies: (per-layer arrays, busy cycles per component, clock cycles
    per row for the always-on energies).  The timing fields of `arch` are read here, its energy fields
    never (`energies`), so that design points differing only in those share these counts
    (`simulate_group`)."""
    n = len(wl.layers)
    pl = static_per_layer(plan)
    busy = dict.fromkeys(("macro", "adc", "sram", "dma", "controller", "postproc"), 0)
    if plan.mapping is not None:
        _compute_layers(arch, plan, pl, busy)
    di = plan.dig_idx
    dig_cycles, io_cycles = _fixed_cycles(arch, plan)
    if len(di):
        pl["postproc_ops"][di] = plan.ops
        pl["cycles"][di] = dig_cycles
        pl["sram_read_bits"][di] = plan.dig_read_bits
        pl["sram_write_bits"][di] = plan.dig_write_bits

    # activation SRAM capacity: what does not fit is spilled to external memory and read back
    spill = plan.spill_bits
    if spill.any():
        pl["spill_bits"][:n] = spill
        pl["spill_cycles"][:n] = spill_cycles(arch, spill)
        pl["cycles"][:n] += pl["spill_cycles"][:n]
        pl["dma_bits"][:n] += 2 * spill

    # image I/O: the input image in, the last layer's output out, through the DMA into/out of SRAM
    io_in, io_out = plan.io_in_bits, plan.io_out_bits
    pl["cycles"][n] = io_cycles
    pl["dma_bits"][n] = io_in + io_out
    pl["sram_write_bits"][n] = io_in
    pl["sram_read_bits"][n] = io_out
    busy["dma"] += int(pl["cycles"][n] + pl["spill_cycles"].sum())
    clock = pl["cycles"]
    if plan.schedule is not None:  # a resident policy: the mapper's schedule (tlm/mapping/mapper.py)
        clock, busy["macro"] = mapper.apply(arch, wl, plan.multi, plan.schedule, pl)
    busy["sram"] += int(hw_sram.access_cycles(arch, pl["sram_read_bits"] + pl["sram_write_bits"]).sum())
    busy["postproc"] += int(hw_pp.op_cycles(arch, pl["postproc_ops"]).sum())
    busy["controller"] = int(pl["cycles"].sum())
    return pl, busy, clock


def _fixed_cycles(arch, plan):
    """(the digital layers' cycles, the image I/O's cycles) of a plan: the same under every policy's
    counts (a resident policy's schedule re-times them afterwards, mapper.apply)."""
    dig = hw_pp.op_cycles(arch, plan.ops) if len(plan.dig_idx) else None
    return dig, hw_dma.transfer_cycles(arch, plan.io_in_bits) + hw_dma.transfer_cycles(arch, plan.io_out_bits)


def _sequential_floor(ap, plan) -> int:
    """A lower bound of the cycles `counts` gives the sequential plan, its batching rule left for later
    (Plan.finish) or not: each compute layer at the fewer of its two modes' cycles
    (tlm/mapping/batching.cycles_floor; a layer the rule put image by image has its one-image tile cycles
    in both), no spill, the digital layers and the image I/O as counted (`_fixed_cycles`)."""
    from tlm.mapping.batching import cycles_floor
    dig, io = _fixed_cycles(ap, plan)
    return cycles_floor(plan) + (int(np.sum(dig)) if dig is not None else 0) + int(io)


def energies(arch, plan, pl, clock, points=1) -> np.ndarray:
    """Energy by event kind per row, (points, rows, kinds), from the counts (`counts`) and the energy
    formulas of tlm/hw.  A field of `arch` may be an array of `points` values (shape (points, 1)): the
    same formulas then evaluate every design point at once (`simulate_group`), each point's numbers the
    very floats of its own run."""
    E = np.zeros((points, plan.rows, len(KIND_NAMES)))
    m = plan.mapping
    if m is not None:
        ci, P, ph = plan.comp_idx, plan.pixels, plan.dp_phases
        r_in, r_w, r_out, c_out, passes = plan.bits_in, plan.bits_w, plan.bits_out, plan.c_out, plan.passes
        d = plan.density[ci]
        E[:, ci, K["dp_array"]] = hw_macro.dp_array_energy_pj(arch, m.active_cells * P * ph,
                                                              m.active_cols * P * ph, d)
        E[:, ci, K["input_drivers"]] = hw_macro.input_driver_energy_pj(arch, m.active_rows * P * ph, d)
        E[:, ci, K["input_dac"]] = hw_macro.dac_energy_pj(arch, m.active_rows * P * ph)
        E[:, ci, K["weight_write"]] = hw_macro.weight_write_energy_pj(arch, _loaded(plan))
        conn = hw_macro.connected_output_rows(arch, m.rows_per_group, c_out // m.groups, m.groups,
                                              m.groups_per_tile, m.row_tiles)
        E[:, ci, K["adc"]] = P * (m.row_tiles * hw_adc.pixel_energy_pj(arch, c_out, r_in, r_w, r_out)
                                  + hw_adc.array_dac_pixel_energy_pj(arch, conn, r_in, r_w, r_out))
        E[:, ci, K["controller"]] = passes * hw_ctrl.tile_energy_pj(arch, m.active_rows, plan.tile_cycles,
                                                                    P // passes, r_in, m.row_tiles * c_out)
        # shift-add / rescale of the conversion results (tlm/hw/adc.py)
        E[:, ci, K["postproc"]] = P * m.row_tiles * hw_adc.backend_energy_pj(arch, c_out, r_in, r_w, r_out)
    # energy of the digital side, per row
    E[:, :, K["sram_read"]] = hw_sram.read_energy_pj(arch, pl["sram_read_bits"])
    E[:, :, K["sram_write"]] = hw_sram.write_energy_pj(arch, pl["sram_write_bits"])
    E[:, :, K["dma"]] = hw_dma.onchip_energy_pj(arch, pl["dma_bits"])
    E[:, :, K["external"]] = hw_dma.external_energy_pj(arch, pl["dma_bits"])
    E[:, :, K["postproc"]] += hw_pp.op_energy_pj(arch, pl["postproc_ops"])
    E[:, :, K["controller"]] += hw_ctrl.energy_pj(arch, clock)
    E[:, :, K["leakage"]] = hw_leak.energy_pj(arch, clock, plan.mapping_desc["macros_used"])
    return E


def _result(arch, wl, plan, pl, E, busy) -> Result:
    return Result(engine="analytic", arch=arch, workload=wl, layer_names=list(plan.names),
                  layer_types=list(plan.types), per_layer=pl, energy_pj=E, component_busy_cycles=busy,
                  notes=list(plan.notes), extra={"weights_resident": bool(plan.resident),
                                                 "mapping": plan.mapping_desc})


def simulate(arch, wl, input_density=None, plan=None, shared=None) -> Result:
    """Analytic simulation of `wl` on `arch` (a concrete `mapping.policy`: `auto` is resolved above the
    engines, tlm/engines/registry.py).  `input_density` (one value per layer) replaces the config's
    default input bit density, e.g. measured on data.  `plan`: an already built plan (else built with
    `shared`, build_plan's).  With a resident policy the cycles come from the plan's job schedule."""
    if plan is None:
        plan = build_plan(arch, wl, input_density, steady=True, shared=shared)  # (its own: steady state, shared)
    pl, busy, clock = counts(arch, wl, plan)
    return _result(arch, wl, plan, pl, energies(arch, plan, pl, clock)[0], busy)
