"""The circuit model (tlm/hw/circuit.py), the technology table (tlm/hw/technology_table.py) and the global
constants (tlm/hw/constants.py): hand-derived timing of one mechanism at a time, every constant and table
value inside its published range."""
import math

import pytest

from helpers import with_changes
from tlm.cli import main
from tlm.hw import adc as hw_adc
from tlm.hw import area as hw_area
from tlm.hw import circuit
from tlm.hw import constants as hw_const
from tlm.hw import controller as hw_ctrl
from tlm.hw import macro as hw_macro
from tlm.hw import technology_table as tt

# fixed constants for the hand derivations (not the shipped ones)
G = {"decision_fo4": 100.0, "pulse_fo4": 10.0, "cap_parasitic": 0.2, "converter_height": 0.0,
     "cell_area_factor": 1.5, "driver_cells": 30.0, "logic_cells": 12.0}
LN2 = math.log(2.0)


def test_every_global_constant_is_inside_its_published_range():
    assert set(hw_const.VALUES) == {c.name for c in hw_const.CONSTANTS}
    for c in hw_const.CONSTANTS:
        assert c.lo <= hw_const.VALUES[c.name] <= c.hi, c.name
        assert c.source and c.meaning and c.lo < c.hi


def test_technology_table_values_sit_in_their_ranges_with_a_source():
    assert {7, 16, 22, 28, 65} <= set(tt.nodes())
    for n, fields in {**tt.NODES, **{f"{k}lp": v for k, v in tt.LP.items()},
                      **{f"{k}ffl": v for k, v in tt.FFL.items()}}.items():
        if isinstance(n, int):
            assert set(fields) == set(tt.FIELDS), n
        for f, v in fields.items():
            assert v.lo <= v.value <= v.hi and v.source and v.unit is not None, (n, f)
    for f, v in tt.CONVERTERS.items():
        assert v.lo <= v.value <= v.hi, f


def test_alpha_power_delay_factor_by_hand():
    """22nm, Vt 0.35 V, alpha 1.3, nominal 0.8 V: at 0.6 V the delay grows (0.6 / 0.25^1.3) /
    (0.8 / 0.45^1.3) = 3.6377 / 2.2591 = 1.6102; interpolation between nodes is log-log."""
    assert tt.delay_factor(22, 0.6) == pytest.approx((0.6 / 0.25 ** 1.3) / (0.8 / 0.45 ** 1.3))
    assert tt.delay_factor(22, 0.6) == pytest.approx(1.6102, rel=1e-4)
    assert tt.fo4_ps(22, 0.8) == pytest.approx(10.0)
    # 40nm between 28 (12 ps) and 65 (22 ps): exp(ln 12 + t (ln 22 - ln 12)), t = ln(40/28) / ln(65/28)
    t = math.log(40 / 28) / math.log(65 / 28)
    assert tt.value(40, "fo4_ps") == pytest.approx(math.exp(math.log(12) + t * math.log(22 / 12)))


def test_intel_22ffl_devices_by_hand(root):
    """Intel 22FFL's high-performance devices (`circuit.devices: ffl`) drive 1.24 mA/um at 0.7 V (IEDM 2017
    via WikiChip): R_on = 1.54 x 0.7 / 1.24e-3 = 869.35 ohm um at 0.7 V, where the 22nm row (PTM, 1.5 mA/um
    at 0.85 V) gives 873 x 1.2131 = 1,059.0 there.  The FO4 follows the on-resistance, 10 x 716.6 / 873 =
    8.21 ps at 0.8 V, 9.96 ps at 0.7 V (12.13 for the 22nm row): Wang VLSI 2022's 8 decisions of 6.83 ns
    per operation at 0.7 V are 85.7 FO4 each, not 70.4.  Vt, alpha and the rest are the node's."""
    df = (0.7 / 0.35 ** 1.3) / (0.8 / 0.45 ** 1.3)
    assert df == pytest.approx(1.2131, rel=1e-4)
    assert tt.r_on_ohm(22, 0.7, 1.0, "ffl") == pytest.approx(1.54 * 0.7 / 1.24e-3, rel=2e-4)
    assert tt.r_on_ohm(22, 0.7, 1.0) == pytest.approx(873.0 * df)
    assert tt.fo4_ps(22, 0.7, "ffl") == pytest.approx(8.21 * df) and tt.fo4_ps(22, 0.7) == pytest.approx(10 * df)
    assert 6830.0 / 8 / tt.fo4_ps(22, 0.7, "ffl") == pytest.approx(85.7, abs=0.05)
    assert tt.delay_factor(22, 0.7, "ffl") == tt.delay_factor(22, 0.7)
    assert tt.value(22, "sram_6t_um2", "ffl") == tt.value(22, "sram_6t_um2")
    # the macro's clock: decision_fo4 FO4 at the digital supply (tlm/hw/circuit.py period_ps)
    from tlm.config.arch import load_arch
    wang = load_arch(root / "configs" / "published" / "wang_vlsi2022.yaml")
    hp = with_changes(wang, **{"circuit.devices": "hp"})
    assert wang.circuit.devices == "ffl"
    assert circuit.period_ps(wang, G) == pytest.approx(G["decision_fo4"] * 8.21 * df)
    assert circuit.period_ps(hp, G) / circuit.period_ps(wang, G) == pytest.approx(10 / 8.21)


