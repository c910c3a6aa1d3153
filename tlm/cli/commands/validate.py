"""`tlm validate`: check an architecture (and a workload) without simulating."""
from __future__ import annotations

from tlm.cli.commands._common import add_set, console

NAME = "validate"
HELP = "check an architecture file (and a workload) without simulating"
ORDER = 20


def add_arguments(p):
    p.add_argument("arch", metavar="ARCH.yaml", help="architecture file or shipped name")
    p.add_argument("workload", nargs="?", metavar="WORKLOAD", help="workload file or shipped name")
    add_set(p)


def run(args) -> int:
    from tlm import api
    arch, wl = api.validate(args.arch, args.workload, overrides=args.set)
    msg = f"ok: architecture '{arch.name}' ({arch.macro.count} macro(s) of {arch.macro.rows}x{arch.macro.columns})"
    if wl is not None:
        msg += f"; workload '{wl.name}' ({len(wl.layers)} layers, {wl.macs:,} MACs)"
    console().print(msg)
    return 0
