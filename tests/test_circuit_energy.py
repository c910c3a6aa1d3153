"""Energy parts of the circuit model (tlm/hw/circuit.py): hand-derived switched capacitances, one mechanism
at a time (the row driver's buffer chain, the word line of a current-domain read port)."""
import math

import pytest

from helpers import with_changes
from tlm.hw import circuit
from tlm.hw import macro as hw_macro

# fixed constants for the hand derivations (not the shipped ones)
G = {"decision_fo4": 100.0, "pulse_fo4": 10.0, "cap_parasitic": 0.2, "converter_height": 0.0,
     "cell_area_factor": 1.5, "driver_cells": 30.0, "logic_cells": 12.0}
GATE_22 = 0.78 * 0.08  # a minimum switch's gate at 22nm: 0.78 fF/um x 0.08 um
PITCH_22 = math.sqrt(1.0 / 0.9)  # the cell of `arch` below: its 1.0 fF unit over 0.9 fF/um2 = 1.111 um2


@pytest.fixture
def arch(arch):
    """IMAGINE with its capacitor over the cell (the geometry these derivations state; the shipped config
    places it beside the cell, tests/test_circuit.py derives that one)."""
    return with_changes(arch, **{"circuit.cap_over_cell": True})


def test_row_driver_energy_counts_its_buffer_chain(arch):
    """IMAGINE's row (22nm): 256 cells x (one pitch of wire 1.0541 x 0.2 fF + two switch gates 2 x 0.0624 fF)
    = 85.92 fF.  Its driver is a chain tapered by 4 from one minimum gate: n = log4(85.92 / 0.0624) = 5.214
    stages, whose inputs 85.92 / 4, / 16, ... sum to 85.92 x (1 - 4^-n) / 3 = 28.62 fF, each with as much
    drain junction (gamma = 1): the row's event switches 85.92 + 2 x 28.62 = 143.16 fF, not the bare line.
    A long chain tends to 5/3 of its load; a load of 2 gates gets one stage (4^-1): 1 + 2 x 3/4 / 3 = 1.5 x."""
    load = 256 * (PITCH_22 * 0.2 + 2 * GATE_22)
    assert load == pytest.approx(85.92, rel=1e-4)
    n = math.log(load / GATE_22) / math.log(4.0)
    chain = load / 3 * (1 - 4.0 ** -n)
    assert chain == pytest.approx(28.62, rel=1e-3)
    v = circuit.derived_values(arch, G)
    assert v["macro.c_row_driver_ff"] == pytest.approx(load + 2 * chain, rel=1e-9)
    assert v["macro.c_row_driver_ff"] == pytest.approx(143.16, rel=1e-4)
    assert circuit.driver_chain_ff(1e9, 1.0) == pytest.approx(1e9 * 5 / 3, rel=1e-6)
    assert circuit.driver_chain_ff(2.0, 1.0) == pytest.approx(3.0)
    # the input drivers' energy is that capacitance per switching row at the digital supply (tlm/hw/macro.py)
    a = circuit.derive(arch, G)
    vd = a.technology.vdd_digital_v
    assert hw_macro.input_driver_energy_pj(a, 100, 0.5) == pytest.approx(100 * 0.5 * 143.16 * vd * vd / 1e3,
                                                                          rel=1e-4)


def test_current_domain_word_line_gates_one_read_transistor(arch):
    """A current-domain cell's read word line drives the one read-access transistor of its 8T read port
    (the other transistor of the stack is gated by the stored node); a charge-domain input line drives two
    compute switches.  22nm, 256 columns: the current-domain cell has no compute capacitor, so its pitch is
    sqrt(1.5 x 0.1 x 8/6 = 0.2 um2) = 0.4472 um and its row 256 x (0.4472 x 0.2 + 0.0624) = 38.87 fF (with
    two gates it would be 54.84 fF); IMAGINE's charge-domain row 256 x (0.2108 + 2 x 0.0624) = 85.92 fF."""
    charge = circuit.capacitances(arch, G)["row"]
    cur = with_changes(arch, **{"circuit.dp_domain": "current", "macro.input_drive": "pulse_count",
                                "macro.input_dac_bits": 4})
    assert circuit.capacitances(cur, G)["row"] == pytest.approx(256 * (math.sqrt(0.2) * 0.2 + GATE_22), rel=1e-9)
    assert circuit.capacitances(cur, G)["row"] == pytest.approx(38.87, rel=1e-3)
    assert charge == pytest.approx(256 * (PITCH_22 * 0.2 + 2 * GATE_22), rel=1e-9)


