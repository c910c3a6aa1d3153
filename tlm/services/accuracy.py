"""Accuracy of a network through the float, ideal-integer and CIM models, per-layer error statistics,
noise sweeps, and data activity measured for the energy model (tlm accuracy, tlm simulate
--activity-from).  The model itself is tlm/functional/model.py; the data tlm/functional/datasets.py."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tlm.functional import datasets
from tlm.functional import model as F
from tlm.errors import InputError, Where

MAX_CALIBRATION_IMAGES = 100_000  # bound of --calibration-images
MAX_SEED = 2**63 - 1  # numpy's generators take any non-negative integer; a bound keeps the error one line
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


def held_out_images(wl, dataset: str, images: int | None, seed: int = datasets.SAMPLE_SEED):
    """The held-out test images of `dataset` (a shipped name, or an .npz file: all its images) as the
    workload's input codes (fitted to its input shape, quantized to its input bits) and labels; a seeded
    class-balanced sample of `images` when given (tlm/functional/datasets.inputs)."""
    if images is not None and images < 1:
        raise InputError(f"expected at least 1 image, found {images}", Where("<command line>"), "--images")
    return datasets.inputs(dataset, "test", wl.input_shape, wl.input_bits, images, seed)


def calibration_images(wl, dataset: str, images: int):
    """Images to calibrate activation ranges on, and what they are: a class-balanced sample of `images`
    of the training part of a shipped dataset, or of a dataset file (which has no training part)."""
    if not 1 <= images <= MAX_CALIBRATION_IMAGES:
        raise InputError(f"expected 1 to {MAX_CALIBRATION_IMAGES:,} calibration images, found {images}",
                         Where("<command line>"), "--calibration-images")
    x, _ = datasets.inputs(dataset, "train", wl.input_shape, wl.input_bits, images)
    if datasets.is_file_arg(dataset):
        return x, f"{len(x)} images of {dataset}"
    return x, f"{len(x)} {dataset} training images"


def build_net(arch, wl, workload_path, dataset: str, calib_images: int = 100, force_calibration=False):
    """The functional network of a workload with weights (YAML + .npz, or an ONNX model with its
    initializers) and a note on where its activation ranges come from (None for a .npz)."""
    if Path(str(workload_path)).suffix.lower() == ".onnx":
        from tlm.onnxio.weights import build_onnx
        return build_onnx(arch, wl, workload_path, lambda: calibration_images(wl, dataset, calib_images),
                          force_calibration)
    if wl.extra.get("weights") is None:
        raise InputError(no_weights_message(), Where(wl.file), "weights")
    return F.build(arch, wl), None


def shipped_with_weights() -> list[str]:
    """The shipped workloads that carry trained weights: YAML files naming a top-level `weights:` file, and
    ONNX models (their initializers are the weights)."""
    from tlm.config.paths import shipped_dir
    d = shipped_dir("workloads")
    names = [p.stem for p in sorted(d.glob("*.yaml"))
             if any(ln.startswith("weights:") for ln in p.read_text(errors="replace").splitlines())]
    return names + [p.name for p in sorted(d.glob("*.onnx"))]


def no_weights_message() -> str:
    """What to do when a workload has no weights: the shipped ones that have them, and the ONNX route."""
    have = ", ".join(shipped_with_weights()) or "none"
    return ("the workload names no weights file (top-level 'weights:'), so there is nothing to measure accuracy "
            f"on; shipped workloads with trained weights: {have}.  Your own network: export it to ONNX (e.g. "
            "torch.onnx.export) and run `tlm accuracy MODEL.onnx`, or `tlm import MODEL.onnx -o NET.yaml "
            "--weights NET.npz` to get a workload with its weights (docs/onnx.md)")


@dataclass
class Evaluation:
    accuracy: dict  # model name ('float', 'ideal', 'cim') -> fraction correct
    stats: dict  # layer name -> functional.LayerStats of the CIM run
    images: int
    # model name -> (images, outputs): the last layer's output of each image (float model: real values;
    # ideal and cim: the output codes); the prediction is its argmax
    outputs: dict = dataclasses.field(default_factory=dict)
    labels: np.ndarray | None = None  # (images,) the true class of each image


def evaluate(net, x, y, swing: str, noise_lsb: float, seed: int = 0, models=F.MODES) -> Evaluation:
    acc, stats, outs = {}, {}, {}
    for mode in models:
        r = net.run(x, mode, swing, noise_lsb, seed)
        outs[mode] = r.outputs.reshape(len(x), -1)
        acc[mode] = float((outs[mode].argmax(1) == y).mean())
        if mode == "cim":
            stats = r.stats
    return Evaluation(acc, stats, len(x), outs, np.asarray(y))


def noise_sweep(net, x, y, swing: str, levels=NOISE_SWEEP_LSB, seed: int = 0) -> list[tuple[float, Evaluation]]:
    return [(s, evaluate(net, x, y, swing, s, seed, models=("cim",))) for s in levels]


@dataclass
class ActivityMeasurement:
    """What the CIM model measured on real images, per compute layer (the values the energy depends on)."""

    density: np.ndarray  # per workload layer: measured input bit density (compute), the default (digital)
    plane_density: dict  # layer -> (r_in,) density of each input bit-plane, LSB first
    image_density: dict  # layer -> (N,) density per image
    clip_rate: dict  # layer -> fraction of conversions that clipped
    images: int
    source: str  # what the images and weights were

    def note(self) -> str:
        parts = ", ".join(f"{n} {self.plane_density[n].mean():.3f} (images {self.image_density[n].min():.3f}-"
                          f"{self.image_density[n].max():.3f})" for n in self.plane_density)
        clips = ", ".join(f"{n} {100 * v:.3f}%" for n, v in self.clip_rate.items())
        return (f"measured on {self.source}: input bit density of each bit-plane of each compute layer, used "
                f"for the DP array and input-driver energy: {parts}; clipped conversions {clips} (measured, "
                "reported only: the conversion energy does not depend on the code); cycles, conversions and "
                "SRAM/DMA bits do not depend on the values")


def measure(arch, wl, dataset: str, images: int = 200, seed: int = 0, net=None) -> ActivityMeasurement:
    """Run `images` held-out images of `dataset` (a shipped name or an .npz) through the CIM model of `wl`
    (its weights, or random weights calibrated on training images when it has none; or `net`)."""
    F.check_weights_file(wl)  # before the images load
    x, _ = held_out_images(wl, dataset, images)
    src = "shipped weights"
    if net is None:
        calib = None
        if wl.extra.get("weights") is None and Path(str(wl.file)).suffix.lower() != ".onnx":
            calib, _ = calibration_images(wl, dataset, images)  # random weights: ranges from training images
            src = f"random weights (seed {seed})"
        if Path(str(wl.file)).suffix.lower() == ".onnx":
            net, _ = build_net(arch, wl, wl.file, dataset)
            src = "the model's weights"
        else:
            net = F.build(arch, wl, calib, seed)
    run = net.run(x, "cim", arch.functional.swing, arch.functional.noise_lsb, seed)
    st = run.stats
    dens = np.array([st[L.name].input_density if L.is_compute else arch.activity.input_bit_density
                     for L in wl.layers])
    what = f"{len(x)} {dataset} test images" if not datasets.is_file_arg(dataset) else f"{len(x)} images of {dataset}"
    return ActivityMeasurement(dens, {n: v.dp.plane_density for n, v in st.items()},
                               {n: v.dp.image_density for n, v in st.items()},
                               {n: v.clip_rate for n, v in st.items()}, len(x), f"{what} ({src})")


def measure_activity(arch, wl, dataset: str, images: int = 200, seed: int = 0):
    """Input bit density per layer of `wl` (the default density for digital layers) measured by the
    CIM model on `images` held-out images, and a one-line note describing it."""
    m = measure(arch, wl, dataset, images, seed)
    return m.density, m.note()


def activity_note(arch, wl, dataset: str, images: int = 200):
    """For `tlm simulate --activity-from`: measured densities per layer and the note saying what was
    measured, with the spread of the energy per image."""
    if not datasets.is_file_arg(dataset) and dataset not in datasets.DATASETS:
        raise InputError(f"unknown dataset '{dataset}', expected one of {', '.join(datasets.DATASETS)} or an "
                         ".npz file", Where("<command line>"), "--activity-from")
    m = measure(arch, wl, dataset, images)
    e = image_energies_pj(arch, wl, m) * 1e-3
    return m.density, (f"{m.note()}; on-chip energy per image {e.min():.4g} to {e.max():.4g} nJ "
                       f"(mean {e.mean():.4g} nJ)")


def image_energies_pj(arch, wl, m: ActivityMeasurement) -> np.ndarray:
    """On-chip energy per inference of each measured image (pJ): the DP array and input-driver energies are
    linear in each layer's input bit density (tlm/hw/macro.py), so two analytic runs (every density 0, every
    density 1) give each compute layer's slope; every other energy does not depend on the data."""
    from tlm.engines.registry import run
    from tlm.engines.result import ON_CHIP
    n = len(wl.layers)
    r0, r1 = (run("analytic", arch, wl, input_density=np.full(n, d)) for d in (0.0, 1.0))
    e0 = r0.energy_pj[:, ON_CHIP].sum(axis=1) / r0.batch
    e1 = r1.energy_pj[:, ON_CHIP].sum(axis=1) / r1.batch
    dens = np.array([m.image_density[L.name] if L.is_compute else np.full(m.images, m.density[i])
                     for i, L in enumerate(wl.layers)])  # (layers, images)
    slope = (e1 - e0)[:n]
    return float(e0.sum()) + slope @ dens


