"""Start-up: the whole process `tlm simulate resnet8 -q` (interpreter, imports, the run), a fresh process
for every repeat.  Target (issue 25): its CPU time above its floor <= 40 ms (median).  The floor is
what the command cannot go below: a `python -c "import ..."` of exactly the modules the command loads
besides tlm's own (numpy, PyYAML, SimPy, and the standard modules they and tlm pull in), found by running
the command once and listing them (tlm.services.bench.command_modules).

    cd benchmarks && python -m pytest bench_startup.py

The measurement (tlm.services.bench.startup_cpu_ms): CPU time (user + system, from the children's
resource usage: the time spent waiting for a core does not count), command and floor interleaved with
their order alternating, 31 rounds after a warm-up that writes the .pyc files and the cache of parsed
YAML files (tlm/config/yamlcache.py, in the user's cache folder; TLM_CACHE_DIR='' measures without it),
as a user's earlier run leaves them; the figure is the median of the paired differences, so a drift of
the machine's load moves both sides of a pair.  Both run with one BLAS thread, as the `tlm` command
sets it: a floor importing numpy with the default thread count spins idle OpenBLAS threads and used to
come out above the command (-71 ms).  extra_info holds the
medians, the differences' quartiles, the wall medians and the floor's modules.
"""
from pathlib import Path

from tlm.services.bench import startup_cpu_ms

ROOT = Path(__file__).resolve().parent.parent
TARGET_ABOVE_FLOOR_CPU_MS = 40.0
REPEATS = 31
ARGV = ["simulate", "resnet8", "-q"]


def test_simulate_quiet_whole_process(benchmark):
    box = {}

    def once():
        box.update(startup_cpu_ms(ARGV, repeats=REPEATS))

    benchmark.pedantic(once, rounds=1, iterations=1)
    r = box
    benchmark.extra_info["argv"] = "python -m tlm " + " ".join(ARGV)
    benchmark.extra_info["floor_modules"] = r["floor_modules"]
    for k in ("command_cpu_ms", "floor_cpu_ms", "above_floor_cpu_ms", "command_wall_ms", "floor_wall_ms"):
        benchmark.extra_info[k] = round(r[k], 1)
    benchmark.extra_info["above_floor_iqr_ms"] = [round(x, 1) for x in r["above_floor_iqr_ms"]]
    benchmark.extra_info["repeats"] = REPEATS
    # (names the previous figures had: docs generators read them)
    benchmark.extra_info["command_wall_median_ms"] = benchmark.extra_info["command_wall_ms"]
    assert r["above_floor_cpu_ms"] <= TARGET_ABOVE_FLOOR_CPU_MS, benchmark.extra_info
