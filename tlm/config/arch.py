"""The architecture: typed, validated parameters read from a YAML file (configs/*.yaml).

Every parameter has a unit in its name and a physical meaning in its `doc`; where each *value* comes
from (paper figure, derivation, fitted assumption) is written beside it in the YAML file.  Energies are
never given per precision: they are capacitances switched per event, times the square of the supply of
the block the event belongs to (see tlm/hw/).
"""
from __future__ import annotations

import math

from tlm.errors import InputError
from tlm.config.schema import Section, build, frozen_section, param, section, to_dict
from tlm.config.circuit import Circuit
from tlm.config.yamlio import YDict, load_with_extends, to_ydict


MIN_LEAKAGE_V_PER_DECADE = 0.1  # V per decade of leakage: 10^(2 V / 0.1 V) = 1e20 at most, no overflow


@frozen_section
class Technology(Section):
    """`technology:` the CMOS process: node and supplies."""
    node_nm: int = param("CMOS technology node, nm: a config extending a base written for another node "
                         "inherits the base's capacitances x node ratio and areas x node ratio^2 "
                         "(tlm/hw/technology.py)", lo=1, hi=1000, why_hi="no CMOS node is coarser than 1 um")
    vdd_array_v: float = param("supply of the charge-domain DP array, its CDACs and the ADC sampling "
                               "network, volts", lo=0.05, hi=2.0)
    vdd_digital_v: float = param("supply of the digital side: input drivers, SAR logic and comparators, "
                                 "SRAM, controller, DMA, post-processing, volts", lo=0.05, hi=2.0)
    leakage_v_per_decade: float = param("at another supply than the configured one (a published figure's), "
                                        "leakage current grows 10x per this many volts (DIBL) and leakage "
                                        "power is supply x current; 0 = leakage powers stay as given, V",
                                        lo=0.0, hi=10.0, default=0.0)
    cap_density_ff_per_um2: float = param("density of the metal (MOM) capacitors of the CDACs, fF per um2 of "
                                          "layout (sets converter and DAC areas)", lo=0.01, default=2.5)

    def check(self, data, path):
        v = self.leakage_v_per_decade
        if 0 < v < MIN_LEAKAGE_V_PER_DECADE:  # 10^(dV / v) over the supplies' 2 V span must stay a float
            raise InputError(f"expected 0 (leakage as given) or at least {MIN_LEAKAGE_V_PER_DECADE:g} V per decade "
                             f"(subthreshold/DIBL leakage changes at most ~10x per 0.1 V), found {v:g}",
                             data.where("leakage_v_per_decade"),
                             f"{path}.leakage_v_per_decade" if path else "leakage_v_per_decade")


@frozen_section
class Clock(Section):
    """`clock:` the system timebase."""
    frequency_mhz: float = param("frequency of the system timebase; every cycle count is of this clock, MHz",
                                 lo=0.001, hi=100_000.0)

    follows_supply: bool = param("at another digital supply than vdd_digital_v (a published figure that gives "
                                 "its supply but not its clock) the clock follows the alpha-power law, "
                                 "f ~ (V - Vt)^alpha / V (tlm/hw/technology.py)", default=False)
    threshold_v: float = param("threshold voltage Vt of the alpha-power law, V", lo=0.0, hi=1.5, default=0.35)
    alpha: float = param("velocity-saturation exponent of the alpha-power law (1 short channel .. 2 long "
                         "channel)", lo=1.0, hi=2.0, default=1.3)

    @property
    def period_ns(self) -> float:
        return 1000.0 / self.frequency_mhz


@frozen_section
class Precision(Section):
    """`precision:` the input, weight and output precisions the macro supports."""
    input_bits: tuple[int, ...] = param("input (activation) precisions the macro supports, bits", lo=1, hi=8,
                                        why_hi="bit-serial inputs of up to 8 bits, as in IMAGINE")
    weight_bits: tuple[int, ...] = param("weight precisions the macro supports, bits", lo=1, hi=8,
                                         why_hi="binary-weighted columns of up to 8 bits, as in IMAGINE")
    output_bits: tuple[int, ...] = param("ADC output precisions supported, bits", lo=1, hi=8,
                                         why_hi="the SAR ADC resolves up to 8 bits, as in IMAGINE")


