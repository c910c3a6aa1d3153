"""Re-timing (tlm/mapping/schedule.build_schedule): a schedule whose skeleton (jobs, resources,
dependencies) was list-scheduled once (tlm/mapping/listsched._time), timed again under other job cycles by
keeping each resource's order of that run, then checked: the list scheduler would have made the same
choices.  Exact or refused (the caller then runs the list scheduler).

Under a fixed order a job starts at the later of its dependencies' ends and its resource's previous job's
end (`Order.steps`: one pass in a topological order of dependencies and resource chains).  The list
scheduler starts, whenever a resource is idle, its ready job of the best rank (listsched._ready: oldest
image, then earliest in the list); at equal times the order of its events decides, so a tie is accepted
only where every event order gives the same choice (`_accepted`).  `retime_many` times many points of one
skeleton at once (a sweep's points that differ in cycles only: tlm/mapping/schedule.pretime), the points
a numpy axis, each accepted or refused on its own."""
from __future__ import annotations

from operator import itemgetter

import numpy as np


class Order:
    """What re-timing keeps of one list-scheduled run `S` (its `order`, a stream's or a batch's): each
    resource's jobs in start order, the passes of `retime`, the arrays of `_accepted`."""
    __slots__ = ("n", "order", "_steps", "deps", "prevs", "topo", "dflat", "doff", "dlen", "pos", "prev", "seg",
                 "rank", "greater", "idx", "owner", "levels")

    def __init__(self, S):
        n = len(S.res)
        d0 = getattr(S.deps, "deps0", None)  # (one image's ImageDeps: its jobs' own lists, as its items are)
        deps = self.deps = d0 if d0 is not None and S.deps.B == 1 else list(S.deps)  # (read only)
        self.n, self.order = n, {r: list(js) for r, js in S.order.items()}
        prev = self.prevs = [n] * n  # each job's predecessor on its resource (n: none; e[n] is 0)
        pos, seg = [], []
        for s, r in enumerate(sorted(self.order)):
            js = self.order[r]
            for a, b in zip(js, js[1:]):
                prev[b] = a
            pos.extend(js)
            seg.extend([s] * len(js))
        self.topo = _topological(deps, prev, n)
        self._steps = None  # (`steps`, made when first asked)
        flat = [x for d in deps for x in (*d, n)]  # (n: each job's list is never empty)
        self.dlen = np.array([len(d) + 1 for d in deps], dtype=np.int64)
        self.doff = np.concatenate(([0], np.cumsum(self.dlen)[:-1])).astype(np.int64)
        self.dflat = np.array(flat, dtype=np.int64)
        self.owner = np.repeat(np.arange(n, dtype=np.int64), self.dlen)
        self.pos, self.seg = np.array(pos, dtype=np.int64), np.array(seg, dtype=np.int64) << 40
        self.prev = np.array(prev, dtype=np.int64)[self.pos]
        if getattr(S.deps, "counts", None):  # a stream's: the job's id is its rank (listsched._ready)
            rank = np.arange(n, dtype=np.int64)
        else:
            rank = (np.array(S.image, dtype=np.int64) + 1) * n + np.arange(n, dtype=np.int64)
        self.rank = rank[self.pos]
        g = _greater(self.rank.tolist(), seg)
        self.greater = (g[g >= 0], np.flatnonzero(g >= 0))
        self.idx = np.arange(n)
        self.levels = None  # (`_levels`, for `retime_many`)

    @property
    def steps(self) -> list:
        """[(job, an itemgetter of the ends it waits for: n, its resource's previous job, its dependencies)] in a
        topological order (`_ends`); made when first asked (`retime_many` of many points reads `_levels`)."""
        if self._steps is None:
            n, prev, deps = self.n, self.prevs, self.deps
            self._steps = [(j, itemgetter(n, prev[j], *deps[j])) for j in self.topo]
        return self._steps