def test_alpha_power_law_of_the_low_power_flavour_by_hand():
    """65nm LP (`circuit.devices: lp`) has its own Vt 0.55 V and alpha 1.5 (the general-purpose 65nm: 0.45 V,
    1.3), nominal 1.2 V.  From 1.2 V down to 0.85 V the LP gate delay grows
    (0.85 / 0.30^1.5) / (1.2 / 0.65^1.5) = 5.1730 / 2.2899 = 2.2591 (a clock 2.26x slower: Jia JSSC 2020's
    CIMU clock falls 2.5x, 100 -> 40 MHz), where the HP values would give (0.85 / 0.40^1.3) /
    (1.2 / 0.75^1.3) = 2.7973 / 1.7442 = 1.6038.  With the node's alpha instead of the flavour's (1.3 at
    Vt 0.55 V) it would be 1.9354: each of Vt and alpha matters."""
    lp = tt.delay_factor(65, 0.85, "lp")
    assert lp == pytest.approx((0.85 / 0.30 ** 1.5) / (1.2 / 0.65 ** 1.5), rel=1e-12)
    assert lp == pytest.approx(2.2591, rel=1e-4)
    assert tt.delay_factor(65, 0.85) == pytest.approx(1.6038, rel=1e-4)
    assert lp != pytest.approx((0.85 / 0.30 ** 1.3) / (1.2 / 0.65 ** 1.3), rel=1e-3)  # 1.9354: alpha 1.3
    assert tt.fo4_ps(65, 1.2, "lp") == pytest.approx(70.0)  # the LP FO4 at its nominal supply
    assert tt.fo4_ps(65, 0.85, "lp") == pytest.approx(70.0 * lp)
    # the switch on-resistance follows the same drive ratio (R ~ V / (V - Vt)^alpha)
    assert tt.r_on_ohm(65, 0.85, 0.15, "lp") == pytest.approx(4870.0 / 0.15 * lp)


def test_22nm_alpha_power_law_follows_wangs_published_voltage_scaling():
    """Wang et al. (JSSC 2023 Fig. 23, as CiMLoop's wang_vlsi_2022/_tests.py test_voltage_scaling transcribes
    it) publish the macro's TOPS/mm2 at 0.7, 0.8, 0.9, 1.0, 1.1 V: 2.377, 2.858, 3.200, 3.596, 3.941, i.e.
    1.202, 1.346, 1.513, 1.658 x the 0.7 V figure.  The area is the same at every supply and the model's
    operation there is 8 SAR decisions at the clock (pipelined, conversion-limited), so the ratios are the
    clock's.  The 22nm law (Vt 0.35 V, alpha 1.3) gives delay(0.7) / delay(V) = (0.7 / 0.35^1.3) /
    (V / (V - 0.35)^1.3) = 1.213, 1.400, 1.565, 1.714: within 4.1% of the paper at every supply.  At the top
    of the node's Vt range (0.45 V) the 0.7 -> 1.1 V ratio would be (0.7 / 0.25^1.3) / (1.1 / 0.65^1.3) =
    2.205, 33% off."""
    paper = {0.8: 2.858, 0.9: 3.200, 1.0: 3.596, 1.1: 3.941}
    for v, tops_mm2 in paper.items():
        model = tt.fo4_ps(22, 0.7) / tt.fo4_ps(22, v)
        assert model == pytest.approx((0.7 / 0.35 ** 1.3) / (v / (v - 0.35) ** 1.3), rel=1e-12)
        assert model == pytest.approx(tops_mm2 / 2.377, rel=0.041), v


def _rc_arch(arch, rows=128, bits=8, vd=0.8, over=True):
    return with_changes(arch, **{"macro.rows": rows, "macro.dp_split_blocks": 1, "adc.resolution_bits": bits,
                                 "technology.vdd_digital_v": vd, "circuit.cap_over_cell": over,
                                 "circuit.cap_upper_over_cell": False,
                                 "circuit.c_unit_ff": 0.0, "circuit.cell_transistors": 8})


def _settle_by_hand(rows, bits, drive=1.0, cell_um2=1.0 / 0.9):
    """22nm table: R_sw = 873 ohm um / 0.08 um = 10,912.5 ohm (x the alpha-power drive factor); the cell
    is the larger of 1.5 x 0.1 x 8/6 = 0.2 um2 and its 1.0 fF unit over 0.9 fF/um2 = 1.111 um2, pitch
    1.0541 um; c_cell = 1.0 x 1.2 = 1.2 fF; a cell's line: 1.0541 x 0.2 fF wire + half a 0.78 x 0.08 fF
    gate; R_line = 4 ohm/um x pitch x rows.  tau = R_sw C_cell + 0.38 R_line C_line; settle (b+1) ln 2 tau."""
    pitch = math.sqrt(cell_um2)
    c_line = rows * (pitch * 0.2 + 0.5 * 0.78 * 0.08) + rows * 1.2
    tau_fs = 10912.5 * drive * 1.2 + 0.38 * (4.0 * pitch * rows) * c_line
    return (bits + 1) * LN2 * tau_fs / 1000.0


