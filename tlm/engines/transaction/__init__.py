"""The transaction-level engine (SimPy processes per hardware block).  See DESIGN.md §4 and
docs/tlm-engine.md.  Entry point: `tlm.engines.transaction.system.simulate(arch, wl) -> tlm.engines.result.Result`."""
