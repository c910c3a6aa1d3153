"""Entries kept between runs in the user's cache folder: what the ONNX importer (tlm/onnxio/cache.py) and
the YAML loader (tlm/config/yamlcache.py) store so that a second run skips their work.

The folder is $XDG_CACHE_HOME/imagine-tlm/KIND or ~/.cache/imagine-tlm/KIND; $TLM_CACHE_DIR replaces
~/.cache/imagine-tlm (an empty value turns every cache off).  An entry is one file, named by its caller
from the SHA-256 of what it stands for.  Concurrent runs: a writer writes a temporary file in the folder,
then renames it over the entry (os.replace), so each writes a whole entry, the last one stays and a reader
never sees half of one.  An entry is read only if it is a regular file of this user (opened without
following a symbolic link and without blocking on a FIFO); it is renamed over only when nothing or a
regular file is there (never a device, FIFO, socket or symbolic link someone put in the folder).  A
folder is kept under its caller's size (the least recently used entries go first).  Any error of the
cache itself (a read-only home, a full disk, a corrupt entry) only means the work is done again.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

MAX_ENTRY_BYTES = 64 << 20  # an entry larger than this is not read (a cache folder's whole size is smaller)
_FLAGS = sum(getattr(os, f, 0) for f in ("O_NONBLOCK", "O_NOFOLLOW", "O_CLOEXEC"))  # (where the system has them)


def folder(kind: str) -> Path | None:
    """The cache folder of `kind` ('onnx', 'yaml'), or None when caching is off ($TLM_CACHE_DIR='')."""
    env = os.environ.get("TLM_CACHE_DIR")
    if env is not None:
        return Path(env) / kind if env else None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "imagine-tlm" / kind


def sha256():
    """A new SHA-256 hash object, from the interpreter's own module when it has one (`hashlib` loads
    OpenSSL: ~3 ms at every start, more than the YAML cache saves)."""
    import importlib
    import sys
    try:  # the standard library's own module, named by version (a failed import searches the whole path)
        new = (importlib.import_module("_sha2") if sys.version_info >= (3, 12) else
               importlib.import_module("_sha256")).sha256
    except ImportError:
        from hashlib import sha256 as new
    return new()


def read(entry: Path) -> bytes | None | bool:
    """The bytes of `entry`; None when there is none; False when it cannot be an entry (not a regular
    file of this user, a symbolic link, too large, unreadable)."""
    try:
        fd = os.open(entry, os.O_RDONLY | _FLAGS)
    except FileNotFoundError:
        return None
    except OSError:  # ELOOP: a symbolic link; EACCES ...
        return False
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_ENTRY_BYTES or \
                (hasattr(os, "getuid") and st.st_uid != os.getuid()):
            return False
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(MAX_ENTRY_BYTES + 1)
    except OSError:
        return False
    finally:
        os.close(fd)
    if len(data) > MAX_ENTRY_BYTES:
        return False
    try:
        os.utime(entry, follow_symlinks=False)  # (recently used: kept longest)
    except (OSError, NotImplementedError):
        pass
    return data


def _replaceable(entry: Path) -> bool:
    """Nothing at `entry`, or a regular file (not a symbolic link, FIFO, device, socket or folder)."""
    try:
        return stat.S_ISREG(os.lstat(entry).st_mode)
    except FileNotFoundError:
        return True
    except OSError:
        return False


def write(entry: Path, data: bytes, max_bytes: int, pattern: str) -> None:
    """Write `entry` whole (a temporary file, then a rename), then trim its folder to `max_bytes` over the
    files matching `pattern`.  Errors are swallowed: no cache here, the work is done again next time."""
    import tempfile
    try:
        entry.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not _replaceable(entry):
            return
        fd, tmp = tempfile.mkstemp(dir=entry.parent, prefix=".tmp-", suffix=entry.suffix)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            if not _replaceable(entry):  # (something else appeared there meanwhile)
                raise OSError("not a regular file")
            os.replace(tmp, entry)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        trim(entry.parent, max_bytes, pattern)
    except OSError:
        pass


def trim(d: Path, max_bytes: int, pattern: str) -> None:
    """Remove the least recently used entries (files matching `pattern`) while they hold more than
    `max_bytes`.  Concurrent trims may remove the same file: a failed removal is skipped."""
    files = []
    for p in d.glob(pattern):
        try:
            st = os.lstat(p)
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode):
            files.append((st.st_mtime, st.st_size, p))
    total = sum(s for _t, s, _p in files)
    for _t, s, p in sorted(files):
        if total <= max_bytes:
            break
        try:
            p.unlink()
            total -= s
        except OSError:
            pass
