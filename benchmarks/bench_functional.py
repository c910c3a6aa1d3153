"""Functional (bit-accurate CIM) model speed.  Run:
    pytest benchmarks/ --benchmark-only -o python_files='bench_*.py'
Targets (issue 6): one CIFAR-size ResNet-8 image < 0.5 s; 1,000 MNIST images < 10 s; >= 20 GMAC/s of
bit-plane work (r_in bit-planes x MACs per second) on one 1152-row x 256-channel layer.
Targets (issue 17, the functional TLM run: real data through the transaction-level engine): 1,000 MNIST
images in one run < 10 s; one ResNet-8 image < 0.1 s; the bit-plane kernel (tlm.functional.model.macro_dp) at
least half the float32 matmul rate measured in the same run, both on one BLAS thread."""
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tlm.services import accuracy as A  # noqa: E402
from tlm.functional import model as F  # noqa: E402
from tlm.config.arch import load_arch  # noqa: E402
from tlm.config.workload import load_workload, parse_workload  # noqa: E402
from tlm.config.yamlio import load_text  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

ARCH = load_arch(ROOT / "configs" / "imagine.yaml")


def test_resnet8_one_image(benchmark):
    wl = load_workload(ROOT / "workloads" / "resnet8.yaml")
    imgs = np.random.default_rng(0).integers(0, 256, size=(8, 3, 32, 32))
    net = F.FunctionalNet(ARCH, wl, F.random_params(ARCH, wl, imgs, seed=0))
    r = benchmark(net.run, imgs[:1], "cim", "adaptive", 0.5, 0)
    assert r.outputs.shape == (1, 10)
    assert benchmark.stats["mean"] < 0.5


def test_mnist_1000_images(benchmark):
    wl = load_workload(ROOT / "workloads" / "mnist_cnn.yaml")
    x, y = A.held_out_images(wl, "mnist5k", 1000)
    net = F.build(ARCH, wl)
    r = benchmark.pedantic(net.run, args=(x, "cim", "adaptive", 0.5, 0), rounds=3, iterations=1)
    assert (r.outputs.argmax(1) == y).mean() > 0.9
    assert benchmark.stats["mean"] < 10.0


def test_bitplane_gmacs_1152x256(benchmark):
    text = ("name: t\ninput: {shape: [128, 16, 16], bits: 8}\nlayers:\n"
            "  - {name: c, type: conv2d, out_channels: 256, kernel: 3, padding: 1, relu: true}\n")
    L = parse_workload(load_text(text)).layers[0]
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(1, 128, 16, 16)).astype(np.float32)
    w = rng.integers(-128, 128, size=(256, 128, 3, 3))
    q = F.QLayer(L, w, gain=np.full(256, 1e-4), offset=np.zeros(256), relu=True, zp_out=0)
    gen = np.random.default_rng(0)
    q.cim(x, ARCH, "adaptive", 0.5, gen)  # warm the weight-column cache
    benchmark(q.cim, x, ARCH, "adaptive", 0.5, gen)
    work = L.bits_in * L.macs  # input bit-planes x MACs
    gmacs = work / benchmark.stats["mean"] / 1e9
    benchmark.extra_info["bitplane_gmac_per_s"] = gmacs
    assert gmacs >= 20


# ---- issue 17: the functional TLM run ----------------------------------------------------------------------
def _functional_tlm(net, wl, x):
    from tlm.engines.transaction.datapath import DataPath
    from tlm.engines.registry import resolve_policy
    from tlm.engines.transaction.system import simulate
    data = DataPath(net, x, "adaptive", 0.5)
    with threadpool_limits(limits=1, user_api="blas"):
        simulate(resolve_policy(ARCH, wl).arch, wl, data=data)
    return data.outputs()


def test_functional_tlm_mnist_1000_images(benchmark):
    import dataclasses
    wl = load_workload(ROOT / "workloads" / "mnist_cnn.yaml")
    x, y = A.held_out_images(wl, "mnist5k", 1000)
    wl = dataclasses.replace(wl, batch=len(x))
    net = F.build(ARCH, wl)
    out = benchmark.pedantic(_functional_tlm, args=(net, wl, x), rounds=2, iterations=1)
    assert (out.argmax(1) == y).mean() > 0.9
    assert benchmark.stats["mean"] < 10.0


def test_functional_tlm_resnet8_one_image(benchmark):
    wl = load_workload(ROOT / "workloads" / "resnet8.yaml")
    imgs = np.random.default_rng(0).integers(0, 256, size=(8, 3, 32, 32))
    net = F.FunctionalNet(ARCH, wl, F.random_params(ARCH, wl, imgs, seed=0))
    out = benchmark.pedantic(_functional_tlm, args=(net, wl, imgs[:1]), rounds=5, iterations=1, warmup_rounds=1)
    assert out.shape == (1, 10)
    assert benchmark.stats["mean"] < 0.1


def test_bitplane_kernel_vs_float32_matmul(benchmark):
    """macro_dp on a full 1152-row tile of 256 combined 8-bit weight columns, 1,024 pixels of 8-bit inputs,
    against one float32 matmul of the same (pixels x rows) @ (rows x 256) shape, one BLAS thread: the kernel
    does r_in = 8 bit-plane matmuls plus the bit extraction and the charge accumulation, so its rate in
    bit-plane MACs per second is compared with the plain matmul's MACs per second."""
    import time
    rng = np.random.default_rng(0)
    m, rows, c, r_in = 1024, 1152, 256, 8
    x = rng.integers(0, 256, size=(m, rows)).astype(np.uint8)
    wcols, colw = F.weight_bit_columns(rng.integers(-128, 128, size=(rows, c)), 8)
    w = F.combine_columns(wcols, colw)
    a = rng.standard_normal((m * r_in, rows)).astype(np.float32)
    with threadpool_limits(limits=1, user_api="blas"):
        best = float("inf")
        for _ in range(5):
            t = time.perf_counter()
            a @ w
            best = min(best, time.perf_counter() - t)
        matmul_rate = m * r_in * rows * c / best
        benchmark.pedantic(F.macro_dp, args=(x, w, r_in), rounds=5, iterations=1, warmup_rounds=1)
    kernel_rate = r_in * m * rows * c / benchmark.stats["min"]
    benchmark.extra_info["bitplane_gmac_per_s"] = kernel_rate / 1e9
    benchmark.extra_info["float32_matmul_gmac_per_s"] = matmul_rate / 1e9
    assert kernel_rate >= 0.5 * matmul_rate
