"""Sinangil et al. JSSC 2021 (configs/published/sinangil_jssc2021.yaml) at 0.8 and 1.0 V: every part of its
model (read word-line pulses, bit-line discharge, flash comparators) switches C V^2 at the swept supply, and
its paper states no part at a fixed supply nor a bias current (the config's audit), so its energy per
operation rises (1.0 / 0.8)^2 = 1.5625x, where the paper's average-output point (351 -> 321 TOPS/W) falls
1.09x and its Table I 1.39-1.40x: the eff_4b_100v miss (-35%) is this ratio, not a fitted value."""
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
