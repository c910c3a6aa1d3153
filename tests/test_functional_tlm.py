"""The functional TLM run (`tlm simulate --functional`): real data through the transaction-level engine's
blocks (tlm/engines/transaction/datapath.py, macro.py, adc.py, controller.py) gives tlm/functional/model.py's outputs bit
for bit at zero noise, the plain TLM run's cycles, and an energy that follows the data."""
import dataclasses
import os
import subprocess
import sys

import numpy as np
import pytest

from tlm.services import accuracy as A
from tlm.functional import model as F
from tlm.engines.transaction.datapath import DataPath
from tlm.engines.transaction.system import simulate
from tlm.mapping.plan import build_plan
from tlm.engines.result import KIND_NAMES
from tlm.config.workload import load_workload

from conftest import ROOT
from helpers import with_changes, workload

pytest.importorskip("mlxtend")

DP, DRV = KIND_NAMES.index("dp_array"), KIND_NAMES.index("input_drivers")


def quiet(arch):
    """No noise at all: the DP-line noise off (noise_lsb 0 is passed to the runs)."""
    return with_changes(arch, **{"functional.dp_noise": "off"})


def run_both(arch, wl, net, x, swing="adaptive", noise=0.0):
    data = DataPath(net, x, swing, noise)
    res = simulate(arch, wl, data=data)
    ref = net.run(x, "cim", swing, noise)
    return data, res, ref


@pytest.fixture(scope="module")
def mnist8():
    wl = load_workload(ROOT / "workloads" / "mnist_cnn.yaml")
    x, y = A.held_out_images(wl, "mnist5k", 8)
    return dataclasses.replace(wl, batch=8), x, y


@pytest.mark.parametrize("swing", ["adaptive", "fixed"])
def test_mnist_bit_exact_and_same_cycles(arch, mnist8, swing):
    """mnist_cnn, 8 images in one batch: conv1 and conv2 one row tile each, fc two (partials accumulated)."""
    a = quiet(arch)
    wl, x, _ = mnist8
    net = F.build(a, wl)
    data = DataPath(net, x, swing, 0.0)
    from tlm.engines.transaction.system import System
    sysm = System(a, wl, data=data)
    sysm.run()
    ref = net.run(x, "cim", swing, 0.0)
    assert np.array_equal(data.outputs(), ref.outputs)
    assert sysm.sram.data is data.tensors  # every tensor lives in the SRAM model
    assert {"input", "conv1", "pool1", "conv2", "pool2", "flatten", "fc"} <= set(sysm.sram.data)
    res = simulate(a, wl, data=DataPath(net, x, swing, 0.0))
    plain = simulate(a, wl)
    assert np.array_equal(res.per_layer["cycles"], plain.per_layer["cycles"])
    assert res.cycles == plain.cycles
    assert len(np.unique(ref.outputs)) > 5  # real logits, not a saturated constant
    # the CIM stats of the run are those of tlm/functional/model.py: same bit-planes, same conversions
    for n, s in data.stats.items():
        assert s.dp.input_ones == ref.stats[n].dp.input_ones and s.conversions == ref.stats[n].conversions


@pytest.mark.parametrize("cfg", ["imagine", "imagine_4macro"])
def test_resnet8_random_weights_bit_exact(cfg, resnet8):
    """ResNet-8 (strides, 1x1 shortcuts, residual adds, global pooling) with random weights, 1 image; on 1
    and on 4 macros (tiles of a layer run concurrently on different macros)."""
    from tlm.config.arch import load_arch
    from tlm.mapping.mapper import with_policy
    # the data path runs the layer-by-layer schedule (tlm/accuracy.functional_run pins it too)
    a = with_policy(quiet(load_arch(ROOT / "configs" / f"{cfg}.yaml")), "sequential")
    x = np.random.default_rng(1).integers(0, 256, size=(1, 3, 32, 32))
    net = F.FunctionalNet(a, resnet8, F.random_params(a, resnet8, x, seed=0))
    data, res, ref = run_both(a, resnet8, net, x)
    assert np.array_equal(data.outputs(), ref.outputs)
    assert res.cycles == simulate(a, resnet8).cycles


