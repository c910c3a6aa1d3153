"""Published figures of a design (its config's `published:` section) and the same figures measured on
an architecture by the simulator.

Every model figure is computed from a simulation (`tlm.engines.analytic.simulate`) of a generated one-layer
workload at the figure's precisions, supplies, clock and data activity: the event counts of that run times
the energies per event of tlm/hw/.  Nothing here is a separate formula for energy or time; this module only
chooses the runs and reads their results.

Definitions (docs/validation.md):
- *peak*: the macro fully used: a 3x3 conv over rows / 9 input channels (a 1x1 conv over `rows` input
  channels when rows is not a multiple of 9) drives all rows, and floor(columns / r_w) output channels
  of r_w-bit weights use the columns of whole output channels; weights resident (not counted).
- ops: *raw* = 2 per MAC at the stated precision; *1b-normalized* = 2 x input bits x weight bits per MAC.
- macro peak energy = the macro's own event kinds (`dp_array`, `input_drivers`, `input_dac` (row DACs), `adc`
  incl. the analog batch-norm and the digital shift-add/rescale of bit-column results) plus the macro's
  share of the leakage (its array and ADC leakage over the run).
- area efficiency = peak operations per second / macro area (bit cells + periphery + DACs + converters);
  throughput = peak operations per second of one macro.
- density = stored weight bytes / macro area, with kB = 1024 bytes (1152 x 256 bits = 36 kB).
- system level: the reference run (the peak layer at the figure's precisions, IMAGINE: 8b 3x3x128 -> 32
  channels on a 32 x 32 map, batch 1), on-chip energy of everything (macro, ADCs, SRAM, DMA on-chip interconnect, controller,
  post-processing, leakage of all blocks); off-chip DRAM energy excluded.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, replace

from tlm.engines.analytic import simulate as _analytic
from tlm.errors import InputError, Where
from tlm.hw import area as hw_area
from tlm.hw import leakage as hw_leak
from tlm.hw import macro as hw_macro
from tlm.engines.result import KIND_NAMES
from tlm.config.workload import parse_workload
from tlm.config.yamlio import load_text

MACRO_KINDS = ("dp_array", "input_drivers", "input_dac", "adc")  # the macro's own event kinds (ADC incl. ABN)
KERNEL = 3  # 3 x 3 x 128 = 1152 rows: the kernel that fills the IMAGINE macro
MAP_HW = 32  # output feature map side of the generated runs (32 x 32 pixels, 'same' padding)
REF_BITS = 8  # IMAGINE's system-level figure is given at 8b
REF_C_OUT = 32  # 8b weights: 256 / 8 = 32 output channels fill IMAGINE's columns
KB_BYTES = 1024  # "kB" of the density figure
PAPER_ROWS, PAPER_COLUMNS = 1152, 256  # IMAGINE's macro geometry [paper]
TOLERANCE = 0.03  # every IMAGINE model figure within 3% of the paper's


@functools.lru_cache(maxsize=1)
def imagine_published():
    """IMAGINE's published figures: the `published:` section of the shipped configs/imagine.yaml."""
    from tlm.config.arch import load_published
    from tlm.config.paths import DEFAULT_ARCH, resolve
    return load_published(resolve(DEFAULT_ARCH, "configs", DEFAULT_ARCH))


def __getattr__(name):  # paper.FIGURES / paper.PAPER_SOURCE, read from imagine.yaml when first used
    if name == "FIGURES":
        return imagine_published().figures
    if name == "PAPER_SOURCE":
        return imagine_published().citation
    raise AttributeError(name)


def kernel_for(arch) -> int:
    """3 when the rows hold whole 3x3 kernels, else 1 (a 1x1 conv, i.e. a dense layer per pixel)."""
    return KERNEL if arch.macro.rows % (KERNEL * KERNEL) == 0 else 1


