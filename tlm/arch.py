"""The architecture: typed, validated parameters read from a YAML file (configs/*.yaml).

Every parameter has a unit in its name and a physical meaning in its `doc`; where each *value* comes
from (paper figure, derivation, fitted assumption) is written beside it in the YAML file.  Energies are
never given per precision: they are capacitances switched per event, times the square of the supply of
the block the event belongs to (see tlm/hw/).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .errors import InputError
from .schema import build, param, section, to_dict
from .yamlio import load_with_extends, to_ydict


@dataclass(frozen=True)
class Technology:
    node_nm: int = param("CMOS technology node (informational)", lo=1)
    vdd_array_v: float = param("supply of the charge-domain DP array, its CDACs and the ADC sampling "
                               "network, volts", lo=0.05, hi=2.0)
    vdd_digital_v: float = param("supply of the digital side: input drivers, SAR logic and comparators, "
                                 "SRAM, controller, DMA, post-processing, volts", lo=0.05, hi=2.0)


@dataclass(frozen=True)
class Clock:
    frequency_mhz: float = param("frequency of the system timebase; every cycle count is of this clock, MHz",
                                 lo=0.001, hi=100_000.0)

    @property
    def period_ns(self) -> float:
        return 1000.0 / self.frequency_mhz


@dataclass(frozen=True)
class Precision:
    input_bits: tuple[int, ...] = param("input (activation) precisions the macro supports, bits", lo=1, hi=8)
    weight_bits: tuple[int, ...] = param("weight precisions the macro supports, bits", lo=1, hi=8)
    output_bits: tuple[int, ...] = param("ADC output precisions supported, bits", lo=1, hi=8)


@dataclass(frozen=True)
class Macro:
    count: int = param("number of CIM macros", lo=1, hi=4096)
    rows: int = param("bit-cell rows: the dot-product length one macro operation covers", lo=1, hi=65536)
    columns: int = param("bit-cell columns: output channels x weight bits", lo=1, hi=65536)
    dp_split_blocks: int = param("channel-wise DP split: row blocks whose partial DPs are weighted "
                                 "separately before conversion (adaptive swing)", lo=1)
    dp_cycles_per_bit: int = param("clock cycles of one input bit-plane DP phase (drive, charge share, "
                                   "settle)", lo=1)
    c_cell_ff: float = param("capacitance a bit cell switches when its input bit is 1, fF", lo=0.0)
    c_column_ff: float = param("column (bit-line) capacitance pre-charged per column per DP cycle, fF", lo=0.0)
    c_row_driver_ff: float = param("input-driver load per row switched when the input bit is 1, fF", lo=0.0)
    c_weight_write_ff_per_bit: float = param("capacitance switched to write one weight bit into a cell, fF",
                                             lo=0.0)
    weight_write_bits_per_cycle: int = param("macro weight-write port width, bits per clock cycle", lo=1)
    weight_double_buffer: bool = param("a tile's weights can be loaded while the previous tile computes")
    bitcell_area_um2: float = param("area of one bit cell including its unit capacitor, um2", lo=0.0)
    periphery_area_mm2: float = param("macro periphery without ADCs: input drivers, timing, ABN "
                                      "references, mm2", lo=0.0)
    leakage_uw: float = param("leakage power of one macro array and its drivers, uW", lo=0.0)
    power_gating: bool = param("a macro that holds no weights during the run (and its ADCs) is power-gated: "
                               "no leakage", default=False)

    def check(self, data, path):
        if self.rows % self.dp_split_blocks:
            raise InputError(f"rows ({self.rows}) must divide evenly into {self.dp_split_blocks} blocks",
                             data.where("dp_split_blocks"), f"{path}.dp_split_blocks")


@dataclass(frozen=True)
class Adc:
    converters_per_macro: int = param("ADCs per macro working in parallel", lo=1)
    fixed_cycles: int = param("clock cycles per conversion independent of resolution: sampling, in-ADC "
                              "batch-norm settling, reset", lo=0)
    cycles_per_bit: int = param("clock cycles per SAR decision (one per output bit)", lo=1)
    pipelined: bool = param("conversion of one pixel overlaps the DP of the next pixel")
    c_comparator_ff: float = param("switched capacitance per comparator decision incl. SAR logic, at the "
                                   "digital supply, fF", lo=0.0)
    c_dac_unit_ff: float = param("CDAC unit capacitance at the array supply; an r-bit conversion switches "
                                 "about 2^r units, fF", lo=0.0)
    c_abn_ff: float = param("analog batch-norm gain/offset capacitance switched per conversion, at the "
                            "array supply, fF", lo=0.0)
    area_um2_per_converter: float = param("area of one converter incl. its ABN, um2", lo=0.0)
    leakage_uw: float = param("leakage power of one macro's ADCs, uW", lo=0.0)
    fifo_depth: int = param("sample-and-hold slots between a macro's columns and its converters: pixels whose "
                            "DP phase is over and whose conversion is not; when all are taken the macro "
                            "stalls (back-pressure, stall reason 'adc').  1 = the converters' own sampling "
                            "capacitors (the next pixel's DP runs while one converts), which reproduces the "
                            "schedule of tlm/hw/controller.tile_cycles; only used with adc.pipelined", lo=1,
                            hi=4096, default=1)


@dataclass(frozen=True)
class Sram:
    capacity_kib: float = param("activation SRAM capacity, KiB", lo=0.0, lo_open=True, hi=2.0**40)
    banks: int = param("independent banks", lo=1)
    width_bits: int = param("bits one bank reads or writes per clock cycle", lo=1)
    c_read_ff_per_bit: float = param("capacitance switched per bit read, fF", lo=0.0)
    c_write_ff_per_bit: float = param("capacitance switched per bit written, fF", lo=0.0)
    area_mm2: float = param("SRAM area, mm2", lo=0.0)
    leakage_uw: float = param("SRAM leakage power, uW", lo=0.0)
    ports: str = param("ports of each bank: '1r1w' (a two-port bank: one read and one write per cycle, so a "
                       "layer's output is written while its input is read) or '1rw' (one port shared by reads and "
                       "writes)", choices=("1r1w", "1rw"), default="1r1w")
    interleave_bits: int = param("consecutive address bits one bank holds before the next bank takes over: "
                                 "the bank of bit address a is (a // interleave_bits) % banks.  0 = one "
                                 "contiguous address range per bank (capacity / banks); width_bits = word "
                                 "interleaving (a long stream uses every bank)", lo=0, hi=2**40, default=0)

    @property
    def capacity_bits(self) -> int:
        return int(self.capacity_kib * 8192)


@dataclass(frozen=True)
class Dma:
    channels: int = param("independent DMA channels", lo=1)
    bandwidth_bits_per_cycle: float = param("bits per clock cycle one channel moves; .inf = unbounded",
                                            lo=0.001, allow_inf=True)
    latency_cycles: int = param("cycles from request to first data of a burst", lo=0)
    c_ff_per_bit: float = param("on-chip interconnect capacitance switched per bit moved, fF", lo=0.0)
    external_energy_pj_per_bit: float = param("off-chip memory access energy per bit (reported apart "
                                              "from the on-chip energy), pJ", lo=0.0)


@dataclass(frozen=True)
class Controller:
    c_ff_per_cycle: float = param("switched capacitance per clock cycle, always on: clock-tree root, "
                                  "sequencer, im2col address generation, fF", lo=0.0)
    c_ff_per_row_cycle: float = param("capacitance clocked per macro row per cycle while a tile driving that "
                                      "row computes: the row's im2col window and bit-plane registers (rows "
                                      "a tile leaves unused are clock-gated), fF", lo=0.0)
    psum_bits: int = param("width of a digital partial sum kept between row tiles, bits", lo=1, hi=64)
    area_mm2: float = param("controller and digital post-processing area, mm2", lo=0.0)
    leakage_uw: float = param("controller and post-processing leakage power, uW", lo=0.0)


@dataclass(frozen=True)
class PostProc:
    ops_per_cycle: int = param("elementwise digital ops (add, compare) per clock cycle", lo=1)
    c_ff_per_op: float = param("switched capacitance per elementwise digital op, fF", lo=0.0)


@dataclass(frozen=True)
class Activity:
    input_bit_density: float = param("fraction of input bits that are 1 (drives DP and driver switching)",
                                     lo=0.0, hi=1.0)


@dataclass(frozen=True)
class Tlm:
    """Knobs of the transaction-level engine (tlm/engine/); no effect on the analytic engine."""
    quantum_cycles: int = param("temporal-decoupling quantum: an initiator runs ahead of the SimPy kernel by "
                                "at most this many cycles before it yields; 0 = strict lock-step", lo=0,
                                default=2000)
    contention: bool = param("model contention on shared targets (SRAM port bandwidth, DMA channels shared "
                             "by weights and activation spills, ADC back-pressure, post-processing); false "
                             "reproduces the analytic engine's contention-free schedule", default=True)
    compute_txn_macs: int = param("MACs of work one COMPUTE transaction carries at least (it covers a whole "
                                  "number of output pixels of one tile)", lo=1, default=16384)
    watchdog_cycles: int = param("simulated cycles without any transaction completing after which the run "
                                 "stops and names the blocked component", lo=1, default=100_000_000)


@dataclass(frozen=True)
class Functional:
    noise_lsb: float = param("standard deviation of the analog noise of one conversion (thermal and "
                             "charge-injection noise of the DP lines, ABN and comparator), referred to the "
                             "converter input, in LSB of a noise_ref_bits-bit conversion (the noise is fixed "
                             "in volts: coarser conversions see less of it in their own LSB); used by the "
                             "functional model (tlm accuracy)", lo=0.0, hi=1000.0, default=0.5)
    noise_ref_bits: int = param("ADC resolution whose LSB noise_lsb is expressed in, bits", lo=1, hi=16,
                                default=8)
    fixed_range_fraction: float = param("fraction of the worst-case DP range of the connected rows that the "
                                        "ADC spans under the fixed swing policy (1: nothing can clip; smaller "
                                        "trades clipping for resolution, one range for every channel)",
                                        lo=0.0, hi=1.0, lo_open=True, default=1.0)
    swing: str = param("default DP swing policy of the functional model: 'adaptive' (per-channel in-ADC "
                       "batch-norm gain/offset) or 'fixed' (ADC range = worst-case DP range)",
                       choices=("adaptive", "fixed"), default="adaptive")


@dataclass(frozen=True)
class Mapping:
    """How the layers use the macros (tlm/mapper.py, docs/mapping.md)."""
    policy: str = param("sequential (layer by layer, tiles in rounds, weights reloaded per layer), resident "
                        "(all tiles packed into the macros once), pipelined (resident layers run at once: "
                        "images and rows stream through them), replicate (pipelined, spare macros copy the "
                        "slowest layers), auto (the best of these for the objective)",
                        choices=("sequential", "resident", "pipelined", "replicate", "auto"), default="auto")
    objective: str = param("what auto minimizes: latency (of the batch), throughput (maximizes inferences/s), "
                           "energy (per inference, on-chip) or edp (energy x latency)",
                           choices=("latency", "throughput", "energy", "edp"), default="throughput")


@dataclass(frozen=True)
class Arch:
    name: str = param("name of the design")
    technology: Technology = section(Technology, "process and supplies")
    clock: Clock = section(Clock, "the timebase")
    precision: Precision = section(Precision, "supported precisions")
    macro: Macro = section(Macro, "the CIM macros")
    adc: Adc = section(Adc, "the ADC pipeline of each macro")
    sram: Sram = section(Sram, "the activation SRAM")
    dma: Dma = section(Dma, "the DMA between external memory, SRAM and macros")
    controller: Controller = section(Controller, "the macro controller")
    postproc: PostProc = section(PostProc, "digital post-processing: pooling, residual add, partial sums")
    activity: Activity = section(Activity, "default data activity (replaced by measured activity when given)")
    tlm: Tlm = section(Tlm, "transaction-level engine settings (optional)", default=True)
    functional: Functional = section(Functional, "analog non-idealities of the functional (accuracy) model",
                                     default=True)
    mapping: Mapping = section(Mapping, "how layers are placed on and scheduled over the macros (optional)",
                               default=True)

    def to_dict(self) -> dict:
        return _jsonable(to_dict(self))


def _jsonable(d):
    """inf is not JSON: write it as the string 'inf' (read back by `arch_from_dict`)."""
    if isinstance(d, dict):
        return {k: _jsonable(v) for k, v in d.items()}
    if isinstance(d, list):
        return [_jsonable(v) for v in d]
    if isinstance(d, float) and math.isinf(d):
        return "inf"
    return d


def arch_from_dict(data: dict, file: str = "<dict>") -> Arch:
    """Build and validate an Arch from a plain dict (e.g. one modified by a sweep)."""
    return build(Arch, to_ydict(_inf_back(data), file))


def _inf_back(d):
    if isinstance(d, dict):
        return {k: _inf_back(v) for k, v in d.items()}
    return math.inf if d == "inf" else d


def load_arch(path) -> Arch:
    """Read, merge (`extends:`) and validate an architecture YAML file."""
    return build(Arch, load_with_extends(path, "architecture file"))
