"""Arguments and loading shared by the subcommands."""
from __future__ import annotations

from pathlib import Path

from ..arch import load_arch
from ..paths import DEFAULT_ARCH, DEFAULT_WORKLOAD, resolve, shipped
from ..workload import check_against, load_workload


def add_arch_workload(p, workload=True):
    p.add_argument("arch", nargs="?", metavar="ARCH.yaml",
                   help=f"architecture file or shipped name (default: {DEFAULT_ARCH})")
    if workload:
        p.add_argument("workload", nargs="?", metavar="WORKLOAD",
                       help=f"workload file or shipped name (default: {DEFAULT_WORKLOAD})")


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
    return load_arch(resolve(arg, "configs", DEFAULT_ARCH))


def load_workload_arg(arg, arch=None):
    """A workload YAML (or, when the importer is installed, an ONNX model), checked against `arch`."""
    path = resolve(arg, "workloads", DEFAULT_WORKLOAD)
    loader = _loaders().get(Path(path).suffix.lower(), load_workload)
    wl = loader(path)
    if arch is not None:
        check_against(wl, arch)
    return wl


def _loaders():
    """Workload loaders by file suffix; other modules register here.  The ONNX importer is imported only
    when an .onnx file is given (it needs the optional `onnx` package)."""
    return WORKLOAD_LOADERS


def _load_onnx(path):
    from ..onnx_import import load_onnx
    return load_onnx(path)


WORKLOAD_LOADERS: dict = {".onnx": _load_onnx}


def console(stderr=False):
    import sys

    from rich.console import Console
    stream = sys.stderr if stderr else sys.stdout
    # a pipe or file gets a fixed width, so the same run prints the same bytes anywhere
    width = None if stream.isatty() else 120
    return Console(stderr=stderr, highlight=False, soft_wrap=False, width=width)
