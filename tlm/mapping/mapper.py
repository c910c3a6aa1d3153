"""Several macros: where every weight tile lives and when every piece of work runs (docs/mapping.md; docs/architecture.md, "The plan").

Policies (`mapping.policy` in the architecture YAML, `tlm simulate --mapping`):
- `sequential`: today's schedule, layer by layer, a layer's tiles in rounds over the macros, weights
  reloaded per layer unless the whole network has a macro per tile (tlm/hw/controller.py; not here).
- `resident`: every tile of every layer gets a place in a macro for the whole run (packing below);
  weights are written once, never reloaded.  Layers still run one at a time over the whole batch;
  a layer's tiles on different macros run at once, tiles sharing a macro one after the other.
- `pipelined`: the resident tiles run concurrently.  Images stream through the layers and, within an
  image, output row y of a layer starts as soon as the input rows it needs exist (a 3x3 conv with
  padding 1 needs rows up to y+1): line buffers in the activation SRAM.  One array computes one tile at
  a time, so layers packed on one macro serialize: a macro's stage time is the sum of its work.
- `replicate`: `pipelined`, and macros hold copies of the slowest stages' layers; copy k of f
  computes output rows y = k mod f, so the layer's stage time divides by f.  Placement and copies are
  searched together (tlm/mapping/replicate.py): from the tight packing, one macro more at a time, the
  copies and the spread that shorten the slowest stage; more macros never lengthen it.
- `auto`: the best of these for `mapping.objective` (resolved by the engine layer, tlm/engines).

Packing rule (resident, pipelined, replicate): a tile is a rectangle of rows x columns.  Its rows are
rounded up to whole DP-split row blocks (`macro.dp_split_blocks`): blocks are what the macro can drive
and weight separately, so tiles that share columns must sit in different row blocks.  Tiles side by
side in columns may share rows (only the running tile's columns are converted).  Shelves are bands of
whole row blocks; a tile goes into the first shelf tall and wide enough, else opens a new shelf below
the last one, else the next macro (first-fit decreasing, tiles sorted by height then width).  The
fewest macros this takes is `macros_for_residency` (a `sequential` plan, which places no tile, reports a
cheap lower bound of it instead: packing.residency_bound, `macros_for_residency_exact` false).  With more macros than that, tiles are spread:
longest work first onto the least loaded macro where the tile fits (balanced stage times).

The schedule is a list of jobs (image, layer, output row, resource, cycles) in a fixed order per
resource, with dependencies on the input rows each job needs.  Its contention-free timing (a max-plus
recurrence: a job starts when its inputs exist and its resource is free) is computed here once and is
the analytic engine's bound; the TLM engine executes the same jobs in the same order on its blocks,
with contention, so it can only be later.  The jobs and their dependencies (a schedule's skeleton) depend
on the structure only -- batch, macros, layer shapes, places -- and are kept for the next schedule of the
same structure (a sweep's points that differ in timing or precision); the cycles are computed per call.
"""
from __future__ import annotations

import numpy as np
from tlm.mapping import reuse, streamsums
from tlm.mapping.policies import CONCRETE, MAX_JOBS, MAX_PACK_TILES, OBJECTIVES, POLICIES, STREAM  # noqa: F401
from tlm.mapping.packing import (  # noqa: F401  (the mapper's API)
    FFD_WINDOW,
    Place,
    _Macro,
    _fit,
    _put,
    _rect,
    comp_mapping,
    pack_balanced,
    pack_ffd,
    packing,
    residency_bound,
    tile_rects)
from tlm.mapping.assign import (  # noqa: F401  (the mapper's API)
    Assignment,
    _hw,
    _replicate,
    _spread,
    arch_file,
    assign,
    chunk_ids,
    clear_kept,
    layer_row_cycles,
    need_rows,
    place_fields,
    place_keys,
    row_cycles,
    stage_cycles)


