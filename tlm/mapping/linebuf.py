"""A stream's line buffers: the activation SRAM its rows and residual branches hold at once (every image),
from the end times of its jobs (tlm/mapping/schedule.py builds them, tlm/mapping/steady.py lays them out
for a batch from its probe run), and the spill past the SRAM."""
from __future__ import annotations

import math

import numpy as np

from tlm.config.workload import VIEW_TYPES
from tlm.hw import dma as hw_dma
from tlm.mapping.assign import _hw


def _line_buffer_structure(layers, input_shape, H, needs, index):
    """What `stream_line_buffers` needs of a stream's structure: per source tensor (the image, every layer but
    views), (name, height, its producer layer or None, for each consumer the consumer row that reads
    each source row last, whether the last layer's output is it)."""
    n = len(layers)
    alias = {l.name: l.inputs[0] for l in layers if l.type in VIEW_TYPES}

    def height(s):
        return _hw(input_shape if s == "input" else layers[index[s]].out_shape)[0]

    consumers = {}  # source tensor -> [(consumer layer, first row read per consumer row)]
    for i in range(n):
        for s, first, _last in needs[i]:
            while s in alias:  # a view: the consumer's row 0 reads all of the source
                s = alias[s]
                first = np.zeros(len(first), dtype=np.int64)
            consumers.setdefault(s, []).append((i, first))
    srcs = ["input"] + [l.name for l in layers if l.type not in VIEW_TYPES]
    out = []
    for src in srcs:
        h = height(src)
        readers = []
        for ci, first in consumers.get(src, []):
            last_reader = np.searchsorted(first, np.arange(h), side="right") - 1
            readers.append((ci, np.minimum(np.maximum(last_reader, 0), H[ci] - 1)))  # np.clip
        last = src == layers[-1].name or (layers[-1].type in VIEW_TYPES and alias.get(layers[-1].name) == src)
        out.append((src, h, None if src == "input" else index[src], readers, last))
    return out


def stream_results(S, arch, wl, sk, st, en, line_buffer_bits=None) -> None:
    """A stream's line buffers, their spill and its image latency, into S, from the B x J starts `st` and
    ends `en` of its jobs, image by image (`sk`: the one-image skeleton; image 0's input transfer is its
    first job, its output transfer its last).  `line_buffer_bits`: `stream_line_buffers` of these ends if
    known (one image's, computed with other points': `image_line_buffers`)."""
    J = st.shape[1]
    S.line_buffer_bits = (stream_line_buffers(wl, sk, en, 0, J - 1) if line_buffer_bits is None
                          else line_buffer_bits)
    S.spill_bits, spill = stream_spill(arch, S.line_buffer_bits)
    if S.spill_bits:
        S.spill_cycles = spill
    S.latency = int((en[:, J - 1] - st[:, 0]).max()) + S.spill_cycles


def makespan_cycles(end, spill_cycles) -> int:
    """A schedule's makespan, cycles: its last job's end (`end`: its jobs' end times), then its line buffers'
    spill out and back (`spill_cycles`, `stream_spill`; 0 without one)."""
    return (int(end.max()) if len(end) else 0) + int(spill_cycles)


def stream_spill(arch, line_buffer_bits) -> tuple:
    """(spill bits, spill cycles) of a stream whose line buffers hold `line_buffer_bits`: the excess over the
    activation SRAM goes out and back through the DMA, serialized (an upper estimate)."""
    spill = max(int(line_buffer_bits) - arch.sram.capacity_bits, 0)
    return spill, (2 * int(hw_dma.transfer_cycles(arch, spill)) if spill else 0)


def stream_line_buffers(wl, sk, end, i_in, i_out) -> int:
    """Peak activation bits held at once by a stream (all images): a row lives from the end of the job
    producing it to the end of the last job reading it (every consumer; views hand their consumers to their
    source; the network's output until the image's output transfer ends).  This is the activation SRAM the
    line buffers and the residual branches need.  `sk`: the one-image skeleton; `end`: B x J end times of
    its jobs, image by image; i_in, i_out: the image's input and output transfers among them."""
    made, free, rb = _held(wl, sk, end, i_in, i_out)
    return peak_bits(made.ravel(), free.ravel(), np.tile(rb, end.shape[0]))


def image_line_buffers(wl, sk, ends) -> np.ndarray:
    """`stream_line_buffers` of one image (its input transfer the skeleton's first job, its output transfer
    its last) at each of several points: `ends` (points x jobs) the end times of its jobs at each point (a
    sweep's points of one structure, tlm/mapping/schedule.pretime).  One int64 per point."""
    made, free, rb = _held(wl, sk, ends, 0, ends.shape[1] - 1)
    return _peaks(made, free, np.broadcast_to(rb, made.shape))


def shifted_line_buffers(wl, sk):
    """`stream_line_buffers` of workload `wl`'s one-image run shifted from skeleton `sk`'s kept run
    (tlm/mapping/retime.shifted: every job's end moved by the same cycles but the last one's, the output
    transfer's, which may end at any time after its start), or None when that end may change them.  Exact:
    a uniform shift changes no peak, and the peak never falls as one free time grows, so the peak with
    the output transfer ending before every job (it frees nothing then) and after every job (as late as it
    can matter) bound every other; equal, they are every shifted run's.  Kept on the skeleton, per kept run
    and workload (a sweep's points that differ in the DMA only: computed once, not per point)."""
    kept, got = sk.kept_times, sk.kept_line_buffers
    if got is not None and got[0] is kept and got[1] is wl:
        return got[2]
    end = kept[3]
    ends = np.stack([end, end])
    ends[0, -1], ends[1, -1] = -1, end.max() + 1
    lo, hi = image_line_buffers(wl, sk, ends).tolist()
    sk.kept_line_buffers = (kept, wl, lo if lo == hi else None)
    return sk.kept_line_buffers[2]