@frozen_section
class Macro(Section):
    """`macro:` one CIM macro: array geometry, DP timing, capacitances, area."""
    count: int = param("number of CIM macros", lo=1, hi=4096,
                       why_hi="each macro is a block of the TLM engine; far beyond any CIM chip (IMAGINE has 1)")
    rows: int = param("bit-cell rows: the dot-product length one macro operation covers", lo=1, hi=65536,
                      why_hi="no bit line of more cells can be sensed (IMAGINE: 1152)")
    columns: int = param("bit-cell columns: output channels x weight bits", lo=1, hi=65536,
                         why_hi="no word line drives more cells (IMAGINE: 256)")
    dp_split_blocks: int = param("channel-wise DP split: row blocks whose partial DPs are weighted "
                                 "separately before conversion (adaptive swing)", lo=1, hi=65536,
                                 why_hi="the blocks divide the rows")
    dp_cycles_per_bit: int = param("clock cycles of one DP phase (drive the rows with one input bit-plane, or "
                                   "one multi-level input digit; charge share; settle)", lo=1, hi=2**31 - 1,
                                   why_hi="a timing parameter: no memory depends on it; a run's cycles are "
                                   "checked against 2^62 on their own")
    c_cell_ff: float = param("capacitance a bit cell switches when its input bit is 1, fF", lo=0.0)
    c_column_ff: float = param("column (bit-line) capacitance pre-charged per column per DP cycle, fF", lo=0.0)
    c_row_driver_ff: float = param("input-driver load per row switched when the input bit is 1, fF", lo=0.0)
    c_weight_write_ff_per_bit: float = param("capacitance switched at vdd_digital per weight bit written besides "
                                             "the bit line: the write driver and data latch, and the bit's share "
                                             "of the row's write word line, fF", lo=0.0)
    weight_write_bits_per_cycle: int = param("macro weight-write port width, bits per clock cycle", lo=1, hi=2**31 - 1,
                                             why_hi="a port width: no memory depends on it")
    weight_double_buffer: bool = param("a tile's weights can be loaded while the previous tile computes")
    bitcell_area_um2: float = param("area of one bit cell including its unit capacitor, um2", lo=0.0)
    periphery_area_mm2: float = param("macro periphery without ADCs: input drivers, timing, ABN "
                                      "references, mm2", lo=0.0)
    leakage_uw: float = param("leakage power of one macro array and its drivers, uW", lo=0.0)
    c_write_bitline_ff_per_cell: float = param("write bit-line capacitance per cell along a column (the access "
                                               "transistor's junction + the wire over one cell pitch), swung "
                                               "once at vdd_array per weight bit written, fF; 0 leaves the bit "
                                               "line out", lo=0.0, default=0.0)
    input_drive: str = param("how inputs reach the rows: 'bit_serial' (one input bit per DP phase, no DAC), "
                             "'multi_level' (input_dac_bits bits per phase through a capacitor DAC per row), "
                             "'pulse_count' (input_dac_bits bits per phase as 0..2^k-1 word-line pulses, a "
                             "counter per row) or 'pulse_width' (as one pulse of 0..2^k-1 unit widths)",
                             choices=("bit_serial", "multi_level", "pulse_count", "pulse_width"),
                             default="bit_serial")
    input_dac_bits: int = param("bits one row DAC applies per DP phase (multi_level); an r-bit input takes "
                                "ceil(r / input_dac_bits) phases", lo=1, hi=8, default=1,
                                why_hi="inputs are at most 8 bits: one phase drives them all")
    c_input_dac_unit_ff: float = param("unit capacitance of a row's input DAC (binary-weighted, 2^k units "
                                       "switched per phase at vdd_digital), fF", lo=0.0, default=0.0)
    input_dac_logic_area_um2: float = param("decoder, switches and buffer of one row's input DAC besides its "
                                            "capacitors, um2", lo=0.0, default=0.0)
    c_input_dac_static_ff: float = param("a resistive row DAC's static energy per DP phase (its ladder's "
                                         "current while the row holds its level) as an equivalent capacitance "
                                         "switched at vdd_digital, fF; 0 for a capacitor or switch DAC",
                                         lo=0.0, default=0.0)
    c_input_dac_drive_ff: float = param("a resistive row DAC's digital drive per DP phase (its ladder legs' "
                                        "switches toggled through their buffer chains, and its registers "
                                        "loaded) as a capacitance switched at vdd_digital, fF; 0 for a "
                                        "capacitor or switch DAC", lo=0.0, default=0.0)
    weight_mode: str = param("how the bits of a weight combine: 'analog' (adjacent columns charge-share with "
                             "binary weighting: one conversion per output) or 'bit_columns' (each bit column "
                             "is converted per DP phase and the results are combined by digital shift-add)",
                             choices=("analog", "bit_columns"), default="analog")
    fold: int = param("physical columns stacked into one logical column (a physical array of rows/fold x "
                      "columns*fold cells computing as rows x columns); each logical column pre-charges "
                      "`fold` physical column lines", lo=1, hi=65536, default=1,
                      why_hi="at most one logical column per physical row")
    op_overhead_cycles: int = param("cycles per array operation (a pixel's DP and conversions; per DP phase "
                                    "with bit_columns) beyond DP and conversion: readout, reset, handshakes",
                                    lo=0, hi=2**31 - 1, default=0,
                                    why_hi="a timing parameter: no memory depends on it; a run's cycles are "
                                           "checked against 2^62 on their own")
    power_gating: bool = param("a macro that holds no weights during the run (and its ADCs) is power-gated: "
                               "no leakage", default=False)

    def check(self, data, path):
        if self.rows % self.fold:
            raise InputError(f"rows ({self.rows}) must divide evenly into {self.fold} folded segments",
                             data.where("fold"), f"{path}.fold")
        if self.input_drive != "bit_serial" and self.input_dac_bits < 2:
            raise InputError(f"a {self.input_drive} input drive needs input_dac_bits >= 2 (1 is bit_serial)",
                             data.where("input_dac_bits" if "input_dac_bits" in data else "input_drive"),
                             f"{path}.input_dac_bits")
        if self.input_drive == "bit_serial" and self.input_dac_bits != 1:
            raise InputError("input_dac_bits applies to multi_level and pulse input drives only",
                             data.where("input_dac_bits"), f"{path}.input_dac_bits")
        if self.rows % self.dp_split_blocks:
            raise InputError(f"rows ({self.rows}) must divide evenly into {self.dp_split_blocks} blocks",
                             data.where("dp_split_blocks"), f"{path}.dp_split_blocks")


