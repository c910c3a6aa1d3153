"""Design-space sweeps: the cartesian product of settings, one result row per design point.

A setting is `PATH=VALUES` (the `--set` option of `tlm sweep`):

- PATH is the dotted path of any architecture field as written in the YAML file (`macro.count`,
  `adc.cycles_per_bit`, `technology.vdd_array_v`, ...; an optional `arch.` prefix is accepted), or one
  of the workload paths of `WORKLOAD_PATHS` (`workload.precision.weight`, ...).  `precision.input`,
  `precision.weight` and `precision.output` are short for the workload paths: the architecture's own
  `precision` section has `input_bits`/`weight_bits`/`output_bits` (the precisions it supports), so
  the two never collide.
- VALUES is a comma list of integers, integer ranges `a..b` (both ends included), numbers,
  `true`/`false` or words.

Every value is checked the way the YAML file is: an architecture point is rebuilt with
`tlm.arch.arch_from_dict` from the base `arch.to_dict()` with the change applied, so the schema's
types and ranges apply; a workload precision must be one the architecture supports.

Points are numbered in `itertools.product` order: the first `--set` varies slowest.  Evaluating a point
(`run_chunk`) is a pure function of a picklable `Job` and the point numbers, so points run in-process,
on local processes or on Dask workers and give the same numbers.
"""
from __future__ import annotations

import csv
import dataclasses
import io
import math
import re
import threading
from dataclasses import dataclass

import numpy as np

from .arch import arch_from_dict
from .errors import InputError, Where, did_you_mean
from .hw import area as hw_area
from .result import COMPONENTS
from .schema import check_value
from .workload import check_against

# workload pseudo-paths: what each sets
WORKLOAD_PATHS = {
    "workload.precision": "input, weight and output precision of every compute layer at once, bits",
    "workload.precision.input": "input precision of every compute layer (and of the image), bits",
    "workload.precision.weight": "weight precision of every compute layer, bits",
    "workload.precision.output": "output (ADC) precision of every compute layer, bits",
    "workload.batch": "images per run (weights are loaded once per batch)",
}
ALIASES = {f"precision.{k}": f"workload.precision.{k}" for k in ("input", "weight", "output")}
PRECISION_PATHS = ("workload.precision", "workload.precision.input", "workload.precision.weight",
                   "workload.precision.output")
MAX_POINTS = 10_000_000
MAX_RANGE = 100_000

# result columns of every row, after the point number and the settings
RESULT_COLUMNS = (
    "batch",  # images per run
    "cycles",  # clock cycles of the whole run
    "latency_ns",  # time of the whole run (batch images)
    "inferences_per_s",
    "energy_pj",  # on-chip energy per inference
    "tops",  # achieved throughput (1 MAC = 2 ops)
    "tops_per_w",  # on-chip energy efficiency
    "spatial_utilization",  # MAC-weighted share of the array holding useful weights
    "temporal_utilization",  # cycle-weighted share of time the macros compute
    "area_mm2",  # macros with ADCs + SRAM + controller (tlm/hw/area.py)
    "tops_per_mm2",  # area efficiency: achieved TOPS / area
    *(f"energy_{c}_pj" for c in COMPONENTS),  # per inference; energy_external_pj is off-chip
)


@dataclass(frozen=True)
class Setting:
    """One swept field: its canonical path and the values it takes."""

    path: str
    values: tuple

    @property
    def is_workload(self) -> bool:
        return self.path.startswith("workload.")


# ---- paths and values ---------------------------------------------------------------------------------
def arch_leaves(d: dict, prefix: str = "") -> dict:
    """Dotted path -> value of every field (not section) of an architecture dict."""
    out = {}
    for k, v in d.items():
        p = f"{prefix}.{k}" if prefix else k
        if isinstance(v, dict):
            out.update(arch_leaves(v, p))
        else:
            out[p] = v
    return out


def _sections(d: dict, prefix: str = "") -> set:
    out = set()
    for k, v in d.items():
        if isinstance(v, dict):
            p = f"{prefix}.{k}" if prefix else k
            out |= {p} | _sections(v, p)
    return out