def test_rc_settling_time_by_hand_each_cause_alone(arch):
    """The DP line's settling (tlm/hw/circuit.settle_ps) at 22nm, 0.8 V: the rows (line length and load),
    the converter's resolution (the number of time constants) and the supply (the switch's drive only)
    each changed alone."""
    base = circuit.settle_ps(_rc_arch(arch), G)
    assert base == pytest.approx(_settle_by_hand(128, 8), rel=1e-9)
    assert circuit.settle_ps(_rc_arch(arch, rows=256), G) == pytest.approx(_settle_by_hand(256, 8), rel=1e-9)
    assert circuit.settle_ps(_rc_arch(arch, bits=4), G) == pytest.approx(base * 5 / 9, rel=1e-9)
    low = circuit.settle_ps(_rc_arch(arch, vd=0.6), G)
    assert low == pytest.approx(_settle_by_hand(128, 8, drive=tt.delay_factor(22, 0.6)), rel=1e-9)
    # DP cycles: ceil(settle / period), period = 100 FO4 = 1,000 ps at 0.8 V
    a = _rc_arch(arch, rows=1024)
    assert circuit.period_ps(a, G) == pytest.approx(1000.0)
    want = math.ceil((_driver_by_hand(256) + _settle_by_hand(1024, 8)) / 1000.0)
    assert circuit.derived_values(a, G)["macro.dp_cycles_per_bit"] == want and want > 1


def test_a_capacitor_beside_the_cell_shortens_the_column_line_by_hand(arch):
    """`circuit.cap_over_cell: false`: the unit has its own footprint beside the cell's transistors in the
    full MOM stack (2.5 fF/um2 at 22nm): the cell is 0.2 + 1.0 / 2.5 = 0.6 um2 instead of the larger of 0.2
    and 1.0 / 0.9 = 1.111 um2 over it, so every pitch of the column line is sqrt(0.6) = 0.7746 um: the
    line's resistance and wire shrink, its cells' 1.2 fF each stay; the switched capacitance is the same."""
    over, beside = _rc_arch(arch, rows=1152), _rc_arch(arch, rows=1152, over=False)
    assert circuit.geometry(beside, G)["cell_um2"] == pytest.approx(0.2 + 1.0 / 2.5)
    assert circuit.geometry(over, G)["cell_um2"] == pytest.approx(1.0 / 0.9)
    assert circuit.settle_ps(beside, G) == pytest.approx(_settle_by_hand(1152, 8, cell_um2=0.6), rel=1e-9)
    assert circuit.settle_ps(over, G) == pytest.approx(_settle_by_hand(1152, 8), rel=1e-9)
    assert circuit.settle_ps(beside, G) < 0.75 * circuit.settle_ps(over, G)
    assert circuit.capacitances(beside, G)["cell"] == circuit.capacitances(over, G)["cell"] == pytest.approx(1.2)


def _driver_by_hand(cols, per_cell=2 * 0.78 * 0.08):
    """A row driver at 22nm, 0.8 V (FO4 10 ps): log4(C_row / C_gate) FO4 stages, C_row = cols x (one pitch of
    wire 1.0541 x 0.2 fF + `per_cell`: two switch gates for a digital row), C_gate = 0.78 x 0.08 fF."""
    c_row = cols * (math.sqrt(1.0 / 0.9) * 0.2 + per_cell)
    return math.log(c_row / (0.78 * 0.08)) / math.log(4.0) * 10.0


def test_row_driver_and_multi_level_row_settling_by_hand(arch):
    """A DP phase starts with the row driver (a buffer chain tapered by 4: log4(load / gate) FO4); a
    multi-level (DAC) row in the charge domain carries an analog level that charges every cell's capacitor
    across the row: a distributed line stepped at its DAC's end, whose far cells settle to half an LSB after
    its dominant time constant 4 R_row C_row / pi^2 times (b + 1) ln 2 + ln(4/pi) (C_row = cols x (pitch wire
    + c_cell 1.2 fF); 256 columns: R_row C_row = 389.84 ps, x 0.40528 x (6.2383 + 0.2416) = 1,023.8 ps; with
    the Elmore delay 0.38 R C taken as the time constant it was 924.1 ps).  Columns changed alone: the row's R
    and C both double, its time constant x 4; a bit-serial row adds no analog settling."""
    base = _rc_arch(arch)
    assert circuit.row_driver_ps(base, G) == pytest.approx(_driver_by_hand(256), rel=1e-9)
    ml = with_changes(base, **{"macro.input_drive": "multi_level", "macro.input_dac_bits": 4})
    pitch = math.sqrt(1.0 / 0.9)

    def row_settle(cols):
        c_row = cols * (pitch * 0.2 + 1.2)
        return 4.0 / math.pi ** 2 * (9 * LN2 + math.log(4.0 / math.pi)) * (4.0 * pitch * cols) * c_row / 1000.0

    assert circuit.settle_ps(ml, G) - circuit.settle_ps(base, G) == pytest.approx(row_settle(256), rel=1e-9)
    assert row_settle(256) == pytest.approx(1023.8, rel=1e-4)
    assert circuit.row_driver_ps(ml, G) == pytest.approx(_driver_by_hand(256, per_cell=1.2), rel=1e-9)
    wide = with_changes(ml, **{"macro.columns": 512})
    assert circuit.settle_ps(wide, G) - circuit.settle_ps(with_changes(base, **{"macro.columns": 512}), G) \
        == pytest.approx(4 * row_settle(256), rel=1e-9)


