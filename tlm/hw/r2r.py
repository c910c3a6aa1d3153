"""A resistive row DAC (`circuit.input_dac: r2r`): two R-2R resistor ladders per row around mid-supply, the
one of the input's sign conducting (its legs switched between mid-supply and its end of the supply, a swing
of half the supply), the other idle at mid-supply.  Unlike a capacitor DAC it draws a static current while
the row holds its level, so its energy per operation is power x time: it falls less than V^2 when a higher
supply shortens the operation (Wang et al., JSSC 2023, Fig. 23: 2.08x from 0.7 to 1.1 V where V^2 gives
2.47x).

Sizing (no fitted value): the ladder's output resistance (an R-2R ladder's Thevenin resistance is its unit R)
settles the row's load C_row (tlm/hw/circuit.row_load_ff) to half an LSB of its k bits, (k + 1) ln 2 time
constants, within one hold time (tlm/hw/circuit.input_dac_hold_ps) at the supply it is sized for (`circuit.input_dac_sized_vdd_v`,
the design's fastest operating point: the resistors are fixed, a lower supply only lengthens the hold):
R = T_hold(V_sized) / ((k + 1) ln 2 C_row).  The static energy of a phase is then the ladder's mean power
`mean_power_units(k)` x (V / 2)^2 / R x T_hold(V), written as the equivalent capacitance switched at the
digital supply V (tlm/hw/macro.dac_energy_pj): kappa / 4 x (k + 1) ln 2 x C_row x T_hold(V) / T_hold(V_sized).
The row's charge itself is the array's (the cells' capacitors) and input drivers' energy, as for every DAC.
Area: the ladders' resistors are not modelled (no capacitor bank: tlm/hw/macro.dac_area_um2 counts the
row DAC's logic and driver only).
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np


SWING = 0.5  # the conducting ladder spans half the supply (signed inputs on two ladders around mid-supply)


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


def static_ff(bits: int, c_row_ff: float, hold_ps: float, hold_sized_ps: float) -> float:
    """A `bits`-bit ladder pair's static energy per DP phase as the equivalent capacitance switched at the
    digital supply V, fF: mean power kappa (V/2)^2 / R over `hold_ps`, R sized to settle the row's
    `c_row_ff` in (k + 1) ln 2 time constants within `hold_sized_ps` (the hold at the sizing supply):
    kappa / 4 x (k + 1) ln 2 x C_row x hold / hold_sized."""
    r_kohm = hold_sized_ps / ((bits + 1) * math.log(2.0) * c_row_ff)  # ps / fF = kohm
    return mean_power_units(bits) * SWING ** 2 * hold_ps / r_kohm
