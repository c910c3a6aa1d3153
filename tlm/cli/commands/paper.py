"""`tlm paper`: a design's published figures next to the model's, the precision sweep, and the energy
breakdown of the system-level reference run.  A config with a `published:` section is compared with its
own paper; one without is compared with IMAGINE's figures (and says so)."""
from __future__ import annotations

from tlm.present.tables import Table
from tlm.cli.commands._common import add_arch_workload, add_set, console

NAME = "paper"
HELP = "compare an architecture with its paper's published figures (default: the shipped imagine.yaml)"
ORDER = 40


def add_arguments(p):
    add_arch_workload(p, workload=False)
    add_set(p, workload=False)
    p.add_argument("--normalize", choices=("1b",), default=None,
                   help="print every efficiency 1b-normalized (ops x input bits x weight bits) instead of in "
                        "each figure's own convention")
    p.add_argument("--json", metavar="PATH", help="write the figures (paper, model, error), the precision sweep "
                   "and the reference run's summary as JSON ('-': standard output, nothing else printed)")
    p.add_argument("--sensitivity", action="store_true",
                   help="also print how each fitted parameter moves the figures and the energy breakdown of "
                        "ResNet-8 (+10%% on each)")


def _num(x: float) -> str:
    return f"{x:,.4g}" if abs(x) < 1e4 else f"{x:,.0f}"


def ops_label(conv: str) -> str:
    return {"raw": "raw", "1b": "1b-norm", "": ""}[conv]


def comparison_table(arch, pub, normalize, rows) -> Table:
    """Published vs model for every figure of `pub` (IMAGINE's when None); `rows`: the comparison
    (tlm.api.paper, tlm.api.calibrate)."""
    from tlm.services import paper
    own = pub is not None
    pub = pub if own else paper.imagine_published()
    tol = pub.tolerance
    is_imagine = pub.citation == paper.imagine_published().citation
    title = f"'{arch.name}' against {'the IMAGINE paper' if is_imagine else 'its paper'}"
    note = "" if own else "\n(this config has no published: section of its own)"
    t = Table(title=title,
              caption=f"paper: {pub.citation}{note}\nerror = model / paper - 1; (!) outside the {tol:.0%} "
                      "tolerance; ops: raw = 2 per MAC at the stated precision, 1b-norm = x input x weight bits")
    for c, j in (("figure", "left"), ("unit", "left"), ("ops", "left"), ("paper", "right"), ("model", "right"),
                 ("error", "right")):
        t.add_column(c, justify=j)
    for fig, model, err in rows:
        mark = "" if abs(err) <= tol else "  (!)"
        pv, conv = paper.converted(fig, fig.value, normalize)
        mv, _ = paper.converted(fig, model, normalize)
        t.add_row(fig.name(), fig.unit, ops_label(conv), _num(pv), _num(mv), f"{100 * err:+.2f}%{mark}")
    if is_imagine:
        geo = f"{arch.macro.rows} x {arch.macro.columns}"
        same = (arch.macro.rows, arch.macro.columns) == (paper.PAPER_ROWS, paper.PAPER_COLUMNS)
        t.add_row("macro geometry", "rows x cols", "", f"{paper.PAPER_ROWS} x {paper.PAPER_COLUMNS}", geo,
                  "exact" if same else "differs")
    return t


