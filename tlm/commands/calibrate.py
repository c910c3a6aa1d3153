"""`tlm calibrate`: fit an architecture's free parameters to the IMAGINE paper's figures, print the fit,
and optionally write the config with the fitted values (comments kept)."""
from __future__ import annotations

from pathlib import Path

from ..paths import DEFAULT_ARCH, resolve
from ..tables import Table
from ..yamlio import atomic_write, read_text
from ._common import add_arch_workload, console, load_arch_arg

NAME = "calibrate"
HELP = "fit the [fitted] parameters of an architecture to the IMAGINE paper's figures"
ORDER = 45


def add_arguments(p):
    add_arch_workload(p, workload=False)
    p.add_argument("--write", metavar="PATH", help="write the architecture file with the fitted values "
                                                   "to PATH (may be the same file; comments are kept)")


def fit_table(fit) -> Table:
    t = Table(title="calibration (each step: least squares on the simulated figures)")
    for c, j in (("step", "left"), ("parameter", "left"), ("before", "right"), ("least squares", "right"),
                 ("written", "right"), ("fits", "left")):
        t.add_column(c, justify=j)
    for s in fit.steps:
        for i, p in enumerate(s.step.params):
            t.add_row(s.step.name if i == 0 else "", p, f"{s.before[p]:.6g}", f"{s.exact[p]:.6g}",
                      f"{s.after[p]:.6g}", ", ".join(s.step.figures) if i == 0 else "")
    return t


def run(args) -> int:
    from .. import calibrate, paper
    from .paper import comparison_table
    path = resolve(args.arch, "configs", DEFAULT_ARCH)
    arch = load_arch_arg(args.arch)
    paper.check_runnable(arch, str(path))
    fit = calibrate.fit(arch, str(path))
    con = console()
    con.print(fit_table(fit))
    con.print(comparison_table(fit.arch))
    if args.write:
        text = calibrate.substitute(read_text(path, "architecture file"), fit.values, str(path))
        calibrate.check_substituted(text, fit.values, str(args.write))
        atomic_write(Path(args.write), text)
        con.print(f"wrote {args.write}")
    return 0
