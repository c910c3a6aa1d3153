"""Robustness, round three (issue 24): one regression test per failure of the campaign on the new surfaces
(trained weights, datasets, published sections, --set, import).  Each test is written from the issue's
reproducer (its item number in the section title) and asserts the CLI contract: one line naming the file
(or the command line) and the field, exit 2, nothing half-written, no scratch folder left."""
from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import yaml

from tlm.cli import main

ROOT = Path(__file__).resolve().parent.parent
WORKLOADS = ROOT / "workloads"
HOSTILE = "x\nweights: other.npz #\u2028batch: 77\x85: *a [x] yes - # 'q' \"d\""


def run_cli(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def refused(argv, *names) -> str:
    """Run the CLI: exit 2 and one line `error: ...` naming every one of `names`; that line."""
    code, o, e = run_cli(argv)
    lines = e.splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), (code, e)
    assert "Traceback" not in e and "internal error" not in e
    for n in names:
        assert str(n) in lines[0], (n, lines[0])
    return lines[0]


def env():
    return dict(os.environ, PYTHONPATH=str(ROOT))


def dataset(path: Path, n: int = 4, shape=(1, 28, 28)) -> Path:
    rng = np.random.default_rng(0)
    np.savez(path, images=rng.integers(0, 256, (n, *shape), dtype=np.uint8), labels=np.arange(n) % 10)
    return path


def npy_member(shape, descr="<f8", data=b"") -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False, "shape": shape})
    return buf.getvalue() + data


def zip_of(path: Path, members: dict) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        for k, v in members.items():
            z.writestr(k, v)
    return path


