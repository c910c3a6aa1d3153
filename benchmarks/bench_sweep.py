"""A 1,000-point analytic sweep of the default workload (ResNet-8 on the shipped IMAGINE config),
in-process, written to a CSV: target under 5 s.

    pytest benchmarks/ --benchmark-only -o python_files='bench_*.py'
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tlm.services import sweep  # noqa: E402
from tlm.config.arch import load_arch  # noqa: E402
from tlm.cli.commands.sweep import engine_args  # noqa: E402
from tlm.config.workload import load_workload  # noqa: E402

# 5 x 5 x 8 x 5 = 1,000 points; every one a different architecture or precision
SETS = ["macro.count=1..5", "adc.cycles_per_bit=1..5", "workload.precision=1..8",
        "macro.dp_cycles_per_bit=4,8,12,16,20"]
TARGET_S = 5.0


def test_sweep_1000_points(benchmark, tmp_path):
    arch = load_arch(ROOT / "configs" / "imagine.yaml")
    wl = load_workload(ROOT / "workloads" / "resnet8.yaml")
    out = tmp_path / "sweep.csv"

    def run():
        # parsing and checking the settings is part of the sweep
        settings = sweep.parse_settings(SETS, arch)
        job = sweep.Job(arch_dict=arch.to_dict(), workload=wl, settings=tuple(settings), engine="analytic",
                        engine_args=engine_args("analytic"))
        return sweep.run_sweep(job, out)

    text, _ = benchmark.pedantic(run, rounds=3, iterations=1)
    assert text.count("\n") == 1 + 1000
    assert benchmark.stats.stats.max < TARGET_S
