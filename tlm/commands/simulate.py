"""`tlm simulate`: run a workload on an architecture and print summary, per-layer and energy tables."""
from __future__ import annotations

from pathlib import Path

from ..engines import DEFAULT_ENGINE, ENGINES  # noqa: F401 (the registry lives in tlm/engines.py)
from ..errors import InputError, Where
from ..yamlio import atomic_write_all
from ._common import add_arch_workload, console, load_arch_arg, load_workload_arg, split_arch_workload

NAME = "simulate"
HELP = "simulate a workload on an architecture; print cycles, utilization and energy"
ORDER = 10



def _cycles(text):
    import argparse
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of cycles, found {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"expected >= 0 cycles, found {v}")
    return v


def add_arguments(p):
    add_arch_workload(p)
    p.add_argument("--engine", choices=sorted(ENGINES), default=DEFAULT_ENGINE,
                   help="tlm (transaction-level, with contention and stall statistics; the default) or "
                        "analytic (vectorized, contention-free; for sweeps)")
    p.add_argument("--mapping", metavar="POLICY",
                   choices=("sequential", "resident", "pipelined", "replicate", "auto"),
                   help="how layers use the macros: sequential, resident, pipelined, replicate or auto "
                        "(default: the config's mapping.policy; docs/mapping.md)")
    p.add_argument("--quantum", metavar="CYCLES", type=_cycles, default=None,
                   help="tlm engine: temporal-decoupling quantum in cycles, 0 = strict lock-step "
                        "(default: the config's tlm.quantum_cycles)")
    p.add_argument("--no-contention", action="store_true",
                   help="tlm engine: no queueing on shared targets (reproduces the analytic schedule)")
    p.add_argument("--trace", metavar="PATH",
                   help="tlm engine: write a Chrome/Perfetto trace-event JSON (one track per block)")
    p.add_argument("--json", metavar="PATH", help="write every number and the resolved config as JSON")
    p.add_argument("--csv", metavar="DIR", help="write layers.csv and energy.csv into DIR")
    p.add_argument("--per-layer", action="store_true", help="also print energy per layer and event kind")
    p.add_argument("--quiet", "-q", action="store_true", help="print nothing (use with --json/--csv)")
    p.add_argument("--plot", metavar="DIR", help="draw the energy breakdown per layer (PNG, SVG) into DIR")
    p.add_argument("--activity-from", metavar="DATASET", choices=("mnist5k", "digits"),
                   help="measure each layer's input bit density on DATASET with the functional model")


def run(args) -> int:
    from .. import report
    args.arch, args.workload = split_arch_workload(args.arch, args.workload)
    arch = load_arch_arg(args.arch)
    wl = load_workload_arg(args.workload, arch)
    if getattr(args, "mapping", None):
        from ..mapper import with_policy
        arch = with_policy(arch, args.mapping)
    if args.engine != "tlm":
        for flag, given in (("--trace", args.trace), ("--quantum", args.quantum is not None),
                            ("--no-contention", args.no_contention)):
            if given:
                raise InputError(f"{flag} applies to the tlm engine only (not --engine {args.engine})",
                                 Where("<command line>"), flag)
    note = None
    if args.activity_from:
        from ..accuracy import measure_activity
        args.input_density, note = measure_activity(arch, wl, args.activity_from)
    try:
        result = ENGINES[args.engine](arch, wl, args)
    except RuntimeError as e:
        from ..engine.payload import TransactionError
        from ..engine.system import SimulationStalled
        if not isinstance(e, (SimulationStalled, TransactionError)):
            raise
        import sys
        print(f"error: {e}", file=sys.stderr)
        return 1
    if note:
        result.notes.append(note)
    outputs = []
    if args.json:
        outputs.append((Path(args.json), result.to_json()))
    if args.csv:
        outputs.append((Path(args.csv) / "layers.csv", report.layers_csv(result)))
        outputs.append((Path(args.csv) / "energy.csv", report.energy_csv(result)))
    atomic_write_all(outputs)  # all files or none
    if args.plot:
        from ..plots import run_plots
        from ..plots_mapping import mapping_plot
        run_plots(result, Path(args.plot))
        mapping_plot(result, Path(args.plot))
    if not args.quiet:
        con = console()
        con.print(report.summary_table(result))
        con.print(report.layer_table(result))
        from ..report_mapping import mapping_table
        mt = mapping_table(result)
        if mt is not None and (result.arch.macro.count > 1 or result.extra["mapping"]["policy"] != "sequential"):
            con.print(mt)
        con.print(report.energy_table(result))
        if result.extra.get("instances"):
            con.print(report.component_table(result))
        if args.per_layer:
            con.print(report.layer_energy_table(result))
        if result.notes:
            con.print(report.notes_text(result))
    return 0
