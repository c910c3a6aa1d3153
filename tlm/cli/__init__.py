"""The `tlm` command.  Each subcommand is one module in tlm/cli/commands/ with NAME, HELP,
`add_arguments(parser)` and `run(args) -> int`, listed in tlm/cli/commands/__init__.py's COMMANDS.

Start-up: only the module of the command that runs is imported (and what it imports); the others are
listed from COMMANDS by name and help.  `tlm simulate -q` imports no rich; no command imports onnx,
matplotlib or the datasets unless the run needs them (tests/test_startup.py, benchmarks/bench_startup.py).

Exit codes: 0 success, 2 user error (one line on stderr naming file, line and field), 1 internal error.
"""
from __future__ import annotations

import argparse
import contextlib
import sys

from tlm._version import __version__
from tlm.errors import InputError


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


def _import(name: str):
    """importlib.import_module, but through the import statement's machinery, so that `python -X
    importtime` lists the command's module too (import_module bypasses its report)."""
    return __import__(name, fromlist=["NAME"])


def _command_table(wanted: str | None = None) -> list:
    """(name, module, help, order) of every command: COMMANDS, and any module of tlm/cli/commands/ it does
    not list (found by file name; imported to read its NAME and HELP -- slower, so list new ones).  When
    COMMANDS has the command `wanted`, only that one (the folder is not listed)."""
    import os

    from tlm.cli import commands
    mine = [c for c in commands.COMMANDS if c.name == wanted]
    if mine:
        return mine
    table = {c.module: c for c in commands.COMMANDS}
    here = os.path.dirname(commands.__file__)
    for f in sorted(os.listdir(here)):
        mod_name, ext = os.path.splitext(f)
        if ext != ".py" or mod_name.startswith("_") or mod_name in table:
            continue
        mod = _import(f"{commands.__name__}.{mod_name}")
        if hasattr(mod, "NAME"):
            table[mod_name] = commands.Command(mod.NAME, mod_name, mod.HELP, getattr(mod, "ORDER", 50))
    return sorted(table.values(), key=lambda c: (c.order, c.name))


def _wanted(argv) -> str | None:
    """The command named on the command line (the first argument that is not an option), if any."""
    for a in argv:
        if not a.startswith("-"):
            return a
        if a == "--":
            return None
    return None


def build_parser(argv=()):
    """The parser, with the full options of the command `argv` names (its module imported); when `argv`
    names no known command, every command as a name and help line only (for `tlm --help` and the usage
    error that lists them)."""
    p = _Parser(prog="tlm", description="Simulate charge-domain CIM CNN accelerators (IMAGINE-like): "
                                        "cycles, utilization and energy of whole inferences.")
    p.add_argument("--version", action="version", version=f"imagine-tlm {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    handlers = {}
    wanted = _wanted(argv)
    table = _command_table(wanted)
    if any(c.name == wanted for c in table):  # the others are only listed by `tlm --help` and a usage error,
        table = [c for c in table if c.name == wanted]  # which name no command: each parser costs ~0.1 ms
    for c in table:
        if c.name != wanted:
            sub.add_parser(c.name, help=c.help, add_help=False)  # listed; never parsed
            handlers[c.name] = None
            continue
        mod = _import(f"{__package__}.commands.{c.module}")
        sp = sub.add_parser(mod.NAME, help=mod.HELP, description=getattr(mod, "DESCRIPTION", mod.HELP))
        mod.add_arguments(sp)
        handlers[mod.NAME] = mod.run
    return p, handlers


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    restore = []
    try:
        return _main(argv, restore)
    finally:
        for r in restore:
            r()


def _main(argv, restore) -> int:
    try:
        parser, handlers = build_parser(argv)
        args = parser.parse_args(argv)
        args.argv = argv  # the command line as given (outputs record it, e.g. manifest.json)
        if not args.command:
            parser.print_help()
            raise InputError(f"a command is required: {', '.join(handlers)}", where=_CliWhere("tlm"))
        from tlm.config.yamlio import interrupt_on_sigterm
        restore.append(interrupt_on_sigterm())  # SIGTERM cleans up as Ctrl-C does (scratch folders, temporary files)
        return int(handlers[args.command](args) or 0)
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `tlm simulate | head`: the reader has what it wanted
        _silence_stdout()
        return 0
    except SystemExit as e:  # argparse --help / --version
        return int(e.code or 0) if isinstance(e.code, int) else 0
    except Exception as e:  # a bug in tlm, never the user's input
        print(f"internal error (a bug in tlm, please report it): {type(e).__name__}: {e}", file=sys.stderr)
        return 1


def _silence_stdout() -> None:
    """Standard output to /dev/null, so that the interpreter's last flush of a closed pipe prints nothing."""
    import os
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # redirected to an object in-process (tests)
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


def entry() -> None:
    from tlm.functional.threads import cli_defaults
    cli_defaults()  # one BLAS thread unless the user set a count: before numpy loads (README "Threads")
    try:
        code = main()
    except KeyboardInterrupt:  # a second Ctrl-C / SIGTERM while main() was cleaning up after the first
        code = 130
    if code != 130:
        sys.exit(code)
    _exit_interrupted()


def _exit_interrupted() -> None:
    """Exit 130 after an interruption, whatever arrives during the interpreter's own shutdown: the exit
    handlers run here (temporary folders removed), then the process ends without the shutdown steps in
    which a late KeyboardInterrupt made CPython end by SIGINT instead (seen once in CI: exit -2 after
    "interrupted" was printed)."""
    import atexit
    import os
    try:
        atexit._run_exitfuncs()
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
    except KeyboardInterrupt:
        pass
    os._exit(130)
