"""YAML in (safe, with line numbers and `extends:`) and files out (atomically).

Every mapping and sequence loaded here remembers the file and the line/column of each of its entries,
so that validation errors can name them.  Only `yaml.SafeLoader` is used.  Aliases are limited so that
an alias bomb is refused quickly.
"""
from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import yaml

from tlm.errors import InputError, Where

# Limits that keep a bad file from hanging the (pure-Python) parser or exhausting memory; parsing costs
# ~40 us per value on a 2-core machine, so these bound a refusal to a few seconds (docs/robustness.md).
MAX_YAML_BYTES = 1024 * 1024  # refuse larger inputs: a 7,000-layer workload is ~0.5 MB
MAX_ALIASES = 1000  # an alias bomb expands exponentially; real files use a handful of anchors
MAX_NODES = 100_000  # YAML values parsed, counted as they are read (and again when `<<:` merges copy them)
MAX_DEPTH = 64  # nesting of mappings/sequences; real files nest 4 deep
MAX_EXTENDS = 32  # files in one `extends:` chain; real configs chain 2 or 3 (and recursion stays shallow)
NAME_MAX, PATH_MAX = 255, 4096  # bytes of one path component / of a whole path (Linux)


class YDict(dict):
    """A dict that knows the file and position of each key (`where(key)`)."""

    file: str = "<input>"
    pos: tuple[int, int] | None = None

    def __init__(self, *a, **k):
        super().__init__(*a, **k)
        self.positions: dict = {}

    def where(self, key=None) -> Where:
        p = self.positions.get(key, self.pos) if key is not None else self.pos
        if p is not None and len(p) == 3:  # (line, col, file): a key merged in from an `extends:` base
            return Where(p[2], p[0], p[1])
        return Where(self.file, *(p or (None, None)))


class YList(list):
    """A list that knows the file and position of each item (`where(i)`)."""

    file: str = "<input>"
    pos: tuple[int, int] | None = None

    def __init__(self, *a):
        super().__init__(*a)
        self.positions: list = []

    def where(self, i=None) -> Where:
        p = self.positions[i] if i is not None and i < len(self.positions) else self.pos
        return Where(self.file, *(p or (None, None)))


def _mark(node) -> tuple[int, int]:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


try:  # libyaml scans and parses ~10x faster; composing and constructing stay in Python (the hooks below)
    from yaml._yaml import CParser as _CParser

    class _Base(yaml.composer.Composer, yaml.constructor.SafeConstructor, yaml.resolver.Resolver, _CParser):
        def __init__(self, stream):
            _CParser.__init__(self, stream)
            yaml.composer.Composer.__init__(self)
            yaml.constructor.SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)
except ImportError:  # PyYAML without libyaml
    _Base = yaml.SafeLoader