def test_switch_dac_has_no_capacitor_bank(arch):
    """A capacitive row DAC of k = 4 bits switches 2^4 units of the 22nm table's 1.0 fF with parasitic 0.2:
    16 x 1.2 = 19.2 fF per driven row per DP phase at the digital supply (0.6 V): 6.912 fJ; 100 row-phases
    0.6912 pJ.  A digital-switch DAC (Lee et al.: switches select a shared reference level) has no bank: no
    DAC energy of its own (the level charging the cells is the array's).  Only circuit.input_dac changes."""
    ml = with_changes(arch, **{"macro.input_drive": "multi_level", "macro.input_dac_bits": 4})
    cap = circuit.derive(ml, G)
    assert cap.macro.c_input_dac_unit_ff == pytest.approx(1.2)
    assert hw_macro.dac_energy_pj(cap, 100) == pytest.approx(100 * 16 * 1.2 * 0.36 / 1e3)
    sw = circuit.derive(with_changes(ml, **{"circuit.input_dac": "switch"}), G)
    assert sw.macro.c_input_dac_unit_ff == 0 and hw_macro.dac_energy_pj(sw, 100) == 0


def test_a_folded_row_gates_only_its_own_cells(arch):
    """Folded 3x (IMAGINE's 1152 x 256 as 384 physical rows of 768 cells): a logical row's input line runs
    the physical row (768 pitches of wire, 1.0541 x 0.2 fF each) but gates only its own 256 cells (2 x 0.0624
    fF each): 768 x 0.2108 + 256 x 0.1248 = 193.9 fF, not 768 x 0.3356 = 257.8 fF.  Invariant: over all
    logical rows the gates add up to every cell's two switches once, whatever the fold."""
    folded = with_changes(arch, **{"macro.fold": 3})
    row = circuit.capacitances(folded, G)["row"]
    assert row == pytest.approx(768 * PITCH_22 * 0.2 + 256 * 2 * GATE_22, rel=1e-9)
    assert row == pytest.approx(193.9, rel=1e-3)
    for a in (arch, folded):
        geo = circuit.geometry(a, G)
        gates = a.macro.rows * (circuit.capacitances(a, G)["row"] - geo["cols"] * geo["pitch_um"] * 0.2)
        assert gates == pytest.approx(1152 * 256 * 2 * GATE_22, rel=1e-9)


def test_complementary_input_pair_xnor_and(arch):
    """A complementary input pair (`circuit.input_pair`, the M-BC's IA / IAb): each of the two lines of a
    logical row reaches one of the cell's two compute transistors, so IMAGINE's row (22nm, 256 cells) is two
    lines of 256 x (0.2108 + 0.0624) = 69.94 fF each, not one of 85.92 fF.  Each line's chain: n =
    log4(69.94 / 0.0624) = 5.065 stages, inputs 69.94 / 3 x (1 - 4^-n) = 23.29 fF with as much junction: 69.94 +
    2 x 23.29 = 116.53 fF per line event.  XNOR: one line of the pair rises every DP phase whatever the bit:
    100 row-phases x 116.53 fF x 0.6^2 = 4.195 pJ at any input density; the single line at density 0.5 switches
    100 x 0.5 x 143.16 fF: 2.577 pJ; an AND pair (IAb held low) 100 x 0.5 x 116.53 fF: 2.098 pJ.  Two drivers
    per logical row: 2 x 1152 input lines, and over both lines the gates are every cell's two switches once."""
    xnor = with_changes(arch, **{"circuit.input_pair": "xnor"})
    land = with_changes(arch, **{"circuit.input_pair": "and"})
    line = 256 * (PITCH_22 * 0.2 + GATE_22)
    assert circuit.capacitances(xnor, G)["row"] == pytest.approx(line, rel=1e-9)
    assert line == pytest.approx(69.94, rel=1e-4)
    ax, aa, a1 = (circuit.derive(a, G) for a in (xnor, land, arch))
    assert ax.macro.c_row_driver_ff == pytest.approx(116.53, rel=1e-4)
    for d in (0.1, 0.5, 0.9):
        assert hw_macro.input_driver_energy_pj(ax, 100, d) == pytest.approx(100 * 116.53 * 0.36 / 1e3, rel=1e-4)
    assert hw_macro.input_driver_energy_pj(a1, 100, 0.5) == pytest.approx(100 * 0.5 * 143.16 * 0.36 / 1e3, rel=1e-4)
    assert hw_macro.input_driver_energy_pj(aa, 100, 0.5) == pytest.approx(100 * 0.5 * 116.53 * 0.36 / 1e3, rel=1e-4)
    assert circuit.input_lines(xnor) == circuit.input_lines(land) == 2 * 1152 == 2 * circuit.input_lines(arch)
    assert 2 * (circuit.capacitances(xnor, G)["row"] - 256 * PITCH_22 * 0.2) == pytest.approx(
        circuit.capacitances(arch, G)["row"] - 256 * PITCH_22 * 0.2, rel=1e-9)
    # a pair belongs to bit-serial rows: a multi-level row (its DAC's level) keeps one line, as without it
    ml = {"macro.input_drive": "multi_level", "macro.input_dac_bits": 4}
    mp, m1 = (circuit.derive(with_changes(arch, **ml, **x), G) for x in ({"circuit.input_pair": "xnor"}, {}))
    assert circuit.input_lines(mp) == 1152
    assert hw_macro.input_driver_energy_pj(mp, 100, 0.3) == hw_macro.input_driver_energy_pj(m1, 100, 0.3)
