"""ADC pipeline: SAR converters with the analog batch-norm (ABN) inside, one conversion per output
channel per pixel per row tile.

A SAR conversion of r bits takes r comparator decisions (digital supply) and switches a binary-weighted
CDAC of about 2^r unit capacitors (array supply); the ABN gain/offset capacitors switch once per
conversion.  Resolution enters only through these counts.
"""
from __future__ import annotations

from . import cv2_pj


def conversion_cycles(arch, bits_out):
    """Cycles of one conversion round: sampling + ABN settle + one SAR decision per bit."""
    return arch.adc.fixed_cycles + bits_out * arch.adc.cycles_per_bit


def conversion_rounds(arch, outputs):
    """Rounds needed to convert `outputs` channel values with the macro's converters."""
    return -(-outputs // arch.adc.converters_per_macro)


def conversion_energy_pj(arch, bits_out):
    """Energy of one r-bit conversion including its ABN."""
    a, t = arch.adc, arch.technology
    return (cv2_pj(bits_out * a.c_comparator_ff, t.vdd_digital_v)
            + cv2_pj((2.0 ** bits_out) * a.c_dac_unit_ff + a.c_abn_ff, t.vdd_array_v))


def area_mm2(arch) -> float:
    """Converters of one macro."""
    return arch.adc.converters_per_macro * arch.adc.area_um2_per_converter / 1e6
