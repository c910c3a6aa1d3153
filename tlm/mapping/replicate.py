"""`mapping.policy: replicate`: placement and replication searched together.

The stage time of a macro is the work per image of the tiles it holds: a tile of layer i copied f_i
times does, in copy r, the output rows y with y mod f_i = r (`copy_cycles`).  The search walks the macro
budget M up from the tight packing (`macros_for_residency`, first-fit decreasing) one macro at a time;
at each budget it takes, while one improves the score, the best of
  - the same copies spread again over M macros (longest work first, or tallest first for a tight fit,
    onto the least loaded macro that has room: tlm/mapping/packing.pack_balanced),
  - more copies of a layer on the slowest macro (one more, or the fewest that take a row off its
    busiest copy: `more_copies`), spread again with the others over M macros or added onto the macros
    still empty (first-fit decreasing, the other tiles left where they are),
  - on the tight budget only, a tile of the slowest macro moved to, or swapped with one of, another
    macro (both packed again): where spreading finds no room,
the score being (slowest stage, macros that slow, copies), smaller is better.  A budget's result is the
start of the next one, so the walk does not depend on the macro count N, which only says where it
stops: N gets the walk's first state, then each later one (up to N macros) whose slowest stage is
SWITCH_GAIN shorter than the one taken.  So the slowest
stage never grows with N (more macros never make the mapping slower) and every macro count between
"the weights fit" and "one copy per output row" is used.  The walk is kept per geometry, workload and
row cycles up to a whole common factor (a sweep over macro counts walks once, so do its points whose ADC
and DP speeds scale every row alike), and the packings its moves try are kept too (they read no cycles).
"""
from __future__ import annotations

import math
import threading

from tlm.mapping.packing import pack_balanced, pack_ffd

_WALKS = {}  # key -> [(M, f, where, loads)] per budget walked so far (least recently used first)
_LOCK = threading.Lock()
SWITCH_GAIN = 0.03  # a state with more macros is taken when its slowest stage is 3% shorter: the stage
# times leave out the pipeline's fill and drain, which another placement may lengthen by a little
WALK_STRIDE_DIV = 32  # the walk adds one macro at a time up to 63 macros, then M // 32 per step (a
                      # thousands-of-macros architecture walks ~3% at a time: every macro count
                      # still takes the best state of the steps at or below it, so never slower)
MAX_WALK_STEPS = 96   # steps of one walk at most (each packs the tiles again); past it, more macros
                      # keep the last state (the fuzz suite's 4,096-macro case ran unbounded)
MAX_WALKS = 256  # (a few hundred small dicts each; a sweep's points of one precision share a walk)
_PACKS = {}  # (macro rows, columns, items) -> pack_ffd's answer, the least recently used first
MAX_PACKS = 4096  # (small dicts of a few tiles each)
MAX_PACK_ITEMS = 64  # tiles of a packing kept (the walk's moves pack one or two macros' tiles)


def _ffd(arch, items):
    """pack_ffd(arch, items), kept for the next walk: it reads the macro's rows and columns and the items
    only, never a cycle count, so the walks of a sweep's points that differ in timing (one walk each:
    their row cycles differ) try the same moves on the same tiles and share the packings.  The answer
    is shared: read it, do not change it."""
    if len(items) > MAX_PACK_ITEMS:
        return pack_ffd(arch, items)
    key = (arch.macro.rows, arch.macro.columns, tuple(items))
    with _LOCK:
        got = _PACKS.pop(key, None)
        if got is not None:
            _PACKS[key] = got
            return got
    got = pack_ffd(arch, items)
    with _LOCK:
        _PACKS[key] = got
        while len(_PACKS) > MAX_PACKS:
            _PACKS.pop(next(iter(_PACKS)))
    return got


def copy_cycles(r0, r1, H, f, r) -> int:
    """Cycles per image of copy r of a layer of H output rows copied f times (row 0 costs r0, every
    other row r1; copy r computes rows r, r + f, r + 2f...)."""
    n = (H - r + f - 1) // f if r < H else 0
    return n * r1 + (r0 - r1 if r == 0 and n else 0)


