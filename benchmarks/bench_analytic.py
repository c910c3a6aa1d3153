"""Analytic engine speed, as ratios measured in the same run (issue 25): its cost grows with the layers,
not with the weight tiles.

    cd benchmarks && python -m pytest bench_analytic.py

Targets: VGG-19 (the onnx wheel's light model, shapes only: 4,004 weight tiles) <= 3x ResNet-8 (13 tiles);
ResNet-18 at 224x224 (366 tiles) <= 2x ResNet-8; the time per tile of a sequential plan flat within 2x from
10 to 10,000 tiles.  Every repeat starts from cold plan caches (tlm/services/bench.cold).
"""
import statistics
import time

import pytest

from conftest import ROOT
from tlm.engines.registry import run
from tlm.config.arch import load_arch
from tlm.config.workload import load_workload, parse_workload
from tlm.services.bench import cold

ARCH = load_arch(ROOT / "configs" / "imagine.yaml")


def _median_s(wl, repeats=15):
    run("analytic", ARCH, wl)
    out = []
    for _ in range(repeats):
        cold()
        t = time.perf_counter()
        run("analytic", ARCH, wl)
        out.append(time.perf_counter() - t)
    return statistics.median(out)


def test_analytic_resnet8(benchmark):
    wl = load_workload(ROOT / "workloads" / "resnet8.yaml")
    r = benchmark(lambda: (cold(), run("analytic", ARCH, wl))[1])
    assert r.cycles > 0


def test_analytic_vgg19_and_resnet18_against_resnet8(benchmark):
    onnx = pytest.importorskip("onnx")
    from pathlib import Path
    from tlm.onnxio.graph import load_onnx
    vgg = load_onnx(Path(onnx.__file__).parent / "backend" / "test" / "data" / "light" / "light_vgg19.onnx")
    r18 = load_workload(ROOT / "workloads" / "resnet18.yaml")
    r8 = load_workload(ROOT / "workloads" / "resnet8.yaml")
    t = benchmark.pedantic(lambda: {k: _median_s(w) for k, w in (("resnet8", r8), ("resnet18", r18),
                                                                 ("vgg19", vgg))}, rounds=1, iterations=1)
    benchmark.extra_info.update({f"{k}_ms": v * 1e3 for k, v in t.items()})
    benchmark.extra_info.update(vgg19_over_resnet8=t["vgg19"] / t["resnet8"],
                                resnet18_over_resnet8=t["resnet18"] / t["resnet8"])
    assert t["vgg19"] <= 3 * t["resnet8"] and t["resnet18"] <= 2 * t["resnet8"], benchmark.extra_info


def _wide(n):
    """Two 1x1 convs of n x n weight tiles each (1152 rows x 32 channels of 8b weights per tile)."""
    return parse_workload({"name": f"wide{n}", "input": {"shape": [1152 * n, 1, 1], "bits": 8}, "layers": [
        {"name": "a", "type": "conv2d", "out_channels": 32 * n, "kernel": 1},
        {"name": "b", "type": "conv2d", "out_channels": 32 * n, "kernel": 1, "input": "input"}]}, "<bench>")


def test_analytic_time_per_tile_is_flat(benchmark):
    """A sequential plan's cost does not grow with its tiles: 8 to 10,082 tiles within 2x of each other
    in time per simulation (so the time per tile falls as 1/tiles)."""
    sizes = (2, 7, 22, 71)  # 2 n^2 tiles: 8, 98, 968, 10,082
    t = benchmark.pedantic(lambda: [_median_s(_wide(n), 9) for n in sizes], rounds=1, iterations=1)
    benchmark.extra_info.update({f"tiles_{2 * n * n}_ms": s * 1e3 for n, s in zip(sizes, t)})
    assert max(t) <= 2 * min(t), benchmark.extra_info
