"""`mapping.policy: auto` where policy sequential is alone: the weights need more macros to stay resident
than there are, so every resident policy refuses (tlm/engines/analytic.policy_plans skips them all,
`_none_fits`) and auto runs what the architecture pinned to sequential runs.

A sweep's points of one structure (tlm/mapping/template.py: they differ in timing settings only) share the
residency bound, which the structure keeps (`_structure["bound"]`, set by the first point's plan or by
tlm/engines/pretime.py's look); the macro count is part of the structure.  Where it is kept and exceeds
the macros, a brief auto run (a sweep's row: tlm/engines/analytic.choose_policy) builds the sequential
plan and its Result as the pinned run does, without policy_plans' bookkeeping for policies that cannot
fit; anywhere else (a structure not kept yet, a measured density) it is left to policy_plans.
"""
from __future__ import annotations

from tlm.mapping import template
from tlm.mapping.mapper import with_policy

ON = True  # False: every auto run goes through policy_plans (tests compare the two)
_last = (None, None, False)  # (the point asked last, its workload, whether sequential is alone on its structure)


def forget() -> None:
    """Forget the point asked last (tlm/engines/analytic.clear_kept)."""
    global _last
    _last = (None, None, False)


def known_alone(arch, wl) -> bool:
    """Is `arch` (with workload `wl`) of the structure of the point asked last, where sequential is alone
    (registry._pretime: nothing streamed to time)?"""
    last = _last
    return last[2] and last[1] is wl and template.same_structure(last[0], arch)


def sequential_alone(arch, wl, input_density=None):
    """`arch` with policy sequential when its structure's residency bound exceeds its macros (no resident
    policy fits: sequential is auto's choice, with no other policy to compare), else None.  The bound is
    read from the kept structure (template.kept_structure), or the answer from the point asked last when
    it has the same structure (template.same_structure: a sweep's next point, no key made)."""
    global _last
    if not ON or input_density is not None:
        return None
    last = _last
    if last[1] is wl and template.same_structure(last[0], arch):
        alone = last[2]
    else:
        st = template.kept_structure(arch, wl)  # (the policy is no part of a structure: template.UNREAD)
        if st is None or "bound" not in st:
            return None
        alone = st["bound"] > arch.macro.count
    _last = (arch, wl, alone)
    if not alone:
        return None
    ap = with_policy(arch, "sequential")
    template.same_key(ap, arch)  # (the key made, if it was, for its plan)
    return ap
