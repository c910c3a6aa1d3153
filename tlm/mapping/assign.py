"""The assignment: which macro holds which tile for a policy, per-row work of a tile, and replication
of the slowest stages onto spare macros.
"""
from __future__ import annotations

import threading
from dataclasses import field

import numpy as np
from tlm.records import Record, record
from tlm.errors import InputError, Where
from tlm.hw import controller as hw_ctrl
from tlm.hw.macro import block_rows
from tlm.mapping.geometry import cdiv, map_layers
from tlm.config.workload import COMPUTE_TYPES, VIEW_TYPES
from tlm.mapping.policies import MAX_PACK_TILES
from tlm.mapping.packing import Place, comp_mapping, pack_balanced, packing, residency_bound, shape_key


@record
class Assignment(Record):
    """Where every tile lives: the output of the mapper for one policy."""
    policy: str
    macros: int  # macros in the architecture
    macros_for_residency: int  # fewest macros that hold every tile at once (FFD packing), or a lower bound
    residency_exact: bool = True  # False: macros_for_residency is packing.residency_bound (no packing done)
    places: list = field(default_factory=list)  # Place, for resident policies
    replicas: dict = field(default_factory=dict)  # layer index -> copies of its weights
    notes: list = field(default_factory=list)

    def layer_macros(self, i) -> list:
        return sorted({p.macro for p in self.places if p.layer == i})

    @property
    def macros_used(self) -> int:
        return len({p.macro for p in self.places})


class HashedTuple(tuple):
    """A tuple whose hash is computed once (a key hashed several times per schedule: the skeleton, the rows
    per job, the kept job costs).  Equal to (and hashed as) the plain tuple of the same items."""

    def __hash__(self):
        h = self.__dict__.get("_h")
        if h is None:
            h = self.__dict__["_h"] = tuple.__hash__(self)
        return h


def place_keys(asg) -> tuple:
    """What a resident policy's schedule reads of its assignment: the (layer, replica, macro) of every place
    and the replicas, sorted (tlm/mapping/schedule._structure, mapper.resident_schedule).  Kept on the
    Assignment: it is shared between the points and plans that give the same one, and never changed once
    made (`assign`)."""
    got = asg.__dict__.get("_place_keys")
    if got is None:
        got = asg.__dict__["_place_keys"] = (HashedTuple((q.layer, q.replica, q.macro) for q in asg.places),
                                             HashedTuple(sorted(asg.replicas.items())))
    return got


def job_places(asg) -> tuple:
    """place_keys of `asg` as the jobs read them: a layer whose copies all hold as many tiles on each of the
    same macros is one copy -- its chunk q goes to copy q mod f (schedule._stream_jobs), each copy the same
    jobs (one per macro, its cost from the chunk's rows and the macro's tile count), so the skeleton is the
    single copy's, and the schedule, its steady state and bounds, which key on it (replicate's copies of a
    layer stacked on one macro run as pipelined's one copy).  The TLM engine still reads each chunk's tiles
    from its copy (S.row mod f).  Kept on the Assignment, as place_keys is."""
    got = asg.__dict__.get("_job_places")
    if got is None:
        places, reps = place_keys(asg)
        f = dict(reps)
        held = {}  # layer -> copy -> {macro: tiles}
        for li, r, mac in places:
            d = held.setdefault(li, {}).setdefault(r, {})
            d[mac] = d.get(mac, 0) + 1
        one = {li for li, cps in held.items() if f.get(li, 1) > 1 and len(cps) == f[li]
               and all(c == cps[0] for c in cps.values())}
        got = (places, reps) if not one else (
            HashedTuple(x for x in places if x[0] not in one or x[1] == 0),
            HashedTuple((li, 1 if li in one else k) for li, k in reps))
        asg.__dict__["_job_places"] = got
    return got


def place_fields(asg) -> tuple:
    """Every field of every place of `asg` (`asg.places == other.places` as tuples: auto's test that replicate
    places every tile where pipelined does, tlm/engines/analytic._as_pipelined), kept on the Assignment as
    `place_keys` is."""
    got = asg.__dict__.get("_place_fields")
    if got is None:
        from operator import attrgetter
        got = asg.__dict__["_place_fields"] = tuple(map(attrgetter(*Place.__record_compare__), asg.places))
    return got


# ---- per-row work ----------------------------------------------------------------------------------
def _hw(shape):
    return (shape[1], shape[2]) if len(shape) == 3 else (1, 1)


def row_cycles(arch, layer, outputs_per_tile):
    """(cycles of the first output row of a tile run, of any further row) of one tile of a compute layer
    for one image.  The first row carries the pipeline fill (first DP + last conversion), once per run:
    a run over rows lo..hi costs first + (hi - lo) x further = tile_cycles of its pixels."""
    return _row_cycles(arch, [layer], [outputs_per_tile])[0]