def test_c2c_ladder_row_load_by_hand(arch):
    """A multi-level row into C-2C ladders (22nm, 0.8 V, unit 1.0 fF, p = 0.2): each bit's shunt unit C feeds
    a ladder node holding 2C to AC ground (R-2R's Thevenin R), so the row sees C x 2C / 3C = 2/3 fF plus the
    unit's bottom-plate parasitic 0.2 fF: 0.8667 fF per cell, not the cell's 3 x 1.2 = 3.6 fF.  The cell holds
    3 units over 0.9 fF/um2: 3.333 um2, pitch 1.8257 um.  Row settling (multi-level minus bit-serial, 256
    columns): (9 ln 2 + ln(4/pi)) x 4/pi^2 x R_row C_row, R_row = 4 ohm/um x 1.8257 um x 256 = 1,869.5 ohm,
    C_row = 256 x (1.8257 x 0.2 + 0.8667) = 315.3 fF: 4/pi^2 x 1,869.5 x 315.3 fs = 238.9 ps, x 6.480 =
    1,548.3 ps (with 3.6 fF per cell: 4,984 ps)."""
    c2c = with_changes(_rc_arch(arch), **{"circuit.weighting": "c2c"})
    ml = with_changes(c2c, **{"macro.input_drive": "multi_level", "macro.input_dac_bits": 4})
    assert circuit.row_cell_ff(ml, G) == pytest.approx(2.0 / 3.0 + 0.2)
    pitch = math.sqrt(3.0 / 0.9)
    assert circuit.geometry(ml, G)["pitch_um"] == pytest.approx(pitch)
    c_row = 256 * (pitch * 0.2 + 2.0 / 3.0 + 0.2)
    assert circuit.row_load_ff(ml, G) == pytest.approx(c_row, rel=1e-12)
    want = 4.0 / math.pi ** 2 * (9 * LN2 + math.log(4.0 / math.pi)) * (4.0 * pitch * 256) * c_row / 1000.0
    assert circuit.settle_ps(ml, G) - circuit.settle_ps(c2c, G) == pytest.approx(want, rel=1e-9)
    assert want == pytest.approx(1548.3, rel=1e-4)
    # a binary cell of the same array: the row sees the whole cell, (1 + p) C
    binary = with_changes(_rc_arch(arch), **{"macro.input_drive": "multi_level", "macro.input_dac_bits": 4})
    assert circuit.row_cell_ff(binary, G) == pytest.approx(1.2)


def test_distributed_line_settles_by_its_dominant_pole_by_hand():
    """A uniform RC line (total R, C) stepped at one end and open at the other (a multi-level row driven by
    its DAC) reaches, at its far end, 1 - (4/pi) sum_k (-1)^k / (2k+1) exp(-(2k+1)^2 pi^2 t / (4 R C)) of the
    step (the diffusion equation's series).  Summed here by hand (200 terms) at circuit.distributed_settle_rc's
    time, the remaining error is e^-n for n = (b + 1) ln 2, half an LSB of a b-bit converter, b = 0, 4, 6, 8.
    At n = ln 2 the time is the line's 50% delay, 4/pi^2 x (ln 2 + ln(4/pi)) = 0.3788 R C: Sakurai's Elmore
    fit 0.38 R C, which the row's settling used as its time constant before (7 ln 2 of them for a 6b
    converter: 1.844 R C, against 2.064 R C here, 12% more: Papistas et al.'s 1,024-cell rows)."""
    def far_end_error(t_rc):
        return 4.0 / math.pi * sum((-1) ** k / (2 * k + 1) * math.exp(-(2 * k + 1) ** 2 * math.pi ** 2 * t_rc / 4.0)
                                   for k in range(200))
    for n in (LN2, 5 * LN2, 7 * LN2, 9 * LN2):
        assert far_end_error(circuit.distributed_settle_rc(n)) == pytest.approx(math.exp(-n), rel=1e-3), n
    assert circuit.distributed_settle_rc(LN2) == pytest.approx(0.3788, abs=1e-4)
    assert circuit.distributed_settle_rc(7 * LN2) == pytest.approx(2.0644, rel=1e-4)
    assert circuit.distributed_settle_rc(7 * LN2) > 1.1 * 0.38 * 7 * LN2


