"""Plans of points that differ in timing parameters only: one structure, re-timed.

A sweep's points often differ only in how many cycles things take -- the ADC's and the DP phase's cycles
per bit, the DMA's bandwidth and latency, the weight write speed (TIMING_SETTINGS) -- never in which
tiles, rows, volumes, event counts or SRAM addresses exist.  The part of a plan that does not depend on
the policy (tlm/mapping/plan.Plan._base) is then the same for all of them but for its timing fields
(TIMED: each compute layer's DP and conversion cycles per pixel, its period, its tile cycles and a tile's
load cycles), which each point computes from its own architecture, with the same formulas and the same
range check (Plan._timing).  The rest -- the Mapping, volumes, event counts, live bits, the SRAM layout
and the notes -- is made by the first point of a structure and kept here for the next (`get`, `put`);
with it `_structure`, a dict its plans share for what more depends on the structure alone: the residency
bound, policy sequential's assignment and description (`sequential_assignment`, `sequential_desc`), the
digital ops per layer (tlm/engines/pretime.py reads the Mapping and the bound through plan.structure).

A structure is the workload's layers (the same objects: a sweep's points share them), its batch, input
shape and bits, and every field of the architecture but the timing settings (`key`): exact by
construction, with no record of what a plan reads.  Which fields are timing settings is checked by
tests/test_plan_template.py (the structural part of a plan reads none of them; a re-timed plan equals the
plan built from scratch, field by field).  Never for an architecture that records what is read
(tlm/mapping/reuse.recording: the fields the structure reads must be noted) nor a measured input
density.  Shared arrays: read them, do not change them (as the plans of one point's policies already do).
"""
from __future__ import annotations

import dataclasses
import threading

# Architecture settings that change the cycles of a plan's jobs only, never which tiles, rows, jobs and
# dependencies exist (a schedule's skeleton), nor any volume or event count.  Plans of points that differ
# in these alone share their structure (`get`); a sweep run in-process evaluates such points next to each
# other (tlm/services/sweep/runner.structure_first, through tlm/engines/registry.TIMING_SETTINGS), so that
# they come to run_group together and tlm/engines/pretime.py times each structure's points at once.
TIMING_SETTINGS = frozenset({"adc.cycles_per_bit", "adc.fixed_cycles", "macro.dp_cycles_per_bit",
                             "macro.op_overhead_cycles", "macro.weight_write_bits_per_cycle",
                             "dma.bandwidth_bits_per_cycle", "dma.latency_cycles", "postproc.ops_per_cycle"})
# the base fields a timing setting changes (Plan._timing computes them for each point)
TIMED = ("t_dp", "t_cv", "period", "tile_cycles", "_tile_load_cycles")
_SKIP = frozenset(TIMED + ("arch", "wl", "policy"))  # (`put`: each plan's own)
_TIMING_PATHS = tuple(sorted(TIMING_SETTINGS))
ON = True  # False: every plan's base built from scratch (tests compare the two)
MAX_TEMPLATES = 64

_TEMPLATES = {}  # key -> (the layers, the base fields but TIMED), the least recently used first
_SECTIONS = {}  # id(section) -> (the section, its values with the timing settings left out)
_LAYOUTS = {}  # architecture class -> ((field name, whether it is a section), ...) but UNREAD
_LOCK = threading.Lock()


def clear() -> None:
    """Forget the kept structures (tlm/services/bench.cold)."""
    with _LOCK:
        _TEMPLATES.clear()
        _BATCHLESS.clear()
        _SECTIONS.clear()
        _ARCH_KEYS.clear()
        _LAST[0] = None
        _RUN[:] = [0, 0]


def _timing_fields(name) -> frozenset:
    return frozenset(p.split(".", 1)[1] for p in TIMING_SETTINGS if p.split(".", 1)[0] == name)


def _section_key(name, sec) -> tuple:
    """The values of section `sec` (named `name`) but its timing settings, kept per section object (the
    points of a sweep share the sections they do not change)."""
    got = _SECTIONS.get(id(sec))
    if got is not None and got[0] is sec:
        return got[1]
    skip = _timing_fields(name)
    k = tuple(getattr(sec, f.name) for f in dataclasses.fields(sec) if f.name not in skip)
    with _LOCK:
        if len(_SECTIONS) >= 4 * MAX_TEMPLATES:
            _SECTIONS.clear()
        _SECTIONS[id(sec)] = (sec, k)
    return k


# sections no plan's base reads (tested): the policies of one point, `auto`'s and the concrete ones, share it
UNREAD = frozenset({"mapping"})


