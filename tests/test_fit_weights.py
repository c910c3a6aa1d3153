"""The global fit's residuals in units of issue 21's targets (tlm/services/globalfit.py SHARE_SCALE): a share
figure at its target (10 points off) weighs as an efficiency at its own (25% off)."""
import math

import pytest

from tlm.config.published import Figure
from tlm.services import globalfit


def _fig(metric, value, unit, **kw):
    return Figure(key="x", metric=metric, value=value, unit=unit, input_bits=1, weight_bits=1, output_bits=1,
                  **kw)


def test_a_share_at_its_target_weighs_as_an_efficiency_at_its_target():
    """An efficiency of 100 TOPS/W modelled at 125: residual ln 1.25 = 0.22314.  A 34% share modelled at 44%
    (10 points off): 10 / SHARE_SCALE, SHARE_SCALE = 10 / ln 1.25 = 44.814 points, so 0.22314 as well; at
    -10 points the same with its sign.  (At the former 10 points per unit the share gave 1.0, 4.5x.)"""
    eff = globalfit.figure_residual(_fig("energy_efficiency", 100.0, "TOPS/W"), 125.0)
    share = globalfit.figure_residual(_fig("energy_share", 34.0, "%", component="adc"), 44.0)
    assert eff == pytest.approx(0.223144, abs=1e-6)
    assert share == pytest.approx(eff, rel=1e-9)
    assert globalfit.SHARE_SCALE == pytest.approx(10.0 / math.log(1.25))
    low = globalfit.figure_residual(_fig("energy_share", 34.0, "%", component="adc"), 24.0)
    assert low == pytest.approx(-eff, rel=1e-9)
