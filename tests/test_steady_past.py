"""What a stream's batches past its repeat share (tlm/mapping/steady.py): the image latency of every q of a
base run at once (`_latencies`), and the line buffers from the probe run's early part and the images still
running at its last release (`_short_line_buffers` cut there), each the full job list's number.

Which test fails when a mechanism is removed: the latencies' scatter, test_latencies_are_laid_out_once_per_base_run;
the line buffers' cut, test_line_buffers_past_the_repeat_read_the_last_images_only; a kept skeleton's
chunks as ranges (no list per chunk for the garbage collector to walk), test_a_kept_skeletons_chunks_hold_no_lists;
the probe's job lists dropped once read, test_a_kept_probe_holds_no_job_lists."""
import dataclasses

import numpy as np
import pytest

from helpers import with_changes
from tlm.config.arch import load_arch
from tlm.config.overrides import with_precision
from tlm.config.workload import load_workload
from tlm.mapping import mapper, steady
from tlm.mapping.rules import digital_ops
from tlm.mapping.mapper import with_policy


def _stream(root, name, macros, bits, policy):
    """(arch, workload at batch 2, assignment, digital ops) of a stream."""
    wl = load_workload(root / "workloads" / f"{name}.yaml")
    if bits:
        wl = with_precision(wl, bits, bits, bits)
    wl = dataclasses.replace(wl, batch=2)
    a = with_policy(with_changes(load_arch(root / "configs" / "imagine.yaml"), **{"macro.count": macros}), policy)
    ops = [digital_ops(l) for l in wl.layers]
    return a, wl, mapper.assign(a, wl, policy, ops), ops


# ResNet-8 at 1 bit on 3 macros: its state repeats at image m = 20 (one image's period), so batches
# m + 1 .. have q = 0 .. 20 past the base run; ds_cnn on 8 macros pipelined repeats every few images
# (multi-rate: several base runs)
@pytest.mark.parametrize("name,macros,bits,policy,multi", [("resnet8", 3, 1, "replicate", False),
                                                           ("ds_cnn", 8, None, "pipelined", True)])
