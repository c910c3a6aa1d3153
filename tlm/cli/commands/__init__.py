"""Subcommands of `tlm`, one module each (see tlm/cli/__init__.py).

`COMMANDS` lists them -- name, module, the one-line help of `tlm --help`, order -- so the parser can
list every command without importing any: only the module of the command that runs is imported (with
what it needs: numpy, the engines, rich, onnx...).  tests/test_startup.py checks that this table and the
modules' own NAME, HELP and ORDER agree and that every module is listed; a module that is not listed is
still found (tlm/cli/__init__.py imports it), only slower.
"""
from __future__ import annotations

from typing import NamedTuple


class Command(NamedTuple):
    name: str
    module: str  # tlm.cli.commands.<module>
    help: str  # = the module's HELP
    order: int  # = the module's ORDER (position in `tlm --help`)


COMMANDS = (
    Command("simulate", "simulate", "simulate a workload on an architecture; print cycles, utilization and energy", 10),
    Command("validate", "validate", "check an architecture file (and a workload) without simulating", 20),
    Command("schema", "schema", "write the JSON Schema of the architecture or workload file format (for editors "
                                "and validators)", 25),
    Command("accuracy", "accuracy", "accuracy of a trained network through the bit-accurate CIM model (noise, "
                                    "ABN, clipping)", 30),
    Command("bench", "bench", "benchmark: simulated hardware throughput and the simulator's own speed", 30),
    Command("import", "import_onnx", "convert an ONNX model into a workload YAML file (needs the optional extra "
                                     "'onnx')", 30),
    Command("sweep", "sweep", "sweep architecture and workload settings (cartesian product); CSV of results "
                              "and plots", 30),
    Command("paper", "paper", "compare an architecture with its paper's published figures (default: the "
                              "shipped imagine.yaml)", 40),
    Command("chips", "chips", "compare published designs (the shipped ones, or FILEs) with their papers' "
                              "figures", 41),
    Command("calibrate", "calibrate", "the parameters an architecture's circuit derives (--global: fit the "
                                      "circuit model's constants over the shipped designs)", 45),
)
