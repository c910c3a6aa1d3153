"""The version of imagine-tlm (core: every layer may read it; `tlm.__version__` re-exports it)."""
__version__ = "0.1.0"
