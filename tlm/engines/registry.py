"""The engine registry, and the one place `mapping.policy: auto` is resolved (above both engines).

    ENGINES[name](arch, wl, options) -> tlm.engines.result.Result
    run(name, arch, wl, **kw) -> Result              (the same, with keyword options)
    resolve_policy(arch, wl, input_density) -> Resolved

`options` is None or any object with optional attributes (an argparse namespace from `tlm simulate`):
`input_density` (both engines), `quantum`, `no_contention`, `trace`, `quiet` (tlm engine).  Services
(sweep, bench) and the CLI look engines up here.  An engine itself runs a concrete policy only: given
`auto` it refuses (tlm/mapping/plan.py).  `auto` is chosen on the contention-free bounds of every policy
that fits (tlm/engines/analytic.choose_policy); the chosen policy's plan is built there once and handed
to the engine that executes it, and the Result says why (a note) and keeps the configuration as given.
No engine module imports this one.
"""
from __future__ import annotations

from typing import NamedTuple

from tlm.mapping.mapper import with_policy

DEFAULT_ENGINE = "tlm"  # why: docs/tlm-engine.md ("Which engine by default")


class Resolved(NamedTuple):
    arch: object  # with a concrete mapping.policy
    plan: object  # the chosen policy's plan (tlm.mapping.plan.Plan), or None: the engine builds it
    note: object  # why auto chose it, or None
    bound: object  # the analytic Result of the chosen policy (auto only), or None


def resolve_policy(arch, wl, input_density=None, steady=False) -> Resolved:
    """`auto` -> the best concrete policy for `mapping.objective`; any other policy as it is.  `steady`:
    for the analytic engine, which executes no plan (tlm/engines/analytic.choose_policy)."""
    if arch.mapping.policy != "auto":
        return Resolved(arch, None, None, None)
    from tlm.engines.analytic import choose_policy
    best, res, note, plan = choose_policy(arch, wl, input_density, steady)
    return Resolved(with_policy(arch, best), plan, note, res)


def _as_given(res, arch, r: Resolved):
    if r.note is not None:  # the configuration as given (auto); the choice is in extra["mapping"] and the note
        res.arch = arch
        res.notes.append(r.note)
    return res


def _analytic(arch, wl, options=None):
    d = getattr(options, "input_density", None)
    r = resolve_policy(arch, wl, d, steady=True)
    if r.bound is not None:  # auto ran the chosen policy's bound already
        return _as_given(r.bound, arch, r)
    from tlm.engines.analytic import simulate
    return simulate(arch, wl, input_density=d)


def _tlm(arch, wl, options=None):
    from tlm.engines.transaction.system import simulate
    d = getattr(options, "input_density", None)
    r = resolve_policy(arch, wl, d)
    kw = dict(quantum_cycles=getattr(options, "quantum", None), input_density=d,
              contention=False if getattr(options, "no_contention", False) else None,
              trace=getattr(options, "trace", None), data=getattr(options, "data", None),
              progress=options is not None and not getattr(options, "quiet", False))
    return _as_given(simulate(r.arch, wl, plan=r.plan, **kw), arch, r)


ENGINES = {"analytic": _analytic, "tlm": _tlm}


class _Options:
    def __init__(self, kw):
        self.__dict__.update(kw)
        self.quiet = not kw.get("progress", False)


def run(name, arch, wl, **kw):
    """ENGINES[name] with keyword options: input_density, quantum, no_contention, trace, progress, data."""
    return ENGINES[name](arch, wl, _Options(kw))
