"""Throughput of the simulated hardware and of the simulator itself (`tlm bench`).

Two throughputs: the hardware's (inferences/s, TOPS, TOPS/W, from the result) and the simulator's (wall
time per simulation over repeats, transactions and simulated cycles per wall second) and its memory:
the peak resident set (RSS) of a fresh process that loads tlm and simulates the workload once -- the
memory a `tlm simulate` run needs, interpreter and libraries included, whatever this process did before.
`scaling()` runs families of growing workloads and fits wall time against MACs, so a user sees how the
cost of a simulation grows.
"""
from __future__ import annotations

import gc
import math
import statistics
import time
from dataclasses import dataclass

import numpy as np

from tlm.config.workload import parse_workload


def engines() -> dict:
    """name -> simulate(arch, wl) for every registered engine."""
    from tlm.engines.registry import ENGINES
    return {k: (lambda a, w, f=f: f(a, w, None)) for k, f in ENGINES.items()}


@dataclass
class Measurement:
    workload: str
    engine: str
    repeats: int
    wall_s_median: float
    wall_s_min: float
    wall_s_max: float
    wall_s_iqr: float
    cpu_s_median: float  # CPU time of this process per simulation (what other jobs on the machine cannot take)
    macs: int
    cycles: int
    transactions: int | None
    peak_rss_mb: float | None  # peak RSS of a fresh process simulating once (None: not measured)
    inferences_per_s: float
    tops: float
    tops_per_w: float

    @property
    def txn_per_s(self) -> float | None:
        return None if not self.transactions else self.transactions / self.wall_s_median

    @property
    def txn_per_cpu_s(self) -> float | None:
        return None if not self.transactions else self.transactions / max(self.cpu_s_median, 1e-9)

    @property
    def sim_cycles_per_s(self) -> float:
        return self.cycles / self.wall_s_median

    def to_dict(self) -> dict:
        d = dict(self.__dict__)
        d["txn_per_s"] = self.txn_per_s
        d["txn_per_cpu_s"] = self.txn_per_cpu_s
        d["sim_cycles_per_s"] = self.sim_cycles_per_s
        return d