@frozen_section
class Adc(Section):
    """`adc:` the in-macro SAR converters with analog batch-norm."""
    converters_per_macro: int = param("ADCs per macro working in parallel", lo=1, hi=65536,
                                      why_hi="at most one per column")
    fixed_cycles: int = param("clock cycles per conversion independent of resolution: sampling, in-ADC "
                              "batch-norm settling, reset", lo=0, hi=2**31 - 1,
                              why_hi="a timing parameter: no memory depends on it; a run's cycles are "
                                   "checked against 2^62 on their own")
    cycles_per_bit: int = param("clock cycles per SAR decision (one per converted bit)", lo=1, hi=2**31 - 1,
                                why_hi="a timing parameter: no memory depends on it; a run's cycles are "
                                   "checked against 2^62 on their own")
    pipelined: bool = param("conversion of one pixel overlaps the DP of the next pixel")
    c_comparator_ff: float = param("switched capacitance per comparator decision incl. SAR logic, at the "
                                   "digital supply, fF", lo=0.0)
    c_dac_unit_ff: float = param("CDAC unit capacitance at the array supply; an r-bit conversion switches "
                                 "about 2^r units, fF", lo=0.0)
    c_abn_ff: float = param("analog batch-norm gain/offset capacitance switched per conversion, at the "
                            "array supply, fF (with cdac: array, the bank of the widest line a converter serves; "
                            "a narrower line switches its share, tlm/hw/adc.py abn_on_line_ff)", lo=0.0)
    leakage_uw: float = param("leakage power of one macro's ADCs, uW", lo=0.0)
    c_shift_add_ff: float = param("capacitance switched by one digital shift-add combining two conversion "
                                  "results (weight_mode bit_columns), at vdd_digital, fF", lo=0.0, default=0.0)
    c_rescale_ff: float = param("capacitance switched by the digital rescale and clip of one output to the "
                                "layer's output bits (bit_columns, or an ADC resolution other than the output "
                                "bits), at vdd_digital, fF", lo=0.0, default=0.0)
    comparator_area_um2: float = param("area of one SAR comparator, um2 (the converter area is its CDAC "
                                       "2^bits x c_dac_unit_ff / cap_density + comparator + SAR logic)", lo=0.0,
                                       default=0.0)
    logic_area_um2_per_bit: float = param("SAR register and logic area per converted bit, um2", lo=0.0,
                                          default=0.0)
    resolution_bits: int = param("ADC resolution, bits; 0 = the layer's output bits.  A result of other "
                                 "width is rescaled and clipped digitally to the output bits", lo=0, hi=16,
                                 why_hi="no SAR ADC of a CIM macro resolves more than 16 bits",
                                 default=0)
    kind: str = param("converter architecture: 'sar' (b decisions of cycles_per_bit, a 2^b-unit CDAC), 'flash' "
                      "(2^b - 1 comparators decide at once in cycles_per_bit) or 'ramp' (2^b steps of "
                      "cycles_per_bit against a ramp, one comparator)", choices=("sar", "flash", "ramp"),
                      default="sar")
    cdac: str = param("a SAR's capacitor DAC: 'separate' (2^b units of c_dac_unit_ff of its own, with their "
                      "area) or 'array' (the column's own compute capacitors: the DP charge is converted on the "
                      "line it was computed on, the bit decisions switch binary groups of the cells' bottom "
                      "plates; no reference area, and a conversion switches the conventional-switching average "
                      "of the merged columns' cell capacitance, tlm/hw/adc.py array_dac_energy_pj)",
                      choices=("separate", "array"), default="separate")
    fifo_depth: int = param("sample-and-hold slots between a macro's columns and its converters: pixels whose "
                            "DP phase is over and whose conversion is not; when all are taken the macro "
                            "stalls (back-pressure, stall reason 'adc').  1 = the converters' own sampling "
                            "capacitors (the next pixel's DP runs while one converts), which reproduces the "
                            "schedule of tlm/hw/controller.tile_cycles; only used with adc.pipelined", lo=1,
                            hi=4096, default=1,
                            why_hi="each slot holds one pixel's column charges (a capacitor per column); "
                                   "thousands per macro would outsize the array itself")