class RunOf:
    """What retime.Order reads of a list-scheduled run `S` (its jobs' resources, dependencies, images, and
    its order, copied), until a schedule of the same jobs asks for the Order (schedule._timed)."""
    __slots__ = ("res", "deps", "image", "order")

    def __init__(self, S):
        self.res, self.deps, self.image = S.res, S.deps, S.image
        self.order = {r: list(js) for r, js in S.order.items()}


def _greater(rank, seg) -> np.ndarray:
    """For each position of the resources' orders, the last earlier position of its resource whose job
    has a greater rank (-1: none)."""
    out, stack = [-1] * len(rank), []
    for i, (k, s) in enumerate(zip(rank, seg)):
        if i and seg[i - 1] != s:
            stack = []
        while stack and rank[stack[-1]] < k:
            stack.pop()
        out[i] = stack[-1] if stack else -1
        stack.append(i)
    return np.array(out, dtype=np.int64)


def _topological(deps, prev, n) -> list:
    """The jobs in an order where each comes after its dependencies and its resource's previous job."""
    left = [len(d) + (prev[j] < n) for j, d in enumerate(deps)]
    succ = [[] for _ in range(n)]
    for j, d in enumerate(deps):
        for k in d:
            succ[k].append(j)
        if prev[j] < n:
            succ[prev[j]].append(j)
    todo = [j for j in range(n) if not left[j]]
    for j in todo:  # (grows while read)
        for u in succ[j]:
            left[u] -= 1
            if not left[u]:
                todo.append(u)
    if len(todo) != n:
        raise RuntimeError("retime: the kept order has a cycle")
    return todo


def retime(S, ref: Order) -> bool:
    """Time schedule `S` (the skeleton `ref` was made from, other cycles) in `ref`'s order: set S.start,
    S.end, S.order and return True if the list scheduler would have chosen that order; else False,
    nothing set."""
    cost = S.cost
    n = ref.n
    E = np.array(_ends(ref, cost), dtype=np.int64)[:, None]
    C = np.empty((n + 1, 1), dtype=np.int64)
    C[:n, 0], C[n] = cost, 1  # (n: ready from the start, before every event)
    start = E[:n] - C[:n]
    if not _accepted(ref, E, start, C)[0]:
        return False
    S.start, S.end = start[:, 0], E[:n, 0]
    S.order = ordered(ref, S.start)
    return True


def _ends(ref: Order, cost) -> list:
    """Each job's end (and a last 0) in `ref`'s order under job cycles `cost`: a job ends its cycles after
    the later of its dependencies' ends and its resource's previous job's end (`Order.steps`)."""
    e = [0] * (ref.n + 1)
    for j, g in ref.steps:
        e[j] = max(g(e)) + cost[j]
    return e


def ordered(ref: Order, start) -> dict:
    """The resources' orders of `ref` as a timed schedule lists them: by the start of each one's first job
    (the order in which the list scheduler first starts a job on each); each resource's list is `ref`'s own,
    shared by the schedules timed in its order (ORDER_SHARED)."""
    got = sorted(ref.order.items(), key=lambda kv: (start[kv[1][0]], kv[0]))
    return dict(got) if ORDER_SHARED else {r: list(js) for r, js in got}


# A schedule's per-resource job orders (S.order) that a timing point shares with the run it was timed from
# (`shifted`, `ordered`: the same jobs in the same order, only their times differ) are that run's lists, not
# copies: every reader only reads them (the TLM engine's pipeline, Order and RunOf, which copy them, and
# schedule._timed's comparison).  False: each schedule its own copies (tests compare the two).
ORDER_SHARED = True


TIMED_MAKES_ORDER = False  # True (tests): schedule._timed makes the Order of a kept run (RunOf) when the next
# schedule asks; by default only schedule.pretime makes Orders (it times many points with one): one costs
# about four one-image list schedules and a re-timing saves less than one (ResNet-8's stream on 3 macros:
# Order 1.3 ms, list schedule 0.32 ms, re-timing 0.27 ms)
LEVELS_FROM = 8  # points from which `retime_many` takes the ends level by level (measured on ResNet-8's
# streams of 250 jobs and 80-130 levels: 5 points' steps 0.45 ms, their levels 0.62; 25 points 2.3 ms, 0.7)


