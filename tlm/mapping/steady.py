"""The steady state of a streamed schedule: its cost does not grow with the batch.

A pipeline fed a batch of B images reaches a periodic regime after its fill: every job of image b + 1
starts one period P (set by the slowest stage) after the same job of image b.  So the analytic engine
schedules a few small batches (w = BASE .. BASE + RUNS - 1 images, the full job lists and list scheduling
of tlm/mapping/schedule.py) and takes the periodic regime from them when it is there: the compute and
post-processing jobs of the last two images of the last base run start exactly P apart (every one of them)
and the end of that work grows by P from one base run to the next.  Images b >= w then run the last base
image's jobs shifted by (b - w + 1) x P.

What is not periodic is the DMA: the input images are all ready at the start and stream in as fast as the
channel allows (ahead of the pipeline: they wait in the SRAM), and on one channel they share it with the
outputs (an output, the older image, goes first; a transfer is never interrupted).  So the DMA's transfers
of all B images are replayed here by the same rules (`_dma`, one short loop per image, no job list), and
from them come the image latencies, the makespan and the line-buffer peak (every row's life, the images
past the base run as shifted arrays: numpy, no per-job Python).  Where an input would arrive later than the
periodic regime reads it, or the DMA is the bottleneck, or the base runs are not periodic yet, the full
schedule of B images is built instead (never a guess).  The per-job sums (cycles per layer and resource)
are exact: every image runs the same jobs at the same costs, so the last base image's jobs stand for the
remaining B - w + 1 images (`Schedule.mult`).  The TLM engine always executes the full job list.
tests/test_speed.py checks every number against the full schedule.
"""
from __future__ import annotations

import dataclasses
import threading

import numpy as np

from tlm.hw import dma as hw_dma
from tlm.mapping.assign import _hw, layer_row_cycles
from tlm.mapping.schedule import _cached_skeleton, _structure, build_schedule, job_group, peak_bits, spec_costs

BASE = 4  # images of the smallest base schedule (then 2x, 4x... while the batch is 8x the base runs' or more)
RUNS = 3  # base schedules (w .. w + RUNS - 1 images): their periodic work must grow by one period each
MIN_BATCH = 32  # below this the full job list costs about as much as the base schedules (4 + 5 + 6 images)
TRIES = 3  # base sizes tried: BASE, 2 BASE, 4 BASE
_CACHE = {}  # (base, structure without the batch, job costs, bits per row) -> base runs, most recent last
_LOCK = threading.Lock()
MAX_CACHED = 256


class _Base:
    """The last base run (its Schedule and skeleton) and what the periodic regime is read from."""
    __slots__ = ("S", "sk", "w", "period", "io_in", "io_out", "work_end")


def _base(arch, wl, asg, ops, m, rc, base, group):
    """The base runs of `base`.. images (`group` output rows per job), or None when they are not periodic;
    cached by what they depend on."""
    N, two = arch.macro.count, arch.dma.channels > 1
    w0 = dataclasses.replace(wl, batch=base)
    key0 = _structure(w0, asg, N, two, True, None) + ((group, 0),)
    sk0 = _cached_skeleton(key0)
    if sk0.jobs_over:
        return None
    costs = tuple(spec_costs(arch, w0, sk0, ops, rc))
    key = (base, key0[1:], costs, wl.input_bits, tuple(l.bits_out for l in wl.layers))
    with _LOCK:
        if key in _CACHE:
            _CACHE[key] = _CACHE.pop(key)
            return _CACHE[key]
    ends, starts, bb = [], [], None
    for w in range(base, base + RUNS):
        ww = dataclasses.replace(wl, batch=w)
        S = build_schedule(arch, ww, asg, ops, stream=True, m=m, rc=rc, group=group)
        io = np.asarray(S.layer) == len(wl.layers)
        ends.append(int(S.end[~io].max()))
        starts.append(S.start[~io].reshape(w, -1))  # (image, its periodic jobs), jobs in skeleton order
    # periodic: one more image disturbs none of the older ones' jobs, and runs its own one period after
    # the image before it
    shifts = set()
    for a, b in zip(starts, starts[1:]):
        if not np.array_equal(a, b[:-1]):
            shifts.add(None)
        shifts.update((b[-1] - b[-2]).tolist())
    d = {y - x for x, y in zip(ends, ends[1:])}
    if len(shifts) == 1 and shifts == d and S.bottleneck and not S.bottleneck.startswith("dma"):
        bb = _Base()
        bb.S, bb.w, bb.period = S, w, shifts.pop()
        bb.sk = _cached_skeleton(_structure(dataclasses.replace(wl, batch=w), asg, N, two, True, None)
                                 + ((group, 0),))
        lay, row = np.asarray(S.layer), np.asarray(S.row)
        bb.io_in = np.flatnonzero(io & (row == 0))  # job ids, image order
        bb.io_out = np.flatnonzero(io & (row == 1))
        bb.work_end = ends[-1]
    with _LOCK:
        _CACHE[key] = bb
        while len(_CACHE) > MAX_CACHED:
            _CACHE.pop(next(iter(_CACHE)))
    return bb


