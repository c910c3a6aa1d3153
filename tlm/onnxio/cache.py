"""Converted ONNX workloads kept between runs: a second `tlm simulate model.onnx` costs what a YAML costs.

An entry is the workload mapping the importer made of a file (tlm/onnxio/graph.onnx_to_workload_data), as
JSON, named by the SHA-256 of the file's bytes (and of its name, which names the workload) and the
importer's version (a hash of the importer's own
source files and the package version: a changed importer never reads an older entry).  The folder is the
user's cache folder, $XDG_CACHE_HOME/imagine-tlm/onnx or ~/.cache/imagine-tlm/onnx ($TLM_CACHE_DIR
replaces ~/.cache/imagine-tlm; an empty value turns the cache off).  Entries are read and written by
tlm/filecache.py: concurrent runs each write a whole entry and the last one stays, a reader never sees
half of one, only regular files of this user are read or renamed over.  The folder is kept under
MAX_BYTES (the least recently used entries go first).  An entry that does not read back (truncated,
edited) is converted again and rewritten, with one note saying so.  Any error of the cache itself (a
read-only home, a full disk) only means the model is converted as if there were none.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tlm import filecache

MAX_BYTES = 64 << 20  # the whole folder; a converted ResNet-50 is ~100 kB
_SOURCES = ("graph.py", "shapes.py")  # the importer: its version is a hash of these


def folder() -> Path | None:
    return filecache.folder("onnx")


def importer_version() -> str:
    from tlm._version import __version__
    h = hashlib.sha256(__version__.encode())
    here = Path(__file__).parent
    for name in _SOURCES:
        h.update((here / name).read_bytes())
    return h.hexdigest()[:16]


def _entry(path) -> Path | None:
    """The entry of the file at `path`, or None (no cache folder, or the file cannot be read here: the
    importer then says why)."""
    d = folder()
    if d is None:
        return None
    try:
        p = Path(path)
        if not p.is_file() or p.stat().st_size > (1 << 30):
            return None
        digest = hashlib.sha256(p.read_bytes()).hexdigest()
        name = hashlib.sha256(p.name.encode("utf-8", "surrogateescape")).hexdigest()[:8]  # (the workload's name)
        return d / f"{digest}-{importer_version()}-{name}.json"
    except (OSError, ValueError):
        return None


def _read(entry: Path):
    """The cached mapping, None when there is no entry, or False when the entry does not read back."""
    raw = filecache.read(entry)
    if raw is None or raw is False:
        return raw
    try:
        data = json.loads(raw.decode("utf-8"))
    except ValueError:  # (UnicodeDecodeError too)
        return False
    if not isinstance(data, dict) or not isinstance(data.get("layers"), list) or "input" not in data:
        return False
    return data


def _write(entry: Path, data: dict) -> None:
    filecache.write(entry, json.dumps(data, separators=(",", ":")).encode("utf-8"), MAX_BYTES, "*.json")


def cached_workload_data(path, convert):
    """The importer's workload mapping of the ONNX file at `path`: from the cache, or `convert()` (kept)."""
    entry = _entry(path)
    if entry is None:
        return convert()
    data = _read(entry)
    if isinstance(data, dict):
        return data
    fresh = convert()
    _write(entry, fresh)
    if data is False:
        fresh = dict(fresh, notes=list(fresh.get("notes", [])) + [
            f"the cached conversion of {Path(path).name} ({entry}) did not read back: converted again"])
    return fresh
