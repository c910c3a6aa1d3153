"""Silicon area of the whole accelerator: the sum of the blocks that have an area parameter.

The macros (bit cells, periphery and converters, see macro_mm2), the activation SRAM and the
controller with its post-processing.  The DMA and the interconnect have no area parameter and count
as zero.
"""
from __future__ import annotations

from tlm.hw import adc, macro


def macro_breakdown_mm2(arch) -> dict:
    """One macro's area by part: bit cells, periphery, row DACs, converters, mm2."""
    return {**macro.array_area_mm2(arch), "adcs": adc.area_mm2(arch)}


def macro_shares(arch) -> dict:
    """One macro's area as fractions by component: array (cells), dac (row input DACs), adc (converters),
    misc (periphery: drivers, timing, control)."""
    b = macro_breakdown_mm2(arch)
    total = sum(b.values())
    return {"array": b["cells"] / total, "dac": b["dacs"] / total, "adc": b["adcs"] / total,
            "misc": b["periphery"] / total}


def macro_mm2(arch) -> float:
    """One macro: bit cells plus periphery plus its row DACs and converters, mm2."""
    return float(sum(macro_breakdown_mm2(arch).values()))


def breakdown_mm2(arch) -> dict:
    """Area of each block kind, mm2: all macros with their ADCs, the SRAM, the controller."""
    return {
        "macros": arch.macro.count * macro_mm2(arch),
        "sram": arch.sram.area_mm2,
        "controller": arch.controller.area_mm2,
    }


def area_mm2(arch) -> float:
    """Total area of the accelerator, mm2."""
    return float(sum(breakdown_mm2(arch).values()))
