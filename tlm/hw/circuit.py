"""The circuit model: a macro's engine parameters (clock, cycle counts, capacitances, areas) derived from
its circuit structure (`circuit:`, tlm/config/circuit.py), its node and supplies (the technology table,
tlm/hw/technology_table.py) and the global constants (tlm/hw/constants.py).  No value here is keyed by
design: a design differs only by the structure its config states.

Timing (the macro's clock is one comparator decision, `decision_fo4` FO4 delays at the digital supply; the
FO4 and switch resistances follow the node's and device flavour's alpha-power law, technology_table.py):
- every DP phase starts with the row driver: a buffer chain tapered by 4 from a minimum gate to the row's
  load, log4(C_row / C_gate) stages of one FO4 (logical effort);
- charge-domain DP phase: the line settles to half an LSB of the converter, n = (b + 1) ln 2 time constants
  of tau = R_switch x C_cell (each cell through its own switch, in parallel) + 0.38 x R_line x C_line (the
  distributed column line, Elmore), R_switch the on-resistance of a minimum switch driven at the digital
  supply (alpha-power law); a multi-level (DAC) row carries an analog level that charges every cell's
  capacitor along the row: a distributed line stepped at its DAC's end, whose far cells settle to half an LSB
  after (n + ln(4/pi)) of its dominant time constant 4/pi^2 x R_row x C_row (C_row = columns x (pitch of
  wire + the cell as the row sees it: C_cell, or (2/3 + p) units into a C-2C ladder);
  `distributed_settle_rc`), added to the column's: wide arrays settle slower; a digital-switch DAC's row
  charges through one minimum level switch besides (`switch_dac_settle_fs`), its driver one FO4;
- current-domain DP phase: the same pre-charge settling, then the input pulses of `pulse_fo4` FO4 each: a
  pulse-count input up to 2^k - 1 pulses, each on for one unit and off for one (2 units a pulse), a
  pulse-width input one pulse of up to 2^k - 1 units;
- conversions: b decisions (SAR), one (flash) or 2^b (ramp) clock cycles (tlm/hw/adc.py), plus
  `circuit.sample_cycles`; inputs loaded at `circuit.input_load_bits_per_cycle` add rows x bits / that per
  array operation (bits: the row's input precision, or `circuit.input_load_element_bits` per element).
Energy (C x V^2 per event, tlm/hw): a cell switches its unit capacitors (1 binary, 3 C-2C) x (1 +
`cap_parasitic`) (charge) or its share of the read bit line (current); a column line its wire and the cells'
junctions; a row line its wire and two switch gates per cell (a charge-domain cell's compute switches, or one
per line of a complementary IA / IAb pair, `input_line_pair`; a current-domain read word line one: the 8T
read port's access transistor), driven through its buffer chain
(the row's event switches the chain's stage inputs and drain junctions too: `driver_chain_ff`, 5/3 of a
long chain's load); a comparator firing a StrongARM latch (the
technology table's, not fitted), and in a SAR or ramp step its logic plus the b register bits it clocks (the
published flip-flop clock energy, tlm/hw/controller.py): a column-parallel converter is laid out in the
pitch of the columns it serves, a strip of (physical columns / converters) x pitch by `converter_height`
6T-cell lengths, and a step switches 2 / (B + 1) of the strip's gates (the comparator's slice and one of B
bit slices; `step_logic_inverters`), so a converter under 8 wide columns is bigger and costlier than one
under a single narrow column; a CDAC / ladder unit and an input-DAC unit the node's smallest matched capacitor;
a resistive (R-2R) row DAC its ladders' static current while the row holds its level, the ladders sized to
settle the row within one operation at `circuit.input_dac_sized_vdd_v` (tlm/hw/r2r.py), and its leg switches'
chains and registers (`input_dac_drive_ff`): the ladder, not a chain, drives the row.
Area: a cell is `cell_area_factor` x the node's 6T x transistors / 6 (x stored cells per compute cell) and
its capacitor (over it: the larger, at the table's over-cell MOM density; beside: the sum); each driven line
(a word line per stored weight set of each compute row, and each column) `driver_cells` 6T cells of decoder,
level shifter and timing, and each logical compute row (`input_lines`: fold of them per physical row) the
buffer chain that drives its load (logical effort: load/3 of gate, a minimum inverter
`MIN_INVERTER_6T_CELLS` 6T cells; a multi-level row's chain is its DAC's, a digital-switch DAC has 2^k
minimum level switches instead, `switch_dac_um2`, an R-2R DAC its leg switches, `r2r_dac_um2`); a comparator 4
and a logic bit 1 flip-flop-equivalent of `logic_cells` 6T cells, and a SAR or ramp converter its strip, the same strip whose gates the energy counts (at least the latch and the register bits).
Leakage: each stored cell leaks the node's 6T cell current, converter logic the same per 6T-cell area.
"""
from __future__ import annotations

import math
from dataclasses import replace

from tlm.hw import constants as hw_const
from tlm.hw import r2r
from tlm.hw import technology_table as tt