def process_peak_rss_mb() -> float:
    """Peak resident set of this process, MiB: VmHWM of /proc/self/status (Linux), the high-water mark
    of this process's own address space.  Elsewhere getrusage's ru_maxrss, which on Linux would also
    count the parent's memory copied by fork before exec -- hence /proc first."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0  # kB
    except OSError:
        pass
    import resource
    import sys
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 1024.0  # macOS: bytes; else KiB


_CHILD = """
import pickle, sys
arch, wl, engine = pickle.load(sys.stdin.buffer)
from tlm.services.bench import engines, process_peak_rss_mb
engines()[engine](arch, wl)
print(process_peak_rss_mb())
"""


def fresh_process_peak_rss_mb(arch, wl, engine: str) -> float | None:
    """Peak RSS (MiB) of a new Python process that imports tlm and simulates `wl` on `arch` once with
    `engine`; None when the child cannot run (then the measurement says so instead of guessing)."""
    import os
    import pickle
    import subprocess
    import sys
    from pathlib import Path
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])  # this tlm, whatever is installed
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    try:
        p = subprocess.run([sys.executable, "-c", _CHILD], input=pickle.dumps((arch, wl, engine)),
                           capture_output=True, env=env, timeout=600)
        return float(p.stdout.split()[-1]) if p.returncode == 0 else None
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None


def cold() -> None:
    """Forget the plans, steady-state base runs, stream bounds, schedule skeletons (with their kept
    list-scheduled orders) and job costs, assignments and packings kept for later runs
    (tlm/mapping/reuse.py, steady.py, bounds.py, schedule.py, assign.py, template.py;
    tlm/engines/analytic.clear_kept): a repeat then costs what one run of a new point costs, not a cache
    hit."""
    from tlm.engines import analytic
    from tlm.mapping import bounds, replicate, reuse, schedule, steady, template
    analytic.clear_kept()
    reuse.clear()
    template.clear()
    schedule.clear_skeletons()  # (and the job costs)
    with bounds._LOCK:
        bounds._TERMS.clear()
        bounds._PER_IMAGE.clear()
    with replicate._LOCK:
        replicate._PACKS.clear()
    with steady._LOCK:
        steady._CACHE.clear()
        steady._RECENT.clear()


def measure(arch, wl, engine: str = "analytic", repeats: int = 5, warmup: int = 1,
            rss: bool = True) -> Measurement:
    sim = engines()[engine]
    for _ in range(warmup):
        result = sim(arch, wl)
    times, cpu = [], []
    gc.collect()
    for _ in range(repeats):
        cold()
        t0, c0 = time.perf_counter(), time.process_time()
        result = sim(arch, wl)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    peak = fresh_process_peak_rss_mb(arch, wl, engine) if rss else None
    q = np.percentile(times, [25, 75])
    s = result.summary()
    return Measurement(workload=wl.name, engine=engine, repeats=repeats,
                       wall_s_median=statistics.median(times), wall_s_min=min(times), wall_s_max=max(times),
                       wall_s_iqr=float(q[1] - q[0]), cpu_s_median=statistics.median(cpu), macs=result.macs,
                       cycles=result.cycles,
                       transactions=result.extra.get("transactions"), peak_rss_mb=peak,
                       inferences_per_s=s["inferences_per_s"], tops=s["tops"],
                       tops_per_w=s["tops_per_w"])


# ---- scaling families -------------------------------------------------------------------------------
def chain(n_layers: int, size: int = 16, channels: int = 32, batch: int = 1):
    """`n_layers` 3x3 convs of `channels` channels on a `size`x`size` map."""
    layers = [{"name": f"c{i}", "type": "conv2d", "out_channels": channels, "kernel": 3, "padding": 1,
               "relu": True} for i in range(n_layers)]
    return parse_workload({"name": f"chain{n_layers}x{size}b{batch}", "batch": batch,
                           "input": {"shape": [channels, size, size], "bits": 8}, "layers": layers},
                          "<scaling>")


FAMILIES = {
    # name: (sizes spanning 100x in MACs, builder)
    "layers": ((2, 6, 20, 60, 200), lambda n: chain(n_layers=n, channels=64)),
    "feature_map": ((16, 28, 50, 89, 160), lambda s: chain(n_layers=4, size=s)),
    "images": ((1, 3, 10, 30, 100), lambda b: chain(n_layers=4, batch=b)),
}
SCALING_SRAM_KIB = 1 << 20  # no family member spills: spills add work that does not grow with the MACs


def _fastest_s(sim, arch, wl, repeats: int) -> tuple[float, int]:
    best, macs = math.inf, 0
    for _ in range(repeats):
        gc.collect()
        cold()
        t0 = time.perf_counter()
        r = sim(arch, wl)
        best = min(best, time.perf_counter() - t0)
        macs = r.macs
    return best, macs


@dataclass
class ScalingRow:
    family: str
    size: int
    macs: int
    wall_s: float

    @property
    def ns_per_mac(self) -> float:
        return self.wall_s / self.macs * 1e9


def scaling(arch, engine: str = "analytic", repeats: int = 3) -> tuple[list[ScalingRow], dict]:
    """Wall time of each family member (the fastest of `repeats`: the least disturbed by other jobs);
    per family the fitted cost per MAC (least-squares slope of wall time against MACs, with an intercept
    for the fixed cost of a call) and how much the cost per MAC of the members varies once that fixed
    cost is taken off (max/min - 1): small when the cost grows linearly with the work."""
    from dataclasses import replace
    arch = replace(arch, sram=replace(arch.sram, capacity_kib=SCALING_SRAM_KIB))
    sim = engines()[engine]
    rows = []
    fits = {}
    for fam, (sizes, build) in FAMILIES.items():
        fam_rows = []
        for s in sizes:
            wall, macs = _fastest_s(sim, arch, build(s), repeats)
            fam_rows.append(ScalingRow(fam, s, macs, wall))
        x = np.array([r.macs for r in fam_rows], dtype=float)
        y = np.array([r.wall_s for r in fam_rows])
        slope, intercept = np.polyfit(x, y, 1, w=1.0 / y)  # relative errors: small runs count as much
        per_image = None
        if fam == "images":
            per_image = slope * (x[0] / sizes[0])
        per_mac = (y - intercept) / x
        fits[fam] = {"ns_per_mac": slope * 1e9, "fixed_ms": intercept * 1e3,
                     "per_mac_spread": float(per_mac.max() / per_mac.min() - 1) if per_mac.min() > 0 else None,
                     "ms_per_image": None if per_image is None else per_image * 1e3,
                     "mac_range": float(x.max() / x.min())}
        rows += fam_rows
    return rows, fits


# ---- references that move with the machine (measured in the same run: targets are ratios to them) ----
def simpy_events_per_s(n: int = 100_000, repeats: int = 3) -> float | None:
    """Bare SimPy: one process waiting `n` timeouts of one cycle -- the fastest a SimPy model can schedule
    events here and now, per CPU second of this process (best of `repeats`: the machine's other jobs do
    not count); None without simpy."""
    try:
        import simpy
    except ImportError:
        return None

    def proc(env):
        t = env.timeout
        for _ in range(n):
            yield t(1)
    best = math.inf
    for _ in range(repeats):
        env = simpy.Environment()
        env.process(proc(env))
        t0 = time.process_time()
        env.run()
        best = min(best, time.process_time() - t0)
    return n / best


def matmul_gflops(n: int = 384, repeats: int = 5) -> float:
    """float32 (n x n) @ (n x n) on one BLAS thread (when threadpoolctl can set it), best of `repeats`."""
    import contextlib
    a = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
    try:
        from threadpoolctl import threadpool_limits
        limit = threadpool_limits(limits=1, user_api="blas")
    except ImportError:
        limit = contextlib.nullcontext()
    best = math.inf
    with limit:
        for _ in range(repeats):
            t0 = time.perf_counter()
            a @ a
            best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best / 1e9


def child_env() -> dict:
    """The environment of the child processes timed here: this checkout's tlm first on the path, .pyc
    files written (an installed package has them), and one BLAS thread -- what the `tlm` command sets at
    its start (tlm/cli/__init__.py), so that a floor importing numpy spins no more BLAS threads than the
    command does (two idle OpenBLAS threads cost ~70 ms of CPU on 2 cores: the floor came out above
    the command)."""
    import os
    from pathlib import Path

    from tlm.functional.threads import THREAD_VARIABLES
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    for v in THREAD_VARIABLES:
        env.setdefault(v, "1")
    return env


_MODULES = r"""
import importlib.util, json, sys
bare = set(json.loads(sys.argv[1]))
from tlm.cli import main
main(sys.argv[2:])
top = sorted(m for m in list(sys.modules) if m not in bare and not any(p.startswith("_") for p in m.split(".")))
def importable(m):
    try:
        return importlib.util.find_spec(m) is not None
    except ValueError:  # a module made at run time (cython_runtime): nothing to import
        return False
