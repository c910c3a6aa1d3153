"""registry.run_group: a call whose points differ pairwise in a field that is not a float (an int setting,
the macros) or in a timing setting (the DMA's bandwidth, a float) runs them one by one at once
(registry._apart), without recording a first point to find groups that can only be of one; points that
differ in other floats only (supplies) are still grouped.

Which test fails when a mechanism is removed or wrong:
- the recording of a call's first points kept (or points that do share a group run apart):
  test_points_apart_are_not_recorded, which also checks every row against the point's own run.
"""
import pytest

from helpers import with_changes
from tlm.config.arch import load_arch
from tlm.config.overrides import with_precision
from tlm.engines import registry
from tlm.services.bench import cold


@pytest.fixture(scope="module")
def imagine(root):
    return load_arch(root / "configs" / "imagine.yaml")  # auto, one macro


def test_points_apart_are_not_recorded(imagine, resnet8, monkeypatch):
    """Three points that differ in the ADC's cycles per bit (an int), three in the DMA's bandwidth (a float
    timing setting): no point recorded (registry._counted), each row its own run's; three that differ in the
    digital supply only (a float): the first recorded, one group of three (the state says so), each row its
    own run's too."""
    wl = with_precision(resnet8, input=3, weight=3, output=3)
    recorded, real = [], registry._counted
    monkeypatch.setattr(registry, "_counted", lambda *a: recorded.append(a[1]) or real(*a))
    apart = [with_changes(imagine, **{"adc.cycles_per_bit": c}) for c in (1, 2, 3)]
    vdd = imagine.technology.vdd_digital_v
    close = [with_changes(imagine, **{"technology.vdd_digital_v": vdd + d}) for d in (0.0, 0.05, 0.1)]
    dma = [with_changes(imagine, **{"dma.bandwidth_bits_per_cycle": bw}) for bw in (8.0, 16.0, 24.0)]
    for archs, n_recorded, grouped in ((apart, 0, None), (dma, 0, None), (close, 1, 1)):
        cold()
        recorded.clear()
        state = {}
        got = registry.run_group(archs, wl, state=state, brief=True)
        assert len(recorded) == n_recorded and state.get("grouped") == grouped
        cold()
        assert [r.row() for r in got] == [registry.run("analytic", a, wl).row() for a in archs]
