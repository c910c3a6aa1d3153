"""The technology table: per CMOS node, the device, wire, capacitor and SRAM figures the circuit model
(tlm/hw/circuit.py) derives a macro from, each with its source and its published range.  Data, one place.

Source tags (as in the configs): [src] read from the cited source; [derived] arithmetic on [src] numbers
(shown); [memory] a widely quoted literature value not checked against a stored copy (verify before
relying on it); [estimate] an engineering estimate with no single source.  Every value carries a range
(lo, hi) that spans the published spread; tests/test_circuit.py checks each value sits in it.

Sources:
  PTM/NeuroSim: Predictive Technology Model parameters as tabulated in NeuroSim `Technology.cpp` (ASU):
                gate capacitance (ideal + fringe) per um of width, NMOS I_on per um; R_on,eff = 1.54 Vdd / I_on
                (CACTI's effective-resistance multiplier).
  Sakurai-Newton: T. Sakurai, A. R. Newton, "Alpha-power law MOSFET model and its applications to CMOS
                inverter delay and other formulas", IEEE JSSC 25(2):584-594, 1990: delay ~ V / (V - Vt)^alpha,
                alpha 1.2-1.4 for velocity-saturated devices.
  Horowitz FO4: FO4 ~ 0.36-0.5 ns x L_gate(um) at nominal supply (M. Horowitz, R. Ho, K. Mai, "The future
                of wires", Proc. IEEE 89(4), 2001) [memory]; published 22-28nm FO4 at nominal supply 10-15 ps.
  CACTI/DESTINY: local wire 0.294 fF/um (65nm, local_aggressive); OpenROAD-flow-scripts setRC.tcl clock
                layers 0.11-0.21 fF/um (tlm/hw/controller.py CLOCK_WIRE_FF_PER_UM).
  SRAM cells:   IBM 22nm 6T 0.1 um2 (IEDM 2008) [src]; Intel 22nm 0.092 HD; TSMC 28nm HD 0.127; TSMC 16FF
                0.07; TSMC N7 HD 0.027 / HC 0.032; 65nm 0.50-0.52 [memory].
  Valavi19:     H. Valavi et al., JSSC 54(6), 2019: an 8T cell with its MOM capacitor is 1.8x a 6T [src].
  Murmann:      B. Murmann, "ADC Performance Survey 1997-2022" (github.com/bmurmann/ADC-survey): best Walden
                FoM 0.35-0.85 fJ/step (sub-MS/s, 40-65nm); 5-7b GS/s converters 17-80 fJ/step; Schreier FoM
                envelope asymptote 186.7 dB, corner 46.7 MHz (plots/foms_plot.json) [src].
The flip-flop, clock-gate and small-SRAM per-event figures are in tlm/hw/controller.py PUBLISHED_POINTS.
"""
from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Value:
    """One technology figure: its value, the published range it sits in, unit and source."""
    value: float
    lo: float
    hi: float
    unit: str
    source: str


def V(value, lo, hi, unit, source) -> Value:
    return Value(float(value), float(lo), float(hi), unit, source)


_PTM = "PTM via NeuroSim Technology.cpp [src]"
_WIRE = "CACTI/DESTINY 0.294 fF/um at 65nm; setRC.tcl 0.11-0.21 fF/um [src]"
_MOM = "MOM finger capacitors 1.5-3 fF/um2 at 22-28nm, ~1 fF/um2 at 65nm [estimate]"
_RW = "Cu 2.2-4 uOhm cm over intermediate-metal cross-sections; ITRS M1 ~14 ohm/um at 22nm [estimate]"
_OVER = ("MOM in the upper metals over a bit cell: 0.5-1 fF/um2 at 22-28nm [estimate]; at 22nm at least 0.86: "
         "Wang JSSC 2023's MAC area (46% of 0.124 mm2, Fig. 22(b) via CiMLoop) is 6.96 um2 per compute cell "
         "holding its 6 fF C-2C ladder stage [derived]; 0.9 at 22nm, other nodes by the technology rule "
         "(density x 22 / node)")
_ALPHA = "Sakurai-Newton 1990: 1.2-1.4 velocity-saturated [memory]"
_EYERISS = ("Y.-H. Chen et al., Eyeriss, IEEE JSSC 52(1):127-138, 2017, TSMC 65nm LP: core clock 100-250 MHz "
            "[src: slideshare.net/slideshow/eyeriss-introduction/235295994] over a core supply of 0.82-1.17 V "
            "[memory]")