def layer_row_cycles(arch, wl, m, comp):
    """{compute layer index: row_cycles of one of its full tiles}; `m`, `comp` = comp_mapping(arch, wl).
    Kept per layer objects and Mapping for the architectures with the same values of the fields the first
    one read (tlm/mapping/reuse.recording: the same values read, the same branches and numbers): a sweep's
    points of one structure that differ in what no row's cycles read (the DMA, the supplies)."""
    if not comp:
        return {}
    from tlm.mapping import reuse
    layers = [wl.layers[i] for i in comp]
    if reuse.plain(arch) is not arch:  # (a recording notes the fields read: through it)
        return dict(zip(comp, _row_cycles(arch, layers, m.outputs_per_tile)))
    k = (tuple(map(id, layers)), id(m), tuple(comp))
    got = _ROW_CYCLES.get(k)
    if got is None or got[1] is not m or any(a is not b for a, b in zip(got[0], layers)):
        got = None
    else:
        rc = got[3].get(reuse.values(arch, got[2]))
        if rc is not None:
            return dict(rc)
    read = set()
    rc = dict(zip(comp, _row_cycles(reuse.recording(arch, read), layers, m.outputs_per_tile)))
    fields = tuple(sorted(read, key=str))
    with _LOCK:
        if got is None or got[2] != fields:
            if len(_ROW_CYCLES) >= MAX_KEPT:
                _ROW_CYCLES.clear()
            got = _ROW_CYCLES[k] = (tuple(layers), m, fields, {})
        if len(got[3]) >= MAX_KEPT:
            got[3].clear()
        got[3][reuse.values(arch, fields)] = rc
    return dict(rc)


def _row_cycles(arch, layers, outputs_per_tile) -> list:
    """`row_cycles` of each of `layers` (compute layers; a full tile's outputs per pixel each), as ints,
    every layer at once (`row_cycle_arrays`)."""
    first, more = row_cycle_arrays(arch, layers, outputs_per_tile)
    return list(zip(np.asarray(first, dtype=np.int64).tolist(), np.asarray(more, dtype=np.int64).tolist()))


def row_cycle_arrays(arch, layers, outputs_per_tile):
    """(cycles of the first output row, of any further row) of one full tile of each of `layers`, as arrays
    over the layers: the tile schedule rule of tlm/hw/controller.tile_cycles (one place) given arrays, row 0
    = a tile over W pixels, every later row = what W more pixels add.  A timing field of `arch` may be an
    int64 array of shape (points, 1) (tlm/mapping/pointgroup.row_cycles): then (points, layers) arrays.  As
    tile_cycles gives them (its dtype: the callers check or cast)."""
    W = np.array([_hw(l.out_shape)[1] for l in layers], dtype=np.int64)
    args = (arch, np.array([l.bits_in for l in layers], dtype=np.int64),
            np.array([l.bits_out for l in layers], dtype=np.int64), np.asarray(outputs_per_tile, dtype=np.int64))
    bits_w = np.array([l.bits_w for l in layers], dtype=np.int64)
    first = np.asarray(hw_ctrl.tile_cycles(*args, W, bits_w))
    two = np.asarray(hw_ctrl.tile_cycles(*args, 2 * W, bits_w))
    return first, two - first


def need_rows(layer, in_shape, H_out):
    """For each output row y, the (first, last) rows of input `in_shape` it reads (int64 arrays)."""
    H_in = _hw(in_shape)[0]
    y = np.arange(H_out, dtype=np.int64)
    if len(in_shape) != 3 or len(layer.out_shape) != 3 or layer.type in (
            "global_avgpool", "global_maxpool", "dense", *VIEW_TYPES):
        return np.zeros(H_out, dtype=np.int64), np.full(H_out, H_in - 1, dtype=np.int64)
    if layer.type in ("conv2d", "maxpool", "avgpool"):
        first = y * layer.stride[0] - layer.padding[0]
        last = first + (layer.kernel[0] - 1) * layer.dilation[0]
        hi = H_in - 1  # np.clip(x, 0, hi), cheaper on these short arrays
        return np.minimum(np.maximum(first, 0), hi), np.minimum(np.maximum(last, 0), hi)
    if H_in == 1:
        z = np.zeros(H_out, dtype=np.int64)
        return z, z
    r = np.minimum(y, H_in - 1)
    return r, r


def chunk_ids(h, c):
    """Chunk index of each of `h` rows split into `c` chunks (chunk q = rows [q*h//c, (q+1)*h//c))."""
    if c == h:  # one row per chunk
        return np.arange(h, dtype=np.int64)
    b = np.arange(c + 1, dtype=np.int64) * h // c
    return np.repeat(np.arange(c, dtype=np.int64), np.diff(b))


