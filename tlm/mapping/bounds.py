"""Lower bounds of a resident policy's cycles that cost far less than its schedule, for `mapping.policy:
auto` (tlm/engines/analytic._unbeatable): a policy whose bound exceeds the cycles of one already counted
cannot win on throughput, so its plan and schedule are never built.  Exact lower bounds, never estimates:
the choice, and every number of the chosen run, are those of the schedule itself (tests/test_auto_bound.py).

Streams (pipelined, replicate; tlm/mapping/schedule.py `_stream_jobs`): a job starts once every job it
depends on has ended and its resource is free.  Without the resources, the earliest a job can start
(`est`: the longest chain of jobs before it) and the least that must run after it (`tail`: the longest
chain after it) follow from the dependencies of one image's jobs.  Every image runs the same jobs (its own
copies of image 0's, after its own input transfer), so each resource r (a macro, the post-processing, a
DMA channel) starts nothing before head_r = min est over its jobs, then runs its jobs one at a time -- the
batch x one image's work W_r -- and its last job is followed by at least tail_r = min tail over its jobs:

    cycles >= max over r of (head_r + B x W_r + tail_r),   and >= the longest chain est + cost + tail.

With B = 1 this is the fill the busy bound alone misses (the first macro waits for the image, the last for
every layer before it).

Layer by layer (resident; schedule.py `_batch_jobs`): the batch comes in (one transfer), each layer's jobs
wait for the whole previous layer, and the batch goes out: the sum of the image transfers, the digital
layers' post-processing and each compute layer's longest job, which is at least ceil(tiles / macros) tiles
over the layer's rows for the batch (some macro holds that many).  Spill transfers are left out (>= 0).
"""
from __future__ import annotations

import math
import threading

from tlm.hw import dma as hw_dma
from tlm.hw import postproc as hw_pp
from tlm.config.workload import VIEW_TYPES
from tlm.mapping.assign import _hw
from tlm.mapping.schedule import job_costs, job_group, one_image


def _one_image(arch, wl, asg, ops, m=None, rc=None):
    """(one image's job skeleton of the stream, each job's cost for the batch's rows, the skeleton's key),
    or None when the batch has too many jobs (the schedule refuses): schedule.one_image."""
    key, sk, spec, _rc, _group, over = one_image(arch, wl, asg, ops, m, rc)
    if over:
        return None
    return sk, job_costs(sk, spec), key


def busy_bound(arch, wl, asg, ops, m=None, rc=None) -> int:
    """The weaker bound `stream_bound` extends: the busiest resource's work, batch x one image's (0 when
    the schedule would refuse the batch)."""
    got = _one_image(arch, wl, asg, ops, m, rc)
    if got is None:
        return 0
    sk, cost, _key = got
    work = [0] * len(sk.names)
    for j, r in enumerate(sk.res):
        work[r] += cost[j]
    return max(work, default=0) * wl.batch


def stream_bound(arch, wl, asg, ops, m=None, rc=None) -> int:
    """A lower bound of the cycles of the streamed schedule of assignment `asg` (module docstring); 0 when
    the batch has too many jobs (the schedule refuses).  `ops[i]`: digital ops of layer i per image; `m`,
    `rc`: the compute layers' Mapping and layer_row_cycles if known.  What it reads of one image is kept
    with the stream's structure for its other batches (steady._recent: the same objects, the same rows per
    job, the same terms)."""
    from tlm.mapping.steady import _recent
    B = wl.batch
    tail, kept = _recent(arch, wl, asg, ops, m, rc)
    group, over = job_group((B,) + tail)
    got = None if over else kept.get(("terms", group))
    if got is None:
        one = _one_image(arch, wl, asg, ops, m, rc)
        if one is None:
            return 0
        got = kept[("terms", group)] = _terms(*one)
    chain, terms = got
    return int(max(chain, max((h + B * w + a for h, w, a in terms), default=0)))


# What stream_bound computes from one image's jobs does not depend on the batch: kept per (skeleton, job
# costs), so that the points of a sweep that differ only in their batch walk the jobs once
_TERMS: dict = {}
_TERMS_MAX = 4096  # entries (each a few resources' numbers); past it the memo starts again
_LOCK = threading.Lock()