def build_schedule(arch, wl, asg, ops, stream=True, spill_bits=None, m=None, rc=None, group=None):
    """tlm/mapping/schedule.build_schedule, a stream of several images paced by its initiation interval
    (tlm/mapping/steady.interval, the same for every batch: the schedule both engines run)."""
    from tlm.mapping import schedule
    from tlm.mapping.steady import interval
    ii = interval(arch, wl, asg, ops, m, rc, group) if stream and wl.batch > 1 else 0
    return schedule.build_schedule(arch, wl, asg, ops, stream, spill_bits, m, rc, group, ii=ii)


def resident_schedule(arch, wl, policy, shared, ops_img, steady, m, comp_idx, spill_bits, structure=None):
    """(the assignment, the job schedule) of resident policy `policy` (tlm/mapping/plan.Plan; auto's
    cycles of a streamed policy before its plan, tlm/engines/analytic.policy_plans): the assignment
    (tlm/mapping/assign.py) and the schedule both engines use (tlm/mapping/schedule.py), shared through
    `shared` (plan.build_plan's dict) by the plans whose assignments give the same one.  `m`, `comp_idx`:
    the compute layers' Mapping and rows; `spill_bits`: the sequential rule's, per layer (layer by layer);
    `structure`: the dict the plans of its structure share (tlm/mapping/template.py), where the residency
    bound is kept (the macros and the tiles are the structure's)."""
    _pinned(arch, m, shared)
    if "row_cycles" not in shared:
        shared["row_cycles"] = layer_row_cycles(arch, wl, m, [int(i) for i in comp_idx])
    rc = shared["row_cycles"]
    memo = shared.setdefault("assign", {})
    if structure is not None and "bound" in structure:
        memo.setdefault("bound", structure["bound"])
    try:
        asg = assign(arch, wl, policy, ops_img, m=m, rc=rc, memo=memo)
    finally:  # (kept for the structure's next plans: a point that does not fit too)
        if structure is not None and "bound" in memo:
            structure.setdefault("bound", memo["bound"])
    stream = policy in STREAM
    # the schedule is a function of the assignment's (layer, replica, macro) places and replicas
    # (and of the architecture and workload, the same for every plan sharing `shared`)
    key = (stream, steady, *place_keys(asg))
    schedules = shared.setdefault("schedules", {})
    S = schedules.get(key)
    if S is None and steady and stream:  # the analytic engine's: from its steady state
        from tlm.mapping.steady import steady_schedule
        S = schedules[key] = steady_schedule(arch, wl, asg, ops_img, m=m, rc=rc)
    if S is None:
        S = schedules[key] = build_schedule(arch, wl, asg, ops_img, stream=stream, spill_bits=spill_bits, m=m,
                                            rc=rc)
    return asg, S


def _pinned(arch, m, shared) -> None:
    """A pinned streamed run's plan (tlm/engines/registry._analytic: shared["pinned"], the dict its
    architecture keeps, tlm/engines/analytic._kept): the assignments' memo and the row cycles its look made
    before the points ran (tlm/engines/pretime.py), read by a plan built plainly only (no field to record:
    tlm/mapping/reuse.py), on the same Mapping."""
    kept = shared.pop("pinned", None)
    if kept is None or reuse.plain(arch) is not arch:
        return
    shared.setdefault("assign", kept.setdefault("assign", {}))
    got = kept.get("inputs")
    if got is not None and got[0] is m:
        shared.setdefault("row_cycles", got[2])


# ---- what the engines and the reports use ----------------------------------------------------------
def sequential_macros(arch, wl, m=None):
    """Sequential policy: layer i's tiles go round-robin over macros 0..min(N, tiles)-1.  `m`: the
    compute layers' Mapping if known."""
    if m is None:
        m, comp = comp_mapping(arch, wl)
    else:
        comp = [i for i, l in enumerate(wl.layers) if l.is_compute]
    N = arch.macro.count
    return {i: list(range(min(N, int(m.tiles[j])))) for j, i in enumerate(comp)}