def key(arch, wl, input_density=None):
    """What a plan's structure reads: the workload's layers (by identity), batch, input shape and bits,
    and every architecture field but the timing settings and the UNREAD sections; None (not shared) with
    a measured input density, an architecture that records what is read (tlm/mapping/reuse.recording),
    or ON False."""
    from tlm.mapping.assign import HashedTuple
    from tlm.mapping.reuse import plain
    if not ON or input_density is not None or plain(arch) is not arch or _given_up():
        return None
    last = _LAST[0]
    if last is not None and last[0] is arch and last[1] is wl and last[2] is wl.layers:
        return last[3]
    k = HashedTuple((tuple(map(id, wl.layers)), wl.batch, tuple(wl.input_shape), wl.input_bits)
                    + _arch_key(arch))
    try:
        hash(k)
    except TypeError:  # (a field holding a list: not kept)
        return None
    _LAST[0] = (arch, wl, wl.layers, k)
    return k


_LAST = [None]  # (the architecture, the workload, its layers, `key`'s answer) last made: a point's structure
# is asked twice under auto (tlm/engines/pretime.py, then its plan), as one object hashed once (HashedTuple)


_ARCH_KEYS = {}  # id(architecture) -> (it, its part of `key`): a point's plans and tlm/engines/pretime.py ask


def _arch_key(arch) -> tuple:
    """`key`'s part of frozen architecture `arch`, kept per architecture object (asked for a sweep's point
    by its look before the points run, tlm/engines/pretime.py, and again by its plan)."""
    got = _ARCH_KEYS.get(id(arch))
    if got is not None and got[0] is arch:
        return got[1]
    k = tuple(_section_key(name, getattr(arch, name)) if sec else getattr(arch, name) for name, sec in _layout(arch))
    with _LOCK:
        if len(_ARCH_KEYS) >= 4 * MAX_TEMPLATES:
            _ARCH_KEYS.clear()
        _ARCH_KEYS[id(arch)] = (arch, k)
    return k


def _layout(arch) -> tuple:
    """((field name, whether it is a section), ...) of the architecture's class but the UNREAD sections."""
    layout = _LAYOUTS.get(type(arch))
    if layout is None:  # (per class)
        layout = _LAYOUTS[type(arch)] = tuple((f.name, bool(f.metadata.get("section")))
                                              for f in dataclasses.fields(arch) if f.name not in UNREAD)
    return layout


def same_structure(a, b) -> bool:
    """Are `key`'s parts of frozen architectures `a` and `b` equal (one structure for one workload)?  The
    sections they share (one object: a sweep's points) are not compared field by field."""
    if type(a) is not type(b):
        return False
    layout = _layout(a)
    get = _GETTERS.get(layout)
    if get is None:  # (the fields' values at once, from the frozen objects' own dicts: one C call each)
        from operator import itemgetter
        get = _GETTERS[layout] = itemgetter(*(name for name, _sec in layout))
    try:
        xs, ys = get(a.__dict__), get(b.__dict__)
    except KeyError:  # (a field not held in the object's dict)
        xs, ys = ([getattr(o, name) for name, _sec in layout] for o in (a, b))
    for (name, sec), x, y in zip(layout, xs, ys):
        if x is not y and (_section_key(name, x) != _section_key(name, y) if sec else x != y):
            return False
    return True


_GETTERS = {}  # `_layout` -> an itemgetter of its field names (`same_structure`)


def same_key(new, old) -> None:
    """Frozen architecture `new`, a copy of `old` that differs in UNREAD sections only (mapper.with_policy: auto's
    policies of one point), takes `old`'s part of `key` where it is kept (not made again field by field)."""
    got = _ARCH_KEYS.get(id(old))
    if got is not None and got[0] is old:
        with _LOCK:
            if len(_ARCH_KEYS) >= 4 * MAX_TEMPLATES:
                _ARCH_KEYS.clear()
            _ARCH_KEYS[id(new)] = (new, got[1])


# Structures kept in a row that no other point read (a sweep of structural settings only: the batch, the
# macros, the precision): then only two calls of `key` in every PROBE look (a plan and the next: a
# structure made by one point and read by the next is shared again), until one is read by another point
# (its timing settings' values differ from those of the point that kept it)
GIVE_UP = 16
PROBE = 16
_RUN = [0, 0]  # [structures kept since one was read by another point, calls of `key` since giving up]


def _given_up() -> bool:
    if _RUN[0] < GIVE_UP:
        return False
    _RUN[1] += 1
    return _RUN[1] % PROBE > 1


_TIMING_PAIRS = tuple(tuple(p.split(".")) for p in _TIMING_PATHS)


def _timing_values(arch) -> tuple:
    return tuple(getattr(getattr(arch, s), f) for s, f in _TIMING_PAIRS)


