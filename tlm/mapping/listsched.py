"""The list scheduler of tlm/mapping/schedule.py: the contention-free timing of a schedule's jobs, a
stream's pacing by its initiation interval, and the scheduler's state at each input release (what
tlm/mapping/steady.py compares)."""
from __future__ import annotations

import numpy as np


def _users(deps):
    """For each job, the jobs that depend on it (once per dependency)."""
    users = [[] for _ in range(len(deps))]
    for j, d in enumerate(deps):
        for k in d:
            users[k].append(j)
    return users


def _time(S, users=None, ii=0, J=0, snaps=None, until=None, forks=None, grow=0):
    """The contention-free schedule, by list scheduling: a job is ready when every job it depends on is
    done; an idle resource starts its ready job of the oldest image first (then the earliest in the
    list).  Non-preemptive and work-conserving.  The order in which each resource starts its jobs is the
    plan (`S.order`): the TLM engine executes the same order, so it can only be later.
    Completions are taken in (time, job) order; after each, the resources it touched (its own, and
    those of the jobs it made ready, in resource order) start their best ready job if idle.  `users`:
    each job's users, or a stream's image 0's (J of them: job j's are those of j mod J, shifted).
    A stream with `ii` > 0 (J jobs per image, image b's input transfer its job b J) is paced: image b's
    input is released `ii` cycles after image b-1's input started (a release is taken after the
    completions of its instant).  `snaps`: receives (time, image, jobs started so far, state) at every
    release, the state everything later depends on (tlm/mapping/steady.py); `until(snaps)` true after one
    stops the run there (`S.start`, `S.end`, `S.seq` then hold the jobs of the images released before that
    one only; of those, jobs not started then keep start 0 and a place in the start order past every job).
    `forks`: a dict that receives, at the release of every image b >= 2 (before `until`), the run of b
    images as (the jobs it starts after that release, their starts, their ends): up to that release it is
    this run (later images are not released yet), whose times its other jobs keep; from there the same
    state goes on without the release (`_Run.fork`, `_events`; tlm/mapping/steady._fork lays it out).
    `grow`: a paced stream whose only job without a dependency is its input transfer runs on past its last
    image, to `grow` images: at the release after its last image, its lists take the images to come
    (`_grow`), the run then the one set up with them (nothing before a release reads the images after it).
    (Heaps hold ints: an event is time x 2n + job (a release: n + its job), a ready job its rank (image + 1)
    x n + job, so that comparisons are of ints, not tuples.)"""
    from heapq import heappop, heappush
    n = len(S.res)
    cost = S.cost
    z = _Run()
    z.left, z.queues, first, rank = _ready(S, ii, J)
    tr = _Track(n, J) if snaps is not None else None
    if users is None:
        users = _users(S.deps)
    z.st, z.e = [0] * n, [0] * n
    nq = len(z.queues)
    z.busy = [0] * nq
    M = 2 * n + 1
    z.events = []  # heap of completion time x M + job; release time x M + n + job
    z.started = []  # the jobs in start order (S.order, S.seq: `_orders`)
    z.done = 0
    z.more = bool(ii and J and n < grow * J and _no_deps(S.deps, ii) == [0])  # (`grow`: the input alone)
    for r in first:  # (each has a ready job and is idle)
        j = heappop(z.queues[r]) % n
        z.e[j] = z.busy[r] = cost[j]
        if tr:
            tr.status[j] = 2
        z.started.append(j)
        if ii and J and j % J == 0 and (j + J < n or z.more):
            heappush(z.events, ii * M + n + j + J)
        heappush(z.events, z.e[j] * M + j)
    alone = [(r,) for r in range(nq)]  # (each resource alone, each pair in order: no tuple per event)
    pair = [[(min(a, b), max(a, b)) for b in range(nq)] for a in range(nq)]
    _events((S, users, rank, ii, J, M, alone, pair), z, tr, snaps, until, forks)
    while z.grow is not None:  # (the release after the last image: the images to come, then on)
        n, M = _grow(S, z, tr, J, rank, grow, n, M)
        _events((S, users, rank, ii, J, M, alone, pair), z, tr, snaps, until, forks)
    if z.done != n:
        raise RuntimeError(f"mapper: schedule has a dependency cycle ({n - z.done} jobs never ready)")
    k = n if z.upto is None else z.upto  # (a run `until` stopped: the jobs of the images released)
    S.start, S.end = np.array(z.st[:k], dtype=np.int64), np.array(z.e[:k], dtype=np.int64)
    if tr:  # (a probe's run: tlm/mapping/steady.py reads its starts, ends and start order, not S.order)
        S.order, S.seq = {}, _seq(z.started, n)[:k]  # each job's place in the start order
    else:
        S.order = _orders(S.res, z.started)