def canonical_path(text: str, arch_dict: dict, where: Where) -> str:
    """The canonical path of a user-written one, or an InputError with a 'did you mean'."""
    p = text.strip()
    p = ALIASES.get(p, p)
    if p in WORKLOAD_PATHS:
        return p
    leaves = arch_leaves(arch_dict)
    bare = p[len("arch."):] if p.startswith("arch.") else p
    if bare in leaves:
        if isinstance(leaves[bare], list):
            raise InputError("is a list of values; sweeping list fields is not supported", where, p)
        return bare
    if bare in _sections(arch_dict):
        example = next(k for k in leaves if k.startswith(bare + "."))
        also = f"; for the workload's, workload.{bare}" if f"workload.{bare}" in WORKLOAD_PATHS else ""
        raise InputError(f"is a section; set one of its fields, e.g. {example}{also}", where, p)
    choices = list(leaves) + list(WORKLOAD_PATHS) + list(ALIASES)
    raise InputError("unknown path" + did_you_mean(p, choices) + "; `tlm sweep --list` shows them all",
                     where, p)


_INT = re.compile(r"[+-]?\d+")
_RANGE = re.compile(r"([+-]?\d+)\.\.([+-]?\d+)")


def parse_value(item: str):
    """One value as typed by a user: bool, int, float or a word (validated later by the schema)."""
    low = item.lower()
    if low in ("true", "false"):
        return low == "true"
    if _INT.fullmatch(item):
        return int(item)
    if low in ("inf", ".inf", "+inf"):
        return math.inf
    try:
        return float(item)
    except ValueError:
        return item


def parse_values(text: str, where: Where, path: str) -> tuple:
    """`1,2,4`, `1..8`, `0.3,0.4`, `true,false`, mixes of those; no value twice."""
    values = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            raise InputError(f"empty value in '{text}'", where, path)
        m = _RANGE.fullmatch(item)
        if m:
            a, b = int(m.group(1)), int(m.group(2))
            if b < a:
                raise InputError(f"empty range '{item}' (write the smaller end first)", where, path)
            if b - a + 1 > MAX_RANGE:
                raise InputError(f"range '{item}' has more than {MAX_RANGE} values", where, path)
            values.extend(range(a, b + 1))
        else:
            values.append(parse_value(item))
    seen = set()
    for v in values:
        key = (type(v) is bool, v)
        if key in seen:
            raise InputError(f"value {format_cell(v)} is given twice", where, path)
        seen.add(key)
    return tuple(values)


def format_cell(v) -> str:
    """A CSV cell: the shortest exact text of a number, true/false for booleans."""
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return repr(float(v))
    return str(v)


def parse_setting(text: str, arch) -> Setting:
    """`PATH=VALUES` -> a Setting whose every value has been checked on its own against the base
    architecture (combinations are checked when their point is built)."""
    where = Where("--set")
    if "=" not in text:
        raise InputError(f"expected PATH=VALUES (e.g. macro.count=1,2,4), found '{text}'", where)
    raw_path, raw_values = text.split("=", 1)
    arch_dict = arch.to_dict()
    path = canonical_path(raw_path, arch_dict, where)
    values = parse_values(raw_values, where, path)
    for v in values:
        vwhere = Where(f"--set {path}={format_cell(v)}")
        if path in WORKLOAD_PATHS:
            _check_workload_value(path, v, arch, vwhere)
        else:
            arch_from_dict(with_arch_values(arch_dict, {path: v}), file=str(vwhere))
    return Setting(path, values)


def _check_workload_value(path, v, arch, where):
    if path == "workload.batch":
        check_value(int, v, {"lo": 1, "hi": 1 << 20}, where, path)
        return
    check_value(int, v, {"lo": 1, "hi": 64}, where, path)
    kinds = ("input", "weight", "output") if path == "workload.precision" else (path.rsplit(".", 1)[1],)
    for kind in kinds:
        sup = getattr(arch.precision, f"{kind}_bits")
        if v not in sup:
            raise InputError(f"{kind} precision {v}b is not supported by '{arch.name}' "
                             f"(precision.{kind}_bits: {', '.join(map(str, sup))})", where, path)


def parse_settings(texts, arch) -> list[Setting]:
    settings = [parse_setting(t, arch) for t in texts or ()]
    seen = {}
    for s in settings:
        if s.path in seen:
            raise InputError("is set twice; give all its values in one --set", Where("--set"), s.path)
        seen[s.path] = s
    other = [s.path for s in settings if s.path in PRECISION_PATHS[1:]]
    if "workload.precision" in seen and other:
        raise InputError(f"sets every precision; it cannot be combined with {', '.join(other)}",
                         Where("--set"), "workload.precision")
    n = math.prod(len(s.values) for s in settings)
    if n > MAX_POINTS:
        raise InputError(f"{n:,} design points, over the limit of {MAX_POINTS:,}", Where("--set"))
    return settings


