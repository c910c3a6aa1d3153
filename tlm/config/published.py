"""The `published:` section of an architecture file: a design's citation and its published figures.

    published:
      citation: "Jia et al., ... JSSC 55(9), 2020"
      source: where the figures were read (a table, a figure, a transcription)
      fitted: [macro.c_cell_ff, macro.op_overhead_cycles]   # at most two, fitted to the figures below
      tolerance: 0.25                                       # relative error `tlm chips` accepts
      figures:
        - key: eff_1b_085v
          metric: energy_efficiency      # energy_efficiency | area_efficiency | throughput | density |
                                         # system_energy_efficiency
          value: 400
          unit: TOPS/W
          ops: 1b                        # raw (ops at the stated precision, 1 MAC = 2 ops) or 1b-normalized
          input_bits: 1
          weight_bits: 1
          output_bits: 8
          vdd_array_v: 0.85              # the supplies and clock the figure was measured at (default: the
          vdd_digital_v: 0.85            # config's own)
          clock_mhz: 40
          input_bit_density: 0.5         # the data activity it was measured at (energy figures; default:
                                         # the config's activity.input_bit_density)
          source: Table II

Conventions (docs/architecture.md, "Conventions"): a *raw* efficiency counts 2 ops per MAC at the stated precision; a
*1b-normalized* one counts 2 x input bits x weight bits ops per MAC.  At 1b x 1b they are the same.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from tlm.errors import InputError, Where
from tlm.config.schema import build, param
from tlm.config.yamlio import YDict, YList

METRICS = {  # metric -> unit it is given in
    "energy_efficiency": "TOPS/W",
    "area_efficiency": "TOPS/mm2",
    "throughput": "TOPS",
    "density": "kB/mm2",
    "system_energy_efficiency": "TOPS/W",
    "clock_frequency": "MHz",
    "energy_share": "%",
    "area_share": "%",
}
ENERGY_METRICS = ("energy_efficiency", "system_energy_efficiency", "energy_share")  # those data activity moves
COMPONENTS = ("array", "dac", "adc", "misc")  # what a published breakdown share names (share metrics)
OPS = ("raw", "1b")
MAX_FITTED = 2
MAX_FIGURES = 64
MIN_SUPPLY_V = 0.1  # a measured supply: CIM chips are measured at 0.3 V and up
MIN_CLOCK_MHZ = 1e-3  # a measured clock: 1 kHz, far below any published one (~1 MHz and up)


@dataclass(frozen=True)
class Figure:
    key: str = param("short identifier of the figure (unique in the file)")
    metric: str = param("what is measured", choices=tuple(METRICS))
    value: float = param("the published value (1e-6 to 1e6 in its unit: published CIM figures span 1e-3 to "
                         "1e4; outside, model/published ratios overflow or divide by a denormal)", lo=1e-6, hi=1e6)
    unit: str = param("unit of the value (must be the metric's: TOPS/W, TOPS/mm2, TOPS, kB/mm2)")
    input_bits: int = param("input precision of the measurement, bits", lo=1, hi=8)
    weight_bits: int = param("weight precision of the measurement, bits", lo=1, hi=8)
    output_bits: int = param("output precision of the measurement, bits", lo=1, hi=8)
    ops: str = param("'raw': ops at the stated precision (1 MAC = 2 ops); '1b': 1b-normalized (x input bits x "
                     "weight bits)", choices=OPS, default="raw")
    label: str = param("a readable name for tables", default="")
    vdd_array_v: float = param("array supply of the measurement, V (0 = the config's)", lo=0.0, hi=2.0,
                               default=0.0)
    vdd_digital_v: float = param("digital supply of the measurement, V (0 = the config's)", lo=0.0, hi=2.0,
                                 default=0.0)
    clock_mhz: float = param("clock of the measurement, MHz (0 = the config's)", lo=0.0, hi=100_000.0,
                             default=0.0)
    input_bit_density: float = param("data activity of the measurement: the fraction of input bits that are 1 "
                                     "(multi-level and pulse inputs: the mean level over full scale), in place "
                                     "of the config's `activity.input_bit_density` (absent: the config's); "
                                     "energy figures only", lo=0.0, hi=1.0, default=None)
    source: str = param("where in the paper (table, figure, text) and through which transcription", default="")
    component: str = param("the component of a share figure (energy_share, area_share): array (cells, lines, "
                           "row drivers), dac (row input DACs), adc (converters), misc (periphery)",
                           choices=("",) + COMPONENTS, default="")

    def check(self, data, path):
        for name, least in (("vdd_array_v", MIN_SUPPLY_V), ("vdd_digital_v", MIN_SUPPLY_V),
                            ("clock_mhz", MIN_CLOCK_MHZ)):
            v = getattr(self, name)
            if 0 < v < least:  # 0 means "the config's"; a tiny value divides by a denormal
                raise InputError(f"expected 0 (the config's) or at least {least:g}, found {v:g}", data.where(name),
                                 f"{path}.{name}")
        want = METRICS[self.metric]
        if self.unit != want:
            raise InputError(f"a {self.metric} figure is in {want}, not {self.unit!r}", data.where("unit"),
                             f"{path}.unit")
        if self.ops == "1b" and not self.efficiency:
            raise InputError(f"a {self.metric} figure has no ops convention", data.where("ops"), f"{path}.ops")
        share = self.metric in ("energy_share", "area_share")
        if share != bool(self.component):
            raise InputError("a share figure names its component (and only a share figure does)",
                             data.where("component" if "component" in data else "metric"), f"{path}.component")
        if share and self.value > 100.0:
            raise InputError("a share is at most 100 %", data.where("value"), f"{path}.value")
        if self.input_bit_density is not None and self.metric not in ENERGY_METRICS:
            raise InputError(f"{self.metric} does not depend on the data: only an energy figure "
                             f"({', '.join(ENERGY_METRICS)}) states an input_bit_density",
                             data.where("input_bit_density"), f"{path}.input_bit_density")

    @property
    def efficiency(self) -> bool:
        return self.metric in ("energy_efficiency", "area_efficiency", "throughput", "system_energy_efficiency")

    @property
    def norm_factor(self) -> int:
        """1b-normalized ops per raw op at this figure's precisions."""
        return self.input_bits * self.weight_bits

    def name(self) -> str:
        return self.label or self.key

    def conditions(self) -> str:
        """Precision, supply, clock in a few characters."""
        s = f"{self.input_bits}b/{self.weight_bits}b/{self.output_bits}b"
        v = [x for x in (self.vdd_array_v, self.vdd_digital_v) if x]
        if v:
            s += " " + "/".join(f"{x:g}" for x in dict.fromkeys(v)) + " V"
        if self.clock_mhz:
            s += f" {self.clock_mhz:g} MHz"
        return s


