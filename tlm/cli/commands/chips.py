"""`tlm chips [FILE...]`: every shipped published design (configs/ with a `published:` section), or the
given files, against its own paper: each figure published and predicted, the error, the ops convention;
`--loo` also the leave-one-design-out test of the circuit model's global constants."""
from __future__ import annotations

from tlm.present.tables import Table
from tlm.cli.commands._common import console

NAME = "chips"
HELP = "compare published designs (the shipped ones, or FILEs) with their papers' figures"
ORDER = 41


def add_arguments(p):
    p.add_argument("files", nargs="*", metavar="FILE",
                   help="architecture files with a published: section (default: every shipped one)")
    p.add_argument("--loo", action="store_true",
                   help="also refit the global constants with each shipped design left out and predict it "
                        "(both tables: in-sample and left out)")
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


def _err(f, e: float) -> str:
    from tlm.services import paper
    return f"{100 * e:+.1f} pt" if f.metric in paper.SHARE_METRICS else f"{100 * e:+.1f}%"


def design_table(d, normalize=None) -> Table:
    from tlm.services import paper
    from tlm.cli.commands.paper import ops_label
    t = Table(title=f"{d.name}: {d.published.citation.split(',')[0]} et al., {d.arch.technology.node_nm}nm",
              box="SIMPLE_HEAVY", title_justify="left")
    for c, j in (("figure", "left"), ("in/w/out, V", "left"), ("unit", "left"), ("ops", "left"),
                 ("paper", "right"), ("model", "right"), ("error", "right")):
        t.add_column(c, justify=j)
    for r in d.rows:
        f = r.figure
        pv, conv = paper.converted(f, f.value, normalize)
        mv, _ = paper.converted(f, r.model, normalize)
        tol = 0.10 if f.metric in paper.SHARE_METRICS else d.published.tolerance
        mark = "" if abs(r.error) <= tol else " (!)"
        t.add_row(f.key, f.conditions(), f.unit, ops_label(conv), _num(pv), _num(mv), _err(f, r.error) + mark)
    return t


def fitted_text(d) -> str:
    """Where the design's values come from, wrapped at 80 columns."""
    import textwrap
    if d.arch.circuit.derive:
        body = "derived from its circuit and the global constants (no parameter of its own)"
    else:
        body = "fitted: " + (", ".join(f"{p} = {v:g}" for p, v in d.fitted.items()) or "nothing")
    return textwrap.fill(f"{body}; tolerance {d.published.tolerance:.0%}", 80, subsequent_indent="  ")


def loo_tables(in_sample: dict, left_out: dict | None, summary: dict | None = None) -> tuple:
    """(per-figure table, summary table or None) of the leave-one-design-out test: each figure's error
    with the shipped constants (in-sample) and with constants fitted without its design (left out);
    `summary`: tlm.api.leave_one_out()'s.  Without `left_out` (`tlm calibrate --global`, which fits over
    every design and leaves none out) the table has the in-sample column only."""
    loo = left_out is not None
    t = Table(title="leave one design out: every figure, in-sample and left out" if loo else
              "every figure with the fitted constants (in-sample; `tlm chips --loo` leaves each design out)",
              box="SIMPLE_HEAVY", title_justify="left",
              caption="error = model / paper - 1; shares (pt): model - paper in percentage points; (!) beyond "
                      "25% (shares: 10 points)")
    for c, j in (("design", "left"), ("figure", "left"), ("paper", "right"), ("in-sample", "right"),
                 ("left out", "right"))[:5 if loo else 4]:
        t.add_column(c, justify=j)
    for name, rows in in_sample.items():
        for i, (f, _, e_in) in enumerate(rows):
            lim = 0.25 if f.efficiency else 0.10
            e = left_out[name][i][2] if loo else e_in
            cells = [name.split("/")[-1] if i == 0 else "", f.key, _num(f.value), _err(f, e_in)]
            if loo:
                cells.append(_err(f, e))
            cells[-1] += " (!)" if abs(e) > lim else ""
            t.add_row(*cells)
    if summary is None:
        return t, None
    u = Table(title="leave one design out: summary over the efficiency and throughput figures",
              box="SIMPLE_HEAVY", title_justify="left")
    for c in ("constants", "figures", "median", "within 25%", "worst", "shares, worst"):
        u.add_column(c, justify="left" if c == "constants" else "right")
    for label, s in summary.items():
        u.add_row(label, str(s["n"]), f"{100 * s['median']:.1f}%", str(s["within_25"]), f"{100 * s['worst']:.0f}%",
                  f"{s['share_worst_points']:.0f} pt")
    return t, u


def area_table(rows) -> Table:
    """`rows`: tlm.api.macro_areas()."""
    t = Table(title="macro area by part (tlm/hw/area.py), mm2", box="SIMPLE_HEAVY", title_justify="left")
    for c in ("design", "cells", "periphery", "DACs", "ADCs", "1 ADC, um2", "macro"):
        t.add_column(c, justify="left" if c == "design" else "right")
    for name, *v in rows:
        t.add_row(name, *[f"{x:.4g}" for x in v])
    return t


def run(args) -> int:
    from tlm import api
    if args.json:
        from tlm.present.outputs import check_output_paths
        check_output_paths("chips", {"--json": args.json}, {})  # before any work
    designs = api.chips(args.files or None)
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
    if not args.files:
        con.print(area_table(api.macro_areas()))
    con.print("error = model / paper - 1 (shares: model - paper, points); (!) outside the design's tolerance\n"
              "(shares: 10 points).  ops: raw = 2 per MAC at the stated precision, 1b-norm = x input bits x "
              "weight bits.\nSources and conditions: each config's published: section.")
    if args.loo:
        loo = api.leave_one_out()
        for t in loo_tables(loo["in_sample"], loo["left_out"], loo["summary"]):
            con.print(t)
    return 0