# ---- 1. tlm import: every text into the YAML through the emitter -------------------------------------------
def hostile_model(path: Path) -> Path:
    """A small CNN whose every string field is hostile: graph, node, tensor and model names, producer,
    domain, doc strings, metadata (the activation ranges are under hostile layer names)."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper
    H = HOSTILE
    rng = np.random.default_rng(1)
    inits = [numpy_helper.from_array(rng.standard_normal((4, 1, 3, 3)).astype(np.float32), H + "w"),
             numpy_helper.from_array(rng.standard_normal((10, 144)).astype(np.float32) * 0.1, H + "wf")]
    nodes = [helper.make_node("Conv", ["in" + H, H + "w"], ["c" + H], name="conv" + H, doc_string=H),
             helper.make_node("Relu", ["c" + H], ["r" + H], name="relu" + H, doc_string=H),
             helper.make_node("Flatten", ["r" + H], ["f" + H], name="flat" + H),
             helper.make_node("Gemm", ["f" + H, H + "wf"], ["out" + H], name="fc" + H, transB=1)]
    g = helper.make_graph(nodes, "g" + H, [helper.make_tensor_value_info("in" + H, TensorProto.FLOAT, [1, 1, 8, 8])],
                          [helper.make_tensor_value_info("out" + H, TensorProto.FLOAT, [1, 10])], inits,
                          doc_string=H)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name=H, producer_version=H,
                          domain=H, doc_string=H)
    m.ir_version = 8
    helper.set_model_props(m, {"k" + H: H, "tlm.range.conv" + H: "2.0", "tlm.range.fc" + H: "4.0"})
    onnx.save(m, str(path))
    return path


@pytest.mark.parametrize("weights", ["a: b.npz", "#x.npz", "*a.npz", "[x].npz", "yes", "-x", "x\u2028y.npz",
                                     "n\nweights: z.npz", HOSTILE])
def test_import_hostile_strings_round_trip(tmp_path, weights):
    """Reproducer: a producer_name "x\\nweights: other.npz #" gave the workload a weights: key of the model's
    choosing; `--weights 'a: b.npz'`, `yes`, `-`... wrote a workload that did not load or named another
    file.  Now the written workload loads, names only the given file, and that file holds the weights."""
    model = hostile_model(tmp_path / f"m{HOSTILE[:2]}.onnx")
    out = tmp_path / "w.yaml"
    code, o, e = run_cli(["import", model, "-o", out, "--weights", tmp_path / weights])
    assert code == 0, e
    data = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert set(data) == {"name", "source", "input", "precision", "batch", "layers", "weights"}, sorted(data)
    assert data["weights"] == weights and data["batch"] == 1
    from tlm.config.workload import load_workload
    from tlm.functional.model import load_params, weights_path
    wl = load_workload(out)
    assert weights_path(wl) == tmp_path / weights and sorted(load_params(wl))[:2] == sorted(load_params(wl))[:2]
    assert [l.name for l in wl.layers][0] == "conv" + HOSTILE  # names kept as they are, escaped in the file
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([model.name, "w.yaml", weights])


def test_import_hostile_header_adds_no_key_and_accuracy_runs(tmp_path):
    model = hostile_model(tmp_path / "m.onnx")
    out = tmp_path / "w.yaml"
    assert run_cli(["import", model, "-o", out])[0] == 0
    assert "weights" not in yaml.safe_load(out.read_text(encoding="utf-8"))
    assert run_cli(["import", model, "-o", out, "--weights", tmp_path / "yes"])[0] == 0
    code, o, e = run_cli(["accuracy", out, "--images", "2", "--dataset", dataset(tmp_path / "d.npz", 2, (1, 8, 8))])
    assert code == 0, e
    refused(["import", model, "-o", tmp_path / "v.yaml", "--weights", "-"], "--weights", "(command line)")
    assert not (tmp_path / "v.yaml").exists()


# ---- 2, 13. run limits on the workload as it will run ------------------------------------------------------
def _wide(tmp_path, batch=None) -> Path:
    """1024 -> 1025 dense: 1,049,600 MACs per image; at batch 2^20 that is 2^40 + 2^30, over the limit."""
    w = tmp_path / ("wide.yaml" if batch is None else "wide_batch.yaml")
    w.write_text("name: wide\ninput: {shape: [1024]}\n" + (f"batch: {batch}\n" if batch else "")
                 + "layers:\n  - {type: dense, out_features: 1025}\n")
    return w


def test_set_batch_is_refused_exactly_as_the_file_would_be(tmp_path):
    """Reproducer: `--set workload.batch=1048576` skipped the run limits the same batch in the file triggers
    (exit 0 with 9.5x less DP energy per image).  The same message, the batch's origin named."""
    in_file = refused(["simulate", "-q", "imagine", _wide(tmp_path, 1 << 20)], "layers[0]")
    w = _wide(tmp_path)
    by_set = refused(["simulate", "-q", "imagine", w, "--set", "workload.batch=1048576"],
                     "--set workload.batch=1048576", "layers[0]")
    assert in_file.split("layers[0]: ")[1] == by_set.split("layers[0]: ")[1]
    assert "1100585369600 MACs and ops per run (batch 1048576)" in by_set  # 1025 x 1024 x 2^20
    out = tmp_path / "s.csv"  # a sweep keeps going: the point's status row says why, in the same words
    assert run_cli(["sweep", "imagine", w, "-q", "--set", "workload.batch=1,1048576", "-o", out])[0] == 0
    import csv
    rows = list(csv.DictReader(out.open()))
    assert rows[0]["status"] == "ok" and rows[1]["status"].startswith("infeasible: layers[0]: ")
    assert in_file.split("layers[0]: ")[1] in rows[1]["status"]


def test_functional_image_count_is_a_run_limit():
    """Reproducer: `--functional --images 100000` on ResNet-8 (1.25e12 MACs) ended in MemoryError."""
    refused(["simulate", "-q", "imagine", "resnet8", "--functional", "--images", "100000"],
            "--images 100000 (command line)", "MACs and ops per run (batch 100000)")


def test_set_value_of_thousands_of_digits_is_one_line():
    """Reproducer: a --set integer of more than 4,300 digits was a ValueError on every command."""
    for cmd in (["simulate", "-q"], ["validate", "imagine"], ["sweep", "-q", "-o", "/nonexistent/x.csv"]):
        refused([*cmd, "--set", "macro.count=" + "9" * 5000], "--set", "macro.count", "characters")


# ---- 3. the tiles a plan enumerates ----------------------------------------------------------------------
def test_plan_tiles_bounded_in_validate_and_simulate(tmp_path):
    """Reproducer: a 1-row macro with a 2^20 -> 2^20 dense layer passed validate, then simulate asked numpy
    for 256 GiB (np.arange(tiles)).  2^20 rows x 2^20 x 8 bits / 256 columns = 2^35 tiles > 2^22."""
    a = tmp_path / "a.yaml"
    a.write_text("extends: imagine\nmacro: {rows: 1, dp_split_blocks: 1}\n")
    w = tmp_path / "w.yaml"
    w.write_text("name: big\ninput: {shape: [1048576]}\nlayers:\n  - {type: dense, out_features: 1048576}\n")
    for cmd in (["validate"], ["simulate", "-q", "--engine", "analytic"]):
        line = refused([*cmd, a, w], f"{w}:4:5", "layers[0](dense0)", "34,359,738,368 weight tiles")
        assert "4,194,304 tiles a plan enumerates" in line


