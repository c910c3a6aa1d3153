"""A SAR converting on the array's own compute capacitors (`adc.cdac: array`, IMAGINE): no reference area
of its own, and each conversion switches the conventional-switching mean of the merged columns' cell
capacitance (tlm/hw/adc.py array_dac_energy_pj).  Hand-derived; each test fails when the mechanism goes."""
import pytest

from helpers import with_changes, workload
from tlm.engines.analytic import simulate
from tlm.engines.result import KIND_NAMES
from tlm.hw import adc as hw_adc
from tlm.hw import circuit
from tlm.hw import macro as hw_macro

# fixed constants for the hand derivations (not the shipped ones): cap_parasitic 0.2 makes a 1 fF cell 1.2 fF
G = {"decision_fo4": 100.0, "pulse_fo4": 10.0, "cap_parasitic": 0.2, "converter_height": 0.0,
     "cell_area_factor": 1.5, "driver_cells": 30.0, "logic_cells": 12.0}


def test_conventional_switching_mean():
    """sum_{i=1..b} 2^(b+1-2i) (2^i - 1) C_u V^2 over C_T = 2^b C_u: 1b: 2^0 x 1 = 1 C_u of 2 (0.5); 2b: 2 x 1 +
    2^-1 x 3 = 3.5 C_u of 4 (0.875); 10b: 1363.3 C_u of 1024 (Liu et al., JSSC 2010, Table I)."""
    assert hw_adc.conventional_switching_factor(1) == pytest.approx(0.5)
    assert hw_adc.conventional_switching_factor(2) == pytest.approx(3.5 / 4)
    assert hw_adc.conventional_switching_factor(10) * 1024 == pytest.approx(1363.3, abs=0.05)
    for b in range(1, 13):
        direct = sum(2.0 ** (b + 1 - 2 * i) * (2 ** i - 1) for i in range(1, b + 1)) / 2 ** b
        assert hw_adc.conventional_switching_factor(b) == pytest.approx(direct, rel=1e-12), b


def test_a_conversion_switches_the_merged_columns_cells(arch):
    """IMAGINE at 22nm, G: a cell is 1 fF x 1.2 = 1.2 fF; an 8b conversion of 8 merged columns of 1152 cells
    switches 339.3359375 / 256 x 8 x 1152 x 1.2 = 14,659.3 fF at 0.3 V, and its ABN bank acts on the same line
    (256 units of 1 fF: the bank of this widest line, tlm/hw/adc.py abn_on_line_ff): (14,659.3 + 256) x 0.09 =
    1.34238 pJ, on top of its comparator firings; with a CDAC of its own the 2^8 units of 1 fF instead (23.04
    fJ) and the whole ABN bank in the conversion."""
    a = circuit.derive(arch, G)
    assert a.adc.cdac == "array" and a.macro.c_cell_ff == pytest.approx(1.2)
    c_t = 339.3359375 / 256 * 8 * 1152 * 1.2
    assert c_t == pytest.approx(14659.3, abs=0.05)
    assert a.adc.c_abn_ff == pytest.approx(256.0)
    e_array = (c_t + 256.0) * 0.09 / 1000
    assert hw_adc.array_dac_energy_pj(a, 8, 8) == pytest.approx(e_array, rel=1e-12)
    base = 8 * a.adc.c_comparator_ff * 0.36 / 1000
    assert hw_adc.conversion_energy_pj(a, 8) == pytest.approx(base, rel=1e-12)
    # one pixel of 32 channels on the whole column: 32 conversions, each over 1152 connected rows
    assert hw_adc.pixel_energy_pj(a, 32, 8, 8, 8) == pytest.approx(32 * base, rel=1e-12)
    assert hw_adc.array_dac_pixel_energy_pj(a, 32 * 1152, 8, 8, 8) == pytest.approx(32 * e_array, rel=1e-12)
    # 1b: one column, a 1-bit conversion charges half the line's cells once: 0.5 x 1152 x 1.2 fF, and the ABN
    # moves a line of an eighth of the widest one's capacitance: 256 / 8 = 32 fF
    assert hw_adc.array_dac_energy_pj(a, 1, 1) == pytest.approx((0.5 * 1152 * 1.2 + 32.0) * 0.09 / 1000,
                                                               rel=1e-12)
    # the Walden figure of merit counts it: (base + 1.31934 pJ) / 2^8 steps
    assert circuit.implied_walden_fj(a) == pytest.approx((base + e_array) * 1000 / 256, rel=1e-12)
    own = circuit.derive(with_changes(arch, **{"adc.cdac": "separate"}), G)
    assert hw_adc.array_dac_energy_pj(own, 8, 8) == 0.0
    assert hw_adc.conversion_energy_pj(own, 8) == pytest.approx(base + (256 * 1.0 + 256.0) * 0.09 / 1000,
                                                                rel=1e-12)
    assert hw_adc.conversion_energy_pj(own, 1) == pytest.approx(
        (a.adc.c_comparator_ff * 0.36 + (2 * 1.0 + 256.0) * 0.09) / 1000, rel=1e-12)


