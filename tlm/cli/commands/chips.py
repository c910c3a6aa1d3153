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


def errors_table(rows_by_design: dict, title: str) -> Table:
    """One row per design: its efficiency/throughput errors (worst, median), share errors, and a summary row."""
    from tlm.services import globalfit, paper
    t = Table(title=title, box="SIMPLE_HEAVY", title_justify="left",
              caption="error = model / paper - 1 over energy and area efficiency and throughput figures; "
                      "shares: model - paper, percentage points")
    for c, j in (("design", "left"), ("figures", "right"), ("errors", "left"), ("worst", "right"),
                 ("shares, worst", "right")):
        t.add_column(c, justify=j)
    every = []
    for name, rows in rows_by_design.items():
        s = globalfit.summary(rows)
        every += rows
        errs = " ".join(f"{100 * e:+.0f}" for f, _, e in rows if f.efficiency)
        sh = f"{s['share_worst_points']:.0f} pt" if any(f.metric in paper.SHARE_METRICS for f, _, _ in rows) else ""
        t.add_row(name, str(s["n"]), errs + " %", f"{100 * s['worst']:.0f}%", sh)
    s = globalfit.summary(every)
    t.add_row("all", str(s["n"]), f"median {100 * s['median']:.1f}%, {s['within_25']} of {s['n']} within 25%",
              f"{100 * s['worst']:.0f}%", f"{s['share_worst_points']:.0f} pt")
    return t


def area_table() -> Table:
    from tlm.services import chips
    t = Table(title="macro area by part (tlm/hw/area.py), mm2", box="SIMPLE_HEAVY", title_justify="left")
    for c in ("design", "cells", "periphery", "DACs", "ADCs", "1 ADC, um2", "macro"):
        t.add_column(c, justify="left" if c == "design" else "right")
    for name, *v in chips.area_rows():
        t.add_row(name, *[f"{x:.4g}" for x in v])
    return t


def run(args) -> int:
    from tlm.services import chips
    con = console()
    designs = chips.designs_of(args.files) if args.files else chips.all_designs()
    for d in designs:
        con.print(design_table(d, args.normalize))
        con.print(fitted_text(d) + "\n")
    if not args.files:
        con.print(area_table())
    con.print("error = model / paper - 1 (shares: model - paper, points); (!) outside the design's tolerance\n"
              "(shares: 10 points).  ops: raw = 2 per MAC at the stated precision, 1b-norm = x input bits x "
              "weight bits.\nSources and conditions: each config's published: section.")
    if args.loo:
        from tlm.services import globalfit
        ds = globalfit.derived_designs()
        con.print(errors_table({d.name: r for d, r in zip(ds, chips.in_sample_rows(ds))},
                               "in-sample: the shipped global constants (tlm calibrate --global)"))
        con.print(errors_table({n: rows for n, (_, rows) in globalfit.leave_one_out(ds).items()},
                               "left out: each design predicted by constants fitted without it"))
    return 0
