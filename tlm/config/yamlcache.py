"""Parsed YAML files kept between runs: a second `tlm simulate` does not parse its configuration again.

Parsing a file with positions (tlm/config/yamlio.py: libyaml scans, the composing and constructing with
positions stay in Python) costs ~3 ms for configs/imagine.yaml; reading its parsed tree back (pickle) costs
~0.1 ms and hashing the text ~0.05 ms.  An entry is the tree `load_file` returned for a file that loaded
without error (YDict/YList with every position, the file name they name), pickled, in the user's cache
folder ($XDG_CACHE_HOME/imagine-tlm/yaml, or $TLM_CACHE_DIR/yaml; TLM_CACHE_DIR='' turns it off).  Its
name is the SHA-256 of the file's text, of the name the positions print and of the loader's version (a
hash of yamlio.py, of this file, of the parser it uses (libyaml or not) and of the package's, PyYAML's and
Python's versions): a changed file, name or loader never reads an older entry.  A file that does not load
is parsed every time, so its error (file, line, column) is the parser's own.  Reading, writing,
concurrency, corrupt entries and the folder's size: tlm/filecache.py (an entry that does not read back is
parsed again and rewritten).  Entries are pickles, read only when they are regular files of this user,
in a folder created for this user only (the trust Python gives its own __pycache__ files).
"""
from __future__ import annotations

import pickle
import sys
from pathlib import Path

from tlm import filecache

MAX_BYTES = 32 << 20  # the whole folder; the shipped configs and workloads take ~5-20 kB each
_VERSIONS: dict = {}  # the loader's version, computed once per process


def _version(code: tuple) -> bytes:
    """A hash of `code` (texts, and paths whose bytes count) with this file, the package, PyYAML and Python."""
    v = _VERSIONS.get(code)
    if v is None:
        import yaml

        from tlm._version import __version__
        h = filecache.sha256()
        for part in (__version__, yaml.__version__, sys.version, *code, Path(__file__)):
            h.update((part.read_bytes() if isinstance(part, Path) else str(part).encode()) + b"\0")
        v = _VERSIONS[code] = h.digest()
    return v


def _entry(text: str, file: str, code: tuple) -> Path | None:
    d = filecache.folder("yaml")
    if d is None:
        return None
    try:
        h = filecache.sha256()
        h.update(_version(code))
        h.update(file.encode("utf-8", "surrogateescape") + b"\0")
        h.update(text.encode("utf-8", "surrogateescape"))
    except OSError:  # the loader's sources unreadable: no cache
        return None
    return d / f"{h.hexdigest()}.pickle"


def load(text: str, file: str, parse, accept, code: tuple):
    """The tree of YAML `text` read from `file`: the cached one, or `parse()`'s, kept when `accept(tree)`
    (a file that loads with an error raises from `parse()` and is never kept).  `code`: what the parser's
    version is made of (texts, and paths of its source files)."""
    entry = _entry(text, file, code)
    if entry is not None:
        raw = filecache.read(entry)
        if raw:
            try:
                tree = pickle.loads(raw)
            except Exception:  # noqa: BLE001  (truncated, edited, from another version: parsed again)
                tree = None
            if tree is not None and accept(tree):
                return tree
    tree = parse()
    if entry is not None and accept(tree):
        try:
            data = pickle.dumps(tree, protocol=pickle.HIGHEST_PROTOCOL)
        except (pickle.PicklingError, TypeError, RecursionError):
            return tree
        filecache.write(entry, data, MAX_BYTES, "*.pickle")
    return tree
