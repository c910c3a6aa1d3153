"""`tlm simulate`: run a workload on an architecture and print summary, per-layer and energy tables."""
from __future__ import annotations

from pathlib import Path

from tlm.mapping.policies import POLICIES
from tlm.engines.registry import DEFAULT_ENGINE, ENGINES  # noqa: F401 (the registry: tlm/engines/registry.py)
from tlm.errors import InputError, Where
from tlm.config.yamlio import atomic_write_all
from tlm.cli.commands._common import add_arch_workload, add_set, console, load_arch_arg, load_workload_arg, split_arch_workload

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
    add_set(p)
    p.add_argument("--engine", choices=sorted(ENGINES), default=DEFAULT_ENGINE,
                   help="tlm (transaction-level, with contention and stall statistics; the default) or "
                        "analytic (vectorized, contention-free; for sweeps)")
    p.add_argument("--mapping", metavar="POLICY",
                   choices=POLICIES,
                   help="how layers use the macros: sequential, resident, pipelined, replicate or auto "
                        "(default: the config's mapping.policy; docs/mapping.md)")
    p.add_argument("--quantum", metavar="CYCLES", type=_cycles, default=None,
                   help="tlm engine: temporal-decoupling quantum in cycles, 0 = strict lock-step "
                        "(default: the config's tlm.quantum_cycles)")
    p.add_argument("--no-contention", action="store_true",
                   help="tlm engine: no queueing on shared targets (reproduces the analytic schedule)")
    p.add_argument("--trace", metavar="PATH", nargs="?", const=True,
                   help="tlm engine: write a Chrome/Perfetto trace-event JSON (one track per block); "
                        "with -o and no PATH: DIR/trace.json")
    p.add_argument("-o", "--out", metavar="DIR",
                   help="write every output into DIR: config.yaml, workload.yaml, stats.json, summary.csv, layers.csv, "
                        "energy.csv, blocks.csv, manifest.json (and the trace and plots when asked)")
    p.add_argument("--json", metavar="PATH", help="write every number and the resolved config as JSON")
    p.add_argument("--csv", metavar="DIR", help="write summary.csv, layers.csv, energy.csv and blocks.csv into DIR")
    p.add_argument("--normalize", choices=("1b",), default=None,
                   help="print the efficiencies 1b-normalized (2 x input bits x weight bits ops per MAC) instead "
                        "of raw (2 ops per MAC at the layers' precisions); the JSON has both")
    p.add_argument("--per-layer", action="store_true", help="also print energy per layer and event kind")
    p.add_argument("--quiet", "-q", action="store_true", help="print nothing (use with --json/--csv)")
    p.add_argument("--verbose", "-v", action="store_true",
                   help="print every note (default: one line per kind of note, with a count)")
    p.add_argument("--plot", metavar="DIR", nargs="?", const=True,
                   help="draw the energy breakdown per layer (PNG, SVG) into DIR; with -o and no DIR: DIR/plots")
    p.add_argument("--activity-from", metavar="NAME|FILE.npz",
                   help="measure each layer's input bit density (per bit-plane, per image) on a dataset "
                        "(mnist5k, digits, or an .npz with 'images' and 'labels') with the functional model")
    p.add_argument("--functional", action="store_true",
                   help="tlm engine: run real images through the blocks (DPs, noise, ABN, clipping); print "
                        "predictions and accuracy next to cycles and energy, measured activity in the energy")
    p.add_argument("--dataset", metavar="NAME|FILE.npz", default="mnist5k",
                   help="--functional: test images (mnist5k, digits, or an .npz; default mnist5k)")
    p.add_argument("--images", type=int, metavar="N", default=10,
                   help="--functional: images in the run, one batch, a seeded class-balanced sample (default 10)")
    p.add_argument("--seed", type=int, default=0, help="--functional: seed of the noise (default 0)")


def _flag_paths(args):
    """--trace / --plot without a path go into the -o folder; without -o they need one."""
    for flag in ("trace", "plot"):
        if getattr(args, flag) is True and not args.out:
            raise InputError(f"--{flag} needs a path unless -o DIR is given", Where("<command line>"), f"--{flag}")


def _check_activity_data(dataset, wl):
    """--activity-from measures bit densities on images the network takes (tlm.api.check_activity_data)."""
    from tlm.api import check_activity_data
    check_activity_data(dataset, wl)