def dp_noise_text(arch) -> str:
    """How the DP-line noise is set, for titles: 'kT/C', 'off' or '0.3 mV'."""
    f = arch.functional
    return {"ktc": "kT/C", "off": "off"}.get(f.dp_noise, f"{f.dp_noise_mv:g} mV")


def check_noise(v: float) -> float:
    if not (v >= 0 and v < float("inf")):
        raise InputError(f"expected a finite noise >= 0 (ADC LSB), found {v}", Where("<command line>"), "--noise")
    return v


# ---- the functional TLM run: real images through the transaction-level engine ---------------------------------
MAX_FUNCTIONAL_IMAGES = 100_000  # bound of tlm simulate --functional --images


@dataclass
class FunctionalRun:
    result: object  # tlm.engines.result.Result of the run (cycles and energy of all its images)
    predictions: np.ndarray  # (N,) predicted class per image
    labels: np.ndarray
    accuracy: float
    stats: dict  # layer name -> functional.LayerStats measured in the run
    note: str  # what ran: images, weights, noise, measured counts

    def summary(self) -> dict:
        return {"images": int(len(self.labels)), "accuracy": self.accuracy,
                "predictions": [int(v) for v in self.predictions],
                "input_bit_density": {n: s.input_density for n, s in self.stats.items()},
                "input_bit_density_per_plane": {n: [float(v) for v in s.dp.plane_density]
                                                for n, s in self.stats.items()},
                "clipped_conversions": {n: s.clip_rate for n, s in self.stats.items()}}