class _Hooks:
    """Safe loading that builds YDict/YList with positions and bounds size, depth and alias expansion."""

    def __init__(self, stream, file: str):
        super().__init__(stream)
        self.file = file
        self.n_aliases = 0
        self.n_nodes = 0
        self.depth = 0

    def compose_node(self, parent, index):
        ev = self.peek_event()
        where = lambda: Where(self.file, ev.start_mark.line + 1, ev.start_mark.column + 1)  # noqa: E731
        self._count(1, where)
        if isinstance(ev, yaml.AliasEvent):
            self.n_aliases += 1
            if self.n_aliases > MAX_ALIASES:
                raise InputError(f"more than {MAX_ALIASES} YAML aliases (an alias bomb?)", where())
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise InputError(f"YAML nested more than {MAX_DEPTH} levels deep", where())
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def compose_document(self):
        node = super().compose_document()
        if self.n_aliases:
            self._expanded_size(node, {})
        return node

    def _expanded_size(self, node, memo) -> int:
        """Values the document holds once every alias is expanded (shared nodes counted each time they
        are used): whatever later walks the data (an error message, a copy) stays bounded."""
        key = id(node)
        if key in memo:
            if memo[key] is None:
                raise InputError("an alias refers to a value that contains it", Where(self.file, *_mark(node)))
            return memo[key]
        memo[key] = None
        n = 1
        if isinstance(node, yaml.SequenceNode):
            n += sum(self._expanded_size(c, memo) for c in node.value)
        elif isinstance(node, yaml.MappingNode):
            n += sum(self._expanded_size(k, memo) + self._expanded_size(v, memo) for k, v in node.value)
        if n > MAX_NODES:
            raise InputError(f"more than {MAX_NODES} YAML values once aliases are expanded (an alias bomb?)",
                             Where(self.file, *_mark(node)))
        memo[key] = n
        return n

    def construct_object(self, node, deep=False):
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError) as e:  # e.g. a 5000-digit integer, a 13th month
            why = "an integer of more than 4300 digits" if "digits" in str(e) else str(e)
            raise InputError(f"cannot read this value: {why}", Where(self.file, *_mark(node))) from None

    def flatten_mapping(self, node):
        """`<<:` merge keys copy the merged pairs: count them (a chain of merges doubles at each step)."""
        super().flatten_mapping(node)
        self._count(len(node.value), lambda: Where(self.file, *_mark(node)))

    def _count(self, n, where):
        self.n_nodes += n
        if self.n_nodes > MAX_NODES:
            raise InputError(f"more than {MAX_NODES} YAML values (too big a file, or an alias bomb)", where())

    def construct_yaml_map(self, node):
        d = YDict()
        d.file, d.pos = self.file, _mark(node)
        yield d
        self.flatten_mapping(node)
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                raise InputError("a mapping key must be a plain value", Where(self.file, *_mark(key_node)))
            if key in d:
                raise InputError(f"duplicate key '{key}'", Where(self.file, *_mark(key_node)))
            d[key] = self.construct_object(value_node, deep=True)
            d.positions[key] = _mark(key_node)

    def construct_yaml_seq(self, node):
        lst = YList()
        lst.file, lst.pos = self.file, _mark(node)
        yield lst
        for child in node.value:
            lst.append(self.construct_object(child, deep=True))
            lst.positions.append(_mark(child))


class _Loader(_Hooks, _Base):
    pass


class _PyLoader(_Hooks, yaml.SafeLoader):
    """The same loader entirely in Python (used when libyaml is missing; tests compare the two)."""


for _cls in (_Loader, _PyLoader):
    _cls.add_constructor("tag:yaml.org,2002:map", _Hooks.construct_yaml_map)
    _cls.add_constructor("tag:yaml.org,2002:seq", _Hooks.construct_yaml_seq)


def load_text(text: str, file: str = "<input>", _loader=None):
    """Parse YAML text into YDict/YList/scalars; malformed YAML raises InputError."""
    loader = None
    try:
        loader = (_loader or _Loader)(text, file)  # the reader already refuses control characters
        return loader.get_single_data()
    except InputError:
        raise
    except yaml.MarkedYAMLError as e:
        m = e.problem_mark or e.context_mark
        where = Where(file, m.line + 1, m.column + 1) if m else Where(file)
        what = f"{e.context}, {e.problem}" if e.context and (e.problem or "").startswith("but") else \
            (e.problem or e.context)
        raise InputError(f"malformed YAML: {what}", where) from None
    except yaml.reader.ReaderError as e:  # a control character: position is a character offset
        line = text.count("\n", 0, e.position) + 1
        col = e.position - (text.rfind("\n", 0, e.position) + 1) + 1
        code = e.character if isinstance(e.character, int) else ord(e.character)
        raise InputError(f"malformed YAML: control character U+{code:04X} is not allowed",
                         Where(file, line, col)) from None
    except yaml.YAMLError as e:
        raise InputError(f"malformed YAML: {e}", Where(file)) from None
    except RecursionError:
        raise InputError("YAML nested too deeply", Where(file)) from None
    finally:
        if loader is not None:
            loader.dispose()