def conv_workload(bits, c_in: int, c_out: int, name: str, kernel: int = KERNEL, bits_w=None, bits_out=None):
    """A one-layer workload: a `kernel` x `kernel` conv, c_in -> c_out channels, on a 32x32 map ('same'),
    `bits` input bits (and weight / output bits, the same unless given)."""
    bw = bits if bits_w is None else bits_w
    bo = bits if bits_out is None else bits_out
    text = (f"name: {name}\n"
            f"input: {{shape: [{c_in}, {MAP_HW}, {MAP_HW}], bits: {bits}}}\n"
            f"precision: {{input: {bits}, weight: {bw}, output: {bo}}}\n"
            f"layers:\n  - {{name: conv, type: conv2d, out_channels: {c_out}, kernel: {kernel}, "
            f"padding: same}}\n")
    return parse_workload(load_text(text, f"<{name}>"), f"<{name}>")


def peak_workload(arch, bits: int, bits_w=None, bits_out=None):
    """The peak run: all rows (c_in = rows / 9, or rows with a 1x1 kernel) and whole output channels of
    all columns."""
    k = kernel_for(arch)
    bw = bits if bits_w is None else bits_w
    return conv_workload(bits, arch.macro.rows // (k * k), hw_macro.channels_per_macro(arch, bw),
                         f"peak_{bits}b", k, bw, bits_out)


def reference_workload(arch, bits: int = REF_BITS, bits_w=None, bits_out=None):
    """The system-level reference run: the peak layer (IMAGINE: 8b 3x3x128 -> 32 channels), batch 1."""
    k = kernel_for(arch)
    bw = bits if bits_w is None else bits_w
    return conv_workload(bits, arch.macro.rows // (k * k), hw_macro.channels_per_macro(arch, bw),
                         f"reference_{bits}b", k, bw, bits_out)


@dataclass(frozen=True)
class MacroPeak:
    """The macro-level measurements of one peak run (row 0 of its Result: the conv layer)."""

    bits: int
    ops: float  # 2 x MACs (raw)
    energy_pj: float  # macro event kinds + the macro's leakage share
    time_ns: float  # compute time of the layer
    area_mm2: float
    dp_cycles: int  # DP phases of the run
    conversions: int
    bits_w: int = 0
    bits_out: int = 0

    @property
    def tops_per_w(self) -> float:
        return self.ops / self.energy_pj  # ops/pJ = 1e12 ops/J = TOPS/W

    @property
    def tops(self) -> float:
        return self.ops / self.time_ns / 1e3  # ops/ns = 1e9 ops/s; /1e3 -> TOPS

    @property
    def tops_per_mm2(self) -> float:
        return self.tops / self.area_mm2


def macro_energy_pj(arch, result, row: int = 0) -> float:
    """The macro's own energy in one Result row: its event kinds and its share of the leakage
    (one macro's array + ADC leakage power over the chip's leakage power)."""
    e = result.energy_pj[row]
    own = sum(float(e[KIND_NAMES.index(k)]) for k in MACRO_KINDS)
    share = hw_macro.leakage_uw(arch) / hw_leak.power_uw(arch) if hw_leak.power_uw(arch) > 0 else 0.0
    return own + share * float(e[KIND_NAMES.index("leakage")])


def macro_peak(arch, bits: int, bits_w=None, bits_out=None) -> MacroPeak:
    wl = peak_workload(arch, bits, bits_w, bits_out)
    r = simulate(arch, wl)
    pl = r.per_layer
    l = wl.layers[0]
    return MacroPeak(bits=bits, ops=2.0 * float(pl["macs"][0]), energy_pj=macro_energy_pj(arch, r),
                     time_ns=float(pl["compute_cycles"][0]) * arch.clock.period_ns,
                     area_mm2=hw_area.macro_mm2(arch), dp_cycles=int(pl["dp_cycles"][0]),
                     conversions=int(pl["conversions"][0]), bits_w=l.bits_w, bits_out=l.bits_out)