@dataclass(frozen=True)
class Published:
    citation: str = param("the paper: authors, title, venue, year")
    source: str = param("where the figures were read (tables, figures, transcriptions)", default="")
    fitted: tuple[str, ...] = param("the config's parameters fitted to these figures (section.field), at most "
                                    f"{MAX_FITTED}", default=())
    tolerance: float = param("relative error accepted between model and published figures", lo=0.0, hi=10.0,
                             default=0.25)
    figures: tuple = field(default=(), metadata={"doc": "the published figures"})
    file: str = field(default="<input>", metadata={"doc": "the file it came from"})

    def figure(self, key: str) -> Figure:
        for f in self.figures:
            if f.key == key:
                return f
        raise KeyError(key)


def parse(data, file: str, is_param=None) -> Published | None:
    """The validated `published:` section of a merged config mapping, or None when it has none.
    `is_param("section.field")` says whether a fitted name is a parameter of the architecture."""
    if not isinstance(data, dict) or "published" not in data:
        return None
    sec = data["published"]
    where = data.where("published") if isinstance(data, YDict) else Where(file)
    if not isinstance(sec, dict):
        raise InputError("expected a mapping (citation, figures, ...)", where, "published")
    figs = sec.get("figures")
    head = {k: v for k, v in sec.items() if k != "figures" and not (k == "fitted" and v == [])}
    if isinstance(sec, YDict):
        y = YDict(head)
        y.file, y.pos, y.positions = sec.file, sec.pos, dict(sec.positions)
        head = y
    pub = build(Published, head, "published", where)
    if not isinstance(figs, list) or not figs:
        raise InputError("expected a non-empty list of figures",
                         sec.where("figures") if isinstance(sec, YDict) else where, "published.figures")
    if len(figs) > MAX_FIGURES:
        raise InputError(f"at most {MAX_FIGURES} figures", sec.where("figures"), "published.figures")
    out, seen = [], set()
    for i, item in enumerate(figs):
        w = figs.where(i) if isinstance(figs, YList) else where
        f = build(Figure, item, f"published.figures[{i}]", w)
        if f.key in seen:
            raise InputError(f"figure key {f.key!r} appears twice", w, f"published.figures[{i}].key")
        seen.add(f.key)
        out.append(f)
    if len(pub.fitted) > MAX_FITTED:
        raise InputError(f"at most {MAX_FITTED} fitted parameters per design, found {len(pub.fitted)}",
                         sec.where("fitted") if isinstance(sec, YDict) else where, "published.fitted")
    for j, dotted in enumerate(pub.fitted):
        if is_param is not None and not is_param(dotted):
            raise InputError(f"{dotted!r} is not a parameter (section.field)",
                             sec.where("fitted") if isinstance(sec, YDict) else where, f"published.fitted[{j}]")
    return replace(pub, figures=tuple(out), file=file)
