"""CIM macro: input-serial / weight-parallel charge-domain dot products (DESIGN.md §1-2).

Events: a DP cycle (one input bit-plane over the active rows and columns), driving a row, writing a
weight bit.  The array and its column lines sit on the array supply, the input drivers and the write
path on the digital supply.
"""
from __future__ import annotations

from . import cv2_pj


def dp_cycles(arch, bits_in):
    """Cycles of the DP phase of one output pixel: one bit-plane per DP cycle."""
    return bits_in * arch.macro.dp_cycles_per_bit


def dp_array_energy_pj(arch, cell_cycles, column_cycles, input_density):
    """Array energy: each active cell whose input bit is 1 switches its capacitor; every active column
    line is pre-charged once per DP cycle."""
    m, va = arch.macro, arch.technology.vdd_array_v
    return cv2_pj(cell_cycles * input_density * m.c_cell_ff + column_cycles * m.c_column_ff, va)


def input_driver_energy_pj(arch, row_cycles, input_density):
    """Input drivers: an active row is driven when its input bit is 1."""
    return cv2_pj(row_cycles * input_density * arch.macro.c_row_driver_ff, arch.technology.vdd_digital_v)


def weight_write_energy_pj(arch, bits):
    return cv2_pj(bits * arch.macro.c_weight_write_ff_per_bit, arch.technology.vdd_digital_v)


def weight_write_cycles(arch, bits):
    """Cycles to write `bits` weight bits through the macro's write port."""
    return -(-bits // arch.macro.weight_write_bits_per_cycle)


def channels_per_macro(arch, bits_w):
    """Whole output channels one macro holds: r_w adjacent columns per channel."""
    return arch.macro.columns // bits_w


def cells(arch) -> int:
    return arch.macro.rows * arch.macro.columns


def area_mm2(arch) -> float:
    """One macro: bit cells plus periphery plus its converters."""
    from . import adc
    return cells(arch) * arch.macro.bitcell_area_um2 / 1e6 + arch.macro.periphery_area_mm2 + adc.area_mm2(arch)


def leakage_uw(arch) -> float:
    """Leakage of one macro with its ADCs."""
    return arch.macro.leakage_uw + arch.adc.leakage_uw
