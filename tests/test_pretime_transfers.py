"""registry._pretime makes no look when at most a quarter of a call's points differ from the point before in
more than the DMA's transfer settings (registry._firsts, TRANSFER_SETTINGS): the others' one-image streams
shift from the run before (tlm/mapping/retime.shifted), the rows the same.

Which test fails when a mechanism is removed or wrong:
- `_firsts` taking a transfer setting for a structural or timing difference, or the reverse:
  test_firsts_by_hand;
- the look at every point (no gating): test_points_that_differ_in_transfers_only_shift (every point timed
  together then, for nothing: they shift all the same), which also checks the rows against runs with no
  look at all;
- a look at points none of which runs a streamed policy (pinned sequential or resident), or at auto's
  points of the structure where sequential was alone for the point asked last (tlm/engines/alone.py):
  test_no_look_where_no_policy_streams.
"""
import pytest

from helpers import with_changes
from tlm.config.arch import load_arch
from tlm.config.overrides import with_precision
from tlm.engines import registry
from tlm.mapping import retime, schedule
from tlm.services.bench import cold


@pytest.fixture(scope="module")
def imagine(root):
    return load_arch(root / "configs" / "imagine.yaml")  # auto, one macro


def _point(imagine, adc=1, bw=8, lat=None, macros=None):
    ch = {"adc.cycles_per_bit": adc, "dma.bandwidth_bits_per_cycle": bw}
    if lat is not None:
        ch["dma.latency_cycles"] = lat
    if macros is not None:
        ch["macro.count"] = macros
    return with_changes(imagine, **ch)


def test_firsts_by_hand(imagine):
    """Points (ADC cycles per bit, DMA bits per cycle, DMA latency, macros): a point starts a run unless
    only the DMA's bandwidth and latency differ from the point before."""
    lat = imagine.dma.latency_cycles
    pts = [(1, 8, None, None), (1, 16, None, None), (1, 16, lat + 3, None),  # 0 first; 1, 2: transfers only
           (2, 16, None, None),  # 3: the ADC
           (2, 8, None, None),  # 4: transfers only
           (2, 8, None, 2),  # 5: the macros
           (1, 8, None, None)]  # 6: ADC and macros
    assert registry._firsts([_point(imagine, *p) for p in pts]) == [0, 3, 5, 6]
    a = _point(imagine)
    assert registry._firsts([a, a, a]) == [0]


def test_points_that_differ_in_transfers_only_shift(imagine, resnet8, monkeypatch):
    """Two ADC settings x 8 DMA bandwidths of one structure (one macro, 1-bit ResNet-8: the streamed
    policies fit), in sweep order (the DMA fastest): no look, and the 14 points after a first have their
    one-image streams shifted from the point before (the winner pipelined's, built for every point;
    replicate is pipelined's run) -- with every point looked at, all 16 are timed together, for nothing: a
    point's run shifts before it reads a time kept for it (schedule.build_schedule).  Rows: the same as with
    no look at all (registry.PRETIME False)."""
    wl = with_precision(resnet8, input=1, weight=1, output=1)
    archs = [_point(imagine, adc, bw) for adc in (1, 2) for bw in range(8, 72, 8)]
    real = retime.shifted
    shifted = []

    def spy(S, sk):
        got = real(S, sk)
        shifted.append(got)
        return got
    monkeypatch.setattr(retime, "shifted", spy)
    cold()
    got = registry.run_group(archs, wl, state={"alone": registry.GIVE_UP}, brief=True)
    assert sum(shifted) == 14
    assert not schedule._PRETIMED  # (no look timed anything)
    monkeypatch.setattr(registry, "PRETIME", False)
    cold()
    ref = registry.run_group(archs, wl, state={"alone": registry.GIVE_UP}, brief=True)
    assert [r.row() for r in got] == [r.row() for r in ref]
    assert {r.extra["mapping"]["policy"] for r in got} == {"pipelined"}


def test_no_look_where_no_policy_streams(imagine, resnet8, monkeypatch):
    """Points pinned to sequential or resident (no streamed schedule in their runs): `_pretime` makes no look;
    one point under auto among them: it looks."""
    from tlm.engines import pretime
    from tlm.mapping import mapper
    wl = with_precision(resnet8, input=1, weight=1, output=1)
    calls = []
    monkeypatch.setattr(pretime, "pretime_streams", lambda archs, *a: calls.append(len(archs)) or 0)
    pts = [_point(imagine, adc) for adc in (1, 2, 3)]
    for p in ("sequential", "resident"):
        registry._pretime(None, [mapper.with_policy(a, p) for a in pts], wl, None, {})
    assert calls == []
    registry._pretime(None, [mapper.with_policy(a, "sequential") for a in pts[:2]] + pts[2:], wl, None, {})
    assert calls == [3]
    # auto at 8 bits on one macro: only sequential fits; once a point's run found its structure so (the
    # second point reads the kept structure), the look at the others of that structure is left out
    from tlm.engines import analytic
    w8 = with_precision(resnet8, input=8, weight=8, output=8)
    cold()
    for a in pts[:2]:
        analytic.choose_policy(a, w8, steady=True, brief=True)
    registry._pretime(None, pts, w8, None, {})
    assert calls == [3]
    registry._pretime(None, pts, wl, None, {})  # (1 bit: the streamed policies fit, another structure)
    assert calls == [3, 3]
