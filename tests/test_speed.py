"""Work the engines do not need to do (issue 25): counted in operations and calls, never timed (the times
are in benchmarks/).

- `packing.residency_bound`, the cheap lower bound of `macros_for_residency`: its area and big-tile count
  are exactly those of the tile rectangles the packing places, and it never exceeds the packing's count.
- A sequential plan (and `auto` where the bound exceeds the macros) never packs tiles, and the analytic
  engine's Python work does not grow with the tile count (10 tiles and 10,000 tiles: the same calls).
"""
import sys

import pytest

from helpers import with_changes, workload
from tlm.config.workload import load_workload
from tlm.engines.registry import run
from tlm.mapping import packing
from tlm.mapping.mapper import with_policy


def analytic(a, w):
    """The analytic engine through the registry (`auto` resolved there)."""
    return run("analytic", a, w)


@pytest.mark.parametrize("name", ["resnet8", "ds_cnn", "fc_autoencoder", "mnist_cnn", "mobilenet_v1_vww",
                                  "cifar10_vgg"])
def test_residency_bound_is_the_tiles_area_and_below_the_packing(arch, root, name):
    wl = load_workload(root / "workloads" / f"{name}.yaml")
    for a in (arch, with_changes(arch, **{"macro.dp_split_blocks": 1, "macro.columns": 200})):
        R, C = a.macro.rows, a.macro.columns
        rects, m, comp, items, need, _where = packing.packing(a, wl)
        area = sum(h * w for _k, _u, h, w in items)
        big = sum(1 for _k, _u, h, w in items if 2 * h > R and 2 * w > C)
        bound = packing.residency_bound(a, m)
        assert bound == max(-(-area // (R * C)), big)  # the same rectangles, summed per shape
        assert bound <= need


def test_residency_bound_of_grouped_and_odd_tiles(arch):
    # depthwise 3x3 on 40 channels: rows_g = 9, 8b weights -> 8 columns per group; 1152 // 9 = 128 and
    # 256 // 8 = 32 groups per tile: tiles of 32 + 8 groups, 32 x 9 = 288 -> 384 rows (3 blocks of 128)
    # x 256 columns and 8 x 9 = 72 -> 128 rows x 64 columns.  A dense 1300 -> 40: row tiles 1152 and 148
    # (-> 256) rows, column tiles of 32 and 8 channels (256 and 64 columns): four tiles.  (The second
    # layer of `wl`, a dense 40 -> 40 beside the depthwise conv: 40 rows -> 128, columns 256 and 64.)
    wl = workload([{"name": "dw", "type": "conv2d", "out_channels": 40, "kernel": 3, "groups": 40, "padding": 1},
                   {"name": "fc", "type": "dense", "out_features": 40, "input": "input"}], shape=(40, 1, 1))
    wl2 = workload([{"name": "fc", "type": "dense", "out_features": 40}], shape=(1300, 1, 1))
    m = packing.comp_mapping(arch, wl)[0]
    rects = packing.tile_rects(arch, wl)[0]
    assert sorted(rects[0]) == [(72, 128, 64), (288, 384, 256)]
    assert sorted(rects[1]) == [(40, 128, 64), (40, 128, 256)]
    # area 384 x 256 + 128 x 64 + 128 x 256 + 128 x 64 = 147,456 cells <= one macro's 294,912
    assert packing.residency_bound(arch, m) == 1
    m2 = packing.comp_mapping(arch, wl2)[0]
    assert sorted(packing.tile_rects(arch, wl2)[0][0]) == [(148, 256, 64), (148, 256, 256), (1152, 1152, 64),
                                                            (1152, 1152, 256)]
    # area (1152 + 256) x (256 + 64) = 450,560 cells -> 2 macros; one tile taller and wider than half
    assert packing.residency_bound(arch, m2) == 2


def _wide(tiles_per_side):
    """Two dense layers whose weight tiles number tiles_per_side^2 each (1152 rows x 32 channels per tile)."""
    n = tiles_per_side
    return workload([{"name": "f1", "type": "conv2d", "out_channels": 32 * n, "kernel": 1},
                     {"name": "f2", "type": "conv2d", "out_channels": 32 * n, "kernel": 1, "input": "input"}],
                    shape=(1152 * n, 1, 1))


def _calls(fn):
    """Python function calls (and calls of builtins from Python) made by fn()."""
    n = [0]

    def prof(frame, event, arg):
        if event in ("call", "c_call"):
            n[0] += 1
    sys.setprofile(prof)
    try:
        fn()
    finally:
        sys.setprofile(None)
    return n[0]


@pytest.mark.parametrize("policy", ["sequential", "auto"])
def test_sequential_plan_work_does_not_grow_with_the_tiles(arch, monkeypatch, policy):
    a = with_policy(arch, policy)  # one macro: residency is impossible, so `auto` runs sequential alone
    small, big = _wide(2), _wide(71)  # 8 and 10,082 weight tiles
    assert analytic(a, big).per_layer["tiles"].sum() == 2 * 71 * 71
    for mod_fn in ("pack_ffd", "tile_rects", "pack_balanced"):  # no tile is placed one by one
        monkeypatch.setattr(packing, mod_fn, lambda *a, **k: pytest.fail("a sequential plan packed tiles"))
    analytic(a, small)  # warm (first-call imports and caches)
    n_small, n_big = _calls(lambda: analytic(a, small)), _calls(lambda: analytic(a, big))
    assert n_big <= n_small + 20, (n_small, n_big)
    r = analytic(a, big)
    assert r.extra["mapping"]["macros_for_residency"] == 2 * 71 * 71  # every tile is a whole-height big tile
    assert r.extra["mapping"]["macros_for_residency_exact"] is False


# ---- plans shared between runs that differ in fields no plan reads (tlm/mapping/reuse.py) ----------------
def test_a_plan_is_shared_by_architectures_that_differ_in_energy_only(arch, resnet8):
    from tlm.mapping import reuse
    from tlm.mapping.plan import build_plan

    def kept(a):  # (the first plan of a workload is built plainly and kept nowhere: a single run records nothing)
        reuse.clear()
        first = build_plan(a, resnet8, steady=True)
        second = build_plan(a, resnet8, steady=True)
        assert second is not first
        return second
    p = kept(arch)
    assert build_plan(arch, resnet8, steady=True) is p
    for change in ({"clock.frequency_mhz": 250.0}, {"technology.vdd_digital_v": 0.7},
                   {"controller.c_ff_per_cycle": 1000.0}):
        b = with_changes(arch, **change)
        assert build_plan(b, resnet8, steady=True) is p  # not rebuilt
        reuse.clear()
        fresh = analytic(b, resnet8)  # its own plan
        kept(with_policy(arch, "sequential"))
        got = analytic(b, resnet8)  # the plan of `arch`
        assert got.cycles == fresh.cycles and got.energy_pj.tolist() == fresh.energy_pj.tolist()
        assert got.summary() == fresh.summary() and got.arch is b
        p = kept(arch)
    # a timing parameter is read by the plan: another plan, other cycles (8 -> 9 cycles per ADC bit)
    b = with_changes(arch, **{"adc.cycles_per_bit": arch.adc.cycles_per_bit + 1})
    q = build_plan(b, resnet8, steady=True)
    assert q is not p and analytic(b, resnet8).cycles > analytic(arch, resnet8).cycles
    assert build_plan(arch, resnet8) is not p  # the TLM engine's plans are its own
