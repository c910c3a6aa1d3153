"""Design-space sweeps: the cartesian product of settings, one result row per design point.

One module per concern:

- tlm/config/overrides.py (core): the paths and values of `--set PATH=VALUES`, shared with the one-run commands.
- points.py: `Job` numbers the design points (the first `--set` varies slowest); `PointBuilder` builds
  one point's architecture and workload, validated as the YAML files are.
- evaluate.py: `run_chunk` evaluates points with an engine; `RESULT_COLUMNS`, the columns of a row.
- store.py: the results CSV: whole rows appended as points finish, read back by `--resume`, rewritten
  in point order at the end.
- pareto.py: Pareto fronts (per batch size) and the best points for an objective.
- runner.py: `run_sweep`, in-process, on local processes or on Dask (tlm/services/parallel.py).

This package is a service: it imports the core and the engines (tlm/engines/registry.py), never the CLI.
"""
from __future__ import annotations

from tlm.errors import InputError, Where  # noqa: F401
from tlm.config.overrides import ALIASES, MAX_POINTS, MAX_RANGE, PRECISION_PATHS, WORKLOAD_PATHS, Setting, arch_leaves, canonical_path, format_cell, parse_setting, parse_settings, parse_value, parse_values, with_arch_values, with_precision, workload_values
from tlm.services.sweep.evaluate import COLUMN_UNITS, RESULT_COLUMNS, result_row, run_chunk  # noqa: F401
from tlm.services.sweep.pareto import OBJECTIVES, best, pareto_by_batch, pareto_front  # noqa: F401
from tlm.services.sweep.points import Job, PointBuilder  # noqa: F401
from tlm.services.sweep.runner import chunk_size, run_sweep  # noqa: F401
from tlm.services.sweep.store import MAX_RESULTS_BYTES, RowWriter, csv_line, fingerprint, header, read_finished, read_table, setting_cells
