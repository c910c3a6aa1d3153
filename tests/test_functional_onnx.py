"""ONNX with weights (tlm/onnxio/weights.py): `tlm accuracy MODEL.onnx`, the shipped network exported by
scripts/export_mnist_onnx.py, BN folding checked against onnx's reference evaluator, dataset files."""
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tlm.services import accuracy as A
from tlm.functional import model as F
from tlm.onnxio import weights as OW
from tlm.errors import InputError
from tlm.config.workload import load_workload

onnx = pytest.importorskip("onnx")
pytest.importorskip("mlxtend")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ONNX = ROOT / "workloads" / "mnist_cnn.onnx"
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
IMAGES = 200


def cli(*argv):
    return subprocess.run([sys.executable, "-m", "tlm", *argv], capture_output=True, text=True, env=ENV,
                          timeout=120)


def accuracies(text):
    """Accuracy (%) per model row of `tlm accuracy`'s first table."""
    out = {}
    for key, pat in (("float", r"float \(no quantization\)\s+([\d.]+)%"),
                     ("ideal", r"ideal integer \(exact DP, r-bit outputs\)\s+([\d.]+)%"),
                     ("cim", r"CIM \(adaptive swing, noise [\d.]+ LSB\)\s+([\d.]+)%")):
        m = re.search(pat, text)
        assert m, text
        out[key] = float(m.group(1))
    return out


def test_shipped_onnx_is_the_export_of_the_npz(tmp_path):
    """The shipped .onnx is what the script writes now (same bytes): not a stale copy."""
    out = tmp_path / "m.onnx"
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "export_mnist_onnx.py"), "--out", str(out)],
                       capture_output=True, text=True, env=ENV, timeout=60)
    assert r.returncode == 0, r.stderr
    assert out.read_bytes() == ONNX.read_bytes()


def test_onnx_round_trip_same_accuracy(arch):
    """`tlm accuracy mnist_cnn.onnx` = `tlm accuracy mnist_cnn` (the .npz): float and ideal integer equal;
    CIM within the spread the noise seed alone causes (measured here on the .npz network over 5 seeds)."""
    a_onnx = accuracies(cli("accuracy", str(ONNX), "--images", str(IMAGES)).stdout)
    a_npz = accuracies(cli("accuracy", "mnist_cnn", "--images", str(IMAGES)).stdout)
    assert a_onnx["float"] == a_npz["float"] and a_onnx["ideal"] == a_npz["ideal"]
    wl = load_workload(ROOT / "workloads" / "mnist_cnn.yaml")
    x, y = A.held_out_images(wl, "mnist5k", IMAGES)
    net = F.build(arch, wl)
    cims = [100 * A.evaluate(net, x, y, "adaptive", arch.functional.noise_lsb, s, ("cim",)).accuracy["cim"]
            for s in range(5)]
    lo, hi = min(cims), max(cims)
    assert lo - 1e-9 <= a_onnx["cim"] <= hi + 1e-9, (a_onnx, cims)
    assert a_onnx["float"] > 95  # a trained network, not a chance-level one


def test_onnx_network_equals_npz_network_exactly(arch):
    """Read from the ONNX initializers, the integer weights, ABN gains and offsets are the .npz's."""
    wl = load_workload(ROOT / "workloads" / "mnist_cnn.yaml")
    ref = F.build(arch, wl)
    net, note = OW.build_onnx(arch, None, ONNX)
    assert "metadata" in note
    for name, q in ref.q.items():
        o = net.q[name]
        assert np.array_equal(o.w_int, q.w_int), name
        np.testing.assert_allclose(o.gain, q.gain, rtol=1e-6)
        np.testing.assert_allclose(o.offset, q.offset, rtol=1e-6, atol=1e-6)


