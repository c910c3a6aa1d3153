"""Start-up: the whole process `tlm simulate resnet8 -q` (interpreter, imports, the run), a fresh process
for every repeat.  Target (issue 25): its median CPU time minus the median CPU time of the floor it cannot
go below -- an interpreter importing only numpy, PyYAML and SimPy, which the default engine needs --,
measured the same way in the same run, <= 40 ms.

    cd benchmarks && python -m pytest bench_startup.py

The .pyc files are written by a warm-up run first (an installed package has them; a checkout run with
PYTHONDONTWRITEBYTECODE would compile every module on every start).  CPU time (user + system of the child)
does not count the time spent waiting for a core; extra_info also holds the wall medians and a bare
`python -c pass`.
"""
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_ABOVE_FLOOR_CPU_S = 0.040
REPEATS = 15
COMMAND = ["-m", "tlm", "simulate", "resnet8", "-q"]


def _env():
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(ROOT)
    return env


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _median_s(args, repeats=REPEATS):
    """(median wall, median CPU user+sys) seconds of `python ARGS` over fresh processes.  The CPU time
    does not count the time spent waiting for a core, so it varies less on a loaded machine."""
    env = _env()
    subprocess.run([sys.executable, *args], env=env, check=True, capture_output=True)  # warm-up, .pyc
    wall, cpu = [], []
    for _ in range(repeats):
        c0, t0 = _cpu_s(), time.perf_counter()
        subprocess.run([sys.executable, *args], env=env, check=True, capture_output=True)
        wall.append(time.perf_counter() - t0)
        cpu.append(_cpu_s() - c0)
    return statistics.median(wall), statistics.median(cpu)


def test_simulate_quiet_whole_process(benchmark):
    env = _env()
    subprocess.run([sys.executable, *COMMAND], env=env, check=True, capture_output=True)  # warm-up, .pyc

    def once():
        subprocess.run([sys.executable, *COMMAND], env=env, check=True, capture_output=True)

    benchmark.pedantic(once, rounds=REPEATS, iterations=1)
    median = benchmark.stats.stats.median
    benchmark.extra_info["argv"] = "python " + " ".join(COMMAND)
    benchmark.extra_info["median_ms"] = median * 1e3
    for key, args in (("command", COMMAND), ("floor_numpy_yaml_simpy", ["-c", "import numpy, yaml, simpy"]),
                      ("bare_python", ["-c", "pass"])):
        wall, cpu = _median_s(args)
        benchmark.extra_info[f"{key}_wall_median_ms"] = round(wall * 1e3, 1)
        benchmark.extra_info[f"{key}_cpu_median_ms"] = round(cpu * 1e3, 1)
    above = (benchmark.extra_info["command_cpu_median_ms"] - benchmark.extra_info["floor_numpy_yaml_simpy_cpu_median_ms"])
    benchmark.extra_info["above_floor_cpu_ms"] = round(above, 1)
    assert above <= TARGET_ABOVE_FLOOR_CPU_S * 1e3, benchmark.extra_info
