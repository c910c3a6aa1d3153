"""Several macros: where every weight tile lives and when every piece of work runs (DESIGN.md §6).

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
- `replicate`: `pipelined`, and spare macros hold copies of the slowest stages' layers; copy k of f
  computes output rows y = k mod f, so the layer's stage time divides by f.  Factors are chosen
  slowest stage first while spare macros remain and the bottleneck still shrinks.
- `auto`: the best of these for `mapping.objective` (resolved by the engine layer, tlm/engines).

Packing rule (resident, pipelined, replicate): a tile is a rectangle of rows x columns.  Its rows are
rounded up to whole DP-split row blocks (`macro.dp_split_blocks`): blocks are what the macro can drive
and weight separately, so tiles that share columns must sit in different row blocks.  Tiles side by
side in columns may share rows (only the running tile's columns are converted).  Shelves are bands of
whole row blocks; a tile goes into the first shelf tall and wide enough, else opens a new shelf below
the last one, else the next macro (first-fit decreasing, tiles sorted by height then width).  The
fewest macros this takes is `macros_for_residency`.  With more macros than that, tiles are spread:
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

import math
import threading
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from .errors import InputError, Where
from .hw import controller as hw_ctrl
from .hw import dma as hw_dma
from .hw import postproc as hw_pp
from .mapping import cdiv, map_layers
from .workload import COMPUTE_TYPES, VIEW_TYPES

POLICIES = ("sequential", "resident", "pipelined", "replicate", "auto")
STREAM = ("pipelined", "replicate")  # policies whose layers overlap
CONCRETE = ("sequential", "resident", "pipelined", "replicate")
OBJECTIVES = ("latency", "throughput", "energy", "edp")
MAX_PACK_TILES = 100_000  # weight tiles the resident policies place one by one (Python objects each)
MAX_JOBS = 60_000  # jobs of a streamed schedule (a few Python objects and events each): coarser rows past this


# ---- placement --------------------------------------------------------------------------------------
@dataclass(slots=True)
class Place:
    """One weight tile (of one replica) on a macro: rows [row0, row0 + rows) x columns [col0, col0 + cols)
    occupied (rows rounded up to whole DP-split blocks; `used_rows` are the rows it drives)."""
    layer: int  # workload layer index
    tile: int
    replica: int
    macro: int
    row0: int
    rows: int
    col0: int
    cols: int
    used_rows: int


class _Macro:
    __slots__ = ("shelves", "top", "work")

    def __init__(self):
        self.shelves = []  # [row0, height, columns used]
        self.top = 0
        self.work = 0


def _fit(mac, h, w, R, C):
    """(row0, col0) where a h x w rectangle fits in `mac` (existing shelf first), or None."""
    for s in mac.shelves:
        if h <= s[1] and s[2] + w <= C:
            return s, s[0], s[2]
    if mac.top + h <= R:
        return None, mac.top, 0
    return None


def _put(mac, where, h, w):
    s, r0, c0 = where
    if s is None:
        s = [r0, h, 0]
        mac.shelves.append(s)
        mac.top += h
    s[2] += w
    return r0, c0


def _rect(arch, rows):
    blk = arch.macro.rows // arch.macro.dp_split_blocks
    return cdiv(rows, blk) * blk


def comp_mapping(arch, wl):
    """(the Mapping of the compute layers, their workload indices); (None, []) without any."""
    comp = [i for i, l in enumerate(wl.layers) if l.is_compute]
    return (map_layers(arch, [wl.layers[i] for i in comp]) if comp else None), comp


def tile_rects(arch, wl, m=None):
    """Per compute layer index: a list of (used rows, occupied rows, columns) per tile.  `m`: the
    compute layers' Mapping when the caller has it (comp_mapping)."""
    comp = [i for i, l in enumerate(wl.layers) if l.is_compute]
    out = {}
    if not comp:
        return out, None, comp
    if m is None:
        m = map_layers(arch, [wl.layers[i] for i in comp])
    R = arch.macro.rows
    for j, i in enumerate(comp):
        l = wl.layers[i]
        g, gpt = int(m.groups[j]), int(m.groups_per_tile[j])
        rows_g = int(m.rows_per_group[j])
        cout_g = l.c_out // g
        chm = arch.macro.columns // l.bits_w
        rects = []
        for gt in range(int(m.group_tiles[j])):
            ng = min(gpt, g - gt * gpt)
            for ct in range(int(m.col_tiles[j])):
                ch = min(chm, cout_g - ct * chm)
                for rt in range(int(m.row_tiles[j])):
                    rows = ng * min(R, rows_g - rt * R)
                    rects.append((rows, min(_rect(arch, rows), R), ng * ch * l.bits_w))
        out[i] = rects
    return out, m, comp


FFD_WINDOW = 64  # first fit among the most recently opened macros (exact first fit below this many)