def run(args) -> int:
    import contextlib

    _flag_paths(args)
    if args.json or args.trace or args.csv or args.plot or args.out:  # (else nothing to check, nothing to load)
        from tlm.present.outputs import check_output_paths
        real = lambda v: None if v is True else v  # noqa: E731  (True: into the -o folder)
        check_output_paths("simulate", {"--json": args.json, "--trace": real(args.trace)},
                           {"--csv": (args.csv, ("summary.csv", "layers.csv", "energy.csv", "blocks.csv")),
                            "--plot": (real(args.plot), ("run_energy.png", "run_energy.svg")),
                            "-o": (args.out, ())})  # before any work
    arch, wl = _inputs(args)
    with contextlib.ExitStack() as stack:
        scratch = None  # a folder for the trace and plots that join the -o folder's set of files
        if args.out and (args.trace is True or args.plot is True):
            from tlm.present.outputs import scratch_folder
            scratch = scratch_folder(stack, "tlm-run-")  # removed on SIGTERM too; one line when none can be made
        trace_to = str(scratch / "trace.json") if args.out and args.trace is True else args.trace
        try:
            result, fun = _simulate(args, arch, wl, trace_to)
        except RuntimeError as e:
            from tlm.engines.transaction.payload import TransactionError
            from tlm.engines.transaction.system import SimulationStalled
            if not isinstance(e, (SimulationStalled, TransactionError)):
                raise
            import sys
            print(f"error: {e}", file=sys.stderr)
            return 1
        outputs, folder, plot_dir = _files(args, result, scratch, trace_to)
        atomic_write_all(outputs)  # all files or none
    if plot_dir:
        from tlm.present.plots import run_plots
        from tlm.present.plots_mapping import mapping_plot
        run_plots(result, Path(plot_dir))
        mapping_plot(result, Path(plot_dir))
    if not args.quiet:
        _print(args, result, fun, folder)
    return 0


def _inputs(args):
    """(arch, workload) from the command line, the flag combinations checked (--set, --mapping and the
    engine's options are applied and checked by tlm.api.simulate)."""
    args.arch, args.workload = split_arch_workload(args.arch, args.workload)
    arch = load_arch_arg(args.arch)
    wl = load_workload_arg(args.workload, arch)
    if args.functional and (args.engine != "tlm" or args.activity_from):
        raise InputError("--functional runs the tlm engine on the data itself (not with --engine analytic or "
                         "--activity-from)", Where("<command line>"), "--functional")
    if args.activity_from:
        _check_activity_data(args.activity_from, wl)  # before any work (--set does not change the shape)
    return arch, wl


def _simulate(args, arch, wl, trace_to):
    """(Result, the functional run or None): tlm.api.simulate, or the images through the blocks."""
    from tlm import api
    opts = dict(overrides=args.set, mapping=args.mapping, quantum=args.quantum, contention=not args.no_contention,
                trace=trace_to, progress=not args.quiet)
    if not args.functional:
        return api.simulate(arch, wl, engine=args.engine, activity_from=args.activity_from, **opts), None
    fun = api.simulate_functional(arch, wl, dataset=args.dataset, images=args.images, seed=args.seed, **opts)
    return fun.result, fun


def _files(args, result, scratch, trace_to):
    """(files to write as (path, data), the -o folder's files, where to draw plots afterwards)."""
    from tlm.config.paths import DEFAULT_ARCH, DEFAULT_WORKLOAD, resolve
    outputs, folder = [], []
    if args.json or args.out:
        from tlm.present import outdir
        inputs = outdir.input_files(resolve(args.arch, "configs", DEFAULT_ARCH),
                                    resolve(args.workload, "workloads", DEFAULT_WORKLOAD))
    if args.json:
        outputs.append((Path(args.json), result.to_json(inputs)))
    if args.csv:
        from tlm.present import outdir
        for name, text in (("summary.csv", outdir.summary_csv(result)), ("layers.csv", outdir.layers_csv(result)),
                           ("energy.csv", outdir.energy_csv(result)), ("blocks.csv", outdir.blocks_csv(result))):
            outputs.append((Path(args.csv) / name, text))
    plot_dir = args.plot
    if args.out:
        extra = {}
        if args.trace is True:
            extra["trace.json"] = Path(trace_to).read_bytes()
        if args.plot is True:  # drawn now, written with the others
            from tlm.present.plots import run_plots
            run_plots(result, scratch / "plots")
            extra.update({f"plots/{k}": v for k, v in outdir.collect(scratch / "plots").items()})
            plot_dir = None
        argv = list(getattr(args, "argv", None) or ["simulate"])
        folder = outdir.files(result, inputs, argv, extra)
        outdir.check_targets(Path(args.out) / name for name, _ in folder)
        outputs += [(Path(args.out) / name, data) for name, data in folder]
    return outputs, folder, plot_dir


def _print(args, result, fun, folder) -> None:
    from tlm.present import report
    from tlm.present.report_mapping import mapping_table
    con = console()
    con.print(report.summary_table(result, args.normalize))
    con.print(report.layer_table(result))
    mt = mapping_table(result)
    if mt is not None and (result.arch.macro.count > 1 or result.extra["mapping"]["policy"] != "sequential"):
        con.print(mt)
    con.print(report.energy_table(result))
    if result.extra.get("instances"):
        con.print(report.component_table(result))
    if args.per_layer:
        con.print(report.layer_energy_table(result))
    if result.notes:
        con.print(report.notes_text(result, verbose=args.verbose))
    if args.out:
        con.print(f"wrote {len(folder)} files into {args.out}/ (manifest.json lists them)")
    if fun is not None:
        shown = " ".join(str(int(v)) for v in fun.predictions[:20])
        more = f" ... ({len(fun.predictions)} in all)" if len(fun.predictions) > 20 else ""
        con.print(f"predictions: {shown}{more}")
        con.print(f"labels:      {' '.join(str(int(v)) for v in fun.labels[:20])}{more}")
        con.print(f"accuracy: {100 * fun.accuracy:.2f}% of {len(fun.labels)} images")
