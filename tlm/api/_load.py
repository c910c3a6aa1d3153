"""Loading architectures and workloads for the public API (tlm/api/__init__.py): objects, files, shipped
names, ONNX models or dicts, with `--set`-style overrides (tlm/config/overrides.py)."""
from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

from tlm.errors import InputError, Where

if TYPE_CHECKING:  # for the annotations only: nothing heavy at import
    from tlm.config.arch import Arch
    from tlm.config.workload import Workload

ArchLike = Union["Arch", str, os.PathLike, Mapping[str, Any], None]
WorkloadLike = Union["Workload", str, os.PathLike, Mapping[str, Any], None]
Overrides = Union[Mapping[str, Any], Sequence[str], None]


def _path_of(arg, kind: str, default: str) -> Path:
    from tlm.config.paths import resolve
    return resolve(None if arg is None else str(arg), kind, default)


def load_arch(arch: ArchLike = None, overrides: Overrides = None) -> Arch:
    """An architecture: an `Arch` (returned as is), a YAML path, a shipped name (default: imagine) or a
    dict in the YAML format; then `overrides` applied ({'macro.count': 4}, checked as `--set` is)."""
    from tlm.config.arch import Arch, arch_from_dict
    from tlm.config.arch import load_arch as _load
    from tlm.config.paths import DEFAULT_ARCH
    if isinstance(arch, Arch):
        a = arch
    elif isinstance(arch, Mapping):
        a = arch_from_dict(dict(arch))
    else:
        a = _load(_path_of(arch, "configs", DEFAULT_ARCH))
    return apply_overrides(a, None, overrides)[0] if overrides else a


def load_workload(workload: WorkloadLike = None, arch: ArchLike = None, overrides: Overrides = None) -> Workload:
    """A workload: a `Workload`, a YAML path, a shipped name (default: resnet8), an .onnx model or a dict
    in the YAML format; checked against `arch` when one is given (precisions it supports), then
    `overrides` of workload paths applied ({'workload.precision': 4})."""
    from tlm.config.paths import DEFAULT_WORKLOAD
    from tlm.config.workload import Workload, check_against, parse_workload
    from tlm.config.workload import load_workload as _load
    if isinstance(workload, Workload):
        wl = workload
    elif isinstance(workload, Mapping):
        wl = parse_workload(dict(workload))
    else:
        path = _path_of(workload, "workloads", DEFAULT_WORKLOAD)
        if path.suffix.lower() == ".onnx":
            from tlm.onnxio.graph import load_onnx
            wl = load_onnx(path)
        else:
            wl = _load(path)
    a = None if arch is None else load_arch(arch)
    if a is not None:
        check_against(wl, a)
    if overrides:
        if a is None:
            from tlm.config.arch import load_arch as _load_arch
            from tlm.config.paths import DEFAULT_ARCH
            a = _load_arch(_path_of(None, "configs", DEFAULT_ARCH))
        wl = apply_overrides(a, wl, overrides)[1]
    return wl


def _override_texts(overrides: Overrides) -> list[str]:
    """{path: value} (or `PATH=VALUE` strings) as the command line's `--set` texts."""
    if not overrides:
        return []  # (tlm/config/overrides.py not even imported: a run without --set never needs it)
    from tlm.config.overrides import format_cell
    if isinstance(overrides, str):
        raise TypeError("overrides: a dict {path: value} or a list of 'PATH=VALUE' strings, not one string")
    if not isinstance(overrides, Mapping):
        return [str(t) for t in overrides]
    out = []
    for path, v in overrides.items():
        if isinstance(v, (list, tuple, dict, set)):
            raise InputError(f"takes one value here, found {v!r} (sweep() evaluates lists)", Where("overrides"),
                             str(path))
        out.append(f"{path}={format_cell(v)}")
    return out


def apply_overrides(arch: Arch, workload: Workload | None = None, overrides: Overrides = None):
    """(arch, workload) with `overrides` applied: {path: value} with the paths of `--set` (architecture
    fields such as 'macro.count', workload ones such as 'workload.precision' or 'precision.weight'),
    each value checked and the result validated as the YAML files are (tlm/config/overrides.py)."""
    texts = _override_texts(overrides)
    if not texts:
        return arch, workload
    from tlm.config.overrides import override
    return override(arch, workload, texts)


def _prepared(arch, workload, overrides, mapping):
    a = load_arch(arch)
    wl = load_workload(workload, a)
    a, wl = apply_overrides(a, wl, overrides)
    if mapping:
        from tlm.mapping.mapper import with_policy
        a = with_policy(a, mapping, f"--mapping {mapping} (command line)")
    return a, wl
