"""How many BLAS threads the project's own numpy kernels use (the functional model's bit-plane matmuls).

One BLAS thread is faster than two for these matmuls on small machines (benchmarks/bench_functional.py
measures the kernel against a float32 matmul on one thread).  Nothing is set at `import tlm`: the limit
is applied only around the project's kernels (`blas_threads()`, a threadpoolctl limiter, a no-op when
threadpoolctl is not installed), or process-wide by an explicit `tlm.set_blas_threads(n)`; the `tlm`
command sets the environment variables at its start, before numpy loads (tlm/cli/__init__.py).

A user who sets OPENBLAS_NUM_THREADS, OMP_NUM_THREADS or MKL_NUM_THREADS keeps that number: the limiter
then leaves the pools alone.
"""
from __future__ import annotations

import contextlib
import os

THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
DEFAULT_BLAS_THREADS = 1  # why: the module docstring


def user_set() -> bool:
    """Whether the user chose a thread count through one of the environment variables."""
    return any(os.environ.get(v) for v in THREAD_VARIABLES)


def blas_threads(n: int | None = None):
    """A context manager limiting the BLAS pools to `n` threads (default: one, unless the user set a
    count in the environment); a no-op without threadpoolctl."""
    if n is None and user_set():
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # an optional speed-up: without it numpy's own default applies
        return contextlib.nullcontext()
    return threadpool_limits(limits=n or DEFAULT_BLAS_THREADS, user_api="blas")


def set_blas_threads(n: int) -> None:
    """Process-wide: BLAS pools already loaded get `n` threads (with threadpoolctl), and the environment
    variables are set so that numpy loaded later and worker processes started later use `n` too."""
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"expected a whole number of threads >= 1, found {n!r}")
    for v in THREAD_VARIABLES:
        os.environ[v] = str(n)
    with contextlib.suppress(ImportError):
        from threadpoolctl import threadpool_limits
        threadpool_limits(limits=n, user_api="blas")


def cli_defaults() -> None:
    """At the start of the `tlm` command, before numpy is imported: one BLAS thread unless the user set
    a count (the command's behaviour since the first release; README "Threads")."""
    for v in THREAD_VARIABLES:
        os.environ.setdefault(v, str(DEFAULT_BLAS_THREADS))