_LEAK = ("6T cell leakage at the nominal supply, room temperature: tens of pA for high-density cells at "
         "16-28nm, ~100 pA general-purpose 65nm [estimate]")

# Per node.  vdd_nom_v: nominal supply the FO4 is given at; vt_v, alpha: the alpha-power law; fo4_ps: FO4
# inverter delay at vdd_nom; c_gate_ff_per_um: gate capacitance per um of width; r_on_ohm_um: an NMOS
# switch's effective on-resistance x width at vdd_nom; w_min_um: a minimum switch's (effective) width;
# c_wire_ff_per_um: minimum-pitch local wire; cap_density_ff_per_um2: MOM capacitor density;
# c_unit_min_ff: the smallest matched MOM unit capacitor (CDAC unit); cap_over_cell_ff_per_um2: a capacitor
# built only in the upper metals over a bit cell; sram_6t_um2: the high-density 6T cell; i_leak_cell_pa: one
# 6T cell's leakage current (logic leaks per the same area: tlm/hw/circuit.py leakage_uw).
NODES = {
    7: {
        "i_leak_cell_pa": V(10.0, 2.0, 100.0, "pA", _LEAK),
        "cap_over_cell_ff_per_um2": V(2.83, 1.6, 3.1, "fF/um2", _OVER),
        "r_wire_ohm_per_um": V(15.0, 5.0, 60.0, "ohm/um", _RW),
        "vdd_nom_v": V(0.75, 0.7, 0.8, "V", "TSMC N7 nominal [memory]"),
        "vt_v": V(0.25, 0.2, 0.35, "V", "FinFET SVT [estimate]"),
        "alpha": V(1.15, 1.0, 1.4, "", _ALPHA),
        "fo4_ps": V(5.0, 3.0, 8.0, "ps", "Horowitz rule 0.36-0.5 ns/um x L, FinFET wires [estimate]"),
        "c_gate_ff_per_um": V(0.8, 0.6, 1.1, "fF/um", "per effective fin width, as PTM 22nm [estimate]"),
        "r_on_ohm_um": V(700.0, 500.0, 1000.0, "ohm um", "FinFET I_on 1.6-2 mA/um [estimate]"),
        "w_min_um": V(0.1, 0.08, 0.15, "um", "one fin: 2 x H_fin + W_fin [estimate]"),
        "c_wire_ff_per_um": V(0.2, 0.11, 0.3, "fF/um", _WIRE),
        "cap_density_ff_per_um2": V(3.0, 1.7, 5.0, "fF/um2", "CiMLoop sinangil 1.7 fF/um2 [src]; MOM [estimate]"),
        "c_unit_min_ff": V(0.5, 0.2, 1.0, "fF", "CIM/SAR unit capacitors [estimate]"),
        "sram_6t_um2": V(0.027, 0.027, 0.032, "um2", "TSMC N7 HD 0.027 / HC 0.032 [memory]"),
    },
    16: {
        "i_leak_cell_pa": V(15.0, 3.0, 150.0, "pA", _LEAK),
        "cap_over_cell_ff_per_um2": V(1.24, 0.7, 1.4, "fF/um2", _OVER),
        "r_wire_ohm_per_um": V(6.0, 2.0, 20.0, "ohm/um", _RW),
        "vdd_nom_v": V(0.8, 0.75, 0.9, "V", "TSMC 16FF nominal [memory]"),
        "vt_v": V(0.3, 0.2, 0.4, "V", "FinFET SVT [estimate]"),
        "alpha": V(1.2, 1.0, 1.4, "", _ALPHA),
        "fo4_ps": V(7.0, 5.0, 10.0, "ps", "Horowitz rule, FinFET wires [estimate]"),
        "c_gate_ff_per_um": V(0.8, 0.6, 1.1, "fF/um", "as PTM 22nm [estimate]"),
        "r_on_ohm_um": V(800.0, 600.0, 1100.0, "ohm um", "I_on 1.4-1.8 mA/um [estimate]"),
        "w_min_um": V(0.1, 0.08, 0.15, "um", "one fin [estimate]"),
        "c_wire_ff_per_um": V(0.2, 0.11, 0.3, "fF/um", _WIRE),
        "cap_density_ff_per_um2": V(3.0, 2.0, 4.0, "fF/um2", _MOM),
        "c_unit_min_ff": V(0.5, 0.2, 1.0, "fF", "CIM/SAR unit capacitors [estimate]"),
        "sram_6t_um2": V(0.074, 0.07, 0.08, "um2", "TSMC 16FF 0.07 [memory]"),
    },
    22: {
        "i_leak_cell_pa": V(20.0, 5.0, 300.0, "pA", _LEAK + "; IMAGINE config ~20 pA at 0.3 V [assumed]"),
        "cap_over_cell_ff_per_um2": V(0.9, 0.5, 1.0, "fF/um2", _OVER),
        "r_wire_ohm_per_um": V(4.0, 1.5, 14.0, "ohm/um", _RW),
        "vdd_nom_v": V(0.8, 0.8, 0.85, "V", "PTM 22nm HP 0.85 V [src]; 22FDX 0.8 V [memory]"),
        "vt_v": V(0.35, 0.209, 0.45, "V", "PTM HP 0.209 V [src]; RVT/LVT 0.3-0.45 [estimate]"),
        "alpha": V(1.3, 1.1, 1.4, "", _ALPHA),
        "fo4_ps": V(10.0, 7.0, 15.0, "ps", "22-28nm FO4 10-15 ps at nominal [memory]; Horowitz 7-10 ps"),
        "c_gate_ff_per_um": V(0.78, 0.6, 1.0, "fF/um", _PTM + ": 0.329 + 0.453"),
        "r_on_ohm_um": V(873.0, 700.0, 1500.0, "ohm um", _PTM + ": 1.54 x 0.85 V / 1500 uA/um [derived]"),
        "w_min_um": V(0.08, 0.06, 0.12, "um", "minimum device width [estimate]"),
        "c_wire_ff_per_um": V(0.2, 0.11, 0.3, "fF/um", _WIRE),
        "cap_density_ff_per_um2": V(2.5, 1.5, 3.0, "fF/um2", _MOM),
        "c_unit_min_ff": V(1.0, 0.5, 2.0, "fF", "CIM/SAR unit capacitors; Wang's C-2C 2 fF (CiMLoop) [estimate]"),
        "sram_6t_um2": V(0.1, 0.092, 0.12, "um2", "IBM 22nm 0.1 [src]; Intel 0.092, 22FDX ~0.11 [memory]"),
    },
    28: {
        "i_leak_cell_pa": V(30.0, 5.0, 300.0, "pA", _LEAK),
        "cap_over_cell_ff_per_um2": V(0.707, 0.4, 0.8, "fF/um2", _OVER),
        "r_wire_ohm_per_um": V(3.0, 1.0, 10.0, "ohm/um", _RW),
        "vdd_nom_v": V(0.9, 0.85, 1.0, "V", "28nm HPM nominal [memory]"),
        "vt_v": V(0.35, 0.2, 0.45, "V", "PTM-like HP 0.2 V [src]; RVT 0.35-0.45 [estimate]"),
        "alpha": V(1.3, 1.1, 1.4, "", _ALPHA),
        "fo4_ps": V(12.0, 9.0, 16.0, "ps", "22-28nm FO4 10-15 ps at nominal [memory]"),
        "c_gate_ff_per_um": V(0.8, 0.6, 1.0, "fF/um", "between PTM 22nm and 45nm [derived]"),
        "r_on_ohm_um": V(950.0, 800.0, 1500.0, "ohm um", "between PTM 22nm and 45nm [derived]"),
        "w_min_um": V(0.09, 0.06, 0.12, "um", "minimum device width [estimate]"),
        "c_wire_ff_per_um": V(0.2, 0.11, 0.3, "fF/um", _WIRE),
        "cap_density_ff_per_um2": V(2.0, 1.5, 3.0, "fF/um2", _MOM),
        "c_unit_min_ff": V(1.0, 0.5, 2.0, "fF", "CIM/SAR unit capacitors [estimate]"),
        "sram_6t_um2": V(0.127, 0.12, 0.152, "um2", "TSMC 28nm HD 0.127, HC 0.152 [memory]"),
    },
    65: {
        "i_leak_cell_pa": V(100.0, 20.0, 1000.0, "pA", _LEAK),
        "cap_over_cell_ff_per_um2": V(0.305, 0.17, 0.34, "fF/um2", _OVER),
        "r_wire_ohm_per_um": V(0.8, 0.3, 2.0, "ohm/um", _RW),
        "vdd_nom_v": V(1.2, 1.0, 1.2, "V", "65nm nominal 1.0-1.2 V; PTM 1.1 V [src]"),
        "vt_v": V(0.45, 0.166, 0.502, "V", "PTM 65nm HP 0.166 V, LP 0.502 V [src]"),
        "alpha": V(1.3, 1.2, 1.5, "", _ALPHA),
        "fo4_ps": V(22.0, 16.0, 30.0, "ps", "Horowitz rule 0.36-0.5 ns/um x 0.045-0.06 um [memory]"),
        "c_gate_ff_per_um": V(1.01, 0.9, 2.16, "fF/um", _PTM + ": HP 1.01, LP 2.16"),
        "r_on_ohm_um": V(1513.0, 1200.0, 4870.0, "ohm um", _PTM + ": HP 1513, LP 4870 [derived]"),
        "w_min_um": V(0.15, 0.12, 0.2, "um", "minimum device width [estimate]"),
        "c_wire_ff_per_um": V(0.294, 0.15, 0.3, "fF/um", _WIRE),
        "cap_density_ff_per_um2": V(1.0, 0.5, 2.0, "fF/um2", _MOM + "; MIM 1-2 fF/um2 [src]"),
        "c_unit_min_ff": V(1.5, 0.5, 3.0, "fF", "CIM/SAR unit capacitors [estimate]"),
        "sram_6t_um2": V(0.52, 0.5, 0.62, "um2", "65nm 6T 0.50-0.52, Intel 0.57 [memory]"),
    },
}
# Low-power (high-Vt) device flavour where PTM gives it (`circuit.devices: lp`): these fields replace the
# node's; elsewhere LP falls back to the node's (general-purpose) values.
LP = {
    65: {
        "i_leak_cell_pa": V(5.0, 1.0, 20.0, "pA", "LP (high-Vt) 6T cells 1-20 pA at 65nm [estimate]"),
        "vt_v": V(0.55, 0.45, 0.6, "V",
                  _PTM + ": 65nm LP vth0 0.502 V (long channel, zero bias); the alpha-power fit's effective Vt "
                  "of a high-Vt LP device sits above it [estimate]; with alpha 1.5 it gives Eyeriss' 2.5x clock "
                  "from 0.82 to 1.17 V within 3% (" + _EYERISS + ") [derived]"),
        "alpha": V(1.5, 1.3, 1.8, "",
                   "LP devices (thicker oxide, lower lateral field) are less velocity-saturated than HP ones: "
                   "1.4-1.8 [estimate]; " + _ALPHA),
        "r_on_ohm_um": V(4870.0, 3000.0, 6000.0, "ohm um", _PTM + ": 65nm LP 1.77 x 1.1 V / 400 uA/um [derived]"),
        "fo4_ps": V(70.0, 40.0, 100.0, "ps", "HP FO4 x the PTM LP/HP on-resistance ratio 3.2 [derived]"),
        "c_gate_ff_per_um": V(2.16, 1.5, 2.5, "fF/um", _PTM + ": 65nm LP 1.193 + 0.962"),
    },
}