def assign(arch, wl, policy, ops=None, packed=None, m=None, rc=None, memo=None) -> Assignment:
    """Place the tiles for `policy` (not `auto`).  `ops` = digital ops per image per layer (for the
    stage balance of replicate).  Raises InputError 'need N macros' when the tiles do not fit (without
    packing them when their residency_bound already exceeds the macros).  `sequential` never packs: its
    macros_for_residency is the bound (residency_exact False).
    `packed`: `packing(arch, wl)` when the caller has it (several policies of one architecture and
    workload share it); `m`: the compute layers' Mapping, `rc`: layer_row_cycles, if known; `memo`: a
    dict shared by the assignments of one architecture and workload under several policies (the
    balanced spread every resident policy starts from is computed once)."""
    N = arch.macro.count
    mm = m if m is not None else comp_mapping(arch, wl)[0]
    bound = memo.get("bound") if memo is not None else None
    if bound is None:  # cheap, exact: no packing where it cannot fit or is not needed
        bound = residency_bound(arch, mm)
        if memo is not None:
            memo["bound"] = bound
    if policy == "sequential" or mm is None:
        return Assignment(policy=policy, macros=N, macros_for_residency=bound, residency_exact=mm is None)
    got = memo.get(("assignment", policy)) if memo is not None else None
    if got is not None:  # (auto's bound asked for it before the plan did: tlm/engines/analytic._unbeatable)
        return got
    key = None
    if rc is not None and bound <= N:  # the same assignment as an earlier point's that read the same values
        # (`_kept_key`; a refusal is not kept: `_resident_assign` says why)
        key = _kept_key(arch, wl, policy, rc, memo)
        with _LOCK:
            asg = _KEPT.pop(key, None)
            if asg is not None:
                _KEPT[key] = asg
    if key is None or asg is None:
        asg = _interned(_resident_assign(arch, wl, policy, mm, bound, packed, rc, memo))
        if key is not None:
            with _LOCK:
                _KEPT[key] = asg
                while len(_KEPT) > MAX_KEPT:
                    _KEPT.pop(next(iter(_KEPT)))
    if memo is not None:
        memo[("assignment", policy)] = asg
    return asg


# A resident policy's assignment reads the macro geometry and count, each compute layer's weight shape,
# precision, output rows and row cycles (`_kept_key`), nothing else: kept for the next point that reads the
# same values (a sweep's points that differ in the batch, the supplies, the DMA... share it).  Shared:
# read it, do not change it.
_ROW_CYCLES = {}  # (the compute layers' ids, the Mapping's id, their indices) -> (the layers, the Mapping,
# the fields the first layer_row_cycles read, {their values: its row cycles})
_KEPT = {}  # _kept_key -> Assignment, the least recently used first
MAX_KEPT = 256
_LOCK = threading.Lock()


def clear_kept() -> None:
    """Forget the assignments and packings kept between runs (`_KEPT`, packing._PACKINGS)."""
    from tlm.mapping import packing as _packing
    with _LOCK:
        _KEPT.clear()
        _SAME.clear()
        _ROW_CYCLES.clear()
    with _packing._LOCK:
        _packing._PACKINGS.clear()


_SAME = {}  # an assignment's contents -> the first Assignment made with them (`_interned`)
MAX_SAME = 256


def _interned(asg) -> Assignment:
    """`asg`, or the Assignment made earlier with the same contents (policy, macros, residency, every
    field of every place, replicas, notes): a sweep's points that differ in cycles only often get the same
    assignment from other row cycles, and what is kept on an Assignment (place_keys, job_places, round0,
    mapper._placed_layers, the schedules keyed by them) is then made once for them all."""
    key = (asg.policy, asg.macros, asg.macros_for_residency, asg.residency_exact, place_fields(asg),
           tuple(sorted(asg.replicas.items())), tuple(asg.notes))
    with _LOCK:
        got = _SAME.get(key)
        if got is None:
            if len(_SAME) >= MAX_SAME:
                _SAME.clear()
            got = _SAME[key] = asg
    return got


def _kept_key(arch, wl, policy, rc, memo=None) -> tuple:
    """Everything `_resident_assign` reads (a refusal is not kept: its message names the files): the
    policy, the macros, the tiles' rectangles (packing.shape_key) and each compute layer's output rows
    and row cycles.  `memo`: assign's, where the part every policy shares is kept."""
    common = memo.get("kept_key") if memo is not None else None
    if common is None:
        comp, key = shape_key(arch, wl)
        common = (arch.macro.count, key, tuple((_hw(wl.layers[i].out_shape)[0], *rc[i]) for i in comp))
        if memo is not None:
            memo["kept_key"] = common
    return (policy, *common)


