"""Macro controller: sequences tiles and pixels, streams bit-planes, and clocks the digital side.

The tile schedule lives here: how long one weight tile takes over all its output pixels, and how
rounds of tiles on N macros overlap with weight loading.
"""
from __future__ import annotations

import numpy as np

from . import adc, cv2_pj, macro


def pixel_cycles(arch, bits_in, bits_out, outputs_per_tile, bits_w=1):
    """(DP cycles, conversion cycles) of one output pixel of one tile (tlm/hw/macro.py, tlm/hw/adc.py;
    `bits_w` matters only with bit-column weights)."""
    t_dp = macro.dp_cycles(arch, bits_in)
    t_cv = adc.pixel_cycles(arch, outputs_per_tile, bits_in, bits_w, bits_out)
    return t_dp, t_cv


def tile_cycles(arch, bits_in, bits_out, outputs_per_tile, pixels, bits_w=1):
    """Cycles for one tile over `pixels` output pixels.  Pipelined: the conversion of pixel p overlaps
    the DP of pixel p+1, so after the first pixel each costs the longer of the two phases."""
    t_dp, t_cv = pixel_cycles(arch, bits_in, bits_out, outputs_per_tile, bits_w)
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


OVERHEAD_PARTS = ("row_clock", "window_clock", "window_write", "abn_load")

# Plausible per-event capacitance of each controller component at 22nm, fF ([assumed]: from gate and wire
# capacitance, ~0.2 fF per um of local wire and 0.5-1 fF per flip-flop clock pin; not from one citation).
# Other nodes scale them by the technology rule (tlm/hw/technology.py: x node / 22).
PLAUSIBLE_FF_22NM = {
    "c_ff_per_cycle": (500.0, 5000.0),  # clock-tree root, sequencer, address generation of a ~0.1 mm2 controller
    "c_ff_per_row_cycle": (1.0, 6.0),  # a row's local clock wire (5-20 um) and its clock-gating cell
    "c_ff_per_window_bit_cycle": (0.5, 2.0),  # one flip-flop clock pin and its share of the local clock wire
    "c_ff_per_window_bit": (1.0, 5.0),  # one flip-flop's D input, internal nodes and local data wire
    "c_ff_per_abn_bit": (20.0, 100.0),  # an SRAM bit read and its bus to the ADC
}


def plausible_ff(arch, field: str) -> tuple[float, float]:
    """The plausible range of a controller capacitance at the config's node."""
    lo, hi = PLAUSIBLE_FF_22NM[field]
    s = arch.technology.node_nm / 22.0
    return lo * s, hi * s


def tile_energy_parts_pj(arch, rows, tile_cycles, pixels, bits_in, outputs) -> dict:
    """The controller's energy for the tiles of a layer, by named component.  `rows` = rows the tiles
    drive (summed over tiles), `tile_cycles` = a tile's nominal compute cycles (stalls are clock-gated),
    `pixels` = output pixels per tile, `outputs` = output channels the tiles convert (summed).
    - row_clock:    each active row's clock spine, gating and control, every cycle of its tile
    - window_clock: the row's bits_in input-window register bits, clocked every cycle of its tile
    - window_write: im2col: the row's bits_in window bits written once per output pixel
    - abn_load:     the ABN gain and offset bits of each output channel loaded once per tile"""
    c, vd = arch.controller, arch.technology.vdd_digital_v
    return {
        "row_clock": cv2_pj(rows * tile_cycles * c.c_ff_per_row_cycle, vd),
        "window_clock": cv2_pj(rows * tile_cycles * bits_in * c.c_ff_per_window_bit_cycle, vd),
        "window_write": cv2_pj(rows * pixels * bits_in * c.c_ff_per_window_bit, vd),
        "abn_load": cv2_pj(outputs * c.abn_param_bits * c.c_ff_per_abn_bit, vd),
    }


def tile_energy_pj(arch, rows, tile_cycles, pixels, bits_in, outputs):
    """Sum of `tile_energy_parts_pj`."""
    p = tile_energy_parts_pj(arch, rows, tile_cycles, pixels, bits_in, outputs)
    return p["row_clock"] + p["window_clock"] + p["window_write"] + p["abn_load"]


def energy_pj(arch, cycles):
    """Always-on clock tree and sequencing energy over `cycles`."""
    return cv2_pj(cycles * arch.controller.c_ff_per_cycle, arch.technology.vdd_digital_v)
