"""Fuzz campaign, the surfaces added since issue 9 (issue 24): dataset files, weights files, `published:`
sections, `--set`, and the `tlm import` round trip of hostile strings.

The same contract as tests/test_fuzz.py (its `assert_contract`): exit 0 or 2, never a traceback; a refusal
is one line naming an input file or the command line, leaving no output behind; a success passes the
surface's own invariants.  Cases per test are in EXAMPLES, scaled like test_fuzz.py's by TLM_FUZZ_SCALE
(derandomized: the cases of a scale are always the same).
"""
from __future__ import annotations

import copy
import io
import json
import math
import zipfile
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from test_fuzz import (EXTREMES, FUZZ, _SCALE, CONFIGS, WORKLOADS, assert_contract, check_accuracy_tables,
                       check_result_invariants, run_cli, t_flip, t_insert, t_truncate)

EXAMPLES = {k: max(1, int(v * _SCALE)) for k, v in
            {"dataset": 40, "weights": 40, "published": 40, "set": 120, "import": 25}.items()}
SHIPPED_NPZ = dict(np.load(WORKLOADS / "mnist_cnn.npz"))
_N = iter(range(10**9))


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return tmp_path_factory.mktemp("surfaces")


def _case(root: Path) -> Path:
    d = root / f"c{next(_N)}"
    d.mkdir()
    return d


def _npz_bytes(arrays: dict) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


# ---- arrays as a hostile file would hold them ------------------------------------------------------------
ARRAY_VALUES = [0, -1, 1e308, -1e308, math.inf, math.nan, 1e-320, 255, 256, 3.5]


def _hostile_array(draw, like: np.ndarray) -> np.ndarray:
    kind = draw(st.sampled_from(["value", "shape", "dtype", "scalar", "empty", "string", "object", "complex"]))
    if kind == "value":
        a = like.astype(np.float64).copy()
        if a.size:
            a.flat[draw(st.integers(0, a.size - 1))] = draw(st.sampled_from(ARRAY_VALUES))
        return a
    if kind == "shape":
        return np.zeros(draw(st.lists(st.integers(0, 5), max_size=5)))
    if kind == "dtype":
        return like.astype(draw(st.sampled_from([np.bool_, np.int8, np.uint64, np.float16, np.int64])))
    if kind == "scalar":
        return np.array(draw(st.sampled_from(ARRAY_VALUES)))
    if kind == "empty":
        return np.zeros((0,) + like.shape[1:])
    if kind == "string":
        return np.array(["x"] * max(1, min(like.size, 4)))
    if kind == "object":
        return np.array([None, 1], dtype=object)
    return like.astype(np.complex64)


def _header_lie(draw, name: str) -> tuple[str, bytes]:
    """A member whose header declares a shape its data does not have (up to 2^40 elements)."""
    buf = io.BytesIO()
    shape = tuple(draw(st.lists(st.sampled_from([0, 1, 3, 10**9, 1 << 40]), min_size=1, max_size=4)))
    np.lib.format.write_array_header_1_0(buf, {"descr": draw(st.sampled_from(["<f8", "|u1", "<i4", "|O"])),
                                               "fortran_order": False, "shape": shape})
    return name + ".npy", buf.getvalue() + b"\0" * draw(st.integers(0, 64))


def _mutated_npz(draw, arrays: dict) -> bytes:
    arrays = dict(arrays)
    how = draw(st.sampled_from(["array", "array", "drop", "header", "member", "bytes"]))
    key = draw(st.sampled_from(sorted(arrays)))
    if how == "array":
        try:
            arrays[key] = _hostile_array(draw, arrays[key])
        except (TypeError, ValueError):
            pass
        return _npz_bytes(arrays) if arrays[key].dtype != object else _object_npz(arrays)
    if how == "drop":
        del arrays[key]
        return _npz_bytes(arrays)
    members = {k + ".npy": _npy(v) for k, v in arrays.items()}
    if how == "header":
        del members[key + ".npy"]
        name, data = _header_lie(draw, key)
        members[name] = data
    elif how == "member":
        members[draw(st.sampled_from([key, key + ".txt", key + "/", "../x.npy"]))] = b"not an array"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for k, v in members.items():
            z.writestr(k, v)
    b = buf.getvalue()
    return draw(st.sampled_from([t_truncate, t_flip, t_insert]))(b, draw) if how == "bytes" else b


def _npy(a) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.asarray(a), allow_pickle=a.dtype == object)
    return buf.getvalue()


def _object_npz(arrays) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for k, v in arrays.items():
            z.writestr(k + ".npy", _npy(v))
    return buf.getvalue()


