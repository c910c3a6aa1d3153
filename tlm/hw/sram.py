"""Activation SRAM: banks of `width_bits` ports holding the ping-pong feature maps."""
from __future__ import annotations

from tlm.hw import cv2_pj


def read_energy_pj(arch, bits):
    return cv2_pj(bits * arch.sram.c_read_ff_per_bit, arch.technology.vdd_digital_v)


def write_energy_pj(arch, bits):
    return cv2_pj(bits * arch.sram.c_write_ff_per_bit, arch.technology.vdd_digital_v)


def access_cycles(arch, bits, banks=None):
    """Cycles to move `bits` through `banks` banks (all of them by default) in parallel."""
    b = arch.sram.banks if banks is None else banks
    return -(-bits // (b * arch.sram.width_bits))
