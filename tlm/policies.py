"""`mapping.policy: auto`: run the analytic engine's contention-free bound of every concrete policy that
fits, pick the best for `mapping.objective`, and simulate that one with the requested engine.

Objectives (per inference, so batches compare):
- latency: the time from an image's arrival to its result (layer-by-layer policies: the whole batch);
- throughput: inferences per second of the batch (the makespan);
- energy: on-chip energy per inference;  edp: energy per inference x latency.
Ties go to the simpler policy (sequential, resident, pipelined, replicate, in this order).
"""
from __future__ import annotations

import dataclasses

from .errors import InputError
from .mapper import CONCRETE


def with_policy(arch, policy):
    return dataclasses.replace(arch, mapping=dataclasses.replace(arch.mapping, policy=policy))


def image_latency_cycles(res) -> int:
    m = res.extra.get("mapping") or {}
    return int(m.get("image_latency_cycles") or res.cycles)


def score(res, objective):
    s = res.summary()
    lat = image_latency_cycles(res)
    e = s["energy_per_inference_pj"]
    return {"latency": (lat, res.cycles, e), "throughput": (res.cycles, e), "energy": (e, res.cycles),
            "edp": (e * lat, res.cycles)}[objective]


def choose(arch, wl, input_density=None):
    """(policy, analytic result of it, note)."""
    from .analytic import simulate
    obj = arch.mapping.objective
    runs, skipped = {}, []
    for p in CONCRETE:
        try:
            runs[p] = simulate(with_policy(arch, p), wl, input_density=input_density)
        except InputError as e:
            if p == "sequential":
                raise
            skipped.append(p)
    best = min(runs, key=lambda p: (score(runs[p], obj), CONCRETE.index(p)))
    r = runs[best]
    parts = []
    for p, rp in runs.items():
        s = rp.summary()
        parts.append(f"{p} {s['inferences_per_s']:,.0f} inf/s, image latency "
                     f"{image_latency_cycles(rp):,} cycles, {s['energy_per_inference_pj'] / 1e6:.3g} uJ/inf")
    note = (f"mapping auto (objective {obj}): chose {best} on {arch.macro.count} macro(s) -- "
            + "; ".join(parts) + (f"; {', '.join(skipped)}: need {runs['sequential'].extra['mapping']['macros_for_residency']} "
               "macros to keep the weights resident" if skipped else ""))
    return best, r, note


def simulate_auto(sim, arch, wl, **kw):
    """Resolve `auto`, then run `sim` (an engine's simulate) with the chosen policy."""
    best, r, note = choose(arch, wl, kw.get("input_density"))
    from .analytic import simulate as analytic
    res = r if sim is analytic else sim(with_policy(arch, best), wl, **kw)
    res.notes.append(note)
    return res