def test_sar_decision_chain_flash_and_ramp(arch):
    """A b-bit conversion: SAR b decisions, flash one, ramp 2^b steps, each one clock after the sampling
    cycles; comparator firings b, 2^b - 1, 2^b; a flash has 2^b - 1 comparators, the others one.  Only
    adc.kind changes."""
    a = with_changes(arch, **{"adc.resolution_bits": 6, "adc.fixed_cycles": 1, "adc.cycles_per_bit": 1,
                              "adc.cdac": "separate"})  # a reference of its own (IMAGINE's is the array's)
    for kind, cycles, firings, comps in (("sar", 1 + 6, 6, 1), ("flash", 1 + 1, 63, 63), ("ramp", 1 + 64, 64, 1)):
        k = with_changes(a, **{"adc.kind": kind})
        assert hw_adc.conversion_cycles(k, 6) == cycles, kind
        assert hw_adc.comparisons(k, 6) == firings and hw_adc.comparators(k) == comps, kind
        e = hw_adc.conversion_energy_pj(k, 6)
        va, vd = k.technology.vdd_array_v, k.technology.vdd_digital_v
        want = (firings * k.adc.c_comparator_ff * vd ** 2 + (64 * k.adc.c_dac_unit_ff + k.adc.c_abn_ff) * va ** 2) / 1e3
        assert e == pytest.approx(want), kind
    # the derived clock is one decision: 100 FO4 at the digital supply; the SAR register's b bits are clocked
    # with each firing (the published flip-flop clock energy, geometric middle at 22nm)
    d = with_changes(arch, **{"technology.vdd_digital_v": 0.8})
    v = circuit.derived_values(d, G)
    assert v["clock.frequency_mhz"] == pytest.approx(1e6 / (100 * 10.0))
    lo, hi = hw_ctrl.PUBLISHED_FF_22NM["c_ff_per_window_bit_cycle"]
    assert v["adc.c_comparator_ff"] == pytest.approx(10.0 + 8 * math.sqrt(lo * hi))  # the 10 fF latch at 22nm
    flash = circuit.derived_values(with_changes(d, **{"adc.kind": "flash"}), G)
    assert flash["adc.c_comparator_ff"] == pytest.approx(10.0)


def test_flash_comparators_are_bare_latches_a_sar_step_adds_its_logic(arch):
    """22nm: the latch is the table's 10 fF.  A SAR (or ramp) step adds its strip's logic: one column of
    1.0541 um pitch (1 fF over 0.9 fF/um2) by 432 6T lengths (sqrt(0.1) um) = 144 um2 = 900 minimum
    inverters of 1.6 x 0.1 um2, of which a step switches 2 / (8 + 1): 200 (3 x 0.78 x 0.08 fF each: 37.44
    fF), and clocks its 8 register bits (the flip-flop clock's geometric middle); a flash comparator is the
    latch alone.  A 4b flash conversion then fires 15 latches at the digital supply and charges its 16
    reference units at the array supply.  At 65nm (HP: 1.01 fF/um x 0.15 um per switch) the latch scales
    with a switch's gate: 10 x 0.1515 / 0.0624 = 24.28 fF."""
    g = {**G, "converter_height": 432.0}
    lo, hi = hw_ctrl.PUBLISHED_FF_22NM["c_ff_per_window_bit_cycle"]
    latch = 10.0
    for kind, want in (("sar", latch + 200 * 3 * 0.78 * 0.08 + 8 * math.sqrt(lo * hi)),
                       ("ramp", latch + 200 * 3 * 0.78 * 0.08 + 8 * math.sqrt(lo * hi)), ("flash", latch)):
        a = with_changes(arch, **{"adc.kind": kind, "adc.resolution_bits": 8, "circuit.cap_over_cell": True})
        assert circuit.derived_values(a, g)["adc.c_comparator_ff"] == pytest.approx(want), kind
    f = circuit.derive(with_changes(arch, **{"adc.kind": "flash", "adc.resolution_bits": 4, "circuit.abn_units": 0}), g)
    va, vd = f.technology.vdd_array_v, f.technology.vdd_digital_v
    assert hw_adc.conversion_energy_pj(f, 4) == pytest.approx((15 * latch * vd ** 2 + 16 * 1.0 * va ** 2) / 1e3)
    n65 = with_changes(arch, **{"adc.kind": "flash", "technology.node_nm": 65, "technology.vdd_digital_v": 1.0})
    assert circuit.latch_ff(n65) == pytest.approx(10.0 * 1.01 * 0.15 / (0.78 * 0.08))


