"""A sweep's `auto` points run one by one (a grid of structural settings, tlm/engines/registry.run_group)
read the cycles of a streamed policy from its schedule timed together with the other points of its
structure (tlm/engines/pretime._keep_makespans, _pretimed_makespan), without building that
schedule: a policy that loses never gets one (analytic._Pending with no schedule).  Every row is the
point's own run's.

Which test fails when a mechanism is removed or wrong:
- the makespans kept and read (pretime._keep_makespans, analytic._pending): test_losers_build_no_schedule
  (every streamed policy's schedule built again);
- a makespan not the point's own (another point's ends, the spill left out, another batch's or image's):
  test_rows_are_each_points_own_run (the winner between pipelined and replicate flips inside the
  structure; a small SRAM makes the streams spill; a second batch shares the points' layers).
"""
import dataclasses

import pytest

from helpers import with_changes
from tlm.config.arch import load_arch
from tlm.config.overrides import with_precision
from tlm.engines import analytic, pretime, registry
from tlm.engines.registry import run, run_group
from tlm.mapping import reuse, schedule
from tlm.services.bench import cold


@pytest.fixture(scope="module")
def imagine(root):
    return load_arch(root / "configs" / "imagine.yaml")  # as shipped: auto, objective throughput


def _grid(imagine, resnet8, **changes):
    """5 macros, 1-bit ResNet-8 (pipelined and replicate both fit; which wins depends on the ADC and DP
    speeds: docs/bench-results.json's SETS grid), 3 ADC x 3 DP speeds."""
    wl = with_precision(resnet8, input=1, weight=1, output=1)
    return wl, [with_changes(imagine, **{"macro.count": 5, "adc.cycles_per_bit": adc,
                                         "macro.dp_cycles_per_bit": dp, **changes})
                for adc in (1, 3, 5) for dp in (4, 12, 20)]


def _own_rows(archs, wl, monkeypatch):
    monkeypatch.setattr(registry, "PRETIME", False)
    out = []
    for a in archs:
        cold()
        out.append(run("analytic", a, wl).row())
    monkeypatch.setattr(registry, "PRETIME", True)
    return out


@pytest.mark.parametrize("changes", [{}, {"sram.capacity_kib": 1}])
def test_rows_are_each_points_own_run(imagine, resnet8, monkeypatch, changes):
    wl, archs = _grid(imagine, resnet8, **changes)
    want = _own_rows(archs, wl, monkeypatch)
    assert len({r["policy"] for r in want}) == (1 if changes else 2)  # (pipelined at some, replicate at others)
    assert len({r["cycles_per_batch"] for r in want}) == len(want)
    spilled = []
    real = pretime._pretimed_makespan

    def spy(a, w, sk, c):
        got = schedule._PRETIMED.get((id(sk), tuple(c)))
        spilled.append(got is not None and got[4][1] > a.sram.capacity_bits)
        return real(a, w, sk, c)
    monkeypatch.setattr(pretime, "_pretimed_makespan", spy)
    monkeypatch.setattr(reuse, "GIVE_UP", 0)  # (plans built plainly, as a sweep's once its plans never repeat)
    cold()
    got = run_group(archs, wl, state={"alone": registry.GIVE_UP}, brief=True)
    assert [r.row() for r in got] == want
    assert any(spilled) == bool(changes)  # (the small SRAM: the streams' line buffers spill)
    # the same points at batch 2 after batch 1 (the same architecture and layer objects): their own rows
    w2 = dataclasses.replace(wl, batch=2)
    want2 = _own_rows(archs, w2, monkeypatch)
    cold()
    run_group(archs, wl, state={"alone": registry.GIVE_UP}, brief=True)
    got2 = run_group(archs, w2, state={"alone": registry.GIVE_UP}, brief=True)
    assert [r.row() for r in got2] == want2


def test_losers_build_no_schedule(imagine, resnet8, monkeypatch):
    """Every point evaluates both streamed policies, most read off the times taken together (a _Pending
    without its schedule); the schedule of such a policy is built only when it wins."""
    wl, archs = _grid(imagine, resnet8)
    built, bare = [], []
    real_build = schedule.build_schedule
    monkeypatch.setattr(schedule, "build_schedule", lambda *a, **k: built.append(1) or real_build(*a, **k))
    real_pending = analytic._Pending.__init__

    def pending(self, S, build, makespan=None):
        bare.append(S is None)
        real_pending(self, S, build, makespan)
    monkeypatch.setattr(analytic._Pending, "__init__", pending)
    monkeypatch.setattr(reuse, "GIVE_UP", 0)  # (plans built plainly, as a sweep's once its plans never repeat)
    cold()
    run_group(archs, wl, state={"alone": registry.GIVE_UP}, brief=True)
    assert len(bare) == 2 * len(archs) and sum(bare) >= len(archs)
    # (one schedule per point, the winner's, and one for each policy whose times were not taken together)
    assert len(built) <= len(archs) + bare.count(False)