def simulate(arch, wl):
    """The analytic run of a paper figure: one layer on the sequential schedule (a chip's published
    peak and system figures are of one layer mapped on its macro, not of a multi-macro mapping policy)."""
    if arch.mapping.policy != "sequential":
        from tlm.mapping.mapper import with_policy
        arch = with_policy(arch, "sequential")
    return _analytic(arch, wl)


def reference_run(arch, bits: int = REF_BITS, bits_w=None, bits_out=None):
    """The system-level reference Result (all on-chip energy; off-chip kept apart by Result)."""
    return simulate(arch, reference_workload(arch, bits, bits_w, bits_out))


def density_kb_per_mm2(arch) -> float:
    return hw_macro.cells(arch) / 8 / KB_BYTES / hw_area.macro_mm2(arch)


def sweep_points(arch) -> list[tuple[int, int, int]]:
    """(input, weight, output) bits of the precision sweep: inputs = weights = r for every r both
    support; outputs r when supported, else the widest output."""
    p = arch.precision
    out = max(p.output_bits)
    return [(r, r, r if r in p.output_bits else out) for r in sorted(set(p.input_bits) & set(p.weight_bits))]


def at_conditions(arch, fig):
    """`arch` at the supplies, clock and data activity a figure was measured at (those the figure gives:
    its `input_bit_density` replaces the config's `activity.input_bit_density`, which the one-layer run's
    event energies read, tlm/hw/macro.py)."""
    from tlm.hw.technology import alpha_power_clock_mhz
    if fig.input_bit_density is not None:
        arch = replace(arch, activity=replace(arch.activity, input_bit_density=fig.input_bit_density))
    t, c = arch.technology, arch.clock
    t2 = replace(t, vdd_array_v=fig.vdd_array_v or t.vdd_array_v, vdd_digital_v=fig.vdd_digital_v or t.vdd_digital_v)
    f = fig.clock_mhz or c.frequency_mhz
    if not fig.clock_mhz and c.follows_supply and t2.vdd_digital_v != t.vdd_digital_v:
        if min(t.vdd_digital_v, t2.vdd_digital_v) <= c.threshold_v:
            raise InputError(f"figure '{fig.key}': the clock cannot follow a supply at or below the threshold "
                             f"{c.threshold_v} V", Where("<published>"), "clock.threshold_v")
        f = alpha_power_clock_mhz(c.frequency_mhz, t.vdd_digital_v, t2.vdd_digital_v, c.threshold_v, c.alpha)
    out = replace(arch, technology=t2, clock=replace(c, frequency_mhz=f))
    if t.leakage_v_per_decade:  # leakage follows the supplies: the array's at vdd_array, the rest at vdd_digital
        from tlm.hw.technology import leakage_factor
        ka = leakage_factor(t.vdd_array_v, t2.vdd_array_v, t.leakage_v_per_decade)
        kd = leakage_factor(t.vdd_digital_v, t2.vdd_digital_v, t.leakage_v_per_decade)
        out = replace(out, macro=replace(arch.macro, leakage_uw=arch.macro.leakage_uw * ka),
                      adc=replace(arch.adc, leakage_uw=arch.adc.leakage_uw * kd),
                      sram=replace(arch.sram, leakage_uw=arch.sram.leakage_uw * kd),
                      controller=replace(arch.controller, leakage_uw=arch.controller.leakage_uw * kd))
    return out


def check_runnable(arch, file: str = "<architecture>", figures=None) -> None:
    """Every figure's precisions must be supported, and the macro must hold its peak run."""
    figs = imagine_published().figures if figures is None else figures
    p = arch.precision
    for f in figs:
        for what, b, have in (("input", f.input_bits, p.input_bits), ("weight", f.weight_bits, p.weight_bits),
                              ("output", f.output_bits, p.output_bits)):
            if b not in have:
                raise InputError(f"figure '{f.key}' is at {f.input_bits}b inputs, {f.weight_bits}b weights, "
                                 f"{f.output_bits}b outputs; '{arch.name}' does not support {b}b {what}s",
                                 Where(file), f"precision.{what}_bits")
        if arch.macro.columns < f.weight_bits:
            raise InputError(f"a {arch.macro.rows}x{arch.macro.columns} macro cannot hold one output channel "
                             f"of {f.weight_bits}b weights (figure '{f.key}')", Where(file), "macro")


