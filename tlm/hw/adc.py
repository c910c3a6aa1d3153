"""ADC pipeline: SAR converters (with the analog batch-norm, ABN, inside) and the digital back-end that
combines and rescales their results.

Counts per output pixel of one tile with `outputs` output channels (`macro.weight_mode`):
- 'analog' (IMAGINE): a weight's bit columns charge-share with binary weighting and the input phases
  accumulate in the charge domain: one conversion per output channel, no shift-add.
- 'bit_columns': every bit column is converted after every DP phase: outputs x r_w x phases
  conversions, combined digitally by outputs x (r_w x phases - 1) shift-adds.
A conversion has `resolution_bits` (0: the layer's output bits); when the result is not already the
output's width (bit_columns, or another ADC resolution) each output is rescaled and clipped digitally
once.  A SAR conversion of b bits takes b comparator decisions (digital supply) and switches a
binary-weighted CDAC of about 2^b unit capacitors (array supply); the ABN capacitors switch once.
Converters are shared: the conversions of one array operation take ceil(n / converters_per_macro)
rounds (column multiplexing).
"""
from __future__ import annotations

import numpy as np

from tlm.hw import cv2_pj
from tlm.hw import macro as hw_macro


def resolution_bits(arch, bits_out):
    """Bits of one conversion: the ADC's own resolution, or the layer's output bits (0)."""
    b = arch.adc.resolution_bits
    return bits_out if b == 0 else b + 0 * bits_out


def decisions(arch, bits_out):
    """Comparator decision steps of one conversion in time: b (SAR), 1 (flash: all comparators at once) or
    2^b (ramp: one step per level)."""
    b, kind = resolution_bits(arch, bits_out), arch.adc.kind
    if kind == "flash":
        return 1 + 0 * b
    return 2 ** b if kind == "ramp" else b


def comparisons(arch, bits_out):
    """Comparator firings of one conversion (energy): b (SAR), 2^b - 1 (flash), 2^b (ramp: the comparator
    and the counter clocked once per step)."""
    b, kind = resolution_bits(arch, bits_out), arch.adc.kind
    if kind == "sar":
        return b
    return 2 ** b - 1 if kind == "flash" else 2 ** b


def conversion_cycles(arch, bits_out):
    """Cycles of one conversion round: sampling + ABN settle + the decision steps (adc.kind)."""
    return arch.adc.fixed_cycles + decisions(arch, bits_out) * arch.adc.cycles_per_bit


