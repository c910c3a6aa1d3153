"""`tlm.accuracy`: a network with weights through the float, ideal-integer and CIM models (part of the
public API, tlm/api/__init__.py; the models are tlm/functional/model.py, the runs tlm/services/accuracy.py)."""
from __future__ import annotations

from typing import Any

from tlm.api._results import AccuracyResult
from tlm.errors import InputError, Where

DEFAULT_ACCURACY_WORKLOAD = "mnist_cnn"  # shipped with trained weights
MAX_SEED = 2**63 - 1  # numpy's generators take any non-negative integer; a bound keeps it one line


class _NoSteps:
    """The progress protocol of `accuracy(steps=...)`: step(what) says what runs now, done() ends it."""

    def step(self, what: str) -> None:
        pass

    def done(self, n: int = 1) -> None:
        pass


def _adjusted(a, wl, output_bits, fixed_range, dp_noise):
    """(arch, workload) with the accuracy options that change them: every compute layer converting to
    `output_bits`, the fixed swing's range fraction, the DP-line noise."""
    from tlm.config.arch import arch_from_dict
    from tlm.services import accuracy as A
    if output_bits is not None:
        if output_bits not in a.precision.output_bits:
            raise InputError(f"{output_bits}b output is not supported by '{a.name}'", Where("<command line>"),
                             "--output-bits")
        wl = A.with_output_bits(wl, output_bits)
    if fixed_range is not None:
        if not 0 < fixed_range <= 1:
            raise InputError(f"expected a fraction in (0, 1], found {fixed_range}", Where("<command line>"),
                             "--fixed-range")
        d = a.to_dict()
        d["functional"]["fixed_range_fraction"] = fixed_range
        a = arch_from_dict(d, f"--fixed-range {fixed_range:g} (command line)")  # the schema's bounds
    if dp_noise is not None:
        d = a.to_dict()
        d["functional"]["dp_noise"] = dp_noise
        a = arch_from_dict(d, a.name)
    return a, wl


def accuracy(arch: Any = None, workload: Any = None, *, overrides=None, dataset: str = "mnist5k",
             images: int | None = None, calibration_images: int = 100, calibrate: bool = False,
             swing: str | None = None, noise_lsb: float | None = None, dp_noise: str | None = None,
             output_bits: int | None = None, fixed_range: float | None = None, seed: int = 0,
             noise_sweep: bool = False, steps=None) -> AccuracyResult:
    """`tlm accuracy`: accuracy of a network with weights (default: mnist_cnn) on `images` held-out
    images of `dataset` (mnist5k, digits, or an .npz) through the float, ideal-integer and CIM models,
    with each image's outputs, per-layer SQNR/ENOB/clipping of the CIM model, and (noise_sweep) the CIM
    accuracy at each comparator noise level of tlm.services.accuracy.NOISE_SWEEP_LSB.

    swing: adaptive or fixed (default: functional.swing); noise_lsb: comparator noise, LSB rms (default:
    functional.noise_lsb); dp_noise: ktc, measured or off; output_bits: every compute layer converts to
    that many bits; fixed_range: the fixed swing's fraction of the worst-case DP range; steps: an
    object with step(what) and done() told of each model run (a progress bar)."""
    from tlm.api._load import _prepared
    from tlm.functional import model as F
    from tlm.functional.datasets import DATASETS, is_file_arg
    from tlm.services import accuracy as A
    steps = steps or _NoSteps()
    if not 0 <= seed <= MAX_SEED:
        raise InputError(f"expected a seed from 0 to {MAX_SEED}, found {seed}", Where("tlm accuracy (command line)"),
                         "--seed")
    if not is_file_arg(dataset) and dataset not in DATASETS:
        raise InputError(f"unknown dataset '{dataset}', expected one of {', '.join(DATASETS)} or an .npz "
                         "file", Where("<command line>"), "--dataset")
    a, wl = _prepared(arch, DEFAULT_ACCURACY_WORKLOAD if workload is None else workload, overrides, None)
    _check_weights_field(wl)
    a, wl = _adjusted(a, wl, output_bits, fixed_range, dp_noise)
    swing = swing or a.functional.swing
    noise = A.check_noise(a.functional.noise_lsb if noise_lsb is None else noise_lsb)
    steps.step(f"building {wl.name}")
    # first: a workload without weights fails before the images load
    net, range_note = A.build_net(a, wl, wl.file, dataset, calibration_images, calibrate)
    steps.done()
    steps.step(f"loading {dataset} test images")
    try:
        x, y = A.held_out_images(wl, dataset, images)
    except InputError as e:  # a check of the workload's input shape: name the workload file
        raise InputError(e.message, Where(wl.file) if e.where.file == "<input>" else e.where, e.field) from None
    steps.done()
    ev = A.Evaluation({}, {}, len(x), {}, y)
    for mode in F.MODES:  # = A.evaluate(net, x, y, swing, noise, seed), a step per model
        steps.step(f"{mode} model on {len(x)} images")
        e = A.evaluate(net, x, y, swing, noise, seed, models=(mode,))
        ev.accuracy.update(e.accuracy)
        ev.outputs.update(e.outputs)
        ev.stats = e.stats or ev.stats
        steps.done()
    sweep = []
    for sigma in (A.NOISE_SWEEP_LSB if noise_sweep else ()):  # = A.noise_sweep(...), a step per level
        steps.step(f"noise sweep: {sigma:g} LSB")
        sweep.append((sigma, A.evaluate(net, x, y, swing, sigma, seed, models=("cim",))))
        steps.done()
    return AccuracyResult(a, wl, dataset, swing, noise, seed, ev, sweep, range_note, net)


def _check_weights_field(wl) -> None:
    """The workload's `weights:` names a regular .npz file, or is absent (tlm/functional/model.py)."""
    from tlm.functional.model import check_weights_file
    check_weights_file(wl)
