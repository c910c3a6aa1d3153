"""1,000-point analytic sweeps of ResNet-8 on the shipped IMAGINE config, in-process, written to a CSV.
Targets are ratios measured in the same run (issue 25):

- `mapping.policy: auto` (every policy whose weights fit, the best kept) <= 1.3x the same sweep pinned to
  `sequential`, on the structural grid below (macros x ADC speed x precision x DP speed);
- a sweep of non-structural parameters (ADC cycles per bit, supplies, capacitances, clock: no change to
  which tiles or rows exist) <= 0.3x the time of 1,000 single analytic runs of its points.

    cd benchmarks && python -m pytest bench_sweep.py
"""
import dataclasses
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tlm.services import sweep  # noqa: E402
from tlm.services.bench import cold  # noqa: E402
from tlm.config.arch import load_arch  # noqa: E402
from tlm.cli.commands.sweep import engine_args  # noqa: E402
from tlm.config.workload import load_workload  # noqa: E402
from tlm.engines.registry import run as engine_run  # noqa: E402
from tlm.mapping.mapper import with_policy  # noqa: E402

# 5 x 5 x 8 x 5 = 1,000 points; every one a different architecture or precision
SETS = ["macro.count=1..5", "adc.cycles_per_bit=1..5", "workload.precision=1..8",
        "macro.dp_cycles_per_bit=4,8,12,16,20"]
# 10 x 10 x 10 = 1,000 points that change energies only
ENERGY_SETS = ["technology.vdd_digital_v=" + ",".join(f"{0.5 + 0.05 * k:.2f}" for k in range(10)),
               "controller.c_ff_per_cycle=" + ",".join(str(1000 + 100 * k) for k in range(10)),
               "clock.frequency_mhz=" + ",".join(str(100 * k) for k in range(1, 11))]
ARCH = load_arch(ROOT / "configs" / "imagine.yaml")
WL = load_workload(ROOT / "workloads" / "resnet8.yaml")


def _sweep(sets, policy, out):
    arch = with_policy(ARCH, policy)
    settings = sweep.parse_settings(sets, arch)  # parsing and checking the settings is part of the sweep
    job = sweep.Job(arch_dict=arch.to_dict(), workload=WL, settings=tuple(settings), engine="analytic",
                    engine_args=engine_args("analytic"))
    cold()
    t = time.process_time()
    text, _ = sweep.run_sweep(job, out)
    assert text.count("\n") == 1 + 1000
    return time.process_time() - t, job


def test_sweep_1000_points(benchmark, tmp_path):
    """auto against pinned sequential, CPU seconds of this process."""
    def run():
        return _sweep(SETS, "auto", tmp_path / "a.csv")[0], _sweep(SETS, "sequential", tmp_path / "s.csv")[0]
    auto, seq = benchmark.pedantic(run, rounds=1, iterations=1)
    benchmark.extra_info.update(auto_cpu_s=auto, sequential_cpu_s=seq, auto_over_sequential=auto / seq)
    assert auto <= 1.3 * seq, benchmark.extra_info


def test_non_structural_sweep_against_single_runs(benchmark, tmp_path):
    def run():
        t_sweep, job = _sweep(ENERGY_SETS, "auto", tmp_path / "e.csv")
        from tlm.services.sweep.points import PointBuilder
        pb = PointBuilder(job)
        t = time.process_time()
        for i in range(job.n_points):  # one `simulate` per point, nothing kept between them
            arch, wl = pb.build(i)
            cold()
            engine_run("analytic", arch, dataclasses.replace(wl))
        return t_sweep, time.process_time() - t
    t_sweep, t_single = benchmark.pedantic(run, rounds=1, iterations=1)
    benchmark.extra_info.update(sweep_cpu_s=t_sweep, single_runs_cpu_s=t_single, ratio=t_sweep / t_single)
    assert t_sweep <= 0.3 * t_single, benchmark.extra_info
