"""1b-normalized efficiencies of a run (`tlm simulate --normalize 1b`, JSON `*_1b`): 2 x input bits x
weight bits ops per MAC, against raw 2 ops per MAC at the layers' own precisions."""
import pytest

from helpers import workload
from conftest import ROOT
from tlm.config.arch import load_arch
from tlm.cli import main
from tlm.engines.analytic import simulate


def _mixed():
    # c: 4 -> 8 channels, 3x3, no padding, on 4x6x6: 8 x 4 x 4 outputs x (4 x 3 x 3) = 4,608 MACs at 4b x 2b;
    # fc: flatten 128 -> 10: 1,280 MACs at 8b x 8b.
    return workload([
        {"name": "c", "type": "conv2d", "out_channels": 8, "kernel": 3, "precision": {"input": 4, "weight": 2}},
        {"name": "f", "type": "flatten"},
        {"name": "fc", "type": "dense", "out_features": 10, "precision": {"input": 8, "weight": 8}},
    ])


def test_normalized_efficiency_weights_each_layer_by_its_input_and_weight_bits():
    from tlm.engines.registry import run
    r = run("analytic", load_arch(ROOT / "configs" / "imagine.yaml"), _mixed())
    assert [int(m) for m in r.per_layer["macs"][:3]] == [4608, 0, 1280]
    k = (4608 * 4 * 2 + 1280 * 8 * 8) / (4608 + 1280)  # = 118,784 / 5,888 = 20.17...
    s = r.summary()
    assert r.ops_1b_per_op() == pytest.approx(k, rel=1e-12)
    for raw in ("tops", "tops_per_w", "tops_per_mm2"):
        assert s[raw + "_1b"] == pytest.approx(s[raw] * k, rel=1e-12)


def test_simulate_normalize_prints_the_1b_figures_and_says_so(capsys):
    assert main(["simulate", "resnet8", "--engine", "analytic"]) == 0
    raw = capsys.readouterr().out
    assert main(["simulate", "resnet8", "--engine", "analytic", "--normalize", "1b"]) == 0
    norm = capsys.readouterr().out

    def value(text, label):
        line = next(l for l in text.splitlines() if l.strip().startswith(label))
        return float(line.split()[-2].replace(",", ""))
    assert "raw ops" in raw and "1b-normalized" not in raw
    assert "1b-normalized" in norm and "raw ops" not in norm
    # ResNet-8 is 8b x 8b in every compute layer: 64 1b ops per raw op (values printed to 4 digits)
    assert value(norm, "efficiency (on-chip, 1b") == pytest.approx(64 * value(raw, "efficiency (on-chip, raw"),
                                                                    rel=2e-3)
    assert value(norm, "achieved throughput (1b") == pytest.approx(64 * value(raw, "achieved throughput (raw"),
                                                                    rel=2e-3)
