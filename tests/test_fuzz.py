"""Fuzz campaign: bad inputs through every entry point of the `tlm` CLI (issue 9).

Every case runs `tlm.cli.main([...])` in-process on a mutated copy of a shipped architecture or
workload and asserts the CLI contract:
- exit code 0 or 2, never 1 (a bug), never a traceback or "internal error";
- on code 2: stderr is ONE line `error: <file>[:line[:col]]: [field: ]message` naming an input file
  (or `(command line)`), and no output file (or temporary file) was left behind;
- on code 0: the JSON/CSV invariants hold (energy parts sum to the totals per layer and overall,
  utilizations in [0, 1], no NaN or negative number, cycles > 0).

To add an entry point (a new command, a new engine, `tlm import ...`): append an `EntryPoint` to
ENTRY_POINTS.  To add an input format: append a seed to SEEDS and, if needed, a mutator to
TREE_MUTATORS (parsed YAML tree) or TEXT_MUTATORS (raw bytes).  The tests below draw from these lists.

Reproducible: hypothesis runs derandomized (same cases every run); case counts are in EXAMPLES.
"""
from __future__ import annotations

import contextlib
import copy
import csv
import io
import json
import math
import os
import re
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tlm.config import yamlio
from tlm.cli import main
from tlm.engines.result import KIND_NAMES

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"
WORKLOADS = ROOT / "workloads"

# how many cases each test runs (the total is what CI runs; see docs/robustness.md)
# (TLM_FUZZ_SCALE=10 runs ten times as many, e.g. nightly; the cases of a scale are always the same)
_SCALE = float(os.environ.get("TLM_FUZZ_SCALE", "0.5"))  # the default suite runs half the cases (CI time); 1 = last round's default
EXAMPLES = {k: max(1, int(v * _SCALE)) for k, v in
            {"arch_tree": 800, "workload_tree": 900, "text": 1200, "argv": 600, "loaders": 200,
             "onnx": 500}.items()}
FUZZ = dict(deadline=None, derandomize=True, database=None, print_blob=True,
            suppress_health_check=list(HealthCheck))


# ---- entry points ------------------------------------------------------------------------------------
@dataclass
class EntryPoint:
    """One way of running tlm on an (architecture, workload) pair.  `argv(arch, workload, out)` builds
    the command line (`out` is an empty folder for output files); `check(out)` verifies the invariants
    of a successful run from the files it wrote."""

    name: str
    argv: Callable[[Path, Path, Path], list]
    check: Callable[[Path], None] | None = None
    weight: int = 1  # how often it is drawn relative to the others
    inputs: tuple = ("yaml", "onnx")  # the workload formats it takes (an .onnx model or a YAML file)
    check_stdout: Callable[[str], None] | None = None  # invariants of what a successful run printed
    check_refused: Callable[[Path], None] | None = None  # what a refused run may leave (default: nothing)


def check_simulate_outputs(out: Path):
    data = json.loads((out / "r.json").read_text(encoding="utf-8"))
    check_result_invariants(data)
    check_csv_matches(data, out / "csv")


ENTRY_POINTS = [
    EntryPoint("simulate --engine analytic --json --csv -q",
               lambda a, w, o: ["simulate", str(a), str(w), "--engine", "analytic", "-q", "--json", str(o / "r.json"),
                                "--csv", str(o / "csv")], check_simulate_outputs, weight=4),
    EntryPoint("simulate --engine tlm --json --csv -q",
               lambda a, w, o: ["simulate", str(a), str(w), "--engine", "tlm", "-q", "--json", str(o / "r.json"),
                                "--csv", str(o / "csv")], check_simulate_outputs, weight=1),
    EntryPoint("simulate (tables)", lambda a, w, o: ["simulate", str(a), str(w), "--engine", "analytic",
                                                     "--per-layer"]),
    EntryPoint("validate", lambda a, w, o: ["validate", str(a), str(w)], weight=2),
    EntryPoint("sweep macro.count x batch -o CSV",
               lambda a, w, o: ["sweep", str(a), str(w), "--set", "macro.count=1,2", "--set",
                                "workload.batch=1,2", "-o", str(o / "s.csv"), "-q"], lambda o: check_sweep_csv(o),
               check_refused=lambda o: check_sweep_partial(o)),
    EntryPoint("accuracy --images 8",
               lambda a, w, o: ["accuracy", str(a), str(w), "--images", "8", "--noise", "0.5", "--seed", "3"],
               inputs=("yaml",), check_stdout=lambda text: check_accuracy_tables(text)),
    EntryPoint("import MODEL.onnx -o YAML", lambda a, w, o: ["import", str(w), "-o", str(o / "w.yaml")],
               lambda o: check_import_round_trip(o), inputs=("onnx",), weight=2),
]