def functional_run(arch, wl, workload_path, dataset: str, images: int = 100, seed: int = 0, swing=None,
                   noise_lsb=None, calib_images: int = 100, **engine_options) -> FunctionalRun:
    """`tlm simulate --functional`: `images` test images of `dataset` as one batch through the TLM engine,
    the data flowing through its blocks (tlm/engines/transaction/datapath.py); the network's weights (YAML + .npz or
    ONNX), or random weights calibrated on training images when it has none."""
    from tlm.engines.transaction.datapath import DataPath
    from tlm.engines.registry import resolve_policy
    from tlm.engines.transaction.system import simulate
    if not 1 <= images <= MAX_FUNCTIONAL_IMAGES:
        raise InputError(f"expected 1 to {MAX_FUNCTIONAL_IMAGES:,} images, found {images}", Where("<command line>"),
                         "--images")
    if not 0 <= seed <= MAX_SEED:  # numpy's generators refuse negative seeds with a ValueError
        raise InputError(f"expected a seed from 0 to {MAX_SEED}, found {seed}", Where("<command line>"), "--seed")
    if not datasets.is_file_arg(dataset) and dataset not in datasets.DATASETS:
        raise InputError(f"unknown dataset '{dataset}', expected one of {', '.join(datasets.DATASETS)} or an "
                         ".npz file", Where("<command line>"), "--dataset")
    from tlm.config.workload import check_run_limits
    check_run_limits(dataclasses.replace(wl, batch=images), Where(f"--images {images} (command line)"))
    F.check_weights_file(wl)  # before the images load (seconds for a shipped dataset)
    x, y = held_out_images(wl, dataset, images)
    wlb = dataclasses.replace(wl, batch=len(x))
    onnx = Path(str(workload_path)).suffix.lower() == ".onnx"
    if onnx or wl.extra.get("weights") is not None:
        net, rnote = build_net(arch, wlb, workload_path, dataset, calib_images)
        src = rnote or "shipped weights"
    else:
        calib, what = calibration_images(wl, dataset, calib_images)
        net = F.FunctionalNet(arch, wlb, F.random_params(arch, wlb, calib, seed))
        src = f"random weights (seed {seed}), ranges calibrated on {what}"
    swing = swing or arch.functional.swing
    noise = arch.functional.noise_lsb if noise_lsb is None else check_noise(noise_lsb)
    datasets.check_input_codes(x, wl.input_bits)  # the data path reads them as input codes, as FunctionalNet.run
    data = DataPath(net, x, swing, noise, seed)
    r = resolve_policy(arch, wlb)  # `auto`: the policy a timing-only run of this batch chooses, its plan
    from tlm.functional.threads import blas_threads
    with blas_threads():  # the data path runs the functional kernels (tlm/functional/threads.py)
        res = simulate(r.arch, wlb, data=data, plan=r.plan, **engine_options)
    if r.note is not None:
        res.arch = arch
        res.notes.append(r.note)
    out = data.outputs().reshape(len(x), -1)
    pred = out.argmax(1)
    acc = float((pred == y).mean())
    what = f"{len(x)} {dataset} test images" if not datasets.is_file_arg(dataset) else f"{len(x)} images of {dataset}"
    dens = ", ".join(f"{n} {s.input_density:.3f}" for n, s in data.stats.items())
    clips = ", ".join(f"{n} {100 * s.clip_rate:.3f}%" for n, s in data.stats.items())
    note = (f"functional run: {what} through the blocks ({src}; {swing} swing, comparator noise {noise:g} LSB, "
            f"DP line {dp_noise_text(arch)}, seed {seed}): accuracy {100 * acc:.2f}%; energy from the input bits "
            f"measured in every COMPUTE transaction (density {dens}); clipped conversions {clips} (reported only)")
    res.notes.append(note)
    run = FunctionalRun(res, pred, y, acc, data.stats, note)
    res.extra["functional"] = run.summary()
    return run
