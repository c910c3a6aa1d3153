"""Leakage: static power of every block, charged over the time it is powered (the whole run)."""
from __future__ import annotations

from . import macro


def power_uw(arch) -> float:
    """Total leakage power: N macros with their ADCs, the SRAM and the controller."""
    return arch.macro.count * macro.leakage_uw(arch) + arch.sram.leakage_uw + arch.controller.leakage_uw


def energy_pj(arch, cycles):
    """uW x ns = fJ; cycles x period gives ns."""
    return power_uw(arch) * cycles * arch.clock.period_ns / 1000.0
