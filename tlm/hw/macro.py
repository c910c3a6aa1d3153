"""CIM macro: charge-domain dot products (docs/architecture.md, "Where each rule lives").

Events: a DP phase (one input bit-plane, or one multi-level input digit, over the active rows and
columns), driving a row (with its DAC when inputs are multi-level), writing a weight bit.  The array and
its column lines sit on the array supply, the input drivers, DACs and the write path on the digital
supply.  Every capacitance and area is at the config's node (tlm/hw/technology.py scales inherited ones).

Input drive (`macro.input_drive`): 'bit_serial' drives one input bit per DP phase (r_in phases, no DAC,
IMAGINE); 'multi_level' drives k = `input_dac_bits` bits per phase through a k-bit DAC per row
(ceil(r_in / k) phases), each row DAC switching 2^k unit capacitors per phase; 'pulse_count' and
'pulse_width' apply k bits per phase as word-line pulses (no DAC capacitors, a counter per row): a
pulse-count row toggles its line once per pulse (up to 2^k - 1), a pulse-width row once.
Folding (`macro.fold`): the physical array is rows/fold x columns*fold cells; a logical column is `fold`
physical column lines sharing one output, so each pre-charges `fold` lines of rows/fold cells.
"""
from __future__ import annotations

from tlm.hw import cv2_pj


def phase_bits(arch) -> int:
    """Input bits applied per DP phase: 1 (bit-serial) or the row DAC's / pulse counter's bits."""
    return 1 if arch.macro.input_drive == "bit_serial" else arch.macro.input_dac_bits


def driver_toggles(arch):
    """Mean switchings of a row's line per DP phase at input density 1 (the `input_density` scales it):
    one for bit-serial, multi-level and pulse-width inputs; 2^k - 1 pulses at full scale for pulse-count."""
    m = arch.macro
    return 2 ** m.input_dac_bits - 1 if m.input_drive == "pulse_count" else 1


