"""Re-timing (tlm/mapping/retime.py): a schedule timed in the order of an earlier list-scheduled run of the
same skeleton is accepted only when it is, number for number, the list scheduler's own
(tlm/mapping/listsched._time) -- over random job cycles of real skeletons and of random ones full of
ties -- and the order changing under new cycles is caught."""
import copy
import random
from types import SimpleNamespace

import numpy as np
import pytest

from helpers import with_changes
from tlm.engines.analytic import digital_ops
from tlm.mapping import mapper
from tlm.mapping.listsched import _time
from tlm.mapping.mapper import with_policy
from tlm.mapping.retime import Order, retime


def _fresh(S, cost):
    """Schedule S's skeleton with other job cycles, not timed."""
    T = copy.copy(S)
    T.cost, T.start, T.end, T.order = list(cost), None, None, {}
    return T


def _check(S, ref, cost) -> bool:
    """Re-time S's skeleton under `cost` in `ref`'s order; if accepted, it must be the list scheduler's
    schedule (starts, ends, each resource's order).  Whether it was accepted."""
    full = _fresh(S, cost)
    _time(full)
    got = _fresh(S, cost)
    if not retime(got, ref):
        return False
    assert np.array_equal(got.start, full.start) and np.array_equal(got.end, full.end)
    assert got.order == full.order
    return True


def _real(arch, resnet8, policy, macros):
    """ResNet-8's one-image schedule on `macros` IMAGINE macros under `policy` (a stream's skeleton)."""
    a = with_policy(with_changes(arch, **{"macro.count": macros}), policy)
    ops = [digital_ops(l) for l in resnet8.layers]
    asg = mapper.assign(a, resnet8, policy, ops)
    return mapper.build_schedule(a, resnet8, asg, ops, stream=True)


@pytest.mark.parametrize("policy,macros", [("pipelined", 3), ("pipelined", 5), ("replicate", 4)])
def test_retimed_real_skeletons_are_the_list_schedulers(arch, resnet8, policy, macros):
    """Random cycles of a sweep's kind (the macros' jobs scaled by one factor, as ADC and DP speeds do,
    the others by another; jobs of 0 cycles, views, stay 0), then each layer's by its own factor (the
    order moves), then random small cycles (ties everywhere)."""
    S = _real(arch, resnet8, policy, macros)
    base = _fresh(S, S.cost)
    _time(base)
    ref = Order(base)
    rng = random.Random(7)
    layers = sorted(set(S.layer))
    accepted = 0
    macro = [n.startswith("macro") for n in S.names]
    for _ in range(30):
        f = (rng.uniform(0.2, 5.0), rng.uniform(0.2, 5.0))
        accepted += _check(S, ref, [int(round(c * f[macro[r]])) for c, r in zip(S.cost, S.res)])
    assert accepted >= 15  # (most sweep-like points keep the order: re-timing is used)
    for _ in range(20):
        f = {li: rng.uniform(0.3, 3.0) for li in layers}
        _check(S, ref, [int(round(c * f[li])) for c, li in zip(S.cost, S.layer)])
    for _ in range(20):
        _check(S, ref, [rng.randint(0, 3) for _ in S.cost])


def _random_skeleton(rng, n=24, resources=3):
    """n jobs on `resources` resources, of images 0..2 (a batch's ranks), each after 0-3 others, in any
    order of ids (a job can depend on a later id: its events are then taken in another order)."""
    ids = list(range(n))
    rng.shuffle(ids)  # job k of a topological order is job ids[k]
    deps = [[] for _ in range(n)]
    for k in range(n):
        deps[ids[k]] = sorted(ids[i] for i in rng.sample(range(k), min(k, rng.randint(0, 3))))
    return SimpleNamespace(res=[rng.randrange(resources) for _ in range(n)], deps=deps,
                           image=[rng.randint(0, 2) for _ in range(n)], layer=[0] * n, cost=[1] * n,
                           start=None, end=None, order={})


