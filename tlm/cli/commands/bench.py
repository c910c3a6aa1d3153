"""`tlm bench`: hardware throughput and simulator speed for one or more workloads."""
from __future__ import annotations

import json
from pathlib import Path

from tlm.present.tables import Table
from tlm.config.yamlio import atomic_write
from tlm.cli.commands._common import add_set, console, split_arch_workload

NAME = "bench"
HELP = "benchmark: simulated hardware throughput and the simulator's own speed"
ORDER = 30
from tlm.api._commands import MAX_REPEAT  # noqa: E402,F401  (tlm bench --repeat's bound: the API checks it)


def add_arguments(p):
    p.add_argument("arch", nargs="?", metavar="ARCH.yaml", help="architecture (default: imagine)")
    p.add_argument("workloads", nargs="*", metavar="WORKLOAD", help="workloads (default: resnet8)")
    p.add_argument("--engine", default="all", help="analytic, tlm or all registered engines (default: all)")
    p.add_argument("--repeat", type=int, default=5, metavar="N", help="timed repeats per workload (default 5)")
    p.add_argument("--json", metavar="PATH", help="write the measurements as JSON")
    add_set(p)
    p.add_argument("--scaling", action="store_true",
                   help="also run growing workloads (layers, feature-map size, images) and fit cost per MAC")


def run(args) -> int:
    from tlm import api
    first, lone = split_arch_workload(args.arch, None)  # `tlm bench resnet8`: a lone workload
    names = ([lone] if lone else []) + list(args.workloads)
    res = api.bench(first, names or None, engine=args.engine, repeat=args.repeat, overrides=args.set,
                    scaling=args.scaling)
    arch, ms, refs = res.arch, res.measurements, res.references
    con = console()
    t = Table(title=f"tlm bench on {arch.name} ({args.repeat} repeats, median; spread = min-max)",
              caption="HW TOPS: raw ops (2 per MAC); peak RSS: of a fresh process that loads tlm and simulates once (MiB)", key_columns=2)
    for c in ("workload", "engine", "HW inf/s", "HW TOPS", "HW TOPS/W", "wall ms", "spread ms", "txn/s",
              "sim cycles/s", "peak RSS MiB"):
        t.add_column(c, justify="left" if c in ("workload", "engine") else "right",
                     wrap="fold" if c == "workload" else None)
    for m in ms:
        t.add_row(m.workload, m.engine, f"{m.inferences_per_s:,.1f}", f"{m.tops:.4g}", f"{m.tops_per_w:.4g}",
                  f"{m.wall_s_median * 1e3:.3f}", f"{m.wall_s_min * 1e3:.3f}-{m.wall_s_max * 1e3:.3f}",
                  "-" if m.txn_per_s is None else f"{m.txn_per_s:,.0f}", f"{m.sim_cycles_per_s:.3g}",
                  "-" if m.peak_rss_mb is None else f"{m.peak_rss_mb:.1f}")
    con.print(t)
    # the machine's own pace, measured now: the figures above as ratios to it (targets are ratios)
    floor = refs["import_floor_cpu_ms"]
    con.print(f"references (this run): bare SimPy {refs['simpy_events_per_s'] or 0:,.0f} events/s; float32 matmul "
              f"{refs['matmul_gflops']:.1f} GFLOP/s (1 thread); import floor numpy+yaml+simpy "
              + ("-" if floor is None else f"{floor:.0f}") + f" ms CPU; one analytic resnet8 point "
              f"{refs['analytic_point_ms']:.2f} ms")
    for m, (what, r) in zip(ms, res.ratios()):
        con.print(f"  {m.workload} {m.engine}: {what} = {r:.2f}")
    for e, (rows, fits) in res.scaling.items():
        _print_scaling(con, e, rows, fits)
    if args.json:
        atomic_write(Path(args.json), json.dumps(res.to_dict(), indent=2) + "\n")
    return 0


def _print_scaling(con, e, rows, fits) -> None:
    """The scaling rows of engine `e` and its fitted cost per MAC, per family."""
    st = Table(title=f"scaling ({e} engine): wall time (fastest of repeats) against MACs")
    for c in ("family", "size", "MACs", "wall ms", "ns / MAC"):
        st.add_column(c, justify="left" if c == "family" else "right")
    for r in rows:
        st.add_row(r.family, str(r.size), f"{r.macs:,}", f"{r.wall_s * 1e3:.3f}", f"{r.ns_per_mac:.4f}")
    con.print(st)
    for fam, f in fits.items():
        fam_rows = [r for r in rows if r.family == fam]
        largest = max(fam_rows, key=lambda r: r.macs)
        if f["ns_per_mac"] * 1e-9 * largest.macs < 0.1 * largest.wall_s:
            con.print(f"{e} {fam}: the cost does not grow with the MACs over a {f['mac_range']:.0f}x range "
                      f"({min(r.wall_s for r in fam_rows) * 1e3:.3f}-{max(r.wall_s for r in fam_rows) * 1e3:.3f} ms per "
                      "simulation): the work is vectorized over whole layers")
            continue
        spread = "-" if f["per_mac_spread"] is None else f"{100 * f['per_mac_spread']:.0f}%"
        line = (f"{e} {fam}: fitted {f['ns_per_mac']:.4f} ns per MAC + {f['fixed_ms']:.3f} ms fixed over a "
                f"{f['mac_range']:.0f}x MAC range; cost per MAC without the fixed part varies by {spread}")
        if f["ms_per_image"] is not None:
            line += f"; {f['ms_per_image']:.3f} ms per image"
        con.print(line)
