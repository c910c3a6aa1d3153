"""Output paths of a command, checked together before anything is computed or written.

`tlm simulate --json D/layers.csv --csv D` would write the JSON, then replace it with the CSV;
`--json X --csv X` needs X as a file and as a folder.  `check_output_paths` refuses such collisions in
one line naming both options, before the run (the files themselves are written by
`yamlio.atomic_write_all`, which refuses the same collisions again as a last resort).  `-` (standard
output) is accepted for single-file outputs only.

`quiet_matplotlib_config()` points Matplotlib at a private temporary config folder when the user's one
cannot be written (a read-only HOME), so that plotting prints no multi-line warning.
"""
from __future__ import annotations

import os
from pathlib import Path

from tlm.errors import InputError, Where
from tlm.config.yamlio import STDOUT


def _key(path) -> str:
    return os.path.normpath(os.path.abspath(path))


def check_output_paths(command: str, files: dict, folders: dict | None = None) -> None:
    """`files`: {option: path or None} of single-file outputs; `folders`: {option: (folder or None, file
    names written into it)}.  InputError when two options write one path, or one writes inside another's
    file, or a folder option names '-' or an existing non-folder."""
    where = Where(f"tlm {command} (command line)")
    targets = {}  # normalized path -> option
    to_stdout = [opt for opt, p in files.items() if p is not None and str(p) == STDOUT]
    if len(to_stdout) > 1:
        raise InputError(f"{' and '.join(to_stdout)} would both write to standard output ('-')", where,
                         to_stdout[-1])
    for opt, p in files.items():
        if p is not None and str(p) != STDOUT:
            _claim(targets, _key(p), opt, where)
    for opt, (folder, names) in (folders or {}).items():
        if folder is None:
            continue
        if str(folder) == STDOUT:
            raise InputError(f"{opt} names a folder; '-' (standard output) is only for single-file outputs",
                             where, opt)
        if os.path.exists(folder) and not os.path.isdir(folder):
            raise InputError(f"{opt} {folder}: expected a folder, found a file or device", where, opt)
        for name in names:
            _claim(targets, _key(Path(folder) / name), opt, where)
    for k, opt in targets.items():
        for parent in Path(k).parents:
            other = targets.get(str(parent))
            if other is not None:
                raise InputError(f"{opt} would write {k} inside {parent}, which {other} writes as a file",
                                 where, opt)


def _claim(targets: dict, key: str, opt: str, where: Where) -> None:
    if key in targets:
        raise InputError(f"{targets[key]} and {opt} would both write {key}", where, opt)
    targets[key] = opt


def _writable_dir(d: str) -> bool:
    import tempfile
    try:
        os.makedirs(d, exist_ok=True)
        with tempfile.TemporaryFile(dir=d):
            return True
    except (OSError, ValueError):
        return False


def quiet_matplotlib_config() -> None:
    """Before matplotlib is imported: when its config/cache folder (MPLCONFIGDIR, or ~/.config and
    ~/.cache) cannot be written, use a private temporary folder instead of letting matplotlib warn about
    it over several lines (it would make one itself, noisily)."""
    if "matplotlib" in __import__("sys").modules:
        return
    env = os.environ.get("MPLCONFIGDIR")
    if env:
        dirs = [env]
    else:
        home = os.path.expanduser("~")
        dirs = [os.path.join(os.environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config"), "matplotlib"),
                os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.join(home, ".cache"), "matplotlib")]
    if all(_writable_dir(d) for d in dirs):
        return
    import atexit
    import shutil
    import tempfile
    try:
        tmp = tempfile.mkdtemp(prefix="tlm-matplotlib-")  # removed at exit (SIGTERM too: tlm/cli/__init__.py)
    except OSError:  # no usable $TMPDIR: Matplotlib finds its own way (or says so)
        return
    atexit.register(shutil.rmtree, tmp, True)
    os.environ["MPLCONFIGDIR"] = tmp


def require_regular_file(path, opt: str, why: str, command: str) -> None:
    """An output that must be a regular file (it is appended to and read back): '-', a device, a FIFO or
    a folder is refused in one line; a missing file is fine."""
    where = Where(str(path))
    if str(path) == STDOUT:
        raise InputError(f"{opt} must name a regular file ({why}), not '-'", Where(f"tlm {command} (command line)"),
                         opt)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            raise InputError("cannot write: a symbolic link to nothing", where) from None
        return
    except (OSError, ValueError):
        return  # the writer reports it (a NUL, a file as folder, ...)
    import stat
    if not stat.S_ISREG(st.st_mode):
        raise InputError(f"expected a regular file ({why}), found a device, FIFO or folder", where)


def scratch_folder(stack, prefix: str = "tlm-") -> Path:
    """A temporary folder removed when `stack` (a contextlib.ExitStack) closes -- on SIGTERM too (it is
    turned into KeyboardInterrupt until then, as Ctrl-C).  InputError in one line when none can be made
    (no writable $TMPDIR, a zero file-size limit)."""
    import tempfile
    from tlm.config.yamlio import interrupt_on_sigterm
    stack.callback(interrupt_on_sigterm())  # (callbacks run last-in first-out: the folder goes first)
    try:
        return Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=prefix)))
    except OSError as e:
        where = os.environ.get("TMPDIR") or "/tmp"
        raise InputError(f"cannot make a scratch folder: {' '.join(str(e.strerror or e).split())[:200]}",
                         Where(where), "$TMPDIR") from None
