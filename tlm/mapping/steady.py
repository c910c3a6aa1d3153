"""The steady state of a streamed schedule: its cost does not grow with the batch.

A stream is paced (tlm/mapping/schedule.py `_time`): image b's input transfer is released `ii` cycles
after image b-1's started, ii the initiation interval (`interval`: the busiest resource's work per image;
raised to the period the probes reach only when none of them repeats a state with it).  Unpaced, a first
stage faster than the slowest runs ahead without bound and the schedule never repeats.  The list
scheduler is a deterministic machine, and everything it does after image b's input is released depends
only on its state then -- every resource's remaining busy time, the status and dependencies left of every
job of the images not yet done, the pending releases, all relative to that instant and to image b
(`schedule._state`) -- and on how many images are still to come: every image runs the same jobs at the
same costs, and the rules (oldest image first, then job order; events in (time, job) order) compare
images only relatively.  Nothing before that release depends on the batch (later images are not
released yet).

So when the probe run (`_plan`: w = 8, else 32 images, stopped at the first release whose state came
back, `_Repeat`) shows the state at the release of image m equal to the state at image m + k's (k <= KMAX
images: one for most pipelines, more for multi-rate ones), D the time between the two releases:
  - a batch B <= m + k is the probe run up to image B's release (later images are not released yet),
    then the same state without that release: the scheduler forks there (listsched._time `forks`), so
    no batch up to m + k is scheduled on its own (`_short`, and the base runs below);
  - a batch B > m is, exactly, the probe's jobs started before image m's release, as they are; q =
    (B - w') / k copies of the jobs the probe starts between the releases of m and m + k (k images'
    worth), copy i later by i D and i k images; the jobs the run of w' images starts from image m's
    release on, later by q D and q k images -- w' in m + 1 .. m + k with B - w' a multiple of k (the base
    run, `_base`): from image m's release on, B images and w' images are in the same state with B - m and
    w' - m images to come, and one period later B is back in that state with k fewer (by induction).
`_extend` derives from these parts every statistic the full schedule has, as build_schedule does: the
makespan from the parts' last ends; the image latency over every image's input and output transfers; image
0's fill and drain; the per-layer and per-resource sums (`Schedule.mult`); the line-buffer peak over every
row of every image, computed at q = 0 and q = 1 only: the rows held at an instant are fixed by the state,
so from image m's release on the profile of held bits repeats every D, and from q = 1 on the batch's
profile holds a whole period, the probe's start and the same end -- the same peak for every q >= 1.  The
image latency is the same for every q >= ceil((m + k) / k): images from m on start after image m's
release, so the latency of image i + k is image i's; from there on the images done before the last
release include images m .. m + k - 1, and the images still running then start after image m's release,
their latencies fixed by the state (the same at every batch of B's residue mod k).  A
probe that repeats no state leaves the full schedule (never a guess).  The TLM engine executes the full job
list, paced the same way.  tests/test_steady.py checks every number against the full schedule and that
the jobs scheduled stay bounded as the batch grows (one probe run for a sweep of batches).
"""
from __future__ import annotations

import dataclasses
import threading

import numpy as np

from tlm.hw import dma as hw_dma
from tlm.mapping import reuse, streamsums
from tlm.mapping.assign import HashedTuple
from tlm.mapping.linebuf import _held, makespan_cycles, stream_results
from tlm.mapping.schedule import _fill_drain_stream, _structure, build_schedule, job_group, one_image

PROBES = (8, 32)  # images of the probe runs tried, in order (each stops at the first release whose state
# repeats: the shorter one costs less to set up; the longer is the same run up to its end)
KMAX = 16  # longest period looked for, in images
II_TRIES = 3  # initiation intervals tried (the busiest resource's work, then the period the probes reach)
_CACHE = {}  # (rows per job, structure without the batch, job costs) -> _Plan, most recent last
_LOCK = threading.Lock()
MAX_CACHED = 256
MAX_JOBS_HELD = 4_000_000  # jobs of the probe runs and their forks the kept plans hold (some 100 MB at most)


class _Plan:
    """A stream's pacing and steady state: ii, and when the probe repeats a state, (probe size w, image m,
    period k images), the probe run (`runs[w]`: its jobs up to image m + k's release), the runs of 2 ..
    m + k images it forked (`forks`: starts, ends), what the batches share (`stats`)."""
    __slots__ = ("ii", "w", "m", "k", "runs", "ctx", "sk1", "stats", "forks", "jobs")


