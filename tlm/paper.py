"""The IMAGINE paper's published figures, and the same figures measured on an architecture by the simulator.

Every model figure is computed from a simulation (`tlm.analytic.simulate`) of a generated one-layer
workload: the event counts of that run times the energies per event of tlm/hw/.  Nothing here is a
separate formula for energy or time; this module only chooses the runs and reads their results.

Definitions (docs/validation.md):
- *peak*: the macro fully used: a 3x3 conv over 128 input channels drives all 1152 rows, and
  floor(256 / r) output channels of r-bit weights use the columns of whole output channels;
  r-bit inputs, weights and outputs; weights resident (loaded once, not counted).
- one MAC = 2 operations at the stated precision (not 1b-normalized).
- macro peak energy = the macro's own event kinds (`dp_array`, `input_drivers`, `adc` incl. the analog
  batch-norm) plus the macro's share of the leakage (its array and ADC leakage over the run).
- area efficiency = peak operations per second / macro area (bit cells + periphery + converters).
- density = stored weight bytes / macro area, with kB = 1024 bytes (1152 x 256 bits = 36 kB).
- system level: the reference run below, on-chip energy of everything (macro, ADCs, SRAM, DMA on-chip
  interconnect, controller, post-processing, leakage of all blocks); off-chip DRAM energy excluded.
"""
from __future__ import annotations

from dataclasses import dataclass

from .analytic import simulate
from .errors import InputError, Where
from .hw import leakage as hw_leak
from .hw import macro as hw_macro
from .result import KIND_NAMES
from .workload import parse_workload
from .yamlio import load_text

PAPER_SOURCE = "Kneip et al., IMAGINE, arXiv 2412.19750, IEEE TCAS-AI 2025 (abstract)"
MACRO_KINDS = ("dp_array", "input_drivers", "adc")  # the macro's own event kinds (ADC incl. ABN)
KERNEL = 3  # 3 x 3 x 128 = 1152 rows: the kernel that fills the IMAGINE macro
MAP_HW = 32  # output feature map side of the generated runs (32 x 32 pixels, 'same' padding)
REF_BITS = 8  # the system-level figure is given at 8b
REF_C_OUT = 32  # 8b weights: 256 / 8 = 32 output channels fill the columns
KB_BYTES = 1024  # "kB" of the density figure


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    unit: str
    paper: float


# The abstract's numbers (DESIGN.md §1).
FIGURES = (
    Figure("eff_1b", "macro peak energy efficiency, 1b", "TOPS/W", 8000.0),
    Figure("eff_8b", "macro peak energy efficiency, 8b", "TOPS/W", 150.0),
    Figure("area_1b", "macro peak area efficiency, 1b", "TOPS/mm2", 154.0),
    Figure("area_8b", "macro peak area efficiency, 8b", "TOPS/mm2", 2.6),
    Figure("density", "macro density", "kB/mm2", 187.0),
    Figure("system_8b", "system energy efficiency, 8b, reference run", "TOPS/W", 40.0),
)
PAPER_ROWS, PAPER_COLUMNS = 1152, 256  # macro geometry [paper]
TOLERANCE = 0.03  # every model figure within 3% of the paper's


def conv_workload(bits: int, c_in: int, c_out: int, name: str):
    """A one-layer workload: an r-bit 3x3 conv, c_in -> c_out channels, on a 32x32 map ('same')."""
    text = (f"name: {name}\n"
            f"input: {{shape: [{c_in}, {MAP_HW}, {MAP_HW}], bits: {bits}}}\n"
            f"precision: {{input: {bits}, weight: {bits}, output: {bits}}}\n"
            f"layers:\n  - {{name: conv, type: conv2d, out_channels: {c_out}, kernel: {KERNEL}, "
            f"padding: same}}\n")
    return parse_workload(load_text(text, f"<{name}>"), f"<{name}>")


def peak_workload(arch, bits: int):
    """The peak run at `bits`: all rows (c_in = rows / 9) and whole output channels of all columns."""
    c_in = arch.macro.rows // (KERNEL * KERNEL)
    return conv_workload(bits, c_in, hw_macro.channels_per_macro(arch, bits), f"peak_{bits}b")


