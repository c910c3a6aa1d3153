"""schedule.pretime tries more than one order: the points the kept order refuses are timed again in the
order of the first refused point's list-scheduled run (PRETIME_ORDERS orders at most).  Every point it keeps
is exactly its own list schedule.

Which test fails when a mechanism is removed or wrong:
- the further orders (one order only): test_refused_points_get_another_order (1 of the 25 points kept);
- a point kept under an order the list scheduler would not choose for its own cycles, or another point's
  times: test_refused_points_get_another_order (each kept point against its own list schedule).
"""
import copy

import numpy as np

from helpers import with_changes
from tlm.config.arch import load_arch
from tlm.config.overrides import with_precision
from tlm.engines.analytic import digital_ops
from tlm.mapping import mapper, schedule
from tlm.mapping.listsched import _time
from tlm.services.bench import cold


def test_refused_points_get_another_order(root, resnet8, monkeypatch):
    """1-bit ResNet-8 pipelined on 5 macros at 5 ADC x 5 DP speeds (one skeleton): the first point's order
    suits it alone (measured: 1 of the 21 distinct kept with one order); the further orders keep the others."""
    imagine = load_arch(root / "configs" / "imagine.yaml")
    wl = with_precision(resnet8, input=1, weight=1, output=1)
    ops = [digital_ops(l) for l in wl.layers]
    cold()
    sks, costs, full = set(), [], []
    for adc in range(1, 6):
        for dp in (4, 8, 12, 16, 20):
            a = mapper.with_policy(with_changes(imagine, **{"macro.count": 5, "adc.cycles_per_bit": adc,
                                                            "macro.dp_cycles_per_bit": dp}), "pipelined")
            asg = mapper.assign(a, wl, "pipelined", ops)
            _key, sk, spec, *_ = schedule.one_image(a, wl, asg, ops)
            sks.add(sk)
            costs.append(schedule.job_costs(sk, spec))
            full.append(mapper.build_schedule(a, wl, asg, ops, stream=True))
    (sk,) = sks
    distinct = len(set(map(tuple, costs)))  # (a few points share their cycles)
    assert distinct >= 20
    monkeypatch.setattr(schedule, "PRETIME_ORDERS", 3)
    schedule.clear_pretimed()
    sk.kept_order = None  # (no order yet: the first point's run gives it)
    kept = schedule.pretime(sk, costs, wl)
    assert kept >= distinct - 3
    seen = set()
    for c, S in zip(costs, full):
        got = schedule._PRETIMED.get((id(sk), tuple(c)))
        if got is None or tuple(c) in seen:
            continue
        own = copy.copy(S)
        own.cost, own.start, own.end = list(c), None, None
        _time(own)  # (the list scheduler on this point's own cycles)
        assert np.array_equal(got[2], own.start) and np.array_equal(got[3], own.end)
        seen.add(tuple(c))
    assert len(seen) == kept