def retime_many(ref: Order, cost) -> tuple:
    """`retime` of many points at once: `cost` (jobs x points, int64) the job cycles of each point on the
    skeleton `ref` was made from.  Returns (starts, ends: jobs x points, a bool per point: accepted, i.e. the
    list scheduler's schedule of that point, `retime`'s).  The ends are the same recurrence as `retime`'s
    (a job ends its cycles after the later of its dependencies' ends and its resource's previous job's
    end), taken level by level of `ref`'s order (`_levels`: every job after the jobs it waits for) with
    the points as a numpy axis, or (a few points) point by point (`_ends`); the check is per point, the
    points as a numpy axis (`_accepted`)."""
    n = ref.n
    cost = np.asarray(cost, dtype=np.int64).reshape(n, -1)
    if cost.shape[1] < LEVELS_FROM:  # (few points: each one's steps cost less than the levels)
        E = np.array([_ends(ref, c) for c in cost.T.tolist()], dtype=np.int64).T
    else:  # (the ends in level order, each level's one slice: row at[j] is job j's, at[n] = n the 0)
        at, order, levels = _levels(ref)
        L = np.zeros((n + 1, cost.shape[1]), dtype=np.int64)
        c = cost[order]
        top = np.maximum.reduce
        for a, b, waits in levels:
            e = L[a:b]
            top(L[waits], axis=1, out=e)
            e += c[a:b]
        E = L[at]
    C = np.empty_like(E)
    C[:n], C[n] = cost, 1
    start = E[:n] - cost
    return start, E[:n], _accepted(ref, E, start, C)


def _levels(ref: Order) -> tuple:
    """`ref`'s jobs by level (a job's level is one more than the highest of the jobs it waits for: its
    dependencies and its resource's previous job), in level order (by level, then by id): (each job's place
    in that order, and n's, n; the jobs in that order; per level, its first and one past its last place and
    the places of the jobs each of its jobs waits for, padded with n, whose end is 0); kept on `ref`."""
    if ref.levels is None:
        n, prev, deps = ref.n, ref.prevs, ref.deps
        lev = [0] * (n + 1)
        at = lev.__getitem__
        for j in ref.topo:  # (a topological order of the waits)
            lev[j] = 1 + max(0, lev[prev[j]], *map(at, deps[j]))
        order = sorted(range(n), key=at)  # (stable: by id within a level)
        place = np.full(n + 1, n, dtype=np.int64)
        place[order] = np.arange(n, dtype=np.int64)
        waits = place[[x for j in order for x in (*deps[j], n, prev[j])]]  # (each holds n: its own end 0)
        width = ref.dlen[order] + 1
        pad = np.full((n, int(width.max(initial=1))), n, dtype=np.int64)
        pad[np.arange(pad.shape[1]) < width[:, None]] = waits
        lv = np.array(lev[:n], dtype=np.int64)[order]
        first = np.flatnonzero(np.diff(lv, prepend=-1)).tolist()
        ws = np.maximum.reduceat(width, first).tolist() if n else []
        ends = first[1:] + [n]
        ref.levels = (place, np.array(order, dtype=np.int64),
                      [(a, b, pad[a:b, :w]) for a, b, w in zip(first, ends, ws)])
    return ref.levels


