"""Macro controller: sequences tiles and pixels, streams bit-planes, and clocks the digital side.

The tile schedule lives here: how long one weight tile takes over all its output pixels, and how
rounds of tiles on N macros overlap with weight loading.
"""
from __future__ import annotations

import numpy as np

from tlm.config.schema import Section, frozen_section
from tlm.hw import adc, cv2_pj, macro, technology


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


@frozen_section
class PublishedPoint(Section):
    """One published per-event figure: `pin_ff` (a capacitance the driver charges) plus `energy_fj` (an
    energy drawn inside the cell or array) at `supply_v` and `node_nm`.  Its capacitance per event at its
    own node is pin_ff + energy_fj / supply_v^2 (E = C V^2, the convention of tlm/hw cv2_pj), and at
    another node the technology rule scales it (tlm/hw/technology.py: C x node / source node)."""
    short: str          # short name for tables ("sky130 dfxtp_1")
    source: str         # where the figure is written
    node_nm: float
    supply_v: float
    pin_ff: float
    energy_fj: float

    @property
    def c_ff(self) -> float:
        """Capacitance per event at the source's own node, fF."""
        return self.pin_ff + self.energy_fj / (self.supply_v * self.supply_v)

    def c_ff_at(self, node_nm: float) -> float:
        """Capacitance per event at `node_nm` by the technology rule, fF."""
        return technology.scale_value("c_ff", self.c_ff, self.node_nm, node_nm)


# Published per-event figures of the controller's components (one place; `tlm paper` prints them and
# docs/validation.md explains them).  Standard-cell figures are read from Liberty files of open PDKs:
# capacitive_load_unit and voltage_unit give the energy unit of internal_power tables (pF x V^2 = pJ for
# sky130; fF x V^2 = fJ for Nangate45 and ASAP7); values at the third input-slew index of each table
# (sky130 0.0531 ns, Nangate45 0.0172 ns, ASAP7 20 ps), smallest output load, VDD-related tables.
#   sky130:    RISC-M/Open-Source-Synthesis sky130_fd_sc_hd__tt_025C_1v80.lib
#              @777f798dc5d86f07a52c21cecc0b73c6971ae6a3 (130nm, 1.8 V)
#   Nangate45: Max-astro/dp-buffer-insertion NangateOpenCellLibrary_typical.lib
#              @9969ff5bbcdd4f14d67945c489c032cd8ab2e2da (45nm, 1.1 V)
#   ASAP7:     The-OpenROAD-Project/OpenROAD-flow-scripts flow/platforms/asap7/lib/
#              asap7sc7p5t_SEQ_RVT_TT_nldm_220123.lib
#              @caffa1d6510406bde4403e8ef67f583feb1c43e3 (7nm, 0.7 V)
# A clock cycle charges a clock pin once (C V^2 from the supply) and runs its rise and fall internal
# tables; a data write is one transition of D (C_D V^2 / 2 on average, and the mean of D's rise and fall
# internal energy).  Local wire is left out of the cell points: the same flows' setRC.tcl (OpenROAD-flow-
# scripts flow/platforms/*/setRC.tcl; nangate45 @257f85b37c3c7f838cfa9fa1e69283e82de36591, sky130hd
# @83021aa84c8fdd2d0286acd1a9c5456f41abec42, asap7 @213c957cebc4f2f3b874dbed6c49110962c392d7) give the clock
# layers' capacitance per um in CLOCK_WIRE_FF_PER_UM,
# i.e. under a fF for a flip-flop's few-um pitch.
CLOCK_WIRE_FF_PER_UM = {
    "nangate45 metal5 (@257f85b3)": 1.10884e-01,    # fF/um
    "sky130hd met3 (@83021aa8)": 2.14962e-04 * 1e3,  # pF/um -> fF/um
    "asap7 clock (@213c957c)": 1.44549e-01,          # fF/um
}
PUBLISHED_POINTS = {
    # one input-window flip-flop clocked for a cycle with its data held: CLK pin + CLK internal rise+fall
    "c_ff_per_window_bit_cycle": (
        PublishedPoint("sky130 dfxtp_1", "sky130_fd_sc_hd__dfxtp_1 pin CLK: capacitance 0.001794 pF, "
                       "internal rise 0.0174124 + fall 0.0223385 pJ", 130, 1.8, 1.794, 17.4124 + 22.3385),
        PublishedPoint("Nangate45 DFF_X1", "DFF_X1 pin CK: capacitance 0.949653 fF, hidden power with D held "
                       "(mean of !D&!Q&QN 2.419478 + 4.474442 and D&Q&!QN 2.608469 + 4.243058 fJ)",
                       45, 1.1, 0.949653, (2.419478 + 4.474442 + 2.608469 + 4.243058) / 2),
        PublishedPoint("ASAP7 DFFHQNx1", "DFFHQNx1_ASAP7_75t_R pin CLK: capacitance 0.474736 fF, VDD power "
                       "with D held (mean of D*!QN 0.239262 + 0.346679 and !D*QN 0.234947 + 0.353065 fJ)",
                       7, 0.7, 0.474736, (0.239262 + 0.346679 + 0.234947 + 0.353065) / 2),
    ),
    # im2col: one input-window flip-flop bit written (one D transition): C_D / 2 + mean(D rise, D fall)
    "c_ff_per_window_bit": (
        PublishedPoint("sky130 dfxtp_1", "sky130_fd_sc_hd__dfxtp_1 pin D: capacitance 0.001678 pF, internal "
                       "rise -0.0006531, fall 0.0052975 pJ", 130, 1.8, 1.678 / 2, (-0.6531 + 5.2975) / 2),
        PublishedPoint("Nangate45 DFF_X1", "DFF_X1 pin D: capacitance 1.140290 fF, hidden power with CK low "
                       "(!CK&!Q&QN) rise 3.057099, fall 4.232647 fJ", 45, 1.1, 1.140290 / 2,
                       (3.057099 + 4.232647) / 2),
        PublishedPoint("ASAP7 DFFHQNx1", "DFFHQNx1_ASAP7_75t_R pin D: capacitance 0.558822 fF, VDD power with "
                       "CLK low rise 0.135445, fall 0.23988 fJ", 7, 0.7, 0.558822 / 2, (0.135445 + 0.23988) / 2),
    ),
    # a row's clock-gating cell for an enabled cycle: CLK pin + its internal tables + the gated-clock arc
    "c_ff_per_row_cycle": (
        PublishedPoint("sky130 dlclkp_1", "sky130_fd_sc_hd__dlclkp_1: CLK capacitance 0.004151 pF, CLK internal "
                       "rise 0.0059968 + fall 0.0196302 pJ, GCLK arc (0.0005 pF) rise 0.0114695 + fall 0.0066597 "
                       "pJ", 130, 1.8, 4.151, 5.9968 + 19.6302 + 11.4695 + 6.6597),
        PublishedPoint("Nangate45 CLKGATE_X2", "CLKGATE_X2: CK capacitance 2.562124 fF, GCK arc when E (0.365616 "
                       "fF) rise 4.578879 + fall 7.210921 fJ", 45, 1.1, 2.562124, 4.578879 + 7.210921),
    ),
    # one ABN parameter bit read from a small SRAM: M. Horowitz, "Computing's energy problem (and what we
    # can do about it)", ISSCC 2014, energy table (45nm, 0.9 V): 64-bit read of an 8 KB SRAM 10 pJ, of a
    # 32 KB SRAM 20 pJ (the ABN store, 16 b x 256 channels = 512 B, is smaller than either)
    "c_ff_per_abn_bit": (
        PublishedPoint("Horowitz14 8KB", "ISSCC 2014: 8 KB SRAM, 64-bit read 10 pJ", 45, 0.9, 0.0, 10e3 / 64),
        PublishedPoint("Horowitz14 32KB", "ISSCC 2014: 32 KB SRAM, 64-bit read 20 pJ", 45, 0.9, 0.0, 20e3 / 64),
    ),
}