def test_latencies_of_every_q_are_the_full_schedules(root, monkeypatch, name, macros, bits, policy, multi):
    """`_latencies` (each q's from one scatter with q as an axis) at every q up to the cap is the latency
    `_layout` lays out for that q alone (the input and output transfers of each of the b.w + q k images),
    and, at batches on both sides of the cap, the full job list's image latency (schedule.build_schedule,
    every image scheduled)."""
    monkeypatch.setattr(steady, "_CACHE", {})
    a, wl, asg, ops = _stream(root, name, macros, bits, policy)
    P = steady._plan(a, wl, asg, ops)
    assert P.w is not None and (P.k > 1) == multi and (multi or P.m == 20)
    _T, J, _D, _pre, _seg, _seq0, (i_in, i_out) = steady._probe_parts(P)
    cap = -(-(P.m + P.k) // P.k)
    for wb in range(P.m + 1, P.m + P.k + 1):
        b = steady._base(P, wb)
        lats = steady._latencies(P, b, cap, i_in, i_out)
        for q in range(cap + 1):
            st, en = steady._layout(P, b, wb + q * P.k, (i_in, i_out))
            assert lats[q] == int((en[:, 1] - st[:, 0]).max()), (wb, q)
    for B in (P.m + 1, P.m + P.k * cap, P.m + P.k * (cap + 2)):
        w = dataclasses.replace(wl, batch=B)
        S = steady.steady_schedule(a, w, asg, ops)
        full = mapper.build_schedule(a, w, asg, ops)
        assert S.latency == full.latency > 0, B
        assert np.array_equal(S.start, full.start[:J]) and S.makespan == full.makespan, B


def test_latencies_are_laid_out_once_per_base_run(root, monkeypatch):
    """A sweep of batches past the repeat lays out no image latency per batch: one `_latencies` scatter per
    base run (k of them), none of `_layout`'s per-q input-and-output layouts."""
    monkeypatch.setattr(steady, "_CACHE", {})
    a, wl, asg, ops = _stream(root, "resnet8", 3, 1, "replicate")
    P = steady._plan(a, wl, asg, ops)
    made, real = [], steady._latencies
    monkeypatch.setattr(steady, "_latencies", lambda P, b, *x: made.append(b.w) or real(P, b, *x))
    cols, real_layout = [], steady._layout
    monkeypatch.setattr(steady, "_layout", lambda P, b, B, c=None: cols.append(c) or real_layout(P, b, B, c))
    for B in range(P.m + 1, P.m + 30):
        steady.steady_schedule(a, dataclasses.replace(wl, batch=B), asg, ops)
    assert len(set(made)) == P.k and not [c for c in cols if c is not None]
    assert len({k for k in P.stats if k[0] == "lats"}) == P.k


def test_line_buffers_past_the_repeat_read_the_last_images_only(root, monkeypatch):
    """ResNet-8 at 1 bit on 3 macros (m = 20): the line-buffer peak of the laid-out batch of each base run
    at q = 0 and 1 (every q >= 1 has q = 1's: module docstring) is the peak over every row of every image of
    that layout (linebuf.stream_line_buffers), read from the rows of the images still running at the
    probe's last release (at most a few, not the 21 or 22 of the batch) and the probe run's early part."""
    from tlm.mapping import linebuf
    monkeypatch.setattr(steady, "_CACHE", {})
    a, wl, asg, ops = _stream(root, "resnet8", 3, 1, "replicate")
    P = steady._plan(a, wl, asg, ops)
    _T, J, _D, _pre, _seg, _seq0, (i_in, i_out) = steady._probe_parts(P)
    assert (i_in, i_out) == (0, J - 1) and P.m == 20
    steady._held_prefix(P, wl)  # (the early part: once per plan and bits, from the run of m + k images)
    seen, real = [], steady._held
    monkeypatch.setattr(steady, "_held", lambda w, sk, en, *x: seen.append(en.shape[0]) or real(w, sk, en, *x))
    for wb in range(P.m + 1, P.m + P.k + 1):
        b = steady._base(P, wb)
        for Bq in (wb, wb + P.k):
            en = steady._layout(P, b, Bq)[1]
            whole = linebuf.stream_line_buffers(wl, P.sk1, en, i_in, i_out)
            seen.clear()
            S = steady.steady_schedule(a, dataclasses.replace(wl, batch=Bq), asg, ops)
            assert S.line_buffer_bits == whole > 0, Bq
            assert seen and max(seen) < 5 < Bq, (Bq, seen)  # (the tail's images only)


def test_a_kept_skeletons_chunks_hold_no_lists(root):
    """The one-image skeleton a stream keeps (schedule._cached_skeleton: one per structure of a sweep) holds
    each chunk's jobs as one range of ids, which the garbage collector does not track (a list per chunk,
    thousands per sweep, made every collection of the older generations walk them); the line buffers read
    the same jobs off them (linebuf._chunk_jobs: a chunk's jobs, padded with its first)."""
    import gc
    from tlm.mapping import linebuf
    a, wl, asg, ops = _stream(root, "resnet8", 3, 1, "replicate")
    S = mapper.build_schedule(a, dataclasses.replace(wl, batch=1), asg, ops)
    sk = steady._context(a, wl, asg, ops, None, None, None)[3]
    assert sk.done_of and all(type(r) is range and not gc.is_tracked(r) for r in sk.done_of.values())
    for p, arr in enumerate(linebuf._chunk_jobs(sk)):
        for q, row in enumerate(arr.tolist()):
            r = sk.done_of[(0, p, q)]
            assert set(row) == set(r) and row[:len(r)] == list(r)
    assert S.line_buffer_bits > 0


def test_a_kept_probe_holds_no_job_lists(root, monkeypatch):
    """Once the batches have read what they take from the probe run (steady._probe_parts), the kept plan holds
    no job list of the probe's w images (32 x 229 items each here): its one-image Schedule lists the
    skeleton's own jobs, and every batch's Schedule shares them (read only)."""
    monkeypatch.setattr(steady, "_CACHE", {})
    a, wl, asg, ops = _stream(root, "resnet8", 3, 1, "replicate")
    S = steady.steady_schedule(a, dataclasses.replace(wl, batch=30), asg, ops)
    (P,) = steady._CACHE.values()
    S0 = P.runs[P.w][0]
    assert P.w == 32 and all(getattr(S0, f) is None for f in ("res", "cost", "layer", "image", "row", "deps"))
    assert S.res is P.sk1.res and S.layer is P.sk1.layer and S.row is P.sk1.row and S.deps is P.sk1.deps
    assert set(S.image) == {0} and len(S.cost) == len(S.res) == len(P.sk1.res)
