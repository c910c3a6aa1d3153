"""Arguments and loading shared by the subcommands."""
from __future__ import annotations

from pathlib import Path

from tlm.config.paths import DEFAULT_ARCH, DEFAULT_WORKLOAD, shipped


def add_arch_workload(p, workload=True, default_workload=DEFAULT_WORKLOAD):
    p.add_argument("arch", nargs="?", metavar="ARCH.yaml",
                   help=f"architecture file or shipped name (default: {DEFAULT_ARCH})")
    if workload:
        p.add_argument("workload", nargs="?", metavar="WORKLOAD",
                       help=f"workload file or shipped name (default: {default_workload})")


def split_arch_workload(arch_arg, workload_arg):
    """`tlm simulate resnet8` or `tlm simulate my_net.onnx`: a lone positional that is a workload (a
    shipped workload name, an .onnx file, or a YAML file with `layers:`) is taken as the workload."""
    if arch_arg is None or workload_arg is not None:
        return arch_arg, workload_arg
    p = Path(arch_arg)
    try:
        exists = p.exists()
    except (OSError, ValueError):  # a name too long for the file system, a NUL: resolve() reports it
        exists = False
    if exists:
        if p.suffix.lower() == ".onnx":
            return None, arch_arg
        try:
            head = p.read_text(encoding="utf-8", errors="replace")[:200_000]
        except OSError:
            return arch_arg, workload_arg
        import re
        if re.search(r"^layers\s*:", head, re.M):
            return None, arch_arg
        return arch_arg, workload_arg
    if arch_arg not in shipped("configs") and arch_arg in shipped("workloads"):
        return None, arch_arg
    return arch_arg, workload_arg


def load_arch_arg(arg):
    """An architecture file or shipped name (default: imagine), through the API (tlm/api/_load.py)."""
    from tlm.api import load_arch
    return load_arch(arg)


def load_workload_arg(arg, arch=None):
    """A workload YAML or ONNX model (or shipped name), checked against `arch` (tlm/api/_load.py)."""
    from tlm.api import load_workload
    return load_workload(arg, arch)


def console(stderr=False):
    import sys

    from tlm.present.tables import console_width
    stream = sys.stderr if stderr else sys.stdout
    # $COLUMNS, else the terminal's width, else (a pipe or file) 80: see tlm/present/tables.py
    return _console_class()(stderr=stderr, highlight=False, soft_wrap=False, width=console_width(stream))


def _console_class():
    """rich's Console, but a closed pipe (`tlm simulate | head`) raises BrokenPipeError, which the CLI
    turns into a quiet exit 0 (tlm/cli/__init__.py), instead of rich's SystemExit(1)."""
    global _CONSOLE
    if _CONSOLE is None:
        from rich.console import Console

        class PipeConsole(Console):
            def on_broken_pipe(self) -> None:
                self.quiet = True
                raise BrokenPipeError("standard output closed")
        _CONSOLE = PipeConsole
    return _CONSOLE


_CONSOLE = None


def add_set(p, workload=True):
    """`--set PATH=VALUE` (repeatable): the paths, values, checks and did-you-mean of `tlm sweep --set`,
    one value each (tlm/config/overrides.py)."""
    what = "an architecture field or workload path" if workload else "an architecture field"
    p.add_argument("--set", action="append", default=[], metavar="PATH=VALUE", dest="set",
                   help=f"change {what} for this run, e.g. macro.count=4 or workload.precision=4 "
                        "(the paths of `tlm sweep --list`); repeatable")


class Steps:
    """A progress bar over the steps of a long command, on stderr and only when stderr is a terminal
    (never in a pipe or a file; transient: it is gone once the command is done).

        with Steps(5, "accuracy") as steps:
            steps.step("loading images"); ...; steps.done()
    """

    def __init__(self, total: int, label: str, quiet: bool = False):
        import sys
        self.total, self.label = total, label
        self.enabled = not quiet and sys.stderr.isatty()
        self._p = self._task = None

    def __enter__(self):
        if self.enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
            self._p = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                               TimeElapsedColumn(), console=console(stderr=True), transient=True)
            self._task = self._p.add_task(self.label, total=self.total)
            self._p.start()
        return self

    def step(self, what: str) -> None:
        """Say what is being done now (shown beside the bar)."""
        if self._p is not None:
            self._p.update(self._task, description=f"{self.label}: {what}")

    def done(self, n: int = 1) -> None:
        """`n` more steps are done."""
        if self._p is not None:
            self._p.advance(self._task, n)

    def __exit__(self, *exc):
        if self._p is not None:
            self._p.stop()
        return False
