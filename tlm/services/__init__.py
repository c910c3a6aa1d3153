"""Services above the engines: sweeps, benchmarks, accuracy, published-chip validation, calibration, parallel execution."""