def _accepted(ref: Order, E, start, C) -> np.ndarray:
    """Per point (a column of E, start, C): would the list scheduler start each resource's jobs in `ref`'s
    order, given the ends `E` (E[n] = 0), starts and cycles (C[n] = 1) of that order?  Per resource, job
    o_k starts at T (its predecessor o_k-1 ending at P <= T) once ready at R <= T, made ready by the
    completion event of the last of its dependencies ending at R, its enabler (n: ready from the start).
    Events at one time are taken in job order, except a job of 0 cycles started at that time (its
    completion is pushed while other events are taken): so an event a comes surely before an event b > a
    if a has cycles, and the enabler is the dependency ending at R if one does, else the last of them if
    all have cycles, else not known.  Every later job y of the resource ready by T (at R_y) must be of
    worse rank, and if R = T (o_k enters the ready heap at T):
      y ready before T: only if T = P and o_k's enabler is o_k-1 or surely before it (the resource,
        busy until T, decides at that event, o_k in the heap);
      y ready at T: only if y has the same enabler or a surely later one (o_k is in the heap first).
    (R < T: T = P, o_k waits in the heap at every event at T, the best there.)  Anything else is
    refused: the list scheduler's choice may differ, or depend on the order of events at one time."""
    n = ref.n
    P = E.shape[1]
    ok = E.max(axis=0, initial=0) < 1 << 40
    if not ok.all():  # (the times of such a point are not kept apart by the resources' 2^40 offsets)
        if ok.any():
            ok[ok] = _accepted(ref, E[:, ok], start[:, ok], C[:, ok])
        return ok
    ends = E[ref.dflat]
    rdy = np.maximum.reduceat(ends, ref.doff)  # each job's ready time (its last dependency's end; 0)
    at = ends == rdy[ref.owner]
    one = (np.add.reduceat(at, ref.doff) == 1) | ~np.add.reduceat(at & (C[ref.dflat] == 0), ref.doff).astype(bool)
    top = np.iinfo(np.int64).max
    en = np.where(one, np.maximum.reduceat(np.where(at, ref.dflat[:, None], -1), ref.doff), top)  # enabler; top: none
    pos = ref.pos
    T, R, en = start[pos], rdy[pos], en[pos]
    cols = np.arange(P)  # (a[x, cols] of an (m, P) array a and x: np.take(a, x * P + cols), flat, cheaper)
    timed = np.take(C, np.minimum(en, n) * P + cols) > 0  # (the enabler has cycles)
    B = R == T
    prev = ref.prev[:, None]
    free = B & (prev < n) & (E[ref.prev] == T) & ((en == prev) | ((en < prev) & timed))
    seg = ref.seg[:, None]
    Tg, Rg = T + seg, R + seg  # (resources 2^40 apart: Tg is nondecreasing in each column)
    idx = ref.idx[:, None]
    lo, hi = _search(Tg, Rg)  # the earlier o_k of its resource with T >= R_y: lo .. y-1,
    hi = np.minimum(hi, idx)  # those with T = R_y: lo .. hi-1
    lo = np.minimum(lo, hi)
    cs = np.zeros((n + 1, P), dtype=np.int64)
    np.cumsum(B & ~free, axis=0, out=cs[1:])
    hi_at, lo_at = hi * P + cols, lo * P + cols
    bad = (cs[:-1] != np.take(cs, hi_at)).any(axis=0)  # y ready before T where o_k enters the heap at T
    g, y = ref.greater  # the last earlier job of worse rank (the latest to start): ready by then, chosen
    bad |= (T[g] >= R[y]).any(axis=0)
    # where hi - lo == 1: o_k (k = lo) ready at T = R_y, y's enabler the same or surely later
    ek, e_y = np.take(en, lo_at), en
    bad |= ((hi - lo == 1) & np.take(B, lo_at) & ((ek > e_y) | (e_y == top) | (~np.take(timed, lo_at) & (ek != e_y)))
            ).any(axis=0)
    many = hi - lo > 1
    if many.any():  # (o_k of 0 cycles at T: refused)
        cb = np.zeros((n + 1, P), dtype=np.int64)
        np.cumsum(B, axis=0, out=cb[1:])
        bad |= (many & (np.take(cb, hi_at) > np.take(cb, lo_at))).any(axis=0)
    return ~bad


