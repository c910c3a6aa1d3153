"""The per-image statistics of one-image stream schedules timed together (tlm/mapping/schedule.pretime: a
sweep's points of one structure that differ in timing settings only), computed for all the points of one
call at once, the points a numpy axis, when a point's build_schedule first reads them; each point's schedule
then takes its own column instead of computing its statistics alone (`read`).  The same numbers as
stages._stream_stages, stages._fill_drain_stream and linebuf.stream_results give one image's schedule: each
resource's and each layer's busiest resource's cycles (sums of the jobs' cycles, exact integers below 2^53
in float64, as `_stream_stages`' bincounts are: else the points are left to their own runs), the bottleneck,
its fill and drain, the image latency, the makespan (tests/test_pretimed.py).  ON False: each schedule
computes its own (tests compare the two)."""
from __future__ import annotations

import numpy as np

from tlm.mapping.linebuf import stream_spill
from tlm.mapping.stages import _image_arrays, bottleneck_of, set_stages
from tlm.mapping.streamsums import keep

ON = True
_KEY = "_pretimed"  # (kept in a Schedule's __dict__ by schedule._pretimed: not a field)


class Points:
    """One schedule.pretime call's accepted points of one-image skeleton `sk`: their jobs' cycles, starts and
    ends (jobs x points, int64), and their statistics once asked for (`_stats`)."""
    __slots__ = ("sk", "cost", "start", "end", "stats")

    def __init__(self, sk, cost, start, end):
        self.sk, self.cost, self.start, self.end, self.stats = sk, cost, start, end, None


def mark(S, entry) -> None:
    """Note on schedule `S`, timed from schedule.pretime's `entry` (schedule._PRETIMED), where its statistics
    are (`read`)."""
    if ON and len(entry) > 5:
        S.__dict__[_KEY] = entry


def read(S, sk, arch, wl) -> bool:
    """Set the statistics of one-image stream schedule `S` on skeleton `sk` (its stages, layer stages and
    their sums for mapper.apply, bottleneck, line buffers and their spill on `arch`, image latency,
    makespan, fill and drain) from its column of the points timed with it, if it was (and for workload `wl`,
    whose line buffers those are): True; else False, nothing set."""
    entry = S.__dict__.pop(_KEY, None)
    if entry is None or entry[0] is not sk or entry[4][0] is not wl or S.start is None:
        return False
    pts, p = entry[5]
    st = _stats(pts, S.names, len(sk.H))
    if st is None:
        return False
    per, top, by, ends, end_max, latency, has = st
    R = len(S.names)
    set_stages(S, per[:, p].tolist(), top[p].tolist(), has)
    S.bottleneck = bottleneck_of(S)
    keep(S, sk, by[p], _image_arrays(sk, R, len(sk.H))[1], len(sk.H), R)
    S.line_buffer_bits = entry[4][1]
    S.spill_bits, spill = stream_spill(arch, S.line_buffer_bits)
    if S.spill_bits:
        S.spill_cycles = spill
    S.latency = int(latency[p]) + S.spill_cycles
    S.makespan = int(end_max[p]) + int(S.spill_cycles)
    if S.bottleneck:
        first_end = int(ends[S.names.index(S.bottleneck), p])
        S.fill, S.drain = first_end, S.makespan - first_end
    return True


def _stats(pts, names, n):
    """The statistics of every point of `pts` (`_compute`), made once; None when a point's cycles reach 2^53."""
    if pts.stats is None:
        pts.stats = _compute(pts, names, n) or ()
    return pts.stats or None


def _compute(pts, names, n):
    """(each resource's cycles per image (R x points), each row's busiest resource's (points x rows), the
    cycles of each (row, resource) as float64 (points x rows x R), each resource's last end (R x points),
    the last end and the image's latency before a spill per point, the rows with a job), or None: the sums
    of the jobs' cycles as int64 sums over the jobs grouped by resource and by (row, resource) -- exact, as
    `_stream_stages`' float64 bincounts are below 2^53 --, the ends' maxima per resource."""
    sk, C, E = pts.sk, pts.cost, pts.end
    R, (J, P) = len(names), C.shape
    if not J or int(C.sum(axis=0).max()) >= 1 << 53:
        return None
    res, pair, _spec, has = _image_arrays(sk, R, n)
    per = _sums(res, C, R)
    by = _sums(pair, C, (n + 1) * R).T.reshape(P, n + 1, R).astype(np.float64)
    used, last = _groups(res)
    ends = np.zeros((R, P), dtype=np.int64)
    ends[used] = np.maximum.reduceat(E[last[0]], last[1], axis=0)
    return per, by.max(axis=2), by, ends, E.max(axis=0), E[J - 1] - pts.start[0], has


def _groups(idx):
    """(the distinct values of `idx`, (the positions sorted by value, where each value's run starts))."""
    order = np.argsort(idx, kind="stable")
    used = np.unique(idx)
    return used, (order, np.searchsorted(idx[order], used))


def _sums(idx, C, size):
    """(size, points) int64: the rows of C summed by their index `idx` (np.add.at of each column)."""
    used, (order, starts) = _groups(idx)
    out = np.zeros((size, C.shape[1]), dtype=np.int64)
    out[used] = np.add.reduceat(C[order], starts, axis=0)
    return out
