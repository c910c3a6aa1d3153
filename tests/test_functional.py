"""The functional bit-accurate CIM model (tlm/functional/model.py) and what it shows on held-out MNIST."""
import math

import numpy as np
import pytest

from tlm.services import accuracy as A
from tlm.functional import datasets
from tlm.functional import model as F
from tlm.engines.analytic import simulate
from tlm.config.arch import arch_from_dict
from tlm.engines.result import KIND_NAMES
from tlm.config.workload import load_workload, parse_workload
from tlm.config.yamlio import load_text

pytest.importorskip("mlxtend")
pytest.importorskip("sklearn")


# ---- an independent integer reference ------------------------------------------------------------------------
def ref_conv(x, w, stride, pad, dil, groups):
    """Plain int64 conv: loop over groups and kernel taps, one einsum per tap."""
    n, c, h, wd = x.shape
    co, cg, kh, kw = w.shape
    xp = np.pad(x.astype(np.int64), ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    ho = (h + 2 * pad - dil * (kh - 1) - 1) // stride + 1
    wo = (wd + 2 * pad - dil * (kw - 1) - 1) // stride + 1
    out = np.zeros((n, co, ho, wo), dtype=np.int64)
    cog = co // groups
    for gi in range(groups):
        for i in range(kh):
            for j in range(kw):
                patch = xp[:, gi * cg:(gi + 1) * cg, i * dil:i * dil + stride * (ho - 1) + 1:stride,
                           j * dil:j * dil + stride * (wo - 1) + 1:stride]
                out[:, gi * cog:(gi + 1) * cog] += np.einsum("nchw,oc->nohw", patch,
                                                             w[gi * cog:(gi + 1) * cog, :, i, j].astype(np.int64))
    return out


def small_macro_arch(arch, rows, blocks):
    d = arch.to_dict()
    d["macro"]["rows"] = rows
    d["macro"]["dp_split_blocks"] = blocks
    d["functional"]["dp_noise"] = "off"  # noise_lsb = 0 is then no noise at all
    return arch_from_dict(d)


CASES = [  # c_in, hw, c_out, kernel, stride, pad, dilation, groups, r_in, r_w, macro rows
    (3, 9, 8, 3, 1, 1, 1, 1, 8, 8, 1152),
    (16, 8, 12, 3, 2, 1, 1, 1, 4, 3, 64),     # 144 rows -> 3 row tiles of a 64-row macro
    (8, 7, 8, 3, 1, 2, 2, 4, 2, 5, 16),       # grouped, dilated, 18 rows per group -> 2 row tiles
    (6, 6, 6, 3, 1, 1, 1, 6, 7, 2, 1152),     # depthwise
    (160, 4, 4, 3, 1, 1, 1, 1, 8, 8, 1152),   # 1440 rows -> 2 row tiles of the real macro
    (5, 5, 7, 1, 1, 0, 1, 1, 1, 1, 4),        # 1b inputs and weights, 2 row tiles
]


@pytest.mark.parametrize("case", CASES)
def test_cim_layer_is_bit_identical_to_integer_conv(arch, case, tmp_path):
    cin, hw, cout, k, s, p, d, g, rin, rw, rows = case
    a = small_macro_arch(arch, rows, 4 if rows % 4 == 0 else 1)
    out_bits = 31  # enough ADC bits: no clipping
    text = (f"name: t\ninput: {{shape: [{cin}, {hw}, {hw}], bits: {rin}}}\nlayers:\n"
            f"  - {{name: c, type: conv2d, out_channels: {cout}, kernel: {k}, stride: {s}, padding: {p}, "
            f"dilation: {d}, groups: {g}, precision: {{input: {rin}, weight: {rw}, output: {out_bits}}}}}\n")
    L = parse_workload(load_text(text)).layers[0]
    rng = np.random.default_rng(hash(case) % 2**32)
    x = rng.integers(0, 2 ** rin, size=(3, cin, hw, hw))
    lo, hi = (-(2 ** (rw - 1)), 2 ** (rw - 1)) if rw > 1 else (-1, 1)
    w = rng.integers(lo, hi, size=(cout, cin // g, k, k))
    mid = float(2 ** (out_bits - 1))
    q = F.QLayer(L, w, gain=np.ones(cout), offset=np.full(cout, mid), relu=False, zp_out=int(mid))
    want = ref_conv(x, w, s, p, d, g)
    tiles, _ = q.dp_tiles(x.astype(np.float32), a)
    assert len(tiles) == -(-(cin // g * k * k) // rows)
    got_dp = F._from_matrix_output(sum(tiles), L, len(x))
    assert np.array_equal(got_dp.astype(np.int64), want)
    y = q.cim(x.astype(np.float32), a, "adaptive", 0.0, np.random.default_rng(0))
    assert np.array_equal(y.astype(np.int64) - int(mid), want)


def test_dense_layer_is_bit_identical(arch):
    text = ("name: t\ninput: {shape: [1500], bits: 6}\nlayers:\n"
            "  - {name: fc, type: dense, out_features: 5, precision: {input: 6, weight: 4, output: 31}}\n")
    L = parse_workload(load_text(text)).layers[0]
    rng = np.random.default_rng(1)
    x = rng.integers(0, 64, size=(7, 1500))
    w = rng.integers(-8, 8, size=(5, 1500))
    q = F.QLayer(L, w, gain=np.ones(5), offset=np.full(5, 2.0 ** 30), relu=False, zp_out=2 ** 30)
    a = small_macro_arch(arch, 1152, 9)
    y = q.cim(x.astype(np.float32), a, "adaptive", 0.0, np.random.default_rng(0))
    assert np.array_equal(y.astype(np.int64) - 2 ** 30, x @ w.T)


def test_twos_complement_columns():
    w = np.array([[-4, -1, 0, 3]])  # 3-bit weights in one row
    cols, colw = F.weight_bit_columns(w, 3)
    assert colw.tolist() == [1, 2, -4]
    assert cols.reshape(4, 3).tolist() == [[0, 0, 1], [1, 1, 1], [0, 0, 0], [1, 1, 0]]


# ---- the shipped MNIST network -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def mnist(arch, root):
    wl = load_workload(root / "workloads" / "mnist_cnn.yaml")
    x, y = A.held_out_images(wl, "mnist5k", None)
    return wl, x, y


def test_split_is_fixed_and_disjoint():
    tr, te = datasets.split_indices("mnist5k", "train"), datasets.split_indices("mnist5k", "test")
    assert len(te) == datasets.TEST_SIZE["mnist5k"] and len(tr) + len(te) == 5000
    assert not set(tr) & set(te)
    assert np.array_equal(te, datasets.split_indices("mnist5k", "test"))


def test_adaptive_8b_on_held_out_mnist(arch, mnist):
    wl, x, y = mnist
    net = F.build(arch, wl)
    ev = A.evaluate(net, x, y, "adaptive", arch.functional.noise_lsb, seed=0, models=("ideal", "cim"))
    assert ev.accuracy["cim"] >= 0.96
    assert abs(ev.accuracy["cim"] - ev.accuracy["ideal"]) <= 0.01


def test_fixed_swing_loses_effective_bits_and_accuracy(arch, mnist):
    wl, x, y = mnist
    x, y = x[:300], y[:300]
    noise = arch.functional.noise_lsb
    ad = A.evaluate(F.build(arch, wl), x, y, "adaptive", noise, models=("cim",))
    fx = A.evaluate(F.build(arch, wl), x, y, "fixed", noise, models=("cim",))
    for name, s in ad.stats.items():
        assert fx.stats[name].sqnr_db < s.sqnr_db - 6.02, name  # at least one effective bit lower
    for bits in (4, 3):
        net = F.build(arch, A.with_output_bits(wl, bits))
        a = A.evaluate(net, x, y, "adaptive", noise, models=("cim",)).accuracy["cim"]
        f = A.evaluate(net, x, y, "fixed", noise, models=("cim",)).accuracy["cim"]
        assert f < a - 0.05, bits


def test_accuracy_falls_monotonically_with_noise(arch, mnist):
    wl, x, y = mnist
    x, y = x[:300], y[:300]
    net = F.build(arch, wl)
    acc = [e.accuracy["cim"] for _, e in A.noise_sweep(net, x, y, "adaptive", levels=(0.0, 4.0, 16.0, 64.0))]
    tol = 2 * math.sqrt(0.25 / len(y))  # two binomial standard errors at worst
    for a, b in zip(acc, acc[1:]):
        assert b <= a + tol
    assert acc[-1] < acc[0] - 0.2  # and it does fall


def test_noise_is_seeded(arch, mnist):
    wl, x, _ = mnist
    net = F.build(arch, wl)
    r1, r2, r3 = (net.run(x[:20], "cim", "adaptive", 2.0, s).outputs for s in (5, 5, 6))
    assert np.array_equal(r1, r2) and not np.array_equal(r1, r3)


def test_activity_from_data_lowers_dp_energy(arch, mnist):
    wl, _, _ = mnist
    dens, note = A.measure_activity(arch, wl, "mnist5k", images=50)
    # the first layer's density, independently: the bits of every 3x3 window of the padded images
    x = A.held_out_images(wl, "mnist5k", 50)[0].astype(np.uint8)
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    ones = sum(int(np.unpackbits(xp[:, :, i:i + 28, j:j + 28]).sum()) for i in range(3) for j in range(3))
    assert dens[0] == pytest.approx(ones / (x.size * 9 * 8), rel=1e-12)
    comp = [i for i, L in enumerate(wl.layers) if L.is_compute]
    assert all(dens[i] < arch.activity.input_bit_density for i in comp)  # MNIST is sparse
    e0, e1 = simulate(arch, wl).energy_pj, simulate(arch, wl, input_density=dens).energy_pj
    for kind in ("dp_array", "input_drivers"):
        k = KIND_NAMES.index(kind)
        assert e1[comp, k].sum() < e0[comp, k].sum()
    k = KIND_NAMES.index("adc")
    assert np.array_equal(e1[:, k], e0[:, k])  # conversions do not depend on the data


def test_output_bits_propagate(mnist):
    wl, _, _ = mnist
    w4 = A.with_output_bits(wl, 4)
    comp = [L for L in w4.layers if L.is_compute]
    assert [L.bits_out for L in comp] == [4, 4, 4]
    assert [L.bits_in for L in comp] == [8, 4, 4]


@pytest.mark.parametrize("argv", [["--images", "0"], ["--noise", "-1"], ["--output-bits", "9"], ["--fixed-range", "2"], ["resnet8"]])
def test_accuracy_bad_input_exits_2(argv, capsys):
    from tlm.cli import main
    assert main(["accuracy", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1


def test_workload_without_weights_is_refused(arch, resnet8):
    from tlm.errors import InputError
    with pytest.raises(InputError, match="weights"):
        F.build(arch, resnet8)


def test_resnet8_cim_without_noise_equals_ideal_integer(arch, resnet8):
    """Every ResNet-8 layer fits one row tile: with the adaptive swing and no noise the CIM model is
    the ideal integer model exactly, through strides, 1x1 shortcuts, residual adds and global pooling."""
    imgs = np.random.default_rng(0).integers(0, 256, size=(4, 3, 32, 32))
    arch = small_macro_arch(arch, arch.macro.rows, arch.macro.dp_split_blocks)  # DP-line noise off
    net = F.FunctionalNet(arch, resnet8, F.random_params(arch, resnet8, imgs, seed=0))
    cim = net.run(imgs, "cim", "adaptive", 0.0)
    ideal = net.run(imgs, "ideal")
    assert np.array_equal(cim.outputs, ideal.outputs)
    assert len(np.unique(ideal.outputs)) > 10  # not a saturated constant
    assert all(s.clip_rate < 0.01 for s in cim.stats.values())  # ranges calibrated on the data


def test_digits_are_scikit_learns_read_without_importing_it(monkeypatch):
    """datasets._digits reads the file load_digits reads, without importing scikit-learn (1.5 s of CPU in
    every process that loads `digits`, the notebook's kernel among them): the same pixels and labels."""
    import sys

    from sklearn.datasets import load_digits
    d = load_digits()
    for name in [m for m in sys.modules if m == "sklearn" or m.startswith("sklearn.")]:
        monkeypatch.delitem(sys.modules, name)  # restored after the test
    images, labels = datasets._digits()
    assert "sklearn" not in sys.modules
    assert np.array_equal(images, d.images) and images.dtype == d.images.dtype
    assert np.array_equal(labels, d.target)