def test_leakage_follows_the_array_the_converters_and_the_supply(arch):
    """22nm, 20 pA per 6T cell: IMAGINE's 1152 x 256 cells at 0.3 V leak 294,912 x 20 pA x 0.3 V = 1.769 uW;
    twice the rows, twice that.  Each 8b SAR's logic is 4 + 8 flip-flop equivalents of 12 6T cells = 144 cell
    areas: 256 x 144 x 20 pA x 0.6 V = 0.4424 uW.  A config extending IMAGINE with more rows leaks more."""
    v = circuit.derived_values(arch, G)
    assert v["macro.leakage_uw"] == pytest.approx(1152 * 256 * 20e-6 * 0.3)
    assert v["adc.leakage_uw"] == pytest.approx(256 * 144 * 20e-6 * 0.6)
    big = circuit.derived_values(with_changes(arch, **{"macro.rows": 2304}), G)
    assert big["macro.leakage_uw"] == pytest.approx(2 * v["macro.leakage_uw"])
    # the energy per cycle is that power over the period: at 0.8 V instead of 0.6 V (both supplies) it
    # changes by (0.8 / 0.6) x FO4(0.8) / FO4(0.6): the array and logic leak more, for a shorter cycle
    from tlm.hw import leakage as hw_leak
    e = {vv: hw_leak.energy_pj(circuit.derive(with_changes(arch, **{"technology.vdd_digital_v": vv,
                                                                 "technology.vdd_array_v": vv}), G), 1000)
         for vv in (0.6, 0.8)}
    own = {vv: (1152 * 256 + 256 * 144) * 20e-6 * vv for vv in (0.6, 0.8)}  # uW of the macro and its ADCs
    rest = arch.sram.leakage_uw + arch.controller.leakage_uw
    per = {vv: 100 * tt.fo4_ps(22, vv) / 1000.0 for vv in (0.6, 0.8)}  # ns per cycle: 100 FO4
    for vv in (0.6, 0.8):
        assert e[vv] == pytest.approx((own[vv] + rest) * 1000 * per[vv] / 1000.0)


def test_pulse_input_discharge(arch):
    """Current domain, 4b pulse inputs at 0.8 V: after the row driver and the pre-charge settling, a
    pulse-count row fires up to 2^4 - 1 = 15 pulses of 10 FO4 = 100 ps, each followed by as long with the
    word line low (30 units, 3,000 ps); 2b inputs: 3 pulses (600 ps); a pulse-width row one pulse of 15 units
    (1,500 ps).  A pulse-count row toggles its line up to 15 times (15 x density at full scale), a pulse-width
    row once; neither has DAC capacitors."""
    base = with_changes(arch, **{"technology.vdd_digital_v": 0.8, "circuit.dp_domain": "current",
                                 "macro.input_drive": "pulse_count", "macro.input_dac_bits": 4})

    def pulses(a):
        return circuit.dp_phase_ps(a, G) - circuit.settle_ps(a, G) - circuit.row_driver_ps(a, G)

    assert pulses(base) == pytest.approx(2 * 15 * 10 * 10.0)
    two = with_changes(base, **{"macro.input_dac_bits": 2})
    assert pulses(two) == pytest.approx(2 * 3 * 10 * 10.0)
    width = with_changes(base, **{"macro.input_drive": "pulse_width"})
    assert pulses(width) == pytest.approx(15 * 10 * 10.0)
    vd = base.technology.vdd_digital_v
    c = base.macro.c_row_driver_ff
    assert hw_macro.input_driver_energy_pj(base, 10, 0.5) == pytest.approx(10 * 0.5 * 15 * c * vd ** 2 / 1e3)
    assert hw_macro.input_driver_energy_pj(width, 10, 0.5) == pytest.approx(10 * 0.5 * c * vd ** 2 / 1e3)
    assert hw_macro.dac_energy_pj(base, 10) == 0 and hw_macro.dac_area_um2(base) == base.macro.input_dac_logic_area_um2
    assert hw_macro.dp_phases(base, 8) == 2  # 4 bits per phase


def test_area_breakdown_names_the_dacs_and_converters(arch):
    """Shares by component sum to one; a bit-serial design has no DAC area, a multi-level one does."""
    s = hw_area.macro_shares(arch)
    assert sum(s.values()) == pytest.approx(1.0) and s["dac"] == 0 and s["adc"] > 0
    ml = with_changes(arch, **{"macro.input_drive": "multi_level", "macro.input_dac_bits": 4,
                               "macro.c_input_dac_unit_ff": 1.0})
    assert hw_area.macro_shares(ml)["dac"] > 0


