"""Accuracy of a network through the float, ideal-integer and CIM models, per-layer error statistics,
noise sweeps, and data activity measured for the energy model (tlm accuracy, tlm simulate
--activity-from).  The model itself is tlm/functional.py; the data tlm/datasets.py."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from . import datasets
from . import functional as F
from .errors import InputError, Where

MAX_CALIBRATION_IMAGES = 100_000  # bound of --calibration-images
NOISE_SWEEP_LSB = (0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)  # noise levels of --noise-sweep, ADC LSB rms


def with_output_bits(wl, bits: int | None):
    """A copy of the workload with every compute layer converting to `bits` (None: unchanged); the
    consumers' input precisions follow their producers, as the workload format defines."""
    if bits is None:
        return wl
    bits_of = {"input": wl.input_bits}
    layers = []
    for L in wl.layers:
        b_in = bits_of[L.inputs[0]]
        b_out = bits if L.is_compute else b_in
        layers.append(dataclasses.replace(L, bits_in=b_in, bits_out=b_out))
        bits_of[L.name] = b_out
    return dataclasses.replace(wl, layers=layers)


def held_out_images(wl, dataset: str, images: int | None):
    """The held-out test images of `dataset` (a shipped name, or an .npz file: all its images), fitted
    to the workload's input shape, and labels."""
    if images is not None and images < 1:
        raise InputError(f"expected at least 1 image, found {images}", field="--images")
    if datasets.is_file_arg(dataset):
        x, y = datasets.load_file(dataset, wl.input_shape, wl.input_bits)
        return (x, y) if images is None else (x[:images], y[:images])
    x, y = datasets.split(dataset, "test", images)
    return datasets.fit_to(x, wl.input_shape), y


def calibration_images(wl, dataset: str, images: int):
    """Images to calibrate activation ranges on, and what they are: the first `images` of the training
    part of a shipped dataset, or of a dataset file (which has no training part)."""
    if not 1 <= images <= MAX_CALIBRATION_IMAGES:
        raise InputError(f"expected 1 to {MAX_CALIBRATION_IMAGES:,} calibration images, found {images}",
                         Where("<command line>"), "--calibration-images")
    if datasets.is_file_arg(dataset):
        x, _ = datasets.load_file(dataset, wl.input_shape, wl.input_bits)
        return x[:images], f"the first {min(images, len(x))} images of {dataset}"
    x, _ = datasets.split(dataset, "train", images)
    return datasets.fit_to(x, wl.input_shape), f"{len(x)} {dataset} training images"


def build_net(arch, wl, workload_path, dataset: str, calib_images: int = 100, force_calibration=False):
    """The functional network of a workload with weights (YAML + .npz, or an ONNX model with its
    initializers) and a note on where its activation ranges come from (None for a .npz)."""
    from pathlib import Path
    if Path(str(workload_path)).suffix.lower() == ".onnx":
        from .onnx_weights import build_onnx
        return build_onnx(arch, wl, workload_path, lambda: calibration_images(wl, dataset, calib_images),
                          force_calibration)
    return F.build(arch, wl), None


@dataclass
class Evaluation:
    accuracy: dict  # model name ('float', 'ideal', 'cim') -> fraction correct
    stats: dict  # layer name -> functional.LayerStats of the CIM run
    images: int


def evaluate(net, x, y, swing: str, noise_lsb: float, seed: int = 0, models=F.MODES) -> Evaluation:
    acc, stats = {}, {}
    for mode in models:
        r = net.run(x, mode, swing, noise_lsb, seed)
        acc[mode] = float((r.outputs.reshape(len(x), -1).argmax(1) == y).mean())
        if mode == "cim":
            stats = r.stats
    return Evaluation(acc, stats, len(x))


def noise_sweep(net, x, y, swing: str, levels=NOISE_SWEEP_LSB, seed: int = 0) -> list[tuple[float, Evaluation]]:
    return [(s, evaluate(net, x, y, swing, s, seed, models=("cim",))) for s in levels]


def measure_activity(arch, wl, dataset: str, images: int = 200, seed: int = 0):
    """Input bit density per layer of `wl` (the default density for digital layers) measured by the
    CIM model on `images` held-out images, and a one-line note describing it."""
    x, _ = held_out_images(wl, dataset, images)
    calib = None
    if wl.extra.get("weights") is None:  # random weights: ranges calibrated on training images
        calib = datasets.fit_to(datasets.split(dataset, "train", images)[0], wl.input_shape)
    net = F.build(arch, wl, calib, seed)
    run = net.run(x, "cim", arch.functional.swing, arch.functional.noise_lsb, seed)
    dens = np.array([run.stats[L.name].input_density if L.is_compute else arch.activity.input_bit_density
                     for L in wl.layers])
    parts = ", ".join(f"{n} {s.input_density:.3f}" for n, s in run.stats.items())
    src = "shipped weights" if calib is None else f"random weights (seed {seed})"
    return dens, f"input bit density measured on {len(x)} {dataset} test images ({src}): {parts}"


def dp_noise_text(arch) -> str:
    """How the DP-line noise is set, for titles: 'kT/C', 'off' or '0.3 mV'."""
    f = arch.functional
    return {"ktc": "kT/C", "off": "off"}.get(f.dp_noise, f"{f.dp_noise_mv:g} mV")


def check_noise(v: float) -> float:
    if not (v >= 0 and v < float("inf")):
        raise InputError(f"expected a finite noise >= 0 (ADC LSB), found {v}", Where("<command line>"), "--noise")
    return v