def _context(arch, wl, asg, ops, m, rc, group):
    """(cache key, rc, group) of a stream's steady state: what its probe runs depend on, not the batch."""
    key1, sk1, spec, rc, group, _over = one_image(arch, wl, asg, ops, m, rc, group)
    costs = tuple(spec)
    return HashedTuple((group, key1[1:], costs)), rc, group, sk1, costs  # (hashed once: looked up per batch)


def _run(arch, wl, asg, ops, m, rc, group, w, ii, until=None, forks=None, grow=0):
    """A paced run of w images, with the scheduler's state at every release (stopped early when `until`
    says so; the runs of fewer images into `forks`; on to `grow` images past the w-th's release when its
    state has not repeated: listsched._time)."""
    snaps = []
    S = build_schedule(arch, dataclasses.replace(wl, batch=w), asg, ops, stream=True, m=m, rc=rc, group=group,
                       ii=ii, snaps=snaps, until=until, forks=forks, grow=grow)
    return S, snaps


class _Repeat:
    """`until` of a probe run: true at the first release whose state came at most KMAX images before;
    `found` = (m, k), that earlier image and the period in images (None until then)."""

    def __init__(self):
        self.states, self.found = {}, None

    def __call__(self, snaps) -> bool:
        _t, b, _seq, st = snaps[-1]
        was = self.states.get(st)
        if was is not None and b - was <= KMAX:
            self.found = (was, b - was)
            return True
        self.states[st] = b
        return False


