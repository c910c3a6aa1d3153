"""`mapping.policy: auto` for the TLM engine: ask the analytic engine (tlm/analytic.choose_policy, the
contention-free bound of every policy that fits) which policy is best for `mapping.objective`, then
run the requested engine with it.  The choice is a service above both engines; the TLM engine itself
only ever runs a concrete policy's plan.
"""
from __future__ import annotations

from tlm.mapping.mapper import with_policy


def simulate_auto(sim, arch, wl, **kw):
    """Resolve `auto`, then run `sim` (an engine's simulate) with the chosen policy; the note says why."""
    from tlm.engines.analytic import choose_policy
    best, _r, note = choose_policy(arch, wl, kw.get("input_density"))
    res = sim(with_policy(arch, best), wl, **kw)
    res.arch = arch  # the resolved configuration as the user gave it (mapping.policy: auto); the choice is in
    res.notes.append(note)  # extra["mapping"] and the note
    return res


def resolve(arch, wl, input_density=None):
    """`arch` with `auto` replaced by the policy it picks for `wl`."""
    from tlm.engines.analytic import choose_policy
    return with_policy(arch, choose_policy(arch, wl, input_density)[0])
