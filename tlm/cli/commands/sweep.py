"""`tlm sweep`: evaluate the cartesian product of architecture and workload settings; one CSV row per
design point, a console table, optional plots.  See docs/sweeps.md and the package tlm/services/sweep/."""
from __future__ import annotations

import os
import sys
from pathlib import Path

from tlm.errors import InputError, Where
from tlm.cli.commands._common import add_arch_workload, console, load_arch_arg, load_workload_arg
from tlm.engines.registry import ENGINES

NAME = "sweep"
HELP = "sweep architecture and workload settings (cartesian product); CSV of results and plots"
DESCRIPTION = (HELP + ".  Example: tlm sweep imagine resnet8 --set macro.count=1,2,4 "
               "--set precision.weight=1..8 -o sweep.csv --plot plots/")
DEFAULT_OUTPUT = "sweep.csv"
DEFAULT_TOP = 20
ORDER = 30


def add_arguments(p):
    from tlm.services.sweep.pareto import OBJECTIVES
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
    p.add_argument("-o", "--output", metavar="RESULTS.csv", default=DEFAULT_OUTPUT,
                   help=f"the results file, one row per point (default: {DEFAULT_OUTPUT} in the current folder)")
    p.add_argument("--resume", action="store_true",
                   help="keep the points already in RESULTS.csv and run only the others")
    p.add_argument("--top", type=int, metavar="N", default=DEFAULT_TOP,
                   help=f"the console table shows every point when there are at most N, else the best N for "
                        f"--objective (default: {DEFAULT_TOP}; 0: every point)")
    p.add_argument("--objective", choices=list(OBJECTIVES), default="energy",
                   help="what 'best' means in the console table: " + "; ".join(
                       f"{k}: {v[2]}" for k, v in OBJECTIVES.items()) + " (default: energy)")
    p.add_argument("--plot", metavar="DIR", help="draw energy breakdown, efficiency vs precision, "
                                                 "Pareto (one front per batch size) and latency plots "
                                                 "(PNG and SVG) into DIR")
    p.add_argument("--plot-x", metavar="COLUMN", help="with --plot: also plot --plot-y against this swept "
                                                      "field or result column (default: the first swept architecture field)")
    p.add_argument("--plot-y", metavar="COLUMN", help="with --plot: the y axis of that plot, a result column "
                                                      "or swept field (default: latency_per_batch_ns)")
    p.add_argument("--pareto", metavar="X,Y", help="with --plot: also a Pareto front of Y against X, two "
                                                   "result columns or swept fields (e.g. area_mm2,"
                                                   "inferences_per_s); rates and efficiencies count as "
                                                   "higher-is-better (default front: latency_per_batch_ns,"
                                                   "energy_per_inference_pj)")
    p.add_argument("--stop-on-error", action="store_true",
                   help="stop at the first point the engine refuses or fails on (exit 2, the point named); "
                        "by default such a point is a row with its reason in the status column and the "
                        "sweep goes on")
    p.add_argument("--list", action="store_true", help="list every path --set accepts and exit")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar and no summary")


def engine_args(engine: str):
    """The options `tlm simulate` hands the engine by default, so both run a point alike (tlm.api)."""
    from tlm.api import engine_options
    return engine_options(engine)