def describe(arch, wl, asg, S=None, m=None) -> dict:
    """The mapping as plain data (JSON `extra.mapping`, the mapping table, the occupancy plot).  `m`: the
    compute layers' Mapping if known."""
    layers = {}
    if asg.policy == "sequential":
        for i, macs in sequential_macros(arch, wl, m).items():
            layers[i] = {"macros": macs, "replicas": 1, "rects": [], "stage_cycles": None}
        used = max((len(v["macros"]) for v in layers.values()), default=0)
    else:
        layers, used = _placed_layers(asg)
        if S is not None:
            for i, c in S.layer_stage.items():
                if i in layers or not wl.layers[i].is_compute:
                    layers.setdefault(i, {"macros": [], "replicas": 1, "rects": [], "stage_cycles": None})
                    layers[i]["stage_cycles"] = c
    out = {"policy": asg.policy, "macros": asg.macros, "macros_used": used,
           "macros_for_residency": asg.macros_for_residency, "macros_for_residency_exact": asg.residency_exact,
           "layers": {wl.layers[i].name: v for i, v in sorted(layers.items())}}
    if S is not None:
        out.update({"makespan_cycles": S.makespan, "stage_cycles": dict(S.stage), "bottleneck": S.bottleneck,
                    "fill_cycles": S.fill, "drain_cycles": S.drain, "line_buffer_bits": S.line_buffer_bits,
                    "line_buffer_spill_bits": S.spill_bits, "image_latency_cycles": image_latency(S, wl)})
    return out


def _placed_layers(asg):
    """({layer: its macros, replicas, rects, stage_cycles None}, macros used) of a resident policy's
    assignment: made once per Assignment (kept on it: an assignment is shared between the points and plans
    that give the same one, and never changed) and copied per call, its lists of macros and rects shared
    (read them, do not change them)."""
    got = asg.__dict__.get("_placed_layers")
    if got is None:
        layers = {}
        for p in asg.places:
            d = layers.setdefault(p.layer, {"macros": [], "replicas": asg.replicas.get(p.layer, 1), "rects": [],
                                            "stage_cycles": None})
            if p.macro not in d["macros"]:
                d["macros"].append(p.macro)
            d["rects"].append({"macro": p.macro, "tile": p.tile, "replica": p.replica, "row0": p.row0,
                               "rows": p.rows, "used_rows": p.used_rows, "col0": p.col0, "cols": p.cols})
        for d in layers.values():
            d["macros"].sort()
        got = asg.__dict__["_placed_layers"] = (layers, asg.macros_used)
    return {i: dict(d) for i, d in got[0].items()}, got[1]


def round0(asg, tiles, comp_idx) -> list:
    """Per compute layer (`tiles` of each, their rows `comp_idx`), (the macro of each tile's copy 0 under
    resident assignment `asg` (0 if none), zeros): the round-0 assignment of its plans (plan.Plan
    _all_in_round0), the same for every plan of it (the batches of a sweep), so kept on it as
    `_placed_layers` is; the arrays are read-only (a plan that changes a layer's assignment sets new ones:
    Plan.set_assignment)."""
    key = (tuple(np.asarray(tiles).tolist()), tuple(np.asarray(comp_idx).tolist()))
    got = asg.__dict__.get("_round0")
    if got is None or got[0] != key:
        copy0 = {}  # layer -> [(tile, macro)] of replica 0
        for p in asg.places:
            if p.replica == 0:
                copy0.setdefault(p.layer, []).append((p.tile, p.macro))
        out = []
        for T, i in zip(*key):
            tm = [0] * T
            for t, mac in copy0.get(i, ()):
                tm[t] = mac
            pair = (np.array(tm, dtype=np.int64), np.zeros(T, dtype=np.int64))
            for a in pair:
                a.flags.writeable = False
            out.append(pair)
        got = asg.__dict__["_round0"] = (key, out)
    return got[1]


