"""Same inputs -> same bytes out: JSON, CSV and the terminal tables of `tlm simulate`, in one process
and across processes (with different hash seeds, so no output depends on set/dict hashing order).

To cover a new engine or option (e.g. `--engine tlm`, a noise `--seed`), add its arguments to OPTIONS.
"""
from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tlm.cli import main

ROOT = Path(__file__).resolve().parent.parent
ARCHS = sorted(p.stem for p in (ROOT / "configs").glob("*.yaml"))
WORKLOADS = sorted(p.stem for p in (ROOT / "workloads").glob("*.yaml"))
OPTIONS = {"analytic": ["--engine", "analytic"],  # name -> extra arguments of `tlm simulate`
           "tlm": ["--engine", "tlm"]}


def _outputs(out: Path) -> dict:
    """Every file a run wrote, as bytes, by path relative to its output folder."""
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


OUT_FILES = {"r.json", *(f"csv/{n}.csv" for n in ("summary", "layers", "energy", "blocks")),
             *(f"run/{n}" for n in ("config.yaml", "workload.yaml", "stats.json", "summary.csv", "layers.csv", "energy.csv",
                                    "blocks.csv", "manifest.json"))}


def _run_in_process(arch, wl, opts, out: Path) -> tuple[dict, str]:
    buf = io.StringIO()
    out.mkdir(parents=True, exist_ok=True)
    # -o with the same relative name from each run's own folder: the manifest records the command line
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(io.StringIO()) as err, contextlib.chdir(out):
        code = main(["simulate", arch, wl, *opts, "--per-layer", "--json", "r.json",
                     "--csv", "csv", "-o", "run"])
    assert code == 0, err.getvalue()
    return _outputs(out), buf.getvalue()


@pytest.mark.parametrize("opt", sorted(OPTIONS))
@pytest.mark.parametrize("wl", WORKLOADS)
@pytest.mark.parametrize("arch", ARCHS)
def test_same_bytes_in_process(tmp_path, arch, wl, opt):
    a = _run_in_process(arch, wl, OPTIONS[opt], tmp_path / "a")
    b = _run_in_process(arch, wl, OPTIONS[opt], tmp_path / "b")
    assert set(a[0]) == OUT_FILES
    assert a == b


def _run_process(arch, wl, opts, out: Path, hashseed: str) -> tuple[dict, bytes]:
    out.mkdir(parents=True, exist_ok=True)
    # (COLUMNS is inherited: it is the width the tables are laid out for, the same in both processes)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONHASHSEED": hashseed}
    stdout = out.parent / f"{out.name}.txt"  # outside out: not one of its outputs
    with open(stdout, "wb") as f:  # the terminal output piped to a file
        p = subprocess.run([sys.executable, "-m", "tlm", "simulate", arch, wl, *opts, "--per-layer",
                            "--json", "r.json", "--csv", "csv", "-o", "run"],
                           stdout=f, stderr=subprocess.PIPE, env=env, cwd=out, timeout=120)
    assert p.returncode == 0, p.stderr.decode()
    return _outputs(out), stdout.read_bytes()


@pytest.mark.parametrize("opt", sorted(OPTIONS))
def test_same_bytes_across_processes(tmp_path, opt):
    arch, wl = "imagine_4macro", "resnet8"
    a = _run_process(arch, wl, OPTIONS[opt], tmp_path / "a", "1")
    b = _run_process(arch, wl, OPTIONS[opt], tmp_path / "b", "2")
    assert a[0] == b[0]  # JSON and CSV
    assert a[1] == b[1] and b"per layer" in a[1]  # the tables, piped
    here = _run_in_process(arch, wl, OPTIONS[opt], tmp_path / "c")
    assert here[0] == a[0]  # and the same bytes as in this process
    assert here[1].encode("utf-8") == a[1]


def test_noisy_accuracy_is_the_same_for_the_same_seed(tmp_path):
    """The functional model's noise comes from a seeded generator: same seed, same bytes, in two
    processes; another seed draws other noise (different per-layer error statistics)."""
    pytest.importorskip("mlxtend")

    def run(seed, hashseed):
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONHASHSEED": hashseed}
        p = subprocess.run([sys.executable, "-m", "tlm", "accuracy", "--images", "200", "--noise", "4",
                            "--seed", str(seed)], capture_output=True, env=env, cwd=tmp_path, timeout=300)
        assert p.returncode == 0, p.stderr.decode()
        return p.stdout

    a, b, c = run(7, "1"), run(7, "2"), run(8, "1")
    assert a == b
    assert a != c
