"""The transaction-level engine (SimPy processes per hardware block).  See DESIGN.md §4."""
