"""imagine-tlm: a transaction-level and analytic simulator of charge-domain CIM CNN accelerators."""
import os as _os

# One BLAS thread is fastest for our matmuls on small machines (docs/architecture.md, "Threads"); the user
# overrides it by setting the variables before starting tlm.
for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    _os.environ.setdefault(_v, "1")

__version__ = "0.1.0"