COMPARATOR_LOGIC_UNITS = 4  # [assumed] a StrongARM latch with offset trim ~ 4 flip-flop areas
# A minimum inverter's layout area in 6T bit-cell areas: Nangate45 INV_X1 0.532 um2 over a 45nm 6T cell of
# 0.30-0.35 um2 is 1.5-1.8; ASAP7 INVx1 0.044 um2 over the N7 6T 0.027 um2 is 1.6 [memory: the libraries'
# cell areas]; the middle, range 1.5-1.8.  Sizes the driver chains (chain_area_um2).
MIN_INVERTER_6T_CELLS = 1.6
ELMORE_DISTRIBUTED = 0.38   # Elmore delay of a distributed RC line: 0.38 R C (Sakurai 1983 fit)
DISTRIBUTED_POLE = 4.0 / math.pi ** 2  # a distributed RC line's dominant time constant over R C (distributed_settle_rc)
DRIVER_TAPER = 4.0          # a line driver's buffer chain grows by 4 per stage (logical effort: the FO4 optimum,
                            # Sutherland, Sproull, Harris, "Logical Effort", 1999)
DRIVER_SELF_LOAD = 1.0      # gamma: an inverter's drain (diffusion) capacitance over its input capacitance, the
                            # parasitic delay p_inv ~ 1 of Logical Effort (1999); published 0.5-1.5 [estimate]
DERIVED = ("clock.frequency_mhz", "technology.cap_density_ff_per_um2", "macro.dp_cycles_per_bit",
           "macro.c_cell_ff", "macro.c_column_ff", "macro.c_row_driver_ff", "macro.bitcell_area_um2",
           "macro.periphery_area_mm2", "macro.c_input_dac_unit_ff", "macro.input_dac_logic_area_um2",
           "macro.op_overhead_cycles", "adc.fixed_cycles", "adc.cycles_per_bit", "adc.c_comparator_ff",
           "adc.c_dac_unit_ff", "adc.c_abn_ff", "adc.comparator_area_um2", "adc.logic_area_um2_per_bit",
           "macro.leakage_uw", "adc.leakage_uw", "macro.c_input_dac_static_ff", "macro.c_input_dac_drive_ff")


def constants(values=None) -> dict:
    """The global constants: the shipped ones (tlm/hw/constants.py VALUES) updated by `values`."""
    return {**hw_const.VALUES, **(values or {})}


def _tech(arch):
    n, dev = arch.technology.node_nm, arch.circuit.devices
    return lambda field: tt.value(n, field, dev)


def adc_bits(arch) -> int:
    return arch.adc.resolution_bits or max(arch.precision.output_bits)


def phase_bits(arch) -> int:
    m = arch.macro
    return 1 if m.input_drive == "bit_serial" else m.input_dac_bits


def unit_ff(arch) -> float:
    return arch.circuit.c_unit_ff or _tech(arch)("c_unit_min_ff")


def units_per_cell(arch) -> int:
    return 3 if arch.circuit.weighting == "c2c" else 1


