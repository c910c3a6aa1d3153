"""A resistive row DAC (`circuit.input_dac: r2r`, tlm/hw/r2r.py): the ladder's mean static power by hand, its
energy per phase at the supply it is sized for (the hold time cancels), its growth with the hold time at a
lower supply, and no capacitor bank."""
import math

import pytest

from helpers import with_changes
from tlm.config.arch import load_arch
from tlm.hw import circuit, r2r
from tlm.hw import macro as hw_macro
from tlm.hw import technology_table as tt

G = {"decision_fo4": 100.0, "pulse_fo4": 10.0, "cap_parasitic": 0.2, "converter_height": 0.0,
     "cell_area_factor": 1.0, "driver_cells": 30.0, "logic_cells": 12.0}
LN2 = math.log(2.0)


@pytest.fixture(scope="module")
def wang(root):
    return load_arch(root / "configs" / "published" / "wang_vlsi2022.yaml")


def test_ladder_mean_power_by_hand():
    # 1 bit: one node, its 2R leg to V_s and the 2R termination to 0: code 1 draws V_s / 4R, P = V_s^2 / 4R;
    # the mean over codes {0, 1} is 1/8 (units V_s^2 / R).
    assert r2r.mean_power_units(1) == pytest.approx(1 / 8)
    # 2 bits (node 0 = LSB with the termination, node 1 = output; R between them; legs 2R):
    #   code 1: V1 = 1/4, V0 = 3/8, P = (1 - 3/8) / 2 = 5/16;  code 2: V1 = 1/2, V0 = 1/4, P = (1 - 1/2) / 2 = 1/4;
    #   code 3: V0 = 5/8, V1 = 3/4, P = ((1 - 5/8) + (1 - 3/4)) / 2 = 5/16;  mean (0 + 5/16 + 1/4 + 5/16) / 4 = 7/32.
    assert r2r.mean_power_units(2) == pytest.approx(7 / 32)
    assert r2r.mean_power_units(8) > r2r.mean_power_units(4) > r2r.mean_power_units(2)  # more legs conduct


def _row_ff(arch, g):
    # A C-2C row by hand: per column the cell pitch of wire and (2/3 + p) units (tlm/hw/circuit.row_cell_ff);
    # Wang's cell is its 3 x 2 fF ladder stage over the transistors at the 22nm over-cell density.
    pitch = math.sqrt(3 * 2.0 / tt.value(22, "cap_over_cell_ff_per_um2"))
    return arch.macro.columns * (pitch * tt.value(22, "c_wire_ff_per_um") + (2 / 3 + g["cap_parasitic"]) * 2.0)


def test_static_energy_at_its_sizing_supply_by_hand(wang):
    # Sized at the supply it runs at, R = T_hold / ((k + 1) ln 2 C_row): the static energy per phase
    # kappa (V/2)^2 / R x T_hold is kappa / 4 x (k + 1) ln 2 x C_row x V^2, whatever the clock.
    a = with_changes(wang, **{"macro.input_dac_bits": 2, "circuit.input_dac_sized_vdd_v": 0.0})
    want = 7 / 32 / 4 * 3 * LN2 * _row_ff(a, G)
    assert circuit.input_dac_static_ff(a, G) == pytest.approx(want, rel=1e-9)
    slow = dict(G, decision_fo4=2 * G["decision_fo4"])
    assert circuit.input_dac_static_ff(a, slow) == pytest.approx(want, rel=1e-9)