def read_text(path: str | os.PathLike, what: str = "file", regular_only: bool = False) -> str:
    """The UTF-8 text of a file, read bounded.  A device or pipe (`/dev/zero`, `<(...)`) is read up to the
    size limit, unless `regular_only` (an `extends:` base: only regular files); a FIFO is opened without
    blocking, so one with no writer is refused at once instead of hanging."""
    p = Path(path)
    try:
        st = os.stat(p)
    except (OSError, ValueError):  # ValueError: a NUL in the name
        raise InputError(f"{what} not found", Where(str(path))) from None
    if stat.S_ISDIR(st.st_mode):
        raise InputError(f"{what} is a directory, expected a file", Where(str(path)))
    if regular_only and not stat.S_ISREG(st.st_mode):
        raise InputError(f"{what} is not a regular file (a device, FIFO or socket)", Where(str(path)))
    too_big = f"over the {MAX_YAML_BYTES}-byte limit"
    if st.st_size > MAX_YAML_BYTES and stat.S_ISREG(st.st_mode):
        raise InputError(f"file is {st.st_size} bytes, {too_big}", Where(str(path)))
    try:
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)  # a FIFO without writer: no blocking open
        with os.fdopen(fd, "rb") as f:
            os.set_blocking(fd, True)
            data = f.read(MAX_YAML_BYTES + 1)  # bounded read: a device or pipe (/dev/zero) reports no size
        if len(data) > MAX_YAML_BYTES:
            raise InputError(f"file is {too_big}", Where(str(path)))
        if not data and stat.S_ISFIFO(st.st_mode):
            raise InputError("nothing to read: a FIFO with no writer", Where(str(path)))
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError(f"not UTF-8 text (byte {e.start})", Where(str(path))) from None
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror}", Where(str(path))) from None


def load_file(path: str | os.PathLike, what: str = "file", regular_only: bool = False):
    """Load a YAML file; the top level must be a mapping.  A file that loaded before (the same text and
    name) is read from the cache of parsed files (tlm/config/yamlcache.py)."""
    from tlm.config import yamlcache
    text, file = read_text(path, what, regular_only), str(path)
    data = yamlcache.load(text, file, lambda: load_text(text, file), lambda d: isinstance(d, YDict),
                          (Path(__file__), _Base.__name__))
    if not isinstance(data, YDict):
        raise InputError(f"the top level of a {what} must be a mapping of fields",
                         Where(str(path), 1, 1))
    return data


def deep_merge(base, over):
    """`over` on top of `base`, recursively for mappings; positions follow the value's own file."""
    if isinstance(base, YDict) and isinstance(over, YDict):
        out = YDict()
        out.file, out.pos = over.file, over.pos
        for k, v in base.items():
            out[k] = v
            out.positions[k] = _in_file(base.positions.get(k), base.file, out.file)
        for k, v in over.items():
            out[k] = deep_merge(base[k], v) if k in base else v
            out.positions[k] = over.positions.get(k)
        return out
    return over


def _in_file(pos, file, into):
    """A position of `file` kept in a mapping of file `into`: (line, col, file) when the files differ."""
    if pos is None or len(pos) == 3 or file == into:
        return pos
    return (pos[0], pos[1], file)


def shipped_base(name: str, shipped: dict | None) -> Path | None:
    """The shipped file `name` refers to (`imagine` or `imagine.yaml`, a bare name without a folder),
    or None."""
    if not shipped or not name or "\\" in name or name.count("/") > 1 or name.startswith(("/", ".")):
        return None  # a bare name, or one folder of the shipped set (published/jia_jssc2020), as on the command line
    stem = name[:-5] if name.endswith(".yaml") else name[:-4] if name.endswith(".yml") else name
    return shipped.get(stem)


def resolve_base(name: str, from_path: Path, shipped: dict | None = None) -> Path | None:
    """The file `extends: name` in `from_path` means: a path relative to the folder of the file that
    says it (or absolute) when that file exists, else the shipped file of that name (`shipped`: name ->
    path); None when neither exists."""
    try:
        rel = (Path(from_path).parent / name).resolve()
        if rel.is_file():
            return rel
    except (OSError, ValueError):  # a name too long for the file system, a NUL in it
        pass
    base = shipped_base(name, shipped)
    return base.resolve() if base is not None else None


