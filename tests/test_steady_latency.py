"""The image latency of a stream's batches past its steady state (tlm/mapping/steady.py `_latencies`): every
q of a base run at once, each the latency the full job list gives."""
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