def clock_shares(cycles, makespan):
    """The always-on clock and leakage run for the whole makespan: split it over the rows (layers +
    image I/O) in proportion to their work, exactly (the remainder goes to the image I/O row)."""
    w = np.asarray(cycles, dtype=np.float64)
    tot = w.sum()
    share = np.floor(makespan * w / tot).astype(np.int64) if tot > 0 else np.zeros(len(w), dtype=np.int64)
    share[-1] += makespan - int(share.sum())
    return share


def plan_notes(arch, wl, asg, S, notes):
    """The plan's notes for a resident policy (the sequential spill notes do not apply to streams)."""
    B = wl.batch
    out = list(notes)
    if asg.policy in STREAM:
        out = [s for s in out if "live activation bits exceed" not in s]
        out.append(f"mapping {asg.policy}: line buffers and residual branches hold at most "
                   f"{S.line_buffer_bits:,} activation bits at once ({S.line_buffer_bits / 8192:.1f} KiB of "
                   f"{arch.sram.capacity_kib:g} KiB SRAM)" + (f"; {S.spill_bits:,} bits spill to external memory "
                                                             "and back" if S.spill_bits else ""))
        st = S.stage[S.bottleneck]
        out.append(f"mapping {asg.policy}: slowest stage {S.bottleneck} {st:,} cycles per image; fill "
                   f"{S.fill:,} + {B - 1} x {st:,} + drain {S.drain:,} = {S.fill + (B - 1) * st + S.drain:,} "
                   f"cycles (the schedule: {S.makespan:,}); layers overlap, a layer's cycles are its share of "
                   "the run")
    rep = {wl.layers[i].name: f for i, f in asg.replicas.items() if f > 1}
    out.append(f"mapping {asg.policy}: {asg.macros_used} of {asg.macros} macros hold weights (residency needs "
               f"{asg.macros_for_residency}); weights written once, never reloaded"
               + (f"; replicas: {', '.join(f'{k} x{v}' for k, v in rep.items())}" if rep else ""))
    out.extend(asg.notes)
    return out


def apply(arch, wl, asg, S, pl):
    """Analytic engine, resident policies: replace the per-layer cycles of `pl` (arrays over layers +
    image I/O, filled with the sequential formulas) by the schedule `S`.  Returns (clock cycles per row
    for the always-on energies, tile-busy cycles of all macros)."""
    n = len(wl.layers)
    stream = asg.policy in STREAM
    R = len(S.names)
    comp, ci = _compute_rows(wl.layers)
    makespan = None
    # per row (layers + image I/O), exact int64 reductions over its jobs (rows without a job stay 0)
    lay, pr, pair, has, n_res, macro_busy = _job_sums(S, n, R, arch.macro.count, stream)
    cost_sum = pair.sum(axis=1)
    if not stream:  # layer by layer: a layer takes from its first job's start to its last job's end
        spill = pl["spill_cycles"].copy()
        cyc = np.zeros(n + 1, dtype=np.int64)
        last_end = np.full(n + 1, np.iinfo(np.int64).min)
        first_start = np.full(n + 1, np.iinfo(np.int64).max)
        np.maximum.at(last_end, lay, S.end)
        np.minimum.at(first_start, lay, S.start)
        cyc[has] = last_end[has] - first_start[has]
        cyc[n] = cost_sum[n]
        pl["cycles"][:] = cyc  # spill jobs included
        pl["compute_cycles"][:] = np.where(comp, cyc - spill, 0)
        pl["load_cycles"][:] = 0
    else:
        # layers overlap: a layer's `cycles` is its share of the makespan, in proportion to the work of its
        # busiest macro over the batch (the rows then sum to the latency); its stage cycles are in the
        # mapping (extra.mapping.layers[*].stage_cycles)
        work = pair.max(axis=1)
        pl["spill_cycles"][:] = 0
        pl["dma_bits"][:n] -= 2 * pl["spill_bits"][:n]
        pl["spill_bits"][:] = 0
        pl["spill_cycles"][n] = S.spill_cycles
        pl["spill_bits"][n] = S.spill_bits
        pl["dma_bits"][n] += 2 * S.spill_bits
        work[n] += S.spill_cycles
        makespan = S.makespan
        pl["cycles"][:] = clock_shares(work, makespan)
        pl["compute_cycles"][:] = np.where(comp, pl["cycles"], 0)
        pl["load_cycles"][:] = 0
    # temporal utilization: tile-busy cycles over (macros of the layer x the time it spans: its own
    # cycles layer by layer, the whole run when layers overlap)
    span = np.full(n, makespan, dtype=np.int64) if makespan is not None else pl["cycles"][:n]
    pl["temporal_utilization"][ci] = cost_sum[ci].astype(np.float64) / np.maximum(n_res[ci] * span[ci], 1)
    return pl["cycles"], macro_busy