def _dataset_arrays(n=3):
    rng = np.random.default_rng(0)
    return {"images": rng.integers(0, 256, (n, 1, 28, 28), dtype=np.uint8), "labels": np.arange(n) % 10}


# ---- dataset files ---------------------------------------------------------------------------------------
@settings(max_examples=EXAMPLES["dataset"], **FUZZ)
@given(st.data())
def test_fuzz_dataset_files(root, data):
    case = _case(root)
    f = case / "d.npz"
    f.write_bytes(_mutated_npz(data.draw, _dataset_arrays()))
    argv = data.draw(st.sampled_from([
        ["accuracy", "imagine", "mnist_cnn", "--images", "2", "--dataset", f],
        ["simulate", "-q", "imagine", "mnist_cnn", "--engine", "analytic", "--activity-from", f]]))
    code, o, e = run_cli(argv)
    assert_contract(code, o, e, [f, "(command line)", "<command line>"], None)
    if code == 0 and argv[0] == "accuracy":
        check_accuracy_tables(o)


# ---- weights files ---------------------------------------------------------------------------------------
@settings(max_examples=EXAMPLES["weights"], **FUZZ)
@given(st.data())
def test_fuzz_weights_files(root, data):
    case = _case(root)
    (case / "w.yaml").write_text((WORKLOADS / "mnist_cnn.yaml").read_text())
    (case / "mnist_cnn.npz").write_bytes(_mutated_npz(data.draw, SHIPPED_NPZ))
    ds = case / "d.npz"
    ds.write_bytes(_npz_bytes(_dataset_arrays(2)))
    code, o, e = run_cli(["accuracy", "imagine", case / "w.yaml", "--images", "2", "--dataset", ds])
    assert_contract(code, o, e, [case / "w.yaml", case / "mnist_cnn.npz"], None)
    if code == 0:
        check_accuracy_tables(o)


# ---- published sections ------------------------------------------------------------------------------------
PUBLISHED = {p: yaml.safe_load(p.read_text()) for p in sorted((CONFIGS / "published").glob("*.yaml"))}
FIGURE_FIELDS = ["value", "clock_mhz", "vdd_array_v", "vdd_digital_v", "input_bits", "weight_bits", "output_bits",
                 "metric", "unit", "ops", "key"]


@settings(max_examples=EXAMPLES["published"], **FUZZ)
@given(st.data())
def test_fuzz_published_sections(root, data):
    case = _case(root)
    seed = data.draw(st.sampled_from(sorted(PUBLISHED)))
    tree = copy.deepcopy(PUBLISHED[seed])
    tree["extends"] = "imagine"
    pub = tree["published"]
    for _ in range(data.draw(st.integers(1, 3))):
        where = data.draw(st.sampled_from(["figure", "figure", "fitted", "tolerance", "technology"]))
        v = copy.deepcopy(data.draw(st.sampled_from(EXTREMES + [1e-308, 1e-300, 0.001, 1e6, 2e6])))
        if where == "figure" and pub.get("figures"):
            fig = data.draw(st.sampled_from(pub["figures"]))
            fig[data.draw(st.sampled_from(FIGURE_FIELDS))] = v
        elif where == "fitted":
            pub["fitted"] = data.draw(st.sampled_from([["macro.rows"], ["macro.count"], ["adc.cycles_per_bit"],
                                                       ["nope.x"], [v], v]))
        elif where == "tolerance":
            pub["tolerance"] = v
        else:
            tree.setdefault("technology", {})["leakage_v_per_decade"] = v
    a = case / "p.yaml"
    try:
        a.write_text(yaml.safe_dump(tree, sort_keys=False))
    except yaml.YAMLError:
        return
    cmd = data.draw(st.sampled_from(["paper", "paper", "calibrate"]))
    code, o, e = run_cli([cmd, a])
    assert_contract(code, o, e, [a, "(command line)"], None)
    if code == 0:  # every error a finite percentage (a 1e-308 figure printed +inf%)
        assert "inf%" not in o and "nan%" not in o.lower(), o


# ---- --set on the one-run commands ---------------------------------------------------------------------------
def _set_paths():
    from tlm.config.arch import load_arch
    from tlm.config.overrides import WORKLOAD_PATHS, arch_leaves
    return sorted(arch_leaves(load_arch(CONFIGS / "imagine.yaml").to_dict())) + sorted(WORKLOAD_PATHS)


SET_PATHS = _set_paths()
SET_VALUES = ["0", "-1", "1", "2", "1048576", "1048577", "1e-300", "1e308", "inf", "-inf", "nan", "0.5", "true",
              "abc", "", "1..3", "9" * 5000, "1e-6", "4", "8", "0x10", "1,2", "auto", "pipelined", "replicate"]


