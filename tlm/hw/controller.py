"""Macro controller: sequences tiles and pixels, streams bit-planes, and clocks the digital side.

The tile schedule lives here: how long one weight tile takes over all its output pixels, and how
rounds of tiles on N macros overlap with weight loading.
"""
from __future__ import annotations

import numpy as np

from . import adc, cv2_pj, macro


def pixel_cycles(arch, bits_in, bits_out, outputs_per_tile):
    """(DP cycles, conversion cycles) of one output pixel of one tile."""
    t_dp = macro.dp_cycles(arch, bits_in)
    t_cv = adc.conversion_rounds(arch, outputs_per_tile) * adc.conversion_cycles(arch, bits_out)
    return t_dp, t_cv


def tile_cycles(arch, bits_in, bits_out, outputs_per_tile, pixels):
    """Cycles for one tile over `pixels` output pixels.  Pipelined: the conversion of pixel p overlaps
    the DP of pixel p+1, so after the first pixel each costs the longer of the two phases."""
    t_dp, t_cv = pixel_cycles(arch, bits_in, bits_out, outputs_per_tile)
    if arch.adc.pipelined:
        return t_dp + t_cv + (pixels - 1) * np.maximum(t_dp, t_cv)
    return pixels * (t_dp + t_cv)


def layer_schedule_cycles(arch, tile_cyc, load_full, load_last, rounds):
    """Cycles of a layer of `rounds` rounds of tiles on the macros.  `load_full`/`load_last` are the
    weight-load cycles before a full / the last round (0 when weights are resident).  Without double
    buffering a round waits for its load; with it, round k+1 loads while round k computes."""
    if not arch.macro.weight_double_buffer:
        return rounds * tile_cyc + (rounds - 1) * load_full + load_last
    many = load_full + np.maximum(rounds - 2, 0) * np.maximum(tile_cyc, load_full) \
        + np.maximum(tile_cyc, load_last) + tile_cyc
    one = load_last + tile_cyc
    return np.where(rounds >= 2, many, one)


def window_energy_pj(arch, row_cycles):
    """Input window registers: `row_cycles` = sum over tiles of the rows a tile drives x the cycles the
    tile computes (its nominal `tile_cycles`; stalls are clock-gated)."""
    return cv2_pj(row_cycles * arch.controller.c_ff_per_row_cycle, arch.technology.vdd_digital_v)


def energy_pj(arch, cycles):
    """Always-on clock tree and sequencing energy over `cycles`."""
    return cv2_pj(cycles * arch.controller.c_ff_per_cycle, arch.technology.vdd_digital_v)