def _terms(sk, cost, key):
    """(the longest chain est + cost + tail, [(head_r, W_r, tail_r) of each resource with work]) of one
    image's jobs (module docstring)."""
    k = (key, tuple(cost))
    with _LOCK:
        got = _TERMS.get(k)
    if got is not None:
        return got
    J = len(cost)
    est, tail = [0] * J, [0] * J
    for j, d in enumerate(sk.deps):  # (a job depends on earlier jobs only: the list is topological)
        if d:
            est[j] = max([est[k] + cost[k] for k in d])
    users = sk.users
    for j in range(J - 1, -1, -1):
        if users[j]:
            tail[j] = max([cost[k] + tail[k] for k in users[j]])
    R = len(sk.names)
    inf = float("inf")
    head, after, work = [inf] * R, [inf] * R, [0] * R
    for j, r in enumerate(sk.res):
        work[r] += cost[j]
        if est[j] < head[r]:
            head[r] = est[j]
        if tail[j] < after[r]:
            after[r] = tail[j]
    chain = max((e + c + t for e, c, t in zip(est, cost, tail)), default=0)
    got = (chain, tuple((head[r], work[r], after[r]) for r in range(R) if work[r]))
    with _LOCK:
        if len(_TERMS) >= _TERMS_MAX:
            _TERMS.clear()
        _TERMS[k] = got
    return got


def layer_by_layer_bound(arch, wl, m, comp, rc, ops) -> int:
    """A lower bound of the cycles of the layer-by-layer resident schedule (module docstring).  `m`,
    `comp`: the compute layers' Mapping and their layer indices; `rc`: layer_row_cycles; `ops[i]`: digital
    ops of layer i per image."""
    B = wl.batch
    total = B * _per_image(arch, wl, m, comp, rc, ops)
    last = wl.layers[-1]
    total += hw_dma.transfer_cycles(arch, math.prod(wl.input_shape) * wl.input_bits * B)
    total += hw_dma.transfer_cycles(arch, math.prod(last.out_shape) * last.bits_out * B)
    return int(total)


_PER_IMAGE: dict = {}  # what layer_by_layer_bound's one-image sum reads but the batch -> (the objects, the sum)
_PER_IMAGE_MAX = 256  # entries (each holds its Mapping); past it the memo starts again


def _per_image(arch, wl, m, comp, rc, ops) -> int:
    """layer_by_layer_bound's layers for one image -- each compute layer's ceil(tiles / macros) tiles over
    its rows, each digital layer's post-processing -- whose sum the batch multiplies (integers: exact),
    kept for the next call that reads the same: the macro count, the post-processing section (one object),
    the layer objects, the Mapping, the compute layers, their row cycles and the digital ops (a sweep's
    batches of one point, and its points that differ in what none of these reads: the DMA)."""
    from tlm.mapping import reuse
    plain = reuse.plain(arch) is arch  # (a recording notes the fields read: read them each time)
    if plain:
        objs = (arch.postproc, wl.layers, m)
        k = (*map(id, objs), arch.macro.count, tuple(comp), tuple(rc.items()), tuple(ops))
        got = _PER_IMAGE.get(k)
        if got is not None and all(a is b for a, b in zip(got[0], objs)):
            return got[1]
    N, total = arch.macro.count, 0
    for j, i in enumerate(comp):
        r0, r1 = rc[i]
        H = _hw(wl.layers[i].out_shape)[0]
        total += -(-int(m.tiles[j]) // N) * (r0 + (H - 1) * r1)
    for i, l in enumerate(wl.layers):  # a digital layer: one post-processing job for the batch
        if not l.is_compute and l.type not in VIEW_TYPES:
            total += int(hw_pp.op_cycles(arch, int(ops[i])))
    if plain:
        with _LOCK:
            if len(_PER_IMAGE) >= _PER_IMAGE_MAX:
                _PER_IMAGE.clear()
            _PER_IMAGE[k] = (objs, total)
    return total