def _resident_assign(arch, wl, policy, mm, bound, packed, rc, memo) -> Assignment:
    """`assign` of a resident policy (not memoized)."""
    N = arch.macro.count
    total = int(mm.tiles.sum())
    if total > MAX_PACK_TILES:
        raise InputError(f"policy '{policy}': '{wl.name}' has {total:,} weight tiles, more than the "
                         f"{MAX_PACK_TILES:,} the mapper places one by one: use mapping.policy sequential",
                         Where(arch_file(arch)), "mapping.policy")
    if bound > N:
        raise InputError(f"policy '{policy}': the {total} weight tiles of '{wl.name}' need at least {bound} "
                         f"macros to stay resident (no packing in whole DP-split blocks takes fewer), the architecture "
                         f"has {N}: raise macro.count or use mapping.policy: sequential", Where(arch_file(arch)),
                         "mapping.policy")
    if packed is None and memo is not None:
        packed = memo.get("packing")
    if packed is None:
        packed = packing(arch, wl, mm, memo.get("kept_key", (None, None))[1] if memo is not None else None)
        if memo is not None:
            memo["packing"] = packed
    rects, m, comp, items, need, where = packed
    asg = Assignment(policy=policy, macros=N, macros_for_residency=need)
    if policy == "sequential" or not items:
        return asg
    if need > N:
        f = arch_file(arch)
        raise InputError(f"policy '{policy}': the {len(items)} weight tiles of '{wl.name}' need {need} macros "
                         f"to stay resident (first-fit-decreasing packing in whole DP-split blocks), the "
                         f"architecture has {N}: raise macro.count or use mapping.policy: sequential",
                         Where(f), "mapping.policy")
    if policy == "replicate":
        _replicate(arch, wl, asg, rects, comp, where, rc if rc is not None else layer_row_cycles(arch, wl, m, comp))
        return asg
    spread = memo.get("spread") if memo is not None else None
    if spread is None:
        spread = _spread(arch, wl, rects, m, comp, items, where, rc, (memo or {}).get("spread_trace"))
        if memo is not None:
            memo["spread"] = spread
    layer_work, places, notes = spread
    asg.places.extend(places)  # (Place objects are never changed: replicas are new ones)
    asg.notes.extend(notes)
    asg.replicas = {i: 1 for i in comp}
    return asg


def _spread(arch, wl, rects, m, comp, items, where, rc, trace=None):
    """The balanced spread of every tile over the macros (the start of every resident policy):
    (work of each compute layer per image, the places, notes).  `trace`: pack_balanced's (memo["spread_trace"])."""
    N = arch.macro.count
    if rc is None:
        rc = layer_row_cycles(arch, wl, m, comp)
    layer_work = layer_works(wl, comp, rc)
    work = {(i, k, 0): layer_work[i] for i in comp for k in range(len(rects[i]))}
    notes = []
    bal = pack_balanced(arch, items, work, N, trace=trace)
    if bal is None:  # spreading failed where packing tight succeeds: keep the tight packing
        bal = where
        notes.append("mapper: the balanced spread did not fit; tiles kept in the first-fit-decreasing packing")
    places = []
    for (i, k, r), (mac, r0, c0) in sorted(bal.items()):
        u, h, w = rects[i][k]
        places.append(Place(i, k, r, mac, r0, h, c0, w, u))
    return layer_work, places, notes


def layer_works(wl, comp, rc) -> dict:
    """Each compute layer's cycles per image on one copy (row cycles `rc`: its first output row, then each
    further one), each of its tiles' work in the balanced spread (`_spread`)."""
    return {i: rc[i][0] + (_hw(wl.layers[i].out_shape)[0] - 1) * rc[i][1] for i in comp}


def arch_file(arch):
    return getattr(arch, "source_file", None) or "<architecture>"


def stage_cycles(asg, layer_work):
    """Per macro: cycles of work per image (a layer replicated f times does 1/f of its rows per copy,
    rounded up)."""
    st = {}
    for p in asg.places:
        f = asg.replicas.get(p.layer, 1)
        st[p.macro] = st.get(p.macro, 0) + cdiv(layer_work[p.layer], f)
    return st


def _replicate(arch, wl, asg, rects, comp, where, rc):
    """Placement and copies searched together (tlm/mapping/replicate.py) from the tight packing `where`."""
    H = {i: _hw(wl.layers[i].out_shape)[0] for i in comp}
    from tlm.mapping.replicate import search  # (the replicate policy only: not loaded by other runs)
    f, places = search(arch, rects, comp, rc, H, asg.macros_for_residency, where, asg.macros)
    asg.replicas = f
    for (i, k, r), (mac, r0, c0) in sorted(places.items()):
        u, h, w = rects[i][k]
        asg.places.append(Place(i, k, r, mac, r0, h, c0, w, u))