def reference_workload(arch):
    """The system-level reference run: 8b 3x3x128 -> 32-channel conv on a 32x32 map, batch 1."""
    return conv_workload(REF_BITS, arch.macro.rows // (KERNEL * KERNEL), REF_C_OUT, "reference_8b")


@dataclass(frozen=True)
class MacroPeak:
    """The macro-level measurements of one peak run (row 0 of its Result: the conv layer)."""

    bits: int
    ops: float  # 2 x MACs
    energy_pj: float  # macro event kinds + the macro's leakage share
    time_ns: float  # compute time of the layer
    area_mm2: float
    dp_cycles: int
    conversions: int

    @property
    def tops_per_w(self) -> float:
        return self.ops / self.energy_pj  # ops/pJ = 1e12 ops/J = TOPS/W

    @property
    def tops_per_mm2(self) -> float:
        return self.ops / self.time_ns / 1e3 / self.area_mm2  # ops/ns = 1e9 ops/s; /1e3 -> TOPS


def macro_energy_pj(arch, result, row: int = 0) -> float:
    """The macro's own energy in one Result row: its event kinds and its share of the leakage
    (one macro's array + ADC leakage power over the chip's leakage power)."""
    e = result.energy_pj[row]
    own = sum(float(e[KIND_NAMES.index(k)]) for k in MACRO_KINDS)
    share = hw_macro.leakage_uw(arch) / hw_leak.power_uw(arch) if hw_leak.power_uw(arch) > 0 else 0.0
    return own + share * float(e[KIND_NAMES.index("leakage")])


def macro_peak(arch, bits: int) -> MacroPeak:
    r = simulate(arch, peak_workload(arch, bits))
    pl = r.per_layer
    return MacroPeak(bits=bits, ops=2.0 * float(pl["macs"][0]), energy_pj=macro_energy_pj(arch, r),
                     time_ns=float(pl["compute_cycles"][0]) * arch.clock.period_ns,
                     area_mm2=hw_macro.area_mm2(arch), dp_cycles=int(pl["dp_cycles"][0]),
                     conversions=int(pl["conversions"][0]))


def reference_run(arch):
    """The system-level reference Result (all on-chip energy; off-chip kept apart by Result)."""
    return simulate(arch, reference_workload(arch))


def density_kb_per_mm2(arch) -> float:
    return hw_macro.cells(arch) / 8 / KB_BYTES / hw_macro.area_mm2(arch)


def supported_bits(arch) -> list[int]:
    """Precisions the architecture supports for inputs, weights and outputs alike."""
    p = arch.precision
    return sorted(set(p.input_bits) & set(p.weight_bits) & set(p.output_bits))


def check_runnable(arch, file: str = "<architecture>") -> None:
    """The paper's runs need 1b and 8b and a macro of at least 3x3 rows and 8 columns."""
    missing = [b for b in (1, REF_BITS) if b not in supported_bits(arch)]
    if missing:
        raise InputError(f"the paper's figures are at 1b and 8b; '{arch.name}' does not support "
                         f"{', '.join(f'{b}b' for b in missing)} for inputs, weights and outputs alike",
                         Where(file), "precision")
    if arch.macro.rows < KERNEL * KERNEL or arch.macro.columns < REF_BITS:
        raise InputError(f"a {arch.macro.rows}x{arch.macro.columns} macro cannot hold the paper's runs "
                         f"(at least {KERNEL * KERNEL} rows and {REF_BITS} columns)", Where(file),
                         "macro")


def model_figures(arch) -> dict:
    """key -> model value, for every entry of FIGURES."""
    check_runnable(arch)
    p1, p8 = macro_peak(arch, 1), macro_peak(arch, 8)
    return {
        "eff_1b": p1.tops_per_w, "eff_8b": p8.tops_per_w,
        "area_1b": p1.tops_per_mm2, "area_8b": p8.tops_per_mm2,
        "density": density_kb_per_mm2(arch),
        "system_8b": reference_run(arch).summary()["tops_per_w"],
    }


def comparison(arch) -> list[tuple[Figure, float, float]]:
    """(figure, model value, relative error) for every figure."""
    m = model_figures(arch)
    return [(f, m[f.key], m[f.key] / f.paper - 1.0) for f in FIGURES]


def sweep(arch, bits=None) -> list[MacroPeak]:
    """Macro peak at every supported precision (inputs = weights = outputs = r bits)."""
    return [macro_peak(arch, b) for b in (supported_bits(arch) if bits is None else bits)]