# Intel 22FFL high-performance logic devices (`circuit.devices: ffl`; the other fields are the 22nm node's):
# C.-H. Jan et al., IEDM 2017, as reported by WikiChip (fuse.wikichip.org/news/567, "IEDM 2017: Intel details
# 22FFL", device summary): at 0.70 V the high-performance devices (ULVT, LVT, LPLVT) drive 1.24 mA/um nMOS,
# the low-power ones (HP, Nom, LP) 0.81 mA/um, the ultra-low-leakage 0.10 [src].  R_on,eff = 1.54 V / I_on
# (as the PTM rows) at 0.7 V is 869.4 ohm um, referred to the node's nominal 0.8 V by its alpha-power law
# (delay factor 1.2131 at 0.7 V): 716.6; the FO4 follows the on-resistance (the table's FO4 is its R_on x
# gate capacitance within 5%, docs/validation.md "The clock"): 10 ps x 716.6 / 873 = 8.21 ps [derived].
_FFL = "C.-H. Jan et al., IEDM 2017 (Intel 22FFL) via WikiChip: nMOS 1.24 mA/um at 0.7 V, HP devices [src]"
FFL = {
    22: {
        "r_on_ohm_um": V(716.6, 650.0, 1000.0, "ohm um",
                         _FFL + "; 1.54 x 0.7 V / 1.24 mA/um = 869.4 at 0.7 V, / 1.2131 to 0.8 V [derived]; the "
                         "low-power devices' 0.81 mA/um give 1,097"),
        "fo4_ps": V(8.21, 7.0, 12.0, "ps", "the 22nm FO4 10 ps x 716.6 / 873 (its R_on over the node's) [derived]"),
    },
}
FLAVOURS = {"lp": LP, "ffl": FFL}

