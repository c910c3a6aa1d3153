"""Issue 22a: images quantized to the input precision, seeded class-balanced samples, joins (add, concat)
of tensors of different scales requantized in the post-processing (ops and energy counted), accuracy
across input precisions, the message of a workload without weights."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tlm.config.arch import load_arch
from tlm.config.workload import load_workload
from tlm.errors import InputError
from tlm.functional import datasets
from tlm.functional import model as F
from tlm.functional.joins import requantize
from tlm.services import accuracy as A

ROOT = Path(__file__).resolve().parent.parent


def arch():
    return load_arch(ROOT / "configs" / "imagine.yaml")


# ---- 1. images -> input codes ------------------------------------------------------------------------------
def test_image_quantization_4_bits_by_hand():
    # code = floor(p * 15 / 255 + 1/2) = floor(p / 17 + 1/2): 8/17 = 0.47 -> 0, 9/17 = 0.53 -> 1,
    # 25/17 = 1.47 -> 1, 26/17 = 1.53 -> 2, 127/17 = 7.47 -> 7, 128/17 = 7.53 -> 8, 255/17 = 15
    p = np.array([0, 8, 9, 17, 25, 26, 127, 128, 246, 247, 255], dtype=np.uint8)
    want = [0, 0, 1, 1, 1, 2, 7, 8, 14, 15, 15]  # 246/17 = 14.47 -> 14, 247/17 = 14.53 -> 15
    assert datasets.to_input_codes(p, 4).tolist() == want
    assert datasets.to_input_codes(p, 8).tolist() == p.tolist()  # 8 bits: the pixels themselves
    assert datasets.to_input_codes(np.array([255]), 10).tolist() == [1023]  # full scale stays full scale


def test_images_enter_as_input_codes_everywhere(tmp_path):
    wl4 = load_workload(ROOT / "workloads" / "mnist_cnn.yaml")
    from tlm.config.overrides import with_precision
    wl4 = with_precision(wl4, input=4)
    x8, y8 = datasets.split("mnist5k", "test", 50)
    x, y = A.held_out_images(wl4, "mnist5k", 50)  # accuracy, --functional and --activity-from read these
    assert np.array_equal(y, y8) and x.max() <= 15
    assert np.array_equal(x, datasets.to_input_codes(datasets.fit_to(x8, wl4.input_shape), 4))
    xc, _ = A.calibration_images(wl4, "mnist5k", 20)
    assert xc.max() <= 15 and xc.max() == 15
    net = F.build(arch(), wl4)
    with pytest.raises(InputError, match="exceed the 4-bit input"):  # 8-bit pixels never read as 4-bit codes
        net.run(x8[:2].astype(np.float32), "ideal")


# ---- 2. seeded class-balanced samples ------------------------------------------------------------------
def test_sample_is_class_balanced_and_seeded():
    _, y_all = datasets.split("mnist5k", "test")
    for n in (10, 25, 137):
        _, y = datasets.split("mnist5k", "test", n)
        counts = np.bincount(y, minlength=10)
        assert counts.max() - counts.min() <= 1 and counts.sum() == n  # every class, n // 10 or one more
    a, _ = datasets.split("mnist5k", "test", 30, seed=1)
    b, _ = datasets.split("mnist5k", "test", 30, seed=1)
    c, _ = datasets.split("mnist5k", "test", 30, seed=2)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert len(y_all) == datasets.TEST_SIZE["mnist5k"]  # no N: the whole held-out part
    # a class with fewer items than its turn: the others fill in
    idx = datasets.balanced_sample(np.array([0] * 8 + [1] * 2), 6, seed=0)
    assert sorted(np.array([0] * 8 + [1] * 2)[idx].tolist()) == [0, 0, 0, 0, 1, 1]


# ---- 3. joins requantize to a common scale -------------------------------------------------------------
def test_requantize_add_by_hand():
    # input a: unsigned (ReLU), range 4, 8 bits: step 4/255; input b: signed (zero point 128), range 1:
    # step 2/255.  Output range 5 (unsigned, ReLU after the add): step 5/255.  Multipliers 4/5 and 2/5.
    # a = 100 (1.5686), b = 28 (-(100) * 2/255 = -0.7843): sum 0.7843 = 40 output codes (0.8*100 - 0.4*100).
    # a = 10, b = 200: 8 + 28.8 = 36.8 -> 37.  a = 0, b = 0: -51.2 -> clipped at 0 (ReLU).
    a = np.array([100.0, 10.0, 0.0])
    b = np.array([28.0, 200.0, 0.0])
    y, zo = requantize("add", [a, b], [0, 128], ((4 / 5, 2 / 5), 0), 255)
    assert zo == 0 and y.tolist() == [40, 37, 0]
    # a concat to a signed output (zero point 128): a at half its step, 0.5 * (100, 10, 0) + 128; b keeps its
    # step, (28, 200, 0) - 128 + 128
    y, zo = requantize("concat", [a[None, :, None], b[None, :, None]], [0, 128], ((0.5, 1.0), 128), 255)
    assert zo == 128 and y[0, :, 0].tolist() == [178, 133, 128, 28, 200, 0]


RES_YAML = """name: res
weights: res.npz
input: {shape: [1, 28, 28], bits: 8}
precision: {input: 8, weight: 8, output: 8}
layers:
  - {name: conv1, type: conv2d, out_channels: 16, kernel: 3, padding: 1, relu: true}
  - {name: pool1, type: maxpool, kernel: 2}
  - {name: conv2a, type: conv2d, out_channels: 32, kernel: 3, padding: 1, relu: true}
  - {name: conv2b, type: conv2d, input: pool1, out_channels: 32, kernel: 3, padding: 1, relu: false}
  - {name: add, type: add, inputs: [conv2a, conv2b], relu: true}
  - {name: pool2, type: maxpool, kernel: 2}
  - {name: flatten, type: flatten}
  - {name: fc, type: dense, out_features: 10}
