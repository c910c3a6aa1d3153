"""`tlm simulate`: run a workload on an architecture and print summary, per-layer and energy tables."""
from __future__ import annotations

from pathlib import Path

from ..yamlio import atomic_write_all
from ._common import add_arch_workload, console, load_arch_arg, load_workload_arg

NAME = "simulate"
HELP = "simulate a workload on an architecture; print cycles, utilization and energy"
ORDER = 10

ENGINES = {}  # name -> simulate(arch, workload, args) -> Result; filled below and by other engines


def add_arguments(p):
    add_arch_workload(p)
    p.add_argument("--engine", choices=sorted(set(ENGINES) | {"analytic"}), default="analytic",
                   help="analytic (vectorized, contention-free) or tlm (transaction-level, with contention)")
    p.add_argument("--json", metavar="PATH", help="write every number and the resolved config as JSON")
    p.add_argument("--csv", metavar="DIR", help="write layers.csv and energy.csv into DIR")
    p.add_argument("--per-layer", action="store_true", help="also print energy per layer and event kind")
    p.add_argument("--quiet", "-q", action="store_true", help="print nothing (use with --json/--csv)")


def _analytic(arch, wl, args):
    from ..analytic import simulate
    return simulate(arch, wl)


ENGINES["analytic"] = _analytic


def run(args) -> int:
    from .. import report
    arch = load_arch_arg(args.arch)
    wl = load_workload_arg(args.workload, arch)
    result = ENGINES[args.engine](arch, wl, args)
    outputs = []
    if args.json:
        outputs.append((Path(args.json), result.to_json()))
    if args.csv:
        outputs.append((Path(args.csv) / "layers.csv", report.layers_csv(result)))
        outputs.append((Path(args.csv) / "energy.csv", report.energy_csv(result)))
    atomic_write_all(outputs)  # all files or none
    if not args.quiet:
        con = console()
        con.print(report.summary_table(result))
        con.print(report.layer_table(result))
        con.print(report.energy_table(result))
        if args.per_layer:
            con.print(report.layer_energy_table(result))
        if result.notes:
            con.print(report.notes_text(result))
    return 0
