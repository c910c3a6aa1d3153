"""Packing weight tiles into macros: tile rectangles (rows rounded up to whole DP-split row blocks),
first-fit decreasing onto shelves, and the balanced spread.  The rule is described in tlm/mapping/mapper.py.
"""
from __future__ import annotations

import threading
from dataclasses import field

import numpy as np
from tlm.records import Record, record
from tlm.hw.macro import block_rows
from tlm.mapping.geometry import cdiv, map_layers, tile_grid


# ---- placement --------------------------------------------------------------------------------------
@record(slots=True, generated_init=True)  # (made per tile / per transaction: the fastest __init__)
class Place(Record):
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
    return block_rows(arch, rows)


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
        out[i] = [(t.groups * t.rows, min(_rect(arch, t.groups * t.rows), R), t.groups * t.channels * l.bits_w)
                  for t in tile_grid(arch, m, j, l)]
    return out, m, comp


def residency_bound(arch, m) -> int:
    """A lower bound of the macros any packing of the tiles takes (so of `packing`'s first-fit count),
    exact integer arithmetic, vectorized over layers (its cost does not grow with the tile count): the
    larger of (1) the tiles' area -- rows rounded up to whole DP-split blocks, as `tile_rects` -- over a
    macro's, rounded up, and (2) the number of tiles taller and wider than half a macro (no two of them
    share one: side by side they are too wide, stacked too tall).  A layer's tiles come in at most
    2 x 2 x 2 shapes: full or remainder group tile x row tile x column tile."""
    if m is None or not len(m.tiles):
        return 0
    R, C = arch.macro.rows, arch.macro.columns
    g, gpt, rows_g = m.groups, m.groups_per_tile, m.rows_per_group
    bw = m.cols_per_tile // m.outputs_per_tile  # weight bits (columns per output channel)
    cout_g, chm = m.cols_per_group // bw, C // bw
    # the full and remainder pieces of each dimension: (tiles of the piece, its groups / rows / channels)
    n_g, ng = np.stack([g // gpt, g % gpt > 0]), np.stack([gpt, g % gpt])  # (2, layers)
    n_r, rows = np.stack([rows_g // R, rows_g % R > 0]), np.stack([np.full_like(rows_g, R), rows_g % R])
    n_c, ch = np.stack([cout_g // chm, cout_g % chm > 0]), np.stack([chm, cout_g % chm])
    h = np.minimum(block_rows(arch, ng[:, None] * rows[None]), R)[:, :, None]  # (group, row, 1, layers)
    w = (ng[:, None] * ch[None] * bw)[:, None]  # (group, 1, column, layers)
    n = n_g[:, None, None] * n_r[None, :, None] * n_c[None, None]  # tiles of each shape
    area = int((n * h * w).sum())
    big = int((n * ((2 * h > R) & (2 * w > C))).sum())
    return max(int(cdiv(area, R * C)), big)


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


def pack_balanced(arch, items, work, N, tall_first=False, trace=None):
    """Longest work first (`tall_first`: tallest first, as pack_ffd, for a tight fit) onto the least
    loaded macro where it fits (a heap of (work, macro)); None when it does not fit in N.  `trace`: a pair
    of lists that receive the items' keys in that order and, item by item, the macros where it fits then
    (none: the spread stops there): each goes to the one of least (work, macro) among them
    (tlm/mapping/pointgroup.same_balanced)."""
    import heapq
    R, C = arch.macro.rows, arch.macro.columns
    macs = [_Macro() for _ in range(N)]
    heap = [(0, k) for k in range(N)]
    where = {}
    order = (lambda t: (-t[2], -work[t[0]], -t[3], t[0])) if tall_first else \
        (lambda t: (-work[t[0]], -t[2], -t[3], t[0]))
    todo = sorted(items, key=order)
    if trace is not None:
        trace[0].extend(t[0] for t in todo)
    for key, _u, h, w in todo:
        if trace is not None:
            trace[1].append([k for k in range(N) if _fit(macs[k], h, w, R, C) is not None])
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


# ---- the assignment ---------------------------------------------------------------------------------
def packing(arch, wl, m=None, key=None):
    """What every policy's assignment starts from, the same for all of them: (tile rectangles, Mapping,
    compute layer indices, the items packed, macros_for_residency, the first-fit-decreasing places).
    Depends on the macro geometry and the compute layers' weight shapes and precisions only (`shape_key`):
    kept for the next run that has the same (a sweep's points that differ in timing, macro count or batch
    share it).  Shared: read it, do not change it.  `m`: the compute layers' Mapping, `key`: shape_key's, if
    known."""
    if key is None:
        key = shape_key(arch, wl)[1]
    with _LOCK:
        got = _PACKINGS.pop(key, None)
        if got is not None:
            _PACKINGS[key] = got
            return got
    rects, m, comp = tile_rects(arch, wl, m)
    items = [((i, k, 0), u, h, w) for i in comp for k, (u, h, w) in enumerate(rects[i])]
    need, where = pack_ffd(arch, items) if items else (0, {})
    got = rects, m, comp, items, need, where
    with _LOCK:
        _PACKINGS[key] = got
        while len(_PACKINGS) > MAX_PACKINGS:
            _PACKINGS.pop(next(iter(_PACKINGS)))
    return got


_PACKINGS = {}  # shape_key -> packing's answer, the least recently used first
MAX_PACKINGS = 64
_LOCK = threading.Lock()


def shape_key(arch, wl) -> tuple:
    """(the compute layers' indices, everything the tiles' rectangles and their packing read): the macro's
    rows, columns and DP-split blocks, and per compute layer its index, kernel, channels, groups and
    weight bits (the Mapping, tlm/mapping/geometry.map_layers, and the tiles, geometry.tile_grid, read
    these and nothing else of a layer)."""
    comp = [i for i, l in enumerate(wl.layers) if l.is_compute]
    mc = arch.macro
    return comp, (mc.rows, mc.columns, mc.dp_split_blocks,
                  tuple((i, tuple(l.kernel), l.c_in, l.c_out, l.groups, l.bits_w)
                        for i, l in ((i, wl.layers[i]) for i in comp)))
