"""The `circuit:` section: the circuit structure of a macro, from which tlm/hw/circuit.py derives the
engine's parameters (clock, cycle counts, capacitances, areas) with the technology table
(tlm/hw/technology_table.py) and the global constants (tlm/hw/constants.py).  Optional: without it (or
with `derive: false`) the engine parameters are the ones the file writes."""
from __future__ import annotations

from tlm.config.schema import Section, frozen_section, param


@frozen_section
class Circuit(Section):
    """`circuit:` how the macro computes, as a circuit designer states it."""
    derive: bool = param("the engine parameters of macro, adc and clock follow from this structure, the node "
                         "and the global constants (tlm/hw/circuit.py); the file writes the derived values "
                         "and a test checks they agree", default=False)
    devices: str = param("device flavour: 'hp' (general-purpose), 'lp' (low-power, high-Vt; the technology "
                         "table's LP entries where it has them) or 'ffl' (Intel 22FFL's high-performance logic "
                         "devices: the table's FFL entries, 22nm; at any other node the node's own)",
                         choices=("hp", "lp", "ffl"), default="hp")
    dp_domain: str = param("'charge' (cells switch capacitors that charge-share on the column) or 'current' "
                           "(cells discharge a pre-charged read bit line during input pulses)",
                           choices=("charge", "current"), default="charge")
    weighting: str = param("how a charge-domain cell's weight bits are weighted: 'binary' (one unit capacitor "
                           "per bit cell, adjacent columns combined) or 'c2c' (a C-2C ladder: 3 units per bit)",
                           choices=("binary", "c2c"), default="binary")
    c_unit_ff: float = param("the compute capacitor of one cell (charge domain), fF; 0 = the node's smallest "
                             "matched unit (tlm/hw/technology_table.py c_unit_min_ff)", lo=0.0, hi=1000.0,
                             default=0.0)
    cell_transistors: int = param("transistors of one compute bit cell (6T, 8T, 10T, ...)", lo=4, hi=32,
                                  default=8, why_hi="no published CIM cell has more")
    cap_over_cell: bool = param("the compute capacitor is stacked in the metals over the cell's transistors "
                                "(cell area = the larger of the two) rather than beside them (the sum)",
                                default=True)
    cap_upper_over_cell: bool = param("with `cap_over_cell: false`: the capacitor also fills the upper metals over "
                                      "the cell's transistors (at the node's over-cell density, those the cell's "
                                      "own lines leave free), so only the rest of it needs a full-stack footprint "
                                      "beside the cell (tlm/hw/circuit.py cell_area_um2)", default=False)
    cells_per_compute: int = param("stored bit cells per compute cell (weight sets sharing one compute "
                                   "capacitor)", lo=1, hi=64, default=1,
                                   why_hi="no published macro stores more weight sets per compute cell")
    abn_units: int = param("analog batch-norm capacitor units (of the converter's unit) switched per "
                           "conversion", lo=0, hi=65536, default=0, why_hi="a capacitor bank of 2^16 units")
    sample_cycles: int = param("clock cycles per conversion besides its decisions: sampling, reset",
                               lo=0, hi=64, default=1, why_hi="a handful of cycles in every published SAR")
    input_dac: str = param("the row input DAC of a multi-level input drive: 'capacitive' (2^k binary-weighted "
                           "unit capacitors switched per DP phase), 'switch' (digital switches connect the "
                           "row to one of 2^k reference levels shared by all rows: no capacitor bank of its own) "
                           "or 'r2r' (two R-2R resistor ladders per row around mid-supply, one conducting for "
                           "a signed input: a static current while the row holds its level, no capacitors)",
                           choices=("capacitive", "switch", "r2r"), default="capacitive")
    input_dac_sized_vdd_v: float = param("the supply at which an 'r2r' ladder is sized to settle its row "
                                         "within one operation: the design's highest operating supply (its "
                                         "resistors are then fixed); 0 = sized at the supply it runs at",
                                         lo=0.0, hi=2.0, default=0.0)
    input_load_bits_per_cycle: int = param("bits of the input vector entering the macro per clock cycle "
                                           "before each array operation (0 = staged in parallel, no load "
                                           "cycles)", lo=0, hi=65536, default=0,
                                           why_hi="one bit per row of the largest array")
    input_load_element_bits: int = param("bus bits each input element occupies while the input vector is "
                                         "loaded (`input_load_bits_per_cycle`): 0 = packed at the row's "
                                         "input precision (rows x bits / bus cycles); 8 = one byte per "
                                         "element, so the load takes rows x 8 / bus cycles whatever the "
                                         "precision (a 1b and a 5b vector load alike; an element never takes fewer "
                                         "bits than its precision)", lo=0, hi=64,
                                         default=0, why_hi="a 64-b word per element")
    input_pair: str = param("a charge-domain row's input lines: 'none' (one input line per logical row, "
                            "gating the cell's two compute switches, switching when its input bit is 1); "
                            "'xnor' (a complementary pair IA / IAb per logical row, each line reaching one of "
                            "the cell's two compute transistors, which the stored bit selects: every DP "
                            "phase one line of the pair rises whatever the input bit, the XNOR of input and "
                            "weight); 'and' (the same pair with IAb held low: IA switches when the input bit "
                            "is 1).  A pair has two line drivers per logical row (tlm/hw/circuit.py "
                            "input_line_pair; bit-serial inputs in the charge domain only, ignored "
                            "otherwise)", choices=("none", "xnor", "and"), default="none")
