"""The analytic core on hand-computed layers, invariants and monotonic physics."""
import math

import numpy as np
import pytest

from conftest import ROOT, SHIPPED_WORKLOADS
from helpers import with_changes, workload
from tlm.engines.analytic import simulate
from tlm.config.arch import load_arch
from tlm.engines.result import KIND_NAMES
from tlm.config.workload import load_workload

CONFIGS = sorted(p.stem for p in (ROOT / "configs").glob("*.yaml"))


def kind(r, k, row=None):
    col = KIND_NAMES.index(k)
    return r.energy_pj[:, col].sum() if row is None else r.energy_pj[row, col]


def test_one_conv_layer_by_hand(arch):
    """3x3 conv, 4 -> 8 channels, 6x6 map, padding 1, 8b everywhere, weights resident (1 tile)."""
    a = with_changes(arch, **{"adc.pipelined": False})
    wl = workload([{"name": "c", "type": "conv2d", "out_channels": 8, "kernel": 3, "padding": 1}])
    r = simulate(a, wl)
    m, adc, t = a.macro, a.adc, a.technology
    P, rows, cols, r_in, r_out = 36, 3 * 3 * 4, 8 * 8, 8, 8
    t_dp = r_in * m.dp_cycles_per_bit
    t_cv = math.ceil(8 / adc.converters_per_macro) * (adc.fixed_cycles + r_out * adc.cycles_per_bit)
    assert r.per_layer["cycles"][0] == P * (t_dp + t_cv)  # one tile, weights resident: no load
    assert r.per_layer["weight_bits_loaded"][0] == 0
    assert r.extra["weights_resident"]
    bw = a.dma.bandwidth_bits_per_cycle
    io = (a.dma.latency_cycles + math.ceil(4 * 36 * 8 / bw)) + (a.dma.latency_cycles + math.ceil(8 * 36 * 8 / bw))
    assert r.per_layer["cycles"][1] == io
    assert r.cycles == P * (t_dp + t_cv) + io
    d = a.activity.input_bit_density
    va2, vd2 = t.vdd_array_v ** 2, t.vdd_digital_v ** 2
    dp_cycles = P * r_in
    e_dp = dp_cycles * (rows * cols * d * m.c_cell_ff + cols * m.c_column_ff) * va2 / 1000
    e_drv = dp_cycles * rows * d * m.c_row_driver_ff * vd2 / 1000
    # the SAR converts on the array (adc.cdac: array): the conventional-switching mean at 8b (339.3359375 C_u
    # over 2^8 C_u, tests/test_paper.py SWITCHING) of the 8 merged columns' cells on the rows connected to
    # the lines: the 36 rows round up to one DP-split block of 1152 / 9 = 128 rows
    c_dac = 339.3359375 / 256 * 8 * 128 * m.c_cell_ff
    # the ABN bank (sized for the widest line, 8 merged columns x 1152 rows) shifts this 8 x 128-row line by
    # the same fraction of its swing with 128 / 1152 of its capacitance (tlm/hw/adc.py abn_on_line_ff)
    c_abn = adc.c_abn_ff * (8 * 128) / (8 * 1152)
    e_conv = P * 8 * (r_out * adc.c_comparator_ff * vd2 + (c_dac + c_abn) * va2) / 1000
    assert kind(r, "dp_array", 0) == pytest.approx(e_dp, rel=1e-12)
    assert kind(r, "input_drivers", 0) == pytest.approx(e_drv, rel=1e-12)
    assert kind(r, "adc", 0) == pytest.approx(e_conv, rel=1e-12)
    in_bits, out_bits = 4 * 36 * 8, 8 * 36 * 8
    assert kind(r, "sram_read", 0) == pytest.approx(in_bits * a.sram.c_read_ff_per_bit * vd2 / 1000, rel=1e-12)
    assert kind(r, "sram_write", 0) == pytest.approx(out_bits * a.sram.c_write_ff_per_bit * vd2 / 1000, rel=1e-12)
    tile = P * (t_dp + t_cv)
    c = a.controller  # always-on clock + per active row per cycle (spine + r_in window bits clocked) +
    # im2col writes of r_in window bits per row per pixel + ABN parameters of the 8 channels once per tile
    e_ctrl = (r.cycles * c.c_ff_per_cycle + rows * tile * (c.c_ff_per_row_cycle + r_in * c.c_ff_per_window_bit_cycle)
              + rows * P * r_in * c.c_ff_per_window_bit + 8 * c.abn_param_bits * c.c_ff_per_abn_bit) * vd2 / 1000
    assert kind(r, "controller") == pytest.approx(e_ctrl, rel=1e-12)
    leak_uw = m.count * (m.leakage_uw + adc.leakage_uw) + a.sram.leakage_uw + a.controller.leakage_uw
    assert kind(r, "leakage") == pytest.approx(leak_uw * r.cycles * a.clock.period_ns / 1000, rel=1e-12)
    assert kind(r, "external") == pytest.approx((in_bits + out_bits) * a.dma.external_energy_pj_per_bit)
    assert r.per_layer["spatial_utilization"][0] == pytest.approx(rows * cols / (m.rows * m.columns))
    assert r.macs == P * 8 * 36


