"""The public Python API of imagine-tlm: what the `tlm` command does, as functions returning objects.

    import tlm
    arch = tlm.load_arch("imagine", overrides={"macro.count": 4})
    r = tlm.simulate(arch, "resnet8", engine="analytic")          # tlm.engines.result.Result
    r.summary()["tops_per_w"], r.energy_by_component_pj
    s = tlm.sweep("imagine", "resnet8", {"macro.count": [1, 2, 4], "precision.weight": range(1, 9)})
    s.table["energy_per_inference_pj"]                              # columns; s.frame() with pandas
    a = tlm.accuracy("imagine", "mnist_cnn", images=100)           # per-image outputs of every model
    p = tlm.paper("imagine")                                        # published figures vs the model

Layer: above the services and present (tlm/services, tlm/present), below the CLI, which calls these
functions and prints what they return (tlm/cli/commands/*).  What is public is `__all__`; the version
is `tlm.__version__`; anything else in the package may change without notice.

Architectures and workloads are given as an object (`Arch`, `Workload`), a file path, the name of a
shipped file (`imagine`, `published/jia_jssc2020`, `resnet8`), an ONNX model path (workloads; needs the
optional extra `onnx`), or a dict in the YAML format.  `overrides` are the `--set PATH=VALUE` paths of
the command line (`tlm sweep --list`; tlm/config/overrides.py) as a dict {path: value}, checked as there.
"""
from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tlm._version import __version__
from tlm.api._load import ArchLike, Overrides, WorkloadLike, _override_texts, _path_of, _prepared, apply_overrides, load_arch, load_workload
from tlm.errors import InputError, Where
from tlm.functional.threads import set_blas_threads

if TYPE_CHECKING:  # for the annotations only: nothing heavy at import
    from tlm.engines.result import Result
    from tlm.services.accuracy import FunctionalRun


__all__ = ["__version__", "load_arch", "load_workload", "apply_overrides", "engine_options", "simulate",
           "simulate_functional", "sweep", "accuracy", "paper", "chips", "frames", "figures", "set_blas_threads",
           "leave_one_out", "macro_areas", "bench", "calibrate", "calibrate_global", "import_onnx", "validate", "schema",
           "SweepResult", "AccuracyResult", "PaperResult", "BenchResult", "CalibrateResult", "GlobalFit", "Imported",
           "InputError", "ENGINES", "DEFAULT_ENGINE"]



# the result types and the file-level commands load when first asked (a `tlm simulate` never needs them)
_LAZY = {**dict.fromkeys(("BenchResult", "CalibrateResult", "GlobalFit", "Imported", "bench", "calibrate",
                          "calibrate_global", "import_onnx", "schema", "validate"), "_commands"),
         **dict.fromkeys(("AccuracyResult", "PaperResult", "SweepResult"), "_results"),
         "accuracy": "_accuracy"}
if TYPE_CHECKING:
    from tlm.api._accuracy import accuracy
    from tlm.api._commands import (BenchResult, CalibrateResult, GlobalFit, Imported, bench, calibrate,
                                   calibrate_global, import_onnx, schema, validate)
    from tlm.api._results import AccuracyResult, PaperResult, SweepResult