def test_static_energy_grows_with_the_hold_at_a_lower_supply(wang):
    # Sized at 1.1 V, run at 0.7 V: the resistors are fixed, the hold is 8 conversion cycles at both supplies
    # (pipelined; the DP phase is shorter), so the energy per phase grows by the period's ratio, the FO4's at
    # 0.7 V over 1.1 V (alpha-power law); per V^2 it is the same ratio: the energy falls less than V^2.
    lo = with_changes(wang, **{"technology.vdd_digital_v": 0.7, "technology.vdd_array_v": 0.7,
                               "circuit.input_dac_sized_vdd_v": 1.1})
    hi = with_changes(lo, **{"technology.vdd_digital_v": 1.1, "technology.vdd_array_v": 1.1})
    assert circuit.input_dac_hold_ps(lo, G) == pytest.approx(8 * circuit.period_ps(lo, G))
    ratio = circuit.input_dac_static_ff(lo, G) / circuit.input_dac_static_ff(hi, G)
    assert ratio == pytest.approx(tt.fo4_ps(22, 0.7) / tt.fo4_ps(22, 1.1), rel=1e-9)
    assert ratio > 1.0
    at_hi = circuit.input_dac_static_ff(hi, G)
    assert at_hi == pytest.approx(r2r.mean_power_units(8) / 4 * 9 * LN2 * _row_ff(hi, G), rel=1e-9)


def test_a_resistive_dac_has_no_capacitor_bank_and_a_capacitive_one_no_static(wang):
    res = circuit.derive(with_changes(wang, **{"circuit.input_dac": "r2r"}), G)
    cap = circuit.derive(with_changes(wang, **{"circuit.input_dac": "capacitive"}), G)
    assert res.macro.c_input_dac_unit_ff == 0.0 and res.macro.c_input_dac_static_ff > 0.0
    assert cap.macro.c_input_dac_static_ff == 0.0 and cap.macro.c_input_dac_unit_ff > 0.0
    assert hw_macro.dac_area_um2(res) == pytest.approx(res.macro.input_dac_logic_area_um2)
    # the row DACs' energy: rows x phases x (2^k units + the static equivalent + the switches' and registers'
    # drive) x V^2 at the digital supply
    v, m = res.technology.vdd_digital_v, res.macro
    assert m.c_input_dac_drive_ff > 0.0 and cap.macro.c_input_dac_drive_ff == 0.0
    want = 64 * (m.c_input_dac_static_ff + m.c_input_dac_drive_ff) * v * v / 1000
    assert hw_macro.dac_energy_pj(res, 64) == pytest.approx(want)


def test_leg_switch_sensitivity_by_hand():
    # A switch's on-resistance r in series with a 2R leg.  1 bit: out = V_b x 2R / (4R + r), d out / d r =
    # -V_b / (8R): per R, V_s / 8 = 1/4 LSB (LSB V_s / 2).  The MSB of k bits: out = (2R V_b + (2R + r) V_rest)
    # / (4R + r), d out / d r = (V_rest - V_b) / (8R), at most V_s / (8R) = 2^k / 8 LSB per R (code 1000...0:
    # V_b = V_s, V_rest = 0).  2 bits, the LSB's leg (node 0: leg 2R + r, termination 2R, R to the output
    # node 1, whose leg 2R goes to V_1), code 01: node 1 holds v1 = 2/3 v0 (its 2R to 0 against R), node 0
    # (V_s - v0) / (2R + r) = v0 (1/2 + 1 - 2/3) / R, so out = v1 = 4 V_s / (16 + 5 r / R): d out / d r =
    # -20 / 256 V_s per R = 0.3125 LSB (V_s / 4); codes 10 and 11 give 0.125 and 0.1875.  So a lower bit
    # weighs 5/8 of its MSB's 1/2 LSB per R, not 1/2: the widths are not exactly binary-scaled.
    assert r2r.switch_sensitivity_lsb(1)[0] == pytest.approx(0.25, rel=1e-5)
    assert r2r.switch_sensitivity_lsb(2) == pytest.approx((0.3125, 0.5), rel=1e-5)
    assert r2r.switch_sensitivity_lsb(8)[-1] == pytest.approx(2 ** 8 / 8, rel=1e-5)
    # the widths: bit i's on-resistance R / (2 s_i), at least the minimum switch
    w = r2r.switch_widths_um(8, 2.0, 1000.0, 0.08)
    assert w[-1] == pytest.approx(1000.0 / (2000.0 / 64), rel=1e-5)  # 32 um: 31.25 ohm = R / 64
    assert w[0] == pytest.approx(max(0.08, 1000.0 / (2000.0 / (2 * r2r.switch_sensitivity_lsb(8)[0]))))