def pack_ffd(arch, items):
    """First-fit decreasing shelf packing of items (key, used rows, occupied rows, cols) -> (macro count,
    {key: (macro, row0, col0)}).  The first fit is searched among the last FFD_WINDOW open macros (tiles
    come tallest first, so older macros are nearly always full): linear time for thousands of tiles."""
    R, C = arch.macro.rows, arch.macro.columns
    macs, where = [], {}
    for key, _u, h, w in sorted(items, key=lambda t: (-t[2], -t[3])):
        for k in range(max(0, len(macs) - FFD_WINDOW), len(macs)):
            f = _fit(macs[k], h, w, R, C)
            if f is not None:
                where[key] = (k, *_put(macs[k], f, h, w))
                break
        else:
            mac = _Macro()
            macs.append(mac)
            where[key] = (len(macs) - 1, *_put(mac, _fit(mac, h, w, R, C), h, w))
    return len(macs), where


def pack_balanced(arch, items, work, N):
    """Longest work first onto the least loaded macro where it fits (a heap of (work, macro)); None when
    it does not fit in N."""
    import heapq
    R, C = arch.macro.rows, arch.macro.columns
    macs = [_Macro() for _ in range(N)]
    heap = [(0, k) for k in range(N)]
    where = {}
    for key, _u, h, w in sorted(items, key=lambda t: (-work[t[0]], -t[2], -t[3], t[0])):
        skipped = []
        while heap:
            wk, k = heapq.heappop(heap)
            f = _fit(macs[k], h, w, R, C)
            if f is not None:
                where[key] = (k, *_put(macs[k], f, h, w))
                macs[k].work += work[key]
                heapq.heappush(heap, (macs[k].work, k))
                break
            skipped.append((wk, k))
        else:
            return None
        for x in skipped:
            heapq.heappush(heap, x)
    return where


@dataclass
class Assignment:
    """Where every tile lives: the output of the mapper for one policy."""
    policy: str
    macros: int  # macros in the architecture
    macros_for_residency: int  # fewest macros that hold every tile at once (FFD packing)
    places: list = field(default_factory=list)  # Place, for resident policies
    replicas: dict = field(default_factory=dict)  # layer index -> copies of its weights
    notes: list = field(default_factory=list)

    def layer_macros(self, i) -> list:
        return sorted({p.macro for p in self.places if p.layer == i})

    @property
    def macros_used(self) -> int:
        return len({p.macro for p in self.places})


# ---- per-row work ----------------------------------------------------------------------------------
def _hw(shape):
    return (shape[1], shape[2]) if len(shape) == 3 else (1, 1)


def row_cycles(arch, layer, outputs_per_tile):
    """(cycles of output row 0, of any later row) of one tile of a compute layer for one image.  Row 0
    carries the pipeline fill (first DP + last conversion); the rows sum to tile_cycles of the image."""
    H, W = _hw(layer.out_shape)
    # the tile schedule rule of tlm/hw/controller.tile_cycles (one place): row 0 = a tile over W pixels,
    # every later row = what W more pixels add
    args = (arch, layer.bits_in, layer.bits_out, outputs_per_tile)
    first = int(hw_ctrl.tile_cycles(*args, W, layer.bits_w))
    return first, int(hw_ctrl.tile_cycles(*args, 2 * W, layer.bits_w)) - first


def layer_row_cycles(arch, wl, m, comp):
    """{compute layer index: row_cycles of one of its full tiles}; `m`, `comp` = comp_mapping(arch, wl)."""
    return {i: row_cycles(arch, wl.layers[i], int(m.outputs_per_tile[j])) for j, i in enumerate(comp)}


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


# ---- the assignment ---------------------------------------------------------------------------------
def packing(arch, wl, m=None):
    """What every policy's assignment starts from, the same for all of them: (tile rectangles, Mapping,
    compute layer indices, the items packed, macros_for_residency, the first-fit-decreasing places).
    Depends on the macro geometry and the workload only.  `m`: the compute layers' Mapping if known."""
    rects, m, comp = tile_rects(arch, wl, m)
    items = [((i, k, 0), u, h, w) for i in comp for k, (u, h, w) in enumerate(rects[i])]
    need, where = pack_ffd(arch, items) if items else (0, {})
    return rects, m, comp, items, need, where