def extends_reference(base: Path, dest: Path, shipped: dict | None = None) -> str:
    """What to write after `extends:` in a file saved as `dest` so that it names `base`: the shipped
    name when `base` is a shipped file, else a path relative to `dest`'s folder (absolute if there is
    none, e.g. another drive)."""
    base = Path(base).resolve()
    for stem, p in (shipped or {}).items():
        if Path(p).resolve() == base:
            return stem
    try:
        return Path(os.path.relpath(base, Path(dest).resolve().parent)).as_posix()
    except ValueError:
        return str(base)


def load_with_extends(path: str | os.PathLike, what: str = "file", _seen=(), shipped: dict | None = None,
                      adjust=None, text: str | None = None):
    """Load a YAML file that may name a base file with `extends:` (see `resolve_base`: a path relative
    to the file itself, or a shipped name such as `imagine`).  `adjust(base, data)`, if given, edits each
    loaded base mapping in place before the file's own keys are merged over it.  `text`: read the file
    `path` from this text instead (what is about to be written there)."""
    path = Path(path)
    # a base file must be a regular file; `text`: the file's text as it is about to be written (checked first)
    data = load_file(path, what, regular_only=bool(_seen)) if text is None else load_text(text, str(path))
    if "extends" not in data:
        return data
    base_name = data["extends"]
    if not isinstance(base_name, str):
        raise InputError("expected a file name", data.where("extends"), "extends")
    _check_base_name(base_name, data, _seen + (path.resolve(),))
    rel = path.parent / base_name
    try:
        here = rel.exists() or rel.is_symlink()  # any file type: load_file refuses non-regular ones
    except (OSError, ValueError):
        here = False
    base_path = _resolve(rel, data) if here else resolve_base(base_name, path, shipped)
    if base_path is None:
        from tlm.errors import did_you_mean
        names = sorted(shipped or ())
        stem = base_name[:-5] if base_name.endswith(".yaml") else base_name
        hint = (f"; shipped: {', '.join(names)}{did_you_mean(stem, names)}" if names else "")
        raise InputError(f"base file '{base_name}' not found next to this file{hint}",
                         data.where("extends"), "extends")
    if base_path in _seen or base_path == path.resolve():
        raise InputError(f"'{base_name}' extends itself in a cycle", data.where("extends"), "extends")
    base = load_with_extends(base_path, what, _seen + (path.resolve(),), shipped, adjust)
    if adjust is not None:
        adjust(base, data)
    over = YDict({k: v for k, v in data.items() if k != "extends"})
    over.file, over.pos = data.file, data.pos
    over.positions = {k: p for k, p in data.positions.items() if k != "extends"}
    return deep_merge(base, over)


def _resolve(p: Path, data) -> Path:
    try:
        return p.resolve()
    except (RuntimeError, OSError) as e:  # a symbolic link loop (RuntimeError before Python 3.13)
        raise InputError(f"cannot resolve the file name: {getattr(e, 'strerror', None) or e}",
                         data.where("extends"), "extends") from None


def _check_base_name(name: str, data, chain: tuple) -> None:
    """Before the name is resolved: no NUL, no over-long name, a bounded chain of files (`chain`: the
    files so far, this one last)."""
    where = data.where("extends")
    if "\x00" in name:
        raise InputError("a file name cannot contain a NUL character", where, "extends")
    raw = name.encode("utf-8", "surrogatepass")
    if len(raw) > PATH_MAX or any(len(part) > NAME_MAX for part in raw.split(b"/")):
        raise InputError(f"file name too long ({len(raw)} bytes; at most {NAME_MAX} per folder or file name and "
                         f"{PATH_MAX} in all)", where, "extends")
    if len(chain) >= MAX_EXTENDS:
        raise InputError(f"more than {MAX_EXTENDS} files in the extends: chain that starts at {chain[0].name} "
                         "(each file extends the next)", where, "extends")