@frozen_section
class Sram(Section):
    """`sram:` the activation SRAM."""
    capacity_kib: float = param("activation SRAM capacity, KiB", lo=0.0, lo_open=True, hi=2.0**40)
    banks: int = param("independent banks", lo=1, hi=4096,
                       why_hi="activation SRAMs have 1 to a few hundred banks")
    width_bits: int = param("bits one bank reads or writes per clock cycle", lo=1, hi=65536,
                            why_hi="no SRAM bank has a wider port")
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
                                 "interleaving (a long stream uses every bank)", lo=0, hi=2**31 - 1, default=0,
                                 why_hi="an address bit count: 2^31 bits (256 MiB) is beyond any on-chip SRAM")

    @property
    def capacity_bits(self) -> int:
        return int(self.capacity_kib * 8192)


@frozen_section
class Dma(Section):
    """`dma:` the DMA between external memory and the chip."""
    channels: int = param("independent DMA channels", lo=1, hi=1024,
                          why_hi="each channel has its own state and trace track in the TLM engine "
                                  "(2^31 channels exhausted memory); SoC DMAs have 1 to 64")
    bandwidth_bits_per_cycle: float = param("bits per clock cycle one channel moves; .inf = unbounded",
                                            lo=0.001, allow_inf=True)
    latency_cycles: int = param("cycles from request to first data of a burst", lo=0, hi=2**31 - 1,
                                why_hi="a timing parameter: no memory depends on it; a run's cycles are "
                                   "checked against 2^62 on their own")
    c_ff_per_bit: float = param("on-chip interconnect capacitance switched per bit moved, fF", lo=0.0)
    external_energy_pj_per_bit: float = param("off-chip memory access energy per bit (reported apart "
                                              "from the on-chip energy), pJ", lo=0.0)