def __getattr__(name):
    """The lazily loaded names above (_LAZY); ENGINES (the engines' names) and DEFAULT_ENGINE, read from
    the registry (tlm/engines/registry.py) when first asked: loading files (`tlm validate`) never imports
    the engines or numpy."""
    if name in _LAZY:
        if _LAZY[name] == "_commands":
            from tlm.api import _commands as module
        elif _LAZY[name] == "_results":
            from tlm.api import _results as module
        else:
            from tlm.api import _accuracy as module
        value = getattr(module, name)
        globals()[name] = value
        return value
    if name not in ("ENGINES", "DEFAULT_ENGINE"):  # (asked for its submodules too: `from tlm.api import _x`)
        raise AttributeError(f"module 'tlm.api' has no attribute {name!r}")
    from tlm.engines import registry
    if name == "ENGINES":
        return tuple(sorted(registry.ENGINES))
    if name == "DEFAULT_ENGINE":
        return registry.DEFAULT_ENGINE
    raise AttributeError(f"module 'tlm.api' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))


# (loading, overrides: tlm/api/_load.py)
def _sweep_texts(settings) -> list[str]:
    """{path: values} (a list, a range, one value or a `1..8`-style text) as `--set PATH=VALUES` texts."""
    from tlm.config.overrides import format_cell
    if isinstance(settings, Mapping):
        out = []
        for path, vals in settings.items():
            if isinstance(vals, str):
                out.append(f"{path}={vals}")
            else:
                vals = vals if isinstance(vals, (list, tuple, range)) else [vals]
                out.append(f"{path}=" + ",".join(format_cell(v) for v in vals))
        return out
    return [str(t) for t in (settings or ())]


# ---- simulation -------------------------------------------------------------------------------------------
def engine_options(engine: str | None = None, *, quantum: int | None = None, contention: bool = True,
                   trace: str | os.PathLike | None = None, input_density=None, progress: bool = False):
    """The options object the engines read (tlm/engines/__init__.py): `tlm simulate`'s defaults, and
    what `tlm sweep` hands the engine for every point (engine None: the default)."""
    from tlm.engines.registry import DEFAULT_ENGINE
    return argparse.Namespace(engine=engine or DEFAULT_ENGINE, quantum=quantum, no_contention=not contention,
                              trace=None if trace is None else str(trace), input_density=input_density,
                              quiet=not progress)


def _checked_engine(engine, quantum, contention, trace):
    from tlm.engines.registry import ENGINES as registry
    if engine not in registry:
        raise InputError(f"unknown engine '{engine}', expected one of {', '.join(sorted(registry))}",
                         Where("<command line>"), "--engine")
    if engine != "tlm":
        for flag, given in (("--trace", trace), ("--quantum", quantum is not None),
                            ("--no-contention", not contention)):
            if given:
                raise InputError(f"{flag} applies to the tlm engine only (not --engine {engine})",
                                 Where("<command line>"), flag)
    return registry[engine]


def check_activity_data(dataset: str, wl) -> None:
    """`activity_from` measures bit densities on real images: only images the network takes.  Digits
    padded, cropped or repeated into another input (MNIST into a CIFAR network) would give densities of
    no real input and silently change the energy, so that is refused."""
    from tlm.functional.datasets import DATASETS, IMAGE_SHAPE
    if dataset not in DATASETS:
        return  # a user's .npz: its shape is checked where it is read (tlm/functional/datasets.py)
    shape = tuple(int(v) for v in wl.input_shape)
    if shape != IMAGE_SHAPE:
        raise InputError(f"{dataset} images are {'x'.join(map(str, IMAGE_SHAPE))} (CxHxW) but workload "
                         f"'{wl.name}' takes {'x'.join(map(str, shape))} inputs: its activity cannot be "
                         "measured on them", Where("<command line>"), "--activity-from")


def simulate(arch: ArchLike = None, workload: WorkloadLike = None, *, engine: str | None = None,
             overrides: Overrides = None, mapping: str | None = None, quantum: int | None = None,
             contention: bool = True, trace: str | os.PathLike | None = None, activity_from: str | None = None,
             progress: bool = False) -> Result:
    """`tlm simulate`: one run of `workload` on `arch` with an engine ('tlm': transaction-level, with
    contention, the default; 'analytic': vectorized, contention-free); returns the Result the command prints
    (cycles, energies by layer and event kind, block statistics; `.summary()`, `.to_json_dict()`).

    mapping: sequential, resident, pipelined, replicate or auto (default: the config's mapping.policy);
    quantum: tlm engine's temporal-decoupling quantum, cycles; contention=False: no queueing (tlm);
    trace: write a Perfetto trace there (tlm); activity_from: measure the input bit densities on a
    dataset (mnist5k, digits or an .npz) with the functional model, for the energy."""
    a, wl = _prepared(arch, workload, overrides, mapping)
    engine = engine or engine_options().engine
    run = _checked_engine(engine, quantum, contention, trace)
    density, note = None, None
    if activity_from:
        check_activity_data(activity_from, wl)
        from tlm.services.accuracy import activity_note
        density, note = activity_note(a, wl, activity_from)
    result = run(a, wl, engine_options(engine, quantum=quantum, contention=contention, trace=trace,
                                       input_density=density, progress=progress))
    if note:
        result.notes.append(note)
    texts = _override_texts(overrides)
    if texts:
        result.notes.append("changed by --set: " + ", ".join(texts))
    return result


def simulate_functional(arch: ArchLike = None, workload: WorkloadLike = None, *, dataset: str = "mnist5k",
                        images: int = 10, seed: int = 0, overrides: Overrides = None, mapping: str | None = None,
                        quantum: int | None = None, contention: bool = True, trace: str | os.PathLike | None = None,
                        progress: bool = False) -> FunctionalRun:
    """`tlm simulate --functional`: `images` test images of `dataset` through the tlm engine's blocks
    (DPs, noise, ABN, clipping); returns the run (`.result`: the Result; `.predictions`, `.labels`,
    `.accuracy`)."""
    a, wl = _prepared(arch, workload, overrides, mapping)
    _checked_engine("tlm", quantum, contention, trace)
    from tlm.services.accuracy import functional_run
    fun = functional_run(a, wl, wl.file, dataset, images, seed, quantum_cycles=quantum,
                         trace=None if trace is None else str(trace), contention=None if contention else False,
                         progress=progress)
    texts = _override_texts(overrides)
    if texts:
        fun.result.notes.append("changed by --set: " + ", ".join(texts))
    return fun


# ---- sweeps -------------------------------------------------------------------------------------------------
def sweep(arch: ArchLike = None, workload: WorkloadLike = None, settings: Mapping[str, Any] | Sequence[str] = (),
          *, engine: str = "analytic", out: str | os.PathLike | None = None, workers: int = 1,
          dask: str | None = None, resume: bool = False, stop_on_error: bool = False,
          on_progress: Callable[[int, int], None] | None = None) -> SweepResult:
    """`tlm sweep`: every combination of `settings` ({path: values}, the first path varying slowest;
    values a list, a range, or a text such as '1..8' or '1,2,4'), one row per design point.  Rows are
    written to `out` as points finish (a CSV; a temporary file when None); `on_progress(done, total)` is
    called as points finish; stop_on_error: the first infeasible point is an error (else its row says
    why in the status column)."""
    from tlm.services import sweep as S
    from tlm.services.parallel import MAX_WORKERS
    a = load_arch(arch)
    wl = load_workload(workload)  # checked against each point's architecture and precisions
    if not 1 <= workers <= MAX_WORKERS:
        raise InputError(f"expected 1 to {MAX_WORKERS} local processes, found {workers}", Where("--workers"))
    _checked_engine(engine, None, True, None)
    parsed = S.parse_settings(_sweep_texts(settings), a)
    job = S.Job(arch_dict=a.to_dict(), workload=wl, settings=tuple(parsed), engine=engine,
                engine_args=engine_options(engine))
    done = [0]

    def advance(n):
        done[0] += n
        if on_progress:
            on_progress(done[0], job.n_points)

    if out is None:
        import tempfile
        with tempfile.TemporaryDirectory(prefix="tlm-sweep-") as tmp:
            text, kept = S.run_sweep(job, Path(tmp) / "sweep.csv", workers=workers, dask=dask, advance=advance,
                                     stop_on_error=stop_on_error)
    else:
        from tlm.present.outputs import require_regular_file
        require_regular_file(Path(out), "-o", "rows are appended as points finish, and --resume reads them back",
                             "sweep")
        text, kept = S.run_sweep(job, Path(out), workers=workers, dask=dask, resume=resume, advance=advance,
                                 stop_on_error=stop_on_error)
    from tlm.api._results import SweepResult
    return SweepResult(text, [s.path for s in parsed], job.n_points, kept, None if out is None else Path(out))


# ---- accuracy, papers --------------------------------------------------------------------------------------
# accuracy: its own module, tlm/api/_accuracy.py (loaded when first asked: _LAZY)


def paper(arch: ArchLike = None, *, overrides: Overrides = None, sensitivity: bool = False) -> PaperResult:
    """`tlm paper`: a design's published figures next to the model's (its own `published:` section, else
    IMAGINE's, and always IMAGINE's for an Arch object or a dict), the macro's peak per precision, the
    system-level reference run with its controller energy by component (`overhead`); `sensitivity`: also
    how +10% on each fitted parameter moves the figures and ResNet-8's energy breakdown."""
    from tlm.config.arch import load_with_published
    from tlm.config.paths import DEFAULT_ARCH
    from tlm.services import paper as P
    from tlm.config.arch import Arch
    if isinstance(arch, (Arch, Mapping)):  # no file: compared with IMAGINE's figures
        a, pub, path = load_arch(arch), None, "<architecture>"
    else:
        path = _path_of(arch, "configs", DEFAULT_ARCH)
        a, pub = load_with_published(path)
    figs = pub.figures if pub is not None else None
    P.check_runnable(a, str(path), figs)
    a, _ = apply_overrides(a, None, overrides)
    rows = P.comparison(a, figs)
    points = P.sweep(a)
    sys_figs = [f for f in (figs or P.imagine_published().figures) if f.metric == "system_energy_efficiency"]
    ref = overhead = None
    if sys_figs:
        from tlm.services import calibrate as C
        f = sys_figs[0]
        ref = P.reference_run(P.at_conditions(a, f), f.input_bits, f.weight_bits, f.output_bits)
        parts = C.overhead_breakdown(a, ref.workload)
        peak = [g for g in (figs or P.imagine_published().figures) if g.metric == "energy_efficiency"
                and g.input_bits == f.input_bits and g.weight_bits == f.weight_bits]
        overhead = {"parts_pj": parts, "macro_peak": peak[0] if peak else None,
                    "gap": C.overhead_gap(a, ref, peak[0].value, parts) if peak else None}
    sens = None
    if sensitivity:
        from tlm.services import calibrate as C
        sens = C.sensitivity(a, pub=pub, file=str(path))
    from tlm.api._results import PaperResult
    return PaperResult(a, pub, rows, points, ref, sys_figs[0] if sys_figs else None, overhead, sens)


def frames(result) -> dict:
    """A simulation's tables as pandas data frames (the optional extra `frames`): summary, layers, energy
    (per layer, component and event kind) and blocks, the rows of the CSV files `tlm simulate --csv`
    writes; or, given `chips()`'s list, {'chips': every design's figures} (tlm/present/frames.py).  A
    sweep, an accuracy run and a paper comparison have their own `.frame()`."""
    from tlm.present import frames as F
    if isinstance(result, list):
        return {"chips": F.chips_frame(result)}
    return F.frames(result)


def figures(result: Result | SweepResult, x: str | None = None, y: str | None = None) -> dict:
    """The plots of a simulation (`run_energy`, and `mapping` for a run on several macros) or of a sweep
    (`sweep_energy`, `sweep_efficiency`, `sweep_pareto`, `sweep_latency`, and `y` against `x` when
    given) as {name: matplotlib Figure}, not written (the `--plot` options write the same figures)."""
    from tlm.api._results import SweepResult
    from tlm.present import plots
    if isinstance(result, SweepResult):
        return plots.sweep_figures(result.table, result.paths, x, y)
    from tlm.present.plots_mapping import mapping_figure
    out = {"run_energy": plots.run_figure(result)}
    m = mapping_figure(result)
    return {**out, "mapping": m} if m is not None else out


def leave_one_out() -> dict:
    """`tlm chips --loo`: every derived design's figures {design: [(figure, model, error)]} with the
    shipped global constants (`in_sample`) and with constants fitted without that design (`left_out`),
    and over each set the worst and median errors (`summary`: {'in-sample', 'left out'}, as
    tlm.services.globalfit.summary)."""
    from tlm.services import chips as C
    from tlm.services import globalfit
    ds = globalfit.derived_designs()
    ins = {d.name: r for d, r in zip(ds, C.in_sample_rows(ds))}
    out = {n: rows for n, (_, rows) in globalfit.leave_one_out(ds).items()}
    summary = {label: globalfit.summary([r for rs in rows.values() for r in rs])
               for label, rows in (("in-sample", ins), ("left out", out))}
    return {"in_sample": ins, "left_out": out, "summary": summary}


def macro_areas() -> list:
    """The macro area of every shipped published design by part, mm2 (what `tlm chips` prints after the
    designs): (design, cells, periphery, DACs, ADCs, one ADC in um2, macro) (tlm/hw/area.py)."""
    from tlm.services import chips as C
    return C.area_rows()


def chips(files: Sequence[str | os.PathLike] | None = None) -> list:
    """`tlm chips`: every shipped published design (or the architecture `files` with a `published:`
    section) against its own paper (tlm.services.chips.Design: `.rows` of figure, model value and error;
    `.fitted`)."""
    from tlm.services import chips as C
    return C.designs_of(list(files)) if files else C.all_designs()
