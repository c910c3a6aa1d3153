"""The schedule: jobs (image, layer, output row, resource, cycles) with their dependencies, their
contention-free (max-plus) timing, the cached structural skeletons and the line buffers.
"""
from __future__ import annotations

import threading
from dataclasses import field

from typing import NamedTuple
import numpy as np
from tlm.records import Record, record
from tlm.errors import InputError, Where
from tlm.mapping.geometry import cdiv, map_layers
from tlm.config.workload import COMPUTE_TYPES
from tlm.mapping.policies import MAX_JOBS
from tlm.mapping.assign import HashedTuple, _hw, chunk_ids, job_places, layer_row_cycles, need_rows, place_keys
from tlm.mapping.listsched import _time, _users  # noqa: F401  (the scheduler; _time is the mapper's API too)
from tlm.mapping import pointgroup, pretimed, retime, streamsums
from tlm.mapping.linebuf import _line_buffer_structure, image_line_buffers, makespan_cycles, shifted_line_buffers, stream_results
from tlm.mapping.stages import _fill_drain, _fill_drain_stream, _stages, _stream_stages  # noqa: F401  (steady.py's too)
from tlm.mapping.stages import bottleneck_of
from tlm.mapping.jobcosts import (  # noqa: F401  (the jobs' cycles: tlm/mapping/jobcosts.py)
    _DIGITAL, _IMAGE_IN, _IMAGE_OUT, _ROWS, _SPILL, _spec_arrays, _spec_index, job_costs, spec_costs)


# ---- the schedule -----------------------------------------------------------------------------------
@record
class Schedule(Record):
    """Jobs in execution order; job j runs on resource `res[j]` for `cost[j]` cycles once every job in
    `deps[j]` is done.  `start`/`end` are the contention-free times (the bound)."""
    names: list  # resource names: macro0.., postproc, dma.in, dma.out
    res: list
    cost: list
    layer: list  # workload row (len(layers) = image I/O)
    image: list
    row: list
    deps: list
    start: np.ndarray = None
    end: np.ndarray = None
    makespan: int = 0
    line_buffer_bits: int = 0
    spill_bits: int = 0
    spill_cycles: int = 0
    stage: dict = field(default_factory=dict)  # resource name -> cycles per image
    fill: int = 0
    drain: int = 0
    bottleneck: str = ""
    layer_stage: dict = field(default_factory=dict)  # layer -> cycles of its busiest copy per image
    order: dict = field(default_factory=dict)  # resource -> job ids in the order it runs them
    chunks: list = field(default_factory=list)  # jobs per image (per copy) of each layer
    # a steady-state schedule (tlm/mapping/steady.py, the analytic engine's): the jobs of its last base run,
    # each standing for `mult[j]` jobs of the batch, and the image latency extrapolated; None: every job
    mult: np.ndarray = None
    latency: int = None
    ii: int = 0  # a stream's initiation interval: image b's input transfer starts >= ii after image b-1's
    seq: np.ndarray = None  # a probe run's (tlm/mapping/steady.py): each job's place in the start order


class ImageDeps:
    """A stream's dependencies, job by job, without a list per job: image b's job j depends on image 0's
    job j's dependencies, shifted by b x J (every image runs image 0's jobs, `_stream_jobs`)."""
    __slots__ = ("deps0", "J", "B")

    def __init__(self, deps0, B):
        self.deps0, self.J, self.B = deps0, len(deps0), B

    def __len__(self):
        return self.J * self.B

    def __getitem__(self, j):
        if isinstance(j, slice):
            return [self[i] for i in range(*j.indices(len(self)))]
        if j < 0:
            j += len(self)
        if not 0 <= j < len(self):
            raise IndexError(j)
        b, i = divmod(j, self.J)
        return [d + b * self.J for d in self.deps0[i]]

    def __iter__(self):
        return (self[j] for j in range(len(self)))

    def __eq__(self, other):  # (as the list of every job's dependencies)
        if isinstance(other, ImageDeps):
            return (self.deps0, self.B) == (other.deps0, other.B)
        return isinstance(other, list) and list(self) == other

    __hash__ = None

    def counts(self) -> list:
        """Each job's dependency count."""
        return [len(d) for d in self.deps0] * self.B


