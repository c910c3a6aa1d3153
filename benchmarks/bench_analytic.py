"""Analytic engine speed: ResNet-8 whole inference (target: well under 5 ms per evaluation)."""
from conftest import ROOT
from tlm.engines.analytic import simulate
from tlm.config.arch import load_arch
from tlm.config.workload import load_workload


def test_analytic_resnet8(benchmark):
    arch = load_arch(ROOT / "configs" / "imagine.yaml")
    wl = load_workload(ROOT / "workloads" / "resnet8.yaml")
    r = benchmark(simulate, arch, wl)
    assert r.cycles > 0