def to_ydict(d, file: str = "<dict>"):
    """Plain dicts/lists (e.g. built in code or modified by a sweep) as YDict/YList, keeping positions
    when they are already YDicts."""
    if isinstance(d, dict):
        y = YDict({k: to_ydict(v, getattr(d, "file", file)) for k, v in d.items()})
        y.file = getattr(d, "file", file)
        y.positions = dict(getattr(d, "positions", {}))
        y.pos = getattr(d, "pos", None)
        return y
    if isinstance(d, (list, tuple)):
        y = YList(to_ydict(v, getattr(d, "file", file)) for v in d)
        y.file = getattr(d, "file", file)
        y.positions = list(getattr(d, "positions", []))
        y.pos = getattr(d, "pos", None)
        return y
    return d


def atomic_write(path: str | os.PathLike, data: str | bytes) -> None:
    """Write a whole file or nothing: a temporary file in the same folder, then rename.  `-` is standard
    output; a character device or FIFO is written in place (never renamed over); see atomic_write_all."""
    atomic_write_all([(path, data)])


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


STDOUT = "-"  # an output path that means standard output


def _kind(path: Path) -> str:
    """What writing to `path` means: 'stdout', 'new' (nothing there yet), 'file' (a regular file, or a
    symbolic link to one: its target is replaced), 'stream' (a character device or FIFO, perhaps behind a
    symbolic link such as /dev/stdout: written in place).  Anything else is refused in one line."""
    if str(path) == STDOUT:
        return "stdout"
    try:
        st = os.stat(path)  # follows symbolic links (the kernel resolves /proc/self/fd/N magic links too)
    except FileNotFoundError:
        if os.path.islink(path):  # a dangling link: replacing it would create a file wherever it points
            raise InputError("cannot write: a symbolic link to nothing", Where(str(path))) from None
        return "new"
    except NotADirectoryError:
        raise InputError("cannot write: Not a directory", Where(str(path))) from None
    except OSError as e:
        raise InputError(f"cannot write: {e.strerror}", Where(str(path))) from None
    except ValueError as e:  # a NUL in the name
        raise InputError(f"cannot write: {e}", Where(str(path))) from None
    if stat.S_ISREG(st.st_mode):
        return "file"
    if stat.S_ISCHR(st.st_mode) or stat.S_ISFIFO(st.st_mode):
        return "stream"
    what = "a directory" if stat.S_ISDIR(st.st_mode) else "a block device" if stat.S_ISBLK(st.st_mode) \
        else "a socket" if stat.S_ISSOCK(st.st_mode) else "not a regular file"
    raise InputError(f"cannot write: the path is {what}, expected a file (or a character device, a FIFO "
                     "or '-' for standard output)", Where(str(path)))


