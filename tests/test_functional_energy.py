"""Energy that follows the data: the input bit density of each bit-plane, measured per layer and image by
the CIM model, replaces the assumed density (tlm/services/accuracy.py measure, tlm simulate --activity-from)."""
import numpy as np
import pytest

from tlm.services import accuracy as A
from tlm.engines.analytic import simulate
from tlm.engines.result import KIND_NAMES
from tlm.config.workload import load_workload

pytest.importorskip("mlxtend")

from conftest import ROOT  # noqa: E402

DP = KIND_NAMES.index("dp_array")
DRV = KIND_NAMES.index("input_drivers")
# conv1 (3x3, padding 1, on 28x28): taps inside the image per channel = (3 * 28 - 2)^2 = 82^2 = 6724 of
# 9 * 784 = 7056 (the other 332 read the zero padding), so an all-255 image has density 6724 / 7056.
ONES_DENSITY_CONV1 = 6724 / 7056


@pytest.fixture(scope="module")
def mnist_wl():
    return load_workload(ROOT / "workloads" / "mnist_cnn.yaml")


def _file(tmp_path, name, images):
    f = tmp_path / name
    np.savez(f, images=images.astype(np.uint8), labels=np.zeros(len(images), np.int64))
    return str(f)


def test_zero_and_one_images_bound_the_measured_energy(arch, mnist_wl, tmp_path):
    zeros = _file(tmp_path, "zeros.npz", np.zeros((3, 1, 28, 28)))
    ones = _file(tmp_path, "ones.npz", np.full((3, 1, 28, 28), 255))
    m0, m1 = A.measure(arch, mnist_wl, zeros, 3), A.measure(arch, mnist_wl, ones, 3)
    mr = A.measure(arch, mnist_wl, "mnist5k", 30)
    # conv1 reads the image itself: hand-derived densities, every bit-plane alike
    assert m0.density[0] == 0.0 and np.all(m0.plane_density["conv1"] == 0)
    assert m1.density[0] == pytest.approx(ONES_DENSITY_CONV1, rel=1e-12)
    np.testing.assert_allclose(m1.plane_density["conv1"], ONES_DENSITY_CONV1, rtol=1e-12)
    assert 0 < mr.density[0] < arch.activity.input_bit_density  # MNIST is sparse
    e = {k: simulate(arch, mnist_wl, input_density=d).energy_pj for k, d in
         (("zeros", m0.density), ("mnist", mr.density), ("ones", m1.density))}
    e_assumed = simulate(arch, mnist_wl).energy_pj
    for kind in (DP, DRV):  # conv1: zeros < real digits < the assumed 0.5 < all ones
        assert e["zeros"][0, kind] < e["mnist"][0, kind] < e_assumed[0, kind] < e["ones"][0, kind]
    # with zero density the input drivers of conv1 do not switch at all
    assert e["zeros"][0, DRV] == 0.0
    # the DP energy is linear in the density: zeros and ones give the straight line through the assumed 0.5
    slope = (e["ones"][0, DP] - e["zeros"][0, DP]) / ONES_DENSITY_CONV1
    assert e_assumed[0, DP] == pytest.approx(e["zeros"][0, DP] + 0.5 * slope, rel=1e-9)


def test_energy_per_image_follows_each_image(arch, mnist_wl, tmp_path):
    """A file of one blank and one saturated image: per-image energies differ in the direction of the data,
    and their mean is the energy at the mean measured density (the energy is linear in the densities)."""
    f = _file(tmp_path, "two.npz", np.stack([np.zeros((1, 28, 28)), np.full((1, 28, 28), 255)]))
    m = A.measure(arch, mnist_wl, f, 2)
    assert m.image_density["conv1"][0] == 0.0
    assert m.image_density["conv1"][1] == pytest.approx(ONES_DENSITY_CONV1)
    e = A.image_energies_pj(arch, mnist_wl, m)
    assert e[0] < e[1]
    assert e.mean() == pytest.approx(simulate(arch, mnist_wl, input_density=m.density).on_chip_energy_pj,
                                     rel=1e-9)


def test_simulate_note_says_what_was_measured(mnist_wl, tmp_path):
    import os
    import subprocess
    import sys
    f = _file(tmp_path, "z.npz", np.zeros((2, 1, 28, 28)))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, "-m", "tlm", "simulate", "imagine", "mnist_cnn", "--activity-from", f],
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    text = " ".join(r.stdout.split())
    assert "input bit density of each bit-plane" in text and "conv1 0.000" in text
    assert "clipped conversions" in text and "do not depend on the values" in text
    r = subprocess.run([sys.executable, "-m", "tlm", "simulate", "imagine", "mnist_cnn", "--activity-from",
                        "nope"], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "--activity-from" in r.stderr
