"""Evaluating design points: one engine run per point, turned into the result columns of its row.

`run_chunk(job, indices)` is a pure function of a picklable `Job` and the point numbers, so points run
in-process, on local processes or on Dask workers and give the same numbers.

Column names follow one rule for per-batch and per-inference quantities: a quantity that depends on the
batch says which it is (`energy_per_inference_pj`, `energy_per_batch_pj`, `latency_per_batch_ns`,
`cycles_per_batch`); rates (`inferences_per_s`, `tops`, `tops_per_w`) and shares do not depend on it.
"""
from __future__ import annotations

import threading

from tlm.errors import InputError
from tlm.config.overrides import format_cell
from tlm.engines.result import COMPONENTS, ROW_COLUMNS
from tlm.services.sweep.points import Job, PointBuilder

# result columns of every row, after the point number, the settings and the base fingerprint: the
# point's status, then the summary row of a run (tlm/engines/result.py, the same as `tlm simulate -o
# DIR`'s summary.csv: the policy run, the batch's and one image's latency, energies...)
TEXT_COLUMNS = ("status", "policy")
RESULT_COLUMNS = ("status", *ROW_COLUMNS)
OK = "ok"  # the status of a point that ran; else "infeasible: <why>" (bad for this point) or "error: <why>"
# what each result column is (its unit is in its name), for the docs; the same keys as ROW_COLUMNS (tested)
COLUMN_DOCS = {
    "status": "`ok`, or why the point has no numbers: `infeasible: ...` (the point's settings are refused, "
              "e.g. a resident policy on too few macros) or `error: ...` (the engine failed)",
    "policy": "the mapping policy run (the one `auto` chose, when the point asks for `auto`)",
    "batch": "images per run",
    "cycles_per_batch": "clock cycles of the whole run (`batch` images)",
    "latency_per_batch_ns": "time of the whole run (`batch` images)",
    "image_latency_ns": "time of one image from its input transfer to its result (the whole run when the "
                        "batch moves layer by layer)",
    "inferences_per_s": "throughput: images per second",
    "energy_per_inference_pj": "on-chip energy of one image (the run's on-chip energy / `batch`)",
    "energy_per_batch_pj": "on-chip energy of the whole run (`batch` images)",
    "tops": "achieved throughput (1 MAC = 2 ops)",
    "tops_per_w": "on-chip energy efficiency (raw ops: 2 per MAC at the layers' precisions)",
    "spatial_utilization": "MAC-weighted share of the array holding useful weights",
    "temporal_utilization": "cycle-weighted share of time the macros compute",
    "area_mm2": "macros with their ADCs + activation SRAM + controller (`tlm/hw/area.py`)",
    "tops_per_mm2": "area efficiency: achieved TOPS (raw ops) / `area_mm2`",
    **{f"energy_{c}_per_inference_pj": (f"energy of the {c} per image" if c != "external" else
                                        "off-chip (DRAM) energy per image, not in `energy_per_inference_pj`")
       for c in COMPONENTS},
}
# what each result column is measured in, for plot axes
COLUMN_UNITS = {
    "status": "", "policy": "",
    "batch": "images", "cycles_per_batch": "cycles", "latency_per_batch_ns": "ns", "image_latency_ns": "ns",
    "inferences_per_s": "1/s", "energy_per_inference_pj": "pJ", "energy_per_batch_pj": "pJ", "tops": "TOPS, raw ops",
    "tops_per_w": "TOPS/W, raw ops", "spatial_utilization": "", "temporal_utilization": "", "area_mm2": "mm2",
    "tops_per_mm2": "TOPS/mm2, raw ops", **{f"energy_{c}_per_inference_pj": "pJ" for c in COMPONENTS},
}


def result_row(result) -> dict:
    """The result columns of one run."""
    row = result.row()
    row["status"] = OK
    return row


def failed_cells(status: str) -> list:
    """The result cells of a point without numbers: its status, the others empty."""
    return [status] + [""] * (len(RESULT_COLUMNS) - 1)


def engines() -> dict:
    """The engine registry (tlm/engines/registry.py): name -> simulate(arch, workload, options) -> Result."""
    from tlm.engines.registry import ENGINES
    return ENGINES


_local = threading.local()  # per worker thread: (job token, PointBuilder, state of run_group)


def _cached(job: Job):
    cached = getattr(_local, "builder", None)
    if cached is None or cached[0] != job.token or not job.token:
        cached = (job.token, PointBuilder(job), {})
        _local.builder = cached
    return cached


def _builder(job: Job) -> PointBuilder:
    return _cached(job)[1]


def run_chunk(job: Job, indices) -> list:
    """Evaluate points; returns [(index, cells, error)]: `error` is None, or (message, file, field) of a
    point refused (InputError: status `infeasible: ...`) or failed (any other exception: `error: ...`),
    whose cells say so in the status column (the sweep goes on, or stops with --stop-on-error).
    The analytic engine evaluates the chunk's points of one workload together
    (tlm/engines/registry.run_group: points that differ only in energy fields share their plan and
    counts, their energies evaluated at once); every row is the one its own run gives."""
    builder = _builder(job)
    built = {}
    out = {}
    for i in indices:
        try:
            built[i] = builder.build(i)
        except Exception as e:  # noqa: BLE001
            out[i] = _failed(i, e)
    if job.engine == "analytic":
        results = _analytic_results(job, built)
    else:
        engine = engines()[job.engine]
        results = {}
        for i, (arch, wl) in built.items():
            try:
                results[i] = engine(arch, wl, job.engine_args)
            except Exception as e:  # noqa: BLE001
                results[i] = e
    for i, res in results.items():
        if isinstance(res, Exception):
            out[i] = _failed(i, res)
            continue
        try:
            row = result_row(res)
        except Exception as e:  # noqa: BLE001
            out[i] = _failed(i, e)
            continue
        out[i] = (i, [format_cell(row[c]) for c in RESULT_COLUMNS], None)
    return [out[i] for i in indices]


def _analytic_results(job: Job, built: dict) -> dict:
    from tlm.engines.registry import run_group
    d = getattr(job.engine_args, "input_density", None)
    by_wl = {}
    for i, (arch, wl) in built.items():
        by_wl.setdefault(id(wl), (wl, []))[1].append(i)
    results = {}
    for wl, idx in by_wl.values():
        got = run_group([built[i][0] for i in idx], wl, d, state=_cached(job)[2], brief=True)  # (rows only)
        results.update(zip(idx, got))
    return results


def _failed(i, e):
    """The row of a point refused (InputError: `infeasible: ...`, sent back as fields: the exception does
    not pickle with them) or failed (`error: ...`)."""
    if isinstance(e, InputError):
        why = e.message + (f" ({e.field})" if e.field and e.field not in e.message else "")
        return (i, failed_cells(f"infeasible: {why}"), (e.message, e.where.file, e.field))
    why = f"{type(e).__name__}: {e}"
    return (i, failed_cells(f"error: {why}"), (why, "<engine>", None))