def dp_phases(arch, bits_in):
    """DP phases of one output pixel of one tile: ceil(bits_in / bits per phase)."""
    k = phase_bits(arch)
    return -(-bits_in // k)


def dp_cycles(arch, bits_in):
    """Cycles of the DP phases of one output pixel."""
    return dp_phases(arch, bits_in) * arch.macro.dp_cycles_per_bit


def dp_array_energy_pj(arch, cell_cycles, column_cycles, input_density):
    """Array energy: each active cell whose input is 1 (or, multi-level, at its mean level) switches its
    capacitor; every active logical column pre-charges its `fold` physical lines once per DP phase.
    `cell_cycles` / `column_cycles` = active cells / logical columns x DP phases."""
    m, va = arch.macro, arch.technology.vdd_array_v
    return cv2_pj(cell_cycles * input_density * m.c_cell_ff + column_cycles * m.fold * m.c_column_ff, va)


def dac_energy_pj(arch, row_cycles):
    """Row input DACs (multi-level only; the `input_dac` kind): 2^k unit capacitors per driven row per DP
    phase, plus a resistive ladder's static energy and its switches' and registers' drive per phase
    (`c_input_dac_static_ff`, `c_input_dac_drive_ff`, tlm/hw/circuit.py input_dac_static_ff and
    input_dac_drive_ff), at the digital supply.  `row_cycles` = active rows x DP phases."""
    if arch.macro.input_drive != "multi_level":
        return 0.0 * row_cycles
    m = arch.macro
    per_phase_ff = (2.0 ** m.input_dac_bits) * m.c_input_dac_unit_ff + m.c_input_dac_static_ff + m.c_input_dac_drive_ff
    return cv2_pj(row_cycles * per_phase_ff, arch.technology.vdd_digital_v)


def has_input_pair(arch) -> bool:
    """Whether a row's input is a complementary line pair (`circuit.input_pair` 'xnor' or 'and'): with
    bit-serial inputs in the charge domain only (tlm/hw/circuit.py input_line_pair counts its lines)."""
    c = arch.circuit
    return c.input_pair != "none" and c.dp_domain == "charge" and arch.macro.input_drive == "bit_serial"


def row_switching(arch, input_density):
    """Line switchings of an active row per DP phase: its line when its input bit is 1 (its mean level when
    multi-level, x `driver_toggles`), or, with a complementary XNOR pair (`circuit.input_pair: xnor`,
    tlm/hw/circuit.py input_line_pair), one line of the pair every phase whatever the bit (IA when the bit
    is 1, IAb when it is 0); an AND pair holds IAb low, so only IA switches, with the bit."""
    if arch.circuit.input_pair == "xnor" and has_input_pair(arch):
        return 1.0 + 0.0 * input_density
    return input_density * driver_toggles(arch)


def input_driver_energy_pj(arch, row_cycles, input_density):
    """Input drivers (the `input_drivers` kind; the row DACs are `dac_energy_pj`): an active row's line
    switches per `row_switching`.  `row_cycles` = active rows x DP phases."""
    return cv2_pj(row_cycles * row_switching(arch, input_density) * arch.macro.c_row_driver_ff,
                  arch.technology.vdd_digital_v)


def write_bitline_ff(arch) -> float:
    """Capacitance of one write bit line: it runs along a physical column over rows / fold cells."""
    m = arch.macro
    return m.rows / m.fold * m.c_write_bitline_ff_per_cell


def weight_write_energy_pj(arch, bits):
    """Writing `bits` weight bits into the array: a row's word line opens, and each bit's write driver pulls
    one of its column's precharged differential bit lines through the full array swing (restored by the next
    precharge: one full C x V^2 per bit, whatever the data), plus the driver, data latch and word-line share
    (`c_weight_write_ff_per_bit`) at the digital supply."""
    m, t = arch.macro, arch.technology
    return cv2_pj(bits * write_bitline_ff(arch), t.vdd_array_v) + cv2_pj(bits * m.c_weight_write_ff_per_bit,
                                                                         t.vdd_digital_v)


def weight_write_cycles(arch, bits):
    """Cycles to write `bits` weight bits through the macro's write port."""
    return -(-bits // arch.macro.weight_write_bits_per_cycle)


def dp_block_rows(arch) -> int:
    """Rows of one DP-split block: the macro's rows split channel-wise into `macro.dp_split_blocks`
    blocks, which it drives and connects to the column lines separately."""
    return arch.macro.rows // arch.macro.dp_split_blocks


def block_rows(arch, rows):
    """`rows` rounded up to whole DP-split blocks (the one rounding rule): the rows a tile occupies in a
    macro (tlm/mapping/packing.py) and those connected to its column lines (tlm/functional/model.py)."""
    blk = dp_block_rows(arch)
    return -(-rows // blk) * blk


def connected_output_rows(arch, rows_g, cout_g, groups, per_tile, row_tiles):
    """Sum over one layer's tiles of (outputs converted per pixel x rows connected to their column lines):
    a tile connects its rows rounded up to whole DP-split blocks (`block_rows`).  A layer's `groups` of
    `rows_g` kernel rows and `cout_g` outputs each are either packed `per_tile` to a tile (one row tile:
    g // per_tile full tiles and one of the remaining groups), or one group per tile in `row_tiles` row
    tiles of the macro's rows, the last the remainder (tlm/mapping/geometry.py tile_grid); the column tiles
    split the outputs, not the rows.  With an array DAC (tlm/hw/adc.py array_dac_pixel_energy_pj) every
    conversion switches the cells of the rows connected to its lines."""
    full, rem = groups // per_tile, groups % per_tile
    packed = (full * per_tile * cout_g * block_rows(arch, per_tile * rows_g)
              + rem * cout_g * block_rows(arch, rem * rows_g))
    last = rows_g - (row_tiles - 1) * arch.macro.rows
    tiled = groups * cout_g * ((row_tiles - 1) * block_rows(arch, arch.macro.rows) + block_rows(arch, last))
    return packed * (per_tile > 1) + tiled * (per_tile <= 1)


def channels_per_macro(arch, bits_w):
    """Whole output channels one macro holds: r_w adjacent columns per channel."""
    return arch.macro.columns // bits_w


def cells(arch) -> int:
    return arch.macro.rows * arch.macro.columns


def dac_area_um2(arch) -> float:
    """One row's input DAC: its 2^k unit capacitors at the technology's capacitor density + its logic
    (pulse inputs: the pulse counter / timer logic only)."""
    m = arch.macro
    if m.input_drive == "bit_serial":
        return 0.0
    caps = (2.0 ** m.input_dac_bits) * m.c_input_dac_unit_ff / arch.technology.cap_density_ff_per_um2
    return (caps if m.input_drive == "multi_level" else 0.0) + m.input_dac_logic_area_um2


def array_area_mm2(arch) -> dict:
    """One macro's area without its converters, by part: bit cells, periphery, row DACs (the whole macro
    with its ADCs: tlm/hw/area.macro_breakdown_mm2)."""
    m = arch.macro
    return {"cells": cells(arch) * m.bitcell_area_um2 / 1e6, "periphery": m.periphery_area_mm2,
            "dacs": m.rows * dac_area_um2(arch) / 1e6}


def leakage_uw(arch) -> float:
    """Leakage of one macro with its ADCs."""
    return arch.macro.leakage_uw + arch.adc.leakage_uw
