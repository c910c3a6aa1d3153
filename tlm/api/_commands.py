"""The public API of the commands that are not simulations: `bench`, `calibrate`, `calibrate_global`,
`import_onnx`, `validate` and `schema` (tlm/api/__init__.py re-exports them).  Each does the command's work
and returns what the command prints (tlm/cli/commands/*.py only parse arguments and print)."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tlm.errors import InputError, Where

MAX_REPEAT = 1000  # a tlm-engine ResNet-8 run is ~0.5 s: 1,000 repeats are already ~10 minutes per workload


# ---- bench -----------------------------------------------------------------------------------------------
@dataclass
class BenchResult:
    """`tlm bench`: `measurements` (tlm.services.bench.Measurement: simulated hardware throughput, the
    simulator's wall time), `references` (the machine's pace, measured now), `scaling` {engine: (rows,
    fits)} with scaling=True.  `to_dict()` is what `--json` writes."""

    arch: Any
    repeat: int
    measurements: list
    references: dict
    scaling: dict = field(default_factory=dict)

    def ratios(self) -> list:
        """(what, ratio) of each measurement against its reference (tlm.services.bench.ratio)."""
        from tlm.services import bench
        return [bench.ratio(m, self.references) for m in self.measurements]

    def to_dict(self) -> dict:
        out = {"arch": self.arch.name, "measurements": [m.to_dict() | {"ratio": r}
                                                         for m, r in zip(self.measurements, self.ratios())],
               "references": self.references}
        for e, (rows, fits) in self.scaling.items():
            out.setdefault("scaling", {})[e] = {"rows": [r.__dict__ | {"ns_per_mac": r.ns_per_mac} for r in rows],
                                                 "fits": fits}
        return out


def bench(arch=None, workloads=None, *, engine: str = "all", repeat: int = 5, overrides=None,
          scaling: bool = False) -> BenchResult:
    """`tlm bench`: each workload (default resnet8) on each engine ('all': every registered one), `repeat`
    timed runs (median, spread), the peak RSS of a fresh process; the references measured now; with
    `scaling`, growing workloads and the fitted cost per MAC.  `overrides`: the `--set` paths, the
    workload ones applied to every workload."""
    from tlm.api._load import _override_texts, load_arch, load_workload
    from tlm.config.overrides import apply, parse_overrides
    from tlm.services import bench as B
    if not 1 <= repeat <= MAX_REPEAT:
        raise InputError(f"--repeat must be 1 to {MAX_REPEAT}, found {repeat}", Where("tlm bench (command line)"),
                         "--repeat")
    a = load_arch(arch)
    sets = parse_overrides(_override_texts(overrides), a)  # checked once; the architecture's now, each workload's below
    a, _ = apply(a, None, {k: v for k, v in sets.items() if not k.startswith("workload.")})
    wl_sets = {k: v for k, v in sets.items() if k.startswith("workload.")}
    avail = B.engines()
    chosen = sorted(avail) if engine == "all" else [engine]
    for e in chosen:
        if e not in avail:
            raise InputError(f"unknown engine '{e}', expected one of {', '.join(sorted(avail))} or all",
                             field="--engine")
    ms = []
    for name in (list(workloads) if workloads else [None]):
        _, wl = apply(a, load_workload(name, a), wl_sets)
        for e in chosen:
            ms.append(B.measure(a, wl, e, repeats=repeat))
    refs = B.references(a, load_workload("resnet8"))
    scale = {e: B.scaling(a, e, repeats=max(3, repeat)) for e in chosen} if scaling else {}
    return BenchResult(a, repeat, ms, refs, scale)


# ---- calibrate -------------------------------------------------------------------------------------------
@dataclass
class CalibrateResult:
    """`tlm calibrate`: the values the design's circuit derives (`fit` None) or, for a design naming its own
    `published.fitted`, their fit (`fit`: tlm.services.calibrate.PublishedFit); `values` {parameter: value}
    as written; `calibrated` the architecture with them, `rows` its figures against its paper."""

    arch: Any
    published: Any
    path: Path
    values: dict
    calibrated: Any
    rows: list
    fit: Any = None
    written: Path | None = None
    walden_fj: float | None = None  # a derived design's converter: fJ per conversion step (Walden)


def calibrate(arch=None, *, write: str | os.PathLike | None = None) -> CalibrateResult:
    """`tlm calibrate`: what the architecture file `arch` (default: imagine) derives from its circuit, or
    the fit of its own published parameters; `write`: the file with those values written into it (may be
    the same file; comments kept; an `extends:` still names the same base)."""
    from tlm.config.arch import load_with_published
    from tlm.config.paths import DEFAULT_ARCH, resolve
    from tlm.config.yamlio import atomic_write, read_text
    from tlm.services import calibrate as C
    from tlm.services import paper
    path = resolve(arch, "configs", DEFAULT_ARCH)
    a, pub = load_with_published(path)
    C.refuse_uncalibratable(a, pub, str(path))
    figs = pub.figures if pub is not None else None
    paper.check_runnable(a, str(path), figs)
    fit = None
    if pub is not None and pub.fitted:  # a design naming parameters of its own (at most two)
        fit = C.fit_published(a, pub, str(path))
        values, cal = fit.after, fit.arch
    else:  # a derived circuit: the values follow from the structure and the global constants
        values = C.derived_written(a)
        cal = C.with_values(a, values)
    rows = paper.comparison(cal, figs)
    from tlm.hw.circuit import implied_walden_fj
    fom = None if fit is not None else float(implied_walden_fj(cal))
    if write is not None:
        text = C.substitute(read_text(path, "architecture file"), values, str(path))
        text = C.rebase_extends(text, path, Path(write))
        C.check_substituted(text, values, str(write))
        C.check_loads(text, Path(write), path)
        atomic_write(Path(write), text)
    return CalibrateResult(a, pub, path, values, cal, rows, fit, None if write is None else Path(write), fom)


@dataclass
class GlobalFit:
    """`tlm calibrate --global`: the circuit model's constants `before` and `after` the fit over the
    shipped published designs, every design's figures with them (`rows` {design: [(figure, model,
    error)]}), the files written (`written`)."""

    before: dict
    after: dict
    rows: dict
    written: list = field(default_factory=list)


def calibrate_global(*, write: bool = False) -> GlobalFit:
    """`tlm calibrate --global`: fit the global constants (tlm/hw/constants.py) once over every shipped
    published design; `write`: write them into tlm/hw/constants.py and the derived configs."""
    from tlm.hw import circuit
    from tlm.services import globalfit
    designs = globalfit.derived_designs()
    before = circuit.constants()
    after = {k: float(f"{v:.4g}") for k, v in globalfit.fit(designs).items()}
    rows = {d.name: globalfit.predictions(d, after) for d in designs}
    written = list(globalfit.write_global(designs, after)) if write else []
    return GlobalFit(before, after, rows, written)


# ---- import, validate, schema ----------------------------------------------------------------------------
@dataclass
class Imported:
    """`tlm import`: the workload (`workload`), the YAML text written to `output`, and the .npz of
    weights and activation ranges written to `weights` (or None)."""

    workload: Any
    text: str
    output: Path
    weights: Path | None = None


def import_onnx(model: str | os.PathLike, output: str | os.PathLike, *, precision: dict | None = None,
                weights: str | os.PathLike | None = None, dataset: str = "mnist5k",
                calibration_images: int = 100) -> Imported:
    """`tlm import`: the ONNX `model` (shapes only) as a workload YAML written to `output` ('-': standard
    output); `precision` {'input', 'weight', 'output': bits} of every layer; `weights`: also write the
    initializers and the activation ranges (calibrated on `dataset` when the model carries none) into an
    .npz that the workload names.  Both files or none are written."""
    from tlm.config.yamlemit import yaml_comment, yaml_flow
    from tlm.config.yamlio import atomic_write, atomic_write_all
    from tlm.onnxio.graph import onnx_to_yaml, parse_yaml
    prec = dict(precision or {})
    for key, v in prec.items():
        if not 1 <= v <= 64:
            raise InputError(f"expected 1 to 64 bits, found {v}", Where("tlm import (command line)"),
                             f"--precision-{key}")
    text = onnx_to_yaml(str(model), prec)
    wl = parse_yaml(text, str(model))  # what we write must load: check before writing
    if wl.extra.get("weights") is not None:  # a header line cannot add a key (tlm/config/yamlemit.py yaml_comment)
        raise RuntimeError("tlm import wrote a weights: key of the model's choosing")
    out = Path(output)
    if weights is None:
        atomic_write(out, text)
        return Imported(wl, text, out)
    if str(weights) == "-" or "\x00" in str(weights):
        raise InputError("expected a file name for the .npz (binary; not standard output)",
                         Where("tlm import (command line)"), "--weights")
    from tlm.onnxio.weights import weights_npz
    from tlm.services.accuracy import calibration_images as images
    rel = os.path.relpath(Path(weights).resolve(), out.resolve().parent)
    data, note = weights_npz(str(model), wl, lambda: images(wl, dataset, calibration_images))
    text += f"weights: {yaml_flow(rel)}  {yaml_comment(note)}\n"  # through the emitter, never pasted
    got = parse_yaml(text, str(model)).extra.get("weights")
    if got != rel:  # it loads and names only the weights file given: checked before any file is replaced
        raise RuntimeError(f"tlm import wrote weights: {got!r}, expected {rel!r}")
    atomic_write_all([(Path(weights), data), (out, text)])  # both files or none
    return Imported(wl, text, out, Path(weights))


def validate(arch=None, workload=None, *, overrides=None):
    """`tlm validate`: (arch, workload or None) loaded and checked without simulating -- the schema, the
    workload against the architecture, the plan's limits and the mapping policy's feasibility (what the
    engines would refuse); an InputError names the file, line and field."""
    from tlm.api._load import apply_overrides, load_arch, load_workload
    a = load_arch(arch)
    wl = load_workload(workload, a) if workload is not None else None
    if overrides:  # (loading a file alone imports neither numpy nor the engines)
        a, wl = apply_overrides(a, wl, overrides)
    if wl is not None:
        from tlm.mapping.plan import build_plan
        build_plan(a, wl, policy="sequential" if a.mapping.policy == "auto" else None)
    return a, wl


def schema(kind: str = "arch") -> dict:
    """`tlm schema`: the JSON Schema of the architecture ('arch') or workload ('workload') file format,
    from the schema that validates them (tlm/config/json_schema.py)."""
    from tlm.config.json_schema import SCHEMAS
    if kind not in SCHEMAS:
        raise InputError(f"unknown format '{kind}', expected one of {', '.join(SCHEMAS)}", Where("<command line>"),
                         "kind")
    return SCHEMAS[kind]()
