"""Functional (bit-accurate CIM) model speed.  Run:
    pytest benchmarks/ --benchmark-only -o python_files='bench_*.py'
Targets (issue 6): one CIFAR-size ResNet-8 image < 0.5 s; 1,000 MNIST images < 10 s; >= 20 GMAC/s of
bit-plane work (r_in bit-planes x MACs per second) on one 1152-row x 256-channel layer."""
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tlm import accuracy as A  # noqa: E402
from tlm import functional as F  # noqa: E402
from tlm.arch import load_arch  # noqa: E402
from tlm.workload import load_workload, parse_workload  # noqa: E402
from tlm.yamlio import load_text  # noqa: E402

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
