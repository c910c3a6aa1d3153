"""What the winning stream's schedule and counts share between the points of one structure that differ in
timing settings only (the precision x ADC x DMA grid's): mapper.apply's sums kept from the schedule's stages
(tlm/mapping/streamsums.py: each (row, resource) pair's cycles B times one image's, the resources each row
uses one per skeleton), and each resource's job order the run it was shifted or re-timed from has
(tlm/mapping/retime.ORDER_SHARED).

Which test fails when a mechanism is removed or wrong:
- the kept sums: test_kept_sums_are_the_jobs_sums (against the sums made from every job, at several timing
  points and batches; it also fails when nothing is kept, or when the per-row resources are not one object
  for the skeleton's points);
- the shared orders: test_shifted_and_retimed_orders_are_shared (each point's orders equal a cold build's,
  and are the lists of the run it was timed from: fails when they are copied);
- the shared job lists (streamsums.job_lists): test_shifted_and_retimed_orders_are_shared too (each point's
  lists equal a cold build's with copies, and are one set of lists for the skeleton's points).
"""
import dataclasses

import numpy as np
import pytest

from helpers import with_changes
from tlm.config.arch import load_arch
from tlm.config.overrides import with_precision
from tlm.engines.analytic import counts
from tlm.mapping import mapper, retime, schedule, streamsums
from tlm.mapping.plan import Plan
from tlm.mapping.rules import digital_ops
from tlm.services.bench import cold

# one macro at 1-bit precision (pipelined fits: the precision x ADC x DMA grid's points where it wins)
TIMING = [{}, {"adc.cycles_per_bit": 3}, {"dma.bandwidth_bits_per_cycle": 8},
          {"adc.cycles_per_bit": 5, "dma.bandwidth_bits_per_cycle": 200}]


@pytest.mark.parametrize("batch", [1, 3])
def test_kept_sums_are_the_jobs_sums(root, resnet8, monkeypatch, batch):
    """At each timing point (and a batch of 1 and of 3 images, built image by image: no steady state),
    _job_sums from what the stages kept equals _job_sums of every job (streamsums.ON False), and the whole
    counts (per-layer arrays, busy cycles, clock) are the same both ways; the per-row resources are one
    array for all points of the skeleton."""
    wl = with_precision(resnet8, input=1, weight=1, output=1)
    wl = dataclasses.replace(wl, batch=batch)
    base = mapper.with_policy(load_arch(root / "configs" / "imagine.yaml"), "pipelined")
    archs = [with_changes(base, **ch) for ch in TIMING]
    n, kept, made = len(wl.layers), [], []
    for on, out in ((True, kept), (False, made)):
        monkeypatch.setattr(streamsums, "ON", on)
        cold()
        for a in archs:
            plan = Plan(a, wl, None, "pipelined")  # (steady False: every job of the batch)
            S = plan.schedule
            R = len(S.names)
            sums = mapper._job_sums(S, n, R, a.macro.count, True)
            assert (sums[0] is None) == on  # (kept: no job rows made)
            pl, busy, clock = counts(a, wl, plan)
            out.append((sums, {k: v.copy() for k, v in pl.items()}, busy, clock.copy(), S.makespan))
    for k, ((s1, pl1, b1, c1, m1), (s0, pl0, b0, c0, m0)) in enumerate(zip(kept, made)):
        for j in (2, 4):  # pair cycles, resources per row
            assert s1[j].dtype == s0[j].dtype and np.array_equal(s1[j], s0[j]), (k, j)
        assert s1[5] == s0[5] and isinstance(s1[5], int), k  # macro busy cycles
        assert b1 == b0 and np.array_equal(c1, c0) and m1 == m0, k
        for name in pl0:
            assert np.array_equal(pl1[name], pl0[name]), (k, name)
        assert s1[4] is kept[0][0][4]  # (one per skeleton: the timing points share it)
    # the points differ in their timing: the kept sums are each point's own
    assert kept[1][0][2].sum() != kept[0][0][2].sum() and kept[2][4] != kept[0][4]


def _stream(arch, wl):
    """The pipelined schedule of one image (steady False: list-scheduled, shifted or re-timed)."""
    ops = [digital_ops(l) for l in wl.layers]
    return mapper.build_schedule(arch, wl, mapper.assign(arch, wl, "pipelined", ops), ops, stream=True)


def test_shifted_and_retimed_orders_are_shared(root, resnet8, monkeypatch):
    """Points of one skeleton: DMA bandwidths (the first list-scheduled, the others shifted from it) and an
    ADC speed.  Each point's starts, ends and orders are those of its cold build; the shifted points' orders
    are one set of lists, the kept run's; the orders of a schedule timed in a kept Order are the Order's."""
    wl = with_precision(resnet8, input=1, weight=1, output=1)
    base = mapper.with_policy(load_arch(root / "configs" / "imagine.yaml"), "pipelined")
    points = [with_changes(base, **ch) for ch in ({"dma.bandwidth_bits_per_cycle": 64},
                                                  {"dma.bandwidth_bits_per_cycle": 8},
                                                  {"dma.bandwidth_bits_per_cycle": 200},
                                                  {"adc.cycles_per_bit": 3})]
    cold()
    schedule.clear_skeletons()
    got = [_stream(a, wl) for a in points]
    monkeypatch.setattr(streamsums, "JOB_LISTS_SHARED", False)
    for a, S in zip(points, got):
        cold()
        schedule.clear_skeletons()
        F = _stream(a, wl)
        assert S.start.tolist() == F.start.tolist() and S.end.tolist() == F.end.tolist()
        assert list(S.order.items()) == list(F.order.items())
        for k in ("res", "layer", "image", "row"):
            assert type(getattr(S, k)) is type(getattr(F, k)) is list and getattr(S, k) == getattr(F, k), k
    for k in ("res", "layer", "image", "row"):  # (the skeleton's, not copies: the DMA points share them)
        assert getattr(got[0], k) is getattr(got[1], k) is getattr(got[2], k), k
    assert got[1].cost[0] != got[2].cost[0]  # (other transfers: shifted, not the same schedule)
    for r, js in got[1].order.items():
        assert got[2].order[r] is js  # (the kept run's list, not a copy)
    assert got[1].order is not got[2].order  # (each schedule's own dict)
    # a schedule timed in a kept Order (retime.retime, schedule.pretime's points): that Order's lists
    ref = retime.Order(got[0])
    o = retime.ordered(ref, got[0].start)
    assert list(o.items()) == list(got[0].order.items()) and all(o[r] is ref.order[r] for r in o)