def _plan(arch, wl, asg, ops, m=None, rc=None, group=None, ctx=None) -> _Plan:
    """The stream's pacing and steady state (module docstring), cached by what they depend on (`ctx`:
    `_context`'s, if known)."""
    key, rc, group, sk1, costs = ctx or _context(arch, wl, asg, ops, m, rc, group)
    with _LOCK:
        if key in _CACHE:
            _CACHE[key] = _CACHE.pop(key)
            return _CACHE[key]
    per = np.bincount(np.asarray(sk1.res, dtype=np.int64), weights=np.asarray(costs, dtype=np.int64)[
        np.asarray(sk1.spec_of, dtype=np.int64)], minlength=len(sk1.names))
    P = _Plan()
    P.ii, P.w, P.m, P.k, P.runs = max(int(per.max(initial=0)), 1), None, None, None, {}
    P.ctx, P.sk1, P.stats, P.forks = (arch, wl, asg, ops, m, rc, group), sk1, {}, None
    for _ in range(II_TRIES):
        forks = {}  # (a longer run keeps the shorter one's forks: the same run up to its last release)
        w = 0
        for size in PROBES:  # (a run stops at the first repeat; a longer one is the same up to there)
            if size <= w:
                continue  # (the last run went on to it: listsched._time `grow`)
            rep = _Repeat()
            S, snaps = _run(arch, wl, asg, ops, m, rc, group, size, P.ii, rep, forks, PROBES[-1])
            w = len(S.res) // len(sk1.res)
            if rep.found is not None:
                P.w, (P.m, P.k) = w, rep.found
                P.runs[w] = (S, snaps)
                P.forks = forks
                break
        if P.w is not None:
            break
        # no state repeats: the stream's period is longer than ii (its inputs pile up), the period its
        # outputs leave at over the second half of the longest probe
        h = w // 2
        st = S.start.reshape(w, -1)
        reached = -(-int(st[w - 2, -1] - st[h - 2, -1]) // h)
        if reached <= P.ii:
            break
        P.ii = reached
    P.jobs = len(S.res) + sum(len(f[0]) for f in (P.forks or {}).values())  # (the jobs it holds)
    with _LOCK:
        _CACHE[key] = P
        while len(_CACHE) > 1 and (len(_CACHE) > MAX_CACHED or sum(x.jobs for x in _CACHE.values()) > MAX_JOBS_HELD):
            _CACHE.pop(next(iter(_CACHE)))
    return P


def interval(arch, wl, asg, ops, m=None, rc=None, group=None) -> int:
    """A stream's initiation interval in cycles (module docstring): the same for every batch."""
    return _plan(arch, wl, asg, ops, m, rc, group).ii


def steady_schedule(arch, wl, asg, ops, m=None, rc=None):
    """The schedule of a streamed assignment for `wl.batch` images from its probe run (module docstring), or
    None when the batch is one image or no state repeats (build the full one then)."""
    B = wl.batch
    if B < 2:
        return None
    tail, ctxs = _recent(arch, wl, asg, ops, m, rc)
    group, over = job_group((B,) + tail)
    if over:
        return None  # too many jobs: the full schedule refuses with the reason
    ctx = ctxs.get(group)
    if ctx is None:
        ctx = ctxs[group] = _context(arch, wl, asg, ops, m, rc, group)
    P = _plan(arch, wl, asg, ops, m, rc, group, ctx)
    if P.w is None:
        return None
    if B <= P.m:
        return _short(arch, wl, P, B)
    return _extend(arch, wl, P, _base(P, P.m + 1 + (B - P.m - 1) % P.k), B)


_RECENT = {}  # ids of what a stream's steady state reads -> (those objects, the structure without the batch,
# {rows per job: `_context`}): `_recent`
MAX_RECENT = 64


def _recent(arch, wl, asg, ops, m, rc):
    """(the structure without the batch, {rows per job: `_context`}) of a stream, kept for the next call on the
    same architecture, assignment, digital ops, row cycles (or Mapping) and layer objects, image bits and shape
    (frozen or never changed once made: a sweep's points that differ in the batch only pass the same,
    tlm/engines/analytic._kept): the batch sets the rows per job (job_group), nothing else of them.  The
    plan itself is looked up in _CACHE by its key (`_plan`): cleared or evicted, it is made again."""
    if reuse.plain(arch) is not arch:  # (a recording notes the fields read: read them)
        return _structure(wl, asg, arch.macro.count, arch.dma.channels > 1, True, None)[1:], {}
    m = m if rc is None else None  # (one image's jobs read the Mapping only for row cycles not given)
    L = wl.layers  # (the batches of a sweep's point share its list of layers)
    k = (id(arch), id(asg), id(ops), id(m), id(rc), id(L), wl.input_bits, tuple(wl.input_shape))
    got = _RECENT.get(k)
    if got is None or not (got[0][0] is arch and got[0][1] is asg and got[0][2] is ops and got[0][3] is m
                           and got[0][4] is rc and got[0][5] is L):
        if len(_RECENT) >= MAX_RECENT:
            _RECENT.clear()
        tail = _structure(wl, asg, arch.macro.count, arch.dma.channels > 1, True, None)[1:]
        got = _RECENT[k] = ((arch, asg, ops, m, rc, L), tail, {})
    return got[1], got[2]


def _short(arch, wl, P, B):
    """The B-image Schedule for 2 <= B <= m: the probe run's up to image B's release, then without it
    (listsched._time `forks`), its statistics as build_schedule computes them."""
    T, J, _D, _pre, _seg, _seq0, _io = _probe_parts(P)
    st, en = (x.reshape(B, J) for x in _fork(P, B))
    S = _copy(T)
    S.mult = np.full(J, B, dtype=np.int64)
    stream_results(S, arch, wl, P.sk1, st, en, _short_line_buffers(P, wl, B, en))
    S.makespan = makespan_cycles(en, S.spill_cycles)
    S.start, S.end = st[0].copy(), en[0].copy()
    _fill_drain_stream(S, P.sk1, J)  # (image 0's jobs are the skeleton's: its arrays, kept)
    return S


def _short_line_buffers(P, wl, B, en, cut=None) -> int:
    """linebuf.stream_line_buffers of the run of B images (its B x J ends `en`), from two parts, cut at
    image c's release r, c = `cut` (default B; at most m + k, and B's run the probe run up to that release:
    a fork for B <= m + k, a laid-out batch past it, `_extend`).  Every job that ends before r ends there in
    the probe run too (the run of B is the probe run up to that release), so every row made or freed
    before r is made or freed at the same time in each run of m + k >= c images: the held bits over those
    events -- their running peak, their level at r -- are the same for every B, read off the run of m + k
    images (kept on P, `_held_prefix`).  The rest, the rows of the images still running at r made or freed
    from r on, are this run's own.  The peak of the two is the whole one: the events are taken in one order
    (time; at one instant the frees, then the writes: linebuf._peaks), and events of one instant and kind,
    all of one sign, leave no higher total between them than after the last (writes) or before the first
    (frees)."""
    sk = P.sk1
    J = en.shape[1]
    r = int(P.runs[P.w][1][(cut or B) - 1][0])  # (image c's release: the probe's snaps from image 1's on)
    keys, held, peak = _held_prefix(P, wl)
    i = int(np.searchsorted(keys, 2 * r, side="left"))  # (the events before r: a write at s -> 2 s + 1,
    # a free at e -> 2 e)
    top, level = (int(peak[i - 1]), int(held[i - 1])) if i else (0, 0)
    lo = int(np.argmax(en.max(axis=1) >= r))  # (the images before it ended every job before r)
    made, free, bits = _held(wl, sk, en[lo:], 0, J - 1)
    w = np.where(free > made, bits, 0).ravel()
    t = np.concatenate([2 * made.ravel() + 1, 2 * free.ravel()])
    d = np.concatenate([w, -w])
    tail = t >= 2 * r
    t, d = t[tail], d[tail]
    if len(t):
        top = max(top, level + int(np.cumsum(d[np.argsort(t, kind="stable")]).max()))
    return max(top, 0)


_BITS = {}  # id(layers) -> (the layers, their output bits): `_bits`


def _bits(wl) -> tuple:
    """(the image's bits, every layer's output bits): what a stream's line buffers read of the workload beyond
    its structure, kept per list of layers (the batches of a sweep's point share it)."""
    L = wl.layers
    got = _BITS.get(id(L))
    if got is None or got[0] is not L:
        if len(_BITS) >= 256:
            _BITS.clear()
        got = _BITS[id(L)] = (L, tuple(l.bits_out for l in L))
    return wl.input_bits, got[1]


def _held_prefix(P, wl):
    """(the event keys, sorted, the bits held after each and their running peak) of the line buffers of the
    run of m + k images of plan P's stream (`_short_line_buffers`), kept on P per image and output bits."""
    key = ("lbpre", _bits(wl))
    with _LOCK:
        got = P.stats.get(key)
    if got is not None:
        return got
    b = P.m + P.k
    en = _fork(P, b)[1].reshape(b, -1)
    made, free, bits = _held(wl, P.sk1, en, 0, en.shape[1] - 1)
    made, free, bits = made.ravel(), free.ravel(), np.tile(bits, b)
    w = np.where(free > made, bits, 0)
    t = np.concatenate([2 * made + 1, 2 * free])
    order = np.argsort(t, kind="stable")
    held = np.cumsum(np.concatenate([w, -w])[order])
    got = (t[order], held, np.maximum.accumulate(held))
    with _LOCK:
        P.stats[key] = got
    return got


def _fork(P, b):
    """(starts, ends) of the run of b images (2 <= b <= m + k) of plan P's stream: the probe run's times of
    its first b images' jobs, those the fork started after image b's release at the fork's times
    (listsched._time `forks`)."""
    S0 = P.runs[P.w][0]
    jobs, st, en = P.forks[b]
    n = b * len(P.sk1.res)
    start, end = S0.start[:n].copy(), S0.end[:n].copy()
    start[jobs], end[jobs] = st, en
    return start, end


class _Base:
    """A base run of w' in m + 1 .. m + k images (module docstring) as the B-image schedules of its residue
    use it: its jobs started from image m's release on (`post`: their image, job of the image, start, end),
    and image 0's starts and ends when the batch is w' itself and when it is longer (q >= 1)."""
    __slots__ = ("w", "post", "post_end", "img0")


def _probe_parts(P):
    """What every batch takes from the probe run (kept on P): one image's jobs `T` (its stage cycles are
    the probe's, per image), J, D (the time between the releases of images m and m + k), the probe's jobs
    started before image m's release (`pre`) and between the two releases (`seg`), each as (image, job of
    the image, start, end), the seq of image m's release, and the image's input and output transfers.  T's
    job lists are the skeleton's (streamsums.job_lists: shared, read only); the probe's own, of w images,
    are dropped then (nothing reads them after: kept, they are some 10^5 list items per sweep for the
    garbage collector to walk)."""
    if "parts" in P.stats:
        return P.stats["parts"]
    S0, snaps = P.runs[P.w]
    J = len(P.sk1.res)
    T = dataclasses.replace(S0, cost=S0.cost[:J], deps=P.sk1.deps, order={}, seq=None,
                            **streamsums.job_lists(P.sk1, 1, True))
    S0.res = S0.cost = S0.layer = S0.image = S0.row = S0.deps = None
    (t0, b0, seq0, _), (t1, b1, seq1, _) = snaps[P.m - 1], snaps[P.m + P.k - 1]
    assert (b0, b1) == (P.m, P.m + P.k)
    img, loc = np.divmod(np.arange(len(S0.seq)), J)  # (the jobs of the images released: listsched._time)
    pre = S0.seq < seq0
    seg = ~pre & (S0.seq < seq1)
    if seg.sum() != P.k * J:
        raise RuntimeError("steady state: the period is not k images' jobs")  # (the argument broke)
    n = max(T.layer)
    lay, row = np.asarray(T.layer), np.asarray(T.row)
    io = (int(np.flatnonzero((lay == n) & (row == 0))[0]), int(np.flatnonzero((lay == n) & (row == 1))[0]))
    part = lambda sel: (img[sel], loc[sel], S0.start[sel], S0.end[sel])  # noqa: E731
    got = P.stats["parts"] = (T, J, int(t1 - t0), part(pre), part(seg), seq0, io)
    return got


def _base(P, wb) -> _Base:
    """The base run of `wb` images of the stream of plan P (kept on P)."""
    with _LOCK:
        got = P.stats.get(("base", wb))
    if got is not None:
        return got
    T, J, D, pre, seg, seq0, io = _probe_parts(P)
    start, end = _fork(P, wb)  # (the run of wb images: listsched._time `forks`)
    img, loc = np.divmod(np.arange(wb * J), J)
    post = np.ones(wb * J, dtype=bool)
    post[pre[0] * J + pre[1]] = False  # (its jobs started before image m's release are the probe's)
    b = _Base()
    b.w, b.post = wb, (img[post], loc[post], start[post], end[post])
    b.post_end = int(end[post].max())
    b.img0 = {}
    for q in (0, 1):  # image 0's jobs: from the probe's (its own run up to image m's release), else the base's
        st, en = np.full(J, -1, dtype=np.int64), np.full(J, -1, dtype=np.int64)
        parts = (pre, seg) if q else (pre, seg, b.post)
        for i, l, s, e in parts:
            sel = i == 0
            st[l[sel]], en[l[sel]] = s[sel], e[sel]
        b.img0[q] = (st, en)
    with _LOCK:
        P.stats[("base", wb)] = b
    return b


def _layout(P, b, B, cols=None):
    """(starts, ends) of the B-image schedule (B = b.w + q k): image by job of the image, every job when
    `cols` is None, else the jobs of the image in `cols` (module docstring: the probe's jobs before image
    m's release, q copies of its period's, copy i later by i D and i k images, the base's from image m's
    release on later by q D and q k images)."""
    k, D = P.k, _probe_parts(P)[2]
    q = (B - b.w) // k
    parts = _parts_of(P, b, cols)
    width = parts[0]
    st, en = np.full((B, width), -1, dtype=np.int64), np.full((B, width), -1, dtype=np.int64)
    for (i, l, s, e), copies, shift in zip(parts[1:], (1, q, 1), (0, 0, q)):
        r = np.arange(copies, dtype=np.int64)[:, None] + shift
        rows = i[None, :] + k * r
        st[rows, l[None, :]] = s[None, :] + D * r
        en[rows, l[None, :]] = e[None, :] + D * r
    if cols is None and (st < 0).any():
        raise RuntimeError("steady state: the periods do not cover the batch's jobs")  # (the argument broke)
    return st, en


def _latencies(P, b, Q, i_in, i_out):
    """The image latency of the B-image schedule, B = b.w + q k, for each q = 0 .. Q at once, kept on P: what
    `_layout` lays out of the images' input and output transfers (jobs i_in, i_out), with q as an axis --
    the probe's jobs before image m's release in every q, period copy c in every q > c, the base's later by
    q D and q k images -- each image's output end minus its input start, the most over the batch's images."""
    key = ("lats", b.w, Q)
    with _LOCK:
        got = P.stats.get(key)
    if got is not None:
        return got
    k, D = P.k, _probe_parts(P)[2]
    (i0, l0, s0, e0), (i1, l1, s1, e1), (i2, l2, s2, e2) = _parts_of(P, b, (i_in, i_out))[1:]
    qs = np.arange(Q + 1, dtype=np.int64)
    qq, cc = np.nonzero(qs[:, None] > qs[None, :Q])  # (the period copies c of each q)
    t = np.zeros((2, Q + 1, b.w + Q * k), dtype=np.int64)  # (input start, output end) per q and image
    for q, r, i, l, x in ((qs[:, None], 0 * qs[:, None], i0[None, :], l0[None, :], np.where(l0 == 0, s0, e0)),
                          (qq[:, None], cc[:, None], i1[None, :], l1[None, :], np.where(l1 == 0, s1, e1)),
                          (qs[:, None], qs[:, None], i2[None, :], l2[None, :], np.where(l2 == 0, s2, e2))):
        t[l, q, i + k * r] = x[None, :] + D * r
    got = (t[1] - t[0]).max(axis=1)  # (images past a q's batch hold 0 - 0: no latency is negative)
    with _LOCK:
        P.stats[key] = got
    return got


def _parts_of(P, b, cols):
    """(the jobs of an image in `cols` (None: all), then the probe's `pre` and `seg` and the base's `post`
    restricted to them, their job of the image numbered among `cols`), kept on P."""
    key = ("cols", b.w, cols)
    with _LOCK:
        got = P.stats.get(key)
    if got is not None:
        return got
    _T, J, _D, pre, seg, _seq0, _io = _probe_parts(P)
    idx = np.arange(J) if cols is None else np.asarray(cols)
    pos = np.full(J, -1, dtype=np.int64)
    pos[idx] = np.arange(len(idx))
    got = [len(idx)]
    for i, l, s, e in (pre, seg, b.post):
        c = pos[l] >= 0
        got.append((i[c], pos[l[c]], s[c], e[c]))
    got = tuple(got)
    with _LOCK:
        P.stats[key] = got
    return got


def _copy(T):
    """dataclasses.replace(T) of a Schedule (its fields, the same objects), as a copy of its __dict__ when it
    holds nothing but its fields (what copy.copy makes of it, at a fraction of either's cost: one per point
    of a sweep of batches)."""
    cls = type(T)
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = frozenset(f.name for f in dataclasses.fields(T))
    if not T.__dict__.keys() <= names:
        return dataclasses.replace(T)
    S = cls.__new__(cls)
    S.__dict__.update(T.__dict__)
    return S


_FIELDS = {}


def _extend(arch, wl, P, b, B):
    """The B-image Schedule: one image's jobs, each standing for B (`mult`), and the statistics of the
    B-image schedule (`_layout`) computed as build_schedule computes them from the full job list: the
    makespan from the three parts' last ends, the image latency over every image's input and output
    transfers, image 0's fill and drain, the line-buffer peak over every row of every image -- the same for
    every q >= 1 (module docstring), so computed at q = 0 and q = 1 only."""
    T, J, D, pre, seg, _seq0, (i_in, i_out) = _probe_parts(P)
    q = (B - b.w) // P.k
    S = _copy(T)
    S.mult = np.full(J, B, dtype=np.int64)
    Bq = b.w + P.k * min(q, 1)
    key = ("lb", b.w, Bq, _bits(wl))  # (the line buffers' bits)
    with _LOCK:
        lb = P.stats.get(key)
    if lb is None:
        en = _fork(P, Bq)[1].reshape(Bq, J) if Bq == b.w else _layout(P, b, Bq)[1]  # (q = 0: the base run's)
        lb = _short_line_buffers(P, wl, Bq, en, min(Bq, P.m + P.k))  # (the images still running at the
        # probe's last release on: the events before it are its prefix, `_held_prefix`)
        with _LOCK:
            P.stats[key] = lb
    S.line_buffer_bits = lb
    cap = -(-(P.m + P.k) // P.k)  # (the latency is the same from there on: module docstring)
    lat = int(_latencies(P, b, cap, i_in, i_out)[min(q, cap)])
    S.spill_bits = max(S.line_buffer_bits - arch.sram.capacity_bits, 0)
    S.spill_cycles = 2 * int(hw_dma.transfer_cycles(arch, S.spill_bits)) if S.spill_bits else 0
    ends = P.stats.get("ends")  # (the last ends of the probe's jobs before image m's release and in its period)
    if ends is None:
        ends = P.stats["ends"] = (int(pre[3].max(initial=0)), int(seg[3].max()))
    last = max(ends[0], ends[1] + (q - 1) * D if q else 0, b.post_end + q * D)
    S.makespan = last + S.spill_cycles
    S.latency = lat + S.spill_cycles
    S.start, S.end = b.img0[min(q, 1)]
    with _LOCK:
        fd = P.stats.get(("fill", b.w, min(q, 1)))  # (image 0's: the same for every q >= 1)
    if fd is None or not S.bottleneck:
        _fill_drain_stream(S, P.sk1, J)
        with _LOCK:
            P.stats[("fill", b.w, min(q, 1))] = (S.fill, S.drain - S.spill_cycles)
    else:
        S.fill, S.drain = fd[0], fd[1] + S.spill_cycles
    return S
