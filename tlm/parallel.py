"""Run a function over chunks of work in this process, on local processes or on a Dask cluster,
yielding each chunk's result as soon as it finishes (completion order, not submission order).

`fn(shared, chunk)` must be a module-level function and `shared` and every chunk picklable: processes
get them pickled with every chunk, a Dask cluster gets `shared` once (scattered to every worker).
Only a bounded number of chunks is in flight at a time, so an interruption loses little work.
"""
from __future__ import annotations

import itertools

from .errors import InputError, Where


def dask_client(address: str):
    """A client of the Dask scheduler at `address` (the optional extra `dask`)."""
    try:
        from dask.distributed import Client
    except ImportError:
        from .extras import install_hint
        raise InputError(f"needs the optional extra 'dask': {install_hint('dask')}", Where("--dask")) from None
    try:
        return Client(address, timeout="10s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as e:
        raise InputError(f"cannot connect to the Dask scheduler at '{address}': {e}", Where("--dask")) from None


def parallelism(workers: int = 1, client=None) -> int:
    """How many chunks can run at once."""
    if client is not None:
        return max(1, sum(client.nthreads().values()))
    return max(1, workers)


def map_unordered(fn, shared, chunks, *, workers: int = 1, client=None):
    """Yield `fn(shared, chunk)` for every chunk as each finishes.  With a Dask `client` on its
    cluster; else with `workers` > 1 on that many local processes; else here, in order."""
    if client is not None:
        yield from _dask(fn, shared, chunks, client)
    elif workers > 1 and len(chunks) > 1:
        yield from _processes(fn, shared, chunks, workers)
    else:
        for c in chunks:
            yield fn(shared, c)


def _processes(fn, shared, chunks, workers):
    import concurrent.futures as cf
    import multiprocessing as mp
    # spawn, not fork: the parent runs a progress-bar thread, and forking a threaded process can deadlock
    pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"))
    pending = set()
    it = iter(chunks)
    try:
        while True:
            for c in itertools.islice(it, 2 * workers - len(pending)):
                pending.add(pool.submit(fn, shared, c))
            if not pending:
                return
            done, pending = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
            for f in done:
                yield f.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _dask(fn, shared, chunks, client):
    from dask.distributed import as_completed
    ac = None
    try:
        remote = client.scatter(shared, broadcast=True)
        it = iter(chunks)
        ac = as_completed(loop=client.loop)  # this client's loop: it is not the default client
        for c in itertools.islice(it, 2 * parallelism(client=client)):  # every thread busy, no more
            ac.add(client.submit(fn, remote, c, pure=False))
        for f in ac:
            yield f.result()
            c = next(it, None)
            if c is not None:
                ac.add(client.submit(fn, remote, c, pure=False))
    finally:
        if ac is not None and ac.futures:
            client.cancel(list(ac.futures))