# ---- 4. dataset files ---------------------------------------------------------------------------------
def _bad_datasets(tmp_path):
    cases = {"not an .npy": zip_of(tmp_path / "a.npz", {"images.npy": b"hello", "labels.npy": b"x"}),
             "no .npy member": zip_of(tmp_path / "b.npz", {"images.txt": b"hello"}),
             "10^9 images": zip_of(tmp_path / "c.npz", {"images.npy": npy_member((10**9, 1, 28, 28), "|u1", b"\0" * 500)}),
             "object array": tmp_path / "d.npz"}
    np.savez(tmp_path / "d.npz", images=np.array([None, 1], dtype=object), labels=np.arange(2))
    np.save(tmp_path / "e.npy", np.zeros((2, 1, 28, 28), np.uint8))
    cases["plain .npy"] = tmp_path / "e.npz"
    (tmp_path / "e.npy").rename(cases["plain .npy"])
    assert (tmp_path / "c.npz").stat().st_size < 1000
    return cases


@pytest.mark.parametrize("path", ["accuracy", "functional", "activity", "import"])
def test_damaged_dataset_files_are_one_line(tmp_path, path):
    """Reproducer: a member that is not an .npy, a plain .npy named .npz, a 598-byte file whose header
    declares 10^9 images -> AttributeError, TypeError, MemoryError (all reading paths)."""
    for what, f in _bad_datasets(tmp_path).items():
        argv = {"accuracy": ["accuracy", "imagine", "mnist_cnn", "--images", "2", "--dataset", f],
                "functional": ["simulate", "-q", "imagine", "mnist_cnn", "--functional", "--images", "2",
                               "--dataset", f],
                "activity": ["simulate", "-q", "imagine", "mnist_cnn", "--activity-from", f],
                "import": ["import", WORKLOADS / "mnist_cnn.onnx", "-o", tmp_path / "o.yaml", "--weights",
                           tmp_path / "o.npz", "--dataset", f]}[path]
        if path == "import":  # the shipped model carries its ranges: drop them so that it calibrates
            argv[1] = _without_ranges(tmp_path)
        line = refused(argv, f)
        assert {"not an .npy": "images: not an .npy", "no .npy member": "images.txt: member is not an .npy",
                "10^9 images": "images: header declares shape [1000000000, 1, 28, 28]",
                "object array": "images: dtype |O is not numeric",
                "plain .npy": "single .npy array"}[what] in line, (what, line)
        assert not (tmp_path / "o.yaml").exists()


def _without_ranges(tmp_path) -> Path:
    onnx = pytest.importorskip("onnx")
    m = onnx.load(str(WORKLOADS / "mnist_cnn.onnx"))
    del m.metadata_props[:]
    p = tmp_path / "noranges.onnx"
    onnx.save(m, str(p))
    return p


# ---- 5, 6. weights files and the weights: field --------------------------------------------------------
def _with_weights(tmp_path, arrays: dict | None = None, raw: bytes | None = None, field: str = "w.npz") -> Path:
    text = (WORKLOADS / "mnist_cnn.yaml").read_text()
    w = tmp_path / "w.yaml"
    w.write_text("\n".join(f"weights: {field}" if l.startswith("weights:") else l for l in text.splitlines()))
    if raw is not None:
        (tmp_path / "w.npz").write_bytes(raw)
    elif arrays is not None:
        np.savez(tmp_path / "w.npz", **arrays)
    return w


SHIPPED = dict(np.load(WORKLOADS / "mnist_cnn.npz"))


@pytest.mark.parametrize("change, says", [
    ({"input.range": np.array([1.0, 2.0])}, "input.range: expected one number"),
    ({"input.range": np.array("x")}, "input.range: dtype <U1 is not numeric"),
    ({"conv1.range": np.array(0.0)}, "conv1.range: a range must be from 1e-30 to 1e+30, found 0"),
    ({"conv1.range": np.array(np.nan)}, "conv1.range: holds non-finite values"),
    ({"conv1.range": np.array(np.inf)}, "conv1.range: holds non-finite values"),
    ({"conv1.range": np.array(1e308)}, "conv1.range: a range must be from 1e-30 to 1e+30, found 1e+308"),
    ({"fc.w": np.full((10, 1568), 1e308)}, "fc.w: holds |values| up to 1e+308, over the limit of 1e+30"),
])
def test_weights_values_are_bounded(tmp_path, change, says):
    """Reproducer: ranges of 0, NaN, inf or 1e308 and weights of 1e308 were accepted (accuracies from NaN);
    an input.range that is a vector or a string was an internal error."""
    w = _with_weights(tmp_path, {**SHIPPED, **change})
    line = refused(["accuracy", "imagine", w, "--images", "2"], tmp_path / "w.npz")
    assert says in line, line


