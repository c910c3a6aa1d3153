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
    p.add_argument("--activity-from", metavar="NAME|FILE.npz",
                   help="measure each layer's input bit density (per bit-plane, per image) on a dataset "
                        "(mnist5k, digits, or an .npz with 'images' and 'labels') with the functional model")
    p.add_argument("--functional", action="store_true",
                   help="tlm engine: run real images through the blocks (DPs, noise, ABN, clipping); print "
                        "predictions and accuracy next to cycles and energy, measured activity in the energy")
    p.add_argument("--dataset", metavar="NAME|FILE.npz", default="mnist5k",
                   help="--functional: test images (mnist5k, digits, or an .npz; default mnist5k)")
    p.add_argument("--images", type=int, metavar="N", default=10,
                   help="--functional: images in the run, one batch (default 10)")
    p.add_argument("--seed", type=int, default=0, help="--functional: seed of the noise (default 0)")


def run(args) -> int:
    from .. import report
    args.arch, args.workload = split_arch_workload(args.arch, args.workload)
    arch = load_arch_arg(args.arch)
    wl = load_workload_arg(args.workload, arch)
    if args.engine != "tlm":
        for flag, given in (("--trace", args.trace), ("--quantum", args.quantum is not None),
                            ("--no-contention", args.no_contention)):
            if given:
                raise InputError(f"{flag} applies to the tlm engine only (not --engine {args.engine})",
                                 Where("<command line>"), flag)
    note = None
    if args.activity_from:
        from ..accuracy import activity_note
        args.input_density, note = activity_note(arch, wl, args.activity_from)
    if args.functional and (args.engine != "tlm" or args.activity_from):
        raise InputError("--functional runs the tlm engine on the data itself (not with --engine analytic or "
                         "--activity-from)", Where("<command line>"), "--functional")
    fun = None
    try:
        if args.functional:
            from ..accuracy import functional_run
            from ..paths import resolve
            from ._common import DEFAULT_WORKLOAD as DW
            fun = functional_run(arch, wl, resolve(args.workload, "workloads", DW), args.dataset, args.images,
                                 args.seed, quantum_cycles=args.quantum, trace=args.trace,
                                 contention=False if args.no_contention else None, progress=not args.quiet)
            result = fun.result
        else:
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
        run_plots(result, Path(args.plot))
    if not args.quiet:
        con = console()
        con.print(report.summary_table(result))
        con.print(report.layer_table(result))
        con.print(report.energy_table(result))
        if result.extra.get("instances"):
            con.print(report.component_table(result))
        if args.per_layer:
            con.print(report.layer_energy_table(result))
        if result.notes:
            con.print(report.notes_text(result))
        if fun is not None:
            shown = " ".join(str(int(v)) for v in fun.predictions[:20])
            more = f" ... ({len(fun.predictions)} in all)" if len(fun.predictions) > 20 else ""
            con.print(f"predictions: {shown}{more}")
            con.print(f"labels:      {' '.join(str(int(v)) for v in fun.labels[:20])}{more}")
            con.print(f"accuracy: {100 * fun.accuracy:.2f}% of {len(fun.labels)} images")
    return 0