def assign(arch, wl, policy, ops=None, packed=None, m=None, rc=None, memo=None) -> Assignment:
    """Place the tiles for `policy` (not `auto`).  `ops` = digital ops per image per layer (for the
    stage balance of replicate).  Raises InputError 'needs N macros' when the tiles do not fit.
    `packed`: `packing(arch, wl)` when the caller has it (several policies of one architecture and
    workload share it); `m`: the compute layers' Mapping, `rc`: layer_row_cycles, if known; `memo`: a
    dict shared by the assignments of one architecture and workload under several policies (the
    balanced spread every resident policy starts from is computed once)."""
    N = arch.macro.count
    mm = m if m is not None else comp_mapping(arch, wl)[0]
    total = int(mm.tiles.sum()) if mm is not None else 0
    if total > MAX_PACK_TILES:  # too many to place one by one: a lower bound from the cells they occupy
        blk = arch.macro.rows // arch.macro.dp_split_blocks
        occ = cdiv(mm.rows_per_tile, blk) * blk * mm.cols_per_tile * mm.tiles
        need = int(cdiv(int(occ.sum()), arch.macro.rows * arch.macro.columns))
        if policy == "sequential":
            return Assignment(policy=policy, macros=N, macros_for_residency=need,
                              notes=[f"mapper: {total:,} weight tiles: macros_for_residency is a lower bound "
                                     "(occupied cells / cells per macro)"])
        if policy != "sequential":
            raise InputError(f"policy '{policy}': '{wl.name}' has {total:,} weight tiles, more than the "
                             f"{MAX_PACK_TILES:,} the mapper places one by one: use mapping.policy sequential",
                             Where(arch_file(arch)), "mapping.policy")
    rects, m, comp, items, need, where = packed if packed is not None else packing(arch, wl, mm)
    asg = Assignment(policy=policy, macros=N, macros_for_residency=need)
    if policy == "sequential" or not items:
        return asg
    if need > N:
        f = arch_file(arch)
        raise InputError(f"policy '{policy}': the {len(items)} weight tiles of '{wl.name}' need {need} macros "
                         f"to stay resident (first-fit-decreasing packing in whole DP-split blocks), the "
                         f"architecture has {N}: raise macro.count or use mapping.policy: sequential",
                         Where(f), "mapping.policy")
    spread = memo.get("spread") if memo is not None else None
    if spread is None:
        spread = _spread(arch, wl, rects, m, comp, items, where, rc)
        if memo is not None:
            memo["spread"] = spread
    layer_work, places, notes = spread
    asg.places.extend(places)  # (Place objects are never changed: replicas are new ones)
    asg.notes.extend(notes)
    asg.replicas = {i: 1 for i in comp}
    if policy == "replicate":
        _replicate(arch, wl, asg, rects, layer_work, ops)
    return asg


def _spread(arch, wl, rects, m, comp, items, where, rc):
    """The balanced spread of every tile over the macros (the start of every resident policy):
    (work of each compute layer per image, the places, notes)."""
    N = arch.macro.count
    work = {}
    if rc is None:
        rc = layer_row_cycles(arch, wl, m, comp)
    layer_work = {}
    for i in comp:
        l = wl.layers[i]
        r0, r1 = rc[i]
        H = _hw(l.out_shape)[0]
        layer_work[i] = r0 + (H - 1) * r1
        for k in range(len(rects[i])):
            work[(i, k, 0)] = layer_work[i]
    notes = []
    bal = pack_balanced(arch, items, work, N)
    if bal is None:  # spreading failed where packing tight succeeds: keep the tight packing
        bal = where
        notes.append("mapper: the balanced spread did not fit; tiles kept in the first-fit-decreasing packing")
    places = []
    for (i, k, r), (mac, r0, c0) in sorted(bal.items()):
        u, h, w = rects[i][k]
        places.append(Place(i, k, r, mac, r0, h, c0, w, u))
    return layer_work, places, notes


def arch_file(arch):
    return getattr(arch, "source_file", None) or "<architecture>"


def stage_cycles(asg, layer_work, pp_cycles=0):
    """Per macro: cycles of work per image (a layer replicated f times does 1/f of its rows per copy,
    rounded up)."""
    st = {}
    for p in asg.places:
        f = asg.replicas.get(p.layer, 1)
        st[p.macro] = st.get(p.macro, 0) + cdiv(layer_work[p.layer], f)
    return st


def _replicate(arch, wl, asg, rects, layer_work, ops):
    N = arch.macro.count
    used = asg.macros_used
    blocked = set()
    while True:
        st = stage_cycles(asg, layer_work)
        if not st:
            return
        worst = max(st.values())
        m_star = min(k for k, v in st.items() if v == worst)
        cand = sorted({p.layer for p in asg.places if p.macro == m_star} - blocked,
                      key=lambda i: (-cdiv(layer_work[i], asg.replicas[i]), i))
        done = False
        for i in cand:
            f = asg.replicas[i]
            H = _hw(wl.layers[i].out_shape)[0]
            items = [((i, k, f), u, h, w) for k, (u, h, w) in enumerate(rects[i])]
            need, where = pack_ffd(arch, items)
            if f + 1 > H or used + need > N:
                blocked.add(i)
                continue
            for (li, k, r), (mac, r0, c0) in sorted(where.items()):
                u, h, w = rects[li][k]
                asg.places.append(Place(li, k, r, used + mac, r0, h, c0, w, u))
            used += need
            asg.replicas[i] = f + 1
            done = True
            break
        if not done:
            return


# ---- the schedule -----------------------------------------------------------------------------------
@dataclass
class Schedule:
    """Jobs in execution order; job j runs on resource `res[j]` for `cost[j]` cycles once every job in
    `deps[j]` is done.  `start`/`end` are the contention-free times (the bound)."""
    names: list  # resource names: macro0.., postproc, dma.in, dma.out
    res: list
    cost: list
    layer: list  # workload row (len(layers) = image I/O)
    image: list
    row: list
    deps: list
    start: np.ndarray = None
    end: np.ndarray = None
    makespan: int = 0
    line_buffer_bits: int = 0
    spill_bits: int = 0
    spill_cycles: int = 0
    stage: dict = field(default_factory=dict)  # resource name -> cycles per image
    fill: int = 0
    drain: int = 0
    bottleneck: str = ""
    layer_stage: dict = field(default_factory=dict)  # layer -> cycles of its busiest copy per image
    order: dict = field(default_factory=dict)  # resource -> job ids in the order it runs them
    chunks: list = field(default_factory=list)  # jobs per image (per copy) of each layer


