"""Where the shipped architectures and workloads live, and how a name on the command line finds them.

They ship inside the wheel as the packages `tlm._configs` and `tlm._workloads` (mapped from the repo's
`configs/` and `workloads/` folders in pyproject.toml), so `tlm simulate` works from any folder.
"""
from __future__ import annotations

from pathlib import Path

from tlm.errors import InputError, Where, did_you_mean

DEFAULT_ARCH = "imagine"
DEFAULT_WORKLOAD = "resnet8"
_REPO = Path(__file__).resolve().parents[2]


def shipped_dir(kind: str) -> Path:
    """The folder of shipped `configs` or `workloads`: the source checkout's own folder when tlm runs
    from one (editable install, PYTHONPATH), else the copy inside the installed wheel (tlm/_configs,
    tlm/_workloads)."""
    if (_REPO / kind).is_dir() and (_REPO / "pyproject.toml").is_file():
        return _REPO / kind
    return Path(__file__).resolve().parents[1] / {"configs": "_configs", "workloads": "_workloads"}[kind]


def shipped(kind: str) -> dict[str, Path]:
    """name -> path of every shipped file of a kind (yaml files; workloads may also be .onnx)."""
    d = shipped_dir(kind)
    if not d.is_dir():
        return {}
    out = {p.stem: p for p in sorted(d.glob("*.yaml"))}
    out.update({f"{p.parent.name}/{p.stem}": p for p in sorted(d.glob("*/*.yaml"))})  # e.g. published/jia
    return out


def resolve(arg: str | None, kind: str, default: str) -> Path:
    """A path given on the command line, or the name of a shipped file, or the default."""
    if arg is None:
        arg = default
    p = Path(arg)
    try:
        if p.exists():
            return p
    except (OSError, ValueError):  # a name too long for the file system, a NUL in it
        pass
    names = shipped(kind)
    stem = p.stem if p.suffix in (".yaml", ".yml") else p.name
    key = stem if len(p.parts) == 1 else f"{p.parent.as_posix()}/{stem}"
    if key in names and len(p.parts) <= 2:
        return names[key]
    hint = did_you_mean(key, names) if names else ""
    what = "architecture file" if kind == "configs" else "workload file"
    raise InputError(f"{what} not found; shipped {kind}: {', '.join(names)}{hint}", Where(str(arg)))