@pytest.mark.parametrize("members, says", [
    ({"fc.w.txt": b"x"}, "fc.w.txt: member is not an .npy array"),
    ({"fc.w.npy": npy_member((1 << 40,), "<f8", b"\0" * 64)}, "fc.w: header declares shape [1099511627776]"),
])
def test_weights_members_checked_from_their_headers(tmp_path, members, says):
    w = _with_weights(tmp_path, raw=zip_of(tmp_path / "z.npz", members).read_bytes())
    line = refused(["accuracy", "imagine", w, "--images", "2"], tmp_path / "w.npz")
    assert says in line, line


@pytest.mark.parametrize("value, says", [("5", "found 5"), ("[a, b]", "found ['a', 'b']"),
                                         ("x" * 5000, "File name too long"), ("arr.npy", "single .npy array")])
@pytest.mark.parametrize("how", [["--functional", "--images", "2"], ["--activity-from", "mnist5k"]])
def test_weights_field_checked_by_every_reader(tmp_path, value, says, how):
    """Reproducer: `weights: 5`, a list, a 5,000-character name or a .npy were checked by `tlm accuracy` only;
    simulate --functional and --activity-from raised TypeError / OSError."""
    np.save(tmp_path / "arr.npy", np.zeros(3))
    w = _with_weights(tmp_path, field=value)
    line = refused(["simulate", "-q", "imagine", w, *how], w, "weights")
    assert says in line, line


# ---- 7. ONNX initializers and external data --------------------------------------------------------------
def _onnx_variant(tmp_path, edit, name="m.onnx") -> Path:
    onnx = pytest.importorskip("onnx")
    m = onnx.load(str(WORKLOADS / "mnist_cnn.onnx"))
    edit(m)
    p = tmp_path / name
    onnx.save(m, str(p))
    return p


def _init(m, name):
    return next(t for t in m.graph.initializer if t.name == name)


def _external(loc, offset=0, length=None):
    def edit(m):
        t = _init(m, "fc.bias")
        data = t.raw_data
        t.ClearField("raw_data")
        t.data_location = 1  # EXTERNAL
        for k, v in (("location", loc), ("offset", str(offset)), ("length", str(len(data) if length is None else length))):
            e = t.external_data.add()
            e.key, e.value = k, v
    return edit


def test_external_data_resolved_in_the_model_folder(tmp_path, monkeypatch):
    """Reproducer: a valid relative .bin was resolved against the current directory, not the model's."""
    (tmp_path / "m").mkdir()
    p = _onnx_variant(tmp_path / "m", _external("fc_b.bin"))
    (tmp_path / "m" / "fc_b.bin").write_bytes(np.zeros(10, np.float32).tobytes())
    monkeypatch.chdir(tmp_path)  # not the model's folder
    ds = dataset(tmp_path / "d.npz", 2)
    code, o, e = run_cli(["accuracy", "imagine", p, "--images", "2", "--dataset", ds])
    assert code == 0, e


@pytest.mark.parametrize("case, says", [
    ("absolute", "must be a path relative to the model's folder"), ("dotdot", "must be a path relative"),
    ("symlink", "goes through a symbolic link"), ("missing", "not found next to the model"),
    ("negative", "offset 0 and length -4"), ("short", "not a regular file of at least 40 bytes")])
