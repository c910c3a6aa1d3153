"""A digital-switch row DAC (`circuit.input_dac: switch`, tlm/hw/circuit.py switch_dac_um2 /
switch_dac_settle_fs / row_driver_ff): 2^k minimum level switches per row to reference levels all rows
share, no buffer chain of its own.  Each test changes only the DAC kind of Lee et al. VLSI 2021's macro
(configs/published/lee_vlsi2021.yaml: 28nm HP, 0.9 V, 1152 x 256 cells of one 1 fF capacitor over the cell,
5b rows) and derives the difference by hand from the technology table's 28nm values."""
import math

import pytest

from helpers import with_changes
from tlm.config.arch import load_arch
from tlm.hw import circuit

G = {"decision_fo4": 100.0, "pulse_fo4": 10.0, "cap_parasitic": 0.2, "converter_height": 150.0,
     "cell_area_factor": 1.5, "driver_cells": 30.0, "logic_cells": 12.0}
# 28nm HP (tlm/hw/technology_table.py): 6T cell 0.127 um2, over-cell MOM 0.707 fF/um2, unit capacitor 1 fF,
# wire 0.2 fF/um, a minimum switch's gate 0.072 fF, FO4 12 ps and a minimum switch 10,555.6 ohm at 0.9 V.
PITCH_UM = math.sqrt(1.0 / 0.707)                 # the cell is its capacitor: 1.414 um2 (10T x 1.5 is 0.32)
ROW_LOAD_FF = 256 * (PITCH_UM * 0.2 + 1.0 * 1.2)  # per column a pitch of wire and the cell's (1 + 0.2) fF: 368.1
ROW_LINE_FF = 256 * PITCH_UM * 0.2 + 256 * 2 * 0.072  # the digital row event: wire and two switch gates: 97.76


@pytest.fixture(scope="module")
def lee(root):
    return load_arch(root / "configs" / "published" / "lee_vlsi2021.yaml")


def _kinds(lee):
    return lee, with_changes(lee, **{"circuit.input_dac": "capacitive"})


def test_switch_dac_area_is_its_switches_not_a_buffer_chain(lee):
    """Switch DAC: 5 bits of decoder logic (12 6T cells each: 5 x 12 x 0.127 = 7.62 um2) and 32 minimum
    transmission gates of one minimum inverter each (32 x 1.6 x 0.127 = 6.50 um2): 14.12 um2 a row.  A
    capacitive DAC's row keeps the buffer chain that drives the row's 368.1 fF: load / 3 over a minimum
    inverter's 3 x 0.072 fF, 1.6 x 0.127 um2 each = 115.4 um2 (and its capacitor bank apart)."""
    sw, cap = _kinds(lee)
    assert circuit.row_load_ff(sw, circuit.constants(G)) == pytest.approx(ROW_LOAD_FF, rel=1e-6)
    assert circuit.switch_dac_um2(sw) == pytest.approx(32 * 1.6 * 0.127)
    assert circuit.areas(sw, G)["input_dac_logic_um2"] == pytest.approx(5 * 12 * 0.127 + 32 * 1.6 * 0.127)
    chain = ROW_LOAD_FF / 3.0 / (3 * 0.072) * 1.6 * 0.127
    assert circuit.areas(cap, G)["input_dac_logic_um2"] == pytest.approx(5 * 12 * 0.127 + chain, rel=1e-6)


def test_switch_dac_row_settles_through_one_minimum_switch(lee):
    """The row charged from its shared reference through one minimum switch adds n = (8 + 1) ln 2 = 6.238
    time constants of 10,555.6 ohm x 368.1 fF (3.885 ns): 24.24 ns of settling; its driver is one FO4
    (the decoder driving a switch's gate) where the capacitive DAC's chain has log4(368.1 / 0.072) = 6.16
    stages: (1 - 6.16) x 12 ps = -61.9 ps."""
    sw, cap = _kinds(lee)
    g = circuit.constants(G)
    tau_ps = 10555.6 * ROW_LOAD_FF / 1000.0
    n = 9 * math.log(2.0)
    assert circuit.settle_ps(sw, g) - circuit.settle_ps(cap, g) == pytest.approx(n * tau_ps, rel=1e-4)
    stages = math.log(ROW_LOAD_FF / 0.072) / math.log(4.0)
    want = n * tau_ps + (1.0 - stages) * 12.0
    assert circuit.dp_phase_ps(sw, g) - circuit.dp_phase_ps(cap, g) == pytest.approx(want, rel=1e-4)


def test_switch_dac_row_event_switches_no_chain(lee):
    """A row event of the switch DAC switches the row line (97.76 fF: 256 pitches of wire, 60.89 fF, and
    two switch gates a column, 36.86 fF) and the two level switches the decoder toggles (0.144 fF): 97.90
    fF; through a buffer chain tapered by 4 (log4(97.76 / 0.072) = 5.20 stages, each stage's input and
    drain) the same line costs L (1 + 2 (1 - 4^-5.20) / 3) = 162.9 fF."""
    sw, cap = _kinds(lee)
    assert circuit.derived_values(sw, G)["macro.c_row_driver_ff"] == pytest.approx(ROW_LINE_FF + 0.144, rel=1e-6)
    n = math.log(ROW_LINE_FF / 0.072) / math.log(4.0)
    chain = ROW_LINE_FF * (1.0 + 2.0 * (1.0 - 4.0 ** -n) / 3.0)
    assert circuit.derived_values(cap, G)["macro.c_row_driver_ff"] == pytest.approx(chain, rel=1e-6)