class _LayerShape(NamedTuple):
    """What the structure of a schedule reads of a layer (its rows, what they read, its producers)."""
    name: str
    type: str
    inputs: tuple
    out_shape: tuple
    kernel: tuple
    stride: tuple
    padding: tuple
    dilation: tuple

    @property
    def is_compute(self) -> bool:
        return self.type in COMPUTE_TYPES


class _Skeleton:
    """The jobs of a schedule without their cycles: resources, layers, images, rows, dependencies, and per
    job what its cost is made of (`spec`).  A pure function of `_structure(...)` (see `_skeleton`)."""
    __slots__ = ("names", "H", "chunks", "cid", "index", "needs", "res", "layer", "image", "row", "deps", "specs",
                 "spec_of", "users", "done_of", "line_buffers", "jobs_over", "row_jobs", "spec_arrays", "types",
                 "kept_order", "image_arrays", "spec_index", "spec_get", "kept_times", "shiftable", "kept_line_buffers")


def _structure(wl, asg, N, two, stream, spill_bits):
    """Everything the structure of `build_schedule`'s jobs depends on, as a hashable key: the batch, the
    macros and DMA channels, the policy kind, which layers spill (layer by layer), the input shape and
    each layer's name, type, inputs, output shape and window, the assignment's places and replicas."""
    spill = None
    if not stream:
        sb = np.zeros(len(wl.layers), dtype=np.int64) if spill_bits is None else np.asarray(spill_bits,
                                                                                              dtype=np.int64)
        spill = tuple(bool(x) for x in sb.tolist())
    shapes = _shapes(wl.layers)
    return (wl.batch, bool(stream), N, bool(two), spill, tuple(wl.input_shape), shapes, *job_places(asg))


_SHAPES = {}  # ids of the layers -> (the layers, their _LayerShapes): a sweep's points share their layers


def _shapes(layers) -> tuple:
    """The layers as `_structure` keys them (kept per layer objects: the points of a sweep, and the
    batches of one point, share them -- each point's workload has its own list of the same layers,
    tlm/config/overrides.with_precision; the layers are held, so their ids are not reused while kept)."""
    key = tuple(map(id, layers))
    got = _SHAPES.get(key)
    if got is not None and all(a is b for a, b in zip(got[0], layers)):
        return got[1]
    shapes = HashedTuple(_LayerShape(l.name, l.type, tuple(l.inputs), tuple(l.out_shape), tuple(l.kernel),
                                 tuple(l.stride), tuple(l.padding), tuple(l.dilation)) for l in layers)
    if len(_SHAPES) >= 64:
        _SHAPES.clear()
    _SHAPES[key] = (tuple(layers), shapes)
    return shapes


_SKELETONS = {}  # structure -> _Skeleton, the least recently used first
_SKELETON_JOBS = [0]  # jobs held by the cached skeletons
MAX_SKELETON_JOBS = 250_000  # (a few hundred bytes each: tens of MB at most); and at most 64 skeletons
_SKELETON_LOCK = threading.Lock()  # Dask workers evaluate points in threads


def clear_skeletons() -> None:
    """Forget the cached schedule skeletons, the layers' shape keys and the job costs (tests, and
    tlm/services/bench.cold: a schedule built from cold caches)."""
    with _SKELETON_LOCK:
        _SKELETONS.clear()
        _SHAPES.clear()
        _SKELETON_JOBS[0] = 0
    clear_costs()


def _cached_skeleton(key) -> _Skeleton:
    """`_skeleton(key)`, kept for the next schedule of the same structure (least recently used dropped
    first, within MAX_SKELETON_JOBS jobs and 64 skeletons)."""
    with _SKELETON_LOCK:
        sk = _SKELETONS.pop(key, None)
        if sk is not None:
            _SKELETONS[key] = sk
            return sk
    sk = _skeleton(key)
    with _SKELETON_LOCK:
        if key not in _SKELETONS:
            _SKELETONS[key] = sk
            _SKELETON_JOBS[0] += len(sk.res)
            while _SKELETONS and (_SKELETON_JOBS[0] > MAX_SKELETON_JOBS or len(_SKELETONS) > 64):
                _SKELETON_JOBS[0] -= len(_SKELETONS.pop(next(iter(_SKELETONS))).res)
    return sk


