"""The `tlm` command.  Each subcommand is one module in tlm/commands/ with NAME, HELP,
`add_arguments(parser)` and `run(args) -> int`; they are found by name, so adding a command touches
no other file.

Exit codes: 0 success, 2 user error (one line on stderr naming file, line and field), 1 internal error.
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from . import __version__
from .errors import InputError


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit code 2."""

    def error(self, message):
        raise InputError(" ".join(message.split()), field=None,
                         where=_CliWhere(self.prog))


class _CliWhere:
    def __init__(self, prog):
        self.prog = prog

    def __str__(self):
        return f"{self.prog} (command line)"


def _commands():
    from . import commands
    mods = []
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        mod = importlib.import_module(f"{commands.__name__}.{info.name}")
        if hasattr(mod, "NAME"):
            mods.append(mod)
    return sorted(mods, key=lambda m: (getattr(m, "ORDER", 50), m.NAME))


def build_parser():
    p = _Parser(prog="tlm", description="Simulate charge-domain CIM CNN accelerators (IMAGINE-like): "
                                        "cycles, utilization and energy of whole inferences.")
    p.add_argument("--version", action="version", version=f"imagine-tlm {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    handlers = {}
    for mod in _commands():
        sp = sub.add_parser(mod.NAME, help=mod.HELP, description=getattr(mod, "DESCRIPTION", mod.HELP))
        mod.add_arguments(sp)
        handlers[mod.NAME] = mod.run
    return p, handlers


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        parser, handlers = build_parser()
        args = parser.parse_args(argv)
        args.argv = argv  # the command line as given (outputs record it, e.g. manifest.json)
        if not args.command:
            parser.print_help()
            raise InputError(f"a command is required: {', '.join(handlers)}", where=_CliWhere("tlm"))
        return int(handlers[args.command](args) or 0)
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except SystemExit as e:  # argparse --help / --version
        return int(e.code or 0) if isinstance(e.code, int) else 0
    except Exception as e:  # a bug in tlm, never the user's input
        print(f"internal error (a bug in tlm, please report it): {type(e).__name__}: {e}", file=sys.stderr)
        return 1


def entry() -> None:
    sys.exit(main())