# Converter survey envelope (Murmann): the Walden figure of merit E / 2^ENOB of the converters the circuit
# model derives is checked against it (tlm/hw/circuit.py implied_walden_fj).
CONVERTERS = {
    "walden_fj_per_step_best": V(0.6, 0.35, 0.85, "fJ/step", "Murmann survey, best sub-MS/s 40-65nm [src]"),
    "walden_fj_per_step_cim": V(3.0, 0.35, 80.0, "fJ/step",
                                "Murmann survey: best 0.35 to 5-7b GS/s 17-80 fJ/step [src]; CIM 1-10 [estimate]"),
    "latch_ff_22nm": V(10.0, 5.0, 20.0, "fF", "StrongARM latch with its clock driver, 5-20 fF at 22-28nm (CIM and SAR "
                       "comparators) [estimate]; the geometric middle of the range"),
    "schreier_db_asymptote": V(186.72, 180.14, 186.72, "dB", "Murmann foms_plot.json; Accelergy cap 180.14 [src]"),
}

FIELDS = tuple(NODES[22])


def nodes() -> tuple[int, ...]:
    return tuple(sorted(NODES))


def value(node_nm: float, field: str, devices: str = "hp") -> float:
    """A field at `node_nm`: the table's value at a listed node, else log-log interpolated between the two
    listed neighbours (clamped at the ends).  `devices` 'lp' (or 'ffl') takes the LP (FFL) entry where the
    table has one."""
    flavour = FLAVOURS.get(devices, {})
    if field in flavour.get(int(node_nm), {}) and float(node_nm) == int(node_nm):
        return flavour[int(node_nm)][field].value
    ns = nodes()
    n = float(node_nm)
    if n <= ns[0]:
        return NODES[ns[0]][field].value
    if n >= ns[-1]:
        return NODES[ns[-1]][field].value
    for a, b in zip(ns, ns[1:]):
        if a <= n <= b:
            va, vb = NODES[a][field].value, NODES[b][field].value
            t = (math.log(n) - math.log(a)) / (math.log(b) - math.log(a))
            return math.exp(math.log(va) + t * (math.log(vb) - math.log(va)))
    raise AssertionError(n)