def _dma(B, c_in, c_out, ready, one):
    """(start of each input transfer, end of each input transfer, end of each output transfer) of B
    images.  Inputs are all ready at time 0; output b is ready at ready[b].  Two channels: inputs back to
    back on one, outputs in image order on the other.  One channel: the older image first (an output
    before any later input), never interrupted; an output ready at the instant an input transfer ends goes
    next, one ready as an output transfer ends waits for the input started then (the schedule's event
    order: the jobs of older images complete first)."""
    ready = ready.tolist()
    i_s, i_e, o_e = [0] * B, [0] * B, [0] * B
    if not one:
        t = 0
        for b in range(B):
            i_s[b], i_e[b] = b * c_in, (b + 1) * c_in
            t = o_e[b] = max(t, ready[b]) + c_out
        return np.array(i_s), np.array(i_e), np.array(o_e)
    t, ni, no, last_in = 0, 0, 0, True
    while no < B:
        if no < ni and (ready[no] < t or (ready[no] == t and last_in) or ni == B):
            t = o_e[no] = max(t, ready[no]) + c_out
            no, last_in = no + 1, False
        else:
            i_s[ni] = t
            t = i_e[ni] = t + c_in
            ni, last_in = ni + 1, True
    return np.array(i_s), np.array(i_e), np.array(o_e)


def _rows(wl, sk, done, b):
    """Image b's rows (every source tensor's, in sk.line_buffers order): (made, freed by its readers, is
    an input row, is a row of the output, bits); made/freed by the periodic work only (the DMA's are
    added by the caller)."""
    made, free, inp, last, bits = [], [], [], [], []
    cache = {}

    def row_ends(p):
        if p not in cache:
            cache[p] = np.array([done[(b, p, q)] for q in range(sk.chunks[p])])[sk.cid[p]]
        return cache[p]
    for src, h, p, readers, is_last in sk.line_buffers:
        if p is None:
            rb = int(np.prod(wl.input_shape)) * wl.input_bits // h
        else:
            l = wl.layers[p]
            rb = int(np.prod(l.out_shape)) * l.bits_out // h
        mk = np.zeros(h, dtype=np.int64) if p is None else row_ends(p)
        fr = mk.copy()
        for ci, reader in readers:
            fr = np.maximum(fr, row_ends(ci)[reader])
        made.append(mk)
        free.append(fr)
        inp.append(np.full(h, p is None))
        last.append(np.full(h, bool(is_last)))
        bits.append(np.full(h, rb, dtype=np.int64))
    return tuple(np.concatenate(x) for x in (made, free, inp, last, bits))


def steady_schedule(arch, wl, asg, ops, m=None, rc=None):
    """The schedule of a streamed assignment for `wl.batch` images from its steady state (module docstring),
    or None when the batch is small or the regime is not periodic (build the full one then)."""
    B = wl.batch
    if B < max(MIN_BATCH, BASE + RUNS):
        return None
    if rc is None:
        comp = [i for i, l in enumerate(wl.layers) if l.is_compute]
        rc = layer_row_cycles(arch, wl, m, comp) if comp else {}
    group, over = job_group(_structure(wl, asg, arch.macro.count, arch.dma.channels > 1, True, None))
    if over:
        return None  # too many jobs: the full schedule refuses with the reason
    for t in range(TRIES):
        base = BASE << t
        if t and B < 8 * (base + RUNS):
            return None
        bb = _base(arch, wl, asg, ops, m, rc, base, group)
        if bb is not None:
            break
    else:
        return None
    return _extend(arch, wl, bb, B)


