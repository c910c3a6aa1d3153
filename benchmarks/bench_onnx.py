"""Importing an ONNX model and simulating it: ResNet-50 (the onnx wheel's light model) must take well
under 2 s.  Run: pytest benchmarks/ --benchmark-only -o python_files='bench_*.py'"""
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

onnx = pytest.importorskip("onnx")

from tlm.engines.registry import run  # noqa: E402
from tlm.config.arch import load_arch  # noqa: E402
from tlm.onnxio.graph import load_onnx  # noqa: E402

LIGHT = Path(onnx.__file__).parent / "backend" / "test" / "data" / "light"


@pytest.mark.parametrize("model", ["light_resnet50.onnx", "light_densenet121.onnx"])
def test_import_and_simulate(benchmark, model):
    arch = load_arch(ROOT / "configs" / "imagine.yaml")
    path = LIGHT / model
    result = benchmark(lambda: run("analytic", arch, load_onnx(path)))
    assert result.macs > 0
    assert benchmark.stats.stats.mean < 2.0  # target: import + simulate under 2 s on 2 vCPUs