def test_external_data_outside_the_folder_is_refused(tmp_path, case, says):
    (tmp_path / "m").mkdir()
    real = tmp_path / "real.bin"
    real.write_bytes(np.zeros(10, np.float32).tobytes())
    (tmp_path / "m" / "short.bin").write_bytes(b"\0" * 8)
    (tmp_path / "m" / "link.bin").symlink_to(real)
    loc, length = {"absolute": (str(real), None), "dotdot": ("../real.bin", None), "symlink": ("link.bin", None),
                   "missing": ("none.bin", None), "negative": ("short.bin", -4), "short": ("short.bin", None)}[case]
    p = _onnx_variant(tmp_path / "m", _external(loc, 0, length))
    for argv in (["accuracy", "imagine", p, "--images", "2"],
                 ["import", p, "-o", tmp_path / "o.yaml", "--weights", tmp_path / "o.npz"]):
        line = refused(argv, p, "initializer 'fc.bias'")
        assert says in line, line
    assert not (tmp_path / "o.yaml").exists() and not (tmp_path / "o.npz").exists()


def _raw(n):
    def edit(m):
        t = _init(m, "conv1.bias")
        t.raw_data = t.raw_data[:n] if n < 64 else t.raw_data + b"\0" * 8
    return edit


def _float_data(m):
    t = _init(m, "conv1.bias")
    t.ClearField("raw_data")
    t.float_data.extend([0.0] * 3)


def _dtype(d):
    def edit(m):
        _init(m, "conv1.bias").data_type = d
    return edit


def _segment(m):
    t = _init(m, "conv1.bias")
    t.segment.begin, t.segment.end = 0, 4


@pytest.mark.parametrize("edit, says", [
    (_raw(10), "raw_data holds 10 bytes, the dims [16] need 64"), (_raw(99), "raw_data holds 72 bytes"),
    (_float_data, "cannot read its values (ValueError: cannot reshape array of size 3"), (_dtype(0), "data_type 0 is not a real numeric type"),
    (_dtype(99), "data_type 99 is not"), (_dtype(14), "data_type 14 is not"), (_segment, "segmented tensors")])
def test_malformed_initializers_are_one_line(tmp_path, edit, says):
    """Reproducer: raw_data shorter or longer than the dims, short float_data, data_type 0 or 99 (or complex),
    a segment: internal errors in accuracy and import --weights although the same models simulate."""
    p = _onnx_variant(tmp_path, edit)
    for argv in (["accuracy", "imagine", p, "--images", "2"],
                 ["import", p, "-o", tmp_path / "o.yaml", "--weights", tmp_path / "o.npz"]):
        line = refused(argv, p, "initializer 'conv1.bias'")
        assert says in line, line


def _bn(var, eps=1e-5):
    """A BatchNormalization after conv1 (folded into it by the importer) with variance `var`."""
    def edit(m):
        from onnx import helper, numpy_helper
        conv = m.graph.node[0]
        out = conv.output[0]
        conv.output[0] = "pre_bn"
        for n, v in (("s", 1.0), ("b", 0.0), ("mu", 0.0), ("var", var)):
            m.graph.initializer.append(numpy_helper.from_array(np.full(16, v, np.float32), "bn_" + n))
        m.graph.node.insert(1, helper.make_node("BatchNormalization", ["pre_bn", "bn_s", "bn_b", "bn_mu", "bn_var"],
                                                [out], name="bn", epsilon=eps))
    return edit


def _alpha(m):
    from onnx import helper
    m.graph.node[-1].attribute.append(helper.make_attribute("alpha", float("nan")))


def _range(v):
    def edit(m):
        next(p for p in m.metadata_props if p.key == "tlm.range.conv1").value = v
    return edit


@pytest.mark.parametrize("edit, field, says", [
    (_bn(-1.0), "conv1.w (after folding)", "non-finite"), (_bn(-1e-5), "conv1.w (after folding)", "non-finite"),
    (_alpha, "fc.w (after folding)", "non-finite"),
    (_range("1e-320"), "metadata_props 'tlm.range.conv1'", "a range must be from 1e-30")])
def test_folded_values_are_checked_like_a_weights_file(tmp_path, edit, field, says, recwarn):
    """Reproducer: BatchNorm var < 0 or var + eps = 0, Gemm alpha NaN, a 1e-320 range: accepted with numpy
    warnings; `import --weights` then wrote an .npz that `tlm accuracy` refused."""
    p = _onnx_variant(tmp_path, edit)
    for argv in (["accuracy", "imagine", p, "--images", "2"],
                 ["import", p, "-o", tmp_path / "o.yaml", "--weights", tmp_path / "o.npz"]):
        line = refused(argv, p, field)
        assert says in line, line
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]  # no numpy warning either