def get(k, wl, arch=None):
    """The base fields (but TIMED) kept for structure `k`, or None.  `arch`: the architecture asking (a
    point other than the one that kept it, by its timing settings' values, counts as sharing: GIVE_UP)."""
    if k is None:
        return None
    with _LOCK:
        got = _TEMPLATES.pop(k, None)
        if got is None:
            return None
        _TEMPLATES[k] = got
    if any(a is not b for a, b in zip(got[0], wl.layers)):
        return None  # (other layer objects at the same ids: not this workload's)
    if arch is not None and _RUN[0] and _timing_values(arch) != got[2]:
        _RUN[0] = _RUN[1] = 0
    return got[1]


def kept_structure(arch, wl):
    """The `_structure` dict of the structure kept for plans of `wl` on frozen architecture `arch` (what `get`
    finds for `key(arch, wl)`), or None; a look that changes nothing: neither the order of the kept
    structures nor the give-up's counts (tlm/engines/alone.py asks before the point's plan does)."""
    if not ON or _RUN[0] >= GIVE_UP:  # (given up: `key` gives None but in its probes)
        return None
    k = (tuple(map(id, wl.layers)), wl.batch, tuple(wl.input_shape), wl.input_bits) + _arch_key(arch)
    try:
        got = _TEMPLATES.get(k)
    except TypeError:  # (a field holding a list: not kept)
        return None
    if got is None or any(a is not b for a, b in zip(got[0], wl.layers)):
        return None
    return got[1].get("_structure")


def put(k, wl, fields: dict, arch) -> None:
    """Keep the base fields `fields` of a plan on `arch` (but TIMED, and its arch, wl and policy) as structure
    `k`'s (the layers held: their ids stay theirs); nothing when `k` is None."""
    if k is None:
        return
    kept = {n: v for n, v in fields.items() if n not in _SKIP}
    _RUN[0] += 1
    with _LOCK:
        _TEMPLATES[k] = (tuple(wl.layers), kept, _timing_values(arch))
        while len(_TEMPLATES) > MAX_TEMPLATES:
            _TEMPLATES.pop(next(iter(_TEMPLATES)))


def sequential_assignment(plan, N) -> list:
    """Policy sequential's assignment of `plan`, rounds of N tiles: tile k on macro k mod N in round k div
    N, per compute layer; the arrays kept for the plans of one structure (read them, do not change them: a
    plan that changes a layer's assignment sets new ones, Plan.set_assignment), the list each plan's own."""
    st = plan._structure
    got = st.get("sequential_assignment") if st is not None else None
    if got is None:
        got = _batchless(("sequential_assignment", N), (plan.mapping,))
        if got is None:
            import numpy as np
            got = [(np.arange(t) % N, np.arange(t) // N) for t in plan.mapping.tiles.tolist()]
            _keep_batchless(("sequential_assignment", N), (plan.mapping,), got)
        if st is not None:
            st["sequential_assignment"] = got
    return list(got)


def sequential_desc(plan, arch, wl, memo) -> dict:
    """mapper.describe of policy sequential's assignment of `plan` (its macros per layer, the residency
    bound), kept for the plans of one structure (the macro count and the tiles are the structure's), with
    the bound in `memo` (assign's, for the other policies of the run)."""
    from tlm.mapping import mapper
    st = plan._structure
    got = st.get("sequential_desc") if st is not None else None
    if got is None:
        from tlm.mapping.reuse import plain
        objs = (arch, plan.mapping, wl.layers) if plain(arch) is arch else None  # (a recording reads them)
        kept = _batchless("sequential_desc", objs) if objs else None
        if kept is None:
            if st is not None and "bound" in st:
                memo.setdefault("bound", st["bound"])
            got = mapper.describe(arch, wl, mapper.assign(arch, wl, "sequential", m=plan.mapping, memo=memo),
                                  None, m=plan.mapping)
            if objs:
                _keep_batchless("sequential_desc", objs, (got, memo["bound"]))
        else:
            got = kept[0]
            memo.setdefault("bound", kept[1])
        if st is not None:
            st["sequential_desc"], st["bound"] = got, memo["bound"]
    elif "bound" not in memo:
        memo["bound"] = st["bound"]
    return dict(got)


# Policy sequential's assignment and description read no batch: the macro count and the Mapping (the
# assignment), the architecture, the Mapping and the layers (the description and the residency bound).
# A sweep of batches makes a structure per batch (`key`); these are kept here too for its next batch,
# by the identity of the objects they read (held: their ids stay theirs), the last of each kind only.
_BATCHLESS = {}  # kind -> (the objects read, the value)


def _batchless(kind, objs):
    """The value kept for `kind` (`_keep_batchless`) when made from the very objects `objs`, else None."""
    got = _BATCHLESS.get(kind)
    if got is not None and len(got[0]) == len(objs) and all(a is b for a, b in zip(got[0], objs)):
        return got[1]
    return None


def _keep_batchless(kind, objs, value) -> None:
    """Keep `value` of `kind`, made from `objs` (`_batchless`)."""
    _BATCHLESS[kind] = (objs, value)