# No published per-event figure was found for the always-on clock-tree root, sequencer and address
# generation of a controller like this one (what is published is a share of chip power: more than a
# quarter of a microprocessor's, Duarte, Vijaykrishnan, Irwin, ISVLSI 2002): this range stays assumed.
ASSUMED_FF_22NM = {
    "c_ff_per_cycle": (500.0, 5000.0),  # [assumed] clock-tree root, sequencer, address generation, ~0.1 mm2
}


def _span(points) -> tuple[float, float]:
    cs = [p.c_ff_at(22.0) for p in points]
    return min(cs), max(cs)


# The range of each controller capacitance at 22nm: the span of its published points (or the assumed
# range where none was found).  Other nodes scale it by the technology rule (`published_ff`).
PUBLISHED_FF_22NM = {**ASSUMED_FF_22NM, **{f: _span(ps) for f, ps in PUBLISHED_POINTS.items()}}


RANGE_SOURCE = {  # short name of where each range comes from, for tables
    "c_ff_per_cycle": "assumed",
    "c_ff_per_window_bit_cycle": "Liberty DFF",
    "c_ff_per_window_bit": "Liberty DFF",
    "c_ff_per_row_cycle": "Liberty ICG",
    "c_ff_per_abn_bit": "Horowitz14",
}
POINT_LABEL = {  # what each parameter's points are, for tables
    "c_ff_per_window_bit_cycle": "window bit, clocked",
    "c_ff_per_window_bit": "window bit, written",
    "c_ff_per_row_cycle": "row clock gate",
    "c_ff_per_abn_bit": "ABN bit read",
}


def range_source(field: str) -> str:
    """Short name of where a component's range comes from, for tables."""
    return RANGE_SOURCE[field]


def published_ff(arch, field: str) -> tuple[float, float]:
    """The published range of a controller capacitance at the config's node (22nm span x node / 22)."""
    return at_node(arch, PUBLISHED_FF_22NM[field])


def at_node(arch, span_22nm: tuple[float, float]) -> tuple[float, float]:
    """A per-event capacitance range published at 22nm, at the config's node (x node / 22, the technology
    rule); tlm/hw/sram.py's ranges too."""
    lo, hi = span_22nm
    s = technology.length_ratio(22.0, arch.technology.node_nm)
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