def _seq(started, n):
    """Each of the n jobs' place in the start order `started` (n for a job not started)."""
    seq = np.full(n, n, dtype=np.int64)
    seq[np.array(started, dtype=np.int64)] = np.arange(len(started), dtype=np.int64)
    return seq


def _orders(res, started):
    """Each resource's jobs in start order, the resources in the order they first start one, of a run whose
    jobs started in order `started` (one pass: cheaper than the per-start bookkeeping it replaces)."""
    runs = {}
    for k in started:
        r = res[k]
        x = runs.get(r)
        if x is None:
            runs[r] = [k]
        else:
            x.append(k)
    return runs


def _grow(S, z, tr, J, rank, grow, n, M):
    """A run `_time` set up for n / J images taken on to `grow` images at the release of image n / J (held in
    z.grow, its time): the Schedule's lists, the dependencies left (a paced input's release counts as one),
    ranks, starts and ends, the probe's bookkeeping extended by the images to come, exactly as a run set up
    with them has them; the events re-encoded for the longer run (time x M + job, a release n + its job:
    the same order) and the release taken again.  Returns (jobs, M) of the longer run."""
    from heapq import heappush
    t, z.grow, z.more = z.grow, None, False
    B0, B1 = n // J, grow
    n1 = B1 * J
    for x in (S.res, S.cost, S.layer, S.row):
        x.extend(x[:J] * (B1 - B0))
    S.image.extend(b for b in range(B0, B1) for _ in range(J))
    S.deps = type(S.deps)(S.deps.deps0, B1)
    one = [len(d) for d in S.deps.deps0]
    one[0] += 1
    z.left.extend(one * (B1 - B0))
    rank.extend(range(n, n1))
    z.st.extend([0] * (n1 - n))
    z.e.extend([0] * (n1 - n))
    if tr:
        tr.status.extend([0] * (n1 - n))
    M1 = 2 * n1 + 1
    z.events[:] = [c // M * M1 + (x if x < n else n1 + x - n) for c in z.events for x in (c % M,)]
    heappush(z.events, t * M1 + n1 + n)  # (image B0's release; a monotone re-encoding keeps the heap one)
    return n1, M1


class _Run:
    """The list scheduler's state (`_time`): dependencies left, ready heaps, each resource's busy-until,
    the event heap, starts and ends, the jobs in start order (`_orders`: each resource's) and the jobs done;
    where a run goes on past its last image (`_grow`)."""
    __slots__ = ("left", "queues", "busy", "events", "st", "e", "started", "done", "upto", "more",
                 "grow")

    def __init__(self):
        self.upto = None  # (set where `until` stopped the run: the first job of the image released then)
        self.more = False  # (the run may go on past its last image: `_grow`)
        self.grow = None  # (the time of the release after its last image, when it got there)

    def fork(self):
        """A copy of the state for a run of the jobs released so far only (a stream's first images, none of
        whose jobs depends on a later one), whose start order is not wanted (`started` None).  Its
        dependencies left are a copy of this run's (a list copy costs less than reading through to them at
        every completion), and its starts and ends are dicts of the jobs it starts only (every other job of
        those images started before: its times are this run's)."""
        z = _Run()
        z.left, z.queues, z.busy, z.events = list(self.left), [list(q) for q in self.queues], list(self.busy), \
            list(self.events)
        z.st, z.e, z.started = {}, {}, None
        z.done = self.done
        return z


def _events(ctx, z, tr, snaps, until, forks):
    """`_time`'s event loop over state `z`, until no event is left (or `until` stops it)."""
    from heapq import heappop, heappush
    S, users, rank, ii, J, M, alone, pair = ctx
    n = len(S.res)
    res, cost = S.res, S.cost
    left, queues, busy_until, events, st, e = z.left, z.queues, z.busy, z.events, z.st, z.e
    started = z.started
    start, done = started.append, z.done
    JU = len(users) or 1  # `users` of one image's jobs (a stream's: job j's are those of j mod JU, shifted)
    pace, more = ii and J, z.more
    status = tr.status if tr else None
    while events:
        t, j = divmod(heappop(events), M)
        if j >= n:  # a release
            j -= n
            if j >= n:  # (of the image after the last: `_time` grows the run, then takes it again)
                z.grow = t
                break
            if tr:
                snaps.append((t, j // J, len(started), _state(j // J, tr, t, busy_until, left, e, events, n, M)))
                if forks is not None and j // J >= 2 and j // J not in forks:  # (kept: the same run to here)
                    z.done = done
                    forks[j // J] = _forked(ctx, z, j)
                if until is not None and until(snaps):
                    done, z.upto = n, j
                    break
            left[j] -= 1  # (a release is an input transfer's only dependency)
            if left[j]:
                continue
            r = res[j]
            heappush(queues[r], rank[j])
            if busy_until[r] > t:
                continue
            todo = alone[r]
        else:
            done += 1
            if tr:
                status[j] = 3
            r0 = res[j]
            todo = None
            jm = j % JU
            off = j - jm
            for u in users[jm]:
                u += off
                x = left[u] - 1
                left[u] = x
                if not x:
                    ru = res[u]
                    heappush(queues[ru], rank[u])
                    if ru != r0 and busy_until[ru] <= t:
                        if todo is None:
                            todo = pair[r0][ru]  # (in resource order)
                        elif ru not in todo:
                            todo = tuple(sorted(todo + (ru,)))
            if todo is None:
                todo = alone[r0]
        for r in todo:
            q = queues[r]
            if not q or busy_until[r] > t:  # (r0 may have started a job at this instant already)
                continue
            k = heappop(q) % n
            st[k] = t
            e[k] = busy_until[r] = c = t + cost[k]
            if tr:
                status[k] = 2
            start(k)
            if pace and k % J == 0 and (k + J < n or more):
                heappush(events, (t + ii) * M + n + k + J)  # the next image's input: released ii later
            heappush(events, c * M + k)
    z.done = done


def _forked(ctx, z, j):
    """The run of state `z` without the release of job j (`_time` `forks`): the jobs it starts, their starts
    and ends (`_Run.fork`; every job before j is done at its end, no later one runs)."""
    f = z.fork()
    _drain(ctx, f)
    if f.done != j:
        raise RuntimeError("list scheduler: a fork left jobs undone")
    return tuple(np.fromiter(x, dtype=np.int64, count=len(f.st)) for x in (f.st.keys(), f.st.values(), f.e.values()))


def _drain(ctx, z) -> None:
    """`_events` over a fork's state `z` (`_forked`): the same completions and starts, without what a fork
    never has -- a release (image b's is the one left out; every earlier image's input transfer has started,
    the inputs starting in image order, so no later release is pushed), the probe's state, the start
    order (`started`).  Its release-and-start steps are `_events`' own, inlined twice on
    purpose (a function call per completion in the probes' hottest loop); tests/test_steady.py
    test_a_longer_probe_keeps_the_shorter_ones_forks checks every fork against a whole run, start for start,
    so the two cannot drift apart unnoticed."""
    from heapq import heappop, heappush
    S, users, rank, _ii, _J, M, alone, pair = ctx
    n = len(S.res)
    res, cost = S.res, S.cost
    left, queues, busy_until, events, st, e = z.left, z.queues, z.busy, z.events, z.st, z.e
    done = z.done
    JU = len(users) or 1
    while events:
        t, j = divmod(heappop(events), M)
        if j >= n:
            raise RuntimeError("list scheduler: a release in a fork")
        done += 1
        r0 = res[j]
        todo = None
        jm = j % JU
        off = j - jm
        for u in users[jm]:
            u += off
            x = left[u] - 1
            left[u] = x
            if not x:
                ru = res[u]
                heappush(queues[ru], rank[u])
                if ru != r0 and busy_until[ru] <= t:
                    if todo is None:
                        todo = pair[r0][ru]
                    elif ru not in todo:
                        todo = tuple(sorted(todo + (ru,)))
        for r in (alone[r0] if todo is None else todo):
            q = queues[r]
            if not q or busy_until[r] > t:
                continue
            k = heappop(q) % n
            st[k] = t
            e[k] = busy_until[r] = c = t + cost[k]
            heappush(events, c * M + k)
    z.done = done


def _ready(S, ii, J):
    """The list scheduler's start: every job's dependencies left (a paced input's release counts as one),
    each resource's heap of ready jobs by rank ((image + 1) x n + job), the resources with a job ready at
    time 0 in order, each job's rank."""
    from heapq import heappush
    n, res, img = len(S.res), S.res, S.image
    counts = getattr(S.deps, "counts", None)  # (a stream's: schedule.ImageDeps)
    left = counts() if counts else [len(d) for d in S.deps]
    if ii:
        for j in range(J, n, J):
            left[j] += 1
    queues = [[] for _ in range(max(res) + 1 if n else 0)]
    rank = list(range(n)) if counts else [(b + 1) * n + j for j, b in enumerate(img)]  # (image, job) as one int
    # (a stream's jobs are in image order: the job's id is its rank)
    first = []
    for j in (_no_deps(S.deps, ii) if counts else range(n)):
        if not left[j]:
            r = res[j]
            if not queues[r]:
                first.append(r)
            heappush(queues[r], rank[j])
    return left, queues, first, rank


def _no_deps(deps, ii):
    """The jobs of a stream (`deps`: schedule.ImageDeps) that depend on no job, in order: those of image 0
    and their copies in every image -- only image 0's input transfer when it is the one and `ii` paces the
    others' (their release is a dependency: `_ready`)."""
    z = [j for j, d in enumerate(deps.deps0) if not d]
    return z if ii and z == [0] else [b * deps.J + j for b in range(deps.B) for j in z]


class _Track:
    """A probe run's bookkeeping (tlm/mapping/steady.py): each job's status (2 running, 3 done; else 0: a
    job is ready when no dependency is left, which the states compare too) and the oldest image not done
    (`advance`)."""
    __slots__ = ("status", "oldest", "J")

    def __init__(self, n, J):
        self.status, self.oldest, self.J = [0] * n, 0, J

    def advance(self, b) -> int:
        """The oldest image not done before image b (b if every one is), from the last one found on: an image
        is done when each of its jobs is (asked at a release only, not kept per completion)."""
        o, J, status = self.oldest, self.J, self.status
        while o < b and status[o * J:(o + 1) * J].count(3) == J:
            o += 1
        self.oldest = o
        return o


def _state(b, tr, t, busy_until, left, e, events, n, M):
    """The list scheduler's state at time t as image b's input is released, relative to (t, image b):
    each resource's remaining busy time, and every job of the images not yet done (from the oldest) as
    (status, dependencies left, cycles to its end if running); other pending releases.  Images >= b have
    done nothing yet.  Two releases with equal states are followed by the same schedule, shifted.  (A
    running job's cycles to its end are its resource's remaining busy time -- it ends after t, or its
    completion, taken before the release at t, would have made it done -- and its resource is its job's
    of the image: so the states compare the statuses and dependencies left as two flat tuples.)"""
    lo, J, status = tr.advance(b), tr.J, tr.status
    jobs = (tuple(status[lo * J:b * J]), tuple(left[lo * J:b * J]))
    rel = tuple(sorted((tt - t, jj - n - b * J) for tt, jj in (divmod(x, M) for x in events) if jj >= n))
    return tuple(max(x - t, 0) for x in busy_until), b - lo, jobs, rel