def _held(wl, sk, end, i_in, i_out):
    """(when each row is made, when it is freed: end.shape[0] x rows, each row's bits) of
    `stream_line_buffers`, the rows of every image (or point) of `end` one after the other."""
    made_idx, free_idx, h_of = _row_jobs(sk, i_in, i_out)
    made = end[:, made_idx].max(axis=2)
    free = np.maximum(end[:, free_idx].max(axis=2), made)
    return made, free, _row_bits(wl, sk, h_of)


_ROW_BITS = {}  # (id(skeleton), id(layers), image bits and shape) -> (skeleton, layers, each row's bits)


def _row_bits(wl, sk, h_of) -> np.ndarray:
    """Each row's bits of `_held` (its source tensor's bits over its rows), kept per skeleton, layer list
    (a sweep's batches of one point share it) and image bits and shape."""
    key = (id(sk), id(wl.layers), wl.input_bits, tuple(wl.input_shape))
    got = _ROW_BITS.get(key)
    if got is not None and got[0] is sk and got[1] is wl.layers:
        return got[2]
    bits = []
    for (src, h, p, _readers, _last) in sk.line_buffers:
        if p is None:
            bits.append(math.prod(wl.input_shape) * wl.input_bits // h)
        else:
            l = wl.layers[p]
            bits.append(math.prod(l.out_shape) * l.bits_out // h)
    got = np.repeat(np.array(bits, dtype=np.int64), h_of)
    got.flags.writeable = False
    if len(_ROW_BITS) >= 256:
        _ROW_BITS.clear()
    _ROW_BITS[key] = (sk, wl.layers, got)
    return got


def _row_jobs(sk, i_in, i_out):
    """Per row of every source tensor of `stream_line_buffers` (sources in order, rows in order), the
    jobs of one image whose last end makes it, and those whose last end frees it (each row's padded to the
    widest by repeating one of its own: the same last end), and each source's row count; kept on the
    skeleton.  Made per layer as arrays: its chunks' jobs (`_chunk_jobs`), taken by each row's chunk."""
    got = sk.row_jobs
    if got is not None and got[0] == (i_in, i_out):
        return got[1]
    jobs = _chunk_jobs(sk)
    made, free, h_of = [], [], []
    for src, h, p, readers, last in sk.line_buffers:
        mk = np.full((h, 1), i_in, dtype=np.int64) if p is None else jobs[p][sk.cid[p][:h]]
        fr = [mk] + [jobs[ci][sk.cid[ci][reader]] for ci, reader in readers]
        if last:
            fr.append(np.full((h, 1), i_out, dtype=np.int64))
        made.append(mk)
        free.append(np.concatenate(fr, axis=1))
        h_of.append(h)
    out = (_padded(made), _padded(free), np.array(h_of, dtype=np.int64))
    sk.row_jobs = ((i_in, i_out), out)
    return out


def _chunk_jobs(sk) -> list:
    """Per layer, its chunks x the most jobs of a chunk: the jobs of image 0 making each chunk of its output
    rows (one per macro holding it), padded by repeating the chunk's first."""
    out = []
    for p, n in enumerate(sk.chunks):  # (each chunk's jobs one range of ids: schedule._stream_jobs)
        got = [sk.done_of[(0, p, q)] for q in range(n)]
        lo = np.array([r.start for r in got], dtype=np.int64)[:, None]
        size = np.array([len(r) for r in got], dtype=np.int64)[:, None]
        at = np.arange(max(int(size.max(initial=1)), 1), dtype=np.int64)[None, :]
        out.append(lo + np.where(at < size, at, 0))
    return out


def _padded(blocks) -> np.ndarray:
    """The rows x jobs `blocks` one under the other, each widened to the widest by repeating its first
    column (a job of each row already: the same last end)."""
    w = max(b.shape[1] for b in blocks)
    return np.concatenate([b if b.shape[1] == w else np.concatenate(
        [b, np.repeat(b[:, :1], w - b.shape[1], axis=1)], axis=1) for b in blocks])


def peak_bits(s, e, w) -> int:
    """Peak of the bits held at once by rows of `w[k]` bits live from s[k] to e[k]."""
    return int(_peaks(s[None], e[None], w[None])[0])


def _peaks(s, e, w) -> np.ndarray:
    """`peak_bits` of each row of the 2-D arrays s, e, w (points x rows), at once."""
    if not s.shape[1]:
        return np.zeros(s.shape[0], dtype=np.int64)
    w = np.where(e > s, w, 0)  # (a row freed as it is made changes no running total between two instants)
    t = np.concatenate([2 * s + 1, 2 * e], axis=1)  # at equal times a row is freed before the next is written
    d = np.concatenate([w, -w], axis=1)
    k = t.shape[1]
    at = np.argsort(t, axis=1, kind="stable")
    if len(t) > 1:
        at += np.arange(0, len(t) * k, k, dtype=at.dtype)[:, None]  # (each row's own, in the flat array)
    held = np.cumsum(d.ravel()[at], axis=1)
    return np.maximum(held.max(axis=1), 0)
