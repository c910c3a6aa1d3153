"""`tlm schema`: the JSON Schema of the architecture or workload format, for editors and validators
(tlm/config/json_schema.py; README "Editor support")."""
from __future__ import annotations

NAME = "schema"
HELP = "write the JSON Schema of the architecture or workload file format (for editors and validators)"
ORDER = 25


def add_arguments(p):
    p.add_argument("kind", nargs="?", choices=("arch", "workload"), default="arch",
                   help="which format: arch (architecture files, the default) or workload")
    p.add_argument("-o", "--output", metavar="PATH", default="-",
                   help="where to write it (default: standard output)")


def run(args) -> int:
    import json

    from tlm.api import schema
    from tlm.config.yamlio import atomic_write
    atomic_write(args.output, json.dumps(schema(args.kind), indent=1) + "\n")
    return 0