def geometry(arch, g) -> dict:
    """Cell area (um2), pitch (um), physical rows and columns."""
    m = arch.macro
    cell = cell_area_um2(arch, g)
    return {"cell_um2": cell, "pitch_um": math.sqrt(cell), "rows": m.rows // m.fold, "cols": m.columns * m.fold}


def cell_area_um2(arch, g) -> float:
    """One compute cell, um2: its transistors and its capacitor (charge domain).  Over the cell
    (`cap_over_cell`): the larger of the transistors and the capacitor at the over-cell density.  Beside it:
    the transistors plus the capacitor at the full-stack density; with `cap_upper_over_cell` the capacitor
    first fills the upper metals over the transistors (transistors x the over-cell density) and only the
    rest takes the full-stack strip beside them: at 22nm a 1 fF unit over an 8T cell of 0.1333 um2 puts
    0.12 fF over it and 0.88 fF in 0.352 um2 beside it, a 0.485 um2 cell (0.533 without)."""
    t, c = _tech(arch), arch.circuit
    transistors = g["cell_area_factor"] * t("sram_6t_um2") * c.cell_transistors / 6 * c.cells_per_compute
    cap_ff = units_per_cell(arch) * unit_ff(arch) if c.dp_domain == "charge" else 0.0
    if c.cap_over_cell:
        return max(transistors, cap_ff / t("cap_over_cell_ff_per_um2"))
    over_ff = transistors * t("cap_over_cell_ff_per_um2") if c.cap_upper_over_cell else 0.0
    return transistors + max(0.0, cap_ff - over_ff) / t("cap_density_ff_per_um2")


def capacitances(arch, g) -> dict:
    """The switched capacitances of the macro's events, fF (at the node)."""
    t, c = _tech(arch), arch.circuit
    geo = geometry(arch, g)
    sw = t("c_gate_ff_per_um") * t("w_min_um")  # one minimum switch's gate
    wire = geo["pitch_um"] * t("c_wire_ff_per_um")  # one cell pitch of line
    if c.dp_domain == "charge":
        cell = units_per_cell(arch) * unit_ff(arch) * (1.0 + g["cap_parasitic"])
    else:  # the cell's share of the read bit line it discharges
        cell = (wire + 0.5 * sw) * (1.0 + g["cap_parasitic"])
    return {"cell": cell, "column": geo["rows"] * (wire + 0.5 * sw),
            "row": geo["cols"] * wire + arch.macro.columns * row_gates(arch) * sw,
            "dac_unit": t("c_unit_min_ff"), "input_dac_unit": t("c_unit_min_ff") * (1.0 + g["cap_parasitic"]),
            "comparator": comparator_ff(arch, g, sw)}


def row_gates(arch) -> float:
    """Switch gates a row (input) line drives per cell: a current-domain cell's read word line gates its one
    read-access transistor (the 8T cell's read port: a word-line transistor in series with one gated by the
    stored node); a charge-domain cell's input line its two compute switches, or, one line of a
    complementary pair (`input_line_pair`), the one compute transistor it reaches.  A row's line gates only
    its own cells, one per logical column, though it runs the whole physical row: in a folded array the
    `fold` logical rows sharing a physical row each gate a `fold`-th of its cells (capacitances: row)."""
    if arch.circuit.dp_domain == "current":
        return 1.0
    return 2.0 / input_line_pair(arch)


def input_line_pair(arch) -> int:
    """Input lines per logical row: 2 for a complementary pair (`circuit.input_pair` 'xnor' or 'and', with
    bit-serial inputs in the charge domain), else 1.  The M-BC (Valavi JSSC 2019, Jia JSSC 2020: 6T + 2 transistors + a capacitor) computes the XNOR of
    its stored bit W and the input x with its two extra transistors, gated by W and Wb, each passing one
    line of the pair IA = x / IAb = not x onto its capacitor: a two-transistor multiplexer of x and not x,
    which needs both on lines.  Each line of a pair reaches one compute transistor per cell (`row_gates`)
    and has a driver of its own (`input_lines`); which lines switch per DP phase is tlm/hw/macro.py
    row_switching."""
    from tlm.hw.macro import has_input_pair
    return 2 if has_input_pair(arch) else 1


def driver_chain_ff(load_ff: float, in_ff: float) -> float:
    """Capacitance switched per output transition of a buffer chain tapered by DRIVER_TAPER (f) from a gate of
    `in_ff` to `load_ff`, the load included: the stages' inputs L / f, L / f^2, ... down to the first
    (N = log_f(L / C_in) stages, at least one), each with its own drain junction DRIVER_SELF_LOAD (gamma)
    times its input: L + (1 + gamma) x L x (1 - f^-N) / (f - 1), i.e. L (1 + (1 + gamma) / (f - 1)) for a
    long chain (5/3 L for f = 4, gamma = 1)."""
    n = chain_stages(load_ff, in_ff)
    return load_ff * (1.0 + (1.0 + DRIVER_SELF_LOAD) * (1.0 - DRIVER_TAPER ** -n) / (DRIVER_TAPER - 1.0))


def chain_stages(load_ff: float, in_ff: float) -> float:
    """Stages of a buffer chain tapered by DRIVER_TAPER from a gate of `in_ff` to `load_ff`: log_f(L / C_in),
    at least one (its energy `driver_chain_ff`, its delay `row_driver_ps`)."""
    return max(1.0, math.log(load_ff / in_ff) / math.log(DRIVER_TAPER)) if load_ff > 0 else 1.0


def comparator_ff(arch, g, sw) -> float:
    """One comparator firing, fF: the latch (every converter kind: `latch_ff`), and for a SAR or ramp step
    the step's logic besides the latch (`step_logic_inverters` minimum inverters of the converter's strip:
    asynchronous clock generation, the bit's CDAC switch drivers, the counter or register update) with the
    b register bits it clocks (the published flip-flop clock energy).  A flash's comparators are bare
    latches, sampled once, their thermometer encoder shared (no per-comparator logic)."""
    latch = latch_ff(arch)
    if arch.adc.kind == "flash":
        return latch
    return latch + step_logic_inverters(arch, g) * 3.0 * sw + register_bits(arch) * flop_clock_ff(arch)


def converter_width_um(arch, g) -> float:
    """Width of one column-parallel converter, um: it is laid out in the pitch of the columns it serves,
    the physical columns over `adc.converters_per_macro` (Wang VLSI 2022's 16 converters under 128 columns:
    8 each; IMAGINE's 256 under 256: one) x the column pitch (`geometry`)."""
    geo = geometry(arch, g)
    return geo["cols"] / arch.adc.converters_per_macro * geo["pitch_um"]


def converter_strip_um2(arch, g) -> float:
    """Footprint of one SAR or ramp converter besides its capacitor reference, um2: a strip of the width it
    is given (`converter_width_um`) and `converter_height` lengths of the node's 6T cell (the square root of
    its area).  Its height is the stack of its device rows (comparator, B bit slices of register, CDAC switch
    driver and step timing); each row spans the strip, so a converter under wide columns gets wider, not
    more, devices: its area and the gate capacitance it switches both follow the width."""
    t = _tech(arch)
    return converter_width_um(arch, g) * g["converter_height"] * math.sqrt(t("sram_6t_um2"))


def step_logic_inverters(arch, g) -> float:
    """Minimum inverters of logic one SAR or ramp step switches besides the latch and the register's clock:
    the converter's strip (`converter_strip_um2`) in minimum-inverter areas (`MIN_INVERTER_6T_CELLS` 6T
    cells each), of B + 1 equal slices (the comparator with its clock generation, and one per bit of the
    widest conversion B: register bit, CDAC switch driver, step timing), a step switching two of them (the
    comparator's and the bit's being decided): 2 / (B + 1) of the strip.  0 for a flash (bare latches)."""
    if arch.adc.kind == "flash":
        return 0.0
    inverters = converter_strip_um2(arch, g) / (MIN_INVERTER_6T_CELLS * _tech(arch)("sram_6t_um2"))
    return 2.0 / (adc_bits(arch) + 1) * inverters


def latch_ff(arch) -> float:
    """One StrongARM latch firing with its clock driver, fF: the survey value at 22nm (technology table
    CONVERTERS latch_ff_22nm, not fitted) scaled by a minimum switch's gate capacitance to the node."""
    t = _tech(arch)
    sw22 = tt.value(22, "c_gate_ff_per_um") * tt.value(22, "w_min_um")
    return tt.CONVERTERS["latch_ff_22nm"].value * t("c_gate_ff_per_um") * t("w_min_um") / sw22


def flop_clock_ff(arch) -> float:
    """One flip-flop clocked for a cycle, at the node: the geometric middle of the published Liberty points
    (tlm/hw/controller.py PUBLISHED_POINTS c_ff_per_window_bit_cycle, scaled by the technology rule)."""
    from tlm.hw import controller
    lo, hi = controller.PUBLISHED_FF_22NM["c_ff_per_window_bit_cycle"]
    return math.sqrt(lo * hi) * arch.technology.node_nm / 22.0


def register_bits(arch) -> int:
    """Register bits clocked with each comparator firing: the b-bit SAR register or ramp counter (a flash's
    comparators are sampled once, its encoder is counted in the comparator)."""
    return 0 if arch.adc.kind == "flash" else adc_bits(arch)


def period_ps(arch, g) -> float:
    """The macro's clock period: one decision, `decision_fo4` FO4 at the digital supply."""
    t = arch.technology
    return g["decision_fo4"] * tt.fo4_ps(t.node_nm, t.vdd_digital_v, arch.circuit.devices)


def row_load_ff(arch, g) -> float:
    """Capacitance one row (input) line drives, fF: per physical column its pitch of wire and either the
    cell's compute capacitance as the row sees it (`row_cell_ff`: a multi-level row in the charge domain
    charges every cell's capacitor to its DAC level) or two switch gates (a digital row: bit-serial or
    pulse inputs; the row driver's event)."""
    caps, geo = capacitances(arch, g), geometry(arch, g)
    if arch.macro.input_drive == "multi_level" and arch.circuit.dp_domain == "charge":
        return geo["cols"] * (geo["pitch_um"] * _tech(arch)("c_wire_ff_per_um") + row_cell_ff(arch, g))
    return caps["row"]


C2C_ROW_UNITS = 2.0 / 3.0  # a C-2C bit's shunt unit C in series with its ladder node's 2C to AC ground


def row_cell_ff(arch, g) -> float:
    """Capacitance one charge-domain cell presents to a multi-level row, fF (timing).  A binary cell: its
    capacitor (its top plate on the column line, far larger, is AC ground) with its bottom-plate parasitic,
    (1 + p) C.  A C-2C bit: the row drives the bit's shunt unit C into its ladder node, which sees 2C to AC
    ground (C through the series 2C towards the LSB end, whose nodes each hold 2C, and C towards the column
    end: the infinite-ladder value, R-2R's Thevenin R), so C x 2C / 3C = 2/3 C, plus the unit's bottom-plate
    parasitic p C directly on the row: (2/3 + p) C, not the cell's 3 (1 + p) units."""
    if arch.circuit.weighting == "c2c":
        return (C2C_ROW_UNITS + g["cap_parasitic"]) * unit_ff(arch)
    return capacitances(arch, g)["cell"]


def _switch_ff(arch) -> float:
    """One minimum switch's gate, fF."""
    t = _tech(arch)
    return t("c_gate_ff_per_um") * t("w_min_um")


def row_driver_ps(arch, g) -> float:
    """The row driver's delay: a buffer chain tapered by 4 from a minimum gate to the row's load, one FO4
    per stage (logical effort: log4(C_load / C_in) stages), at the digital supply, ps.  An R-2R row keeps it
    [assumed]: its switches' chain (Wang et al.'s: 4.4 stages to its MSB leg, not 6.3) is sized from a hold
    that follows this delay (r2r_leg_gates_ff), a cycle; the difference is 19 ps of a 3.1 ns DP phase."""
    t = arch.technology
    stages = 1.0 if switch_dac(arch) else chain_stages(row_load_ff(arch, g), _switch_ff(arch))
    return stages * tt.fo4_ps(t.node_nm, t.vdd_digital_v, arch.circuit.devices)


def settle_ps(arch, g) -> float:
    """Time for the DP to settle to half an LSB after the row driver switched: n = (b + 1) ln 2 time
    constants of the column line (each cell's switch and capacitor, the distributed line: its charge enters
    along the whole line from every cell at once, not as a step at one end, and keeps the Elmore form) plus,
    when the rows carry analog levels (multi-level DACs), the row line stepped at its DAC's end with every
    cell's capacitor on it, settled by its dominant pole (`distributed_settle_rc`), ps."""
    t, tech = arch.technology, _tech(arch)
    caps, geo = capacitances(arch, g), geometry(arch, g)
    r_sw = tt.r_on_ohm(t.node_nm, t.vdd_digital_v, tech("w_min_um"), arch.circuit.devices)
    r_line = tech("r_wire_ohm_per_um") * geo["pitch_um"] * geo["rows"]
    c_line = caps["column"] + geo["rows"] * caps["cell"]
    n = (adc_bits(arch) + 1) * math.log(2.0)
    t_fs = n * (r_sw * caps["cell"] + ELMORE_DISTRIBUTED * r_line * c_line)  # ohm x fF = fs
    if arch.macro.input_drive == "multi_level":
        r_row = tech("r_wire_ohm_per_um") * geo["pitch_um"] * geo["cols"]
        t_fs += distributed_settle_rc(n) * r_row * row_load_ff(arch, g)
        t_fs += switch_dac_settle_fs(arch, g, n)
    return t_fs / 1000.0


def distributed_settle_rc(n_taus: float) -> float:
    """Time for a distributed RC line (total R, C; stepped at one end, open at the other) to settle within
    e^-n of its step at the far end, in units of R C.  The diffusion equation's solution there is
    1 - (4/pi) sum_k (-1)^k / (2k+1) exp(-(2k+1)^2 pi^2 t / (4 R C)): after the first instants its slowest
    mode alone, (4/pi) exp(-t / tau1), tau1 = 4 R C / pi^2 = 0.405 R C (the line's dominant pole), so the
    error falls to e^-n at t = tau1 (n + ln(4/pi)).  (The Elmore / Sakurai 0.38 R C is the line's 50% delay,
    0.405 x (ln 2 + 0.24) RC: a delay, not the time constant its settling to an LSB follows.)"""
    return DISTRIBUTED_POLE * (n_taus + math.log(4.0 / math.pi))


def pulse_units(arch) -> int:
    """Unit pulse widths of one DP phase on a current-domain row: a pulse-count input of k bits fires up to
    2^k - 1 pulses, each on for one unit and off for one (the word line returns low between pulses: two units
    per pulse); a pulse-width input is one pulse of up to 2^k - 1 units; a bit-serial input one unit."""
    if arch.circuit.dp_domain != "current":
        return 0
    k = phase_bits(arch)
    if arch.macro.input_drive == "pulse_count":
        return 2 * (2 ** k - 1)
    return 2 ** k - 1 if arch.macro.input_drive == "pulse_width" else 1


def dp_phase_ps(arch, g) -> float:
    """One DP phase: the row driver, the lines' settling, plus the input pulses in the current domain, ps."""
    t = arch.technology
    pulse = g["pulse_fo4"] * tt.fo4_ps(t.node_nm, t.vdd_digital_v, arch.circuit.devices)
    return row_driver_ps(arch, g) + settle_ps(arch, g) + pulse_units(arch) * pulse


def driven_lines(arch, g) -> int:
    """Array lines with a driver of their own: a word line per stored weight set of every compute row (a
    compute cell holding `cells_per_compute` sets selects one of them by its own word line) and every
    physical column."""
    geo = geometry(arch, g)
    return geo["rows"] * arch.circuit.cells_per_compute + geo["cols"]


def input_lines(arch) -> int:
    """Input (row) lines with a buffer chain of their own: one per logical row, each carrying its own input.
    In a folded array (`macro.fold`) the `fold` logical rows sharing a physical row are `fold` lines, each
    running the whole physical row and gating its own cells (`row_gates`), as the energy counts them (an
    input driver's event per active logical row, tlm/hw/macro.py): 2304 lines over Jia JSSC 2020's 768
    physical rows, not 768; a complementary pair (`input_line_pair`) is two lines per logical row."""
    return arch.macro.rows * input_line_pair(arch)


def chain_area_um2(arch, load_ff) -> float:
    """Layout area of a buffer chain tapered by 4 from a minimum gate to `load_ff`, um2.  Its stages' inputs
    are load/4, load/16, ... (the output stage drives the load with a fan-out of 4): their sum is load/3
    (geometric series of ratio 1/4).  A gate's area follows its input capacitance: a minimum inverter (N +
    2x P: 3 minimum switch gates) takes `MIN_INVERTER_6T_CELLS` 6T cells, so the chain is
    (load / 3) / (3 C_switch) minimum inverters of that area."""
    t = _tech(arch)
    inverters = load_ff / (DRIVER_TAPER - 1.0) / (3.0 * _switch_ff(arch))
    return inverters * MIN_INVERTER_6T_CELLS * t("sram_6t_um2")


def row_chain_um2(arch, g) -> float:
    """One compute row's input driver: the buffer chain that drives the row's load (`row_load_ff`: with
    multi-level inputs in the charge domain every cell's capacitor on the row), um2.  The same load sets
    the driver's delay (`row_driver_ps`): a wide row or a big cell capacitor costs area and time."""
    return chain_area_um2(arch, row_load_ff(arch, g))


def switch_dac(arch) -> bool:
    """A multi-level row driven by a digital-switch DAC (`circuit.input_dac: switch`)."""
    return arch.macro.input_drive == "multi_level" and arch.circuit.input_dac == "switch"


def switch_dac_um2(arch) -> float:
    """One row's digital-switch DAC besides its decoder logic (`phase_bits` flip-flop equivalents), um2:
    2^k level switches, each a minimum transmission gate (an N and a P switch, about one minimum inverter:
    `MIN_INVERTER_6T_CELLS` 6T cells), connecting the row to one of the 2^k reference levels whose buffers
    all rows share.  The row has no buffer chain of its own (`row_chain_um2`); the switches are minimum
    [assumed], and the row settles through one of them (`switch_dac_settle_fs`)."""
    return 2 ** phase_bits(arch) * MIN_INVERTER_6T_CELLS * _tech(arch)("sram_6t_um2")


def switch_dac_settle_fs(arch, g, n_taus: float) -> float:
    """The row charged through one minimum level switch (its on-resistance at the digital supply, the
    shared reference ideal): n time constants of R_switch x the row's load, fs; 0 for any other row."""
    if not switch_dac(arch):
        return 0.0
    t = arch.technology
    r_sw = tt.r_on_ohm(t.node_nm, t.vdd_digital_v, _tech(arch)("w_min_um"), arch.circuit.devices)
    return n_taus * r_sw * row_load_ff(arch, g)


def row_driver_ff(arch, caps) -> float:
    """Capacitance one row event switches at its driver, fF: the row line through its buffer chain
    (`driver_chain_ff`), or for a digital-switch DAC the row line alone (charged from the shared reference
    through a switch: no chain of its own) and the two level switches' gates the decoder toggles, or for an
    R-2R DAC the row line alone (charged by the ladder; its switches' drive is `input_dac_drive_ff`)."""
    if switch_dac(arch) or r2r_dac(arch):
        return caps["row"] + (2.0 * _switch_ff(arch) if switch_dac(arch) else 0.0)
    return driver_chain_ff(caps["row"], _switch_ff(arch))


def areas(arch, g) -> dict:
    """Areas of the macro's parts: the cell; the periphery (every driven line's decoder, level shifter and
    timing, `driver_cells` 6T cells, plus each digital logical row's driver chain, `input_lines`); a comparator and a
    logic bit (`logic_cells` 6T cells a flip-flop equivalent); a row DAC's logic (its bits' logic, and for
    a multi-level row the chain that drives the row's level, or its DAC's own drive, `r2r_dac_um2`)."""
    t = _tech(arch)
    geo = geometry(arch, g)
    logic = g["logic_cells"] * t("sram_6t_um2")
    chain = row_chain_um2(arch, g)
    dac_row = arch.macro.input_drive == "multi_level"
    lines = driven_lines(arch, g) * g["driver_cells"] * t("sram_6t_um2")
    digital_rows = 0.0 if dac_row else input_lines(arch) * chain
    drive = switch_dac_um2(arch) if switch_dac(arch) else r2r_dac_um2(arch, g) if r2r_dac(arch) else chain
    bits = phase_bits(arch) * (r2r.LADDERS if r2r_dac(arch) else 1)  # an R-2R DAC: a register per ladder
    dac = 0.0 if arch.macro.input_drive == "bit_serial" else bits * logic + (drive if dac_row else 0.0)
    return {"cell_um2": geo["cell_um2"], "periphery_mm2": (lines + digital_rows) / 1e6,
            "comparator_um2": comparator_um2(arch, g, logic), "logic_um2": logic,
            "input_dac_logic_um2": dac}


def comparator_um2(arch, g, logic_um2) -> float:
    """Area of one converter's comparator with its step logic, um2 (tlm/hw/adc.py area_parts_um2 adds b
    register bits of `logic_um2`).  A SAR or ramp converter fills its strip (`converter_strip_um2`): the
    comparator takes what the b register bits leave, at least its latch (`COMPARATOR_LOGIC_UNITS`
    flip-flop equivalents: a strip too narrow for the minimum converter grows taller).  A flash's
    comparators are bare latches (no step logic, as in comparator_ff)."""
    latch = COMPARATOR_LOGIC_UNITS * logic_um2
    if arch.adc.kind == "flash":
        return latch
    return max(latch, converter_strip_um2(arch, g) - adc_bits(arch) * logic_um2)


def leakage_uw(arch, g) -> dict:
    """Leakage power of one macro's array and of its converters, uW: every stored bit cell leaks the node's
    6T cell current (`i_leak_cell_pa`) at the array supply, and the converters' logic leaks the same per
    6T-cell area at the digital supply.  A bigger array, more converters or a higher supply leak more; the
    energy is this power over the run's time (tlm/hw/leakage.py), so it grows per operation as the clock
    slows at a low supply (the alpha-power law of the period)."""
    from tlm.hw import adc
    t, m, tech = arch.technology, arch.macro, _tech(arch)
    i_pa, cell = tech("i_leak_cell_pa"), tech("sram_6t_um2")
    ar = areas(arch, g)
    stored = m.rows * m.columns * arch.circuit.cells_per_compute
    per_conv = adc.comparators(arch) * ar["comparator_um2"] + adc.max_resolution_bits(arch) * ar["logic_um2"]
    return {"macro": stored * i_pa * t.vdd_array_v / 1e6,
            "adc": arch.adc.converters_per_macro * per_conv / cell * i_pa * t.vdd_digital_v / 1e6}


def input_dac_unit_ff(arch, caps) -> float:
    """One unit capacitor of a row's capacitive input DAC (2^k of them switched per DP phase,
    tlm/hw/macro.dac_energy_pj), fF: the node's smallest matched unit with its parasitic.  A digital-switch
    DAC (`circuit.input_dac: switch`) connects the row to one of 2^k shared reference levels and has no
    capacitor bank (the row's level charging the cells is the array's energy), nor has a resistive ladder
    DAC (`r2r`: its static energy is tlm/hw/r2r.py's) or a row without a multi-level DAC."""
    if arch.macro.input_drive != "multi_level" or arch.circuit.input_dac in ("switch", "r2r"):
        return 0.0
    return caps["input_dac_unit"]


def input_load_cycles(arch) -> int:
    """Clock cycles to load the input vector before each array operation over a bus of
    `circuit.input_load_bits_per_cycle` bits (0: staged in parallel, none): rows x bits / bus width, each
    element `circuit.input_load_element_bits` wide on the bus (one byte: the load time does not depend on
    the input precision; never fewer bits than the precision it carries) or, when that is 0, packed at the
    row's input precision (`phase_bits`)."""
    c = arch.circuit
    if not c.input_load_bits_per_cycle:
        return 0
    bits = max(c.input_load_element_bits, phase_bits(arch))
    return math.ceil(arch.macro.rows * bits / c.input_load_bits_per_cycle)


def derived_values(arch, g=None) -> dict:
    """"section.field" -> value of every DERIVED engine parameter."""
    g = constants(g)
    caps, ar, c, leak = capacitances(arch, g), areas(arch, g), arch.circuit, leakage_uw(arch, g)
    period = period_ps(arch, g)
    return {
        "clock.frequency_mhz": 1e6 / period,
        "technology.cap_density_ff_per_um2": _tech(arch)("cap_density_ff_per_um2"),
        "macro.dp_cycles_per_bit": dp_cycles(arch, g, period),
        "macro.c_cell_ff": caps["cell"], "macro.c_column_ff": caps["column"],
        "macro.c_row_driver_ff": row_driver_ff(arch, caps),
        "macro.bitcell_area_um2": ar["cell_um2"], "macro.periphery_area_mm2": ar["periphery_mm2"],
        "macro.c_input_dac_unit_ff": input_dac_unit_ff(arch, caps),
        "macro.input_dac_logic_area_um2": ar["input_dac_logic_um2"],
        "macro.op_overhead_cycles": input_load_cycles(arch),
        "adc.fixed_cycles": c.sample_cycles, "adc.cycles_per_bit": 1,
        "adc.c_comparator_ff": caps["comparator"], "adc.c_dac_unit_ff": caps["dac_unit"],
        "adc.c_abn_ff": c.abn_units * caps["dac_unit"], "adc.comparator_area_um2": ar["comparator_um2"],
        "adc.logic_area_um2_per_bit": ar["logic_um2"], "macro.leakage_uw": leak["macro"], "adc.leakage_uw": leak["adc"],
        "macro.c_input_dac_static_ff": input_dac_static_ff(arch, g),
        "macro.c_input_dac_drive_ff": input_dac_drive_ff(arch, g),
    }


def dp_cycles(arch, g, period) -> int:
    """Clock cycles of one DP phase (`macro.dp_cycles_per_bit`): the phase's time over the clock `period`
    (ps), rounded up, at least one."""
    return max(1, math.ceil(dp_phase_ps(arch, g) / period - 1e-9))


def input_dac_hold_ps(arch, g) -> float:
    """Time a row holds its level per DP phase, ps: with a pipelined converter the whole operation (the row
    keeps its level until the column is sampled and the next phase begins: the longer of the DP phase and
    the conversion, sampling and decisions), else the DP phase's own cycles."""
    from tlm.hw import adc
    period = period_ps(arch, g)
    dp = dp_cycles(arch, g, period)
    if not arch.adc.pipelined:
        return dp * period
    return max(dp, arch.circuit.sample_cycles + adc.decisions(arch, adc_bits(arch))) * period


def input_dac_static_ff(arch, g) -> float:
    """A resistive row DAC's (`circuit.input_dac: r2r`, tlm/hw/r2r.py) static energy per DP phase as the
    equivalent capacitance switched at the digital supply, fF: its ladders sized at
    `circuit.input_dac_sized_vdd_v` (0: at the supply it runs at) to settle the row's load within the hold
    there, held for this supply's hold.  0 for any other DAC or without multi-level inputs."""
    if not r2r_dac(arch):
        return 0.0
    return r2r.static_ff(arch.macro.input_dac_bits, row_load_ff(arch, g), input_dac_hold_ps(arch, g),
                         input_dac_hold_ps(r2r_sized(arch), g))


def r2r_dac(arch) -> bool:
    """A multi-level row driven by a resistive ladder DAC (`circuit.input_dac: r2r`, tlm/hw/r2r.py)."""
    return arch.macro.input_drive == "multi_level" and arch.circuit.input_dac == "r2r"


def r2r_sized(arch):
    """`arch` at the supply its ladders are sized for (`circuit.input_dac_sized_vdd_v`; 0: its own)."""
    vs, t = arch.circuit.input_dac_sized_vdd_v, arch.technology
    return replace(arch, technology=replace(t, vdd_digital_v=vs, vdd_array_v=vs)) if vs else arch


def r2r_leg_gates_ff(arch, g):
    """Gate capacitance of each leg's switch pair of one R-2R ladder, LSB first, fF: `LEG_SWITCHES`
    switches of the width that keeps the bit's error within half an LSB (tlm/hw/r2r.switch_widths_um), their
    on-resistance at the sizing supply, against the unit R that settles the row there."""
    sized, k, t = r2r_sized(arch), arch.macro.input_dac_bits, _tech(arch)
    r_kohm, st = r2r.unit_r_kohm(k, row_load_ff(arch, g), input_dac_hold_ps(sized, g)), sized.technology
    r_on_ohm_um = tt.r_on_ohm(st.node_nm, st.vdd_digital_v, 1.0, arch.circuit.devices)
    return r2r.LEG_SWITCHES * r2r.switch_widths_um(k, r_kohm, r_on_ohm_um, t("w_min_um")) * t("c_gate_ff_per_um")


def r2r_dac_um2(arch, g) -> float:
    """One row's R-2R ladders' digital drive besides their registers, um2: each leg's switch pair (area
    following its gates, a minimum inverter's 3 minimum gates in `MIN_INVERTER_6T_CELLS` 6T cells) and the
    chain driving it (`chain_area_um2`), for `LADDERS` ladders; the resistors are not modelled (r2r.py)."""
    legs = r2r_leg_gates_ff(arch, g)
    pairs = sum(legs) / (3.0 * _switch_ff(arch)) * MIN_INVERTER_6T_CELLS * _tech(arch)("sram_6t_um2")
    return r2r.LADDERS * (pairs + sum(chain_area_um2(arch, c) for c in legs))


def input_dac_drive_ff(arch, g) -> float:
    """An R-2R row DAC's digital drive per DP phase as capacitance switched at the digital supply, fF: each
    leg of the conducting ladder toggles with probability `LEG_TOGGLE` through its chain (`driver_chain_ff`
    to its switch pair's gates), and the `LADDERS` k-bit registers load their codes (the published
    flip-flop clock energy per bit, `flop_clock_ff`).  0 for any other row."""
    if not r2r_dac(arch):
        return 0.0
    sw = _switch_ff(arch)
    legs = sum(r2r.LEG_TOGGLE * driver_chain_ff(c, sw) for c in r2r_leg_gates_ff(arch, g))
    return legs + r2r.LADDERS * arch.macro.input_dac_bits * flop_clock_ff(arch)


def derive(arch, g=None):
    """`arch` with its engine parameters derived from its circuit (unchanged without `circuit.derive`)."""
    if not arch.circuit.derive:
        return arch
    by: dict = {}
    for dotted, v in derived_values(arch, g).items():
        sec, name = dotted.split(".")
        by.setdefault(sec, {})[name] = v
    return replace(arch, **{s: replace(getattr(arch, s), **kv) for s, kv in by.items()})


def implied_walden_fj(arch, bits_out=None) -> float:
    """The Walden figure of merit of the derived converter, E_conversion / 2^b, fJ per step (to compare with
    the survey envelope, tlm/hw/technology_table.CONVERTERS); a SAR converting on the array (`adc.cdac:
    array`) with its reference switching over a whole column of b merged columns (b-bit weights)."""
    from tlm.hw import adc
    b = bits_out or adc_bits(arch)
    e = adc.conversion_energy_pj(arch, b) + adc.array_dac_energy_pj(arch, b, b)
    return e * 1000.0 / 2 ** adc.resolution_bits(arch, b)
