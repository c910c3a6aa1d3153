"""Placement and replication searched together (tlm/mapping/replicate.py): more macros never make `auto`
slower, and the macro counts between "the weights fit" and "one copy per row" are used."""
import dataclasses

import pytest

from helpers import with_changes, workload
from tlm.engines.registry import ENGINES
from tlm.mapping import mapper
from tlm.mapping.replicate import copy_cycles, more_copies


def test_copy_cycles_split_the_rows_round_robin():
    # 6 rows, row 0 = 10 cycles (the fill), later rows 4: unreplicated 10 + 5 x 4 = 30.
    # 4 copies: copy 0 rows 0, 4 (10 + 4 = 14), copy 1 rows 1, 5 (8), copies 2, 3 one row (4).
    assert copy_cycles(10, 4, 6, 1, 0) == 30
    assert [copy_cycles(10, 4, 6, 4, r) for r in range(4)] == [14, 8, 4, 4]
    assert copy_cycles(10, 4, 6, 8, 7) == 0  # more copies than rows: copy 7 has none
    # 32 rows in 11 copies: the busiest copy has 3 rows; 2 need 16 copies (ceil(32 / 2)); one more is 12
    assert more_copies(32, 11) == [12, 16] and more_copies(32, 16) == [17, 32] and more_copies(3, 3) == []


def test_macros_that_all_hold_tiles_still_get_copies(arch):
    # a: 3x3 conv 4 -> 4 on 4 x 6 x 6 (pad 1): 6 rows of 6 px; b: the same, stride 2 -> 3 rows of 3 px;
    # c: stride 2 again -> 2 rows of 2 px.  W(x) = a layer's cycles per image (its rows, tlm/hw timing).
    # The old mapper spread a, b, c over every macro first and copied only onto empty ones: on 2 or 3
    # macros no copy, slowest stage W(a).  Searched together:
    # - 2 macros: a x3 (rows {0,3} {1,4} {2,5}, a third of W(a) each); macro 0 a0 + a2 = 2 W(a) / 3,
    #   macro 1 a1 + b + c = W(a) / 3 + W(b) + W(c);
    # - 3 macros: a x4 (rows {0,4} {1,5} {2} {3}): a0 + a3, a1 + c, a2 + b.
    wl = workload([{"name": "a", "type": "conv2d", "out_channels": 4, "kernel": 3, "padding": 1},
                   {"name": "b", "type": "conv2d", "out_channels": 4, "kernel": 3, "padding": 1, "stride": 2},
                   {"name": "c", "type": "conv2d", "out_channels": 4, "kernel": 3, "padding": 1, "stride": 2}],
                  shape=(4, 6, 6))
    m, comp = mapper.comp_mapping(arch, wl)
    rc = mapper.layer_row_cycles(arch, wl, m, comp)
    H = {0: 6, 1: 3, 2: 2}

    def w(i, f=1, r=0):
        return copy_cycles(*rc[i], H[i], f, r)
    assert rc[0][0] == rc[0][1] and w(0) > w(1) + w(2)  # a is the slowest layer, its rows all alike
    for n, reps, stages in ((2, {0: 3, 1: 1, 2: 1}, [w(0, 3, 0) + w(0, 3, 2), w(0, 3, 1) + w(1) + w(2)]),
                            (3, {0: 4, 1: 1, 2: 1}, [w(0, 4, 0) + w(0, 4, 3), w(0, 4, 1) + w(2),
                                                     w(0, 4, 2) + w(1)])):
        a = mapper.with_policy(with_changes(arch, **{"macro.count": n}), "replicate")
        asg = mapper.assign(a, wl, "replicate")
        assert asg.replicas == reps and asg.macros_used == n
        S = mapper.build_schedule(a, wl, asg, [0, 0, 0], stream=True)
        assert sorted(v for k, v in S.stage.items() if k.startswith("macro")) == sorted(stages)
        assert max(stages) < w(0)  # the old mapper's slowest stage


def test_auto_on_resnet8_never_slower_with_more_macros(arch, resnet8):
    """ResNet-8 at batch 16, objective throughput: throughput never drops as macros are added, stays
    within 2x of the perfect balance (macro work per image / macros) once the weights fit (3 macros),
    and 8 macros give >= 1.6x the throughput of 4."""
    wl = dataclasses.replace(resnet8, batch=16)
    m, comp = mapper.comp_mapping(arch, wl)
    rc = mapper.layer_row_cycles(arch, wl, m, comp)
    # the macro work of one image: every tile of every layer over all its rows (308,425 cycles)
    work = sum((r0 + (mapper._hw(wl.layers[i].out_shape)[0] - 1) * r1) * int(m.tiles[j])
               for j, (i, (r0, r1)) in enumerate(rc.items()))
    f_hz = arch.clock.frequency_mhz * 1e6
    prev, got = 0.0, {}
    for n in (1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 16, 20, 24):
        a = with_changes(arch, **{"macro.count": n, "mapping.policy": "auto", "mapping.objective": "throughput"})
        t = got[n] = ENGINES["analytic"](a, wl).summary()["inferences_per_s"]  # auto resolved
        assert t >= prev, f"{n} macros slower than fewer"
        if n >= 3:
            assert t >= 0.5 * n * f_hz / work, f"{n} macros: {t:.0f} inf/s, below half the perfect balance"
        prev = t
    assert got[8] >= 1.6 * got[4]