class _LayerShape(NamedTuple):
    """What the structure of a schedule reads of a layer (its rows, what they read, its producers)."""
    name: str
    type: str
    inputs: tuple
    out_shape: tuple
    kernel: tuple
    stride: tuple
    padding: tuple
    dilation: tuple

    @property
    def is_compute(self) -> bool:
        return self.type in COMPUTE_TYPES


class _Skeleton:
    """The jobs of a schedule without their cycles: resources, layers, images, rows, dependencies, and per
    job what its cost is made of (`spec`).  A pure function of `_structure(...)` (see `_skeleton`)."""
    __slots__ = ("names", "H", "chunks", "cid", "index", "needs", "res", "layer", "image", "row", "deps",
                 "specs", "spec_of", "users", "done_of", "line_buffers", "jobs_over")


# job cost kinds of a skeleton's spec (kind, layer, first row, last row, multiplier)
_ROWS, _DIGITAL, _IMAGE_IN, _IMAGE_OUT, _SPILL = range(5)


def _structure(wl, asg, N, two, stream, spill_bits):
    """Everything the structure of `build_schedule`'s jobs depends on, as a hashable key: the batch, the
    macros and DMA channels, the policy kind, which layers spill (layer by layer), the input shape and
    each layer's name, type, inputs, output shape and window, the assignment's places and replicas."""
    spill = None
    if not stream:
        sb = np.zeros(len(wl.layers), dtype=np.int64) if spill_bits is None else np.asarray(spill_bits,
                                                                                              dtype=np.int64)
        spill = tuple(bool(x) for x in sb.tolist())
    shapes = tuple(_LayerShape(l.name, l.type, tuple(l.inputs), tuple(l.out_shape), tuple(l.kernel),
                               tuple(l.stride), tuple(l.padding), tuple(l.dilation)) for l in wl.layers)
    return (wl.batch, bool(stream), N, bool(two), spill, tuple(wl.input_shape), shapes,
            tuple((p.layer, p.replica, p.macro) for p in asg.places), tuple(sorted(asg.replicas.items())))


_SKELETONS = {}  # structure -> _Skeleton, the least recently used first
_SKELETON_JOBS = [0]  # jobs held by the cached skeletons
MAX_SKELETON_JOBS = 250_000  # (a few hundred bytes each: tens of MB at most); and at most 64 skeletons
_SKELETON_LOCK = threading.Lock()  # Dask workers evaluate points in threads


def clear_skeletons() -> None:
    """Forget the cached schedule skeletons (tests: a schedule built from cold caches)."""
    with _SKELETON_LOCK:
        _SKELETONS.clear()
        _SKELETON_JOBS[0] = 0


def _cached_skeleton(key) -> _Skeleton:
    """`_skeleton(key)`, kept for the next schedule of the same structure (least recently used dropped
    first, within MAX_SKELETON_JOBS jobs and 64 skeletons)."""
    with _SKELETON_LOCK:
        sk = _SKELETONS.pop(key, None)
        if sk is not None:
            _SKELETONS[key] = sk
            return sk
    sk = _skeleton(key)
    with _SKELETON_LOCK:
        if key not in _SKELETONS:
            _SKELETONS[key] = sk
            _SKELETON_JOBS[0] += len(sk.res)
            while _SKELETONS and (_SKELETON_JOBS[0] > MAX_SKELETON_JOBS or len(_SKELETONS) > 64):
                _SKELETON_JOBS[0] -= len(_SKELETONS.pop(next(iter(_SKELETONS))).res)
    return sk