def test_array_dac_follows_the_column_and_the_weighting(arch):
    """The switched capacitance grows with the rows on the line (576 rows: half) and with the merged columns
    (4b weights: 4), a bit-column design converts one column at a time, and a flash has no DAC to reuse.  The
    ABN bank (256 fF) is the widest line's: the 576-row macro's widest line is its own 8 x 576 cells (256
    fF), 4 merged columns of 1152 rows are half of the widest (128 fF), a bit column's widest line is one
    column (256 fF)."""
    a = circuit.derive(arch, G)
    half = circuit.derive(with_changes(arch, **{"macro.rows": 576}), G)
    c8 = 339.3359375 / 256 * 8 * 1152 * 1.2  # the conventional-switching mean of the 8b line, fF
    assert hw_adc.array_dac_energy_pj(a, 8, 8) == pytest.approx((c8 + 256.0) * 0.09 / 1000, rel=1e-12)
    assert hw_adc.array_dac_energy_pj(half, 8, 8) == pytest.approx((c8 / 2 + 256.0) * 0.09 / 1000, rel=1e-12)
    assert hw_adc.array_dac_energy_pj(a, 4, 8) == pytest.approx((c8 / 2 + 128.0) * 0.09 / 1000, rel=1e-12)
    bc = circuit.derive(with_changes(arch, **{"macro.weight_mode": "bit_columns"}), G)
    assert hw_adc.array_dac_energy_pj(bc, 8, 8) == pytest.approx((c8 / 8 + 256.0) * 0.09 / 1000, rel=1e-12)
    flash = circuit.derive(with_changes(arch, **{"adc.kind": "flash", "adc.resolution_bits": 4}), G)
    assert hw_adc.array_dac_energy_pj(flash, 8, 4) == 0.0


def test_array_dac_has_no_reference_area(arch):
    """A converter on the array: comparator + 8 register bits; a CDAC of its own adds 2^8 units of 1 fF at
    the 22nm full-stack 2.5 fF/um2: 102.4 um2 each, 256 converters: 0.0262 mm2 more macro."""
    a = circuit.derive(arch, G)
    own = circuit.derive(with_changes(arch, **{"adc.cdac": "separate"}), G)
    assert hw_adc.area_parts_um2(a)["reference"] == 0.0
    assert hw_adc.area_parts_um2(own)["reference"] == pytest.approx(102.4)
    assert hw_adc.area_mm2(own) - hw_adc.area_mm2(a) == pytest.approx(256 * 102.4 / 1e6)


def test_a_tile_connects_whole_dp_split_blocks(arch):
    """IMAGINE's 9 DP-split blocks of 128 rows: a 3x3 conv over 3 channels (27 rows) connects one block (16
    outputs x 128); 1352 rows take two row tiles, 1152 + 200 -> 256 (1408 per output); 16 depthwise 3x3
    groups (9 rows, one output each) packed 16 to a tile connect 144 -> 256 rows once (16 x 256); 20 groups
    packed 16 to a tile: 16 x 256 + 4 x (36 -> 128)."""
    rows = hw_macro.connected_output_rows
    assert rows(arch, 27, 16, 1, 1, 1) == 16 * 128
    assert rows(arch, 1352, 4, 1, 1, 2) == 4 * 1408
    assert rows(arch, 9, 1, 16, 16, 1) == 16 * 256
    assert rows(arch, 9, 1, 20, 16, 1) == 16 * 256 + 4 * 128


def test_small_layer_switches_its_connected_block_only(arch):
    """3x3 conv, 4 -> 8 channels at 8b on a 6x6 map (36 pixels): each of the 8 conversions per pixel
    switches 339.3359375 / 256 x 8 columns x 128 rows (one block) of cells, not the whole 1152-row column,
    and the ABN bank a ninth of the widest line's 256 fF (the block is a ninth of the line)."""
    a = circuit.derive(arch, G)
    wl = workload([{"name": "c", "type": "conv2d", "out_channels": 8, "kernel": 3, "padding": 1}])
    r = simulate(a, wl)
    base = 36 * 8 * hw_adc.conversion_energy_pj(a, 8)
    arr = 36 * 8 * (339.3359375 / 256 * 8 * 128 * 1.2 + 256.0 / 9) * 0.09 / 1000
    assert r.energy_pj[0, KIND_NAMES.index("adc")] == pytest.approx(base + arr, rel=1e-12)
