"""The engine registry (engines layer, below the services and the CLI).

    ENGINES[name](arch, wl, options) -> tlm.engines.result.Result

`options` is None or any object with optional attributes (an argparse namespace from `tlm simulate`):
`input_density` (both engines), `quantum`, `no_contention`, `trace`, `quiet` (tlm engine).  Services
(sweep, bench) and the CLI look engines up here; nothing below the CLI imports tlm.cli or tlm.cli.commands.
"""
from __future__ import annotations

DEFAULT_ENGINE = "tlm"  # why: docs/tlm-engine.md ("Which engine by default")


def _analytic(arch, wl, options=None):
    from tlm.engines.analytic import simulate
    return simulate(arch, wl, input_density=getattr(options, "input_density", None))


def _tlm(arch, wl, options=None):
    from tlm.engines.transaction.system import simulate
    kw = dict(quantum_cycles=getattr(options, "quantum", None),
              input_density=getattr(options, "input_density", None),
              contention=False if getattr(options, "no_contention", False) else None,
              trace=getattr(options, "trace", None),
              progress=options is not None and not getattr(options, "quiet", False))
    if arch.mapping.policy == "auto":  # chosen on the contention-free bounds, then executed (tlm/engines/auto.py)
        from tlm.engines.auto import simulate_auto
        return simulate_auto(simulate, arch, wl, **kw)
    return simulate(arch, wl, **kw)


ENGINES = {"analytic": _analytic, "tlm": _tlm}