def test_chips_evaluates_a_users_file_and_refuses_one_without_figures(tmp_path, capsys, root):
    mine = tmp_path / "mine.yaml"
    mine.write_text(f"extends: {root / 'configs' / 'published' / 'wang_vlsi2022.yaml'}\nname: mine\n"
                    "published:\n  citation: Me, My macro, 2026\n  figures:\n    - {key: d, metric: density, "
                    "value: 100.0, unit: kB/mm2, input_bits: 8, weight_bits: 8, output_bits: 8}\n")
    assert main(["chips", str(mine)]) == 0
    out = capsys.readouterr().out
    assert "Me et al., 22nm" in out and "Kneip" not in out
    bare = tmp_path / "bare.yaml"
    bare.write_text(f"extends: {root / 'configs' / 'imagine.yaml'}\n")
    assert main(["chips", str(bare)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bare.yaml" in err and "published" in err


def test_paper_normalize_scales_the_ops_per_pixel_column(capsys):
    """Wang, 8b x 8b: 64 rows x 16 outputs x 2 = 2,048 raw ops per pixel, 1b-normalized x 64 = 131,072."""
    assert main(["paper", "published/wang_vlsi2022"]) == 0
    assert "2,048" in capsys.readouterr().out
    assert main(["paper", "published/wang_vlsi2022", "--normalize", "1b"]) == 0
    out = capsys.readouterr().out
    assert "131,072" in out


def test_extends_with_more_rows_grows_the_periphery_and_slows_the_lines(tmp_path, root):
    """A config that extends IMAGINE and doubles its rows: its derived periphery grows by the 1152 extra row
    lines (2304 + 256 lines instead of 1152 + 256) and their 1152 extra driver chains (each row's load, and
    so its chain, unchanged), its column line's capacitance doubles, its row line's stays, and
    its column settles longer (R and C of the line both double)."""
    from tlm.config.arch import load_arch
    big = tmp_path / "big.yaml"
    big.write_text(f"extends: {root / 'configs' / 'imagine.yaml'}\nname: big\nmacro:\n  rows: 2304\n")
    over = {"circuit.cap_over_cell": True}  # the derivation's cell: 1 fF over 0.9 fF/um2
    a, b = with_changes(load_arch(root / "configs" / "imagine.yaml"), **over), with_changes(load_arch(big), **over)
    va, vb = circuit.derived_values(a, G), circuit.derived_values(b, G)
    chain = _chain_by_hand(_digital_row_ff(math.sqrt(1.0 / 0.9)))  # per row: the row's load is unchanged
    assert va["macro.periphery_area_mm2"] == pytest.approx((1408 * 30 * 0.1 + 1152 * chain) / 1e6)
    assert vb["macro.periphery_area_mm2"] == pytest.approx((2560 * 30 * 0.1 + 2304 * chain) / 1e6)
    assert vb["macro.c_column_ff"] == pytest.approx(2 * va["macro.c_column_ff"])
    assert vb["macro.c_row_driver_ff"] == pytest.approx(va["macro.c_row_driver_ff"])
    assert circuit.settle_ps(b, G) > 3 * circuit.settle_ps(a, G)


def _switch_ff():
    return 0.78 * 0.08  # 22nm: a minimum switch's gate, fF


def _digital_row_ff(pitch, cols=256):
    """A digital (bit-serial) row's load at 22nm: per column one pitch of 0.2 fF/um wire and two switch gates."""
    return cols * (pitch * 0.2 + 2 * _switch_ff())


def _chain_by_hand(load_ff):
    """A buffer chain tapered by 4 up to `load_ff`: stages load/4 + load/16 + ... = load/3 of gate; a minimum
    inverter is 3 switch gates (0.1872 fF) and 1.6 6T cells of 0.1 um2 (0.16 um2), so load/3/0.1872 x 0.16 um2."""
    return load_ff / 3.0 / (3.0 * _switch_ff()) * 1.6 * 0.1


def test_driver_chain_area_follows_its_load_by_hand(arch):
    """300 fF: 100 fF of stages = 534.19 minimum inverters = 85.47 um2; the area is linear in the load."""
    assert circuit.chain_area_um2(arch, 300.0) == pytest.approx(_chain_by_hand(300.0))
    assert _chain_by_hand(300.0) == pytest.approx(85.47, rel=1e-3)
    assert circuit.chain_area_um2(arch, 600.0) == pytest.approx(2 * circuit.chain_area_um2(arch, 300.0))


def test_periphery_counts_a_word_line_per_stored_weight_set(arch):
    """Periphery = driven lines x `driver_cells` 6T cells + a driver chain per digital compute row: IMAGINE's
    1152 rows + 256 columns = 1408 lines x 30 x 0.1 um2 = 4,224 um2, and 1152 chains to a row of 256 x
    (1.0541 um pitch (1 fF over 0.9 fF/um2 = 1.111 um2) x 0.2 fF/um + 2 x 0.0624 fF) = 85.92 fF, 24.48 um2
    each.  A compute cell holding 8 weight sets (cells_per_compute 8, each selected by its own word line) has
    8 x 1152 + 256 = 9,472 lines, 28,416 um2, and its transistors (1.5 x 0.1 x 8/6 x 8 = 1.6 um2) now set
    the pitch (1.2649 um): 96.71 fF a row, 27.55 um2 a chain."""
    p1, p8 = math.sqrt(1.0 / 0.9), math.sqrt(1.6)
    arch = with_changes(arch, **{"circuit.cap_over_cell": True})
    assert _chain_by_hand(_digital_row_ff(p1)) == pytest.approx(24.48, rel=1e-3)
    assert circuit.areas(arch, G)["periphery_mm2"] == pytest.approx(
        (1408 * 30 * 0.1 + 1152 * _chain_by_hand(_digital_row_ff(p1))) / 1e6)
    eight = with_changes(arch, **{"circuit.cells_per_compute": 8})
    assert _chain_by_hand(_digital_row_ff(p8)) == pytest.approx(27.55, rel=1e-3)
    assert circuit.areas(eight, G)["periphery_mm2"] == pytest.approx(
        (9472 * 30 * 0.1 + 1152 * _chain_by_hand(_digital_row_ff(p8))) / 1e6)


def test_a_multi_level_row_dac_carries_the_chain_to_its_row(arch):
    """A multi-level (DAC) row in the charge domain: the row's load is every cell's capacitor (1.0 fF x 1.2)
    and a pitch of wire per column, 256 x (1.0541 x 0.2 + 1.2) = 361.17 fF; the DAC drives it, so its area
    holds the chain (102.9 um2) beside its 4 bits of logic (4 x 12 x 0.1 um2), and the periphery keeps only
    the lines (1408 x 3 um2, no digital row chains).  Twice the columns: twice the load and the chain."""
    ml = with_changes(arch, **{"macro.input_drive": "multi_level", "macro.input_dac_bits": 4,
                               "circuit.cap_over_cell": True})
    load = 256 * (math.sqrt(1.0 / 0.9) * 0.2 + 1.2)
    assert _chain_by_hand(load) == pytest.approx(102.9, rel=1e-3)
    ar = circuit.areas(ml, G)
    assert ar["input_dac_logic_um2"] == pytest.approx(4 * 12 * 0.1 + _chain_by_hand(load))
    assert ar["periphery_mm2"] == pytest.approx(1408 * 30 * 0.1 / 1e6)
    wide = circuit.areas(with_changes(ml, **{"macro.columns": 512}), G)
    assert wide["input_dac_logic_um2"] - 4.8 == pytest.approx(2 * _chain_by_hand(load))


def test_a_converter_is_sized_by_the_pitch_of_the_columns_it_serves(arch):
    """A column-parallel converter is laid out in the pitch of the columns it serves (tlm/hw/circuit.py
    converter_strip_um2).  22nm, the cell's 1 fF over it at 0.9 fF/um2: 1.1111 um2, pitch 1.0541 um; a 6T
    length sqrt(0.1) = 0.31623 um, so a strip of 432 lengths is 1.0541 x 432 x 0.31623 = 144 um2 per
    column served.  256 converters under 256 columns: 144 um2 (the comparator the 144 - 8 x 1.2 = 134.4 its
    8 register bits of 12 x 0.1 um2 leave); 32 converters, 8 columns each: 8 x 144 = 1,152 um2.  A step
    switches 2 / 9 of the strip's minimum inverters (1.6 x 0.1 um2 each): 200 under one column, 1,600 under
    eight, 1,400 x 3 x 0.78 x 0.08 fF = 262.08 fF more per decision.  A flash comparator is the latch (4 x
    1.2 = 4.8 um2).  A strip too short for the latch and register (30 lengths: 10 um2 < 4.8 + 9.6) keeps
    the latch's 4.8 um2."""
    g = {**G, "converter_height": 432.0}
    one = with_changes(arch, **{"adc.kind": "sar", "adc.resolution_bits": 8, "circuit.cap_over_cell": True})
    eight = with_changes(one, **{"adc.converters_per_macro": 32})
    assert circuit.converter_width_um(eight, g) == pytest.approx(8 * math.sqrt(1 / 0.9))
    assert circuit.areas(one, g)["comparator_um2"] == pytest.approx(134.4)
    assert circuit.areas(eight, g)["comparator_um2"] == pytest.approx(1152.0 - 9.6)
    assert hw_adc.area_um2_per_converter(circuit.derive(one, g)) == pytest.approx(144.0)
    assert hw_adc.area_um2_per_converter(circuit.derive(eight, g)) == pytest.approx(1152.0)
    assert circuit.step_logic_inverters(one, g) == pytest.approx(200.0)
    assert circuit.step_logic_inverters(eight, g) == pytest.approx(1600.0)
    c = [circuit.derived_values(a, g)["adc.c_comparator_ff"] for a in (one, eight)]
    assert c[1] - c[0] == pytest.approx(1400 * 3 * 0.78 * 0.08)
    flash = with_changes(one, **{"adc.kind": "flash"})
    assert circuit.areas(flash, g)["comparator_um2"] == pytest.approx(4.8)
    assert circuit.step_logic_inverters(flash, g) == 0.0
    assert circuit.areas(one, {**g, "converter_height": 30.0})["comparator_um2"] == pytest.approx(4.8)


def test_a_folded_array_has_a_driver_chain_per_logical_row(arch):
    """Folded 3x, IMAGINE's 1152 x 256 (its capacitor over the cell) is 384 physical rows of 768 cells; each
    of the 1152 logical rows has its own input line across the physical row (768 x 1.0541 x 0.2 fF of
    wire + 256 x 2 x 0.0624 fF of
    gates = 193.86 fF: tests/test_circuit_energy.py) and its own chain, 193.86 / 3 / 0.1872 x 0.16 =
    55.23 um2, as the energy counts an input-driver event per logical row; the word-line and column drivers
    are physical: 384 + 768 = 1152 lines x 3 um2.  Periphery = 3,456 + 1152 x 55.23 = 67,083 um2 (with a
    chain per physical row it would be 3,456 + 384 x 55.23 = 24,665 um2)."""
    folded = with_changes(arch, **{"macro.fold": 3, "circuit.cap_over_cell": True})  # 1 fF over 0.9 fF/um2
    load = 768 * math.sqrt(1.0 / 0.9) * 0.2 + 256 * 2 * _switch_ff()
    assert _chain_by_hand(load) == pytest.approx(55.23, rel=1e-3)
    assert circuit.input_lines(folded) == 1152
    assert circuit.areas(folded, G)["periphery_mm2"] == pytest.approx((1152 * 3.0 + 1152 * _chain_by_hand(load)) / 1e6)
    assert circuit.areas(folded, G)["periphery_mm2"] == pytest.approx(0.067083, rel=1e-3)
