"""Run a function over chunks of work in this process, on local processes or on a Dask cluster,
yielding each chunk's result as soon as it finishes (completion order, not submission order).

`fn(shared, chunk)` must be a module-level function and `shared` and every chunk picklable: processes
get them pickled with every chunk, a Dask cluster gets `shared` once (scattered to every worker).
Only a bounded number of chunks is in flight at a time, so an interruption loses little work.

Local worker processes die with their parent, however it ends: on Linux the kernel sends them SIGKILL
when it dies (prctl PR_SET_PDEATHSIG), and everywhere a watchdog thread in each worker exits when its
parent process is gone (its parent PID changes); when the parent leaves the map early (an error, an
interruption) it terminates them.  With the workers gone, multiprocessing's resource tracker sees its
pipe close and exits too.  A lost Dask scheduler or worker is `WorkersLost`, not a traceback.
"""
from __future__ import annotations

import itertools
import os
import sys
import threading

from tlm.errors import InputError, Where

WATCHDOG_S = 0.25  # how often a worker checks that its parent is alive
MAX_WORKERS = 256  # local processes: each holds an interpreter (~60 MB); more than the cores only queue


class WorkersLost(Exception):
    """The Dask scheduler (or every worker) went away, or a local worker process died, while chunks
    were running."""


def dask_client(address: str):
    """A client of the Dask scheduler at `address` (the optional extra `dask`)."""
    try:
        from dask.distributed import Client
    except ImportError:
        from tlm.extras import install_hint
        raise InputError(f"needs the optional extra 'dask': {install_hint('dask')}", Where("--dask")) from None
    silence_dask_logs()  # (after the import: importing distributed sets its loggers' levels from its config)
    try:
        return Client(address, timeout="10s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as e:
        raise InputError(f"cannot connect to the Dask scheduler at '{address}': {e}", Where("--dask")) from None


def silence_dask_logs() -> None:
    """The Dask client's own logging off: a lost scheduler is reported by the sweep in one line, not also by
    distributed's reconnect errors and tracebacks (its loggers, and tornado's and asyncio's that it drives).
    Every existing logger of those families is set, since distributed's config gives children their own
    levels (distributed.client: warning)."""
    import logging
    families = ("distributed", "tornado", "asyncio")
    for name in [n for n in list(logging.root.manager.loggerDict) if n.split(".")[0] in families] + list(families):
        logging.getLogger(name).setLevel(logging.CRITICAL + 10)


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


def _set_parent_death_signal() -> None:
    """Linux: the kernel sends this process SIGKILL when its parent dies."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes
        import signal
        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):  # no libc with prctl: the watchdog alone
        pass


def _watch_parent(parent: int) -> None:
    import time
    while True:
        if os.getppid() != parent:
            os._exit(1)  # orphaned: nobody reads our results
        time.sleep(WATCHDOG_S)


def worker_init(parent: int) -> None:
    """Run in every local worker process at its start: die with the parent process `parent`."""
    _set_parent_death_signal()
    if os.getppid() != parent:  # the parent died before the death signal was armed
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True, name="tlm-parent-watchdog").start()


def _processes(fn, shared, chunks, workers):
    import concurrent.futures as cf
    import concurrent.futures.process  # noqa: F401 (cf.process.BrokenProcessPool)
    import multiprocessing as mp
    # spawn, not fork: the parent runs a progress-bar thread, and forking a threaded process can deadlock
    pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"),
                                  initializer=worker_init, initargs=(os.getpid(),))
    pending = set()
    it = iter(chunks)
    complete = False
    try:
        while True:
            for c in itertools.islice(it, 2 * workers - len(pending)):
                pending.add(pool.submit(fn, shared, c))
            if not pending:
                complete = True
                return
            done, pending = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
            for f in done:
                try:
                    r = f.result()
                except cf.process.BrokenProcessPool as e:  # a worker was killed (OOM killer, kill -9)
                    raise WorkersLost(str(e) or type(e).__name__) from None
                yield r
    finally:
        if not complete:  # an error or an interruption: the chunks still running are not wanted
            for p in list((getattr(pool, "_processes", None) or {}).values()):
                p.terminate()
        pool.shutdown(wait=True, cancel_futures=True)


def _lost_errors():
    import asyncio
    import concurrent.futures as cf
    errors = [OSError, TimeoutError, asyncio.CancelledError, cf.CancelledError]
    try:
        from distributed.comm.core import CommClosedError
        errors.append(CommClosedError)
    except ImportError:
        pass
    return tuple(errors)


def _dask(fn, shared, chunks, client):
    from dask.distributed import as_completed
    lost = _lost_errors()
    ac = None
    try:
        try:
            remote = client.scatter(shared, broadcast=True)
            it = iter(chunks)
            ac = as_completed(loop=client.loop)  # this client's loop: it is not the default client
            for c in itertools.islice(it, 2 * parallelism(client=client)):  # every thread busy, no more
                ac.add(client.submit(fn, remote, c, pure=False))
            for f in ac:
                try:
                    r = f.result()
                except Exception:
                    if f.status == "error":  # the task itself raised: a bug, not a lost cluster
                        raise
                    raise WorkersLost(f"task {f.status}") from None
                yield r
                c = next(it, None)
                if c is not None:
                    ac.add(client.submit(fn, remote, c, pure=False))
        except lost as e:
            raise WorkersLost(f"{type(e).__name__}: {e}" if str(e) else type(e).__name__) from None
    finally:
        if ac is not None and ac.futures:
            try:
                client.cancel(list(ac.futures))
            except Exception:  # the scheduler is gone: nothing left to cancel
                pass
