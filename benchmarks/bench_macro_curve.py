"""`auto` (objective throughput, batch 16) on ResNet-8 for every macro count 1..64, analytic engine: the
throughput curve, its ratio to the perfect balance (macro work per image / macros, once the weights
fit) and to the previous count.  Targets (issue 22): never slower with more macros, >= 0.5 of the
perfect balance from the count where the weights fit, 8 macros >= 1.6x the throughput of 4.

    python benchmarks/bench_macro_curve.py          # prints the curve
    pytest benchmarks/bench_macro_curve.py --benchmark-only -p no:cacheprovider -o python_files='bench_*.py'
"""
import dataclasses
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tlm.config.arch import arch_from_dict, load_arch  # noqa: E402
from tlm.config.workload import load_workload  # noqa: E402
from tlm.engines.registry import ENGINES  # noqa: E402
from tlm.mapping import mapper  # noqa: E402

MACROS = range(1, 65)


def curve(macros=MACROS):
    """[(macros, policy, inferences/s, perfect-balance inferences/s or None, macros used)]."""
    base = load_arch(ROOT / "configs" / "imagine.yaml")
    wl = dataclasses.replace(load_workload(ROOT / "workloads" / "resnet8.yaml"), batch=16)
    m, comp = mapper.comp_mapping(base, wl)
    rc = mapper.layer_row_cycles(base, wl, m, comp)
    work = sum((r0 + (mapper._hw(wl.layers[i].out_shape)[0] - 1) * r1) * int(m.tiles[j])
               for j, (i, (r0, r1)) in enumerate(rc.items()))
    rows = []
    for n in macros:
        d = base.to_dict()
        d["macro"]["count"] = n
        d["mapping"].update(policy="auto", objective="throughput")
        r = ENGINES["analytic"](arch_from_dict(d), wl)  # auto resolved by the registry
        mp = r.extra["mapping"]
        fits = n >= mp["macros_for_residency"]
        rows.append((n, mp["policy"], r.summary()["inferences_per_s"],
                     n * base.clock.frequency_mhz * 1e6 / work if fits else None, mp["macros_used"]))
    return rows


def check(rows):
    t = {n: x for n, _p, x, _b, _u in rows}
    for (n0, _, a, _, _), (n1, _, b, _, _) in zip(rows, rows[1:]):
        assert b >= a, f"{n1} macros slower than {n0}"
    for n, _p, x, bound, _u in rows:
        assert bound is None or x >= 0.5 * bound, f"{n} macros: {x:.0f} inf/s < half of {bound:.0f}"
    if 4 in t and 8 in t:
        assert t[8] >= 1.6 * t[4]


def test_macro_curve(benchmark):
    rows = benchmark.pedantic(curve, rounds=1, iterations=1)
    check(rows)
    benchmark.extra_info["curve"] = [(n, p, round(x)) for n, p, x, _b, _u in rows]


if __name__ == "__main__":
    rows = curve()
    print(f"{'macros':>6} {'policy':<11} {'used':>4} {'inf/s':>8} {'balance':>8} {'ratio':>5} {'vs n-1':>6}")
    prev = None
    for n, p, x, bound, used in rows:
        print(f"{n:>6} {p:<11} {used:>4} {x:>8,.0f} {'-' if bound is None else f'{bound:,.0f}':>8} "
              f"{'-' if bound is None else f'{x / bound:.2f}':>5} {'-' if prev is None else f'{x / prev:.3f}':>6}")
        prev = x
    check(rows)
    print("ok: never slower with more macros, >= 0.5 of the perfect balance, 8 macros >= 1.6x 4")