def _compute_rows(layers) -> tuple:
    """(whether each row of `layers` + the image I/O is a compute layer, the compute rows), kept for the last
    list of layers asked (a sweep's points of one workload share it: read them, do not change them)."""
    got, key = _ROWS[0], tuple(layers)
    if got is None or got[0] != key:  # (the same layer objects: compared by identity first)
        comp = np.array([l.is_compute for l in layers] + [False])
        ci = np.flatnonzero(comp[:-1])
        comp.flags.writeable = ci.flags.writeable = False
        got = _ROWS[0] = (key, comp, ci)
    return got[1], got[2]


_ROWS = [None]  # (the layers, `_compute_rows` of them)
_SUMS = {}  # id of a steady-state schedule's cost list -> (the list, macros, `_job_sums` of one copy of its jobs)
MAX_SUMS = 256


def clear_sums() -> None:
    """Forget the kept sums of steady-state schedules and of streams' skeletons (`_job_sums`;
    tlm/engines/analytic.clear_kept)."""
    _SUMS.clear()
    streamsums.clear()


def _job_sums(S, n, R, N, stream=False):
    """(each job's row, row x R + resource, the cycles of each (row, resource) pair, the rows with a job, the
    resources each layer's jobs use, the cycles of the jobs on macros 0 .. N-1) of schedule S (`apply`).  A
    steady-state schedule's jobs all stand for the same number of jobs (tlm/mapping/steady.py: `mult`, the
    batch): its sums are one copy's (kept per job list: the batches of one stream share it) times that
    number, the same integers.  A stream built image by image: its one image's sums, kept by its stages
    (tlm/mapping/streamsums.py), whose job rows and pairs `apply` does not read (None)."""
    mult = S.mult
    if mult is None and stream:
        got = streamsums.job_sums(S, n, R, N)
        if got is not None:
            return got
    b = None
    if mult is not None and len(mult):
        b = int(mult[0])
        if int(mult.min()) != b or int(mult.max()) != b:
            b = None
    got = _SUMS.get(id(S.cost)) if b is not None else None
    if got is None or got[0] is not S.cost or got[1] != N:
        lay = np.array(S.layer, dtype=np.int64)
        cost = np.array(S.cost, dtype=np.int64)
        if mult is not None and b is None:
            cost = cost * mult
        res = np.array(S.res, dtype=np.int64)
        pr = lay * R + res
        pair = _int_sums(pr, cost, (n + 1) * R).reshape(n + 1, R)  # cost of each (row, resource)
        has = np.bincount(lay, minlength=n + 1) > 0
        n_res = (np.bincount(pr, minlength=(n + 1) * R).reshape(n + 1, R) > 0).sum(axis=1)[:n]
        got = (S.cost, N, (lay, pr, pair, has, n_res, int(cost[res < N].sum())))
        if b is not None:
            for a in got[2][:5]:  # (kept for the stream's other batches: read-only, as round0's)
                a.flags.writeable = False
            if len(_SUMS) >= MAX_SUMS:
                _SUMS.clear()
            _SUMS[id(S.cost)] = got
    if b is None:
        return got[2]
    lay, pr, pair, has, n_res, busy = got[2]
    return lay, pr, pair * b, has, n_res, busy * b


