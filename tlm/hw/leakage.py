"""Leakage: static power of every block, charged over the time it is powered (the whole run)."""
from __future__ import annotations

from tlm.hw import macro


def power_uw(arch, macros_with_weights=None) -> float:
    """Total leakage power: N macros with their ADCs, the SRAM and the controller.  With
    `macro.power_gating`, only the `macros_with_weights` macros that ever hold weights leak."""
    n = arch.macro.count
    if arch.macro.power_gating and macros_with_weights is not None:
        n = min(n, int(macros_with_weights))
    return n * macro.leakage_uw(arch) + arch.sram.leakage_uw + arch.controller.leakage_uw


def energy_pj(arch, cycles, macros_with_weights=None):
    """uW x ns = fJ; cycles x period gives ns."""
    return power_uw(arch, macros_with_weights) * cycles * arch.clock.period_ns / 1000.0