top = [m for m in top if m.split(".")[0] != "tlm" and importable(m)]
sys.stdout.flush()
sys.stderr.write("\nMODULES " + json.dumps(top) + "\n")
"""


def command_modules(argv) -> list[str]:
    """The modules other than tlm's that `tlm ARGV` loads and a bare interpreter does not (public names:
    a private module is loaded by its package): what the command cannot avoid importing, its floor."""
    import json
    import subprocess
    import sys
    env = child_env()
    bare = subprocess.run([sys.executable, "-c", "import json, sys; print(json.dumps(sorted(sys.modules)))"],
                          capture_output=True, text=True, env=env, check=True).stdout
    p = subprocess.run([sys.executable, "-c", _MODULES, bare, *argv], capture_output=True, text=True, env=env,
                       timeout=600)
    lines = [ln for ln in p.stderr.splitlines() if ln.startswith("MODULES ")]
    if p.returncode != 0 or not lines:
        raise RuntimeError(f"tlm {' '.join(argv)} failed: {p.stderr.strip()[-300:]}")
    return json.loads(lines[-1][len("MODULES "):])


def _child_cpu_s() -> float:
    import resource
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def startup_cpu_ms(argv, repeats: int = 21) -> dict:
    """Whole-process cost of `python -m tlm ARGV` against its floor, a `python -c "import M1, M2, ..."` of
    exactly the modules the command loads besides tlm (command_modules), CPU time (user + system, from
    the children's resource usage: waiting for a core does not count).  The two run interleaved (their
    order alternating), `repeats` times each after a warm-up that writes the .pyc files; the command's
    share is the median of the paired differences (command - floor of the same round): the machine's
    drift moves both.  Returns medians in ms, the differences' quartiles and the floor's modules."""
    import subprocess
    import sys
    env = child_env()
    mods = command_modules(argv)
    runs = {"command": [sys.executable, "-m", "tlm", *argv],
            "floor": [sys.executable, "-c", "import " + ", ".join(mods)]}
    cpu, wall = {k: [] for k in runs}, {k: [] for k in runs}
    for cmd in runs.values():
        subprocess.run(cmd, env=env, check=True, capture_output=True)  # warm-up: .pyc files, page cache
    for i in range(repeats):
        for k in (("command", "floor") if i % 2 == 0 else ("floor", "command")):
            c0, t0 = _child_cpu_s(), time.perf_counter()
            subprocess.run(runs[k], env=env, check=True, capture_output=True)
            wall[k].append(time.perf_counter() - t0)
            cpu[k].append(_child_cpu_s() - c0)
    diff = [(a - b) * 1e3 for a, b in zip(cpu["command"], cpu["floor"])]
    q = np.percentile(diff, [25, 75])
    return {"argv": list(argv), "repeats": repeats, "floor_modules": mods,
            "command_cpu_ms": statistics.median(cpu["command"]) * 1e3,
            "floor_cpu_ms": statistics.median(cpu["floor"]) * 1e3,
            "above_floor_cpu_ms": statistics.median(diff), "above_floor_iqr_ms": [float(q[0]), float(q[1])],
            "command_wall_ms": statistics.median(wall["command"]) * 1e3,
            "floor_wall_ms": statistics.median(wall["floor"]) * 1e3}


def import_floor_cpu_ms(modules=("numpy", "yaml", "simpy"), repeats: int = 3) -> float | None:
    """Median CPU time (user + system, ms) of a fresh interpreter importing `modules` only (one BLAS
    thread, as the `tlm` command runs: child_env): what a command needing them cannot go below on this
    machine.  None when the child cannot run."""
    import subprocess
    import sys
    env = child_env()
    out = []
    for _ in range(repeats):
        c0 = _child_cpu_s()
        try:
            p = subprocess.run([sys.executable, "-c", "import " + ", ".join(modules)], capture_output=True,
                               timeout=120, env=env)
        except (OSError, subprocess.SubprocessError):
            return None
        if p.returncode != 0:
            return None
        out.append((_child_cpu_s() - c0) * 1e3)
    return statistics.median(out)


def analytic_point_ms(arch, wl, repeats: int = 5) -> float:
    """One analytic simulation of `wl` (the median of `repeats`, after one warm-up, each from cold plan
    caches), ms."""
    simulate = engines()["analytic"]  # (the registry: `auto` resolved)
    simulate(arch, wl)
    times = []
    for _ in range(repeats):
        cold()
        t0 = time.perf_counter()
        simulate(arch, wl)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def references(arch, wl) -> dict:
    """The references `tlm bench` and benchmarks/ divide by, measured now: bare SimPy events/s, float32
    matmul GFLOP/s, the numpy+yaml+simpy import floor (CPU ms), one analytic point of `wl` (ms)."""
    return {"simpy_events_per_s": simpy_events_per_s(), "matmul_gflops": matmul_gflops(),
            "import_floor_cpu_ms": import_floor_cpu_ms(), "analytic_point_ms": analytic_point_ms(arch, wl),
            "analytic_point_workload": wl.name}


def ratio(m: Measurement, refs: dict) -> tuple[str, float | None]:
    """A measurement against its reference: the TLM engine's transactions per CPU second over bare SimPy's
    events per CPU second (both per CPU second of this process: the machine's other jobs do not count);
    an analytic run's time in analytic points."""
    if m.txn_per_cpu_s is not None and refs.get("simpy_events_per_s"):
        return "txn per CPU s / SimPy events per CPU s", m.txn_per_cpu_s / refs["simpy_events_per_s"]
    return f"wall / analytic {refs['analytic_point_workload']}", m.wall_s_median * 1e3 / refs["analytic_point_ms"]