# ---- building one design point ------------------------------------------------------------------------
def with_arch_values(arch_dict: dict, values: dict) -> dict:
    """A copy of an architecture dict with `path -> value` changes applied."""
    d = dict(arch_dict)
    for path, v in values.items():
        *secs, leaf = path.split(".")
        node = d
        for s in secs:
            node[s] = dict(node[s])
            node = node[s]
        node[leaf] = v
    return d


def with_precision(wl, input=None, weight=None, output=None, batch=None):
    """The workload with every compute layer at the given precisions (None: unchanged).

    weight: every compute layer's weights.  output: every compute layer's ADC output.  input: the image
    and every compute layer's input bit-planes.  When input or output changes, every other layer reads
    its producer's precision and digital layers pass their input precision through, as the YAML parser
    does for a file whose top-level `precision:` says so.
    """
    layers = list(wl.layers)
    if input is not None or output is not None or weight is not None:
        bits_of = {"input": wl.input_bits if input is None else input}
        relink = input is not None or output is not None
        new = []
        for l in layers:
            kw = {}
            if l.is_compute:
                if weight is not None:
                    kw["bits_w"] = weight
                if input is not None:
                    kw["bits_in"] = input
                elif relink:
                    kw["bits_in"] = bits_of[l.inputs[0]]
                if output is not None:
                    kw["bits_out"] = output
            elif relink:
                kw["bits_in"] = kw["bits_out"] = bits_of[l.inputs[0]]
            l = dataclasses.replace(l, **kw) if kw else l
            bits_of[l.name] = l.bits_out
            new.append(l)
        layers = new
    return dataclasses.replace(wl, layers=layers,
                               input_bits=wl.input_bits if input is None else input,
                               batch=wl.batch if batch is None else batch)


def workload_values(values: dict) -> dict:
    """Keyword arguments of `with_precision` from workload settings."""
    kw = {}
    for path, v in values.items():
        if path == "workload.precision":
            kw.update(input=v, weight=v, output=v)
        elif path == "workload.batch":
            kw["batch"] = v
        else:
            kw[path.rsplit(".", 1)[1]] = v
    return kw


@dataclass
class Job:
    """Everything a worker needs to evaluate points; picklable (sent to processes and Dask workers)."""

    arch_dict: dict
    workload: object  # tlm.workload.Workload
    settings: tuple  # of Setting
    engine: str
    engine_args: object  # argparse.Namespace handed to the engine, as `tlm simulate` would
    token: str = ""  # identifies the job in a worker's cache
    base: str = ""  # fingerprint of everything but the settings (see `fingerprint`), set by run_sweep

    @property
    def n_points(self) -> int:
        return math.prod(len(s.values) for s in self.settings)

    def values(self, index: int) -> tuple:
        """The setting values of point `index` (itertools.product order: the first setting slowest)."""
        out = []
        for s in reversed(self.settings):
            index, digit = divmod(index, len(s.values))
            out.append(s.values[digit])
        return tuple(reversed(out))

    def label(self, index: int) -> str:
        return ", ".join(f"{s.path}={format_cell(v)}" for s, v in zip(self.settings, self.values(index)))


class PointBuilder:
    """Builds (arch, workload) of design points, caching what points share."""

    MAX_CACHED = 4096

    def __init__(self, job: Job):
        self.job = job
        self.arch_idx = [i for i, s in enumerate(job.settings) if not s.is_workload]
        self.wl_idx = [i for i, s in enumerate(job.settings) if s.is_workload]
        self._arch = {}
        self._wl = {}

    def build(self, index: int):
        job = self.job
        vals = job.values(index)
        akey = tuple(vals[i] for i in self.arch_idx)
        wkey = tuple(vals[i] for i in self.wl_idx)
        try:
            arch = self._arch.get(akey)
            if arch is None:
                changes = {job.settings[i].path: vals[i] for i in self.arch_idx}
                arch = arch_from_dict(with_arch_values(job.arch_dict, changes), file="<sweep>")
                self._cache(self._arch, akey, arch)
            wl = self._wl.get(wkey)
            if wl is None:
                wl = with_precision(job.workload, **workload_values(
                    {job.settings[i].path: vals[i] for i in self.wl_idx}))
                self._cache(self._wl, wkey, wl)
            check_against(wl, arch)
        except InputError as e:
            msg = f"{e.field}: {e.message}" if e.field else e.message
            raise InputError(msg, Where(f"--set point {index} ({job.label(index)})")) from None
        return arch, wl

    def _cache(self, d, key, value):
        if len(d) >= self.MAX_CACHED:
            d.pop(next(iter(d)))
        d[key] = value