def _search(Tg, Rg):
    """np.searchsorted(Tg[:, p], Rg[:, p], "left" and "right") of every column p, at once: the columns
    placed one after the other, each offset past the previous one's largest value."""
    n, P = Tg.shape
    if P == 1:
        return (np.searchsorted(Tg[:, 0], Rg[:, 0], "left")[:, None],
                np.searchsorted(Tg[:, 0], Rg[:, 0], "right")[:, None])
    span = int(max(Tg.max(), Rg.max())) + 1
    if span * P >= 1 << 62:
        got = [_search(Tg[:, [p]], Rg[:, [p]]) for p in range(P)]
        return np.hstack([x[0] for x in got]), np.hstack([x[1] for x in got])
    off = np.arange(P, dtype=np.int64) * span
    t, r = (Tg + off).T.ravel(), (Rg + off).T.ravel()
    base = (np.arange(P, dtype=np.int64) * n)[:, None]
    lo = (np.searchsorted(t, r, "left").reshape(P, n) - base).T
    hi = (np.searchsorted(t, r, "right").reshape(P, n) - base).T
    return lo, hi


# ---- one image whose transfers changed: the last run, shifted -------------------------------------------
def shifted(S, sk) -> bool:
    """Time `S`, one image of a stream on skeleton `sk`, from the skeleton's last timed run (`keep_times`)
    when their jobs' cycles differ at most in the first job (the image's input transfer) and the last (its
    output transfer) -- a sweep's points that differ in the DMA only: set S.start, S.end, S.order and return
    True; else False, nothing set.  Exact where `_shiftable`: every other job waits for the first, nothing
    waits for the last, and neither shares its resource with another job.  The list scheduler then starts
    nothing before the input transfer ends, and from there its choices compare times with each other only
    (ranks, events in (time, job) order): every later start moves by the change of the transfer's cycles.
    The output transfer, last, delays nothing: only its own end moves.  Each resource's order is the kept
    run's, the same list for every point shifted from it (read it, do not change it: ORDER_SHARED)."""
    kept = sk.kept_times
    cost = S.cost
    if kept is None or len(cost) != len(kept[2]) or cost[0] <= 0 or cost[1:-1] != kept[0]:
        return False
    c0, start, end, order = kept[1:]
    d = cost[0] - c0
    st, en = start + d, end + d
    st[0], en[0] = 0, cost[0]
    en[-1] = st[-1] + cost[-1]
    S.start, S.end = st, en
    S.order = dict(order) if ORDER_SHARED else {r: list(js) for r, js in order.items()}
    return True


def shifts(sk, costs) -> bool:
    """Do `costs` (one image's jobs' cycles at several points) differ in the first and last jobs only, on a
    skeleton whose runs shift (`shifted`; tlm/mapping/schedule.pretime leaves such points to it)?"""
    if sk.shiftable is None:
        sk.shiftable = _shiftable(sk)
    if not sk.shiftable or not costs:
        return False
    mid = costs[0][1:-1]
    return all(c[1:-1] == mid for c in costs[1:])  # (stops at the first point that differs)


def keep_times(S, sk) -> None:
    """Keep the timed run `S` of one image on skeleton `sk` for `shifted`, when the skeleton allows it."""
    if sk.shiftable is None:
        sk.shiftable = _shiftable(sk)
    if sk.shiftable and S.cost[0] > 0:
        sk.kept_times = (S.cost[1:-1], S.cost[0], S.start.copy(), S.end.copy(),
                         {r: list(js) for r, js in S.order.items()})


def _shiftable(sk) -> bool:
    """One image's jobs (a list in which each depends on earlier jobs only): the first depends on nothing
    and every other on something (so on the first, through its dependencies), nothing depends on the last,
    and no other job runs on the resource of the first or the last."""
    deps, res, n = sk.deps, sk.res, len(sk.res)
    ends = {res[0], res[n - 1]} if n >= 3 else set()
    return (n >= 3 and not deps[0] and all(deps[j] for j in range(1, n)) and not sk.users[n - 1]
            and not any(r in ends for r in res[1:n - 1]))