def job_group(key) -> tuple:
    """(output rows per job of a stream -- doubled while the batch's jobs exceed MAX_JOBS --, the job count
    when even that is too many, else 0) of the schedule of structure `key` (`_structure`)."""
    B, stream = key[0], key[1]
    if not stream:
        return 1, 0
    per = _jobs_per_image(key)  # [(rows per job, jobs per image)], rows per job doubling
    for g, jobs in per:
        if B * jobs <= MAX_JOBS:
            return g, 0
    return per[-1][0], B * per[-1][1]


_PER_IMAGE = {}  # structure without the batch -> [(rows per job, jobs per image)]


def _jobs_per_image(key) -> list:
    """A stream's jobs per image at 1, 2, 4 .. rows per job (up to the tallest layer's rows), each row
    (group of rows) of a layer one job per macro holding it; kept per structure without the batch."""
    k = key[1:]
    got = _PER_IMAGE.get(k)
    if got is not None:
        return got
    _B, _stream, _N, _two, _spill, _inp, layers, places, *_ = key
    n = len(layers)
    H = [_hw(l.out_shape)[0] for l in layers]
    macs_of = [set() for _ in range(n)]
    for li, _rep, mac in places:
        macs_of[li].add(mac)
    fan = [max(1, len(ms)) for ms in macs_of]  # jobs per row
    got, g = [], 1
    while True:
        got.append((g, sum(max(1, -(-H[i] // g)) * fan[i] for i in range(n))))
        if g >= max(H):
            break
        g *= 2
    if len(_PER_IMAGE) >= 256:
        _PER_IMAGE.clear()
    _PER_IMAGE[k] = got
    return got


class _Jobs:
    """The job lists a skeleton is built into, one entry per job (see `add`)."""
    __slots__ = ("res", "spec", "layer", "image", "row", "deps")

    def __init__(self):
        self.res, self.spec, self.layer, self.image, self.row, self.deps = [], [], [], [], [], []

    def add(self, r, c, li, b, y, deps) -> int:
        """A job on resource `r` with cost spec `c`, of layer `li`, image `b`, row (chunk) `y`, after `deps`."""
        self.res.append(r)
        self.spec.append(c)
        self.layer.append(li)
        self.image.append(b)
        self.row.append(y)
        self.deps.append(deps)
        return len(self.res) - 1


def _skeleton(key) -> _Skeleton:
    """The jobs of a schedule and their dependencies, built from `key` (`_structure`) alone, so that
    schedules of one structure (a sweep's points that differ in timing or precision only) share it."""
    B, stream, N, two, spill, input_shape, layers, places, replicas, *rows_per_job = key
    replicas = dict(replicas)
    n = len(layers)
    sk = _Skeleton()
    sk.jobs_over, sk.row_jobs, sk.spec_arrays = 0, None, None
    sk.kept_order = None  # (jobs, retime.Order) of its last list-scheduled run (`_timed`)
    sk.kept_times = sk.shiftable = sk.kept_line_buffers = None  # one image's last timed run, whether it shifts
    # (retime.shifted), and the line buffers of every run shifted from it (linebuf.shifted_line_buffers)
    sk.image_arrays = sk.spec_index = sk.spec_get = None  # (`_image_arrays`, `_spec_index`, `job_costs`)
    sk.types = [l.type for l in layers]
    sk.res = []
    sk.names = [f"macro{k}" for k in range(N)] + ["postproc"] + (["dma.ch0", "dma.ch1"] if two else ["dma.ch0"])
    ports = (N, N + 1, N + 2 if two else N + 1)  # PP, DIN, DOUT: the resources of post-processing and the DMA
    on = {}  # (layer, replica) -> {macro: tiles}
    for li, rep, mac in places:
        d = on.setdefault((li, rep), {})
        d[mac] = d.get(mac, 0) + 1
    on_sorted = {k: sorted(d.items()) for k, d in on.items()}
    H = sk.H = [_hw(l.out_shape)[0] for l in layers]
    group, sk.jobs_over = rows_per_job[0] if rows_per_job else job_group(key)
    if sk.jobs_over:
        return sk
    sk.chunks = [max(1, -(-H[i] // group)) if stream else 1 for i in range(n)]  # jobs per image per copy
    sk.cid = [chunk_ids(H[i], sk.chunks[i]) for i in range(n)]
    sk.index = {l.name: i for i, l in enumerate(layers)}
    sk.done_of = {}  # (image, layer, chunk) -> job ids
    sk.needs = {}
    jobs = _Jobs()
    if stream:
        if B != 1:
            raise ValueError("a stream's skeleton is one image's (build_schedule repeats it)")
        _stream_jobs(sk, jobs, layers, input_shape, on_sorted, dict(replicas), ports)
    else:
        _batch_jobs(jobs, B, layers, spill, on_sorted, H, ports)
    sk.res, sk.layer, sk.image, sk.row = jobs.res, jobs.layer, jobs.image, jobs.row
    sk.deps = list(map(tuple, jobs.deps))  # (tuples, users too: kept skeletons' tuples of ints leave the GC's care)
    uniq = {}
    sk.spec_of = [uniq.setdefault(c, len(uniq)) for c in jobs.spec]  # job -> its cost among the distinct ones
    sk.specs = list(uniq)
    sk.users = list(map(tuple, _users(jobs.deps)))
    sk.line_buffers = _line_buffer_structure(layers, input_shape, H, sk.needs, sk.index) if stream else None
    return sk


def _stream_jobs(sk, jobs, layers, input_shape, on_sorted, replicas, ports) -> None:
    """Image by image, chunk by chunk of output rows: each chunk after the chunks of its producers that
    hold the input rows it reads (sk.needs, also the line buffers' structure).  A layer's jobs are added
    chunk by chunk, so its chunks [qa, qb) hold the jobs first[qa] .. first[qb] - 1 (`first`, per layer)."""
    PP, DIN, DOUT = ports
    n, H, chunks, index, done_of = len(layers), sk.H, sk.chunks, sk.index, sk.done_of
    for i, l in enumerate(layers):  # the input rows each output row reads (the dependencies; the line buffers)
        shp = [input_shape if s == "input" else layers[index[s]].out_shape for s in l.inputs]
        sk.needs[i] = [(s, *need_rows(l, sh, H[i])) for s, sh in zip(l.inputs, shp)]
    b = 0  # image 0's jobs; every other image's are the same, their ids shifted (build_schedule, ImageDeps)
    res, spec, lay, img, row, deps = jobs.res, jobs.spec, jobs.layer, jobs.image, jobs.row, jobs.deps
    img_in = jobs.add(DIN, (_IMAGE_IN, n, 0, 0, 1), n, b, 0, [])
    first = []  # per layer: the first job id of each chunk, then one past its last job
    for i, l in enumerate(layers):
        bounds = np.arange(chunks[i] + 1, dtype=np.int64) * H[i] // chunks[i]
        lo, hi = bounds[:-1], bounds[1:] - 1
        # per input, None (the image) or (its producer's `first`, the first and one past the last chunk read)
        srcs = [None if s == "input" else (first[index[s]], sk.cid[index[s]][fr[lo]].tolist(),
                                           (sk.cid[index[s]][la[hi]] + 1).tolist())
                for s, fr, la in sk.needs[i]]
        los, his, ids = lo.tolist(), hi.tolist(), [len(res)]
        compute, kind, f = l.is_compute, (_ROWS if l.is_compute else _DIGITAL), replicas.get(i, 1)
        for q in range(chunks[i]):
            d = []  # the jobs producing the input rows chunk q of layer i reads (image b)
            for src in srcs:
                d.extend((img_in,) if src is None else range(src[0][src[1][q]], src[0][src[2][q]]))
            for mac, nt in (on_sorted[(i, q % f)] if compute else ((PP, 1),)):
                res.append(mac)
                spec.append((kind, i, los[q], his[q], nt))
                lay.append(i)
                img.append(b)
                row.append(q)
                deps.append(d)
            ids.append(len(res))
        first.append(ids)
    done_of.update({(b, i, q): list(range(ids[q], ids[q + 1])) for i, ids in enumerate(first)
                    for q in range(chunks[i])})
    jobs.add(DOUT, (_IMAGE_OUT, n, 0, 0, 1), n, b, 1, list(range(first[n - 1][0], first[n - 1][-1])))


def _batch_jobs(jobs, B, layers, spill, on_sorted, H, ports) -> None:
    """Layer by layer over the whole batch; the batch comes in at once and leaves at once.  Live
    activations beyond the SRAM (the whole batch is live) are spilled out and read back around the layer
    over the DMA, as the sequential schedule does (row -1: spill in, -2: spill out)."""
    PP, DIN, DOUT = ports
    n = len(layers)
    barrier = [jobs.add(DIN, (_IMAGE_IN, n, 0, 0, B), n, 0, 0, [])]
    for i in range(n):
        if spill[i]:
            barrier = [jobs.add(DIN, (_SPILL, i, 0, 0, 1), i, 0, -1, barrier)]
        l = layers[i]  # one job per macro for the whole batch (image -1: all of them, one after the other)
        if l.is_compute:
            ids = [jobs.add(mac, (_ROWS, i, 0, H[i] - 1, B * nt), i, -1, 0, barrier) for mac, nt in on_sorted[(i, 0)]]
        else:
            ids = [jobs.add(PP, (_DIGITAL, i, 0, H[i] - 1, B), i, -1, 0, barrier)]
        barrier = ids
        if spill[i]:
            barrier = [jobs.add(DIN, (_SPILL, i, 0, 0, 1), i, B - 1, -2, barrier)]
    jobs.add(DOUT, (_IMAGE_OUT, n, 0, 0, B), n, B - 1, 1, barrier)


def build_schedule(arch, wl, asg, ops, stream=True, spill_bits=None, m=None, rc=None, group=None, ii=None,
                   snaps=None, until=None, forks=None, grow=0):
    """Jobs for a resident assignment.  `ops[i]` = digital ops of layer i for one image.  `stream`:
    pipelined (rows stream, images overlap); else layer by layer over the batch (resident), with
    `spill_bits[i]` (live activations of the whole batch beyond the SRAM while layer i runs, from the
    sequential rule) spilled out and read back around layer i.  `m`: the compute layers' Mapping if
    known (comp_mapping), `rc` its layer_row_cycles.  The jobs and their dependencies come from
    `_skeleton` (built once per structure); their cycles from the architecture and the workload's
    precisions, here.  `group`: output rows per job of a stream (default: 1, more past MAX_JOBS jobs;
    tlm/mapping/steady.py asks for those of the batch its base runs stand for).  `ii`: a stream's
    initiation interval (tlm/mapping/steady.interval: mapper.build_schedule passes it; None or 0 for one
    image); `snaps`: a list that receives the scheduler's state at every input release, `until` a test of it
    that stops the run early, `forks` a dict that receives the runs of fewer images, `grow` images the run
    may go on to (steady.py: listsched._time)."""
    layers, n, B = wl.layers, len(wl.layers), wl.batch
    comp = [i for i, l in enumerate(layers) if l.is_compute] if m is None or (rc is None and not stream) else None
    if m is None and comp:
        m = map_layers(arch, [layers[i] for i in comp])
    N = arch.macro.count
    two = arch.dma.channels > 1
    if stream:  # every image runs image 0's jobs: the one-image skeleton, repeated
        _key1, sk, costs, rc, group, over = one_image(arch, wl, asg, ops, m, rc, group)
    else:
        sk = _cached_skeleton(_structure(wl, asg, N, two, stream, spill_bits) + (((group, 0),) if group else ()))
        over = sk.jobs_over
    if over:
        raise InputError(f"policy '{asg.policy}': {B} images x {n} layers make {over:,} jobs, more than the "
                         f"{MAX_JOBS:,} a streamed schedule handles: use a smaller batch or mapping.policy "
                         "resident or sequential", Where(wl.file), "batch")
    names = sk.names
    if not stream:
        if rc is None:
            rc = layer_row_cycles(arch, wl, m, comp) if comp else {}
        costs = spec_costs(arch, wl, sk, ops, rc, spill_bits)
    cost1 = job_costs(sk, costs)
    if stream:
        J = len(sk.res)
        S = Schedule(names=names, cost=cost1 * B, deps=ImageDeps(sk.deps, B), **streamsums.job_lists(
            sk, B, snaps is None and until is None and forks is None and not grow))  # (one image's: shared)
    else:
        J = len(sk.res) // B
        S = Schedule(names=names, res=list(sk.res), cost=cost1, layer=list(sk.layer), image=list(sk.image),
                     row=list(sk.row), deps=list(sk.deps))
    S.chunks = list(sk.chunks)
    S.ii = int(ii or 0) if stream and B > 1 else 0
    lb = None  # the line buffers if known: `pretime`'s (with other points'), or a shifted run's (kept)
    if snaps is None and until is None and forks is None and not S.ii:
        shifted = stream and B == 1 and retime.shifted(S, sk)  # (one image: from an earlier run, shifted)
        lb = shifted_line_buffers(wl, sk) if shifted else _timed(S, sk, J, wl)
        if stream and B == 1 and not shifted:
            retime.keep_times(S, sk)
    else:
        _time(S, sk.users, S.ii, J, snaps, until, forks, grow)
    if stream and B == 1 and pretimed.read(S, sk, arch, wl):  # (timed with other points: their statistics)
        return S
    if stream:
        _stream_stages(S, sk, costs, n)
    else:
        _stages(S, n, B)
    if S.stage:
        S.bottleneck = bottleneck_of(S)
    if stream and snaps is None:  # (a probe run's are tlm/mapping/steady.py's to compute)
        stream_results(S, arch, wl, sk, S.start.reshape(B, J), S.end.reshape(B, J), lb if B == 1 else None)
    S.makespan = makespan_cycles(S.end, S.spill_cycles)
    if stream:
        _fill_drain_stream(S, sk, J)
    else:
        _fill_drain(S, B)
    return S


def _timed(S, sk, J, wl=None):
    """S timed as listsched._time would (no pacing): as `pretime` timed it with other points of its
    structure (then the line buffers it computed for workload `wl` are returned, else None), else re-timed
    in `pretime`'s Order of the skeleton's last list-scheduled run of as many jobs if the list scheduler picks
    it again (tlm/mapping/retime.py), else list-scheduled, its run kept (retime.RunOf) for `pretime`: no
    Order made here (retime.TIMED_MAKES_ORDER)."""
    if _PRETIMED:
        got = _pretimed(S, sk)
        if got is not None:
            return got[1] if got[0] is wl else None
    kept = sk.kept_order
    if kept is not None and kept[0] == len(S.res):
        kept = _kept_order(sk) if retime.TIMED_MAKES_ORDER else kept
        if isinstance(kept[1], retime.Order) and retime.retime(S, kept[1]):
            return
    _time(S, sk.users, 0, J)
    if not S.res:
        return
    if kept is None or kept[0] != len(S.res) or kept[1].order != S.order:
        sk.kept_order = (len(S.res), retime.RunOf(S))


def _kept_order(sk):
    """The skeleton's kept (jobs, retime.Order), the Order made now from a run kept (retime.RunOf); or None."""
    kept = sk.kept_order
    if kept is not None and isinstance(kept[1], retime.RunOf):
        kept = sk.kept_order = (kept[0], retime.Order(kept[1]))
    return kept


# ---- the points of one structure timed at once (a sweep's points that differ in timing only) ---------------
_PRETIMED = {}  # (id(skeleton), its jobs' cycles) -> (skeleton, retime.Order, starts, ends, (workload, its line
# buffers), (the pretimed.Points of the call, its column)): `pretime`
MAX_PRETIMED = 4096
PRETIME_ORDERS = 3  # orders `pretime` tries at most: the kept one, then those of points it refused


def clear_pretimed() -> None:
    """Forget what `pretime` timed (tlm/engines/registry.run_group, before the next points; bench.cold)."""
    _PRETIMED.clear()


def pretime(sk, costs, wl) -> int:
    """Time the one-image stream skeleton `sk` of workload `wl` under each of `costs` (each a list of its
    jobs' cycles, `job_costs`: the points of a sweep that share the structure and differ in their cycles)
    at once in the order of its last list-scheduled run (retime.retime_many, the points a numpy axis), with
    the line buffers (linebuf.image_line_buffers); keep the points whose list schedule that is for `_timed`
    (and their statistics: pretimed.Points).  Points refused are timed again in the order of the first one's
    list-scheduled run, up to PRETIME_ORDERS orders; a point still refused is left to its own run, as are
    points that differ in their transfers' cycles only, which their runs shift (retime.shifted).  Returns
    how many were kept."""
    J = len(sk.res)
    todo = [c for c in dict.fromkeys(map(tuple, costs)) if (id(sk), c) not in _PRETIMED]
    if len(_PRETIMED) + len(todo) > MAX_PRETIMED or len(todo) < 2 or not J or retime.shifts(sk, todo):
        return 0
    done, ref = 0, None
    for k in range(PRETIME_ORDERS):
        if k or sk.kept_order is None or sk.kept_order[0] != J:  # the first point left list-scheduled, its order kept
            _timed(Schedule(names=sk.names, res=sk.res, cost=list(todo[0]), layer=sk.layer, image=[0] * J,
                            row=sk.row, deps=ImageDeps(sk.deps, 1)), sk, J)
        if _kept_order(sk)[1] is ref:
            break  # (its run kept the order refused: no other order to try)
        ref, C = _kept_order(sk)[1], np.array(todo, dtype=np.int64).T
        start, end, ok = retime.retime_many(ref, C)
        got = np.flatnonzero(ok)
        lbs = image_line_buffers(wl, sk, end.T[got]).tolist() if len(got) else []
        pts = pretimed.Points(sk, C[:, got], start[:, got], end[:, got])  # (their statistics: pretimed.read)
        for q, (p, lb) in enumerate(zip(got.tolist(), lbs)):
            _PRETIMED[(id(sk), todo[p])] = (sk, ref, start[:, p].copy(), end[:, p].copy(), (wl, int(lb)), (pts, q))
        done, todo = done + len(got), [todo[p] for p in np.flatnonzero(~ok).tolist()]
        if len(todo) < 2:
            break
    return done


def _pretimed(S, sk):
    """S timed from `pretime`'s run of its skeleton and cycles, if there is one (S.start, S.end, S.order
    set; returns (the workload, its line buffers)), else None."""
    got = _PRETIMED.get((id(sk), tuple(S.cost)))
    if got is None or got[0] is not sk:
        return None
    S.start, S.end = got[2].copy(), got[3].copy()
    S.order = retime.ordered(got[1], S.start)
    pretimed.mark(S, got)  # (its statistics computed with the other points': build_schedule)
    return got[4]


def one_image(arch, wl, asg, ops, m=None, rc=None, group=None):
    """What a stream of `wl.batch` images repeats per image, without its schedule (the bounds of
    tlm/mapping/bounds.py, the probes of tlm/mapping/steady.py): (the one-image skeleton's key, the skeleton,
    its distinct jobs' cycles `spec_costs`, rc, the batch's rows per job, the job count when the batch has
    too many jobs else 0).  `m`, `rc`: the compute layers' Mapping and layer_row_cycles if known; `group`:
    rows per job if known."""
    from tlm.mapping import reuse
    N, two = arch.macro.count, arch.dma.channels > 1
    over = 0
    if rc is not None and reuse.plain(arch) is arch:  # (a recording notes the fields read: not kept)
        return _kept_image(arch, wl, asg, ops, rc, group)
    key = _structure(wl, asg, N, two, True, None)
    if group is None:
        group, over = job_group(key)
    if rc is None:
        comp = [i for i, l in enumerate(wl.layers) if l.is_compute]
        if m is None and comp:
            m = map_layers(arch, [wl.layers[i] for i in comp])
        rc = layer_row_cycles(arch, wl, m, comp) if comp else {}
    key1 = (1,) + key[1:] + ((group, 0),)  # (_structure of one image: the batch is the key's first field)
    sk1 = _cached_skeleton(key1)
    # (the costs of one image's jobs read no batch: a stream skeleton's multipliers are its own, spec_costs
    # reads the layers and the image's bits only; tests/test_sweep_speed.py)
    return key1, sk1, _kept_costs(arch, wl, key1, sk1, ops, rc), rc, group, over


_IMAGES = {}  # pointgroup.image_key -> (arch, asg, layers, structure but batch, {rows per job: key, skeleton, costs})
MAX_IMAGES = 256  # (a pretime group of PRETIME_POINTS points x 2 streamed policies, kept for their own runs)


def _kept_image(arch, wl, asg, ops, rc, group):
    """one_image, kept for the next call on the same architecture, assignment and layer objects, row cycles and
    ops (a sweep's points that differ in the batch only: it sets the rows per job, job_group, nothing else)."""
    k = pointgroup.image_key(arch, wl, asg, ops, rc)
    got = _IMAGES.get(k)
    if got is None or got[0] is not arch or got[1] is not asg or got[2] != tuple(wl.layers):  # (held: the same objects)
        key = _structure(wl, asg, arch.macro.count, arch.dma.channels > 1, True, None)
        if len(_IMAGES) >= MAX_IMAGES:  # (each holds its skeletons: as many as _cached_skeleton keeps)
            _IMAGES.clear()
        got = _IMAGES[k] = (arch, asg, tuple(wl.layers), key[1:], {})
    over = 0
    if group is None:
        group, over = job_group((wl.batch,) + got[3])
    one = got[4].get(group)
    if one is None:
        key1 = (1,) + got[3] + ((group, 0),)  # (_structure of one image: the batch is the key's first field)
        sk1 = _cached_skeleton(key1)
        one = got[4][group] = (key1, sk1, _kept_costs(arch, wl, key1, sk1, ops, rc))
    return (*one, rc, group, over)


_COSTS = {}  # (one-image key, row cycles, digital ops, image bits) -> (fields read, their values, costs)
MAX_COSTS = 1024
# one-image key -> the architecture fields spec_costs reads for that skeleton: which it reads is fixed by the
# skeleton's kinds of jobs (the digital layers' op cycles: postproc; the transfers: dma), never by a value
# (tests/test_auto_cost.py checks it), so it is recorded once per skeleton, not at every new cost
_COST_FIELDS = {}


def clear_costs() -> None:
    """Forget the kept job costs and what `pretime` timed (tlm/services/bench.cold)."""
    _COSTS.clear()
    _PRETIMED.clear()
    _COST_FIELDS.clear()
    _IMAGES.clear()


def _kept_costs(arch, wl, key1, sk, ops, rc) -> list:
    """spec_costs of a one-image stream skeleton, kept: a later call with the same skeleton, row cycles, digital
    ops and image bits, on an architecture with the same values of every field the first call read (reuse.
    recording, through `arch` either way), gets the same costs -- a sweep's batches, a point's bound and schedule."""
    from tlm.mapping import reuse
    k = (key1, tuple(rc.items()), tuple(int(o) for o in ops), wl.input_bits, wl.layers[-1].bits_out)
    got = _COSTS.get(k)
    if got is not None and reuse.values(arch, got[0]) == got[1]:
        return got[2]
    fields = _COST_FIELDS.get(key1)
    if fields is None:  # (recorded once per skeleton: `_COST_FIELDS`)
        read = set()
        costs = spec_costs(reuse.recording(reuse.plain(arch), read), wl, sk, ops, rc)
        fields = tuple(sorted(read, key=str))
        if len(_COST_FIELDS) >= MAX_COSTS:
            _COST_FIELDS.clear()
        _COST_FIELDS[key1] = fields
    else:
        costs = spec_costs(reuse.plain(arch), wl, sk, ops, rc)
    if len(_COSTS) >= MAX_COSTS:
        _COSTS.clear()
    _COSTS[k] = (fields, reuse.values(arch, fields), costs)
    return costs
