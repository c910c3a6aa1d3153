"""The global constants of the circuit model (tlm/hw/circuit.py): the few numbers no technology table
gives, the same for every design.  Each is named, says what it is physically, and carries the range
published figures allow; `tlm calibrate --global` fits them once over all shipped published designs
(least squares on the log errors of every figure, each constant kept inside its range) and
`--write` rewrites VALUES below.  tests/test_circuit.py fails when a value leaves its range.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Constant:
    name: str
    lo: float
    hi: float
    unit: str
    meaning: str
    source: str


CONSTANTS = (
    Constant("decision_fo4", 10.0, 200.0, "FO4",
             "the macro's clock period: one comparator decision with its logic and reference settling (a SAR "
             "step, a flash decision), in FO4 delays at the digital supply",
             "stand-alone SAR decisions 5-30 FO4 (asynchronous, Murmann survey); CIM converters are slower: "
             "IMAGINE's assumed 2 ns at 0.6 V is ~125 FO4, Wang's 0.85 ns at 0.7 V ~86 FO4 of its 22FFL "
             "devices [derived]"),
    Constant("pulse_fo4", 8.0, 80.0, "FO4",
             "one unit input pulse on a read word line (pulse-count or pulse-width inputs)",
             "word-line pulses of 100-400 ps in 7-28nm current-domain CIM [estimate]: 100 ps at 28nm (FO4 "
             "12 ps) is 8 FO4, 400 ps at 7nm (FO4 5 ps) 80 FO4 [derived]"),
    Constant("cap_parasitic", 0.05, 0.6, "",
             "parasitic of a compute capacitor (bottom plate, switch junction, local wire) over its value",
             "MOM bottom-plate and switch parasitics 5-30%, with routing up to 60% [estimate]"),
    Constant("converter_height", 100.0, 1000.0, "6T lengths",
             "height of a column-parallel SAR or ramp converter laid out in the pitch of the columns it serves "
             "(its comparator, register, CDAC switch drivers and step timing; its capacitor DAC apart), in "
             "lengths of the node's 6T cell (the square root of its area); its width is the columns it serves "
             "x their pitch, and a step switches 2 / (B + 1) of its gates (tlm/hw/circuit.py "
             "converter_strip_um2, step_logic_inverters)",
             "CIM converters over the model's column pitch: Wang JSSC 2023 Fig. 22(b) (via CiMLoop) 13% of "
             "0.124 mm2 over 16 ADCs, 1,008 um2 each, under 8 columns of 2.58 um (20.7 um wide): 48.8 um, "
             "154 lengths of the 22nm 6T; Jia JSSC 2020 Fig. 11 (via CiMLoop) 0.497 mm2 over 256 ADCs, "
             "1,941 um2 each, under 3 physical columns of 1.98 um: 326 um, 452 lengths at 65nm (both with "
             "their CDAC) [derived]; image-sensor column SAR ADCs: Shin et al., IEEE TED 2012, 10b, 9 x 425 um "
             "at 0.13 um (6T ~2 um2: ~300 lengths) [memory]; Kim et al., IEEE TED 2016, 12b SAR/single-slope, "
             "2.24 x 998 um at 90nm (6T ~1 um2: ~1,000 lengths) [memory]"),
    Constant("cell_area_factor", 1.0, 2.5, "",
             "a compute cell's transistor area over the node's 6T cell x transistors / 6",
             "8T + MOM cell 1.8x a 6T (Valavi JSSC 2019) [src]; 8T1C 1.41x [src]; 8T 1.3-1.5x [estimate]"),
    Constant("driver_cells", 5.0, 200.0, "6T cells",
             "decoder, level shifter and timing per array line, in 6T-cell areas (the buffer chain that "
             "drives a compute row's load is sized apart, tlm/hw/circuit.py chain_area_um2)",
             "SRAM word-line drivers and decoders 10-100 cell areas per row [estimate]"),
    Constant("logic_cells", 5.0, 30.0, "6T cells",
             "one flip-flop-equivalent of converter or pulse logic, in 6T-cell areas",
             "a DFF is 10-20 6T cells (28nm DFF 1.5-2 um2 vs 0.127 um2) [estimate]"),
)
BY_NAME = {c.name: c for c in CONSTANTS}

# Fitted by `tlm calibrate --global` (do not edit by hand; rewrite with --write-global).
VALUES = {
    "decision_fo4": 102.3,
    "pulse_fo4": 28.99,
    "cap_parasitic": 0.6,
    "converter_height": 150.9,
    "cell_area_factor": 1.0,
    "driver_cells": 200.0,
    "logic_cells": 30.0,
}