def _bn_model(path, rng, with_meta=False):
    """Conv (no bias) -> BatchNormalization -> Relu -> Conv (bias) -> Mul by a per-channel constant ->
    Relu -> GlobalAveragePool -> Flatten -> Gemm (transB=0, alpha, beta) -> Sub constant."""
    f32 = np.float32
    w1 = rng.standard_normal((6, 2, 3, 3)).astype(f32) * 0.4
    bn = [rng.uniform(0.5, 2, 6), rng.standard_normal(6) * 0.2, rng.standard_normal(6) * 0.1, rng.uniform(0.3, 2, 6)]
    w2 = rng.standard_normal((8, 6, 3, 3)).astype(f32) * 0.2
    b2 = rng.standard_normal(8).astype(f32) * 0.1
    sc = rng.uniform(0.5, 1.5, (1, 8, 1, 1)).astype(f32)
    wg = rng.standard_normal((8, 5)).astype(f32)
    bg = rng.standard_normal(5).astype(f32)
    sub = rng.standard_normal(5).astype(f32)
    inits = [numpy_helper.from_array(v.astype(f32), k) for k, v in (
        ("w1", w1), ("g", bn[0]), ("beta", bn[1]), ("mean", bn[2]), ("var", bn[3]), ("w2", w2), ("b2", b2),
        ("sc", sc), ("wg", wg), ("bg", bg), ("sub", sub))]
    nodes = [helper.make_node("Conv", ["x", "w1"], ["c1"], name="c1", pads=[1, 1, 1, 1]),
             helper.make_node("BatchNormalization", ["c1", "g", "beta", "mean", "var"], ["n1"], name="bn",
                              epsilon=1e-3),
             helper.make_node("Relu", ["n1"], ["r1"]),
             helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"], name="c2", strides=[2, 2]),
             helper.make_node("Mul", ["c2", "sc"], ["m2"], name="scale"),
             helper.make_node("Relu", ["m2"], ["r2"]),
             helper.make_node("GlobalAveragePool", ["r2"], ["gp"], name="gap"),
             helper.make_node("Flatten", ["gp"], ["fl"], name="flat"),
             helper.make_node("Gemm", ["fl", "wg", "bg"], ["z"], name="fc", alpha=0.7, beta=1.3),
             helper.make_node("Sub", ["z", "sub"], ["y"], name="shift")]
    g = helper.make_graph(nodes, "bn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 9, 9])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 5])], initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    if with_meta:
        helper.set_model_props(m, {"tlm.range.c1": "1.5", "tlm.range.c2": "1", "tlm.range.fc": "4"})
    onnx.save(m, str(path))
    return path


def test_float_model_equals_onnx_reference_with_bn_and_scales_folded(arch, tmp_path):
    """BatchNormalization, a per-channel Mul, Gemm alpha/beta/transB=0 and a Sub, folded into the conv/dense
    weights and biases: our float model gives the onnx reference evaluator's outputs."""
    from onnx.reference import ReferenceEvaluator
    rng = np.random.default_rng(3)
    path = _bn_model(tmp_path / "bn.onnx", rng)
    imgs = rng.integers(0, 256, size=(40, 2, 9, 9))
    net, note = OW.build_onnx(arch, None, path, lambda: (imgs, "40 test images"))
    assert "calibrated on 40 test images" in note
    assert [L.name for L in net.wl.layers if L.is_compute] == ["c1", "c2", "fc"]  # BN, Mul, Sub folded
    ours = net.run(imgs, "float").outputs
    ev = ReferenceEvaluator(str(path))
    theirs = np.concatenate([ev.run(None, {"x": (im[None] / 255.0).astype(np.float32)})[0] for im in imgs])
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-4)
    # ranges: the 99.99th percentile of the float outputs, so a few conversions at most clip
    from helpers import with_changes
    net.arch = with_changes(arch, **{"functional.dp_noise": "off"})
    cim = net.run(imgs, "cim", "adaptive", 0.0)
    assert all(s.clipped <= max(1, 0.01 * s.conversions) for s in cim.stats.values())
    # and the ideal integer model follows the float one (8-bit codes of calibrated ranges)
    ideal = net.run(imgs, "ideal").outputs
    assert (ideal.argmax(1) == ours.argmax(1)).mean() >= 0.9


def test_calibrated_ranges_close_to_trained_ones(arch):
    """Without metadata (--calibrate) the ranges come from 100 training images; they are near the trained
    ranges (calibrated on 1,000 training images by scripts/train_mnist.py at the same percentile, before
    QAT), and the ideal-integer accuracy stays within 2 points."""
    wl = load_workload(ROOT / "workloads" / "mnist_cnn.yaml")
    _, trained, _ = OW.read_weights(ONNX)
    calib, what = A.calibration_images(wl, "mnist5k", 100)
    net, note = OW.build_onnx(arch, None, ONNX, lambda: (calib, what), force_calibration=True)
    assert "100 mnist5k training images" in note
    z = np.load(ROOT / "workloads" / "mnist_cnn.npz")
    got = OW.calibrate_ranges(arch, wl, trained, calib)
    for name in ("conv1", "conv2", "fc"):
        assert 0.5 < got[name + ".range"] / float(z[name + ".range"]) < 2.0, name
        assert got[name + ".range"] != float(z[name + ".range"])  # really calibrated, not the metadata
    x, y = A.held_out_images(wl, "mnist5k", IMAGES)
    ideal_cal = A.evaluate(net, x, y, "adaptive", 0.0, models=("ideal",)).accuracy["ideal"]
    ideal_ref = A.evaluate(F.build(arch, wl), x, y, "adaptive", 0.0, models=("ideal",)).accuracy["ideal"]
    assert abs(ideal_cal - ideal_ref) <= 0.02


