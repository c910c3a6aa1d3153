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
    # the row DACs' energy: rows x phases x (2^k units + the static equivalent) x V^2 at the digital supply
    v = res.technology.vdd_digital_v
    assert hw_macro.dac_energy_pj(res, 64) == pytest.approx(64 * res.macro.c_input_dac_static_ff * v * v / 1000)