def check_sweep_partial(out: Path):
    """A sweep stopped by a bad design point keeps the rows finished before it (for --resume): only the
    results file, and only whole rows under its header."""
    left = [p for p in out.rglob("*") if not p.is_dir()]
    assert left in ([], [out / "s.csv"]), left
    if left:
        with open(out / "s.csv", newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
        assert rows and rows[0][0] == "point" and all(len(r) == len(rows[0]) for r in rows), rows[:3]


def check_accuracy_tables(text: str):
    """The three models' accuracies are percentages; the per-layer SQNR/ENOB columns are numbers."""
    accs = [float(x) for x in re.findall(r"^\s*(?:float|ideal integer|CIM) .*?(\d+\.\d+)%\s*$", text, re.M)]
    assert len(accs) == 3 and all(0.0 <= a <= 100.0 for a in accs), text


def check_import_round_trip(out: Path):
    """What `tlm import` wrote loads and simulates exactly like the ONNX model itself (item 10)."""
    model = next(out.parent.glob("wl_*.onnx"))
    cycles = []
    for w in (out / "w.yaml", model):
        code, o, e = run_cli(["simulate", "-q", str(CONFIGS / "imagine.yaml"), str(w), "--engine", "analytic",
                              "--json", str(out / "rt.json")])
        assert code == 0, f"{w.name}: import accepted the model but simulate refuses: {e}"
        cycles.append(json.loads((out / "rt.json").read_text(encoding="utf-8"))["summary"]["cycles_per_batch"])
    assert cycles[0] == cycles[1] > 0, cycles


def check_sweep_csv(out: Path):
    """Four design points, in order, with finite non-negative results; more macros never slower."""
    with open(out / "s.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["point"]) for r in rows] == [0, 1, 2, 3]
    for r in rows:
        for k in ("cycles_per_batch", "latency_per_batch_ns", "energy_per_inference_pj", "tops_per_w"):
            v = float(r[k])
            assert math.isfinite(v) and v >= 0, (k, r[k])
    cyc = {(r["macro.count"], r["workload.batch"]): int(r["cycles_per_batch"]) for r in rows}
    for b in ("1", "2"):
        assert cyc[("2", b)] <= cyc[("1", b)]
_EP_DRAW = {kind: [ep for ep in ENTRY_POINTS if kind in ep.inputs for _ in range(ep.weight)]
            for kind in ("yaml", "onnx")}


# ---- running the CLI and the contract ----------------------------------------------------------------
ERROR_LINE = re.compile(r"^error: (?P<where>\S.*?)(?::\d+(?::\d+)?)?: .+$")


def run_cli(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def assert_contract(code, out, err, names, outdir: Path | None = None):
    """The CLI contract for one run.  `names`: strings one of which a user error must mention."""
    assert code in (0, 2), f"exit code {code}\nstderr: {err}"
    assert "Traceback" not in err + out and "internal error" not in err, err
    if code == 2:
        lines = err.splitlines()
        assert len(lines) == 1, f"error is not one line: {err!r}"
        assert len(lines[0]) < 1000, f"error line too long ({len(lines[0])} chars)"
        assert ERROR_LINE.match(lines[0]), lines[0]
        # (a name of thousands of characters is abbreviated in the line: its start must be there)
        assert any(str(n)[:200] in lines[0] for n in names), f"error names no input file: {lines[0]}"
        if outdir is not None:  # nothing half-written
            left = [p for p in outdir.rglob("*") if not p.is_dir()]
            assert not left, left
    return code


# ---- invariants of a successful run ------------------------------------------------------------------
RATIOS = ("inferences_per_s", "tops", "tops_per_w", "tops_per_w_with_offchip", "tops_per_mm2")  # x/0 -> "inf" allowed


def _close(a, b):
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9 * max(1.0, abs(a), abs(b)))


def _numbers(x, path=""):
    if isinstance(x, dict):
        for k, v in x.items():
            yield from _numbers(v, f"{path}.{k}")
    elif isinstance(x, list):
        for i, v in enumerate(x):
            yield from _numbers(v, f"{path}[{i}]")
    elif isinstance(x, (int, float)) and not isinstance(x, bool):
        yield path, x


def check_result_invariants(data: dict):
    s = data["summary"]
    for path, v in _numbers({k: v for k, v in data.items() if k != "config"}):
        assert math.isfinite(v) and v >= 0, f"{path} = {v}"
    for k in RATIOS:
        assert isinstance(s[k], (int, float)) or s[k] == "inf", (k, s[k])
    assert isinstance(s["cycles_per_batch"], int) and s["cycles_per_batch"] > 0
    assert s["latency_per_batch_ns"] > 0
    kinds = {k: 0.0 for k in KIND_NAMES}
    for row in data["layers"]:
        assert isinstance(row["cycles"], int) and row["cycles"] >= 0
        for u in ("spatial_utilization", "temporal_utilization"):
            assert 0.0 <= row[u] <= 1.0 + 1e-12, (row["name"], u, row[u])
        for k, v in row["energy_by_kind_per_batch_pj"].items():
            kinds[k] += v
    for u in ("spatial_utilization", "temporal_utilization"):
        assert 0.0 <= s[u] <= 1.0 + 1e-12, (u, s[u])
    assert sum(r["cycles"] for r in data["layers"]) == s["cycles_per_batch"]
    by_kind = data["energy_by_kind_per_batch_pj"]
    for k in KIND_NAMES:
        assert _close(kinds[k], by_kind[k]), (k, kinds[k], by_kind[k])
    total = sum(by_kind.values())
    assert _close(sum(data["energy_by_component_per_batch_pj"].values()), total)
    assert _close(s["energy_per_batch_pj"] + s["energy_offchip_per_batch_pj"], total)
    assert _close(s["energy_per_batch_pj"], total - by_kind["external"])
    assert _close(s["energy_per_inference_pj"] * s["batch"], s["energy_per_batch_pj"])


def check_csv_matches(data: dict, csv_dir: Path):
    with open(csv_dir / "layers.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [r["layer"] for r in rows] == [r["name"] for r in data["layers"]]
    for r, j in zip(rows, data["layers"]):
        assert int(r["cycles"]) == j["cycles"]
        parts = [float(r[f"energy_{k}_per_batch_pj"]) for k in KIND_NAMES]
        assert all(math.isfinite(p) and p >= 0 for p in parts)
        assert _close(sum(parts), sum(j["energy_by_kind_per_batch_pj"].values()))
    with open(csv_dir / "energy.csv", newline="", encoding="utf-8") as f:
        e = {r["kind"]: float(r["energy_per_batch_pj"]) for r in csv.DictReader(f)}
    for k in KIND_NAMES:
        assert _close(e[k], data["energy_by_kind_per_batch_pj"][k])


# ---- seeds: the shipped files, parsed --------------------------------------------------------------
ARCH_SEEDS = sorted(CONFIGS.glob("*.yaml"))
WORKLOAD_SEEDS = sorted(WORKLOADS.glob("*.yaml"))
_TREE = {p: yaml.safe_load(p.read_text(encoding="utf-8")) for p in ARCH_SEEDS + WORKLOAD_SEEDS}
_TEXT = {p: p.read_bytes() for p in ARCH_SEEDS + WORKLOAD_SEEDS}


@pytest.fixture(autouse=True, scope="module")
def _parse_cache():
    """Parsing YAML in pure Python dominates a case; the unmutated companion file of each case is one
    of a few shipped texts, so its parse is cached (a deep copy is handed out: nothing is shared)."""
    real = yamlio.load_text
    cache = {}

    def load_text(text, file="<input>", _loader=None):
        key = (text, file)
        if _loader is not None:
            return real(text, file, _loader)
        if key not in cache:
            if len(cache) > 64:  # only the shipped files repeat; mutated texts are one-offs
                return real(text, file)
            cache[key] = real(text, file)
        return copy.deepcopy(cache[key])

    yamlio.load_text = load_text
    yield
    yamlio.load_text = real


def _paths(tree, prefix=()):
    """Every path (tuple of keys/indices) in a parsed YAML tree, the root included."""
    yield prefix
    if isinstance(tree, dict):
        for k, v in tree.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(tree, list):
        for i, v in enumerate(tree):
            yield from _paths(v, prefix + (i,))


def _get(tree, path):
    for k in path:
        tree = tree[k]
    return tree


# ---- mutators ----------------------------------------------------------------------------------------
EXTREMES = [0, -1, 1, -0.0, 0.5, 1e-300, 1e308, -1e308, math.inf, -math.inf, math.nan, 2**31, 2**53 + 1,
            2**63, 2**64, 10**9, 10**30, -(10**30), 3.7, "", "x", True, False, None, [], {}, [1, 2],
            {"a": 1}, "inf", "1e3", "0x10", "８"]
TYPOS = [lambda k: k[:-1], lambda k: k + "s", lambda k: k.upper(), lambda k: k[1:],
         lambda k: k[:1] + k[2:] + k[1:2], lambda k: k.replace("_", "-"), lambda k: " " + k]


def m_drop(tree, path, draw):
    if path:
        parent = _get(tree, path[:-1])
        del parent[path[-1]]
    return tree


def m_typo(tree, path, draw):
    if path and isinstance(path[-1], str):
        parent = _get(tree, path[:-1])
        new = draw(st.sampled_from(TYPOS))(path[-1]) or "k"
        if new not in parent:
            parent[new] = parent.pop(path[-1])
    return tree


def m_value(tree, path, draw):
    v = draw(st.sampled_from(EXTREMES))
    if not path:
        return copy.deepcopy(v)
    _get(tree, path[:-1])[path[-1]] = copy.deepcopy(v)
    return tree


def m_number(tree, path, draw):
    """Scale or perturb a number: huge, tiny, negative, off by one."""
    if path:
        parent, k = _get(tree, path[:-1]), path[-1]
        v = parent[k]
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            op = draw(st.sampled_from(["x1e3", "x1e6", "x1e9", "neg", "+1", "-1", "/7", "x0", "pow"]))
            parent[k] = {"x1e3": v * 1000, "x1e6": v * 10**6, "x1e9": v * 10**9, "neg": -v, "+1": v + 1,
                         "-1": v - 1, "/7": v / 7, "x0": 0, "pow": v ** 3 if abs(v) < 1e100 else v}[op]
    return tree


def m_extra_key(tree, path, draw):
    node = _get(tree, path)
    if isinstance(node, dict):
        node[draw(st.sampled_from(["extra", "nmae", "typ", "kernal", "rows_", "count"]))] = 1
    return tree


def m_nest(tree, path, draw):
    depth = draw(st.sampled_from([2, 50, 400]))
    v = 1
    for _ in range(depth):
        v = [v] if depth % 2 else {"a": v}
    return m_set(tree, path, v)


def m_set(tree, path, v):
    if not path:
        return v
    _get(tree, path[:-1])[path[-1]] = v
    return tree


def m_dup_item(tree, path, draw):
    """Duplicate a list item (a layer twice: duplicate names) or grow a list a lot."""
    if path and isinstance(path[-1], int):
        lst = _get(tree, path[:-1])
        n = draw(st.sampled_from([1, 2, 300]))
        lst[path[-1]:path[-1]] = [copy.deepcopy(lst[path[-1]]) for _ in range(n)]
    return tree


TREE_MUTATORS = [m_drop, m_typo, m_value, m_value, m_number, m_number, m_extra_key, m_nest, m_dup_item]


def t_truncate(b, draw):
    return b[:draw(st.integers(0, len(b)))]


def t_flip(b, draw):
    i = draw(st.integers(0, max(len(b) - 1, 0)))
    return b[:i] + bytes([draw(st.integers(0, 255))]) + b[i + 1:]


def t_insert(b, draw):
    i = draw(st.integers(0, len(b)))
    return b[:i] + draw(st.binary(min_size=1, max_size=16)) + b[i:]


def t_snippet(b, draw):
    """Insert a YAML construct that the loader must handle: tags, anchors, tabs, directives..."""
    snip = draw(st.sampled_from([
        b"!!python/object:os.system ['echo']", b"!!binary aGVsbG8=", b"&a [*a]", b"*nope", b"\t",
        b"%YAML 1.1\n---\n", b"\n---\nother: doc\n", b"? [a, b]\n: 1\n", b"{", b"]", b"\xef\xbb\xbf",
        b"!!set {a, b}", b"2001-12-14", b"<<: *x", b"\"\\x00\"", b"\xff\xfe", b"key: &b 1\nalias: *b\n",
        b"!!float nan", b"!!int 99999999999999999999999", b"~", b"'", b"|\n  block\n"]))
    i = draw(st.integers(0, len(b)))
    return b[:i] + snip + b[i:]


def t_dup_line(b, draw):
    lines = b.split(b"\n")
    i = draw(st.integers(0, max(len(lines) - 1, 0)))
    lines.insert(i, lines[i])
    return b"\n".join(lines)


def t_encoding(b, draw):
    enc = draw(st.sampled_from(["utf-16", "latin-1-garbage", "bom", "crlf", "nul"]))
    if enc == "utf-16":
        return b.decode("utf-8", "replace").encode("utf-16")
    if enc == "latin-1-garbage":
        return b.replace(b"a", b"\xe4", 1)
    if enc == "bom":
        return b"\xef\xbb\xbf" + b
    if enc == "crlf":
        return b.replace(b"\n", b"\r\n")
    return b.replace(b" ", b"\x00", 1)


TEXT_MUTATORS = [t_truncate, t_flip, t_insert, t_snippet, t_snippet, t_dup_line, t_encoding]


# ---- one case ----------------------------------------------------------------------------------------
def _write_case(tmp: Path, arch_seed: Path, wl_seed: Path, arch_bytes=None, wl_bytes=None):
    """Case folder with the (mutated) files; the base of an `extends:` file goes next to it.
    Unmutated files are used where they are (so their parse can be cached)."""
    tmp.mkdir(parents=True, exist_ok=True)
    arch, wl = arch_seed, wl_seed
    if arch_bytes is not None:
        arch = tmp / arch_seed.name
        arch.write_bytes(arch_bytes)
        for base in ARCH_SEEDS:
            if base != arch_seed:
                (tmp / base.name).write_bytes(_TEXT[base])
    if wl_bytes is not None:
        wl = tmp / ("wl_" + wl_seed.name)
        wl.write_bytes(wl_bytes)
    out = tmp / "out"
    out.mkdir()
    return arch, wl, out


_COUNTER = iter(range(10**9))


def _run_case(tmp_root: Path, draw, arch_bytes=None, wl_bytes=None, arch_seed=None, wl_seed=None):
    case = tmp_root / f"c{next(_COUNTER)}"
    arch_seed = arch_seed or draw(st.sampled_from(ARCH_SEEDS))
    wl_seed = wl_seed or draw(st.sampled_from(WORKLOAD_SEEDS))
    arch, wl, out = _write_case(case, arch_seed, wl_seed, arch_bytes, wl_bytes)
    ep = draw(st.sampled_from(_EP_DRAW["onnx" if wl.suffix == ".onnx" else "yaml"]))
    code, o, e = run_cli(ep.argv(arch, wl, out))
    # (a sweep names the design point of the command line at fault: `--set point 3 (macro.count=2)`)
    assert_contract(code, o, e, [case, CONFIGS, WORKLOADS, "--set point"],
                    out if ep.check_refused is None else None)
    if code == 2 and ep.check_refused is not None:
        ep.check_refused(out)
    if code == 0 and ep.check is not None:
        ep.check(out)
    if code == 0 and ep.check_stdout is not None:
        ep.check_stdout(o)
    return code


def _dump(tree) -> bytes:
    try:
        return yaml.safe_dump(tree, sort_keys=False, allow_unicode=True).encode("utf-8")
    except (yaml.YAMLError, RecursionError):
        return b"unrepresentable: [\n"


def _mutate_tree(seed: Path, draw) -> bytes:
    tree = copy.deepcopy(_TREE[seed])
    for _ in range(draw(st.integers(1, 3))):
        paths = list(_paths(tree))
        path = draw(st.sampled_from(paths))
        tree = draw(st.sampled_from(TREE_MUTATORS))(tree, path, draw)
    return _dump(tree)


@pytest.fixture(scope="module")
def tmp_root(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


@settings(max_examples=EXAMPLES["arch_tree"], **FUZZ)
@given(st.data())
def test_fuzz_architecture_tree(tmp_root, data):
    seed = data.draw(st.sampled_from(ARCH_SEEDS))
    _run_case(tmp_root, data.draw, arch_bytes=_mutate_tree(seed, data.draw), arch_seed=seed)


@settings(max_examples=EXAMPLES["workload_tree"], **FUZZ)
@given(st.data())
def test_fuzz_workload_tree(tmp_root, data):
    seed = data.draw(st.sampled_from(WORKLOAD_SEEDS))
    _run_case(tmp_root, data.draw, wl_bytes=_mutate_tree(seed, data.draw), wl_seed=seed)


@settings(max_examples=EXAMPLES["text"], **FUZZ)
@given(st.data())
def test_fuzz_raw_text(tmp_root, data):
    seed = data.draw(st.sampled_from(ARCH_SEEDS + WORKLOAD_SEEDS))
    b = _TEXT[seed]
    for _ in range(data.draw(st.integers(1, 2))):
        b = data.draw(st.sampled_from(TEXT_MUTATORS))(b, data.draw)
    if seed in ARCH_SEEDS:
        _run_case(tmp_root, data.draw, arch_bytes=b, arch_seed=seed)
    else:
        _run_case(tmp_root, data.draw, wl_bytes=b, wl_seed=seed)


# ---- ONNX models: byte mutations and hostile graph edits ------------------------------------------------
def _onnx_seeds() -> dict:
    """Real models (the ONNX package's light test models: shapes of AlexNet, VGG-19, ... with tiny
    weights) and one built here that uses most attributes the importer reads."""
    try:
        import onnx
    except ImportError:
        return {}
    import tempfile

    from onnx_models import small_cnn
    light = Path(onnx.__file__).parent / "backend" / "test" / "data" / "light"
    seeds = {Path(n): (light / n).read_bytes() for n in ("light_bvlc_alexnet.onnx", "light_vgg19.onnx",
                                                          "light_zfnet512.onnx", "light_squeezenet.onnx",
                                                          "light_inception_v1.onnx") if (light / n).is_file()}
    with tempfile.TemporaryDirectory() as d:
        seeds[Path("small_cnn.onnx")] = small_cnn(Path(d) / "small_cnn.onnx").read_bytes()
    return seeds


ONNX_SEEDS = _onnx_seeds()
ONNX_VALUES = {  # attribute values of each type to put in place of a real one (or in a new attribute)
    "int": [0, -1, 1, 2, 5, 2**31, 2**62, -(2**62)], "ints": [[], [0], [-1, 5], [1, 1, 1], [10**9] * 4, [0, 0, -3, -3]],
    "float": [math.nan, math.inf, -1.5, 1.5, 0.0], "string": ["BOGUS", "", "SAME_UPPER", "VALID", "\x00"],
}


def o_attribute(model, draw):
    """Replace a node's attribute by a value of a drawn type, delete it, or add an unknown one."""
    from onnx import helper
    nodes = [n for n in model.graph.node if n.op_type != "Constant"] or list(model.graph.node)
    n = draw(st.sampled_from(nodes))
    what = draw(st.sampled_from(["replace", "replace", "delete", "add"]))
    names = [a.name for a in n.attribute] or ["strides"]
    name = draw(st.sampled_from(names + ["axis", "group", "kernel_shape", "auto_pad", "pads", "perm", "bogus"]))
    keep = [a for a in n.attribute if a.name != name]
    del n.attribute[:]
    n.attribute.extend(keep)
    if what != "delete":
        from onnx import AttributeProto
        kind = draw(st.sampled_from(sorted(ONNX_VALUES)))
        types = {"int": AttributeProto.INT, "ints": AttributeProto.INTS, "float": AttributeProto.FLOAT,
                 "string": AttributeProto.STRING}
        n.attribute.append(helper.make_attribute(name, draw(st.sampled_from(ONNX_VALUES[kind])),
                                                 attr_type=types[kind]))


def o_graph(model, draw):
    """Structural edits: duplicate an output name, drop or reorder a node, retype an operator, absurd
    input or weight dimensions."""
    g = model.graph
    what = draw(st.sampled_from(["dup_output", "drop", "swap", "op", "input_dims", "weight_dims"]))
    if what == "dup_output" and len(g.node) > 1:
        a, b = draw(st.sampled_from(range(len(g.node)))), draw(st.sampled_from(range(len(g.node))))
        if g.node[a].output and g.node[b].output:
            g.node[b].output[0] = g.node[a].output[0]
    elif what == "drop" and len(g.node) > 1:
        del g.node[draw(st.integers(0, len(g.node) - 1))]
    elif what == "swap" and len(g.node) > 1:
        i = draw(st.integers(0, len(g.node) - 2))
        a, b = copy.deepcopy(g.node[i]), copy.deepcopy(g.node[i + 1])
        g.node[i].CopyFrom(b)
        g.node[i + 1].CopyFrom(a)
    elif what == "op":
        n = draw(st.sampled_from(list(g.node)))
        n.op_type = draw(st.sampled_from(["Conv", "MaxPool", "Concat", "Gemm", "Relu", "Reshape", "Transpose",
                                          "Flatten", "GlobalAveragePool", "Add", "Pad", "Nope"]))
    elif what == "input_dims" and g.input:
        dims = g.input[0].type.tensor_type.shape.dim
        if dims:
            dims[draw(st.integers(0, len(dims) - 1))].dim_value = draw(st.sampled_from([0, 1, 7, 10**7, 2**40]))
    elif what == "weight_dims" and g.initializer:
        t = draw(st.sampled_from(list(g.initializer)))
        if t.dims:
            t.dims[draw(st.integers(0, len(t.dims) - 1))] = draw(st.sampled_from([0, 1, 3, 10**6, 2**40]))


ONNX_MUTATORS = ["bytes", "bytes", o_attribute, o_attribute, o_graph]
ONNX_BYTE_MUTATORS = [t_truncate, t_flip, t_flip, t_insert]


def _mutate_onnx(b: bytes, draw) -> bytes:
    import onnx
    for _ in range(draw(st.integers(1, 2))):
        m = draw(st.sampled_from(ONNX_MUTATORS))
        if m == "bytes":
            b = draw(st.sampled_from(ONNX_BYTE_MUTATORS))(b, draw)
            continue
        try:
            model = onnx.load_model_from_string(b)
        except Exception:  # noqa: BLE001  (already damaged by a byte mutation)
            continue
        if not model.graph.node:
            continue
        m(model, draw)
        b = model.SerializeToString()
    return b


@pytest.mark.skipif(not ONNX_SEEDS, reason="needs the onnx package")
@settings(max_examples=EXAMPLES["onnx"], **FUZZ)
@given(st.data())
def test_fuzz_onnx_models(tmp_root, data):
    """Byte-mutated and hostile-edited ONNX models through simulate, validate, sweep and import: the
    same contract, and what `tlm import` accepts simulates exactly like the model (check_import_round_trip)."""
    seed = data.draw(st.sampled_from(sorted(ONNX_SEEDS)))
    _run_case(tmp_root, data.draw, wl_bytes=_mutate_onnx(ONNX_SEEDS[seed], data.draw), wl_seed=seed,
              arch_seed=CONFIGS / "imagine.yaml")


# ---- command-line arguments ----------------------------------------------------------------------------
ARG_TOKENS = ["simulate", "validate", "--json", "--csv", "--engine", "analytic", "nope", "-q", "--quiet",
              "--per-layer", "--version", "--bogus", "-x", "imagine", "imagine_4macro", "resnet8",
              "mnist_cnn", "resnt8", "imagin", "", "-", "--", "configs", "/dev/null", "/nonexistent/x.yaml",
              "--json=", "--engine=tlm", "\x00", "a\x00b", "é", "a" * 300, "x" * 5000, "/dev/zero"]


@settings(max_examples=EXAMPLES["argv"], **FUZZ)
@given(st.data())
def test_fuzz_command_line(tmp_root, data):
    case = tmp_root / f"a{next(_COUNTER)}"
    case.mkdir()
    (case / "file.txt").write_text("not yaml: [\n")
    extra = [str(case / "out.json"), str(case / "csvdir"), str(case / "file.txt"), str(case),
             str(case / "file.txt" / "x.json"), str(CONFIGS / "imagine.yaml"), str(WORKLOADS / "mnist_cnn.yaml")]
    argv = data.draw(st.lists(st.sampled_from(ARG_TOKENS + extra), max_size=6))
    code, o, e = run_cli(argv)
    assert_contract(code, o, e, ["(command line)", case, CONFIGS, WORKLOADS] + argv)


# ---- limits: absurd inputs refused quickly, in bounded memory ------------------------------------------
def _layers(n, line="  - {type: flatten}\n"):
    return "name: big\ninput: {shape: [3, 8, 8], bits: 8}\nlayers:\n" + line * n


LIMIT_CASES = {
    "alias bomb": "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi")) + "name: *i\n",
    "alias bomb in layers": "name: n\ninput: {shape: [1, 4, 4]}\nl0: &l0 [{type: flatten}]\n" + "".join(
        f"l{i}: &l{i} [{', '.join(['*l' + str(i - 1)] * 10)}]\n" for i in range(1, 7)) + "layers: *l6\n",
    "merge-key bomb": "a0: &a0 {k: 1}\n" + "".join(f"a{i}: &a{i} {{<<: [*a{i - 1}, *a{i - 1}]}}\n"
                                                   for i in range(1, 60)) + "name: n\n",
    "alias bomb in source": "name: n\ninput: {shape: [1]}\nlayers: [{type: flatten}]\nweights:\n"
                            "  a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"  {c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi")) + "source: *i\n",
    "recursive alias": "name: &n [*n]\n",
    "deep nesting": "name: " + "[" * 50_000 + "]" * 50_000 + "\n",
    "deep nesting mapping": "name: " + "{a: " * 5000 + "1" + "}" * 5000 + "\n",
    "1e9 channels": "name: w\ninput: {shape: [1000000000, 8, 8]}\nlayers:\n  - {type: flatten}\n",
    "1e9 out_channels": _layers(0) + "  - {type: conv2d, out_channels: 1000000000, kernel: 1}\n",
    "10^5 layers": _layers(100_000),
    "10^6 layers": _layers(1_000_000, "  - {type: conv2d, out_channels: 1, kernel: 1}\n"),
    "huge kernel, huge padding": _layers(0) + "  - {type: conv2d, out_channels: 1048576, kernel: 1048576,"
                                            " padding: 1048576}\n",
    "flatten to a huge dense": "name: d\ninput: {shape: [1048576, 128, 128]}\nlayers:\n  - {type: flatten}\n"
                               "  - {type: dense, out_features: 1048576}\n",
    "huge batch x big net": "name: b\nbatch: 1048576\ninput: {shape: [3, 32, 32]}\nlayers:\n"
                            "  - {type: conv2d, out_channels: 1024, kernel: 3, padding: 1}\n",
    "huge pool window": "name: p\ninput: {shape: [1, 131072, 131072]}\nlayers:\n"
                        "  - {type: maxpool, kernel: 65536, stride: 1}\n",
    "50,000 layers in 0.9 MB": _layers(50_000),
    "huge integer": "name: w\ninput: {shape: [" + "9" * 5000 + ", 8, 8]}\nlayers: [{type: flatten}]\n",
    "long line": "name: " + "x" * 3_000_000 + "\n",
}


@pytest.mark.parametrize("name", sorted(LIMIT_CASES))
def test_absurd_workload_refused_quickly(tmp_path, name):
    wl = tmp_path / "w.yaml"
    wl.write_text(LIMIT_CASES[name], encoding="utf-8")
    small = wl.stat().st_size < 2**16  # a small file is where memory could explode (bombs): trace it
    if small:  # (tracing slows parsing ~6x, so big files are only timed; their memory is their size)
        tracemalloc.start()
    t0 = time.perf_counter()
    try:
        code, o, e = run_cli(["validate", str(CONFIGS / "imagine.yaml"), str(wl)])
        if code == 0:
            code, o, e = run_cli(["simulate", "-q", str(CONFIGS / "imagine.yaml"), str(wl)])
        elapsed = time.perf_counter() - t0
        peak = tracemalloc.get_traced_memory()[1] if small else 0
    finally:
        tracemalloc.stop()
    assert_contract(code, o, e, [wl])
    assert code == 2, f"{name}: accepted"
    assert elapsed < 20, f"{name}: {elapsed:.1f} s"  # ~4 s at worst on a busy 2-core machine
    assert peak < 100 * 2**20, f"{name}: {peak / 2**20:.0f} MiB"


def test_huge_file_refused_before_reading(tmp_path):
    big = tmp_path / "big.yaml"
    with open(big, "wb") as f:  # sparse 100 MB file: costs no disk, must cost no memory either
        f.truncate(100 * 2**20)
    for argv in (["validate", big], ["validate", str(CONFIGS / "imagine.yaml"), big]):
        code, o, e = run_cli(argv)
        assert_contract(code, o, e, [big])
        assert code == 2 and "limit" in e


@pytest.mark.parametrize("target", ["file", "dir"])
def test_outputs_not_written_on_error(tmp_path, target):
    """A user error (here in the workload) leaves neither the JSON nor the CSV folder behind."""
    wl = tmp_path / "w.yaml"
    wl.write_text(_TEXT[WORKLOADS / "mnist_cnn.yaml"].decode().replace("out_features: 10", "out_features: -1"))
    out = tmp_path / "out"
    code, o, e = run_cli(["simulate", "-q", str(CONFIGS / "imagine.yaml"), wl, "--json", out / "r.json",
                          "--csv", out / "csv"])
    assert_contract(code, o, e, [wl])
    assert code == 2 and "out_features" in e and not out.exists()


def test_unwritable_output_is_a_user_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    good = tmp_path / "good"
    for opt, dest in (("--json", blocker / "r.json"), ("--csv", blocker), ("--json", tmp_path)):
        for other in (["--json", good / "r.json"], ["--csv", good]):
            if other[0] == opt:
                continue
            code, o, e = run_cli(["simulate", "-q", "imagine", "mnist_cnn", opt, dest, *other])
            assert_contract(code, o, e, [blocker, tmp_path])
            assert code == 2
            assert not [p for p in tmp_path.rglob("*") if p.is_file() and p != blocker]  # all or nothing
    assert blocker.read_text() == "x"


# ---- the error format: file, line, column, dotted path, expected/found, did-you-mean ----------------------
def _error_for(tmp_path, arch_text=None, wl_text=None):
    a = CONFIGS / "imagine.yaml"
    w = WORKLOADS / "mnist_cnn.yaml"
    if arch_text is not None:
        a = tmp_path / "a.yaml"
        a.write_text(arch_text)
    if wl_text is not None:
        w = tmp_path / "w.yaml"
        w.write_text(wl_text)
    code, o, e = run_cli(["validate", a, w])
    assert_contract(code, o, e, [a, w])
    assert code == 2
    return e.strip()


def test_error_names_line_column_field_and_suggests(tmp_path):
    text = (CONFIGS / "imagine.yaml").read_text()
    lines = text.splitlines()
    i = next(n for n, l in enumerate(lines) if l.startswith("  dp_cycles_per_bit:"))
    bad = "\n".join(lines[:i] + [lines[i].replace("dp_cycles_per_bit", "dp_cycle_per_bit")] + lines[i + 1:])
    e = _error_for(tmp_path, arch_text=bad)
    assert e == (f"error: {tmp_path / 'a.yaml'}:{i + 1}:3: macro.dp_cycle_per_bit: unknown field "
                 "'dp_cycle_per_bit' (did you mean 'dp_cycles_per_bit'?)")


def test_error_expected_and_found(tmp_path):
    text = (CONFIGS / "imagine.yaml").read_text().replace("  rows: 1152", "  rows: lots")
    line = next(n for n, l in enumerate(text.splitlines(), 1) if l.startswith("  rows: lots"))
    e = _error_for(tmp_path, arch_text=text)
    assert e == f"error: {tmp_path / 'a.yaml'}:{line}:3: macro.rows: expected an integer, found 'lots'"


def test_error_in_extended_file_names_the_child(tmp_path):
    (tmp_path / "imagine.yaml").write_text((CONFIGS / "imagine.yaml").read_text())
    e = _error_for(tmp_path, arch_text="extends: imagine.yaml\nmacro: {count: 0}\n")
    assert e == f"error: {tmp_path / 'a.yaml'}:2:9: macro.count: expected >= 1, found 0"


def test_found_value_is_abbreviated(tmp_path):
    e = _error_for(tmp_path, wl_text="name: [" + ", ".join(["x" * 50] * 1000) + "]\ninput: {shape: [1]}\n"
                                     "layers: [{type: flatten}]\n")
    assert len(e) < 300 and "..." in e


# ---- extreme but legal values: refused with a clear error, or exact and finite -----------------------
EXTREME_ARCH = {
    "slowest ADC": "adc: {fixed_cycles: 2147483647, cycles_per_bit: 2147483647, converters_per_macro: 1}\n"
                   "macro: {columns: 65536, rows: 65536, dp_split_blocks: 1}\n",
    "slowest DMA": "dma: {bandwidth_bits_per_cycle: 0.001, latency_cycles: 2147483647}\n"
                   "macro: {weight_write_bits_per_cycle: 1}\nsram: {capacity_kib: 0.001}\n",
    "slowest clock, huge capacitances": "clock: {frequency_mhz: 0.001}\nmacro: {c_cell_ff: 1.0e+30, "
                                        "leakage_uw: 1.0e+30}\nadc: {c_dac_unit_ff: 1.0e+30}\n",
    "fastest everything": "dma: {bandwidth_bits_per_cycle: .inf, latency_cycles: 0}\nadc: {fixed_cycles: 0}\n"
                          "macro: {count: 4096, dp_cycles_per_bit: 1, weight_write_bits_per_cycle: 2147483647}\n"
                          "sram: {capacity_kib: 1099511627776}\n",
    "all energies zero": "".join(f"{s}: {{{', '.join(f'{k}: 0' for k in ks)}}}\n" for s, ks in {
        "macro": ("c_cell_ff", "c_column_ff", "c_row_driver_ff", "c_weight_write_ff_per_bit", "leakage_uw"),
        "adc": ("c_comparator_ff", "c_dac_unit_ff", "c_abn_ff", "leakage_uw"),
        "sram": ("c_read_ff_per_bit", "c_write_ff_per_bit", "leakage_uw"),
        "dma": ("c_ff_per_bit", "external_energy_pj_per_bit"), "controller": ("c_ff_per_cycle", "leakage_uw"),
        "postproc": ("c_ff_per_op",)}.items()),
}
EXTREME_WORKLOADS = {
    "big conv, big batch": "name: big\nbatch: 16\ninput: {shape: [1024, 64, 64]}\nlayers:\n"
                           "  - {type: conv2d, out_channels: 1024, kernel: 3, padding: 1}\n",
    "huge dense": "name: d\ninput: {shape: [1048576]}\nlayers:\n  - {type: dense, out_features: 65536}\n",
    "depthwise, many groups": "name: dw\nbatch: 64\ninput: {shape: [65536, 32, 32]}\nlayers:\n"
                              "  - {type: conv2d, out_channels: 65536, groups: 65536, kernel: 3, padding: 1}\n",
    "pooling only": "name: p\ninput: {shape: [1, 1, 1], bits: 1}\nlayers: [{type: global_maxpool}]\n",
    "mnist": (WORKLOADS / "mnist_cnn.yaml").read_text(),
}


@pytest.mark.parametrize("wl_name", sorted(EXTREME_WORKLOADS))
@pytest.mark.parametrize("arch_name", sorted(EXTREME_ARCH))
def test_extreme_but_legal_values(tmp_path, arch_name, wl_name):
    (tmp_path / "imagine.yaml").write_bytes(_TEXT[CONFIGS / "imagine.yaml"])
    a = tmp_path / "a.yaml"
    a.write_text("extends: imagine.yaml\n" + EXTREME_ARCH[arch_name])
    w = tmp_path / "w.yaml"
    w.write_text(EXTREME_WORKLOADS[wl_name])
    out = tmp_path / "out"
    out.mkdir()
    code, o, e = run_cli(["simulate", "-q", a, w, "--json", out / "r.json", "--csv", out / "csv"])
    assert_contract(code, o, e, [a, w], out)
    if code == 0:
        check_simulate_outputs(out)
    else:  # refused: only because the run is beyond the exact range, or too big for the tlm engine
        assert "count exactly" in e or "tile runs per simulation" in e, e


def test_outputs_have_normal_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        code, o, e = run_cli(["simulate", "-q", "imagine", "mnist_cnn", "--json", tmp_path / "r.json"])
    finally:
        os.umask(old)
    assert code == 0 and (tmp_path / "r.json").stat().st_mode & 0o777 == 0o644


# ---- the two YAML loaders (libyaml events / pure Python) agree --------------------------------------------
def _load_both(text: str):
    out = []
    for loader in (yamlio._Loader, yamlio._PyLoader):
        try:
            out.append(("ok", _positions(yamlio.load_text(text, "f.yaml", _loader=loader))))
        except yamlio.InputError as e:
            out.append(("error", e.where.line))
    return out


def _positions(x):
    """The data with every mapping's and sequence's recorded positions, for comparison."""
    if isinstance(x, dict):
        return {"pos": x.pos, "items": {k: (x.positions.get(k), _positions(v)) for k, v in x.items()}}
    if isinstance(x, list):
        return {"pos": x.pos, "items": [(p, _positions(v)) for p, v in zip(x.positions, x)]}
    return x


@pytest.mark.parametrize("seed", ARCH_SEEDS + WORKLOAD_SEEDS, ids=lambda p: p.name)
def test_loaders_agree_on_shipped_files(seed):
    fast, slow = _load_both(_TEXT[seed].decode("utf-8"))
    assert fast[0] == "ok" and fast == slow


@settings(max_examples=EXAMPLES["loaders"], **FUZZ)
@given(st.data())
def test_loaders_agree_on_mutated_text(data):
    seed = data.draw(st.sampled_from(ARCH_SEEDS + WORKLOAD_SEEDS))
    b = data.draw(st.sampled_from(TEXT_MUTATORS))(_TEXT[seed], data.draw)
    try:
        text = b.decode("utf-8")
    except UnicodeDecodeError:
        return
    fast, slow = _load_both(text)  # neither raises anything but InputError (checked inside)
    if fast[0] == slow[0] == "ok" and "\ufeff" not in text[1:]:
        # (libyaml tolerates a few oddities Python refuses, and a BOM mid-file shifts its columns)
        assert fast == slow


# ---- the TLM engine against the analytic schedule -------------------------------------------------------
@settings(max_examples=max(1, int(60 * _SCALE)), **FUZZ)
@given(wl=st.sampled_from(sorted(p.stem for p in WORKLOADS.glob("*.yaml") if p.stem != "resnet18")),
       count=st.integers(1, 6), banks=st.integers(1, 8), width=st.sampled_from([8, 32, 128]),
       bw=st.sampled_from([1.0, 8.0, 64.0, float("inf")]), latency=st.integers(0, 200),
       dbuf=st.booleans(), pipelined=st.booleans(), quantum=st.sampled_from([0, 100, 2000]))
def test_tlm_never_beats_the_contention_free_schedule(wl, count, banks, width, bw, latency, dbuf, pipelined,
                                                      quantum):
    """Contention only adds time: without spills (big SRAM), TLM cycles >= analytic cycles per run."""
    from tlm.engines.analytic import simulate as analytic
    from tlm.config.arch import arch_from_dict, load_arch
    from tlm.engines.transaction.system import simulate as tlm_simulate
    from tlm.config.workload import load_workload
    d = load_arch(CONFIGS / "imagine.yaml").to_dict()
    d["macro"].update(count=count, weight_double_buffer=dbuf)
    d["sram"].update(banks=banks, width_bits=width, capacity_kib=1 << 16)
    d["dma"].update(bandwidth_bits_per_cycle="inf" if bw == float("inf") else bw, latency_cycles=latency)
    d["adc"]["pipelined"] = pipelined
    w = load_workload(WORKLOADS / f"{wl}.yaml")
    from tlm.engines.registry import resolve_policy
    arch = resolve_policy(arch_from_dict(d), w).arch  # `auto` (the shipped policy) resolved once, for both engines
    a = analytic(arch, w)
    t = tlm_simulate(arch, w, quantum_cycles=quantum)
    assert a.per_layer["spill_bits"].sum() == 0
    assert t.cycles >= a.cycles
    assert t.on_chip_energy_pj >= 0 and np.isfinite(t.on_chip_energy_pj)