@settings(max_examples=EXAMPLES["set"], **FUZZ)
@given(st.data())
def test_fuzz_set_values(root, data):
    case = _case(root)
    sets = []
    for _ in range(data.draw(st.integers(1, 2))):
        sets += ["--set", f"{data.draw(st.sampled_from(SET_PATHS))}={data.draw(st.sampled_from(SET_VALUES))}"]
    wl = data.draw(st.sampled_from(["mnist_cnn", "resnet8", "ds_cnn"]))
    cmd = data.draw(st.sampled_from(["simulate", "simulate", "validate"]))
    out = case / "r.json"
    argv = ([cmd, "-q", "imagine", wl, "--engine", "analytic", "--json", out, *sets] if cmd == "simulate"
            else [cmd, "imagine", wl, *sets])
    code, o, e = run_cli(argv)
    assert_contract(code, o, e, ["--set", "(command line)", "imagine", CONFIGS, WORKLOADS], case)
    if code == 0 and cmd == "simulate":
        check_result_invariants(json.loads(out.read_text()))


# ---- tlm import: hostile strings round trip ------------------------------------------------------------------
HOSTILE_CHARS = ["\n", "\r", "#", ":", " ", "*", "&", "!", "[", "]", "{", "}", ",", "'", '"', "-", "?", "|", ">",
                 "%", "@", "`", "\u2028", "\u2029", "\x85", "\t", "\ufeff", "é", "\x00", "yes", "no", "~", "null",
                 "a", "b"]
hostile = st.lists(st.sampled_from(HOSTILE_CHARS), min_size=0, max_size=6).map("".join)


def _hostile_model(path: Path, s: list) -> Path:
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    t = [x.replace("\x00", "") for x in s]  # protobuf strings may hold NUL; names are kept printable-ish
    rng = np.random.default_rng(1)
    inits = [numpy_helper.from_array(rng.standard_normal((4, 1, 3, 3)).astype(np.float32), "w" + t[0]),
             numpy_helper.from_array(rng.standard_normal((10, 144)).astype(np.float32), "wf" + t[1])]
    nodes = [helper.make_node("Conv", ["in" + t[2], "w" + t[0]], ["c" + t[3]], name="conv" + t[4], doc_string=s[5]),
             helper.make_node("Relu", ["c" + t[3]], ["r" + t[5]], name="relu" + t[6]),
             helper.make_node("Flatten", ["r" + t[5]], ["f" + t[7]], name="flat" + t[8]),
             helper.make_node("Gemm", ["f" + t[7], "wf" + t[1]], ["out" + t[9]], name="fc" + t[10], transB=1)]
    g = helper.make_graph(nodes, t[11], [helper.make_tensor_value_info("in" + t[2], TensorProto.FLOAT, [1, 1, 8, 8])],
                          [helper.make_tensor_value_info("out" + t[9], TensorProto.FLOAT, [1, 10])], inits,
                          doc_string=s[12])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name=s[13],
                          producer_version=s[14], domain=t[15], doc_string=s[16])
    m.ir_version = 8
    helper.set_model_props(m, {"k" + t[17]: s[18], "tlm.range.conv" + t[4]: "2.0", "tlm.range.fc" + t[10]: "3.0"})
    onnx.save(m, str(path))
    return path


@settings(max_examples=EXAMPLES["import"], **FUZZ)
@given(strings=st.lists(hostile, min_size=19, max_size=19), weights=hostile, stem=hostile)
def test_fuzz_import_round_trip(root, strings, weights, stem):
    """`tlm import` of a model whose every string field is hostile, with a hostile --weights name: the
    written workload loads, names only the weights file given, and its layers are the model's."""
    pytest.importorskip("onnx")
    case = _case(root)
    stem = stem.replace("/", "").replace("\x00", "") or "m"
    model = _hostile_model(case / f"{stem}.onnx", strings)
    wname = weights.replace("/", "").replace("\x00", "")
    if wname in ("", ".", "..", "-"):
        wname = "w" + wname
    out = case / "w.yaml"
    code, o, e = run_cli(["import", model, "-o", out, "--weights", case / wname])
    assert_contract(code, o, e, [model, "(command line)"], None)
    if code != 0:  # (a name ONNX cannot tell apart: refused in one line, nothing written)
        assert not out.exists() and not (case / wname).exists()
        return
    data = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert set(data) == {"name", "source", "input", "precision", "batch", "layers", "weights"}, sorted(data)
    assert data["weights"] == wname and data["batch"] == 1 and data["name"] == stem
    from tlm.config.workload import load_workload
    from tlm.functional.model import load_params, weights_path
    wl = load_workload(out)
    assert weights_path(wl) == case / wname
    assert load_params(wl)[wl.layers[0].name + ".w"].shape == (4, 1, 3, 3)