# ---- 8. extends: ----------------------------------------------------------------------------------------
def test_extends_errors_name_the_base_and_published_names_resolve(tmp_path):
    """Reproducer: an unknown key in the base was reported in the child at the base's line; a base that is
    no config had its first line quoted; `extends: published/jia_jssc2020` was refused."""
    (tmp_path / "base.yaml").write_text("extends: imagine\nbogus: 1\n")
    (tmp_path / "child.yaml").write_text("# one\n# two\nextends: base.yaml\n")
    refused(["validate", tmp_path / "child.yaml"], f"{tmp_path / 'base.yaml'}:2:1: bogus: unknown field 'bogus'")
    (tmp_path / "sys.yaml").write_text("root:x:0:0:/root: 1\n")  # like a system file's first line
    (tmp_path / "c2.yaml").write_text("extends: sys.yaml\n")
    line = refused(["validate", tmp_path / "c2.yaml"], f"{tmp_path / 'sys.yaml'}:1:1")
    assert "root:x" not in line
    (tmp_path / "c3.yaml").write_text("extends: published/jia_jssc2020\nmacro: {count: 2}\n")
    code, o, e = run_cli(["validate", tmp_path / "c3.yaml"])
    assert code == 0 and "jia_jssc2020" in o, e


# ---- 9. published sections and calibrate --write -------------------------------------------------------
@pytest.mark.parametrize("figure, tech, field", [
    ("value: 1.0e-308", "", "published.figures[0].value"),
    ("value: 100, clock_mhz: 1.0e-300", "", "published.figures[0].clock_mhz"),
    ("value: 100, vdd_array_v: 1.0e-300", "", "published.figures[0].vdd_array_v"),
    ("value: 100", "technology: {leakage_v_per_decade: 0.001}\n", "technology.leakage_v_per_decade")])
def test_published_figures_and_technology_bounded(tmp_path, figure, tech, field):
    """Reproducer: a figure value of 1e-308 (paper printed +inf%, calibrate LinAlgError), a clock of 1e-300
    MHz (math domain error), leakage_v_per_decade 0.001 (OverflowError in paper and calibrate)."""
    a = tmp_path / "p.yaml"
    a.write_text(f"extends: imagine\n{tech}published:\n  citation: test\n  figures:\n"
                 f"    - {{key: e, metric: energy_efficiency, unit: TOPS/W, input_bits: 1, weight_bits: 1, "
                 f"output_bits: 8, {figure}}}\n")
    for cmd in ("paper", "calibrate"):
        refused([cmd, a], a, field)


def test_calibrate_write_checks_what_it_writes(tmp_path):
    """Reproducer: `calibrate --write` with `fitted: [macro.rows]` wrote rows that the fold does not divide:
    a file that then did not load.  Now refused naming the source, and the file is left as it was.  A fold of
    256 (2304 rows = 9 x 256) rather than Jia's 3: a fitted row count divides by it once in 256, whatever the
    model (a fold of 9 stopped failing when the fit happened to land on 2421 = 9 x 269)."""
    src = (ROOT / "configs" / "published" / "jia_jssc2020.yaml").read_text()
    a = tmp_path / "jr.yaml"
    assert "\n  fold: 3 " in src
    a.write_text(src.replace("extends: ../imagine.yaml", "extends: imagine").replace(
        "\npublished:\n", "\npublished:\n  fitted: [macro.rows]\n").replace("\n  fold: 3 ", "\n  fold: 256 "))
    assert "fitted: [macro.rows]" in a.read_text()
    before = a.read_bytes()
    refused(["calibrate", a, "--write", a], a, "published.fitted", "does not load", "fold")
    assert a.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["jr.yaml"]


def test_a_fit_that_leaves_no_valid_design_names_published_fitted(tmp_path):
    """Fuzz at scale 5 found: Lee et al.'s figures with `fitted: [macro.rows]` drive rows to 0, and the
    error named the generated figure workload ("<peak_5b>: input.shape") instead of the user's file.  Its
    area-efficiency figure alone (the model's is an order of magnitude above it) drives rows to 0 whatever
    the energy model predicts."""
    tree = yaml.safe_load((ROOT / "configs" / "published" / "lee_vlsi2021.yaml").read_text())
    tree["extends"] = "imagine"
    tree["published"]["fitted"] = ["macro.rows"]
    tree["published"]["figures"] = [f for f in tree["published"]["figures"] if f["metric"] == "area_efficiency"]
    a = tmp_path / "lee_rows.yaml"
    a.write_text(yaml.safe_dump(tree, sort_keys=False))
    refused(["calibrate", a], a, "published.fitted", "leaves no valid design")


