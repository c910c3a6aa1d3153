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


def _time(S, users=None, ii=0, J=0, snaps=None):
    """The contention-free schedule, by list scheduling: a job is ready when every job it depends on is
    done; an idle resource starts its ready job of the oldest image first (then the earliest in the
    list).  Non-preemptive and work-conserving.  The order in which each resource starts its jobs is the
    plan (`S.order`): the TLM engine executes the same order, so it can only be later.
    Completions are taken in (time, job) order; after each, the resources it touched (its own, and
    those of the jobs it made ready, in resource order) start their best ready job if idle.
    A stream with `ii` > 0 (J jobs per image, image b's input transfer its job b J) is paced: image b's
    input is released `ii` cycles after image b-1's input started (a release is taken after the
    completions of its instant).  `snaps`: receives (time, image, jobs started so far, state) at every
    release, the state everything later depends on (tlm/mapping/steady.py)."""
    from heapq import heappop, heappush
    n = len(S.res)
    res, cost, img = S.res, S.cost, S.image
    left, queues, first = _ready(S, ii, J)
    tr = _Track(n, J) if snaps is not None else None
    if users is None:
        users = _users(S.deps)
    st, e = [0] * n, [0] * n
    busy_until = [0] * len(queues)
    events = []  # heap of (completion time, job); (release time, n + job)
    order = {}  # resource -> jobs in start order (keys in the order resources first start)
    seq = [0]

    def start(r, t):
        q = queues[r]
        if q and busy_until[r] <= t:
            j = heappop(q)[1]
            st[j] = t
            e[j] = busy_until[r] = t + cost[j]
            if tr:
                tr.status[j], tr.seq_of[j] = 2, seq[0]
            seq[0] += 1
            if ii and j % J == 0 and j + J < n:
                heappush(events, (t + ii, n + j + J))  # the next image's input: released ii later
            order.setdefault(r, []).append(j)
            heappush(events, (e[j], j))
    for r in first:
        start(r, 0)
    done = 0
    while events:
        t, j = heappop(events)
        if j >= n:  # a release
            j -= n
            if tr:
                snaps.append((t, j // J, seq[0], _state(j // J, tr, t, busy_until, left, e, events, n)))
                tr.status[j] = 1  # (a release is an input transfer's only dependency)
            left[j] -= 1
            if not left[j]:
                heappush(queues[res[j]], (img[j], j))
                start(res[j], t)
            continue
        done += 1
        if tr:
            tr.done(j, img[j])
        r0 = res[j]
        touched = None
        for u in users[j]:
            left[u] -= 1
            if not left[u]:
                ru = res[u]
                if tr:
                    tr.status[u] = 1
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
    if tr:
        S.seq = np.array(tr.seq_of, dtype=np.int64)  # each job's place in the start order (steady.py)


def _ready(S, ii, J):
    """The list scheduler's start: every job's dependencies left (a paced input's release counts as one),
    each resource's heap of ready (image, job), the resources with a job ready at time 0 in order."""
    from heapq import heappush
    n, res, img = len(S.res), S.res, S.image
    left = [len(d) for d in S.deps]
    if ii:
        for j in range(J, n, J):
            left[j] += 1
    queues = [[] for _ in range(max(res) + 1 if n else 0)]
    first = []
    for j in range(n):
        if not left[j]:
            r = res[j]
            if not queues[r]:
                first.append(r)
            heappush(queues[r], (img[j], j))
    return left, queues, first


class _Track:
    """A probe run's bookkeeping (tlm/mapping/steady.py): each job's status (1 ready, 2 running, 3 done)
    and place in the start order, the jobs done per image and the oldest image not done."""
    __slots__ = ("status", "seq_of", "ndone", "oldest", "J")

    def __init__(self, n, J):
        self.status, self.seq_of, self.ndone, self.oldest, self.J = [0] * n, [0] * n, [0] * (n // J), 0, J

    def done(self, j, b):
        self.status[j] = 3
        self.ndone[b] += 1
        while self.oldest < len(self.ndone) and self.ndone[self.oldest] == self.J:
            self.oldest += 1


def _state(b, tr, t, busy_until, left, e, events, n):
    """The list scheduler's state at time t as image b's input is released, relative to (t, image b):
    each resource's remaining busy time, and every job of the images not yet done (from the oldest) as
    (status, dependencies left, cycles to its end if running); other pending releases.  Images >= b have
    done nothing yet.  Two releases with equal states are followed by the same schedule, shifted."""
    lo, J, status = min(tr.oldest, b), tr.J, tr.status
    jobs = tuple((status[k], left[k], e[k] - t if status[k] == 2 else 0) for k in range(lo * J, b * J))
    rel = tuple(sorted((tt - t, jj - n - b * J) for tt, jj in events if jj >= n))
    return tuple(max(x - t, 0) for x in busy_until), b - lo, jobs, rel
