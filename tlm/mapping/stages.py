"""A schedule's per-image statistics (tlm/mapping/schedule.build_schedule; tlm/mapping/steady.py): each
resource's and each layer's busiest resource's cycles per image, the bottleneck's fill and drain."""
from __future__ import annotations

import numpy as np

from tlm.mapping.streamsums import keep


def _stages(S, n, B) -> None:
    """S.stage (each resource's cycles per image, rounded up) and S.layer_stage (each layer's busiest
    resource's), from every job of S."""
    names = S.names
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


def _stream_stages(S, sk, costs, n) -> None:
    """`_stages` of a stream, from its one-image skeleton `sk` and the costs of its distinct jobs: every
    image runs image 0's jobs at the same cycles, so the batch's sums are B times one image's and the
    per-image figures (rounded up) are one image's, exactly (the sums are exact integers in float64
    below 2^53 cycles, as `_stages`' are)."""
    names = S.names
    R = len(names)
    res, pair, spec, has = _image_arrays(sk, R, n)
    c1 = np.asarray(costs, dtype=np.int64)[spec]
    by = np.bincount(pair, weights=c1, minlength=(n + 1) * R).reshape(n + 1, R)
    keep(S, sk, by, pair, n, R)  # (mapper.apply's sums of the stream: B times these)
    set_stages(S, np.bincount(res, weights=c1, minlength=R).tolist(), by.max(axis=1).tolist(), has)


def set_stages(S, per, top, has) -> None:
    """S.stage (each resource's cycles per image `per`, those with any) and S.layer_stage (the rows `has`
    with a job: their busiest resource's cycles `top`), as ints (tlm/mapping/pretimed.py too)."""
    S.stage = {S.names[k]: int(per[k]) for k in range(len(S.names)) if per[k] > 0}
    S.layer_stage = {i: int(top[i]) for i in has}


def bottleneck_of(S) -> str:
    """The resource of S with the most cycles per image (the first listed of a tie), "" without any."""
    return max(S.stage, key=lambda k: (S.stage[k], -S.names.index(k))) if S.stage else ""


def _image_arrays(sk, R, n):
    """(resource, layer x R + resource and distinct-job index of each job of one image, the layers with a
    job) of a stream's one-image skeleton, kept on it."""
    if sk.image_arrays is None:
        res = np.array(sk.res, dtype=np.int64)
        lay = np.array(sk.layer, dtype=np.int64)
        has = np.nonzero(np.bincount(lay, minlength=n + 1)[:n] > 0)[0].tolist()
        sk.image_arrays = (res, lay * R + res, np.array(sk.spec_of, dtype=np.int64), has)
    return sk.image_arrays


def _fill_drain_stream(S, sk, J):
    """`_fill_drain` of a stream: image 0's jobs are its first J (every image runs the skeleton's)."""
    if not S.bottleneck:
        return
    k = S.names.index(S.bottleneck)
    e0 = S.end[:J]
    sel = _image_arrays(sk, len(S.names), len(sk.H))[0] == k
    first_end = int(e0[sel].max()) if sel.any() else 0
    S.fill = first_end
    S.drain = int(e0.max()) + S.spill_cycles - first_end


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
