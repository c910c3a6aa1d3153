"""`tlm sweep`: evaluate the cartesian product of architecture and workload settings; one CSV row per
design point, optional plots.  See docs/sweeps.md and tlm/sweep.py."""
from __future__ import annotations

import argparse
import os
from pathlib import Path

from ..errors import InputError, Where
from ._common import add_arch_workload, console, load_arch_arg, load_workload_arg
from ..engines import ENGINES

NAME = "sweep"
HELP = "sweep architecture and workload settings (cartesian product); CSV of results and plots"
DESCRIPTION = (HELP + ".  Example: tlm sweep imagine resnet8 --set macro.count=1,2,4 "
               "--set precision.weight=1..8 -o sweep.csv --plot plots/")
ORDER = 30


def add_arguments(p):
    add_arch_workload(p)
    p.add_argument("--set", dest="sets", action="append", metavar="PATH=VALUES", default=[],
                   help="a swept field and its values: an architecture field by its YAML path "
                        "(macro.count=1,2,4) or a workload one (workload.precision.weight=1..8, short "
                        "precision.weight); values: comma lists, ranges a..b, numbers, true/false. "
                        "Repeat for more fields; --list shows every path")
    p.add_argument("--engine", choices=sorted(set(ENGINES) | {"analytic"}), default="analytic",
                   help="engine that evaluates each point (default: analytic)")
    p.add_argument("--workers", type=int, metavar="N",
                   help="local processes (default: in-process for the analytic engine, else the cores)")
    p.add_argument("--dask", metavar="ADDRESS", help="run the points on the Dask scheduler at ADDRESS "
                                                      "(e.g. tcp://10.0.0.1:8786; optional extra 'dask')")
    p.add_argument("-o", "--output", metavar="RESULTS.csv", help="the results file (one row per point)")
    p.add_argument("--resume", action="store_true",
                   help="keep the points already in RESULTS.csv and run only the others")
    p.add_argument("--plot", metavar="DIR", help="draw energy breakdown, efficiency vs precision and "
                                                 "Pareto plots (PNG and SVG) into DIR")
    p.add_argument("--list", action="store_true", help="list every path --set accepts and exit")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar and no summary")


def engine_args(engine: str):
    """The options `tlm simulate` would hand the engine by default, so both run a point alike."""
    from . import simulate
    p = argparse.ArgumentParser(add_help=False)
    simulate.add_arguments(p)
    ns = p.parse_args([])
    ns.engine, ns.quiet = engine, True
    return ns


def _list_paths(arch):
    from rich.table import Table

    from ..arch import Arch
    from ..schema import describe
    from ..sweep import ALIASES, WORKLOAD_PATHS, arch_leaves
    leaves = arch_leaves(arch.to_dict())
    t = Table(title="paths for --set", show_edge=False)
    for c in ("path", "value", "meaning"):
        t.add_column(c)
    for path, kind, doc, _default in describe(Arch):
        if kind != "section" and not isinstance(leaves.get(path), list):
            t.add_row(path, str(leaves.get(path, "")), doc)
    short = {v: k for k, v in ALIASES.items()}
    for path, doc in WORKLOAD_PATHS.items():
        t.add_row(path, "", doc + (f" (short: {short[path]})" if path in short else ""))
    console().print(t)
    return 0


def run(args) -> int:
    from .. import sweep
    arch = load_arch_arg(args.arch)
    if args.list:
        return _list_paths(arch)
    if not args.output:
        raise InputError("the results file is missing: give -o RESULTS.csv", Where("tlm sweep (command line)"))
    if args.workers is not None and args.workers < 1:
        raise InputError(f"expected at least 1, found {args.workers}", Where("--workers"))
    if args.engine not in ENGINES:
        raise InputError(f"engine '{args.engine}' is not available in this installation", Where("--engine"))
    if args.plot:
        from .. import plots
        plots.require()  # fail before the sweep, not after it
    settings = sweep.parse_settings(args.sets, arch)
    wl = load_workload_arg(args.workload)  # checked against each point's architecture and precisions
    job = sweep.Job(arch_dict=arch.to_dict(), workload=wl, settings=tuple(settings), engine=args.engine,
                    engine_args=engine_args(args.engine))
    workers = args.workers or (1 if args.engine == "analytic" else (os.cpu_count() or 1))
    out = Path(args.output)
    text, resumed = _run_with_progress(sweep, job, out, workers, args)
    con = console()
    if not args.quiet:
        table = sweep.read_table(text)
        con.print(_pareto_table(sweep, job, table))
        con.print(f"{job.n_points} design point(s) in {out}"
                  + (f" ({resumed} kept from the earlier run)" if resumed else ""))
    if args.plot:
        from .. import plots
        written = plots.sweep_plots(sweep.read_table(text), [s.path for s in job.settings], Path(args.plot))
        if not args.quiet:
            con.print("plots: " + ", ".join(str(p) for p in written))
    return 0


def _run_with_progress(sweep, job, out, workers, args):
    import sys

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, \
        TimeRemainingColumn
    progress = Progress(TextColumn("sweep"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        TextColumn("eta"), TimeRemainingColumn(), console=console(stderr=True),
                        disable=args.quiet or not sys.stderr.isatty(), transient=False)
    done = [0]
    with progress:
        task = progress.add_task("sweep", total=job.n_points)

        def advance(n):
            done[0] += n
            progress.update(task, advance=n)

        try:
            return sweep.run_sweep(job, out, workers=workers, dask=args.dask, resume=args.resume,
                                   advance=advance)
        except KeyboardInterrupt:
            print(f"{done[0]} of {job.n_points} points are in {out}; run again with --resume to finish",
                  file=sys.stderr)
            raise


def _pareto_table(sweep, job, table):
    from rich import box
    from rich.table import Table
    front = sweep.pareto_front(table["latency_ns"], table["energy_pj"])
    idx = sorted((i for i in range(len(front)) if front[i]), key=lambda i: table["latency_ns"][i])
    t = Table(title=f"Pareto front: energy vs latency ({len(idx)} of {len(front)} points)",
              box=box.SIMPLE_HEAVY)
    cols = [s.path for s in job.settings]
    for c in ["point", *cols, "latency (us)", "energy/inf (nJ)", "TOPS/W", "TOPS/mm2"]:
        t.add_column(c, justify="right")
    for i in idx[:20]:
        t.add_row(table["point"][i], *(table[c][i] for c in cols), f"{table['latency_ns'][i] / 1e3:.4g}",
                  f"{table['energy_pj'][i] / 1e3:.4g}", f"{table['tops_per_w'][i]:.4g}",
                  f"{table['tops_per_mm2'][i]:.4g}")
    if len(idx) > 20:
        t.caption = f"{len(idx) - 20} more in the CSV"
    return t
