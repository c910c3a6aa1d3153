"""Speed of the transaction-level engine (pytest-benchmark).

    pytest benchmarks/ --benchmark-only -p no:cacheprovider -o python_files='bench_*.py'

Targets are ratios to references measured in the same run (issue 25; tlm/services/bench.py): the TLM
engine's transactions per CPU second on cifar10_vgg >= 0.5x bare SimPy's events per second.  ResNet-8 and
ResNet-18 whole inferences are measured (extra_info: their time in analytic ResNet-8 points) and ResNet-18's
peak RSS stays <= 300 MB.  The machine is shared: the rates are the best of a few runs.
"""
import time
from pathlib import Path

import pytest

from tlm.config.arch import load_arch
from tlm.engines.registry import resolve_policy, run
from tlm.engines.transaction.system import System
from tlm.config.workload import load_workload
from tlm.services.bench import analytic_point_ms, simpy_events_per_s

ROOT = Path(__file__).resolve().parent.parent


def tlm(arch, wl):
    """The TLM engine with the shipped `mapping.policy: auto` resolved (tlm/engines/registry.py)."""
    return run("tlm", arch, wl)


def cpu_best(fn, repeats=5):
    """The least CPU time of this process over `repeats` calls of fn(), seconds."""
    best = float("inf")
    for _ in range(repeats):
        t = time.process_time()
        fn()
        best = min(best, time.process_time() - t)
    return best


@pytest.fixture(scope="module")
def arch():
    return load_arch(ROOT / "configs" / "imagine.yaml")


def test_resnet8_whole_inference_tlm(benchmark, arch):
    """Everything a `tlm simulate` run does in-process: the plan, the SimPy run, the Result with
    statistics (the TLM engine does not run the analytic engine)."""
    wl = load_workload(ROOT / "workloads" / "resnet8.yaml")
    r = benchmark(tlm, arch, wl)
    benchmark.extra_info["cycles"] = r.cycles
    benchmark.extra_info["transactions"] = r.extra["transactions"]
    benchmark.extra_info["wall_s_min"] = benchmark.stats.stats.min
    cpu = benchmark.extra_info["cpu_s_best"] = cpu_best(lambda: tlm(arch, wl), 20)
    point = analytic_point_ms(arch, wl) / 1e3
    benchmark.extra_info["analytic_points"] = cpu / point  # (measured, no target)


@pytest.mark.parametrize("contention", [True, False], ids=["contention", "no-contention"])
def test_transactions_per_second(benchmark, arch, contention):
    """The SimPy run alone (build + run) on the largest shipped network: transactions per wall second."""
    wl = load_workload(ROOT / "workloads" / "cifar10_vgg.yaml")

    def run():
        s = System(resolve_policy(arch, wl).arch, wl, contention=contention)
        s.run()
        return s.stats.transactions

    n = benchmark(run)
    benchmark.extra_info["transactions"] = n
    benchmark.extra_info["txn_per_s_best"] = n / benchmark.stats.stats.min
    benchmark.extra_info["txn_per_s_mean"] = n / benchmark.stats.stats.mean
    # the same per CPU second of this process: what the machine's other jobs cannot take away
    rate = benchmark.extra_info["txn_per_cpu_s_best"] = n / cpu_best(run)
    simpy_rate = benchmark.extra_info["simpy_events_per_s"] = simpy_events_per_s()
    benchmark.extra_info["txn_over_simpy_events"] = rate / simpy_rate
    assert rate >= 0.5 * simpy_rate, benchmark.extra_info


def test_resnet18_imagenet_tlm(benchmark, arch):
    """ResNet-18 at 224x224 through the TLM engine (target: at most 300 MB peak RSS; its transactions per
    CPU second against bare SimPy's in extra_info).  The peak
    RSS is measured in a fresh process running `tlm simulate`, as VmHWM (its own address space's
    high-water mark), so this process's history does not count: ru_maxrss of a child would include the
    memory of this pytest process copied by fork before exec (329 MB after bench_functional.py)."""
    import subprocess
    import sys
    wl = load_workload(ROOT / "workloads" / "resnet18.yaml")
    r = benchmark.pedantic(tlm, args=(arch, wl), rounds=3, iterations=1)
    env = {"PYTHONPATH": str(ROOT), "PATH": ""}
    code = ("import sys; from tlm.cli import main; from tlm.services.bench import process_peak_rss_mb; "
            "rc = main(['simulate', 'imagine', 'resnet18', '--engine', 'tlm', '-q']); "
            "print(process_peak_rss_mb()); sys.exit(rc)")
    p = subprocess.run([sys.executable, "-c", code], check=True, env=env, capture_output=True, text=True)
    rss_mb = float(p.stdout.split()[-1])
    benchmark.extra_info["transactions"] = r.extra["transactions"]
    benchmark.extra_info["child_max_rss_mb"] = rss_mb
    assert rss_mb <= 300
    cpu = benchmark.extra_info["cpu_s_best"] = cpu_best(lambda: tlm(arch, wl), 3)
    benchmark.extra_info["txn_per_cpu_s_best"] = r.extra["transactions"] / cpu
    benchmark.extra_info["txn_over_simpy_events"] = r.extra["transactions"] / cpu / simpy_events_per_s()
