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
             "IMAGINE's assumed 2 ns at 0.6 V is ~125 FO4, Wang's 0.84 ns at 0.7 V ~70 FO4 [derived]"),
    Constant("pulse_fo4", 8.0, 80.0, "FO4",
             "one unit input pulse on a read word line (pulse-count or pulse-width inputs)",
             "word-line pulses of 100-400 ps in 7-28nm current-domain CIM [estimate]: 100 ps at 28nm (FO4 "
             "12 ps) is 8 FO4, 400 ps at 7nm (FO4 5 ps) 80 FO4 [derived]"),
    Constant("cap_parasitic", 0.05, 0.6, "",
             "parasitic of a compute capacitor (bottom plate, switch junction, local wire) over its value",
             "MOM bottom-plate and switch parasitics 5-30%, with routing up to 60% [estimate]"),
    Constant("sar_logic_inv", 10.0, 2300.0, "inverters",
             "one SAR or ramp step's logic besides the latch and its register: asynchronous clock generation, "
             "the bit's CDAC switch drivers, control; in minimum inverter inputs",
             "the Walden band of CIM converters (technology table CONVERTERS walden_fj_per_step_cim, Murmann "
             "survey): an 8b SAR at 22nm, 0.8 V spans 1.4-10 fJ/step from 10 to 2,300 inverters per step; the "
             "top is Wang JSSC 2023's own ADC (Fig. 22: 34% of 125 pJ per 16-conversion MVM at 1.0 V, "
             "2.66 pJ per 8b conversion, 10.4 fJ/step) [derived]; Jia JSSC 2020's Table I (via CiMLoop): 1.79 pJ "
             "per 8b conversion at 65nm, 0.85 V (7.0 fJ/step), 15.6% of its macro energy [derived]"),
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
    "decision_fo4": 96.07,
    "pulse_fo4": 28.79,
    "cap_parasitic": 0.6,
    "sar_logic_inv": 240.0,
    "cell_area_factor": 1.0,
    "driver_cells": 200.0,
    "logic_cells": 30.0,
}
