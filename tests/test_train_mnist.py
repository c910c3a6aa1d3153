"""The training recipe (scripts/train_mnist.py): its hand-written backward pass is the gradient of
its forward pass (central differences), and the shipped weights match the workload."""
import importlib.util

import numpy as np
import pytest


@pytest.fixture(scope="module")
def T(root):
    spec = importlib.util.spec_from_file_location("train_mnist", root / "scripts" / "train_mnist.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_backward_matches_finite_differences(T):
    rng = np.random.default_rng(3)
    net = T.Net(rng)
    net.p = {k: v.astype(np.float64) for k, v in net.p.items()}
    x = rng.random((2, 1, 28, 28))
    y = np.array([3, 7])

    def loss():
        return T.softmax_ce(net.forward(x, False, 0.0, rng, {}), y)[0]

    keep = {}
    _, dz = T.softmax_ce(net.forward(x, False, 0.0, rng, keep), y)
    g = net.backward(dz, keep)
    eps = 1e-6
    for k, v in net.p.items():
        for idx in map(tuple, rng.integers(0, v.shape, size=(4, v.ndim))):
            old = v[idx]
            v[idx] = old + eps
            up = loss()
            v[idx] = old - eps
            down = loss()
            v[idx] = old
            assert g[k][idx] == pytest.approx((up - down) / (2 * eps), rel=1e-4, abs=1e-7), (k, idx)


def test_npz_bytes_are_reproducible(T):
    a = {"b": np.arange(3, dtype=np.float32), "a": np.ones((2, 2), dtype=np.int8)}
    assert T.npz_bytes(a) == T.npz_bytes(dict(reversed(list(a.items()))))
