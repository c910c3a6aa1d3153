"""A resistive row DAC (`circuit.input_dac: r2r`): two R-2R resistor ladders per row around mid-supply, the
one of the input's sign conducting (its legs switched between mid-supply and its end of the supply, a swing
of half the supply), the other idle at mid-supply.  Unlike a capacitor DAC it draws a static current while
the row holds its level, so its energy per operation is power x time: it falls less than V^2 when a higher
supply shortens the operation (Wang et al., JSSC 2023, Fig. 23: 2.08x from 0.7 to 1.1 V where V^2 gives
2.47x).

Sizing (no fitted value): the ladder's output resistance (an R-2R ladder's Thevenin resistance is its unit R)
settles the row's load C_row (tlm/hw/circuit.row_load_ff) to half an LSB of its k bits, (k + 1) ln 2 time
constants, within one hold time (tlm/hw/circuit.input_dac_hold_ps) at the supply it is sized for
(`circuit.input_dac_sized_vdd_v`, the design's fastest operating point: the resistors are fixed, a lower
supply only lengthens the hold):
R = T_hold(V_sized) / ((k + 1) ln 2 C_row).  The static energy of a phase is then the ladder's mean power
`mean_power_units(k)` x (V / 2)^2 / R x T_hold(V), written as the equivalent capacitance switched at the
digital supply V (tlm/hw/macro.dac_energy_pj): kappa / 4 x (k + 1) ln 2 x C_row x T_hold(V) / T_hold(V_sized).
The row's charge itself is the array's (the cells' capacitors) and input drivers' energy, as for every DAC.
The ladder, not a digital buffer chain, drives the row (an analog level cannot pass an inverter chain): the
row's digital drive is the ladders' leg switches and the registers holding their codes.  Each leg connects its
2R to one of two levels (mid-supply or its end of the supply) through a switch pair, an inverter whose
supplies are the two levels [assumed: both devices of the NMOS-equivalent width], driven by a buffer chain.
Leg switch sizing (`switch_widths_um`): a switch's on-resistance r in series with bit i's 2R leg moves the
output by up to s_i x r / R LSB (`switch_sensitivity_lsb`, the nodal model's worst code; the MSB by hand:
out = (2R V_b + (2R + r) V_rest) / (4R + r), d out / d r = (V_rest - V_b) / (8R), |V_rest - V_b| <= V_s, so
s = 2^k / 8); half an LSB per bit gives r_i <= R / (2 s_i): about binary-scaled widths, the MSB's
r <= R x 2^(2-k), at the sizing supply [assumed: half an LSB per bit, the ladder's own settling criterion;
sharing it among the k bits would make every switch k times wider].  Per row `LADDERS` ladders of k legs
and `LADDERS` k-bit registers (CiMLoop's wang_vlsi_2022 arch.yaml: 2 x rows ladder instances, each with a
k-bit register, dac_x2x_ladder.yaml `flip_flops`).  Per DP phase the conducting ladder's legs toggle with
probability 1/2 (a random code) and both registers load their codes (tlm/hw/circuit.input_dac_drive_ff).
Area: the leg switches and their chains and the registers (tlm/hw/circuit.areas); the ladders' resistors are
not modelled (no resistor layer, size or matching figure for the node is sourced: docs/validation.md).
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np


SWING = 0.5  # the conducting ladder spans half the supply (signed inputs on two ladders around mid-supply)
LADDERS = 2  # ladders (and k-bit registers) per row: one for positive inputs, one for negative (CiMLoop)
LEG_SWITCHES = 2  # switches per leg: to mid-supply and to its end of the supply (an inverter between them)
LEG_TOGGLE = 0.5  # probability a leg of the conducting ladder toggles per DP phase (a random code)


@lru_cache(maxsize=None)
def mean_power_units(bits: int) -> float:
    """Mean static power of a `bits`-bit R-2R ladder over its 2^k codes, in units of V_s^2 / R (V_s its
    swing, R its unit resistor), the output unloaded.  Nodal analysis: bit node i has its 2R leg to the bit's
    level (0 or V_s), R to each neighbour, the LSB node a 2R termination to 0; the power is the sum over the
    legs of V_i x I_i.  1 bit: 1/8 (code 1 drives V_s through 2R + 2R); 2 bits: 7/32; 8 bits: 0.722."""
    n = bits
    g = np.zeros((n, n))
    for i in range(n):
        g[i, i] += 0.5 + (0.5 if i == 0 else 0.0)
        if i < n - 1:
            g[i, i] += 1.0
            g[i + 1, i + 1] += 1.0
            g[i, i + 1] -= 1.0
            g[i + 1, i] -= 1.0
    codes = ((np.arange(2 ** n)[:, None] >> np.arange(n)) & 1).astype(float)  # bit i of each code
    v = np.linalg.solve(g, 0.5 * codes.T).T  # node voltages (legs: 2R, a conductance of 1/2)
    return float(np.mean(np.sum(codes * (codes - v) * 0.5, axis=1)))


@lru_cache(maxsize=None)
def switch_sensitivity_lsb(bits: int) -> tuple:
    """Each bit's (LSB first) largest output error over the 2^k codes per unit of on-resistance added to its
    2R leg, LSB per R (linearised: a step of 1e-6 R), the output unloaded (nodal analysis as in
    `mean_power_units`; the MSB's is 2^k / 8, module docstring)."""
    codes = ((np.arange(2 ** bits)[:, None] >> np.arange(bits)) & 1).astype(float)
    step, out = 1e-6, []
    base = _ladder_out(codes, np.zeros(bits))
    for i in range(bits):
        extra = np.zeros(bits)
        extra[i] = step
        out.append(float(np.max(np.abs(_ladder_out(codes, extra) - base))) * 2 ** bits / step)
    return tuple(out)


def _ladder_out(codes, extra_r) -> np.ndarray:
    """The unloaded output (units of V_s) of an R-2R ladder for each code (rows of bits, LSB first), leg i
    2R + extra_r[i], R = 1: bit node i's leg to its level, R to each neighbour, a 2R termination at node 0."""
    n = codes.shape[1]
    legs = 1.0 / (2.0 + extra_r)
    g = np.diag(legs + np.r_[0.5, np.zeros(n - 1)] + np.r_[np.ones(n - 1), 0.0] + np.r_[0.0, np.ones(n - 1)])
    g -= np.diag(np.ones(n - 1), 1) + np.diag(np.ones(n - 1), -1)
    return np.linalg.solve(g, (codes * legs).T)[n - 1]


def static_ff(bits: int, c_row_ff: float, hold_ps: float, hold_sized_ps: float) -> float:
    """A `bits`-bit ladder pair's static energy per DP phase as the equivalent capacitance switched at the
    digital supply V, fF: mean power kappa (V/2)^2 / R over `hold_ps`, R sized to settle the row's
    `c_row_ff` in (k + 1) ln 2 time constants within `hold_sized_ps` (the hold at the sizing supply):
    kappa / 4 x (k + 1) ln 2 x C_row x hold / hold_sized."""
    return mean_power_units(bits) * SWING ** 2 * hold_ps / unit_r_kohm(bits, c_row_ff, hold_sized_ps)


def unit_r_kohm(bits: int, c_row_ff: float, hold_sized_ps: float) -> float:
    """The ladder's unit resistor R (its Thevenin output resistance), kohm: it settles the row's `c_row_ff`
    to half an LSB, (k + 1) ln 2 time constants, within `hold_sized_ps`."""
    return hold_sized_ps / ((bits + 1) * math.log(2.0) * c_row_ff)  # ps / fF = kohm


def switch_widths_um(bits: int, r_kohm: float, r_on_ohm_um: float, w_min_um: float) -> np.ndarray:
    """Width of each leg's switches, um, LSB first: bit i's on-resistance at most R / (2 s_i) (half an LSB
    per bit, `switch_sensitivity_lsb`), from the switch's `r_on_ohm_um` (ohm x um at the sizing supply), at
    least the node's minimum `w_min_um`."""
    r_max_ohm = 1000.0 * r_kohm * 0.5 / np.array(switch_sensitivity_lsb(bits))
    return np.maximum(w_min_um, r_on_ohm_um / r_max_ohm)