def test_column_tiles_and_weight_reloads_by_hand(arch):
    """64 output channels of 8b weights need 512 columns: two column tiles on one macro, each loaded
    through the DMA before it runs (not double-buffered), plus a second layer so nothing is resident."""
    a = with_changes(arch, **{"adc.pipelined": False, "macro.weight_double_buffer": False, "macro.count": 1})
    wl = workload([{"name": "c1", "type": "conv2d", "out_channels": 64, "kernel": 3, "padding": 1},
                   {"name": "c2", "type": "conv2d", "out_channels": 8, "kernel": 1}])
    r = simulate(a, wl)
    assert not r.extra["weights_resident"]
    m, adc, dma = a.macro, a.adc, a.dma
    assert (r.per_layer["row_tiles"][0], r.per_layer["col_tiles"][0], r.per_layer["tiles"][0]) == (1, 2, 2)
    P, rows = 36, 36
    ch = m.columns // 8  # channels per tile
    tile = P * (8 * m.dp_cycles_per_bit + math.ceil(ch / adc.converters_per_macro)
                * (adc.fixed_cycles + 8 * adc.cycles_per_bit))
    load = dma.latency_cycles + math.ceil(rows * ch * 8 / min(dma.bandwidth_bits_per_cycle,
                                                               m.weight_write_bits_per_cycle))
    assert r.per_layer["cycles"][0] == 2 * tile + 2 * load
    assert r.per_layer["weight_bits_loaded"][0] == rows * 64 * 8
    vd2 = a.technology.vdd_digital_v ** 2
    # each written bit: its write bit line (rows x c_write_bitline_ff_per_cell) at vdd_array, the driver at vdd_digital
    va2 = a.technology.vdd_array_v ** 2
    e_bit = m.rows * m.c_write_bitline_ff_per_cell * va2 + m.c_weight_write_ff_per_bit * vd2
    assert kind(r, "weight_write", 0) == pytest.approx(rows * 512 * e_bit / 1000)
    # the input is read once per column tile (a line buffer reuses it within a tile)
    assert r.per_layer["sram_read_bits"][0] == 2 * 4 * 36 * 8
    # double buffering hides the second load behind the first tile's compute
    b = simulate(with_changes(a, **{"macro.weight_double_buffer": True}), wl)
    assert b.per_layer["cycles"][0] == load + max(tile, load) + tile


@pytest.mark.parametrize("cfg", CONFIGS)
@pytest.mark.parametrize("name", SHIPPED_WORKLOADS)
def test_invariants_on_shipped(cfg, name):
    from tlm.engines.registry import run
    a = load_arch(ROOT / "configs" / f"{cfg}.yaml")  # mapping.policy auto: resolved by the registry
    r = run("analytic", a, load_workload(ROOT / "workloads" / f"{name}.yaml"))
    E = r.energy_pj
    assert np.all(E >= 0) and np.all(np.isfinite(E))
    assert sum(r.energy_by_kind_pj.values()) == pytest.approx(r.total_energy_pj, rel=1e-12)
    assert sum(r.energy_by_component_pj.values()) == pytest.approx(r.total_energy_pj, rel=1e-12)
    assert E.sum(axis=1).sum() == pytest.approx(r.total_energy_pj, rel=1e-12)
    for k in ("spatial_utilization", "temporal_utilization"):
        assert np.all((r.per_layer[k] >= 0) & (r.per_layer[k] <= 1)), k
    s = r.summary()
    assert 0 <= s["spatial_utilization"] <= 1 and 0 <= s["temporal_utilization"] <= 1
    assert r.cycles == r.per_layer["cycles"].sum() > 0
    assert np.all(r.per_layer["cycles"] >= r.per_layer["compute_cycles"])


@pytest.mark.parametrize("name", SHIPPED_WORKLOADS)
def test_more_macros_never_slower(arch, name):
    wl = load_workload(ROOT / "workloads" / f"{name}.yaml")
    prev = None
    for n in (1, 2, 3, 4, 8, 16):
        r = simulate(with_changes(arch, **{"macro.count": n}), wl)
        if prev is not None:
            assert np.all(r.per_layer["compute_cycles"] <= prev.per_layer["compute_cycles"])
            assert r.cycles <= prev.cycles
        prev = r


def test_doubling_macros_halves_evenly_split_compute(arch):
    """4 column tiles: rounds go 4 -> 2 -> 1 as macros go 1 -> 2 -> 4."""
    wl = workload([{"name": "c", "type": "conv2d", "out_channels": 128, "kernel": 3, "padding": 1},
                   {"name": "d", "type": "conv2d", "out_channels": 8, "kernel": 1}])
    cyc = [simulate(with_changes(arch, **{"macro.count": n}), wl).per_layer["compute_cycles"][0]
           for n in (1, 2, 4)]
    assert cyc[0] == 2 * cyc[1] == 4 * cyc[2]