@frozen_section
class Controller(Section):
    """`controller:` the digital controller: clocking, windowing, partial sums."""
    c_ff_per_cycle: float = param("switched capacitance per clock cycle, always on: clock-tree root, "
                                  "sequencer, im2col address generation, fF", lo=0.0)
    c_ff_per_row_cycle: float = param("capacitance clocked per macro row per cycle while a tile driving that "
                                      "row computes, besides its window registers: the row's clock spine, "
                                      "clock gating and row control (rows a tile leaves unused are "
                                      "clock-gated), fF", lo=0.0)
    psum_bits: int = param("width of a digital partial sum kept between row tiles, bits", lo=1, hi=64,
                          why_hi="partial sums are int64")
    area_mm2: float = param("controller and digital post-processing area, mm2", lo=0.0)
    leakage_uw: float = param("controller and post-processing leakage power, uW", lo=0.0)
    c_ff_per_window_bit_cycle: float = param("clock pin and local clock wire of one input-window register bit "
                                             "(bits_in bits per active row), clocked every cycle while its tile "
                                             "computes, fF", lo=0.0, default=0.0)
    c_ff_per_window_bit: float = param("data write of one input-window register bit (im2col: bits_in bits per "
                                       "active row loaded per output pixel), fF", lo=0.0, default=0.0)
    c_ff_per_abn_bit: float = param("loading one analog batch-norm parameter bit (gain and offset, "
                                    "abn_param_bits per output channel) into the ADCs once per tile, fF",
                                    lo=0.0, default=0.0)
    abn_param_bits: int = param("bits of the ABN gain and offset of one output channel", lo=0, hi=256,
                                why_hi="a gain and an offset of 128 bits each is far beyond any converter",
                                default=0)


@frozen_section
class PostProc(Section):
    """`postproc:` the digital post-processing unit (elementwise ops)."""
    ops_per_cycle: int = param("elementwise digital ops (add, compare) per clock cycle", lo=1, hi=65536,
                              why_hi="a post-processing unit of more lanes than macro columns is no design")
    c_ff_per_op: float = param("switched capacitance per elementwise digital op, fF", lo=0.0)


@frozen_section
class Activity(Section):
    """`activity:` default data statistics of the energy model."""
    input_bit_density: float = param("fraction of input bits that are 1 (drives DP and driver switching)",
                                     lo=0.0, hi=1.0)