class _Walk:
    """The layers' tile rectangles, row cycles and heights, and the helpers of one search."""

    def __init__(self, arch, rects, comp, rc, H):
        self.arch, self.rects, self.comp, self.rc, self.H = arch, rects, comp, rc, H
        self._work, self._spread = {}, {}

    def work(self, i, f, r) -> int:
        key = (i, f[i], r)
        w = self._work.get(key)
        if w is None:
            r0, r1 = self.rc[i]
            w = self._work[key] = copy_cycles(r0, r1, self.H[i], f[i], r)
        return w

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
        """Every copy spread again over M macros: (where, score), or None when they do not fit (longest
        work first, else tallest first: a tight fit).  Kept per (copies, M)."""
        key = (tuple(f[i] for i in self.comp), M)
        if key in self._spread:
            return self._spread[key]
        items = self.items(f)
        work = {k: self.work(k[0], f, k[2]) for k, *_ in items}
        where = pack_balanced(self.arch, items, work, M)
        if where is None:
            where = pack_balanced(self.arch, items, work, M, tall_first=True)
        out = self._spread[key] = None if where is None else (where, self.loads(f, where, M))
        return out

    def add_copies(self, f, where, i, g_i, M):
        """Layer i copied g_i times, the new copies onto the macros `where` leaves empty (first-fit
        decreasing), the rest in place: (f', where', score), or None when they do not fit in M."""
        used = 1 + max((mac for mac, _a, _b in where.values()), default=-1)
        items = [((i, k, r), u, h, w) for r in range(f[i], g_i) for k, (u, h, w) in enumerate(self.rects[i])]
        need, new = _ffd(self.arch, items)
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
            need, new = _ffd(self.arch, items) if items else (0, {})
            if need > 1:
                return None
            w2.update({k: (mac, r0, c0) for k, (_m, r0, c0) in new.items()})
        return w2


LOCAL_ITEMS = 64  # the local moves are tried on at most this many placed tiles (each move packs two macros),
# on the tight budget only (with a macro more, spreading again finds room)


def more_copies(H, f):
    """The copy counts worth trying after f copies of a layer of H rows: one more, and the fewest that
    take a row off the busiest copy (ceil(H / f) rows)."""
    rows = -(-H // f)
    return sorted({x for x in (f + 1, -(-H // (rows - 1)) if rows > 1 else H + 1) if x <= H})


def _step(walk, state, M, tight=False):
    """The best state on M macros reachable from `state` by the moves of the module docstring (and, on
    the `tight` budget where the tiles just fit, single tile moves and swaps: `_Walk.local`)."""
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
        if (best is None or best[0] >= loads) and tight and len(where) <= LOCAL_ITEMS:
            best = walk.local(f, where, M, slow)
        if best is None or best[0] >= loads:
            return f, where, loads
        loads, f, where = best


def search(arch, rects, comp, rc, H, need, start, N):
    """Replication factors {layer: f} and places {(layer, tile, copy): (macro, row0, col0)} on at most N
    macros.  `start`: the first-fit-decreasing places of every tile on `need` macros (copy 0).
    On one macro the walk stays where it starts: every copy runs on that macro, whose stage is then the
    same sum of rows (the copies of a layer split its H rows, and only copy 0 pays the first row's fill:
    `copy_cycles`), so a copy only adds to the score, and there is no other macro to move a tile to."""
    if N == 1 and need == 1:
        return {i: 1 for i in comp}, dict(start)
    # the walk compares sums of row cycles only (copy_cycles is linear in them, pack_balanced compares
    # works and their sums), so it is the same walk for row cycles scaled by any whole factor: it runs on
    # the row cycles divided by their greatest common divisor g, and is kept under those (a sweep's points
    # that change the ADC and DP speeds together share it); the switch below reads g x its slowest stages
    g = math.gcd(*(int(x) for i in comp for x in rc[i])) or 1
    rcn = {i: (int(rc[i][0]) // g, int(rc[i][1]) // g) for i in comp}
    geo = (arch.macro.rows, arch.macro.columns, arch.macro.dp_split_blocks)
    key = (geo, tuple((i, tuple(rects[i]), rcn[i], H[i]) for i in comp), need)
    with _LOCK:
        steps = _WALKS.pop(key, None)
        if steps is not None:
            _WALKS[key] = steps
    walk = _Walk(arch, rects, comp, rcn, H)
    grown = steps is None
    if steps is None:
        f0 = {i: 1 for i in comp}
        steps = [(need, *_step(walk, (f0, dict(start), walk.loads(f0, start, need)), need, tight=True))]
    if steps[-1][0] < N:
        steps, grown = list(steps), True
        while steps[-1][0] < N and len(steps) < MAX_WALK_STEPS:
            M = min(N, steps[-1][0] + max(1, steps[-1][0] // WALK_STRIDE_DIV))
            steps.append((M, *_step(walk, steps[-1][1:], M)))
    if grown:
        with _LOCK:
            _WALKS[key] = steps
            while len(_WALKS) > MAX_WALKS:
                _WALKS.pop(next(iter(_WALKS)))
    chosen = None  # the first state of the walk, then each that shortens the slowest stage by SWITCH_GAIN
    for M, f, where, sc in steps:
        if M > N:
            break
        if chosen is None or g * sc[0] <= (1 - SWITCH_GAIN) * (g * chosen[2][0]):
            chosen = (f, where, sc)
    if chosen is not None:
        return dict(chosen[0]), dict(chosen[1])
    raise ValueError(f"replicate search: {N} macros, fewer than the {need} the tiles need")
