"""Configuration: the schema of typed parameters, YAML in and out, the architecture, the workload, `--set` overrides and where shipped files live."""