"""
RES_BRANCH = -0.05  # conv2b = -0.05 x conv2's pre-activation: a small signed branch (step ~1/7 of conv2a's)


@pytest.fixture(scope="module")
def residual(tmp_path_factory):
    """The shipped MNIST network with a residual add: conv2a (conv2, ReLU: unsigned codes) + conv2b (conv2's
    weights x -0.05, no ReLU: signed codes, zero point 128, a 14x smaller range), ReLU after the add.
    Ranges: the shipped ones; conv2b's and the add's calibrated on 200 training images."""
    from tlm.onnxio.weights import calibrate_ranges
    d = tmp_path_factory.mktemp("res")
    (d / "res.yaml").write_text(RES_YAML)
    z = dict(np.load(ROOT / "workloads" / "mnist_cnn.npz"))
    p = {k.replace("conv2.", "conv2a."): v for k, v in z.items()}
    p.update({"conv2b.w": RES_BRANCH * z["conv2.w"], "conv2b.b": RES_BRANCH * z["conv2.b"],
              "conv2b.w_scale": z["conv2.w_scale"], "conv2b.range": 1.0})
    np.savez(d / "res.npz", **p)
    wl = load_workload(d / "res.yaml")
    cal = calibrate_ranges(arch(), wl, p, A.calibration_images(wl, "mnist5k", 200)[0])
    p.update({k: cal[k] for k in ("conv2b.range", "add.range")})
    np.savez(d / "res.npz", **p)
    return d / "res.yaml"


def test_residual_ideal_integer_matches_float(residual):
    wl = load_workload(residual)
    net = F.build(arch(), wl)
    m_a, m_b = net.joins["add"][0]
    assert m_b < m_a / 4  # the scales differ: the signed branch's step is several times finer
    x, y = A.held_out_images(wl, "mnist5k", 600)
    acc = A.evaluate(net, x, y, "adaptive", 0.0, 0, ("float", "ideal")).accuracy
    assert acc["float"] > 0.95
    assert abs(acc["ideal"] - acc["float"]) <= 0.005  # the ideal-integer model is the quantized network
    net.joins["add"] = ((1.0, 1.0), 0)  # summing the codes as if they had one scale: far off (about 60%)
    assert A.evaluate(net, x, y, "adaptive", 0.0, 0, ("ideal",)).accuracy["ideal"] < acc["float"] - 0.1


@pytest.mark.parametrize("engine", ["analytic", "tlm"])
def test_residual_rescale_ops_in_the_energy(residual, engine):
    from tlm.engines.registry import ENGINES
    from tlm.engines.result import KIND_NAMES
    a = arch()
    wl = load_workload(residual)
    r = ENGINES[engine](a, wl)
    row = [L.name for L in wl.layers].index("add")
    # add of 2 inputs of 32 x 14 x 14 = 6,272 elements per image: 2 x 6,272 rescales (one multiply per input
    # element) + 6,272 adds = 18,816 ops per image, each switching c_ff_per_op at the digital supply
    ops = 18_816 * r.batch
    want_pj = ops * a.postproc.c_ff_per_op * a.technology.vdd_digital_v ** 2 * 1e-3
    got = r.energy_pj[row, KIND_NAMES.index("postproc")]
    assert got == pytest.approx(want_pj, rel=1e-9)


# ---- 4. accuracy across input precisions ---------------------------------------------------------------
def test_ideal_integer_never_below_cim_at_2_to_8_bits():
    """`--set workload.precision=B` on the shipped MNIST network, 300 held-out images: the ideal-integer
    model (exact DPs, one rounding) is never worse than the CIM one (noise, clipping) beyond 0.5 points,
    and the images quantized to 4-bit codes keep the 4-bit network above 95%."""
    from tlm.config.overrides import with_precision
    a = arch()
    wl0 = load_workload(ROOT / "workloads" / "mnist_cnn.yaml")
    acc = {}
    for b in range(2, 9):
        wl = with_precision(wl0, input=b, weight=b, output=b)
        x, y = A.held_out_images(wl, "mnist5k", 300)
        acc[b] = A.evaluate(F.build(a, wl), x, y, a.functional.swing, a.functional.noise_lsb, 0,
                            ("ideal", "cim")).accuracy
    for b, e in acc.items():
        assert e["ideal"] >= e["cim"] - 0.005, (b, e)
    assert acc[4]["ideal"] >= 0.95 and acc[8]["ideal"] >= 0.95


# ---- 5. a workload without weights ---------------------------------------------------------------------
def test_accuracy_without_weights_names_the_shipped_ones_and_the_onnx_route(capsys):
    from tlm.cli import main
    assert main(["accuracy", "imagine", "resnet8"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "resnet8.yaml" in err
    assert "mnist_cnn, mnist_cnn.onnx" in err  # the shipped workloads with weights (found, not listed by hand)
    assert "tlm import MODEL.onnx" in err and "--weights" in err and "docs/onnx.md" in err


# ---- 6. the physical weight write -------------------------------------------------------------------------
def test_weight_write_energy_by_hand():
    from helpers import with_changes
    from tlm.hw.macro import weight_write_energy_pj
    a = arch()
    # IMAGINE: write bit line over 1152 cells x 0.15 fF = 172.8 fF at vdd_array 0.3 V: 172.8 x 0.09 = 15.552 fJ;
    # driver, latch and word-line share 2 fF at vdd_digital 0.6 V: 2 x 0.36 = 0.72 fJ.  16.272 fJ per bit.
    assert weight_write_energy_pj(a, 1) == pytest.approx(16.272e-3, rel=1e-12)
    assert weight_write_energy_pj(a, 1000) == pytest.approx(16.272, rel=1e-12)
    # folded twice: the physical column holds 576 cells, half the bit line: 7.776 + 0.72 = 8.496 fJ
    assert weight_write_energy_pj(with_changes(a, **{"macro.fold": 2}), 1) == pytest.approx(8.496e-3, rel=1e-12)
    # a longer array writes through a longer bit line: monotonic in the rows
    assert weight_write_energy_pj(with_changes(a, **{"macro.rows": 2304}), 1) > weight_write_energy_pj(a, 1)
    # the same order as an activation SRAM access (133.4 fF at 0.6 V = 48.0 fJ per bit: a third of it), no
    # longer 30x below it
    from tlm.hw import sram
    assert 0.2 < weight_write_energy_pj(a, 1) / sram.read_energy_pj(a, 1) < 5
