"""`mapping.policy: replicate`: placement and replication searched together.

The stage time of a macro is the work per image of the tiles it holds: a tile of layer i copied f_i
times does, in copy r, the output rows y with y mod f_i = r (`copy_cycles`).  The search walks the macro
budget M up from the tight packing (`macros_for_residency`, first-fit decreasing) one macro at a time;
at each budget it takes, while one improves the stage times, the best of
  - the same copies spread again over M macros (longest work first onto the least loaded macro that
    has room: tlm/mapping/packing.pack_balanced),
  - one more copy of a layer on the slowest macro, either spread again with the others over M macros
    or added onto the macros still empty (first-fit decreasing, the other tiles left where they are),
where "better" compares the macros' stage times sorted slowest first (lexicographically: the slowest
stage first, then the next...).  A budget's result is kept as the start of the next one, so the walk
does not depend on the macro count N, which only says where it stops: the slowest stage never grows
with N (more macros never make the mapping slower), and every macro count between "the weights fit"
and "one copy per output row" is used.  The walk is kept per geometry and workload (a sweep over
macro counts walks once).
"""
from __future__ import annotations

import threading

from tlm.mapping.packing import pack_balanced, pack_ffd

_WALKS = {}  # key -> [(M, f, where, loads)] per budget walked so far (least recently used first)
_LOCK = threading.Lock()
MAX_WALKS = 32


def copy_cycles(r0, r1, H, f, r) -> int:
    """Cycles per image of copy r of a layer of H output rows copied f times (row 0 costs r0, every
    other row r1; copy r computes rows r, r + f, r + 2f...)."""
    n = (H - r + f - 1) // f if r < H else 0
    return n * r1 + (r0 - r1 if r == 0 and n else 0)


class _Walk:
    """The layers' tile rectangles, row cycles and heights, and the helpers of one search."""

    def __init__(self, arch, rects, comp, rc, H):
        self.arch, self.rects, self.comp, self.rc, self.H = arch, rects, comp, rc, H

    def work(self, i, f, r) -> int:
        r0, r1 = self.rc[i]
        return copy_cycles(r0, r1, self.H[i], f[i], r)

    def items(self, f):
        return [((i, k, r), u, h, w) for i in self.comp for r in range(f[i]) for k, (u, h, w) in
                enumerate(self.rects[i])]

    def loads(self, f, where, M):
        """The score of a state (smaller is better): (slowest stage, macros that slow, copies)."""
        st = [0] * M
        for (i, _k, r), (mac, _r0, _c0) in where.items():
            st[mac] += self.work(i, f, r)
        top = max(st)
        return top, st.count(top), sum(f.values())

    def spread(self, f, M):
        """Every copy spread again over M macros: (where, loads), or None when they do not fit."""
        items = self.items(f)
        work = {key: self.work(key[0], f, key[2]) for key, *_ in items}
        best = None
        for tall in (False, True):  # longest work first, else tallest first (a tight fit)
            where = pack_balanced(self.arch, items, work, M, tall_first=tall)
            if where is not None:
                sc = self.loads(f, where, M)
                if best is None or sc < best[1]:
                    best = (where, sc)
        return best

    def add_copies(self, f, where, i, g_i, M):
        """Layer i copied g_i times, the new copies onto the macros `where` leaves empty (first-fit
        decreasing), the rest in place: (f', where', score), or None when they do not fit in M."""
        used = 1 + max((mac for mac, _a, _b in where.values()), default=-1)
        items = [((i, k, r), u, h, w) for r in range(f[i], g_i) for k, (u, h, w) in enumerate(self.rects[i])]
        need, new = pack_ffd(self.arch, items)
        if used + need > M:
            return None
        g = dict(f)
        g[i] = g_i
        w2 = dict(where)
        w2.update({key: (used + mac, r0, c0) for key, (mac, r0, c0) in new.items()})
        return g, w2, self.loads(g, w2, M)


    def local(self, f, where, M, slow):
        """Move one tile off the slowest macro, or swap it with a tile of another macro, the two
        macros packed again (first-fit decreasing, each must still fit one macro): the best such state
        (score, f, where), or None.  For a tight fit, where spreading again finds no room."""
        on = {}
        for key, (mac, _a, _b) in where.items():
            on.setdefault(mac, []).append(key)
        best = None
        for x in on.get(slow, []):
            for t in range(M):
                if t == slow:
                    continue
                for y in [None] + on.get(t, []):
                    s_keys = [k for k in on[slow] if k != x] + ([y] if y is not None else [])
                    t_keys = [k for k in on.get(t, []) if k != y] + [x]
                    w2 = self._repack(where, slow, s_keys, t, t_keys)
                    if w2 is not None:
                        sc = self.loads(f, w2, M)
                        if best is None or sc < best[0]:
                            best = (sc, f, w2)
        return best

    def _repack(self, where, s, s_keys, t, t_keys):
        w2 = dict(where)
        for mac, keys in ((s, s_keys), (t, t_keys)):
            items = [(k, *self.rects[k[0]][k[1]]) for k in keys]
            need, new = pack_ffd(self.arch, items) if items else (0, {})
            if need > 1:
                return None
            w2.update({k: (mac, r0, c0) for k, (_m, r0, c0) in new.items()})
        return w2


