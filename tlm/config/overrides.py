"""`--set PATH=VALUE`: changing one field of the architecture or the workload from the command line.

A core module (below the engines and the services): `tlm sweep` uses it with lists of values, and
`tlm simulate/validate/paper/bench/accuracy --set` with one value per path.

- PATH is the dotted path of any architecture field as written in the YAML file (`macro.count`,
  `adc.cycles_per_bit`, `technology.vdd_array_v`, ...; an optional `arch.` prefix is accepted), or one
  of the workload paths of `WORKLOAD_PATHS` (`workload.precision.weight`, ...).  `precision.input`,
  `precision.weight` and `precision.output` are short for the workload paths: the architecture's own
  `precision` section has `input_bits`/`weight_bits`/`output_bits` (the precisions it supports), so
  the two never collide.
- VALUES is a comma list of integers, integer ranges `a..b` (both ends included), numbers,
  `true`/`false` or words.

Every value is checked the way the YAML file is: an architecture is rebuilt with
`tlm.config.arch.arch_from_dict` from the base `arch.to_dict()` with the change applied, so the schema's
types and ranges apply; a workload precision must be one the architecture supports.

What the workload precision paths change (`with_precision`; `WORKLOAD_PATHS` says the same in
`tlm sweep --list`): `workload.precision` and `workload.precision.input` also set the image's
precision (the workload file's `input.bits`), the other two leave it alone.
"""
from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass

import numpy as np

from tlm.config.arch import arch_from_dict
from tlm.errors import InputError, Where, did_you_mean
from tlm.config.schema import check_value
from tlm.config.workload import check_against, check_run_limits

# workload pseudo-paths: what each changes, in the workload file's own terms
WORKLOAD_PATHS = {
    "workload.precision": "every precision at once: the image's bits (input.bits) and every compute "
                          "layer's input, weight and output bits; digital layers pass their input bits on",
    "workload.precision.input": "the image's bits (input.bits) and every compute layer's input "
                                "bit-planes, bits",
    "workload.precision.weight": "every compute layer's weight bits (the image's bits unchanged)",
    "workload.precision.output": "every compute layer's output (ADC) bits; each next layer reads them as "
                                 "its input bits (the image's bits unchanged)",
    "workload.batch": "images per run (weights are loaded once per batch)",
}
# the fields of the workload file each precision path changes (for --list and the docs)
PRECISION_CHANGES = {
    "workload.precision": ("input.bits", "layers[*].precision.input", "layers[*].precision.weight",
                           "layers[*].precision.output"),
    "workload.precision.input": ("input.bits", "layers[*].precision.input"),
    "workload.precision.weight": ("layers[*].precision.weight",),
    "workload.precision.output": ("layers[*].precision.output", "layers[*].precision.input (of each "
                                  "next layer)"),
}
ALIASES = {f"precision.{k}": f"workload.precision.{k}" for k in ("input", "weight", "output")}
PRECISION_PATHS = ("workload.precision", "workload.precision.input", "workload.precision.weight",
                   "workload.precision.output")
MAX_POINTS = 10_000_000  # design points of one sweep: ~3 hours of the analytic engine at 1 ms a point
MAX_RANGE = 100_000  # values of one `a..b` range
MAX_SETS = 256
MAX_VALUE_CHARS = 400  # characters of one value: far above any number a field takes (every bound is < 1e30)  # --set options on one command line


@dataclass(frozen=True)
class Setting:
    """One set field: its canonical path and the values it takes."""

    path: str
    values: tuple

    @property
    def is_workload(self) -> bool:
        return self.path.startswith("workload.")