def model_value(arch, fig, g=None) -> float:
    """The model's value of one published figure, in the figure's own ops convention.  A design whose
    circuit derives its engine parameters (`circuit.derive`) is derived at the figure's supplies with the
    global constants `g` (the shipped ones when None; tlm/hw/circuit.py): its clock is then a prediction,
    the figure's clock is not used."""
    from tlm.hw import circuit
    a = circuit.derive(at_conditions(arch, fig), g)
    if fig.metric == "clock_frequency":
        return a.clock.frequency_mhz
    if fig.metric == "energy_share":
        return 100.0 * macro_energy_shares(a, fig)[fig.component]
    if fig.metric == "area_share":
        return 100.0 * hw_area.macro_shares(a)[fig.component]
    if fig.metric == "density":
        return density_kb_per_mm2(a)
    if fig.metric == "system_energy_efficiency":
        r = reference_run(a, fig.input_bits, fig.weight_bits, fig.output_bits)
        raw = r.summary()["tops_per_w"]
    else:
        p = macro_peak(a, fig.input_bits, fig.weight_bits, fig.output_bits)
        raw = {"energy_efficiency": p.tops_per_w, "area_efficiency": p.tops_per_mm2,
               "throughput": p.tops}[fig.metric]
    return raw * (fig.norm_factor if fig.ops == "1b" else 1)


def converted(fig, value: float, normalize: str | None) -> tuple[float, str]:
    """(value, convention) of a figure's value in the requested convention (None: the figure's own)."""
    if not fig.efficiency or normalize is None or normalize == fig.ops:
        return value, ("" if not fig.efficiency else fig.ops)
    if normalize == "1b":
        return value * fig.norm_factor, "1b"
    return value / fig.norm_factor, "raw"


def model_figures(arch, figures=None, g=None) -> dict:
    """key -> model value, for every figure (IMAGINE's by default)."""
    figs = imagine_published().figures if figures is None else figures
    check_runnable(arch, figures=figs)
    return {f.key: model_value(arch, f, g) for f in figs}


def error(fig, model: float) -> float:
    """model / paper - 1; for a share figure (in %), (model - paper) / 100: the difference in points."""
    return (model - fig.value) / 100.0 if fig.metric in SHARE_METRICS else model / fig.value - 1.0


def comparison(arch, figures=None, g=None) -> list:
    """(figure, model value, error) for every figure (IMAGINE's by default)."""
    figs = imagine_published().figures if figures is None else figures
    m = model_figures(arch, figs, g)
    return [(f, m[f.key], error(f, m[f.key])) for f in figs]


SHARE_METRICS = ("energy_share", "area_share")


def macro_energy_shares(arch, fig) -> dict:
    """The macro's peak energy at the figure's precisions by component (array: cells, column lines and row
    drivers; dac: the row input DACs; adc: the converters with their ABN), as fractions of their sum."""
    wl = peak_workload(arch, fig.input_bits, fig.weight_bits, fig.output_bits)
    r = simulate(arch, wl)
    e = r.energy_pj[0]
    k = {n: float(e[KIND_NAMES.index(n)]) for n in ("dp_array", "input_drivers", "input_dac", "adc")}
    parts = {"array": k["dp_array"] + k["input_drivers"], "dac": k["input_dac"], "adc": k["adc"], "misc": 0.0}
    total = sum(parts.values())
    return {k: v / total for k, v in parts.items()}


def sweep(arch, points=None) -> list[MacroPeak]:
    """Macro peak at every sweep point (inputs = weights = r; outputs r or the widest supported)."""
    return [macro_peak(arch, i, w, o) for i, w, o in (sweep_points(arch) if points is None else points)]