def _list_paths(arch):
    from tlm.config.arch import Arch
    from tlm.config.schema import describe
    from tlm.config.overrides import ALIASES, WORKLOAD_PATHS, arch_leaves
    from tlm.present.tables import Table
    leaves = arch_leaves(arch.to_dict())
    t = Table(title="paths for --set", show_edge=False, box="HEAVY_HEAD")
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
    from tlm.services import sweep
    arch = load_arch_arg(args.arch)
    if args.list:
        return _list_paths(arch)
    if not args.output:
        raise InputError("the results file is empty: give -o RESULTS.csv", Where("--output"))
    from tlm.services.parallel import MAX_WORKERS
    if args.workers is not None and not 1 <= args.workers <= MAX_WORKERS:
        raise InputError(f"expected 1 to {MAX_WORKERS} local processes, found {args.workers}", Where("--workers"))
    if args.top < 0:
        raise InputError(f"expected 0 (every point) or more, found {args.top}", Where("--top"))
    if args.engine not in ENGINES:
        raise InputError(f"engine '{args.engine}' is not available in this installation", Where("--engine"))
    if (args.plot_x or args.plot_y or args.pareto) and not args.plot:
        raise InputError("needs --plot DIR", Where("--plot-x" if args.plot_x else "--plot-y" if args.plot_y
                                                   else "--pareto"))
    settings = sweep.parse_settings(args.sets, arch)
    paths = [s.path for s in settings]
    plot_x = plot_y = pareto = None
    if args.plot:
        from tlm.present import plots
        plots.require()  # fail before the sweep, not after it
        if args.plot_x:
            plot_x = plots.plot_column(args.plot_x, paths, Where("--plot-x"))
        if args.plot_y:
            plot_y = plots.plot_column(args.plot_y, paths, Where("--plot-y"))
        if args.pareto:
            axes = [a for a in args.pareto.split(",")]
            if len(axes) != 2:
                raise InputError(f"expected two columns X,Y, found '{args.pareto}'", Where("--pareto"))
            pareto = tuple(plots.plot_column(a, paths, Where("--pareto")) for a in axes)
    wl = load_workload_arg(args.workload)  # checked against each point's architecture and precisions
    workers = args.workers or (1 if args.engine == "analytic" else (os.cpu_count() or 1))
    out = Path(args.output)
    if args.dask:
        _quiet_dask_logs()
    res = _run_with_progress(arch, wl, out, workers, args)
    text, resumed = res.csv, res.resumed
    con = console()
    table = sweep.read_table(text, ok_only=True)  # the points with numbers (the others: `failed`)
    failed = _failed(sweep.read_table(text), paths)
    if not args.quiet:
        width = con.width if sys.stdout.isatty() else 80  # a pipe or file: what an 80-column reader sees
        if len(table["point"]):
            con.print(points_table(table, paths, args.objective, args.top, width))
        con.print(f"{res.n_points} design point(s) written to {out}"
                  + (f" ({resumed} kept from the earlier run)" if resumed else ""))
        if failed:
            con.print(f"{len(failed)} of them without numbers (infeasible or failed; why: the status column):")
        for line in failed[:3]:
            con.print(f"  {line}", soft_wrap=True, markup=False)
        if len(failed) > 3:
            con.print(f"  ... and {len(failed) - 3} more", markup=False)
    if args.plot and len(table["point"]):
        from tlm.present import plots
        written = plots.sweep_plots(table, paths, Path(args.plot), x=plot_x, y=plot_y, pareto=pareto)
        if not args.quiet:
            stems = list(dict.fromkeys(p.stem for p in written))
            con.print(f"{len(written)} plot files (PNG and SVG) in {args.plot}: {', '.join(stems)}")
    return 0


def _failed(table, paths) -> list:
    """One line per point without numbers: its number, settings and status."""
    out = []
    for k, st in enumerate(table.get("status", [])):
        if st != "ok":
            point = ", ".join(f"{p}={table[p][k]}" for p in paths)
            out.append(f"point {table['point'][k]} ({point}): {st}")
    return out


def _quiet_dask_logs():
    """A lost scheduler is reported in one line by the sweep, not by distributed's reconnect logs."""
    import logging
    logging.getLogger("distributed").setLevel(logging.CRITICAL)