def _skeleton(key) -> _Skeleton:
    """The jobs of a schedule and their dependencies, built from `key` (`_structure`) alone, so that
    schedules of one structure (a sweep's points that differ in timing or precision only) share it."""
    B, stream, N, two, spill, input_shape, layers, places, replicas = key
    replicas = dict(replicas)
    n = len(layers)
    sk = _Skeleton()
    sk.jobs_over = 0
    sk.res = []
    names = sk.names = [f"macro{k}" for k in range(N)] + ["postproc"] + (["dma.ch0", "dma.ch1"] if two
                                                                          else ["dma.ch0"])
    PP, DIN, DOUT = N, N + 1, N + 2 if two else N + 1
    on = {}  # (layer, replica) -> {macro: tiles}
    for li, rep, mac in places:
        d = on.setdefault((li, rep), {})
        d[mac] = d.get(mac, 0) + 1
    on_sorted = {k: sorted(d.items()) for k, d in on.items()}
    H = sk.H = [_hw(l.out_shape)[0] for l in layers]
    macs_of = [set() for _ in range(n)]
    for li, _rep, mac in places:
        macs_of[li].add(mac)
    fan = [max(1, len(ms)) for ms in macs_of]  # jobs per row

    def jobs(g):
        return B * sum(max(1, -(-H[i] // g)) * fan[i] for i in range(n))
    group = 1  # rows per job, doubled while the job count is too large
    while stream and jobs(group) > MAX_JOBS and group < max(H):
        group *= 2
    if stream and jobs(group) > MAX_JOBS:
        sk.jobs_over = jobs(group)
        return sk
    chunks = sk.chunks = [max(1, -(-H[i] // group)) if stream else 1 for i in range(n)]  # jobs per image per copy
    cid = sk.cid = [chunk_ids(H[i], chunks[i]) for i in range(n)]
    index = sk.index = {l.name: i for i, l in enumerate(layers)}
    res, lay, img, row, deps_, spec = [], [], [], [], [], []
    done_of = sk.done_of = {}  # (image, layer, chunk) -> job ids

    def add(r, c, li, b, y, deps):
        res.append(r)
        spec.append(c)
        lay.append(li)
        img.append(b)
        row.append(y)
        deps_.append(deps)
        return len(res) - 1

    def rows_of(i, q):
        return q * H[i] // chunks[i], (q + 1) * H[i] // chunks[i] - 1

    needs = sk.needs = {}
    if stream:  # the input rows each output row reads (the dependencies; the line buffers)
        for i, l in enumerate(layers):
            shp = [input_shape if s == "input" else layers[index[s]].out_shape for s in l.inputs]
            needs[i] = [(s, *need_rows(l, sh, H[i])) for s, sh in zip(l.inputs, shp)]
    img_in = {}
    if stream:
        cid_l = [c.tolist() for c in cid]
        # per layer, per chunk: the (macro, cost) of its jobs and what it reads, the same for every image:
        # per input, None (the image) or (producer layer, its first chunk, one past its last chunk)
        chunk_jobs = []
        for i, l in enumerate(layers):
            per = []
            f = replicas.get(i, 1)
            srcs = [(None if s == "input" else index[s], first.tolist(), last.tolist()) for s, first, last in needs[i]]
            for q in range(chunks[i]):
                lo, hi = rows_of(i, q)
                runs = ([(mac, (_ROWS, i, lo, hi, nt)) for mac, nt in on_sorted[(i, q % f)]] if l.is_compute
                        else [(PP, (_DIGITAL, i, lo, hi, 1))])
                per.append((runs, [None if p is None else (p, cid_l[p][first[lo]], cid_l[p][last[hi]] + 1)
                                   for p, first, last in srcs]))
            chunk_jobs.append(per)
        for b in range(B):
            img_in[b] = add(DIN, (_IMAGE_IN, n, 0, 0, 1), n, b, 0, [])
            for i in range(n):
                for q, (runs, ranges) in enumerate(chunk_jobs[i]):
                    deps = []  # the jobs producing the input rows chunk q of layer i reads (image b)
                    for rg in ranges:
                        if rg is None:
                            deps.append(img_in[b])
                        else:
                            p, qa, qb = rg
                            for qq in range(qa, qb):
                                deps.extend(done_of[(b, p, qq)])
                    done_of[(b, i, q)] = [add(mac, c, i, b, q, deps) for mac, c in runs]
            add(DOUT, (_IMAGE_OUT, n, 0, 0, 1), n, b, 1,
                [j for q in range(chunks[n - 1]) for j in done_of[(b, n - 1, q)]])
    else:  # layer by layer over the whole batch; the batch comes in at once and leaves at once
        j0 = add(DIN, (_IMAGE_IN, n, 0, 0, B), n, 0, 0, [])
        img_in.update(dict.fromkeys(range(B), j0))
        barrier = [j0]
        # live activations beyond the SRAM (the whole batch is live): spilled out and read back around the
        # layer over the DMA, as the sequential schedule does (row -1: spill in, -2: spill out)
        for i in range(n):
            if spill[i]:
                barrier = [add(DIN, (_SPILL, i, 0, 0, 1), i, 0, -1, barrier)]
            l = layers[i]  # one job per macro for the whole batch (image -1: all of them, one after the other)
            if l.is_compute:
                ids = [add(mac, (_ROWS, i, 0, H[i] - 1, B * nt), i, -1, 0, barrier) for mac, nt in on_sorted[(i, 0)]]
            else:
                ids = [add(PP, (_DIGITAL, i, 0, H[i] - 1, B), i, -1, 0, barrier)]
            barrier = ids
            if spill[i]:
                barrier = [add(DIN, (_SPILL, i, 0, 0, 1), i, B - 1, -2, barrier)]
        add(DOUT, (_IMAGE_OUT, n, 0, 0, B), n, B - 1, 1, barrier)
    sk.res, sk.layer, sk.image, sk.row, sk.deps = res, lay, img, row, deps_
    uniq = {}
    sk.spec_of = [uniq.setdefault(c, len(uniq)) for c in spec]  # job -> its cost among the distinct ones
    sk.specs = list(uniq)
    sk.users = _users(deps_)
    sk.line_buffers = _line_buffer_structure(layers, input_shape, H, needs, index) if stream else None
    return sk


def build_schedule(arch, wl, asg, ops, stream=True, spill_bits=None, m=None, rc=None):
    """Jobs for a resident assignment.  `ops[i]` = digital ops of layer i for one image.  `stream`:
    pipelined (rows stream, images overlap); else layer by layer over the batch (resident), with
    `spill_bits[i]` (live activations of the whole batch beyond the SRAM while layer i runs, from the
    sequential rule) spilled out and read back around layer i.  `m`: the compute layers' Mapping if
    known (comp_mapping), `rc` its layer_row_cycles.  The jobs and their dependencies come from
    `_skeleton` (built once per structure); their cycles from the architecture and the workload's
    precisions, here."""
    layers, n, B = wl.layers, len(wl.layers), wl.batch
    comp = [i for i, l in enumerate(layers) if l.is_compute]
    if m is None and comp:
        m = map_layers(arch, [layers[i] for i in comp])
    N = arch.macro.count
    two = arch.dma.channels > 1
    sk = _cached_skeleton(_structure(wl, asg, N, two, stream, spill_bits))
    if sk.jobs_over:
        raise InputError(f"policy '{asg.policy}': {B} images x {n} layers make {sk.jobs_over:,} jobs, more than the "
                         f"{MAX_JOBS:,} a streamed schedule handles: use a smaller batch or mapping.policy "
                         "resident or sequential", Where(wl.file), "batch")
    names, H = sk.names, sk.H
    in_bits = math.prod(wl.input_shape) * wl.input_bits
    out_bits = math.prod(layers[-1].out_shape) * layers[-1].bits_out
    spill = None if stream else (np.zeros(n, dtype=np.int64) if spill_bits is None
                                 else np.asarray(spill_bits, dtype=np.int64))
    if rc is None:
        rc = layer_row_cycles(arch, wl, m, comp) if comp else {}

    def job_cost(kind, i, lo, hi, mult):
        if kind == _ROWS:  # `mult` tiles (x the batch) over output rows lo..hi of compute layer i
            r0, r1 = rc[i]
            return mult * ((r0 if lo == 0 else r1) + (hi - lo) * r1)
        if kind == _DIGITAL:  # rows lo..hi of a digital layer (x the batch)
            if layers[i].type in VIEW_TYPES:
                return 0
            o = int(ops[i])
            return mult * int(hw_pp.op_cycles(arch, o * (hi + 1) // H[i] - o * lo // H[i]))
        if kind == _IMAGE_IN:
            return hw_dma.transfer_cycles(arch, in_bits * mult)
        if kind == _IMAGE_OUT:
            return hw_dma.transfer_cycles(arch, out_bits * mult)
        return hw_dma.transfer_cycles(arch, int(spill[i]))  # _SPILL
    costs = [int(job_cost(*c)) for c in sk.specs]
    S = Schedule(names=names, res=list(sk.res), cost=[costs[k] for k in sk.spec_of], layer=list(sk.layer),
                 image=list(sk.image), row=list(sk.row), deps=list(sk.deps))
    S.chunks = list(sk.chunks)
    _time(S, sk.users)
    cost = np.array(S.cost, dtype=np.int64)
    res = np.array(S.res, dtype=np.int64)
    per = np.bincount(res, weights=cost, minlength=len(names))
    S.stage = {names[k]: int(-(-int(per[k]) // B)) for k in range(len(names)) if per[k] > 0}
    lay = np.array(S.layer)
    # per layer: the cycles of its busiest resource (one bincount over (layer, resource) pairs)
    R = len(names)
    by = np.bincount(lay * R + res, weights=cost, minlength=(n + 1) * R).reshape(n + 1, R)
    has = np.bincount(lay, minlength=n + 1) > 0
    for i in np.nonzero(has[:n])[0].tolist():
        S.layer_stage[i] = int(-(-int(by[i].max()) // B))
    if S.stage:
        S.bottleneck = max(S.stage, key=lambda k: (S.stage[k], -names.index(k)))
    if stream:
        S.line_buffer_bits = _line_buffers(wl, S, sk)
        S.spill_bits = max(S.line_buffer_bits - arch.sram.capacity_bits, 0)
        if S.spill_bits:  # the excess goes out and back through the DMA, serialized (an upper estimate)
            S.spill_cycles = 2 * int(hw_dma.transfer_cycles(arch, S.spill_bits))
    S.makespan = (int(S.end.max()) if len(S.end) else 0) + S.spill_cycles
    _fill_drain(S, B)
    return S


def _fill_drain(S, B):
    """fill and drain of the closed form  makespan = fill + (B-1) x slowest stage + drain: the single
    image's time up to the end of its work on the bottleneck resource, and after it."""
    if not S.bottleneck:
        return
    k = S.names.index(S.bottleneck)
    res, img = np.array(S.res), np.array(S.image)
    sel = (res == k) & (img == 0)
    first_end = int(S.end[sel].max()) if sel.any() else 0
    S.fill = first_end
    img0_end = int(S.end[img == 0].max()) + S.spill_cycles
    S.drain = img0_end - first_end


def _users(deps):
    """For each job, the jobs that depend on it (once per dependency)."""
    users = [[] for _ in range(len(deps))]
    for j, d in enumerate(deps):
        for k in d:
            users[k].append(j)
    return users


def _time(S, users=None):
    """The contention-free schedule, by list scheduling: a job is ready when every job it depends on is
    done; an idle resource starts its ready job of the oldest image first (then the earliest in the
    list).  Non-preemptive and work-conserving.  The order in which each resource starts its jobs is the
    plan (`S.order`): the TLM engine executes the same order, so it can only be later.
    Completions are taken in (time, job) order; after each, the resources it touched (its own, and
    those of the jobs it made ready, in resource order) start their best ready job if idle."""
    from heapq import heappop, heappush
    n = len(S.res)
    res, cost, deps, img = S.res, S.cost, S.deps, S.image
    left = [len(d) for d in deps]
    if users is None:
        users = _users(deps)
    st, e = [0] * n, [0] * n
    n_res = max(res) + 1 if n else 0
    queues = [[] for _ in range(n_res)]  # resource -> heap of (image, job)
    busy_until = [0] * n_res
    events = []  # heap of (completion time, job)
    order = {}  # resource -> jobs in start order (keys in the order resources first start)
    first = []  # resources with a job ready at time 0, in order of their first such job
    for j in range(n):
        if not left[j]:
            r = res[j]
            if not queues[r]:
                first.append(r)
            heappush(queues[r], (img[j], j))

    def start(r, t):
        q = queues[r]
        if q and busy_until[r] <= t:
            j = heappop(q)[1]
            st[j] = t
            e[j] = busy_until[r] = t + cost[j]
            if r in order:
                order[r].append(j)
            else:
                order[r] = [j]
            heappush(events, (e[j], j))
    for r in first:
        start(r, 0)
    done = 0
    while events:
        t, j = heappop(events)
        done += 1
        r0 = res[j]
        touched = None
        for u in users[j]:
            left[u] -= 1
            if not left[u]:
                ru = res[u]
                heappush(queues[ru], (img[u], u))
                if ru != r0:
                    if touched is None:
                        touched = {r0, ru}
                    else:
                        touched.add(ru)
        if touched is None:
            start(r0, t)
        else:
            for r in sorted(touched):
                start(r, t)
    if done != n:
        raise RuntimeError(f"mapper: schedule has a dependency cycle ({n - done} jobs never ready)")
    S.start, S.end = np.array(st, dtype=np.int64), np.array(e, dtype=np.int64)
    S.order = order


def _line_buffer_structure(layers, input_shape, H, needs, index):
    """What `_line_buffers` needs of a stream's structure: per source tensor (the image, every layer but
    views), (name, height, its producer layer or None, for each consumer the consumer row that reads
    each source row last, whether the last layer's output is it)."""
    n = len(layers)
    alias = {l.name: l.inputs[0] for l in layers if l.type in VIEW_TYPES}

    def height(s):
        return _hw(input_shape if s == "input" else layers[index[s]].out_shape)[0]

    consumers = {}  # source tensor -> [(consumer layer, first row read per consumer row)]
    for i in range(n):
        for s, first, _last in needs[i]:
            while s in alias:  # a view: the consumer's row 0 reads all of the source
                s = alias[s]
                first = np.zeros(len(first), dtype=np.int64)
            consumers.setdefault(s, []).append((i, first))
    srcs = ["input"] + [l.name for l in layers if l.type not in VIEW_TYPES]
    out = []
    for src in srcs:
        h = height(src)
        readers = []
        for ci, first in consumers.get(src, []):
            last_reader = np.searchsorted(first, np.arange(h), side="right") - 1
            readers.append((ci, np.minimum(np.maximum(last_reader, 0), H[ci] - 1)))  # np.clip
        last = src == layers[-1].name or (layers[-1].type in VIEW_TYPES and alias.get(layers[-1].name) == src)
        out.append((src, h, None if src == "input" else index[src], readers, last))
    return out


def _line_buffers(wl, S, sk):
    """Peak activation bits held at once (all images): a row lives from the end of the job producing it
    to the end of the last job reading it (every consumer; views hand their consumers to their source).
    This is the activation SRAM the line buffers and the residual branches need.  `sk`: the schedule's
    skeleton (its chunks, the jobs of each chunk, the sources and their readers)."""
    layers, n, B = wl.layers, len(wl.layers), wl.batch
    end, lay_, img_, row_ = S.end.tolist(), S.layer, S.image, S.row
    done = {k: end[ids[0]] if len(ids) == 1 else max(end[j] for j in ids)  # when each chunk's last job ends
            for k, ids in sk.done_of.items()}
    io = [j for j in range(len(S.res)) if lay_[j] == n]
    io_in = {img_[j]: end[j] for j in io if row_[j] == 0}
    io_out = {img_[j]: end[j] for j in io if row_[j] == 1}
    chunks, cid = sk.chunks, sk.cid
    per_src = []
    for src, h, p, readers, last in sk.line_buffers:  # the bits of one row of each source
        if p is None:
            rb = math.prod(wl.input_shape) * wl.input_bits // h
        else:
            l = layers[p]
            rb = math.prod(l.out_shape) * l.bits_out // h
        per_src.append((src, h, rb, p, readers, last))
    starts, ends, bits = [], [], []
    for b in range(B):
        b_in = io_in.get(b, io_in.get(0, 0))
        b_out = io_out.get(b, max(io_out.values()) if io_out else 0)
        row_end = {}  # layer -> the end of the job producing each of its output rows (image b)

        def row_ends(p):
            if p not in row_end:
                row_end[p] = np.array([done[(b, p, q)] for q in range(chunks[p])])[cid[p]]
            return row_end[p]
        for src, h, rb, p, readers, last in per_src:
            made = np.full(h, b_in) if p is None else row_ends(p)
            free = made.copy()
            for ci, reader in readers:
                free = np.maximum(free, row_ends(ci)[reader])
            if last:
                free = np.maximum(free, b_out)
            starts.append(made)
            ends.append(free)
            bits.append(np.full(h, rb, dtype=np.int64))
    s, e, w = np.concatenate(starts), np.concatenate(ends), np.concatenate(bits)
    t = np.concatenate([s, e])
    d = np.concatenate([w, -w])
    order = np.lexsort((d, t))  # at equal times a row is freed before the next is written
    return int(np.cumsum(d[order]).max())


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
        for p in asg.places:
            d = layers.setdefault(p.layer, {"macros": [], "replicas": asg.replicas.get(p.layer, 1), "rects": [],
                                            "stage_cycles": None})
            if p.macro not in d["macros"]:
                d["macros"].append(p.macro)
            d["rects"].append({"macro": p.macro, "tile": p.tile, "replica": p.replica, "row0": p.row0,
                               "rows": p.rows, "used_rows": p.used_rows, "col0": p.col0, "cols": p.cols})
        for d in layers.values():
            d["macros"].sort()
        used = asg.macros_used
        if S is not None:
            for i, c in S.layer_stage.items():
                if i in layers or not wl.layers[i].is_compute:
                    layers.setdefault(i, {"macros": [], "replicas": 1, "rects": [], "stage_cycles": None})
                    layers[i]["stage_cycles"] = c
    out = {"policy": asg.policy, "macros": asg.macros, "macros_used": used,
           "macros_for_residency": asg.macros_for_residency,
           "layers": {wl.layers[i].name: v for i, v in sorted(layers.items())}}
    if S is not None:
        out.update({"makespan_cycles": S.makespan, "stage_cycles": dict(S.stage), "bottleneck": S.bottleneck,
                    "fill_cycles": S.fill, "drain_cycles": S.drain, "line_buffer_bits": S.line_buffer_bits,
                    "line_buffer_spill_bits": S.spill_bits, "image_latency_cycles": image_latency(S, wl)})
    return out


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
    lay = np.array(S.layer, dtype=np.int64)
    cost = np.array(S.cost, dtype=np.int64)
    res = np.array(S.res, dtype=np.int64)
    spill = pl["spill_cycles"].copy()
    comp = np.array([l.is_compute for l in wl.layers] + [False])
    makespan = None
    # per row (layers + image I/O), exact int64 reductions over its jobs (rows without a job stay 0)
    has = np.bincount(lay, minlength=n + 1) > 0
    cost_sum = np.zeros(n + 1, dtype=np.int64)
    np.add.at(cost_sum, lay, cost)
    R = len(S.names)
    pair = np.zeros((n + 1) * R, dtype=np.int64)  # cost of each (row, resource)
    np.add.at(pair, lay * R + res, cost)
    pair = pair.reshape(n + 1, R)
    if not stream:  # layer by layer: a layer takes from its first job's start to its last job's end
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
    n_res = np.bincount(lay * R + res, minlength=(n + 1) * R).reshape(n + 1, R).astype(bool).sum(axis=1)
    for i in range(n):
        if comp[i]:
            nm = int(n_res[i])
            span = makespan if makespan is not None else int(pl["cycles"][i])
            pl["temporal_utilization"][i] = float(int(cost_sum[i])) / max(nm * span, 1)
    return pl["cycles"], int(cost[res < arch.macro.count].sum())


def with_policy(arch, policy):
    """`arch` with `mapping.policy` replaced."""
    import dataclasses
    return dataclasses.replace(arch, mapping=dataclasses.replace(arch.mapping, policy=policy))


def image_latency_cycles(res) -> int:
    """An image's latency in a Result: from the mapping (streams) or the whole run."""
    m = res.extra.get("mapping") or {}
    return int(m.get("image_latency_cycles") or res.cycles)


def score(res, objective, summary=None):
    """Sort key of a Result for `mapping.objective` (smaller is better).  `summary`: res.summary() if the
    caller has it."""
    s = res.summary() if summary is None else summary
    lat = image_latency_cycles(res)
    e = s["energy_per_inference_pj"]
    return {"latency": (lat, res.cycles, e), "throughput": (res.cycles, e), "energy": (e, res.cycles),
            "edp": (e * lat, res.cycles)}[objective]


def image_latency(S, wl) -> int:
    """Longest time from an image's input transfer start to its output transfer end."""
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