# ---- 10. an infeasible mapping policy ----------------------------------------------------------------------
def test_infeasible_policy_names_the_file_and_validate_refuses_it(tmp_path):
    """Reproducer: "<architecture>: mapping.policy" (the mapper read an attribute never set); validate ok."""
    a = tmp_path / "pol.yaml"
    a.write_text("extends: imagine\nmapping: {policy: pipelined}\n")
    for cmd in (["validate"], ["simulate", "-q"]):
        refused([*cmd, a, "resnet8"], f"{a}: mapping.policy", "policy 'pipelined'", "the architecture has 1")
    refused(["simulate", "-q", "imagine", "resnet8", "--set", "mapping.policy=pipelined"],
            "--set mapping.policy=pipelined: mapping.policy")
    refused(["simulate", "-q", "imagine", "resnet8", "--mapping", "pipelined"],
            "--mapping pipelined (command line): mapping.policy")


# ---- 11. scratch folders: SIGTERM and no usable $TMPDIR -------------------------------------------------
def test_sigterm_during_a_run_removes_its_scratch_folder(tmp_path):
    """Reproducer: SIGTERM during `simulate -o DIR --trace --plot` left a tlm-run-* folder in $TMPDIR."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    p = subprocess.Popen([sys.executable, "-m", "tlm", "simulate", "-q", "imagine", "resnet8", "--engine", "tlm", "--set", "workload.batch=32",
                          "-o", tmp_path / "out", "--trace", "--plot"], env={**env(), "TMPDIR": str(tmp)},
                         stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not any(x.name.startswith("tlm-run-") for x in tmp.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert any(x.name.startswith("tlm-run-") for x in tmp.iterdir())
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 130 and err.strip() == "interrupted", (p.returncode, err)
    assert not [x for x in tmp.iterdir() if x.name.startswith("tlm-run-")]
    assert not (tmp_path / "out").exists()


def test_no_usable_tmpdir_is_one_line(tmp_path):
    """Reproducer: with a zero file-size limit `simulate -o DIR --trace` said "No usable temporary directory"
    (FileNotFoundError, exit 1)."""
    import resource

    def cap():
        resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    r = subprocess.run([sys.executable, "-m", "tlm", "simulate", "-q", "imagine", "mnist_cnn", "-o",
                        tmp_path / "out", "--trace"], capture_output=True, text=True, env={**env(), "TMPDIR": str(tmp_path)},
                       preexec_fn=cap, timeout=120)
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert r.stderr.startswith(f"error: {tmp_path}: $TMPDIR: cannot make a scratch folder")
    assert list(tmp_path.iterdir()) == []


# ---- 12. the Dask client's own logging ------------------------------------------------------------------
def test_dask_client_logging_is_silenced_once_connected():
    """Reproducer: a lost scheduler gave the right one-line error after 1-35 lines of distributed's logs
    (importing distributed set its loggers' levels after tlm had lowered them)."""
    import logging
    distributed = pytest.importorskip("dask.distributed")
    from tlm.services.parallel import dask_client
    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None)
    try:
        client = dask_client(cluster.scheduler_address)
        for name in ("distributed", "distributed.client", "distributed.batched", "distributed.core", "tornado"):
            assert logging.getLogger(name).getEffectiveLevel() > logging.CRITICAL, name
        client.close()
    finally:
        cluster.close()


# ---- 13. --seed, fixed_range_fraction, dp_swing_fraction ---------------------------------------------------
def test_functional_seed_and_swing_fractions_are_one_line():
    refused(["simulate", "-q", "imagine", "mnist_cnn", "--functional", "--seed", "-1"], "<command line>", "--seed")
    refused(["accuracy", "imagine", "mnist_cnn", "--images", "2", "--fixed-range", "1e-300"],
            "--fixed-range 1e-300 (command line)", "functional.fixed_range_fraction", "expected >= 1e-06")
    refused(["accuracy", "imagine", "mnist_cnn", "--images", "2", "--set", "functional.dp_swing_fraction=1e-300"],
            "functional.dp_swing_fraction", "expected >= 1e-06")


