"""`tlm paper`: the IMAGINE paper's figures next to the model's, the precision sweep, and the energy
breakdown of the system-level reference run."""
from __future__ import annotations

from ..paths import DEFAULT_ARCH, resolve
from ..tables import Table
from ._common import add_arch_workload, add_set, apply_set, console, load_arch_arg

NAME = "paper"
HELP = "compare an architecture with the IMAGINE paper's figures (default: the shipped imagine.yaml)"
ORDER = 40


def add_arguments(p):
    add_arch_workload(p, workload=False)
    add_set(p, workload=False)


def _num(x: float) -> str:
    return f"{x:,.4g}" if abs(x) < 1e4 else f"{x:,.0f}"


def comparison_table(arch) -> Table:
    from .. import paper
    t = Table(title=f"'{arch.name}' against the IMAGINE paper",
              caption=f"paper: {paper.PAPER_SOURCE}\nerror = model / paper - 1; (!) outside the "
                      f"{paper.TOLERANCE:.0%} tolerance")
    for c, j in (("figure", "left"), ("unit", "left"), ("paper", "right"), ("model", "right"),
                 ("error", "right")):
        t.add_column(c, justify=j)
    for fig, model, err in paper.comparison(arch):
        mark = "" if abs(err) <= paper.TOLERANCE else "  (!)"
        t.add_row(fig.label, fig.unit, _num(fig.paper), _num(model), f"{100 * err:+.2f}%{mark}")
    geo = f"{arch.macro.rows} x {arch.macro.columns}"
    same = (arch.macro.rows, arch.macro.columns) == (paper.PAPER_ROWS, paper.PAPER_COLUMNS)
    t.add_row("macro geometry", "rows x cols", f"{paper.PAPER_ROWS} x {paper.PAPER_COLUMNS}", geo,
              "exact" if same else "differs")
    return t


def sweep_table(arch) -> Table:
    from .. import paper
    t = Table(title="macro peak per precision (inputs = weights = outputs = r bits)")
    for c in ("r", "columns", "ops / pixel", "DP cycles / px", "conversions / px", "time / px",
              "energy / px", "TOPS/W", "TOPS/mm2"):
        t.add_column(c, justify="right")
    for p in paper.sweep(arch):
        px = paper.MAP_HW * paper.MAP_HW
        t.add_row(str(p.bits), str(p.conversions // px * p.bits), f"{p.ops / px:,.0f}", str(p.dp_cycles // px),
                  str(p.conversions // px), f"{p.time_ns / px:.4g} ns", f"{p.energy_pj / px:.4g} pJ",
                  _num(p.tops_per_w), _num(p.tops_per_mm2))
    return t


def run(args) -> int:
    from .. import paper, report
    arch, _ = apply_set(args, load_arch_arg(args.arch))
    paper.check_runnable(arch, str(resolve(args.arch, "configs", DEFAULT_ARCH)))
    con = console()
    con.print(comparison_table(arch))
    con.print(sweep_table(arch))
    ref = paper.reference_run(arch)
    con.print(f"system-level reference run: {paper.REF_BITS}b 3x3x{arch.macro.rows // 9} -> "
              f"{paper.REF_C_OUT}-channel conv on a {paper.MAP_HW}x{paper.MAP_HW} map ('same' padding), "
              "batch 1, weights resident;\nall on-chip energy counted (image I/O included), off-chip DRAM "
              "energy excluded")
    con.print(report.summary_table(ref))
    con.print(report.energy_table(ref))
    return 0
