"""Sinangil et al. JSSC 2021 (configs/published/sinangil_jssc2021.yaml) at 0.8 and 1.0 V: every part of its
model (read word-line pulses, bit-line discharge, flash comparators) switches C V^2 at the swept supply, and
its paper states no part at a fixed supply nor a bias current (the config's audit), so its energy per
operation rises (1.0 / 0.8)^2 = 1.5625x, where the paper's average-output point (351 -> 321 TOPS/W) falls
1.09x and its Table I 1.39-1.40x: the eff_4b_100v miss (-35%) is this ratio, not a fitted value.  That
1.09x point is not reachable by any supply structure either (the second test, from Table I's own points)."""
import pytest

from tlm.config.arch import load_with_published
from tlm.services import paper


def test_sinangil_energy_per_op_scales_as_v_squared(root):
    """Efficiency 0.8 V / efficiency 1.0 V = 1.5625 within 1% (the leakage, charged over a shorter cycle at
    1.0 V, is a small part), so the model's 1.0 V point is its 0.8 V point / 1.5625."""
    arch, pub = load_with_published(root / "configs" / "published" / "sinangil_jssc2021.yaml")
    figs = {f.key: f for f in pub.figures}
    lo = paper.model_value(arch, figs["eff_4b_080v"])
    hi = paper.model_value(arch, figs["eff_4b_100v"])
    assert lo / hi == pytest.approx((1.0 / 0.8) ** 2, rel=0.01)
    assert figs["eff_4b_080v"].value / figs["eff_4b_100v"].value == pytest.approx(1.09, abs=0.01)


# Table I at average output 0 (no RWL pulse, no discharge: the data-independent energy), 0.8 / 1.0 V, TOPS/W
# [paper] via CiMLoop (workspace/models/arch/1_macro/sinangil_jssc_2021/_tests.py, test_tops); output 15 is
# 262.3 / 189.3 there.
TABLE1_OUT0 = {0.8: 610.5, 1.0: 435.5}
TABLE1_OUT15 = {0.8: 262.3, 1.0: 189.3}


def test_sinangil_100v_point_needs_energy_that_falls_with_supply(root):
    """Why no supply structure is modelled for eff_4b_100v.  Energy per MVM = 2048 ops (64 x 16 MACs x 2) /
    TOPS/W.  Output 0 -> 6 adds 2048/351 - 2048/610.5 = 5.835 - 3.355 = 2.480 pJ at 0.8 V and 2048/321 -
    2048/435.5 = 6.380 - 4.703 = 1.677 pJ at 1.0 V: the output-dependent energy (pulses, discharge) would
    fall 0.676x as the supply rises 1.25x.  The weakest scaling any supply structure gives is above that: a
    fixed-voltage part 1.00x, a static current over the cycle V I t = 1.25 x 4.50 / 5.50 = 1.02x (cycles
    2048 / 455.1 and 2048 / 372.4 GOPS), a fixed swing C dV V 1.25x, C V^2 1.5625x.  At 0.8 V output 6
    sits (5.835 - 3.355) / (7.808 - 3.355) = 0.557 of the way from output 0 to 15; there at 1.0 V:
    4.703 + 0.557 x (10.819 - 4.703) = 8.109 pJ = 252.6 TOPS/W."""
    _, pub = load_with_published(root / "configs" / "published" / "sinangil_jssc2021.yaml")
    figs = {f.key: f.value for f in pub.figures}

    def e(tops_w):  # pJ per MVM
        return 2048.0 / tops_w
    inc = {0.8: e(figs["eff_4b_080v"]) - e(TABLE1_OUT0[0.8]),
           1.0: e(figs["eff_4b_100v"]) - e(TABLE1_OUT0[1.0])}
    assert inc[1.0] / inc[0.8] == pytest.approx(0.676, abs=0.002)
    cycle_ratio = figs["tops_4b_080v"] / figs["tops_4b_100v"]  # 4.50 ns / 5.50 ns
    weakest = min(1.0, 1.25 * cycle_ratio, 1.25, 1.25 ** 2)
    assert weakest == pytest.approx(1.0) and inc[1.0] / inc[0.8] < weakest
    place = inc[0.8] / (e(TABLE1_OUT15[0.8]) - e(TABLE1_OUT0[0.8]))
    e6 = e(TABLE1_OUT0[1.0]) + place * (e(TABLE1_OUT15[1.0]) - e(TABLE1_OUT0[1.0]))
    assert place == pytest.approx(0.557, abs=0.001) and 2048.0 / e6 == pytest.approx(252.6, abs=0.2)