LOCAL_ITEMS = 64  # the local moves are tried on at most this many placed tiles (each move packs two macros)


def more_copies(H, f):
    """The copy counts worth trying after f copies of a layer of H rows: one more, and the fewest that
    take a row off the busiest copy (ceil(H / f) rows)."""
    rows = -(-H // f)
    return sorted({x for x in (f + 1, -(-H // (rows - 1)) if rows > 1 else H + 1) if x <= H})


def _step(walk, state, M):
    """The best state on M macros reachable from `state` by the moves of the module docstring."""
    f, where, loads = state
    while True:
        st = [0] * M
        for (i, _k, r), (mac, _a, _b) in where.items():
            st[mac] += walk.work(i, f, r)
        slow = st.index(max(st))
        layers = sorted({key[0] for key, (mac, _a, _b) in where.items() if mac == slow})
        cands = []
        sp = walk.spread(f, M)
        if sp is not None:
            cands.append((sp[1], f, sp[0]))
        for i in layers:
            for g_i in more_copies(walk.H[i], f[i]):
                g = dict(f)
                g[i] = g_i
                sp = walk.spread(g, M)
                if sp is not None:
                    cands.append((sp[1], g, sp[0]))
                ad = walk.add_copies(f, where, i, g_i, M)
                if ad is not None:
                    cands.append((ad[2], ad[0], ad[1]))
        best = min(cands, key=lambda c: c[0]) if cands else None
        if (best is None or best[0] >= loads) and len(where) <= LOCAL_ITEMS:
            best = walk.local(f, where, M, slow)
        if best is None or best[0] >= loads:
            return f, where, loads
        loads, f, where = best


def search(arch, rects, comp, rc, H, need, start, N):
    """Replication factors {layer: f} and places {(layer, tile, copy): (macro, row0, col0)} on at most N
    macros.  `start`: the first-fit-decreasing places of every tile on `need` macros (copy 0)."""
    geo = (arch.macro.rows, arch.macro.columns, arch.macro.dp_split_blocks)
    key = (geo, tuple((i, tuple(rects[i]), tuple(rc[i]), H[i]) for i in comp), need)
    with _LOCK:
        steps = _WALKS.pop(key, None)
        if steps is not None:
            _WALKS[key] = steps
    walk = _Walk(arch, rects, comp, rc, H)
    if steps is None:
        f0 = {i: 1 for i in comp}
        steps = [(need, *_step(walk, (f0, dict(start), walk.loads(f0, start, need)), need))]
    if steps[-1][0] < N:
        steps = list(steps)
        while steps[-1][0] < N:
            M = steps[-1][0] + 1
            steps.append((M, *_step(walk, steps[-1][1:], M)))
        with _LOCK:
            _WALKS[key] = steps
            while len(_WALKS) > MAX_WALKS:
                _WALKS.pop(next(iter(_WALKS)))
    top = min(sc[0] for M, _f, _w, sc in steps if M <= N)
    for M, f, where, sc in steps:  # the fewest macros that reach the slowest stage of N macros
        if sc[0] == top:
            return dict(f), dict(where)
    raise ValueError(f"replicate search: {N} macros, fewer than the {need} the tiles need")
