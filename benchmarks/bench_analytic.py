"""Analytic engine speed: ResNet-8 whole inference (target: well under 5 ms per evaluation)."""
from conftest import ROOT
from tlm.engines.registry import run
from tlm.config.arch import load_arch
from tlm.config.workload import load_workload


def test_analytic_resnet8(benchmark):
    arch = load_arch(ROOT / "configs" / "imagine.yaml")
    wl = load_workload(ROOT / "workloads" / "resnet8.yaml")
    r = benchmark(run, "analytic", arch, wl)
    assert r.cycles > 0