# ---- 14. sweep --resume with a damaged cell ---------------------------------------------------------------
def test_resume_refuses_a_non_numeric_cell_before_running(tmp_path):
    """Reproducer: a non-numeric cell: the sweep ran, rewrote the file, then crashed reading it back."""
    out = tmp_path / "r.csv"
    argv = ["sweep", "imagine", "mnist_cnn", "--set", "macro.count=1,2", "-o", out, "-q"]
    assert run_cli(argv)[0] == 0
    lines = out.read_text().splitlines()
    lines[2] = lines[2].rsplit(",", 1)[0] + ",abc"
    out.write_text("\n".join(lines) + "\n")
    before = out.read_bytes()
    refused([*argv, "--resume"], f"{out}:3", "energy_external_per_inference_pj", "'abc' is not a number")
    assert out.read_bytes() == before


# ---- 15. a closed pipe -----------------------------------------------------------------------------------
@pytest.mark.parametrize("cmd", [["simulate", "imagine", "mnist_cnn", "--engine", "analytic"], ["chips"]])
def test_closed_pipe_exits_zero_quietly(cmd):
    """Reproducer: `tlm simulate | head` exited 1 with no message (rich's SystemExit(1) on a broken pipe)."""
    p = subprocess.Popen([sys.executable, "-m", "tlm", *cmd], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env={**env(), "COLUMNS": "80"})
    p.stdout.readline()
    p.stdout.close()  # the reader goes away after one line
    err = p.stderr.read()
    assert p.wait(timeout=120) == 0 and err == b"", err


# ---- 16. minor ------------------------------------------------------------------------------------------
def test_accuracy_images_zero_names_the_command_line():
    refused(["accuracy", "imagine", "mnist_cnn", "--images", "0"], "<command line>: --images")


def test_plot_with_cjk_layer_names_prints_nothing(tmp_path):
    pytest.importorskip("matplotlib")
    w = tmp_path / "cjk.yaml"
    w.write_text("name: cjk\ninput: {shape: [1, 8, 8]}\nlayers:\n  - {name: 卷积层一, type: conv2d, out_channels: 4, "
                 "kernel: 3}\n  - {name: 平, type: flatten}\n  - {name: 全连接, type: dense, out_features: 10}\n",
                 encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "tlm", "simulate", "-q", "imagine", w, "--engine", "analytic",
                        "--plot", tmp_path / "p"], capture_output=True, text=True, env=env(), timeout=120)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert (tmp_path / "p" / "run_energy.png").stat().st_size > 1000


# ---- found by the fuzz harness at 5x (test_fuzz_architecture_tree) ------------------------------------------
def test_a_design_named_inf_sweeps(tmp_path):
    """A design named 'inf' loaded, but every sweep point said `name: expected a string, found inf`: the
    'inf' written for an infinite bandwidth in arch.to_dict() was read back as infinity in any field."""
    a = tmp_path / "a.yaml"
    a.write_text("extends: imagine\nname: inf\ndma: {bandwidth_bits_per_cycle: .inf}\n")
    out = tmp_path / "s.csv"
    code, o, e = run_cli(["sweep", a, "mnist_cnn", "--set", "macro.count=1,2", "-q", "-o", out])
    assert code == 0, e
    from tlm.config.arch import arch_from_dict, load_arch
    arch = load_arch(a)
    back = arch_from_dict(arch.to_dict())
    assert back == arch and back.name == "inf" and back.dma.bandwidth_bits_per_cycle == float("inf")


def test_a_damaged_compressed_member_is_one_line(tmp_path):
    """Fuzz at scale 5 found: a flipped byte inside a deflated member (np.savez_compressed) raised zlib.error
    ("invalid distance too far back") out of the one .npz reader.  Here the member's first deflate byte is
    set to 0xFF: block type 11, which RFC 1951 reserves, so zlib refuses the stream at its first block."""
    import zipfile
    from tlm.config.npz import read_npz
    from tlm.errors import InputError
    p = tmp_path / "c.npz"
    np.savez_compressed(p, w=np.arange(4096, dtype=np.float32))
    raw = bytearray(p.read_bytes())
    with zipfile.ZipFile(p) as z:
        info = z.getinfo("w.npy")
    assert info.compress_type == zipfile.ZIP_DEFLATED
    name_len, extra_len = int.from_bytes(raw[info.header_offset + 26:info.header_offset + 28], "little"), \
        int.from_bytes(raw[info.header_offset + 28:info.header_offset + 30], "little")
    raw[info.header_offset + 30 + name_len + extra_len] = 0xFF
    p.write_bytes(bytes(raw))
    with pytest.raises(InputError) as e:
        read_npz(p, "weights file")
    assert "c.npz" in str(e.value) and "w" in str(e.value).split(": ")[1], str(e.value)