def _int_sums(idx, w, size) -> np.ndarray:
    """np.add.at(zeros(size, int64), idx, w) of nonnegative int64 `w`: one bincount, exact while the total
    stays below 2^53 (every partial sum of nonnegative integers is then an exact float64), else add.at."""
    if len(w) and (int(w.min()) < 0 or int(w.sum()) >= 1 << 53):
        out = np.zeros(size, dtype=np.int64)
        np.add.at(out, idx, w)
        return out
    return np.bincount(idx, weights=w, minlength=size).astype(np.int64)


def with_policy(arch, policy, source: str | None = None):
    """`arch` with `mapping.policy` replaced; its errors name `source` (where the policy came from, e.g. the
    command line) or the architecture's own file.  (A copy of `arch` with its mapping section replaced, as
    dataclasses.replace makes it -- the sections are frozen, nothing is derived from a field when made --,
    at a third of its cost: auto makes one per policy and point, tlm/engines/analytic.py.)"""
    import dataclasses
    from tlm.config.arch import with_source
    mp = _policy_section(arch.mapping, policy)
    names = _FIELD_NAMES.get(type(arch))
    if names is None:
        names = _FIELD_NAMES[type(arch)] = frozenset(f.name for f in dataclasses.fields(arch)) | {"source_file"}
    if arch.__dict__.keys() <= names:  # its fields and its source only: a copy is what replace makes
        new = object.__new__(type(arch))  # (copy.copy's result, without its generic reduce protocol)
        new.__dict__.update(arch.__dict__)
        object.__setattr__(new, "mapping", mp)
    else:
        new = with_source(dataclasses.replace(arch, mapping=mp), arch)
    if source is not None:
        object.__setattr__(new, "source_file", source)  # (the copy holds `arch`'s: frozen once set)
    return new


def _policy_section(mapping, policy):
    """dataclasses.replace(mapping, policy=policy), kept per mapping section object (the sections of a
    sweep's points are shared when their values are: tlm/config/overrides.py)."""
    import dataclasses
    key = (id(mapping), policy)
    got = _SECTIONS.get(key)
    if got is not None and got[0] is mapping:
        return got[1]
    new = dataclasses.replace(mapping, policy=policy)
    if len(_SECTIONS) >= 64:
        _SECTIONS.clear()
    _SECTIONS[key] = (mapping, new)
    return new


_SECTIONS = {}
_FIELD_NAMES = {}


def image_latency_cycles(res) -> int:
    """An image's latency in a Result: from the mapping (streams) or the whole run."""
    m = res.extra.get("mapping") or {}
    return int(m.get("image_latency_cycles") or res.cycles)


def score(res, objective, summary=None):
    """Sort key of a Result for `mapping.objective` (smaller is better).  `summary`: res.summary() if the
    caller has it (its energy per inference is the Result's own)."""
    lat = image_latency_cycles(res)
    e = res.energy_per_inference_pj if summary is None else summary["energy_per_inference_pj"]
    return {"latency": (lat, res.cycles, e), "throughput": (res.cycles, e), "energy": (e, res.cycles),
            "edp": (e * lat, res.cycles)}[objective]


def image_latency(S, wl) -> int:
    """Longest time from an image's input transfer start to its output transfer end."""
    if S.latency is not None:  # a steady-state schedule (tlm/mapping/steady.py)
        return S.latency
    n = len(wl.layers)
    t0, t1 = {}, {}
    for j in range(len(S.res)):
        if S.layer[j] == n:
            b = S.image[j]
            if S.row[j] == 0:
                t0[b] = int(S.start[j])
            else:
                t1[b] = int(S.end[j])
    if len(t0) == 1 and len(t1) == 1 and wl.batch > 1:  # layer by layer: the batch in and out at once
        return S.makespan
    return max(t1[b] - t0.get(b, 0) for b in t1) + S.spill_cycles
