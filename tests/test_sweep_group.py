"""Design points evaluated together (tlm/engines/registry.run_group) give each point's own Result, byte for
byte: points that agree on every field the plans, counts and cycles read share one plan and one set of
counts, and the energy formulas of tlm/hw evaluate their energy fields (supplies, capacitances, the clock)
as arrays, once for the group.

Which test fails when a mechanism is removed:
- the energies evaluated as arrays (analytic.energies with a stacked architecture) or the grouping key
  (the fields recorded while the first point ran): test_group_results_equal_single_runs, whose grid mixes
  energy fields with timing ones (dma.bandwidth_bits_per_cycle, macro.count) so a key missing a field
  the cycles read puts points of different cycles in one group;
- the grouping itself (every point run alone): test_energy_points_share_one_group.
"""
import dataclasses

import pytest

from tlm.config.arch import load_arch

from tlm.engines import registry
from tlm.engines.registry import run, run_group


@pytest.fixture(scope="module")
def imagine(root):
    return load_arch(root / "configs" / "imagine.yaml")  # as shipped: mapping.policy auto


def _with(arch, **sections):
    return dataclasses.replace(arch, **{s: dataclasses.replace(getattr(arch, s), **kw) for s, kw in sections.items()})


def _grid(arch):
    """2 x 2 x 2 energy variants of each of 2 x 2 timing/structure variants (the DMA bandwidth: a float
    field the cycles read, so only the recorded fields keep its points apart)."""
    out = []
    for n in (1, 4):
        for bw in (16.0, 64.0):
            for vdd in (0.7, 0.85):
                for cff in (1000.0, 1500.0):
                    for mhz in (100.0, 250.0):
                        out.append(_with(arch, macro={"count": n}, dma={"bandwidth_bits_per_cycle": bw},
                                         technology={"vdd_digital_v": vdd}, controller={"c_ff_per_cycle": cff},
                                         clock={"frequency_mhz": mhz}))
    return out


def test_group_results_equal_single_runs(imagine, resnet8):
    for policy in ("auto", "sequential"):
        archs = _grid(_with(imagine, mapping={"policy": policy}))
        state = {}
        got = run_group(archs, resnet8, state=state)
        for a, r in zip(archs, got):
            assert not isinstance(r, Exception), r
            assert r.to_json() == run("analytic", a, resnet8).to_json()
        assert state.get("grouped")  # (else this test checks nothing of the grouping)


def test_energy_points_share_one_group(imagine, resnet8, monkeypatch):
    """8 points differing in supplies and capacitances only: one plan, one count of cycles (one group)."""
    archs = [_with(imagine, technology={"vdd_digital_v": v}, controller={"c_ff_per_cycle": c})
             for v in (0.6, 0.7, 0.8, 0.9) for c in (900.0, 1100.0)]
    counted = []
    real = registry._counted
    monkeypatch.setattr(registry, "_counted", lambda *a: counted.append(1) or real(*a))
    state = {}
    got = run_group(archs, resnet8, state=state)
    assert len(counted) == 1 and state == {"grouped": 1}
    e = [r.on_chip_energy_pj for r in got]
    assert len(set(e)) == len(e)  # (the arrays reached every point)
    assert len({r.cycles for r in got}) == 1


def test_a_point_that_fails_alone_fails_in_a_group(imagine, resnet8):
    """A resident policy on too few macros is refused (InputError) for that point only."""
    archs = [_with(imagine, mapping={"policy": "pipelined"}, macro={"count": n},
                   technology={"vdd_digital_v": v}) for n in (1, 64) for v in (0.7, 0.8)]
    got = run_group(archs, resnet8)
    for a, r in zip(archs, got):
        try:
            want = run("analytic", a, resnet8)
        except Exception as e:  # noqa: BLE001
            assert type(r) is type(e) and str(r) == str(e)
        else:
            assert r.to_json() == want.to_json()
    assert isinstance(got[0], Exception) and not isinstance(got[-1], Exception)