def conversion_rounds(arch, outputs):
    """Rounds needed to convert `outputs` values with the macro's converters (column multiplexing)."""
    return -(-outputs // arch.adc.converters_per_macro)


def bit_columns(arch) -> bool:
    return arch.macro.weight_mode == "bit_columns"


def conversions_per_operation(arch, outputs, bits_w):
    """Values converted after one array operation (a DP phase with bit_columns, a whole pixel analog)."""
    return outputs * bits_w if bit_columns(arch) else outputs


def operations_per_pixel(arch, bits_in):
    """Array operations (DP + conversion) per pixel: one per DP phase with bit_columns, else one."""
    return hw_macro.dp_phases(arch, bits_in) if bit_columns(arch) else 1 + 0 * bits_in


def conversions_per_pixel(arch, outputs, bits_in, bits_w):
    """Conversions of one output pixel of one tile."""
    return conversions_per_operation(arch, outputs, bits_w) * operations_per_pixel(arch, bits_in)


def shift_adds_per_pixel(arch, outputs, bits_in, bits_w):
    """Digital shift-adds combining the conversions of one pixel into its outputs (n values: n - 1 adds)."""
    if not bit_columns(arch):
        return 0 * outputs
    return outputs * (bits_w * hw_macro.dp_phases(arch, bits_in) - 1)


def rescales_per_pixel(arch, outputs, bits_out):
    """Digital rescale-and-clip operations to the output bits: one per output unless the conversion
    already has the output's width (analog weights with resolution = output bits)."""
    if bit_columns(arch):
        return outputs
    return np.where(resolution_bits(arch, bits_out) != bits_out, outputs, 0 * outputs)


def conversion_energy_pj(arch, bits_out):
    """Energy of one conversion including its ABN: the comparator firings (with their logic) at the digital
    supply, the 2^b-unit reference (CDAC, flash ladder taps or ramp) and the ABN at the array supply."""
    a, t = arch.adc, arch.technology
    b = resolution_bits(arch, bits_out)
    # an array DAC's reference and ABN act on the merged columns' line: array_dac_energy_pj
    reference, abn = (0.0, 0.0) if array_dac(arch) else ((2.0 ** b) * a.c_dac_unit_ff, a.c_abn_ff)
    return (cv2_pj(comparisons(arch, bits_out) * a.c_comparator_ff, t.vdd_digital_v)
            + cv2_pj(reference + abn, t.vdd_array_v))


def array_dac(arch) -> bool:
    """A SAR converting on the array's own capacitors (`adc.cdac: array`): no reference of its own."""
    return arch.adc.kind == "sar" and arch.adc.cdac == "array"


def conventional_switching_factor(b):
    """A b-bit charge-redistribution SAR's mean switching energy over C_T V^2 (C_T its whole binary array,
    conventional switching, uniform input): sum_{i=1..b} 2^(b+1-2i) (2^i - 1) C_u V^2 with C_T = 2^b C_u
    (Ginsburg and Chandrakasan, JSSC 2007; Liu et al., JSSC 2010, eq. 1: 1363.3 C_u V^2 at 10b), in closed
    form 2 - 2^(1-b) - (2/3)(1 - 4^-b): 0.5 at 1b (the MSB half charged for the one decision), 1.3255 at 8b."""
    b = 1.0 * b
    return 2.0 - 2.0 ** (1.0 - b) - (2.0 / 3.0) * (1.0 - 4.0 ** -b)


def array_dac_energy_pj(arch, bits_w, bits_out, rows=None):
    """Energy of one conversion's reference switching when the SAR's DAC is the array (`array_dac`), at the
    array supply: the conventional-switching mean over the capacitance it converts on, the compute
    capacitors of the logical columns merged into the converted value (r_w adjacent columns with analog
    weights, one with bit columns) over the `rows` connected to their lines (None: the whole column), rows x
    c_cell_ff each (the line's wire is the top plate's parasitic, not switched).  0 with a separate CDAC
    (its 2^b units are in `conversion_energy_pj`)."""
    if not array_dac(arch):
        return 0.0 * bits_out
    merged = 1 + 0 * bits_w if bit_columns(arch) else bits_w
    c_t = merged * (arch.macro.rows if rows is None else rows) * arch.macro.c_cell_ff
    factor = conventional_switching_factor(resolution_bits(arch, bits_out))
    return cv2_pj(factor * c_t + abn_on_line_ff(arch, c_t), arch.technology.vdd_array_v)


def abn_on_line_ff(arch, c_t):
    """The analog batch-norm capacitance one conversion switches on a line of capacitance `c_t` when the SAR
    converts on the array (`array_dac`), fF.  Its gain and offset move the line's voltage by a fraction of the
    swing: a bank switching C_abn on a line of C_T shifts it by C_abn / (C_T + C_abn), so the same fraction
    on a line of a k-th the capacitance takes a k-th the bank.  `adc.c_abn_ff` (circuit.abn_units) is the bank
    of the widest line a converter serves, the merged columns of the widest weights over every row
    (IMAGINE: 8 x 1152 cells, 14.7 pF: 256 fF is 1.7% of it); a 1b conversion of one column's line switches
    an eighth of it (32 fF), a tile connecting one DP-split block of 128 rows a ninth."""
    merged = 1 if bit_columns(arch) else max(arch.precision.weight_bits)
    widest = merged * arch.macro.rows * arch.macro.c_cell_ff
    return arch.adc.c_abn_ff * c_t / widest if widest > 0 else 0.0 * c_t  # (no cell capacitance: no line)


def array_dac_pixel_energy_pj(arch, output_rows, bits_in, bits_w, bits_out):
    """The array DAC's share of one output pixel's conversions (the `adc` kind, besides `pixel_energy_pj`):
    `output_rows` = the sum over the outputs converted of the rows connected to their lines (one tile:
    outputs x its rows rounded up to whole DP-split blocks, tlm/hw/macro.py connected_output_rows), each
    output converted `conversions_per_pixel(1)` times (r_w bit columns x DP phases, or once)."""
    return (conversions_per_pixel(arch, 1, bits_in, bits_w) * output_rows
            * array_dac_energy_pj(arch, bits_w, bits_out, rows=1))


def pixel_energy_pj(arch, outputs, bits_in, bits_w, bits_out):
    """Energy of the conversions of one output pixel of one tile (the `adc` kind; an array DAC's reference
    switching follows the rows of the tile: `array_dac_pixel_energy_pj`)."""
    return conversions_per_pixel(arch, outputs, bits_in, bits_w) * conversion_energy_pj(arch, bits_out)


def backend_energy_pj(arch, outputs, bits_in, bits_w, bits_out):
    """Energy of the digital back-end of one output pixel of one tile: the shift-adds combining
    bit-column conversions and the rescale/clip to the output bits.  Counted as digital post-processing
    (the `postproc` kind, outside the macro's own energy, as the published macro figures of bit-column
    designs leave their near-memory datapath out)."""
    a, vd = arch.adc, arch.technology.vdd_digital_v
    return (cv2_pj(shift_adds_per_pixel(arch, outputs, bits_in, bits_w) * a.c_shift_add_ff, vd)
            + cv2_pj(rescales_per_pixel(arch, outputs, bits_out) * a.c_rescale_ff, vd))


def pixel_cycles(arch, outputs, bits_in, bits_w, bits_out):
    """Cycles of the conversions of one pixel (all its array operations, with their overhead cycles)."""
    per_op = conversion_rounds(arch, conversions_per_operation(arch, outputs, bits_w)) \
        * conversion_cycles(arch, bits_out) + arch.macro.op_overhead_cycles
    return operations_per_pixel(arch, bits_in) * per_op


def max_resolution_bits(arch) -> int:
    """The widest conversion the converters must do (sets their CDAC size)."""
    return arch.adc.resolution_bits or max(arch.precision.output_bits)


def comparators(arch) -> int:
    """Comparators of one converter: 2^b - 1 for a flash, else one."""
    return 2 ** max_resolution_bits(arch) - 1 if arch.adc.kind == "flash" else 1


def area_parts_um2(arch) -> dict:
    """One converter by part: its reference (2^b units at the capacitor density: the SAR CDAC, the flash
    ladder taps or the ramp DAC), its comparators, and b bits of logic (SAR register, encoder or counter)."""
    a, b = arch.adc, max_resolution_bits(arch)
    units = 0.0 if array_dac(arch) else 2.0 ** b  # an array DAC is the column's own cells (their area)
    return {"reference": units * a.c_dac_unit_ff / arch.technology.cap_density_ff_per_um2,
            "comparators": comparators(arch) * a.comparator_area_um2, "logic": b * a.logic_area_um2_per_bit}


def area_um2_per_converter(arch) -> float:
    """One converter: the sum of `area_parts_um2`."""
    return float(sum(area_parts_um2(arch).values()))


def area_mm2(arch) -> float:
    """Converters of one macro."""
    return arch.adc.converters_per_macro * area_um2_per_converter(arch) / 1e6