def test_retimed_random_skeletons_with_ties_are_the_list_schedulers():
    """Cycles 0..2 on 3,000 small random skeletons: equal times, jobs of 0 cycles (whose completions are
    taken out of job order) and several jobs ready at once are everywhere; whatever is accepted is the
    list scheduler's schedule, and much is accepted."""
    rng = random.Random(11)
    accepted = 0
    for _ in range(3000):
        S = _random_skeleton(rng, n=rng.choice([4, 6, 8, 12]), resources=rng.choice([1, 2, 3]))
        base = _fresh(S, [rng.randint(0, 2) for _ in S.res])
        _time(base)
        accepted += _check(S, Order(base), [rng.randint(0, 2) for _ in S.res])
    assert 300 < accepted < 2700


def test_an_order_the_list_scheduler_would_not_choose_is_refused():
    """Resource 0 runs A (job 1, after X on resource 1) and B (job 2, after Y on resource 2).  With X
    of 1 cycle and Y of 5, A is ready first (t=1) and runs first: A 1..11, B 11..21.  With X of 5 and Y
    of 1, the list scheduler starts B at 1 (the resource idle, B ready) and A at 11; the kept order
    (A, then B) would start A at 5 with B ready and waiting since 1: refused."""
    S = SimpleNamespace(res=[1, 0, 0, 2], deps=[[], [0], [3], []], image=[0] * 4, cost=[1, 10, 10, 5],
                        start=None, end=None, order={})
    _time(S)
    assert S.order[0] == [1, 2] and S.start.tolist() == [0, 1, 11, 0]
    ref = Order(S)
    T = _fresh(S, [5, 10, 10, 1])
    assert not retime(T, ref)
    assert T.start is None  # (nothing set)
    _time(T)
    assert T.order[0] == [2, 1] and T.start.tolist() == [0, 11, 1, 0]
    assert retime(_fresh(S, [2, 7, 3, 9]), ref)  # (X still first: the order kept)


# (resources, dependencies, images, the kept run's cycles, the new cycles): where the list scheduler's
# events at one time are taken out of job order (a job of 0 cycles started at that time, its completion
# pushed while later ones are taken) and a resource's choice turns on it.  Found by random search with
# one of `_accepted`'s rules dropped (each of these is then accepted with wrong times): an enabler of 0
# cycles is not surely first; several dependencies ending at once, one of 0 cycles, leave the enabler
# unknown; the same, for the job waiting; a resource starting a job of 0 cycles, then another, at one
# time.
EVENT_ORDER = [
    ([1, 1, 1, 0, 1, 1], [[], [], [], [], [1, 3], [0, 4]], [1, 0, 2, 1, 1, 2], [1, 1, 2, 1, 2, 2], [0, 0, 2, 0, 1, 2]),
    ([0, 1, 2, 2, 2, 0], [[], [0, 4], [], [0], [2, 5], []], [2, 0, 0, 1, 2, 1], [1, 0, 1, 2, 0, 0],
     [0, 2, 1, 0, 0, 2]),
    ([2, 1, 1, 0, 2, 2, 1], [[2, 6], [4], [5], [4, 5], [5], [], []], [1, 2, 2, 0, 1, 2, 0], [1, 2, 2, 2, 0, 0, 1],
     [0, 1, 1, 1, 0, 2, 1]),
    ([0, 1, 0, 1, 0, 1, 2, 0], [[1], [], [4, 6], [], [6], [2, 4, 6], [], [2, 5]], [2, 1, 0, 0, 1, 1, 2, 2],
     [1, 2, 2, 1, 1, 2, 0, 1], [0, 0, 2, 0, 1, 1, 0, 1]),
    ([1, 0, 1, 0, 0, 1, 1, 1, 1, 1, 0, 1], [[1, 3], [8], [], [2, 10], [], [2, 8], [1, 3, 4], [1, 5, 8], [2], [1],
     [8], [1, 5, 7]], [0, 2, 0, 0, 0, 1, 0, 2, 1, 0, 2, 1], [0, 2, 0, 1, 0, 1, 1, 1, 1, 1, 0, 1],
     [2, 1, 2, 0, 0, 0, 2, 1, 2, 1, 1, 1]),
]


@pytest.mark.parametrize("res,deps,image,kept,cost", EVENT_ORDER)
def test_ties_decided_by_the_order_of_events_are_refused(res, deps, image, kept, cost):
    S = SimpleNamespace(res=res, deps=deps, image=image, cost=kept, start=None, end=None, order={})
    _time(S)
    assert not _check(S, Order(S), cost)