def _open_stream(path: Path) -> int:
    """Open a character device or FIFO for writing in place: never created, truncated or renamed over;
    O_NONBLOCK so that a FIFO without a reader fails at once (ENXIO) instead of blocking forever."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError as e:
        why = "a FIFO with no reader" if e.errno == errno.ENXIO else e.strerror
        raise InputError(f"cannot write: {why}", Where(str(path))) from None
    try:
        if not stat.S_ISCHR(os.fstat(fd).st_mode) and not stat.S_ISFIFO(os.fstat(fd).st_mode):
            raise InputError("cannot write: the path changed while it was opened", Where(str(path)))
        os.set_blocking(fd, True)  # writes then wait for a slow reader instead of failing with EAGAIN
    except BaseException:
        os.close(fd)
        raise
    return fd


def _write_fd(fd: int, data: bytes, path) -> None:
    view = memoryview(data)
    try:
        while view:
            n = os.write(fd, view)
            view = view[n:]
    except OSError as e:  # /dev/full, a reader that went away (EPIPE)
        raise InputError(f"cannot write: {e.strerror}", Where(str(path))) from None


def _bytes(data) -> bytes:
    return data if isinstance(data, bytes) else data.encode("utf-8")


def atomic_write_all(files) -> None:
    """Write several (path, data) files all or none.

    Regular files: every temporary file is written first (in the folder of the final file, or of the
    target of a symbolic link to a regular file) and only then all are renamed, so an unwritable second
    file leaves no first file behind, nor a folder this call created.  Character devices and FIFOs
    (/dev/null, /dev/stdout, a named pipe, perhaps behind a symbolic link) are opened first, written in
    place last, and never renamed over; `-` is standard output.  Two outputs at the same path, or one
    inside another, are refused before anything is written."""
    files = [(Path(p) if str(p) != STDOUT else STDOUT, d) for p, d in files]
    _check_distinct([p for p, _ in files])
    plan = [(path, data, _kind(Path(path))) for path, data in files]
    done = []  # (temporary, final) paths
    made = []  # folders this call created, deepest last
    streams = []  # (fd or None for stdout, path, data)
    ok = False
    restore = interrupt_on_sigterm()  # SIGTERM while writing: temporary files removed, like Ctrl-C
    try:
        for path, data, kind in plan:
            if kind == "stdout":
                streams.append((None, path, data))
                continue
            if kind == "stream":
                streams.append((_open_stream(path), path, data))
                continue
            final = Path(os.path.realpath(path)) if kind == "file" and os.path.islink(path) else path
            try:
                _mkdirs(final.parent, made)
                import tempfile  # only when writing: not on every start
                fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", dir=final.parent)
                done.append((tmp, final))
                os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private; outputs get normal modes
                with os.fdopen(fd, "wb") as f:
                    f.write(_bytes(data))
            except OSError as e:
                raise InputError(f"cannot write: {e.strerror}", Where(str(path))) from None
            except ValueError as e:  # a NUL in the name
                raise InputError(f"cannot write: {e}", Where(str(path))) from None
        for tmp, path in done:
            try:
                os.replace(tmp, path)
            except OSError as e:  # e.g. the destination became a directory
                raise InputError(f"cannot write: {e.strerror}", Where(str(path))) from None
        ok = True
        for fd, path, data in streams:
            if fd is None:
                _write_stdout(data)
            else:
                _write_fd(fd, _bytes(data), path)
    finally:
        restore()
        for fd, _, _ in streams:
            if fd is not None:
                os.close(fd)
        for tmp, _ in done:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        if not ok:
            for d in reversed(made):
                try:
                    d.rmdir()
                except OSError:
                    pass


def interrupt_on_sigterm():
    """Until the returned function is called, SIGTERM raises KeyboardInterrupt (the CLI then exits 130
    after the `finally:` above removed the temporary files).  Only in the main thread, and only when
    SIGTERM has its default action (an embedding program's own handler is left alone)."""
    import signal
    import threading
    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return lambda: None

    def handler(signum, frame):
        raise KeyboardInterrupt("SIGTERM")
    signal.signal(signal.SIGTERM, handler)
    return lambda: signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _write_stdout(data) -> None:
    import sys
    try:
        sys.stdout.flush()
        if isinstance(data, bytes):
            sys.stdout.buffer.write(data) if hasattr(sys.stdout, "buffer") else sys.stdout.write(
                data.decode("utf-8", "replace"))
        else:
            sys.stdout.write(data)
        sys.stdout.flush()
    except OSError as e:
        raise InputError(f"cannot write: {e.strerror}", Where("<standard output>")) from None


def _mkdirs(folder: Path, made: list) -> None:
    """mkdir -p that remembers which folders it created (so that a failure can remove them)."""
    missing = []
    p = folder
    while not p.exists() and not os.path.islink(p) and p != p.parent:
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        d.mkdir()
        made.append(d)


def _key(path) -> str:
    return STDOUT if str(path) == STDOUT else os.path.normpath(os.path.abspath(path))


def _check_distinct(paths) -> None:
    """Refuse two outputs at one path (one would silently replace the other) or an output inside another
    output (a file where a folder is needed): before anything is written."""
    seen = {}
    for p in paths:
        k = _key(p)
        if k == STDOUT:
            continue
        if k in seen:
            raise InputError(f"two outputs would be written to this same path ({seen[k]} and {p})", Where(str(p)))
        seen[k] = p
    for k, p in seen.items():
        for parent in Path(k).parents:
            if str(parent) in seen:
                raise InputError(f"an output would be written inside another output file ({seen[str(parent)]})",
                                 Where(str(p)))
