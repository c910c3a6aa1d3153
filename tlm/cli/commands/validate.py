"""`tlm validate`: check an architecture (and a workload) without simulating."""
from __future__ import annotations

from tlm.cli.commands._common import add_set, apply_set, console, load_arch_arg, load_workload_arg

NAME = "validate"
HELP = "check an architecture file (and a workload) without simulating"
ORDER = 20


def add_arguments(p):
    p.add_argument("arch", metavar="ARCH.yaml", help="architecture file or shipped name")
    p.add_argument("workload", nargs="?", metavar="WORKLOAD", help="workload file or shipped name")
    add_set(p)


def run(args) -> int:
    arch = load_arch_arg(args.arch)
    wl = load_workload_arg(args.workload, arch) if args.workload else None
    arch, wl = apply_set(args, arch, wl)
    if wl is not None:  # what the engines would refuse: the plan's limits and the mapping policy's feasibility
        from tlm.mapping.plan import build_plan
        build_plan(arch, wl, policy="sequential" if arch.mapping.policy == "auto" else None)
    msg = f"ok: architecture '{arch.name}' ({arch.macro.count} macro(s) of {arch.macro.rows}x{arch.macro.columns})"
    if wl is not None:
        msg += f"; workload '{wl.name}' ({len(wl.layers)} layers, {wl.macs:,} MACs)"
    console().print(msg)
    return 0