def test_build_schedule_retimes_a_kept_skeleton_and_gets_the_cold_schedule(arch, resnet8, monkeypatch):
    """Two points of a sweep differing in ADC speed only share the one-image skeleton: the second is
    re-timed (no list-scheduler run) and is the schedule a cold build of that point gives."""
    from tlm.mapping import retime as rt, schedule
    calls, real = [], schedule._time
    monkeypatch.setattr(schedule, "_time", lambda S, *x: calls.append(len(S.res)) or real(S, *x))
    monkeypatch.setattr(rt, "TIMED_MAKES_ORDER", True)  # (the Order made when the second point asks)
    schedule.clear_skeletons()
    _real(arch, resnet8, "pipelined", 3)
    warm = _real(with_changes(arch, **{"adc.cycles_per_bit": 3}), resnet8, "pipelined", 3)
    assert len(calls) == 1
    schedule.clear_skeletons()
    cold = _real(with_changes(arch, **{"adc.cycles_per_bit": 3}), resnet8, "pipelined", 3)
    assert len(calls) == 2 and cold.cost == warm.cost and cold.cost != _real(arch, resnet8, "pipelined", 3).cost
    assert np.array_equal(warm.start, cold.start) and np.array_equal(warm.end, cold.end)
    assert warm.order == cold.order and warm.makespan == cold.makespan


def test_the_order_is_made_when_a_second_schedule_asks(arch, resnet8, monkeypatch):
    """schedule._timed with retime.TIMED_MAKES_ORDER keeps a list-scheduled run as it is (retime.RunOf) and
    makes its retime.Order only when the next schedule of the skeleton asks for it: one point of a
    structure makes none, a second (ADC speed changed) one, a third none more."""
    from tlm.mapping import retime, schedule
    made, real = [], retime.Order.__init__
    monkeypatch.setattr(retime.Order, "__init__", lambda self, S: made.append(1) or real(self, S))
    monkeypatch.setattr(retime, "TIMED_MAKES_ORDER", True)
    schedule.clear_skeletons()
    counts = []
    for cpb in (1, 3, 5):
        _real(with_changes(arch, **{"adc.cycles_per_bit": cpb}), resnet8, "pipelined", 3)
        counts.append(len(made))
    assert counts == [0, 1, 1]


def test_timed_makes_no_order_and_retimes_from_pretimes(arch, resnet8, monkeypatch):
    """By default schedule._timed makes no retime.Order (one costs about four list schedules of one image, a
    re-timing saves less than one): points of one structure outside `pretime` are list-scheduled, each the
    cold schedule; an Order made as `pretime` makes it (schedule._kept_order) is then used (no list
    schedule)."""
    from tlm.mapping import retime, schedule
    made, real = [], retime.Order.__init__
    monkeypatch.setattr(retime.Order, "__init__", lambda self, S: made.append(1) or real(self, S))
    calls, real_time = [], schedule._time
    monkeypatch.setattr(schedule, "_time", lambda S, *x: calls.append(len(S.res)) or real_time(S, *x))
    schedule.clear_skeletons()
    for cpb in (1, 3, 5):
        _real(with_changes(arch, **{"adc.cycles_per_bit": cpb}), resnet8, "pipelined", 3)
    assert (len(made), len(calls)) == (0, 3)  # (every point list-scheduled, no Order)
    sk = [k for k in schedule._SKELETONS.values() if k.kept_order is not None]
    assert len(sk) == 1 and isinstance(sk[0].kept_order[1], retime.RunOf)
    schedule._kept_order(sk[0])  # (what `pretime` does before timing its points)
    warm = _real(with_changes(arch, **{"adc.cycles_per_bit": 3}), resnet8, "pipelined", 3)
    assert (len(made), len(calls)) == (1, 3)  # (re-timed from the Order: no list schedule)
    schedule.clear_skeletons()
    cold = _real(with_changes(arch, **{"adc.cycles_per_bit": 3}), resnet8, "pipelined", 3)
    assert np.array_equal(warm.start, cold.start) and np.array_equal(warm.end, cold.end)
    assert warm.order == cold.order and warm.makespan == cold.makespan