def test_user_dataset_file(tmp_path):
    """An .npz of the user's own images runs; its images are the test set (its first N calibrate)."""
    wl = load_workload(ROOT / "workloads" / "mnist_cnn.yaml")
    x, y = A.held_out_images(wl, "mnist5k", 60)
    f = tmp_path / "mine.npz"
    np.savez(f, images=x[:, 0], labels=y)  # (N, H, W): one channel implied
    r = cli("accuracy", str(ONNX), "--dataset", str(f))
    assert r.returncode == 0, r.stderr
    assert "60 images of" in r.stdout
    a_file = accuracies(r.stdout)
    a_ship = accuracies(cli("accuracy", str(ONNX), "--images", "60").stdout)
    assert a_file == a_ship  # the same 60 images give the same accuracies


@pytest.mark.parametrize("arrays,field", [
    ({"images": np.zeros((4, 1, 28, 27), np.uint8), "labels": np.zeros(4, np.int64)}, "images"),
    ({"images": np.zeros((4, 1, 28, 28), np.uint8)}, "labels"),
    ({"images": np.zeros((4, 1, 28, 28), np.uint8), "labels": np.zeros(3, np.int64)}, "labels"),
    ({"images": np.full((4, 1, 28, 28), 300, np.int32), "labels": np.zeros(4, np.int64)}, "images"),
    ({"images": np.zeros((4, 1, 28, 28)) + 0.5, "labels": np.zeros(4, np.int64)}, "images"),
    ({"images": np.zeros((4, 1, 28, 28), np.uint8), "labels": np.zeros(4) + 0.5}, "labels"),
])
def test_bad_dataset_file_is_one_line_exit_2(tmp_path, arrays, field):
    f = tmp_path / "bad.npz"
    np.savez(f, **arrays)
    r = cli("accuracy", str(ONNX), "--dataset", str(f))
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and str(f) in lines[0] and f": {field}: " in lines[0], lines


def test_weights_from_a_constant_subgraph_are_refused(arch, tmp_path):
    """A weight computed by a node (here Mul of two initializers) cannot be read: one line naming the node."""
    w = numpy_helper.from_array(np.ones((4, 1, 3, 3), np.float32), "w0")
    two = numpy_helper.from_array(np.full((1,), 2.0, np.float32), "two")
    nodes = [helper.make_node("Mul", ["w0", "two"], ["w"], name="make_w"),
             helper.make_node("Conv", ["x", "w"], ["y"], name="conv")]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 6, 6])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 4, 4])],
                          initializer=[w, two])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    p = tmp_path / "c.onnx"
    onnx.save(m, str(p))
    with pytest.raises(InputError, match="node 'conv'.*not an initializer"):
        OW.read_weights(p)


def test_import_writes_the_weights_the_workload_names(arch, tmp_path):
    """`tlm import MODEL.onnx -o W.yaml --weights W.npz`: the YAML names the .npz, and the network built from
    them is the ONNX one (same integer weights, gains and offsets)."""
    y, w = tmp_path / "m.yaml", tmp_path / "sub" / "m.npz"
    r = cli("import", str(ONNX), "-o", str(y), "--weights", str(w))
    assert r.returncode == 0, r.stderr
    assert "weights: sub/m.npz" in y.read_text()
    first = w.read_bytes()
    assert cli("import", str(ONNX), "-o", str(y), "--weights", str(w)).returncode == 0
    assert w.read_bytes() == first  # same model, same bytes
    wl = load_workload(y)
    net = F.build(arch, wl)
    ref, _ = OW.build_onnx(arch, None, ONNX)
    for name, q in ref.q.items():
        assert np.array_equal(net.q[name].w_int, q.w_int)
        np.testing.assert_allclose(net.q[name].gain, q.gain, rtol=1e-12)
        np.testing.assert_allclose(net.q[name].offset, q.offset, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("argv", [["--dataset", "nope"], ["--calibrate", "--calibration-images", "0"],
                                  ["--dp-noise", "loud"]])
def test_accuracy_onnx_bad_options_exit_2(argv):
    r = cli("accuracy", str(ONNX), "--images", "5", *argv)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
