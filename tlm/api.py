"""The public Python API of imagine-tlm (placeholder; filled in below)."""
from __future__ import annotations

from tlm import __version__
from tlm.functional.threads import set_blas_threads

__all__ = ["__version__", "set_blas_threads"]
