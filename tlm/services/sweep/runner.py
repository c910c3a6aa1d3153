"""Running a sweep: the points not yet in the results file, in chunks, here, on local processes or on
a Dask cluster (tlm/services/parallel.py), each row written as its point finishes."""
from __future__ import annotations

import contextlib
import dataclasses
import gc
import math

from tlm.errors import InputError, Where
from tlm.services.sweep.evaluate import run_chunk
from tlm.services.sweep.points import Job
from tlm.services.sweep.store import RowWriter, fingerprint, read_finished


def _stop(job, i, err):
    """--stop-on-error: the first point without numbers ends the sweep, named with its settings."""
    message, file, field = err
    if str(file).startswith("--set point"):  # the point's settings refused: its Where names it
        raise InputError(message, Where(file), field)
    raise InputError(f"point {i} ({job.label(i)}): {message}", Where(file), field)


def _chunks(indices, size):
    return [indices[k:k + size] for k in range(0, len(indices), size)]


IN_PROCESS_CHUNK = 200  # analytic points evaluated together in this process (tlm/engines/registry.run_group:
# points that differ only in energy fields share a plan), at most a 20th of the sweep: rows are written
# as their chunk finishes, so an interruption keeps nearly every finished point


def in_process_chunk(job: Job, n_todo: int) -> int:
    """Points per chunk of an in-process analytic sweep of `n_todo` points: a 20th of them, at most
    IN_PROCESS_CHUNK, rounded down to whole structures where one fits (a structure: the points that differ in
    timing settings only, next to each other in `structure_first` order), so that registry.run_group times
    each structure's streamed schedules in one call (tlm/engines/pretime.py), not split between two."""
    from tlm.engines.registry import TIMING_SETTINGS
    size = max(1, min(IN_PROCESS_CHUNK, n_todo // 20))
    s = math.prod(len(x.values) for x in job.settings if x.path in TIMING_SETTINGS)
    return size // s * s if 1 < s <= size else size


def chunk_size(job: Job, n_todo: int, parallel: int) -> int:
    """Points per task: one for slow engines; for the analytic one (about a millisecond per point)
    enough to hide the task overhead while keeping every worker busy."""
    if job.engine != "analytic":
        return 1
    return max(1, min(64, -(-n_todo // (8 * max(parallel, 1)))))


def structure_first(job: Job, todo: list) -> list:
    """The points `todo` in the order an in-process analytic sweep evaluates them: product order with the
    timing settings (tlm/engines/registry.TIMING_SETTINGS: cycles of the jobs only) varying fastest, so
    that a chunk holds every point of a structure -- the points that differ in those alone -- together
    (registry.run_group times them at once).  The rows are written in point order all the same."""
    from tlm.engines.registry import TIMING_SETTINGS
    n = len(job.settings)
    tim = [k for k, s in enumerate(job.settings) if s.path in TIMING_SETTINGS]
    if tim == list(range(n - len(tim), n)):
        return todo  # (already the product order: no timing setting, or only the last ones)
    order = [k for k in range(n) if k not in tim] + tim
    sizes = [len(s.values) for s in job.settings]

    def key(i):
        digits = [0] * n
        for k in range(n - 1, -1, -1):
            i, digits[k] = divmod(i, sizes[k])
        return [digits[k] for k in order]
    return sorted(todo, key=key)


def prepared(job: Job) -> Job:
    """The job with its cache token and base fingerprint set."""
    if job.token and job.base:
        return job
    import uuid
    return dataclasses.replace(job, token=job.token or uuid.uuid4().hex, base=job.base or fingerprint(job))


def run_sweep(job: Job, out_path, *, workers: int = 1, dask: str | None = None, resume: bool = False,
              advance=None, stop_on_error: bool = False) -> tuple[str, int]:
    """Evaluate every point of `job` not already in `out_path` (with `resume`), writing rows as they
    finish; returns (final CSV text, number of points kept from the file).  `advance(n)` is called as
    n more points are done.  A point the engine refuses or fails on is a row with its reason in the
    `status` column, and the sweep goes on; with `stop_on_error` it is an InputError naming the point
    (its row written first).  In this process unless `workers` > 1 or a Dask scheduler address is given.

    A lost Dask scheduler or workers, or a local worker process that dies, is an InputError (the
    address, the finished rows kept and a hint to resume); so is a disk that fills up
    (tlm/services/sweep/store.py)."""
    from pathlib import Path

    from tlm.services.parallel import dask_client, parallelism
    job = prepared(job)
    finished = read_finished(out_path, job) if resume and Path(out_path).exists() else {}
    todo = [i for i in range(job.n_points) if i not in finished]
    if advance:
        advance(len(finished))
    client = dask_client(dask) if dask else None  # connect before touching the results file
    try:
        parallel = parallelism(workers, client)
        with _fewer_full_passes(client is None):
            return _run(job, out_path, todo, finished, workers, client, parallel, dask, advance, stop_on_error)
    finally:
        if client is not None:
            _close_quietly(client)


# Passes of the collector over its middle generation per pass over every object (its third threshold, 10 by
# default) while a sweep's points run in this process (`_fewer_full_passes`)
FULL_PASS_EVERY = 100


@contextlib.contextmanager
def _fewer_full_passes(here):
    """While a sweep's points run in this process (`here`: no Dask cluster): the collector's full passes --
    over every object alive, the caller's too (a notebook's, a test runner's) and what the sweep keeps between
    its points (plans, schedules, assignments of a structure) -- made at most a tenth as often
    (gc.set_threshold's third value raised to FULL_PASS_EVERY), and the thresholds put back after.  A point
    allocates many small containers, auto's more than a pinned policy's; the younger generations are
    collected as before, and a cycle the points leave is collected all the same, later.  Measured
    (benchmarks/bench_sweep.py's grids, alternating runs): auto's CPU time 2-8% lower, pinned sequential's
    unchanged within the noise.  Untouched when the caller set a third threshold as high or turned the
    collector off (a first threshold of 0)."""
    th = gc.get_threshold()
    if not here or th[2] >= FULL_PASS_EVERY or th[0] == 0:  # (a caller's own, or the collector off: theirs)
        yield
        return
    gc.set_threshold(th[0], th[1], FULL_PASS_EVERY)
    try:
        yield
    finally:
        gc.set_threshold(*th)


def _run(job, out_path, todo, finished, workers, client, parallel, dask, advance, stop_on_error):
    """run_sweep's evaluation of the points `todo` (`finished`: the rows kept from the file)."""
    from tlm.services.parallel import WorkersLost, map_unordered
    here = parallel == 1 and client is None
    if not here:
        chunks = _chunks(todo, chunk_size(job, len(todo), parallel))
    elif job.engine == "analytic":
        chunks = _chunks(structure_first(job, todo), in_process_chunk(job, len(todo)))
    else:
        chunks = _chunks(todo, 1)
    writer = RowWriter(out_path, job, finished)
    stream = map_unordered(run_chunk, job, chunks, workers=workers, client=client)
    try:
        for pairs in stream:
            for i, cells, err in pairs:
                writer.add(i, cells)
                if err is not None and stop_on_error:
                    _stop(job, i, err)
            if advance:
                advance(len(pairs))
    except WorkersLost as e:
        what = (f"lost the Dask scheduler or its workers at {dask}" if client is not None else
                "a local worker process died (killed, or out of memory?)")
        raise InputError(f"{what} ({e}); {len(writer.rows)} of {job.n_points} points are in {out_path}: "
                         "run again with --resume to finish", Where("--dask" if client is not None
                                                                      else "--workers")) from None
    finally:
        stream.close()  # stops the workers now, not when the generator is collected
        writer.close()
    return writer.finish(), len(finished)


def _close_quietly(client):
    """Close a Dask client; one whose scheduler is gone may fail to close, which is moot."""
    with contextlib.suppress(Exception):
        client.close(timeout=2)
