"""`tlm bench`: the numbers it reports are consistent with the simulations it times."""
import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT
from tlm.services import bench
from tlm.engines.analytic import simulate
from tlm.cli import main


def test_bench_json_matches_the_simulation(tmp_path, capsys, arch, resnet8):
    out = tmp_path / "b.json"
    assert main(["bench", "imagine", "resnet8", "--repeat", "2", "--json", str(out)]) == 0
    capsys.readouterr()
    d = json.loads(out.read_text())
    by_engine = {m["engine"]: m for m in d["measurements"]}
    assert set(by_engine) >= {"analytic", "tlm"}
    from tlm.engines.registry import ENGINES
    for name, m in by_engine.items():
        ref = ENGINES[name](arch, resnet8)  # each engine's own cycles (the TLM run adds bank contention)
        assert m["cycles"] == ref.cycles and m["macs"] == ref.macs
        assert m["wall_s_min"] <= m["wall_s_median"] <= m["wall_s_max"]
        assert m["sim_cycles_per_s"] == pytest.approx(m["cycles"] / m["wall_s_median"])
        assert m["tops"] == pytest.approx(ref.summary()["tops"])
    assert by_engine["analytic"]["txn_per_s"] is None
    t = by_engine["tlm"]
    assert t["transactions"] > 0 and t["txn_per_s"] == pytest.approx(t["transactions"] / t["wall_s_median"])
    # the ratio to bare SimPy compares CPU seconds with CPU seconds (simpy_events_per_s is per CPU second)
    assert t["txn_per_cpu_s"] == pytest.approx(t["transactions"] / t["cpu_s_median"])
    assert t["ratio"][1] == pytest.approx(t["txn_per_cpu_s"] / d["references"]["simpy_events_per_s"])


def test_scaling_fit_recovers_a_linear_cost(monkeypatch, arch):
    """With wall time = 2 ms + 0.5 ns per MAC, the fit gives exactly that and no spread."""
    def fake_fastest(sim, arch, wl, repeats):
        assert arch.sram.capacity_kib == bench.SCALING_SRAM_KIB
        macs = wl.macs * wl.batch
        return 2e-3 + 0.5e-9 * macs, macs
    monkeypatch.setattr(bench, "_fastest_s", fake_fastest)
    rows, fits = bench.scaling(arch)
    for fam, f in fits.items():
        assert f["ns_per_mac"] == pytest.approx(0.5, rel=1e-6), fam
        assert f["fixed_ms"] == pytest.approx(2.0, rel=1e-6), fam
        assert f["per_mac_spread"] == pytest.approx(0.0, abs=1e-6), fam
        assert f["mac_range"] >= 99
    assert fits["images"]["ms_per_image"] == pytest.approx(0.5e-6 * rows[-1].macs / 100, rel=1e-6)


def test_bad_bench_arguments(capsys):
    assert main(["bench", "--repeat", "0"]) == 2
    assert main(["bench", "--engine", "nope"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(l.startswith("error: ") for l in err)


def test_peak_rss_is_the_fresh_processes_own(arch, resnet8):
    """The peak RSS of `tlm bench` is the child's own: a parent that has touched 256 MiB does not pass
    its peak on (ru_maxrss of a forked child would), and a child that touches 128 MiB more reports at
    least that much more."""
    import numpy as np
    ballast = np.ones(256 * 2**20, dtype=np.uint8)  # this process's peak RSS > 256 MiB
    assert bench.process_peak_rss_mb() > 256
    child = bench.fresh_process_peak_rss_mb(arch, resnet8, "analytic")
    assert child is not None and 5 < child < 200
    del ballast
    code = ("import numpy as np; from tlm.services.bench import process_peak_rss_mb; a = process_peak_rss_mb(); "
            "b = np.ones(128 * 2**20, dtype=np.uint8); print(process_peak_rss_mb() - a)")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert 127 <= float(p.stdout) < 140


def test_the_startup_floor_is_what_the_command_imports_besides_tlm(monkeypatch):
    """The floor of a command's start-up (benchmarks/bench_startup.py) imports exactly the modules the
    command loads that are not tlm's and that a bare interpreter does not load: `tlm validate imagine`
    reads YAML (yaml in its floor) and needs neither numpy nor SimPy (tests/test_startup.py), so its
    floor must not import them either.  The children run with one BLAS thread, as `tlm` sets it, unless
    the user chose a count."""
    for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.delenv(v, raising=False)
    env = bench.child_env()
    assert env["OPENBLAS_NUM_THREADS"] == env["OMP_NUM_THREADS"] == env["MKL_NUM_THREADS"] == "1"
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert bench.child_env()["OMP_NUM_THREADS"] == "2"
    mods = bench.command_modules(["validate", "imagine"])
    assert "yaml" in mods and not {"numpy", "simpy"} & set(mods)
    assert not [m for m in mods if m.split(".")[0] == "tlm" or m in sys.builtin_module_names]
    assert "os" not in mods and "sys" not in mods  # a bare interpreter loads them: not the command's
