"""What `auto` does not make twice for one point: its policies' architectures take the structure's key of the
architecture they copy (template.same_key), and the lower bound of the sequential cycles of one image makes
no second tile run (batching.layer_cycles with one image).

Which test fails when a mechanism is removed or wrong:
- the key made again for each policy's copy, or a copy taking a key that is not its own:
  test_policy_copies_take_the_key_of_the_point;
- the floor of one image timing its tiles a second time, or with other cycles than the counted plan's:
  test_one_image_floor_is_the_counted_compute;
- template.same_structure (tlm/engines/alone.py's next point) taking a structural field for a timing setting
  or the reverse: test_same_structure_by_hand;
- resident's bound (bounds._per_image) walking the layers again for a point that differs in the DMA only, or
  keeping its sum for a point whose post-processing differs: test_resident_bound_of_a_dma_point_reads_the_kept_sum.
"""
import numpy as np
import pytest

from helpers import with_changes

from tlm.config.arch import load_arch
from tlm.config.overrides import with_precision
from tlm.engines import alone, analytic
from tlm.hw import controller as hw_ctrl
from tlm.mapping import batching, mapper, template
from tlm.services.bench import cold


@pytest.fixture(scope="module")
def imagine(root):
    return load_arch(root / "configs" / "imagine.yaml")  # one macro, auto


def test_policy_copies_take_the_key_of_the_point(imagine, resnet8):
    """1-bit ResNet-8 (every policy fits one macro): after the point's key is made (alone.py asks for it),
    auto's copies of the point under each policy hold that very key object, and it equals the key made
    from scratch on a fresh copy (the mapping section is no part of a structure: template.UNREAD)."""
    wl = with_precision(resnet8, input=1, weight=1, output=1)
    cold()
    analytic.choose_policy(imagine, wl, steady=True, brief=True)  # (the structure kept)
    arch = mapper.with_policy(imagine, "auto")  # (a new point object)
    assert alone.sequential_alone(arch, wl) is None  # (the weights fit: its key made, no shortcut)
    mine = template._ARCH_KEYS[id(arch)][1]
    analytic.policy_plans(arch, wl, steady=True, lazy=True)
    copies = analytic._kept(lambda a: a, arch, wl)["policy_archs"]
    assert set(copies) >= {"sequential", "pipelined"}
    assert all(template._ARCH_KEYS[id(ap)][1] is mine for ap in copies.values())
    for p in copies:
        template._ARCH_KEYS.clear()
        assert template._arch_key(mapper.with_policy(imagine, p)) == mine


def test_one_image_floor_is_the_counted_compute(imagine, resnet8, monkeypatch):
    """One image (3 bits, one macro: sequential alone, no spill): batching.cycles_floor is the counted compute
    layers' cycles (analytic.counts; the two modes are one run), with no tile_cycles call of its own."""
    wl = with_precision(resnet8, input=3, weight=3, output=3)
    ap = mapper.with_policy(imagine, "sequential")
    cold()
    plan = analytic.build_plan(ap, wl, steady=True)
    pl, _busy, _clock = analytic.counts(ap, wl, plan)
    calls = []
    real = hw_ctrl.tile_cycles
    monkeypatch.setattr(hw_ctrl, "tile_cycles", lambda *a: calls.append(a) or real(*a))
    got = batching.cycles_floor(plan)
    assert calls == []
    assert not pl["spill_cycles"].any()
    assert got == int(pl["cycles"][plan.comp_idx].sum())
    # (the whole-batch mode of one image over the plan's own pixels, made here)
    tile = real(ap, plan.bits_in, plan.bits_out, plan.mapping.outputs_per_tile, plan.pixels, plan.bits_w)
    assert np.array_equal(tile, plan.tile_cycles)


def test_same_structure_by_hand(imagine):
    """One structure: points that differ in timing settings (ADC and DP cycles per bit, DMA bandwidth) or in
    the policy (an UNREAD section); another: a macro count, an ADC resolution or a supply (every field that is
    not a timing setting is the structure's: template.key)."""
    same = [{"adc.cycles_per_bit": 3}, {"macro.dp_cycles_per_bit": 9, "dma.bandwidth_bits_per_cycle": 16},
            {"mapping.policy": "pipelined"}]
    other = [{"macro.count": 2}, {"adc.resolution_bits": 4}, {"technology.vdd_digital_v": 0.7}]
    for ch in same:
        assert template.same_structure(imagine, with_changes(imagine, **ch)), ch
    for ch in other:
        assert not template.same_structure(imagine, with_changes(imagine, **ch)), ch
    assert template.same_structure(imagine, imagine)


def test_resident_bound_of_a_dma_point_reads_the_kept_sum(imagine, resnet8, monkeypatch):
    """Points that differ in the DMA's bandwidth only (8 and 24 bits per cycle, one post-processing section):
    the second point's layer-by-layer bound walks no layer (bounds._per_image kept by what it reads) and
    differs from the first's by the image transfers' cycles alone (hand: in and out at each bandwidth);
    a point with twice the post-processing ops per cycle walks the layers again (its digital layers cost
    fewer cycles: a smaller bound)."""
    import dataclasses
    from tlm.hw import dma as hw_dma
    from tlm.mapping import bounds
    from tlm.mapping.packing import comp_mapping
    from tlm.mapping.plan import digital_ops
    wl = with_precision(resnet8, input=1, weight=1, output=1)
    pts = [dataclasses.replace(imagine, dma=dataclasses.replace(imagine.dma, bandwidth_bits_per_cycle=bw))
           for bw in (8.0, 24.0)]
    pp = dataclasses.replace(imagine, postproc=dataclasses.replace(
        imagine.postproc, ops_per_cycle=2 * imagine.postproc.ops_per_cycle))
    cold()
    m, comp = comp_mapping(imagine, wl)
    ops = [digital_ops(l) for l in wl.layers]
    walks, real = [], bounds._hw
    monkeypatch.setattr(bounds, "_hw", lambda x: walks.append(1) or real(x))
    got = [bounds.layer_by_layer_bound(a, wl, m, comp, dict(mapper.layer_row_cycles(a, wl, m, comp)), list(ops))
           for a in pts]
    assert len(walks) == len(comp)  # (the first point's walk only)
    io = [hw_dma.transfer_cycles(a, 3 * 32 * 32 * wl.input_bits)
          + hw_dma.transfer_cycles(a, 10 * wl.layers[-1].bits_out) for a in pts]
    assert got[0] - io[0] == got[1] - io[1] and io[0] > io[1]
    less = bounds.layer_by_layer_bound(pp, wl, m, comp, mapper.layer_row_cycles(pp, wl, m, comp), ops)
    assert len(walks) == 2 * len(comp) and less < got[0]