def test_row_and_column_tiles_are_the_plans(arch):
    """One tiling: a 2,500-row layer (3 row tiles: 1152 + 1152 + 196, full tiles first) on 64 output
    channels (2 column tiles of 32 channels at 8 weight bits, 256 columns) -- functional.row_tiles and the
    plan's tiles agree, and the functional TLM run is bit-exact on it (partials accumulated over 3 tiles,
    with a 1-row-tile layer after it)."""
    a = quiet(arch)
    wl = workload([{"name": "big", "type": "conv2d", "out_channels": 64, "kernel": 5, "padding": 2},
                   {"name": "after", "type": "conv2d", "out_channels": 8, "kernel": 1}], shape=(100, 6, 6))
    plan = build_plan(a, wl)
    tiles = plan.layers[0].tiles
    rows = sorted({(t.row_tile, t.rows) for t in tiles})
    assert rows == [(0, 1152), (1, 1152), (2, 196)]
    assert [(s.start, s.stop) for s in F.row_tiles(2500, a.macro.rows)] == [(0, 1152), (1152, 2304), (2304, 2500)]
    assert sorted({(t.ch_lo, t.ch_hi) for t in tiles}) == [(0, 32), (32, 64)]
    x = np.random.default_rng(2).integers(0, 256, size=(1, 100, 6, 6))
    net = F.FunctionalNet(a, wl, F.random_params(a, wl, x, seed=0))
    data, res, ref = run_both(a, wl, net, x)
    assert np.array_equal(data.outputs(), ref.outputs)


def test_compute_transactions_carry_views_not_copies(arch, mnist8):
    """Each COMPUTE's data are views of the layer's im2col matrix (DMI-like: no copy per MAC)."""
    a = quiet(arch)
    wl, x, _ = mnist8
    data = DataPath(F.build(a, wl), x, "adaptive", 0.0)
    seen = []
    orig = data.inputs

    def spy(plan, tile, lo, hi):
        views = orig(plan, tile, lo, hi)
        seen.append(all(v.base is not None and np.shares_memory(v, data._xm[plan.row]) for v in views))
        return views
    data.inputs = spy
    simulate(a, wl, data=data)
    n_compute = sum(-(-p.pixels // p.chunk_pixels) * p.n_tiles for p in build_plan(a, wl).layers if p.compute)
    assert len(seen) == n_compute and all(seen)


def test_energy_follows_the_images_in_the_run(arch, tmp_path):
    """Blank and saturated images: conv1's DP-array and driver energy in the functional run equal the plain
    run's at conv1's exact density (0, and 6724/7056 = the taps inside a 28x28 image of a padded 3x3
    window), and not the assumed 0.5."""
    a = quiet(arch)
    wl = dataclasses.replace(load_workload(ROOT / "workloads" / "mnist_cnn.yaml"), batch=2)
    net = F.build(a, wl)
    n = len(wl.layers)
    for value, dens in ((0, 0.0), (255, 6724 / 7056)):
        x = np.full((2, 1, 28, 28), value)
        data = DataPath(net, x, "adaptive", 0.0)
        e = simulate(a, wl, data=data).energy_pj
        d = np.full(n, 0.5)
        d[0] = dens
        want = simulate(a, wl, input_density=d).energy_pj
        for k in (DP, DRV):
            assert e[0, k] == pytest.approx(want[0, k], rel=1e-9, abs=1e-9)
            assert e[0, k] != pytest.approx(simulate(a, wl).energy_pj[0, k], rel=1e-3)


def _cli(*argv):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "tlm", *argv], capture_output=True, text=True, env=env, timeout=120)


def test_simulate_functional_cli(tmp_path):
    out = tmp_path / "r.json"
    r = _cli("simulate", "imagine", "mnist_cnn", "--functional", "--images", "12", "--json", str(out))
    assert r.returncode == 0, r.stderr
    assert "accuracy:" in r.stdout and "predictions:" in r.stdout and "energy" in r.stdout
    import json
    j = json.loads(out.read_text())
    f = j["extra"]["functional"] if "extra" in j else j["functional"]
    assert f["images"] == 12 and len(f["predictions"]) == 12 and 0.5 <= f["accuracy"] <= 1.0
    for argv in (["--images", "0"], ["--dataset", "nope"], ["--engine", "analytic"]):
        r = _cli("simulate", "imagine", "mnist_cnn", "--functional", *argv)
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, (argv, r.stderr)


@pytest.mark.parametrize("macros", [4, 1])
def test_functional_auto_mapping_runs_the_policy_a_timing_run_chooses(macros):
    """With `mapping.policy: auto` the functional run resolves it as a timing-only run of the same batch does
    (tlm/engines/registry.py, once) and runs that policy's plan on the blocks; the note says why."""
    from tlm.config.arch import load_arch
    from tlm.engines.registry import run as run_engine
    a = with_changes(load_arch(ROOT / "configs" / "imagine.yaml"),
                     **{"macro.count": macros, "mapping.policy": "auto"})
    wl = load_workload(ROOT / "workloads" / "mnist_cnn.yaml")
    fun = A.functional_run(a, wl, ROOT / "workloads" / "mnist_cnn.yaml", "mnist5k", images=2)
    timing = run_engine("tlm", a, dataclasses.replace(wl, batch=2))
    assert fun.result.extra["mapping"]["policy"] == timing.extra["mapping"]["policy"]
    assert fun.result.cycles == timing.cycles
    assert any(n.startswith("mapping auto") for n in fun.result.notes)