# ---- evaluating points ---------------------------------------------------------------------------------
def result_row(result) -> dict:
    """The result columns of one run (energies per inference)."""
    s = result.summary()
    area = hw_area.area_mm2(result.arch)
    B = result.batch
    row = {
        "batch": B, "cycles": s["cycles"], "latency_ns": s["latency_ns"],
        "inferences_per_s": s["inferences_per_s"], "energy_pj": s["energy_per_inference_pj"],
        "tops": s["tops"], "tops_per_w": s["tops_per_w"],
        "spatial_utilization": s["spatial_utilization"], "temporal_utilization": s["temporal_utilization"],
        "area_mm2": area, "tops_per_mm2": s["tops"] / area if area > 0 else math.inf,
    }
    for c, e in result.energy_by_component_pj.items():
        row[f"energy_{c}_pj"] = e / B
    return row


_local = threading.local()  # per worker thread: (job token, PointBuilder)


def _builder(job: Job) -> PointBuilder:
    cached = getattr(_local, "builder", None)
    if cached is None or cached[0] != job.token or not job.token:
        cached = (job.token, PointBuilder(job))
        _local.builder = cached
    return cached[1]


def run_chunk(job: Job, indices) -> list:
    """Evaluate points; returns [(index, cells)] or, on a user error, [("error", message)]."""
    from .engines import ENGINES
    engine = ENGINES[job.engine]
    builder = _builder(job)
    out = []
    for i in indices:
        try:
            arch, wl = builder.build(i)
            row = result_row(engine(arch, wl, job.engine_args))
        except InputError as e:  # sent back as fields: the exception does not pickle with them
            return [("error", (e.message, e.where.file, e.field))]
        out.append((i, [format_cell(row[c]) for c in RESULT_COLUMNS]))
    return out


# ---- the CSV file --------------------------------------------------------------------------------------
def fingerprint(job: Job) -> str:
    """A short hash of the base architecture, the workload and the engine with its options: rows with
    another fingerprint were computed from other inputs, and `--resume` refuses them."""
    import hashlib
    import json
    opts = {k: v for k, v in sorted(vars(job.engine_args).items())} if job.engine_args is not None else {}
    data = {"arch": job.arch_dict, "workload": job.workload.to_dict(), "engine": job.engine, "options": opts}
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:12]


def header(job: Job) -> list:
    return ["point", *(s.path for s in job.settings), "base", *RESULT_COLUMNS]


def setting_cells(job: Job, index: int) -> list:
    """The cells that identify a point: its setting values and the fingerprint of its base."""
    return [format_cell(v) for v in job.values(index)] + [job.base]


def csv_line(cells) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(cells)
    return buf.getvalue()


def read_finished(path, job: Job) -> dict:
    """Rows of an earlier run of the same sweep: point -> full row cells.  A last line cut short by an
    interruption is dropped; anything else that does not belong to this sweep is an InputError."""
    from .yamlio import read_text
    text = read_text(path, "results file")
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines.pop()  # cut short while being written
    if not lines:
        return {}
    rows = list(csv.reader(lines))
    want = header(job)
    if rows[0] != want:
        raise InputError("its columns differ from this sweep's (made by another sweep?); drop --resume to "
                         "start over or write to another file", Where(str(path), 1))
    done = {}
    n_set = len(job.settings) + 1  # the settings and the base fingerprint
    for ln, row in enumerate(rows[1:], start=2):
        if len(row) != len(want):
            raise InputError(f"expected {len(want)} cells, found {len(row)}", Where(str(path), ln))
        try:
            i = int(row[0])
        except ValueError:
            raise InputError(f"point number '{row[0]}' is not an integer", Where(str(path), ln)) from None
        if not 0 <= i < job.n_points or row[1:n_set] != setting_cells(job, i)[:-1]:
            raise InputError(f"point {row[0]} does not belong to this sweep ({', '.join(row[1:n_set])}); "
                             "drop --resume to start over", Where(str(path), ln))
        if row[n_set] != job.base:
            raise InputError(f"point {row[0]} was computed from another architecture, workload or engine "
                             f"(base {row[n_set]}, now {job.base}); drop --resume to start over",
                             Where(str(path), ln))
        done.setdefault(i, row)
    return done


