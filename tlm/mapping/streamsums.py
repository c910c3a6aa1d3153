"""The sums mapper.apply reads of a stream's schedule, kept from its stages (tlm/mapping/stages.py).

A stream built by tlm/mapping/schedule.build_schedule runs its one-image skeleton's jobs at the same cycles
for every image (S.cost is the one image's costs repeated), so what mapper._job_sums sums over its B x J
jobs is B times one image's sums: the cycles of each (row, resource) pair -- the very bincount
stages._stream_stages makes for the layers' stage cycles -- and the tile-busy cycles of the macros (the
pairs' columns 0 .. N-1).  Which resources each row's jobs use (`n_res`) is the skeleton's alone, the same
for every point of a structure (the points of a sweep that differ in timing settings only: ADC cycles, DMA
bandwidth, tlm/mapping/template.TIMING_SETTINGS): made once per skeleton, kept on it.  Exact: the one
image's sums are integers below 2^53 (else nothing is kept: `_job_sums` sums the jobs itself, as before).
ON False: nothing kept, every sum made from the jobs (tests compare the two).

The same points' schedules of one image list the skeleton's jobs as it does (`job_lists`): its resources,
layers and rows are the skeleton's own lists, shared (JOB_LISTS_SHARED), not copied at every point.
"""
from __future__ import annotations

import numpy as np

ON = True
_KEY = "_image_sums"  # (kept in the Schedule's __dict__: not a field, so no copy, replace or __eq__ sees it)
_N_RES = {}  # id(skeleton) -> (the skeleton, R, resources used per row of one image)
MAX_SKELETONS = 256


def keep(S, sk, by, pair, n, R) -> None:
    """Keep on stream schedule `S` (built from one-image skeleton `sk`) its one image's cost per (row,
    resource) `by` ((n + 1) x R float64 bincount of the jobs' cycles over their `pair` = row x R +
    resource), for `job_sums`."""
    if not ON or S.mult is not None or not len(S.cost) or len(S.cost) % len(sk.res):
        return
    one = by.sum()
    if not one < 2.0 ** 53:  # (a float sum of integers past 2^53 may have rounded)
        return
    got = _N_RES.get(id(sk))
    if got is None or got[0] is not sk or got[1] != R:
        n_res = (np.bincount(pair, minlength=(n + 1) * R).reshape(n + 1, R) > 0).sum(axis=1)[:n]
        n_res.flags.writeable = False
        if len(_N_RES) >= MAX_SKELETONS:
            _N_RES.clear()
        got = _N_RES[id(sk)] = (sk, R, n_res)
    S.__dict__[_KEY] = (S.cost, len(S.cost) // len(sk.res), by.astype(np.int64), got[2], len(S.cost))


def job_sums(S, n, R, N):
    """mapper._job_sums of stream schedule `S` from what `keep` kept, or None: (None, None, the cycles of
    each (row, resource) pair, None, the resources each layer's jobs use, the cycles of the jobs on macros
    0 .. N-1) -- the job rows, pairs and rows with a job, which a stream's `apply` does not read, left out."""
    got = S.__dict__.get(_KEY)
    if got is None or got[0] is not S.cost or len(S.cost) != got[4] or got[2].shape != (n + 1, R):
        return None
    B, by = got[1], got[2]
    return None, None, by * B, None, got[3], int(by[:, :N].sum()) * B


# One image's schedule built plainly (no probe run that extends its lists: listsched._grow) lists its jobs'
# resources, layers and rows as the skeleton's own lists and its images as one list of zeros per job count:
# every reader only reads them (as schedule.pretime's schedules already share them).  False: copies.
JOB_LISTS_SHARED = True
_ZEROS = {}  # job count -> a list of that many zeros (the image of each job of one image's schedule)


def job_lists(sk, B, plain) -> dict:
    """The job lists (res, layer, image, row) of schedule.build_schedule's stream of B images on one-image
    skeleton `sk`, every image's jobs image 0's; of one image built `plain`ly the shared ones (read them, do
    not change them)."""
    J = len(sk.res)
    if B == 1 and plain and JOB_LISTS_SHARED:
        z = _ZEROS.get(J)
        if z is None:
            if len(_ZEROS) >= MAX_SKELETONS:
                _ZEROS.clear()
            z = _ZEROS[J] = [0] * J
        return {"res": sk.res, "layer": sk.layer, "image": z, "row": sk.row}
    return {"res": sk.res * B, "layer": sk.layer * B, "image": np.repeat(np.arange(B), J).tolist(),
            "row": sk.row * B}


def clear() -> None:
    """Forget the skeletons' resources per row and the lists of zeros (tlm/engines/analytic.clear_kept)."""
    _N_RES.clear()
    _ZEROS.clear()