def test_an_r2r_row_is_driven_by_its_ladder_not_a_row_chain(wang):
    # Issue 21 (a double count found on Wang et al.): the ladder settles the row (tlm/hw/r2r.py), so the row has
    # no buffer chain sized for its load.  Wang at 22nm FFL, sized at 1.1 V; the test constants G.
    # Row load by hand (_row_ff): 128 x (pitch x wire + (2/3 + 0.2) x 2 fF).  Hold at 1.1 V: pipelined,
    # 8 decisions of decision_fo4 FO4 (the DP phase is shorter), so R = 8 x 100 x FO4(1.1 V) / (9 ln 2 C_row).
    # Each leg's switch pair: 2 switches of width max(w_min, r_on x um / (R / (2 s_i))), gates 0.78 fF/um.
    sw = 0.78 * 0.08  # one minimum switch's gate at 22nm (FFL), fF
    c_row = _row_ff(wang, G)
    r_kohm = 8 * 100.0 * tt.fo4_ps(22, 1.1, "ffl") / (9 * LN2 * c_row)
    r_on_um = tt.r_on_ohm(22, 1.1, 1.0, "ffl")
    s = r2r.switch_sensitivity_lsb(8)
    legs = [2 * max(0.08, r_on_um / (1000.0 * r_kohm / (2 * si))) * 0.78 for si in s]
    assert list(circuit.r2r_leg_gates_ff(wang, G)) == pytest.approx(legs, rel=1e-9)
    # Area per row: 2 ladders x (each leg's pair, its gates in minimum inverters of 3 switch gates and 1.6 6T
    # cells of 0.1 um2, and its chain: load / 3 of gates in the same inverters) + 2 registers of 8 bits of
    # 12 x 0.1 um2 flip-flop equivalents; no chain to the row (it would add 128-column-load / 3 of gates).
    inv_um2 = 1.6 * 0.1
    drive_um2 = 2 * sum(c / (3 * sw) * inv_um2 * (1 + 1 / 3) for c in legs)
    ar = circuit.areas(wang, G)
    assert ar["input_dac_logic_um2"] == pytest.approx(2 * 8 * 12 * 0.1 + drive_um2, rel=1e-9)
    row_chain_um2 = c_row / 3 / (3 * sw) * inv_um2
    assert row_chain_um2 > 50.0  # what the double count added per row (~111 um2 at Wang's constants)
    # Energy: the row event switches the row line alone (its wire and gates, 128 x (pitch x 0.2 + 2 x sw)),
    # not the 5/3 of a chain; the DAC's drive per phase: each leg toggles with probability 1/2 through its
    # chain, L (1 + 2 (1 - 4^-N) / 3), N = max(1, log4(L / sw)), and the 2 x 8 register bits load.
    caps = circuit.capacitances(wang, G)
    pitch = math.sqrt(3 * 2.0 / tt.value(22, "cap_over_cell_ff_per_um2"))
    assert caps["row"] == pytest.approx(128 * (pitch * tt.value(22, "c_wire_ff_per_um") + 2 * sw), rel=1e-9)
    assert circuit.row_driver_ff(wang, caps) == pytest.approx(caps["row"], rel=1e-12)

    def chain(load):
        n = max(1.0, math.log(load / sw) / math.log(4.0))
        return load * (1 + 2 * (1 - 4.0 ** -n) / 3)

    want = sum(0.5 * chain(c) for c in legs) + 2 * 8 * circuit.flop_clock_ff(wang)
    assert circuit.input_dac_drive_ff(wang, G) == pytest.approx(want, rel=1e-9)
    # a capacitive DAC on the same row keeps its chain to the row (tests/test_circuit.py) and no ladder drive
    cap = with_changes(wang, **{"circuit.input_dac": "capacitive"})
    assert circuit.areas(cap, G)["input_dac_logic_um2"] == pytest.approx(8 * 12 * 0.1 + row_chain_um2, rel=1e-9)
    assert circuit.input_dac_drive_ff(cap, G) == 0.0