@frozen_section
class Tlm(Section):
    """Knobs of the transaction-level engine (tlm/engines/transaction/); no effect on the analytic engine."""
    quantum_cycles: int = param("temporal-decoupling quantum: an initiator runs ahead of the SimPy kernel by "
                                "at most this many cycles before it yields; 0 = strict lock-step", lo=0,
                                default=2000, hi=2**31 - 1, why_hi="a number of cycles: no memory depends on it")
    contention: bool = param("model contention on shared targets (SRAM port bandwidth, DMA channels shared "
                             "by weights and activation spills, ADC back-pressure, post-processing); false "
                             "reproduces the analytic engine's contention-free schedule", default=True)
    compute_txn_macs: int = param("MACs of work one COMPUTE transaction carries at least (it covers a whole "
                                  "number of output pixels of one tile)", lo=1, default=16384, hi=2**31 - 1,
                                  why_hi="a granularity: larger only means fewer transactions")
    watchdog_cycles: int = param("simulated cycles without any transaction completing after which the run "
                                 "stops and names the blocked component", lo=1, default=100_000_000,
                                 hi=2**31 - 1, why_hi="a number of cycles: no memory depends on it")


@frozen_section
class Functional(Section):
    """`functional:` the bit-accurate CIM model's noise and swing."""
    noise_lsb: float = param("standard deviation of the comparator noise of one conversion (after the ABN "
                             "gain; with dp_noise: off it stands for all analog noise), referred to the "
                             "converter input, in LSB of a noise_ref_bits-bit conversion (the noise is fixed "
                             "in volts: coarser conversions see less of it in their own LSB); used by the "
                             "functional model (tlm accuracy)", lo=0.0, hi=1000.0, default=0.5)
    noise_ref_bits: int = param("ADC resolution whose LSB noise_lsb is expressed in, bits", lo=1, hi=16,
                                why_hi="a reference resolution; 2^16 LSB already spans any DP range",
                                default=8)
    fixed_range_fraction: float = param("fraction of the worst-case DP range of the connected rows that the "
                                        "ADC spans under the fixed swing policy (1: nothing can clip; smaller "
                                        "trades clipping for resolution, one range for every channel; at least "
                                        "1e-6: below, the LSB is a denormal fraction of the DP range)",
                                        lo=1e-6, hi=1.0, default=1.0)
    swing: str = param("default DP swing policy of the functional model: 'adaptive' (per-channel in-ADC "
                       "batch-norm gain/offset) or 'fixed' (ADC range = worst-case DP range)",
                       choices=("adaptive", "fixed"), default="adaptive")
    # ---- noise where it physically is (issue 17): the DP line before the ABN gain, the comparator after it
    dp_noise: str = param("DP-line noise at the column, before the ABN gain: 'ktc' (the kT/C sampling noise "
                          "of the connected line, sqrt(k T / (connected rows x macro.c_cell_ff + "
                          "macro.c_column_ff))), 'measured' (dp_noise_mv, a measured-equivalent rms) or 'off'; "
                          "noise_lsb is the comparator noise after the gain", choices=("ktc", "measured", "off"),
                          default="ktc")
    dp_noise_mv: float = param("measured-equivalent rms noise of the DP line at the column, mV (dp_noise: "
                               "measured)", lo=0.0, hi=1000.0, default=0.0)
    temperature_k: float = param("temperature of the kT/C noise, K", lo=0.0, lo_open=True, hi=1000.0,
                                 default=300.0)
    dp_swing_fraction: float = param("DP-line voltage at the worst-case DP of the connected rows, as a "
                                     "fraction of technology.vdd_array_v (the scale from DP units to volts; at "
                                     "least 1e-6, a microvolt-scale swing, below which the noise overflows)",
                                     lo=1e-6, hi=1.0, default=1.0)


MAPPING_POLICIES = ("sequential", "resident", "pipelined", "replicate", "auto")  # the one list (tlm/mapping/policies.py)


@frozen_section
class Mapping(Section):
    """How the layers use the macros (tlm/mapping/mapper.py, docs/mapping.md)."""
    policy: str = param("sequential (layer by layer, tiles in rounds, weights reloaded per layer), resident "
                        "(all tiles packed into the macros once), pipelined (resident layers run at once: "
                        "images and rows stream through them), replicate (pipelined, spare macros copy the "
                        "slowest layers), auto (the best of these for the objective)",
                        choices=MAPPING_POLICIES, default="auto")
    objective: str = param("what auto minimizes: latency (of the batch), throughput (maximizes inferences/s), "
                           "energy (per inference, on-chip) or edp (energy x latency)",
                           choices=("latency", "throughput", "energy", "edp"), default="throughput")


