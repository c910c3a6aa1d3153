"""The engines layer (below the services and the CLI): the analytic engine (analytic.py), the
transaction-level engine (transaction/), their common Result (result.py) and the registry that resolves
`mapping.policy: auto` once and runs either (registry.py).  This file imports nothing: importing an
engine module never reaches another engine."""
