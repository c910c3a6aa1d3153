"""`tlm calibrate`: the values an architecture's circuit derives (or, for a design naming its own
`published.fitted`, their fit), optionally written into its config (comments kept); `--global` fits the
circuit model's global constants over every shipped published design."""
from __future__ import annotations

from tlm.present.tables import Table
from tlm.cli.commands._common import add_arch_workload, console

NAME = "calibrate"
HELP = ("the parameters an architecture's circuit derives (--global: fit the circuit model's constants over the "
        "shipped designs)")
ORDER = 45


def add_arguments(p):
    add_arch_workload(p, workload=False)
    p.add_argument("--write", metavar="PATH", help="write the architecture file with the derived (or fitted) "
                                                   "values to PATH (may be the same file; comments are kept; an "
                                                   "extends: still names the same base from PATH's folder)")
    p.add_argument("--global", dest="global_fit", action="store_true",
                   help="fit the global constants of the circuit model (tlm/hw/constants.py) once over every "
                        "shipped published design and print every design's figures with them")
    p.add_argument("--write-global", action="store_true",
                   help="with --global: write the fitted constants into tlm/hw/constants.py and the values "
                        "they derive into every shipped config whose circuit is derived")


def derived_table(arch, written: dict, fom: float) -> Table:
    """The derived values next to the file's (`fom`: the converter's fJ per conversion step)."""
    from tlm.services import calibrate
    from tlm.hw.technology_table import CONVERTERS
    env = CONVERTERS["walden_fj_per_step_cim"]
    t = Table(title=f"'{arch.name}': engine parameters derived from its circuit (tlm/hw/circuit.py)",
              caption="derived from circuit:, the node's technology table and the global constants "
                      "(tlm/hw/constants.py); no parameter of this design is fitted; * differs from the file.  "
                      f"Its converter: {fom:.3g} fJ per conversion step (Walden), survey span "
                      f"{env.lo:g}-{env.hi:g} (Murmann)")
    for c, j in (("parameter", "left"), ("in the file", "right"), ("derived", "right")):
        t.add_column(c, justify=j)
    for p, v in written.items():
        old = calibrate.get(arch, p)
        t.add_row(p, f"{old:.6g}", f"{v:.6g}" + ("" if float(old) == float(v) else " *"))
    return t


def published_fit_table(fit) -> Table:
    t = Table(title="fit of the design's own parameters (least squares on the log errors of all its figures)")
    for c, j in (("parameter", "left"), ("before", "right"), ("fitted", "right")):
        t.add_column(c, justify=j)
    for p in fit.params:
        t.add_row(p, f"{fit.before[p]:.6g}", f"{fit.after[p]:.6g}")
    return t


def run(args) -> int:
    from tlm import api
    from tlm.cli.commands.paper import comparison_table
    if args.global_fit:
        return run_global(args)
    res = api.calibrate(args.arch, write=args.write)
    con = console()
    if res.fit is not None:  # a design naming parameters of its own
        con.print(published_fit_table(res.fit))
    else:
        con.print(derived_table(res.arch, res.values, res.walden_fj))
    con.print(comparison_table(res.calibrated, res.published, None, res.rows))
    if res.written is not None:
        con.print(f"wrote {args.write}")
    return 0


def constants_table(before: dict, after: dict) -> Table:
    from tlm.hw import constants as hw_const
    t = Table(title="global constants of the circuit model (tlm/hw/constants.py), fitted over every shipped "
                    "published design", caption="(!) at an end of its published range")
    for c, j in (("constant", "left"), ("unit", "left"), ("before", "right"), ("fitted", "right"),
                 ("published range", "right")):
        t.add_column(c, justify=j)
    for c in hw_const.CONSTANTS:
        v = after[c.name]
        edge = " (!)" if min(abs(v / c.lo - 1), abs(v / c.hi - 1)) < 1e-3 else ""
        t.add_row(c.name, c.unit, f"{before[c.name]:.4g}", f"{v:.4g}{edge}", f"{c.lo:g}-{c.hi:g}")
    return t


def run_global(args) -> int:
    from tlm import api
    from tlm.cli.commands.chips import loo_tables
    fit = api.calibrate_global(write=args.write_global)
    con = console()
    con.print(constants_table(fit.before, fit.after))
    con.print(loo_tables(fit.rows, None)[0])
    for f in fit.written:
        con.print(f"wrote {f}")
    return 0
