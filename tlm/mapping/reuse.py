"""Plans shared between runs that differ only in what a plan does not read (the analytic engine's).

A sweep's points often change only parameters that no volume, tile, timing or schedule depends on --
capacitances, supplies, leakage, the clock frequency: the energy formulas (tlm/hw/) read them when the
analytic engine sums the plan, the plan itself never does.  Which parameters a plan reads is recorded,
not listed: the first plan of a workload and policy is built on an architecture that notes every field
read through it (`_Recorder`), and a later architecture whose values of those fields are all equal gets
the same plan (the build is deterministic: the same values read give the same branches, so the same
fields read and the same plan).  A plan that reads more fields (another branch) widens the recorded set.
Only for the analytic engine's plans (`build_plan(steady=True)`), which it only reads; never with a
measured input density (an array).
"""
from __future__ import annotations

import dataclasses
import threading

MAX_PLANS = 64
GIVE_UP = 8  # plans of a workload and policy built without one reuse: the next are built plainly (recording
# the fields read costs about half a plan: a sweep of structural parameters never reuses one); the first
# is built plainly too (a single run never reuses its plan)
_PLANS = {}  # (id(workload), policy, field values) -> (workload, plan), the most recent last
_FIELDS = {}  # (id(workload), policy) -> (workload, the (section, field) paths plans of it read, [hits, misses])
_LOCK = threading.Lock()


class _Section:
    __slots__ = ("_name", "_obj", "_read")

    def __init__(self, name, obj, read):
        self._name, self._obj, self._read = name, obj, read

    def __getattr__(self, field):
        v = getattr(self._obj, field)
        self._read.add((self._name, field))
        return v


class _Recorder:
    """An architecture that notes which (section, field) is read through it (into `read`, a set)."""

    def __init__(self, arch, read=None):
        self._arch, self._read = arch, set() if read is None else read

    def __getattr__(self, name):
        v = getattr(self._arch, name)
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            return _Section(name, v, self._read)
        self._read.add((name, None))
        return v


def recording(arch, read: set):
    """`arch`, noting every (section, field) read through it into `read`: design points that agree on the
    values of those fields get the same result from whatever read them (tlm/engines/registry.run_group).
    A plan built or reused for it (`shared_plan`) notes the fields the plan reads."""
    return _Recorder(arch, read)


def plain(arch):
    """The architecture a `recording` notes the reads of (`arch` itself when it is not one)."""
    return arch._arch if isinstance(arch, _Recorder) else arch


def values(arch, fields) -> tuple:
    """The values of (section, field) paths of `arch`, as `recording` notes them."""
    return _values(arch, fields)


def _values(arch, fields):
    return tuple(getattr(arch, s) if f is None else getattr(getattr(arch, s), f) for s, f in fields)


def clear() -> None:
    with _LOCK:
        _PLANS.clear()
        _FIELDS.clear()


def shared_plan(build, arch, wl, policy, shared=None):
    """The plan `build(arch_like)` of `wl` under `policy`, from an earlier run with the same values of every
    field such a plan reads, or built now (and kept).  `shared`: the dict the plans of several policies
    share (tlm/mapping/plan.build_plan): what one plan reads to build what the others take from it counts
    for them all.  `arch` may be a `recording` of an architecture: the fields the plan reads are noted in it."""
    outer = None
    if isinstance(arch, _Recorder):
        outer, arch = arch._read, arch._arch
    k = (id(wl), policy)
    with _LOCK:
        got = _FIELDS.get(k)
        seen = got is not None and got[0] is wl
        fields, stats = (got[1], got[2]) if seen else (None, [0, 0])
        if fields is not None:
            hit = _PLANS.get((k, _values(arch, fields)))
            if hit is not None and hit[0] is wl:
                _PLANS[(k, _values(arch, fields))] = _PLANS.pop((k, _values(arch, fields)))
                stats[0] += 1
                if outer is not None:
                    outer.update(fields)
                return hit[1]
        stats[1] += 1
        if not seen:
            _FIELDS[k] = (wl, None, stats)
    # built plainly, kept nowhere: the first plan of a workload and policy (a single run pays no
    # recording), plans whose runs never reuse one, and every plan sharing a dict with one built so
    # (its fields would be missing from what they read)
    plain = (not seen or (stats[1] > GIVE_UP and not stats[0])) if shared is None or not (
        "fields_read" in shared or "plain" in shared) else "plain" in shared
    if plain:
        if shared is not None:
            shared["plain"] = True
        if outer is None:
            return build(arch)
        plan = build(_Recorder(arch, outer))
        plan.arch = arch
        return plan
    rec = _Recorder(arch)
    if shared is not None:
        rec._read = shared.setdefault("fields_read", set())
    plan = build(rec)
    plan.arch = arch
    if outer is not None:
        outer.update(rec._read)
    with _LOCK:
        fields = tuple(sorted(rec._read | set(fields or ()), key=lambda p: (p[0], p[1] or "")))
        _FIELDS[k] = (wl, fields, stats)
        _PLANS[(k, _values(arch, fields))] = (wl, plan)
        while len(_PLANS) > MAX_PLANS:
            _PLANS.pop(next(iter(_PLANS)))
        while len(_FIELDS) > MAX_PLANS:
            _FIELDS.pop(next(iter(_FIELDS)))
    return plan