def _run_with_progress(arch, wl, out, workers, args):
    import signal
    import sys
    import threading

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, \
        TimeRemainingColumn

    from tlm import api
    progress = Progress(TextColumn("sweep"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        TextColumn("eta"), TimeRemainingColumn(), console=console(stderr=True),
                        disable=args.quiet or not sys.stderr.isatty(), transient=False)
    done = [0, None]

    def terminated(signum, frame):  # SIGTERM: stop like Ctrl-C (workers stopped, whole rows kept)
        raise KeyboardInterrupt

    old = None
    if threading.current_thread() is threading.main_thread():
        old = signal.signal(signal.SIGTERM, terminated)
    try:
        with progress:
            task = progress.add_task("sweep", total=None)

            def advance(n_done, total):
                done[:] = [n_done, total]
                progress.update(task, completed=n_done, total=total)

            try:
                return api.sweep(arch, wl, args.sets, engine=args.engine, out=out, workers=workers, dask=args.dask,
                                 resume=args.resume, on_progress=advance, stop_on_error=args.stop_on_error)
            except KeyboardInterrupt:
                print(f"{done[0]} of {done[1]} points are in {out}; run again with --resume to finish",
                      file=sys.stderr)
                raise
    finally:
        if old is not None:
            signal.signal(signal.SIGTERM, old)


# ---- the console table ---------------------------------------------------------------------------------
def _num(v: float) -> str:
    """One format: 4 significant digits, whole numbers from 1,000 up, thousands always separated; never
    in e-notation below 10^15."""
    if v != v or v in (float("inf"), float("-inf")):
        return str(v)
    if abs(v) >= 1e3:
        return f"{v:,.0f}"
    return f"{v:.4g}"


VALUE_COLUMNS = (  # header (lines), stacked label, result column, scale
    ("latency/\nbatch\n(us)", "us/batch", "latency_per_batch_ns", 1e-3),
    ("latency/\nimage\n(us)", "us/image", "image_latency_ns", 1e-3),
    ("energy/\ninference\n(nJ)", "nJ/inference", "energy_per_inference_pj", 1e-3),
    ("TOPS/W", "TOPS/W", "tops_per_w", 1.0),
    ("TOPS/mm2", "TOPS/mm2", "tops_per_mm2", 1.0),
)


def value_columns(table) -> tuple:
    """VALUE_COLUMNS, without the latency of one image when every point runs one image (the batch's)."""
    one = all(float(b) == 1 for b in table["batch"])
    return tuple(v for v in VALUE_COLUMNS if not (one and v[2] == "image_latency_ns"))


def points_table(table, paths, objective="energy", top=DEFAULT_TOP, width=80):
    from tlm.services.sweep.pareto import OBJECTIVES
    """Every point (at most `top`) or the best `top` for `objective`, with the Pareto front of each batch
    size marked; a table that fits `width` columns with every number whole, else a stacked list."""
    from rich.console import Console, Group
    from rich.text import Text

    from tlm.services import sweep
    n = len(table["point"])
    front = sweep.pareto_by_batch(table)
    if top == 0 or n <= top:
        idx = list(range(n))
        title = f"all {n} design points"
    else:
        idx = sweep.best(table, objective, top)
        title = f"best {top} of {n} design points: {OBJECTIVES[objective][2]}"
    batches = len(set(table["batch"].tolist()))
    note = (f"* on the energy/latency Pareto front{' of its batch size' if batches > 1 else ''} "
            f"({int(front.sum())} of {n} points); TOPS count raw ops (2 per MAC)")
    measure = Console(width=10_000, file=None, color_system=None)
    for headers in ("dotted", "short"):
        t = _table(table, paths, idx, front, title, note, headers)
        if measure.measure(t).minimum <= width:
            return t
    lines = [*_pack(title.split(" "), width, "", 1), ""]
    for i in idx:
        lines += _pack([f"point {table['point'][i]}{' *' if front[i] else ''}:",
                        *(f"{p}={table[p][i]}" for p in paths)], width, "", 2)
        lines += _pack([table["policy"][i], *(f"{_num(table[c][i] * k)} {u}" for _, u, c, k in value_columns(table))],
                       width, "    ", 3)
    lines += ["", *_pack(note.split(" "), width, "", 1)]
    return Group(*(Text(line, no_wrap=True, overflow="ignore") for line in lines))


def _pack(tokens, width, indent, gap, cont="    "):
    """Tokens joined by `gap` spaces into lines of at most `width` columns (continued lines indented by
    `cont`); a token is never split."""
    lines, cur = [], indent
    for tok in tokens:
        if cur.strip() and len(cur) + gap + len(tok) > width:
            lines.append(cur)
            cur = indent or cont
        cur += (" " * gap if cur.strip() else "") + tok
    lines.append(cur)
    return lines


def _table(table, paths, idx, front, title, note, headers):
    from rich import box
    from rich.table import Table
    t = Table(title=title, caption=note, box=box.SIMPLE_HEAVY, collapse_padding=True, pad_edge=False,
              title_justify="left", caption_justify="left")
    t.add_column("point", justify="right", no_wrap=True)
    t.add_column("", no_wrap=True)  # the front mark
    if headers == "dotted":
        names = [p.replace(".", ".\n") for p in paths]
    else:
        names = [p.rsplit(".", 1)[-1] for p in paths]
        if len(set(names)) < len(names):
            names = [p.replace(".", ".\n") for p in paths]
    for name in names:
        t.add_column(name, justify="right", no_wrap=True)
    t.add_column("policy", no_wrap=True)  # the one run (auto's choice)
    cols = value_columns(table)
    for h, _, _, _ in cols:
        t.add_column(h, justify="right", no_wrap=True)
    for i in idx:
        t.add_row(table["point"][i], "*" if front[i] else "", *(table[p][i] for p in paths), table["policy"][i],
                  *(_num(table[c][i] * k) for _, _, c, k in cols))
    return t