def delay_factor(node_nm: float, v: float, devices: str = "hp") -> float:
    """Gate delay at supply `v` over the delay at the node's nominal supply (alpha-power law:
    delay ~ V / (V - Vt)^alpha), with the device flavour's Vt and alpha (`LP` where the table has them)."""
    vt, a, vn = value(node_nm, "vt_v", devices), value(node_nm, "alpha", devices), value(node_nm, "vdd_nom_v")
    if v <= vt:
        raise ValueError(f"supply {v} V at or below the threshold {vt} V of the {node_nm:g}nm node")
    return (v / (v - vt) ** a) / (vn / (vn - vt) ** a)


def fo4_ps(node_nm: float, v: float, devices: str = "hp") -> float:
    """FO4 inverter delay at supply `v`, ps."""
    return value(node_nm, "fo4_ps", devices) * delay_factor(node_nm, v, devices)


def r_on_ohm(node_nm: float, v_gate: float, width_um: float, devices: str = "hp") -> float:
    """On-resistance of an NMOS switch of `width_um` whose gate is driven at `v_gate`, ohm: the nominal
    R x W over the width, times the alpha-power drive ratio (R ~ V / I, I ~ (V - Vt)^alpha)."""
    return value(node_nm, "r_on_ohm_um", devices) / width_um * delay_factor(node_nm, v_gate, devices)
