"""The transaction-level engine (SimPy processes per hardware block).  See docs/tlm-engine.md and
docs/architecture.md, "One COMPUTE transaction, from the YAML to the energy table".  Entry point: `tlm.engines.transaction.system.simulate(arch, wl) -> tlm.engines.result.Result`."""
