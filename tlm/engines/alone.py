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


def sequential_alone(arch, wl, input_density=None):
    """`arch` with policy sequential when its structure's kept residency bound exceeds its macros (no
    resident policy fits: sequential is auto's choice, with no other policy to compare), else None."""
    if not ON or input_density is not None:
        return None
    st = template.kept_structure(arch, wl)  # (the policy is no part of a structure: template.UNREAD)
    if st is None or st.get("bound", 0) <= arch.macro.count:
        return None
    ap = with_policy(arch, "sequential")
    template.same_key(ap, arch)  # (the key just made, for its plan)
    return ap