def sweep_table(arch, normalize, points) -> Table:
    """The macro's peak per precision (`points`: tlm.api.paper(...).points)."""
    from tlm.services import paper
    conv = "1b-normalized" if normalize == "1b" else "raw: 2 ops per MAC at r bits"
    t = Table(title=f"macro peak per precision (inputs = weights = r bits; TOPS in {conv})")
    t.caption = "per output pixel (px): ops, DP phases, conversions, time and macro energy"
    for c in ("r", "out", "columns", "ops/px", "DP/px", "conv/px", "time/px", "energy/px", "TOPS/W", "TOPS/mm2"):
        t.add_column(c, justify="right")
    px = paper.MAP_HW * paper.MAP_HW
    for p in points:
        k = p.bits * p.bits_w if normalize == "1b" else 1
        cols = (arch.macro.columns // p.bits_w) * p.bits_w
        t.add_row(str(p.bits), str(p.bits_out), str(cols), f"{k * p.ops / px:,.0f}", str(p.dp_cycles // px),
                  str(p.conversions // px), f"{p.time_ns / px:.4g} ns", f"{p.energy_pj / px:.4g} pJ",
                  _num(k * p.tops_per_w), _num(k * p.tops_per_mm2))
    return t


def sensitivity_tables(sens: dict):
    """How +10% on each fitted parameter (IMAGINE's, or a published design's own; integers: +1) moves
    the figures and ResNet-8's energy breakdown (`sens`: tlm.services.calibrate.sensitivity, from
    tlm.api.paper(sensitivity=True))."""
    figs = sens["figures"]
    t1 = Table(title="sensitivity: change of each figure for +10% on one of the design's parameters (its "
                     "fitted ones, or the global constants it is derived with; integers: +1)",
               box="SIMPLE_HEAVY")
    t1.add_column("parameter", justify="left")
    for k in figs:
        t1.add_column(k, justify="right")
    comps = sens["components"]
    t2 = Table(title=f"sensitivity: {sens['workload']} on-chip energy by component, change for the same step",
               box="SIMPLE_HEAVY")
    t2.add_column("parameter", justify="left")
    for c in comps:
        t2.add_column(c, justify="right")
    t2.add_column("total", justify="right")
    t2.add_row("(share at the fit)", *[f"{100 * sens['share'][c]:.1f}%" for c in comps], "100%")
    for p, row in sens["rows"].items():
        t1.add_row(p, *[f"{100 * row['figures'][k]:+.2f}%" for k in figs])
        t2.add_row(p, *[f"{100 * row['components'][c]:+.2f}%" for c in comps], f"{100 * row['total']:+.2f}%")
    return t1, t2


def overhead_table(arch, ref, overhead: dict) -> Table:
    """The controller's energy in the reference run by named component (`overhead`: PaperResult.overhead,
    from tlm.services.calibrate.overhead_breakdown), with each component's capacitance per event, its
    published range at the node and the range's source (tlm/hw/controller.py); the caption says how much
    of the gap between the 8b macro peak and the run's efficiency the components explain (overhead_gap)."""
    from tlm.services import calibrate
    from tlm.hw import controller as hw_ctrl
    parts, macro_peak, g = overhead["parts_pj"], overhead["macro_peak"], overhead["gap"]
    total = ref.on_chip_energy_pj
    caption = ("C: the config's capacitance per event; published: the span of the published points below at this "
               "node; (!) outside it")
    if g is not None:
        far = ", ".join(f"{n} {k:.3g}x its top" for n, k in g["outside"].items() if k > 1)
        caption += (f"; the gap between the {macro_peak.value:g} TOPS/W macro peak and this run is "
                    f"{g['gap_pj'] / 1e3:.4g} nJ, of which the components within their published ranges "
                    f"explain {100 * g['explained']:.1f}%" + (f" ({far})" if far else ""))
    t = Table(title="controller energy of the reference run by component", box="SIMPLE_HEAVY", caption=caption)
    for c, j in (("component", "left"), ("C fF", "right"), ("published fF", "right"),
                 ("source", "left"), ("energy", "right"), ("share", "right")):
        t.add_column(c, justify=j)
    for name, e in parts.items():
        (p,) = calibrate.OVERHEAD_PARAMS[name]
        f = p.split(".")[1]
        v = calibrate.get(arch, p)
        lo, hi = hw_ctrl.published_ff(arch, f)
        mark = "" if lo <= v <= hi else " (!)"
        t.add_row(name, f"{v:.4g}", f"{_c3(lo)}-{_c3(hi)}{mark}", hw_ctrl.range_source(f),
                  f"{e / 1e3:.3g} nJ", f"{100 * e / total:.1f}%")
    return t


def _c3(c: float) -> str:
    """A capacitance to 3 significant digits, without an exponent."""
    return f"{c:,.0f}" if c >= 1000 else f"{c:.3g}"


def published_points_table(arch) -> Table:
    """Every published point behind the controller ranges (tlm/hw/controller.py PUBLISHED_POINTS): its
    node and supply, the capacitance per event at its node (pin + energy / V^2) and at this config's node
    (the technology rule, x node / source node)."""
    from tlm.hw import controller as hw_ctrl
    node = arch.technology.node_nm
    t = Table(title=f"published per-event points of the controller ranges, at {node:g}nm", box="SIMPLE_HEAVY",
              caption="C = pin + energy / V^2 at the source's node and supply; at "
                      f"{node:g}nm: x {node:g} / source node (tlm/hw/controller.py names each figure)")
    for c, j in (("point", "left"), ("node", "right"), ("V", "right"), ("pin fF", "right"),
                 ("energy fJ", "right"), ("C fF", "right"), (f"@{node:g}nm fF", "right")):
        t.add_column(c, justify=j)
    for f, pts in hw_ctrl.PUBLISHED_POINTS.items():
        t.add_row(hw_ctrl.POINT_LABEL[f] + ":", "", "", "", "", "", "")
        for pt in pts:
            t.add_row("  " + pt.short, f"{pt.node_nm:g}nm", f"{pt.supply_v:g}", f"{pt.pin_ff:.4g}",
                      f"{pt.energy_fj:.4g}", f"{pt.c_ff:.4g}", f"{pt.c_ff_at(node):.4g}")
    return t


def run(args) -> int:
    from tlm import api
    from tlm.present import report
    from tlm.services import paper
    if args.json:
        from tlm.present.outputs import check_output_paths
        check_output_paths("paper", {"--json": args.json}, {})  # before any work
    res = api.paper(args.arch, overrides=args.set, sensitivity=args.sensitivity)
    if args.json:
        import json

        from tlm.config.yamlio import atomic_write
        atomic_write(args.json, json.dumps(res.to_dict(), indent=1, allow_nan=False) + "\n")
        if args.json == "-":
            return 0  # standard output holds the JSON only
    arch, pub, ref, f = res.arch, res.published, res.reference, res.reference_figure
    con = console()
    con.print(comparison_table(arch, pub, args.normalize, res.rows))
    con.print(sweep_table(arch, args.normalize, res.points))
    if ref is not None:
        k = paper.kernel_for(arch)
        con.print(f"system-level reference run: {f.input_bits}b {k}x{k}x{arch.macro.rows // (k * k)} -> "
                  f"{ref.workload.layers[0].c_out}-channel conv on a {paper.MAP_HW}x{paper.MAP_HW} map ('same' "
                  "padding), batch 1, weights resident;\nall on-chip energy counted (image I/O included), "
                  "off-chip DRAM energy excluded; TOPS/W raw (2 ops per MAC)")
        con.print(report.summary_table(ref))
        con.print(report.energy_table(ref))
        con.print(overhead_table(arch, ref, res.overhead))
        con.print(published_points_table(arch))
    if res.sensitivity is not None:
        for t in sensitivity_tables(res.sensitivity):
            con.print(t)
    return 0