@pytest.mark.parametrize("which", ["input", "weight", "output"])
@pytest.mark.parametrize("name", ["resnet8", "mnist_cnn"])
def test_higher_precision_never_cheaper(arch, which, name):
    from tlm.config.yamlio import load_file
    data = load_file(ROOT / "workloads" / f"{name}.yaml")
    energies, cycles = [], []
    from tlm.config.workload import parse_workload
    for b in range(1, 9):
        d = dict(data)
        d["precision"] = {"input": 8, "weight": 8, "output": 8, which: b}
        if which == "input":
            d["input"] = {"shape": list(data["input"]["shape"]), "bits": b}
        r = simulate(arch, parse_workload(d, "<test>"))
        energies.append(r.on_chip_energy_pj / r.batch)
        cycles.append(r.cycles)
    assert all(e2 >= e1 for e1, e2 in zip(energies, energies[1:])), energies
    assert energies[-1] > energies[0]


def test_row_tiles_accumulate_partial_sums(arch):
    """3x3x256 = 2304 rows > 1152: two row tiles, partial sums through SRAM and the digital adders."""
    wl = workload([{"name": "big", "type": "conv2d", "out_channels": 16, "kernel": 3, "padding": 1}],
                  shape=(256, 4, 4))
    r = simulate(arch, wl)
    assert r.per_layer["row_tiles"][0] == 2
    out_elems = 16 * 16
    assert r.per_layer["postproc_ops"][0] == out_elems  # one add per output per extra row tile
    psum = out_elems * arch.controller.psum_bits
    assert r.per_layer["sram_write_bits"][0] == out_elems * 8 + psum
    assert r.per_layer["conversions"][0] == 2 * out_elems  # one conversion per row tile
    assert any("partial sums are accumulated digitally" in n and "big" in n for n in r.notes)


def test_depthwise_groups_pack_block_diagonally(arch):
    wl = workload([{"name": "dw", "type": "conv2d", "out_channels": 32, "kernel": 3, "padding": 1,
                    "groups": 32}], shape=(32, 8, 8))
    r = simulate(arch, wl)
    pl = r.per_layer
    assert pl["tiles"][0] == 1 and pl["groups_per_tile"][0] == 32
    assert pl["rows_per_tile"][0] == 32 * 9 and pl["cols_per_tile"][0] == 32 * 8
    assert pl["spatial_utilization"][0] == pytest.approx(32 * 9 * 8 / (1152 * 256))
    assert any("maps poorly" in n for n in r.notes)


def test_small_sram_spills_to_external_memory(arch):
    wl = load_workload(ROOT / "workloads" / "resnet8.yaml")
    big = simulate(arch, wl)
    small = simulate(with_changes(arch, **{"sram.capacity_kib": 8}), wl)
    assert big.per_layer["spill_bits"].sum() == 0
    assert small.per_layer["spill_bits"].sum() > 0
    assert small.cycles > big.cycles
    assert kind(small, "external") > kind(big, "external")
    assert any("spill" in n for n in small.notes)


def test_live_bits_keep_residual_inputs(resnet8):
    from tlm.engines.analytic import live_bits
    live = live_bits(resnet8)
    names = [l.name for l in resnet8.layers]
    i = names.index("s1_conv2")
    # while s1_conv2 runs, conv1's output (the shortcut), s1_conv1's output and its own are live
    assert live[i] == 3 * 16 * 32 * 32 * 8


def test_batch_amortizes_weight_loads(arch):
    wl1 = load_workload(ROOT / "workloads" / "resnet8.yaml")
    from tlm.config.yamlio import load_file
    from tlm.config.workload import parse_workload
    d = dict(load_file(ROOT / "workloads" / "resnet8.yaml"))
    d["batch"] = 4
    wl4 = parse_workload(d, "<test>")
    r1, r4 = simulate(arch, wl1), simulate(arch, wl4)
    assert r4.macs == 4 * r1.macs
    assert r4.per_layer["weight_bits_loaded"].sum() == r1.per_layer["weight_bits_loaded"].sum()
    assert r4.summary()["energy_per_inference_pj"] < r1.summary()["energy_per_inference_pj"]


def test_architecture_sections_are_immutable_and_compare_by_value():
    """The sections are `schema.frozen_section` classes: a field cannot be reassigned or deleted after
    build (plans and caches hold the architecture), equal contents compare and hash equal, and
    dataclasses.replace makes the changed copy."""
    import dataclasses
    a = load_arch(ROOT / "configs" / "imagine.yaml")
    b = load_arch(ROOT / "configs" / "imagine.yaml")
    assert a == b and hash(a) == hash(b) and a is not b
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.macro.rows = 8
    with pytest.raises(dataclasses.FrozenInstanceError):
        del a.clock.frequency_mhz
    c = dataclasses.replace(a, macro=dataclasses.replace(a.macro, count=2))
    assert c != a and c.macro.count == 2 and a.macro.count == 1
    assert repr(a.clock).startswith(f"Clock(frequency_mhz={a.clock.frequency_mhz!r}, ")
