"""imagine-tlm: a transaction-level and analytic simulator of charge-domain CIM CNN accelerators.

The public Python API is tlm/api/, re-exported here lazily (`tlm.simulate`, `tlm.load_arch`, ...):
`import tlm` imports nothing heavy and changes nothing global (no environment variable; BLAS threads are
limited around the project's own kernels, tlm/functional/threads.py, or by `tlm.set_blas_threads(n)`).
"""
from tlm._version import __version__  # noqa: F401 (public)


def __getattr__(name):
    """The public API (tlm/api/), imported when first used: `import tlm` stays cheap."""
    import importlib
    api = importlib.import_module("tlm.api")
    if name in api.__all__:
        return getattr(api, name)
    raise AttributeError(f"module 'tlm' has no attribute {name!r}")


def __dir__():
    import importlib
    api = importlib.import_module("tlm.api")
    return sorted(set(globals()) | set(api.__all__))
