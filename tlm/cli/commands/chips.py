"""`tlm chips`: every shipped published design (configs/ with a `published:` section) against its own
paper: each figure published and predicted, the error, the ops convention, and what each design fitted."""
from __future__ import annotations

from tlm.present.tables import Table
from tlm.cli.commands._common import console

NAME = "chips"
HELP = "compare every shipped published design with its paper's figures"
ORDER = 41


def add_arguments(p):
    p.add_argument("--normalize", choices=("1b",), default=None,
                   help="print every efficiency 1b-normalized (ops x input bits x weight bits)")
    p.add_argument("--json", metavar="PATH", help="write every design's figures (paper, model, error) and fitted "
                   "parameters as JSON ('-': standard output, nothing else printed)")


def designs_json(designs) -> dict:
    """Every design's figures, model values, errors and fitted parameters (`tlm chips --json`)."""
    return {"designs": [{"design": d.name, "citation": d.published.citation, "tolerance": d.published.tolerance,
                         "fitted": dict(d.fitted),
                         "figures": [{"key": r.figure.key, "conditions": r.figure.conditions(),
                                      "metric": r.figure.metric, "unit": r.figure.unit, "ops": r.figure.ops,
                                      "paper": r.figure.value, "model": r.model, "error": r.error} for r in d.rows]}
                        for d in designs]}


def _num(x: float) -> str:
    return f"{x:,.4g}" if abs(x) < 1e4 else f"{x:,.0f}"


def design_table(d, normalize=None) -> Table:
    from tlm.services import paper
    from tlm.cli.commands.paper import ops_label
    t = Table(title=f"{d.name}: {d.published.citation.split(',')[0]} et al., {d.arch.technology.node_nm}nm",
              box="SIMPLE_HEAVY", title_justify="left")
    for c, j in (("figure", "left"), ("in/w/out, V, MHz", "left"), ("unit", "left"), ("ops", "left"),
                 ("paper", "right"), ("model", "right"), ("error", "right")):
        t.add_column(c, justify=j)
    for r in d.rows:
        f = r.figure
        pv, conv = paper.converted(f, f.value, normalize)
        mv, _ = paper.converted(f, r.model, normalize)
        mark = "" if abs(r.error) <= d.published.tolerance else " (!)"
        t.add_row(f.key, f.conditions(), f.unit, ops_label(conv), _num(pv), _num(mv), f"{100 * r.error:+.1f}%{mark}")
    return t


def fitted_text(d) -> str:
    """Which parameters the design fitted, wrapped at 80 columns."""
    import textwrap
    from tlm.services import calibrate, paper
    if d.published.citation == paper.imagine_published().citation:
        vals = {p: calibrate.get(d.arch, p) for p in calibrate.FITTED}
        head = "fitted (the calibration design, tlm calibrate): "
    else:
        vals, head = d.fitted, "fitted: "
    body = ", ".join(f"{p} = {v:g}" for p, v in vals.items()) or "nothing"
    return textwrap.fill(f"{head}{body}; tolerance {d.published.tolerance:.0%}", 80, subsequent_indent="  ")


def area_table() -> Table:
    from tlm.services import chips
    t = Table(title="macro area by part (tlm/hw/area.py), mm2", box="SIMPLE_HEAVY", title_justify="left")
    for c in ("design", "cells", "periphery", "DACs", "ADCs", "1 ADC, um2", "macro"):
        t.add_column(c, justify="left" if c == "design" else "right")
    for name, *v in chips.area_rows():
        t.add_row(name, *[f"{x:.4g}" for x in v])
    return t


def run(args) -> int:
    from tlm import api
    if args.json:
        from tlm.present.outputs import check_output_paths
        check_output_paths("chips", {"--json": args.json}, {})  # before any work
    designs = api.chips()
    if args.json:
        import json

        from tlm.config.yamlio import atomic_write
        atomic_write(args.json, json.dumps(designs_json(designs), indent=1, allow_nan=False) + "\n")
        if args.json == "-":
            return 0  # standard output holds the JSON only
    con = console()
    for d in designs:
        con.print(design_table(d, args.normalize))
        con.print(fitted_text(d) + "\n")
    con.print(area_table())
    con.print("error = model / paper - 1; (!) outside the design's tolerance.\n"
              "ops: raw = 2 per MAC at the stated precision, 1b-norm = x input bits x weight bits.\n"
              "Sources, conditions and fitted parameters: each config's published: section.")
    return 0