@frozen_section
class Arch(Section):
    """A whole architecture: every section of the YAML file."""
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
    circuit: Circuit = section(Circuit, "the circuit structure the engine parameters are derived from "
                               "(optional; tlm/hw/circuit.py)", default=True)
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
    return _build(to_ydict(_inf_back(data), file))


def _build(data) -> Arch:
    """`build(Arch, data)`, the Arch remembering the file it came from (`source_file`, not a field: errors
    found later, e.g. an infeasible mapping policy, name it)."""
    arch = build(Arch, data)
    arch.source_file = getattr(data, "file", None)
    return arch


def with_source(arch: Arch, like) -> Arch:
    """`arch` (a changed copy of `like`) with `like`'s source file, unless it has its own."""
    if getattr(arch, "source_file", None) is None and getattr(like, "source_file", None) is not None:
        arch.source_file = like.source_file
    return arch


def _inf_back(d, cls=None):
    """`_jsonable` undone: "inf" is infinity again, in number fields only (a design named 'inf' stays one)."""
    import dataclasses

    from tlm.config.schema import _hints
    cls = Arch if cls is None else cls
    if not isinstance(d, dict):
        return d
    hints = _hints(cls) if dataclasses.is_dataclass(cls) else {}
    out = {}
    for k, v in d.items():
        t = hints.get(k)
        if isinstance(v, dict):
            out[k] = _inf_back(v, t)
        else:
            out[k] = math.inf if v == "inf" and t is float else v
    return out


WHAT = "architecture file"


def load_data(path, text: str | None = None):
    """The merged mapping of an architecture file and the files it `extends:` (tlm/config/yamlio.py: a path
    relative to the file, or a shipped config's name).  A base written for another
    `technology.node_nm` is first scaled to this file's node by the technology rule
    (tlm/hw/technology.py); a base's `published:` section is not inherited (it describes the base)."""
    from tlm.hw import technology
    from tlm.config.paths import shipped

    def adjust(base, data):
        base.pop("published", None)
        own, inherited = _node(data), _node(base)
        if own is not None and inherited is not None and own != inherited:
            technology.scale_data(base, inherited, own)
    return load_with_extends(path, WHAT, shipped=shipped("configs"), adjust=adjust, text=text)


def _node(data):
    t = data.get("technology") if isinstance(data, dict) else None
    n = t.get("node_nm") if isinstance(t, dict) else None
    return n if isinstance(n, (int, float)) and not isinstance(n, bool) and n > 0 else None


def _without_published(data):
    if isinstance(data, YDict) and "published" in data:
        y = YDict({k: v for k, v in data.items() if k != "published"})
        y.file, y.pos = data.file, data.pos
        y.positions = {k: p for k, p in data.positions.items() if k != "published"}
        return y
    return data


def load_arch(path) -> Arch:
    """Read, merge (`extends:`, node-scaled) and validate an architecture YAML file.  Its `published:`
    section, if any, is read by `load_published`."""
    return _build(_without_published(load_data(path)))


def load_published(path):
    """The validated `published:` section of an architecture file (tlm/config/published.py), or None."""
    from tlm.config import published
    return published.parse(load_data(path), str(path), is_param)


def load_with_published(path, text: str | None = None):
    """(Arch, Published or None) from one read of the file (or of `text`, as if it were the file `path`)."""
    from tlm.config import published
    data = load_data(path, text)
    return _build(_without_published(data)), published.parse(data, str(path), is_param)


def is_param(dotted: str) -> bool:
    """'section.field' names a parameter of the architecture."""
    import dataclasses
    from tlm.config.schema import _hints
    sec, _, name = dotted.partition(".")
    cls = _hints(Arch).get(sec)
    return cls is not None and dataclasses.is_dataclass(cls) and name in {x.name for x in dataclasses.fields(cls)}
