"""A compute cell's area (tlm/hw/circuit.cell_area_um2) with its capacitor beside the transistors: the
capacitor's upper-metal part over the transistors (`circuit.cap_upper_over_cell`), derived by hand."""
import math

import pytest

from helpers import with_changes
from tlm.hw import area as hw_area
from tlm.hw import circuit

# fixed constants for the hand derivations (not the shipped ones)
G = {"decision_fo4": 100.0, "pulse_fo4": 10.0, "cap_parasitic": 0.2, "converter_height": 0.0,
     "cell_area_factor": 1.5, "driver_cells": 30.0, "logic_cells": 12.0}


def _beside(arch, upper, unit_ff=0.0):
    return with_changes(arch, **{"circuit.cap_over_cell": False, "circuit.cap_upper_over_cell": upper,
                                 "circuit.c_unit_ff": unit_ff, "circuit.cell_transistors": 8})


def test_a_capacitor_beside_the_cell_also_over_it_in_the_upper_metals_by_hand(arch):
    """22nm: the 8T cell's transistors are 1.5 x 0.1 x 8/6 = 0.2 um2.  Its 1.0 fF unit wholly beside them in
    the full MOM stack (2.5 fF/um2) takes 0.4 um2: a 0.6 um2 cell.  With the upper metals over the
    transistors as well (0.9 fF/um2 over 0.2 um2 = 0.18 fF), the strip beside holds the other 0.82 fF in
    0.328 um2: a 0.528 um2 cell, pitch 0.7266 um.  The switched capacitance (1.0 x 1.2 fF) is the same."""
    whole, upper = _beside(arch, False), _beside(arch, True)
    assert circuit.cell_area_um2(whole, G) == pytest.approx(0.2 + 1.0 / 2.5, rel=1e-12)
    assert circuit.cell_area_um2(upper, G) == pytest.approx(0.2 + (1.0 - 0.2 * 0.9) / 2.5, rel=1e-12)
    assert circuit.geometry(upper, G)["pitch_um"] == pytest.approx(math.sqrt(0.528), rel=1e-12)
    assert circuit.capacitances(upper, G)["cell"] == circuit.capacitances(whole, G)["cell"] == \
        pytest.approx(1.2)


def test_a_capacitor_that_fits_over_the_transistors_needs_no_strip_beside(arch):
    """A 0.1 fF capacitor fits in the 0.18 fF the upper metals over the 0.2 um2 transistors hold: the cell is
    its transistors alone (0.2 um2), where wholly beside them it was 0.2 + 0.1 / 2.5 = 0.24 um2."""
    assert circuit.cell_area_um2(_beside(arch, True, 0.1), G) == pytest.approx(0.2, rel=1e-12)
    assert circuit.cell_area_um2(_beside(arch, False, 0.1), G) == pytest.approx(0.24, rel=1e-12)


def test_the_smaller_cell_shrinks_the_macro_by_its_cells_and_lines(arch):
    """IMAGINE's 1152 x 256 cells at the shipped constants: each cell 0.0480 um2 smaller (0.12 fF of its 1 fF
    over the 8T's 0.1333 um2, 0.12 / 2.5) is 295k x 0.0480 = 0.01416 mm2 of cells; the periphery's row
    drivers follow the shorter rows (their load), never grow."""
    shipped = circuit.constants()
    whole = circuit.derive(_beside(arch, False), shipped)
    upper = circuit.derive(_beside(arch, True), shipped)
    t = shipped["cell_area_factor"] * 0.1 * 8 / 6
    d_cell = t * 0.9 / 2.5
    assert whole.macro.bitcell_area_um2 - upper.macro.bitcell_area_um2 == pytest.approx(d_cell, rel=1e-9)
    b_whole, b_upper = hw_area.macro_breakdown_mm2(whole), hw_area.macro_breakdown_mm2(upper)
    assert b_whole["cells"] - b_upper["cells"] == pytest.approx(1152 * 256 * d_cell / 1e6, rel=1e-9)
    assert b_upper["periphery"] <= b_whole["periphery"]