def _extend(arch, wl, bb, B):
    """The B-image statistics from the base run `bb` (module docstring); None when an input would arrive
    late for the periodic regime."""
    S0, sk, w, P = bb.S, bb.sk, bb.w, bb.period
    end = S0.end.tolist()
    done = {k: max(end[j] for j in ids) for k, ids in sk.done_of.items()}  # when each chunk's last job ends
    n = len(wl.layers)
    shift = np.arange(B - w + 1, dtype=np.int64) * P  # images w-1 .. B-1 after image w-1
    ready = np.array([max(done[(b, n - 1, q)] for q in range(sk.chunks[n - 1])) for b in range(w)])
    ready = np.concatenate([ready[:-1], ready[-1] + shift])
    img, io = np.asarray(S0.image), np.asarray(S0.layer) == n
    first = np.full(w, np.iinfo(np.int64).max)
    np.minimum.at(first, img[~io], S0.start[~io])
    first = np.concatenate([first[:-1], first[-1] + shift])  # each image's first periodic job start
    c_in, c_out = S0.cost[int(bb.io_in[0])], S0.cost[int(bb.io_out[0])]
    i_s, i_e, o_e = _dma(B, c_in, c_out, ready, arch.dma.channels == 1)
    if (i_e > first).any():
        return None  # an input would come in late: not the base run's regime
    ms, fs, ins, lasts, bits = [], [], [], [], []
    for b in range(w):
        mk, fr, inp, last, rb = _rows(wl, sk, done, b)
        if b == w - 1:  # and every later image: shifted by the period
            mk, fr = mk[None, :] + shift[:, None], fr[None, :] + shift[:, None]
            inp, last, rb = (np.broadcast_to(x, mk.shape) for x in (inp, last, rb))
            bi, bo = i_e[w - 1:, None], o_e[w - 1:, None]
        else:
            bi, bo = i_e[b], o_e[b]
        mk = np.where(inp, bi, mk)
        fr = np.maximum(np.maximum(fr, mk), np.where(last, bo, np.iinfo(np.int64).min))
        ms.append(mk.ravel())
        fs.append(fr.ravel())
        bits.append(rb.ravel())
    lb = peak_bits(np.concatenate(ms), np.concatenate(fs), np.concatenate(bits))
    S = dataclasses.replace(S0)
    S.line_buffer_bits = lb
    S.spill_bits = max(lb - arch.sram.capacity_bits, 0)
    S.spill_cycles = 2 * int(hw_dma.transfer_cycles(arch, S.spill_bits)) if S.spill_bits else 0
    S.makespan = max(int(o_e.max()), bb.work_end + (B - w) * P) + S.spill_cycles
    S.latency = int((o_e - i_s).max()) + S.spill_cycles
    img0_end = max(int(S0.end[(img == 0) & ~io].max()), int(o_e[0]))
    S.drain = img0_end + S.spill_cycles - S.fill  # (fill: image 0's end on the bottleneck, not the DMA)
    S.mult = np.where(img == w - 1, 1 + B - w, 1).astype(np.int64)  # the last base image stands for the rest
    return S


def busy_bound(arch, wl, asg, ops, m=None, rc=None) -> int:
    """A lower bound of the cycles of a streamed schedule of `wl.batch` images without building it: the
    work of its busiest resource (macro, post-processing, DMA channel), which runs one job at a time.
    Every image runs the same jobs, so it is one image's work (a one-image skeleton with the batch's rows
    per job) times the batch.  0 when the batch has too many jobs (the schedule refuses)."""
    N, two = arch.macro.count, arch.dma.channels > 1
    group, over = job_group(_structure(wl, asg, N, two, True, None))
    if over:
        return 0
    w1 = dataclasses.replace(wl, batch=1)
    sk = _cached_skeleton(_structure(w1, asg, N, two, True, None) + ((group, 0),))
    if rc is None:
        from tlm.mapping.packing import comp_mapping
        m2, comp = comp_mapping(arch, wl) if m is None else (m, [i for i, l in enumerate(wl.layers) if l.is_compute])
        rc = layer_row_cycles(arch, wl, m2, comp) if comp else {}
    cost = np.array(spec_costs(arch, w1, sk, ops, rc), dtype=np.int64)[np.asarray(sk.spec_of, dtype=np.int64)]
    per = np.zeros(len(sk.names), dtype=np.int64)
    np.add.at(per, np.asarray(sk.res, dtype=np.int64), cost)
    return int(per.max(initial=0)) * wl.batch


def resident_bound(arch, wl, m, comp, rc) -> int:
    """A lower bound of the cycles of the layer-by-layer resident schedule (tlm/mapping/schedule.py
    `_batch_jobs`): its layers run one after the other, each compute layer's job on a macro costs the batch
    x the tiles it holds x (first row + further rows), and some macro holds ceil(tiles / macros) of them."""
    N, B = arch.macro.count, wl.batch
    total = 0
    for j, i in enumerate(comp):
        r0, r1 = rc[i]
        H = _hw(wl.layers[i].out_shape)[0]
        total += -(-int(m.tiles[j]) // N) * B * (r0 + (H - 1) * r1)
    return total
