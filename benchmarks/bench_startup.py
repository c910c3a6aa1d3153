"""Start-up: the whole process `tlm simulate resnet8 -q` (interpreter, imports, the run), a fresh process
for every repeat, median of the repeats: target 100 ms.

    cd benchmarks && python -m pytest bench_startup.py

The .pyc files are written by a warm-up run first (an installed package has them; a checkout run with
PYTHONDONTWRITEBYTECODE would compile every module on every start).  For context, extra_info also holds
the median of the floor this command cannot go below -- an interpreter importing only numpy, PyYAML and
SimPy, which the default (SimPy) engine needs -- and of a bare `python -c pass`, measured the same way
on the same machine: on a machine shared with other jobs all three grow together.
"""
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_S = 0.100
REPEATS = 15
COMMAND = ["-m", "tlm", "simulate", "resnet8", "-q"]


def _env():
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(ROOT)
    return env


def _median_s(args, repeats=REPEATS):
    env = _env()
    subprocess.run([sys.executable, *args], env=env, check=True, capture_output=True)  # warm-up, .pyc
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, *args], env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def test_simulate_quiet_whole_process(benchmark):
    env = _env()
    subprocess.run([sys.executable, *COMMAND], env=env, check=True, capture_output=True)  # warm-up, .pyc

    def once():
        subprocess.run([sys.executable, *COMMAND], env=env, check=True, capture_output=True)

    benchmark.pedantic(once, rounds=REPEATS, iterations=1)
    median = benchmark.stats.stats.median
    benchmark.extra_info["command"] = "python " + " ".join(COMMAND)
    benchmark.extra_info["median_ms"] = median * 1e3
    benchmark.extra_info["floor_numpy_yaml_simpy_median_ms"] = _median_s(["-c", "import numpy, yaml, simpy"]) * 1e3
    benchmark.extra_info["bare_python_median_ms"] = _median_s(["-c", "pass"]) * 1e3
    assert median <= TARGET_S, f"median {median * 1e3:.1f} ms > {TARGET_S * 1e3:.0f} ms ({benchmark.extra_info})"