# ---- paths --------------------------------------------------------------------------------------------
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
            raise InputError("is a list of values; setting list fields is not supported", where, p)
        return bare
    if bare in _sections(arch_dict):
        example = next(k for k in leaves if k.startswith(bare + "."))
        also = f"; for the workload's, workload.{bare}" if f"workload.{bare}" in WORKLOAD_PATHS else ""
        raise InputError(f"is a section; set one of its fields, e.g. {example}{also}", where, p)
    choices = list(leaves) + list(WORKLOAD_PATHS) + list(ALIASES)
    raise InputError("unknown path" + did_you_mean(p, choices) + "; `tlm sweep --list` shows them all",
                     where, p)


# ---- values -------------------------------------------------------------------------------------------
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
        if len(item) > MAX_VALUE_CHARS:  # int() of thousands of digits raises (sys.int_info): refused first
            raise InputError(f"value of {len(item):,} characters, over the limit of {MAX_VALUE_CHARS}", where, path)
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
        if len(values) > MAX_RANGE:
            raise InputError(f"more than {MAX_RANGE} values", where, path)
    seen = set()
    for v in values:
        key = (type(v) is bool, v)
        if key in seen:
            raise InputError(f"value {format_cell(v)} is given twice", where, path)
        seen.add(key)
    return tuple(values)


def format_cell(v) -> str:
    """A value as text (a CSV cell): the shortest exact text of a number, true/false for booleans."""
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return repr(float(v))
    return str(v)


# ---- settings -----------------------------------------------------------------------------------------
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
    """Every `--set`, checked: no path twice, `workload.precision` not with one of its parts, at most
    MAX_POINTS combinations."""
    texts = list(texts or ())
    if len(texts) > MAX_SETS:
        raise InputError(f"{len(texts)} --set options, over the limit of {MAX_SETS}", Where("--set"))
    settings = [parse_setting(t, arch) for t in texts]
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


def parse_overrides(texts, arch) -> dict:
    """`PATH=VALUE` options with one value each (the `--set` of `tlm simulate` and the other one-run
    commands) -> {canonical path: value}, every value checked as in `parse_settings`."""
    out = {}
    for s in parse_settings(texts, arch):
        if len(s.values) != 1:
            raise InputError(f"takes one value here, found {len(s.values)} "
                             "(`tlm sweep` evaluates lists and ranges)", Where("--set"), s.path)
        out[s.path] = s.values[0]
    return out


# ---- applying values ----------------------------------------------------------------------------------
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
    (the workload's `input.bits`) and every compute layer's input bit-planes.  When input or output
    changes, every other layer reads its producer's precision and digital layers pass their input
    precision through, as the YAML parser does for a file whose top-level `precision:` says so.
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


def apply(arch, wl, values: dict, where: Where | None = None):
    """(arch, workload) with `{canonical path: value}` applied (from `parse_overrides`): the
    architecture rebuilt and validated by the schema, the workload changed by `with_precision` and
    checked against the new architecture.  `wl` may be None (commands without a workload); a workload
    path then is an InputError."""
    where = where or Where("--set")
    arch_vals = {p: v for p, v in values.items() if not p.startswith("workload.")}
    wl_vals = {p: v for p, v in values.items() if p.startswith("workload.")}
    if arch_vals:
        label = ", ".join(f"{p}={format_cell(v)}" for p, v in arch_vals.items())
        arch = arch_from_dict(with_arch_values(arch.to_dict(), arch_vals), file=f"--set {label}")
    if wl_vals:
        if wl is None:
            raise InputError("this command has no workload to set", where, next(iter(wl_vals)))
        wl = with_precision(wl, **workload_values(wl_vals))
        if "workload.batch" in wl_vals:  # the file's run limits, on the batch the run will have
            check_run_limits(wl, Where(f"--set workload.batch={format_cell(wl_vals['workload.batch'])}"))
    if wl is not None and values:
        check_against(wl, arch)
    return arch, wl


def override(arch, wl, texts):
    """`parse_overrides` then `apply`: the one call of a command's `--set PATH=VALUE` options."""
    if not texts:
        return arch, wl
    return apply(arch, wl, parse_overrides(texts, arch))