class RowWriter:
    """Appends rows as points finish (flushed, so an interruption keeps them) and, at the end, rewrites
    the file sorted by point, atomically: the finished file does not depend on the order of completion
    or on interruptions."""

    def __init__(self, path, job: Job, finished: dict):
        from .yamlio import atomic_write
        self.path = path
        self.job = job
        self.rows = dict(finished)
        atomic_write(path, self._text())  # a clean start: header and the rows kept from an earlier run
        try:
            self.f = open(path, "a", encoding="utf-8", newline="")
        except OSError as e:
            raise InputError(f"cannot write: {e.strerror}", Where(str(path))) from None

    def _text(self) -> str:
        return "".join(csv_line(r) for r in [header(self.job)] + [self.rows[i] for i in sorted(self.rows)])

    def add(self, index: int, result_cells) -> None:
        row = [str(index), *setting_cells(self.job, index), *result_cells]
        self.rows[index] = row
        self.f.write(csv_line(row))
        self.f.flush()

    def close(self) -> None:
        self.f.close()

    def finish(self) -> str:
        from .yamlio import atomic_write
        self.close()
        text = self._text()
        atomic_write(self.path, text)
        return text


# ---- analysis -----------------------------------------------------------------------------------------
def pareto_front(x, y) -> np.ndarray:
    """Mask of the points no other point dominates when both x and y are minimized (a point dominates
    another when it is no worse in both and better in at least one).  Equal points are all kept."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n = len(x)
    if n == 0:
        return np.zeros(0, dtype=bool)
    order = np.lexsort((y, x))  # by x, then y
    xs, ys = x[order], y[order]
    best_before = np.concatenate(([np.inf], np.minimum.accumulate(ys)[:-1]))
    first = np.ones(n, dtype=bool)  # first of a run of equal points
    first[1:] = (xs[1:] != xs[:-1]) | (ys[1:] != ys[:-1])
    group = np.cumsum(first) - 1
    keep = (ys < best_before)[first][group]  # a run is kept when its first point beats all before it
    mask = np.zeros(n, dtype=bool)
    mask[order] = keep
    return mask


def read_table(text: str) -> dict:
    """A results CSV as columns: settings stay text, results become floats."""
    rows = list(csv.reader(io.StringIO(text)))
    head, body = rows[0], rows[1:]
    cols = {h: [r[j] for r in body] for j, h in enumerate(head)}
    for h in RESULT_COLUMNS:
        if h in cols:
            cols[h] = np.array([float(v) for v in cols[h]])
    return cols


# ---- running a sweep -----------------------------------------------------------------------------------
def _raise_if_error(pairs):
    if pairs and pairs[0][0] == "error":
        message, file, field = pairs[0][1]
        raise InputError(message, Where(file), field)
    return pairs


def _chunks(indices, size):
    return [indices[k:k + size] for k in range(0, len(indices), size)]


def chunk_size(job: Job, n_todo: int, parallel: int) -> int:
    """Points per task: one for slow engines; for the analytic one (about a millisecond per point)
    enough to hide the task overhead while keeping every worker busy."""
    if job.engine != "analytic":
        return 1
    return max(1, min(64, -(-n_todo // (8 * max(parallel, 1)))))


def run_sweep(job: Job, out_path, *, workers: int = 1, dask: str | None = None, resume: bool = False,
              advance=None) -> tuple[str, int]:
    """Evaluate every point of `job` not already in `out_path` (with `resume`), writing rows as they
    finish; returns (final CSV text, number of points kept from the file).  `advance(n)` is called as
    n more points are done.  In this process unless `workers` > 1 or a Dask scheduler address is given."""
    from pathlib import Path

    from .parallel import dask_client, map_unordered, parallelism
    if not job.token or not job.base:
        import uuid
        job = dataclasses.replace(job, token=job.token or uuid.uuid4().hex, base=job.base or fingerprint(job))
    finished = read_finished(out_path, job) if resume and Path(out_path).exists() else {}
    todo = [i for i in range(job.n_points) if i not in finished]
    if advance:
        advance(len(finished))
    client = dask_client(dask) if dask else None  # connect before touching the results file
    try:
        parallel = parallelism(workers, client)
        chunks = _chunks(todo, 1 if parallel == 1 and client is None else chunk_size(job, len(todo), parallel))
        writer = RowWriter(out_path, job, finished)
        stream = map_unordered(run_chunk, job, chunks, workers=workers, client=client)
        try:
            for pairs in stream:
                for i, cells in _raise_if_error(pairs):
                    writer.add(i, cells)
                if advance:
                    advance(len(pairs))
        finally:
            stream.close()  # stops the workers now, not when the generator is collected
            writer.close()
        return writer.finish(), len(finished)
    finally:
        if client is not None:
            client.close()
