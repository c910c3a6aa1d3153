"""Measure the simulator's speed and store it in docs/bench-results.json, the one source of the
benchmark figures (scripts/gen_readme.py writes them into docs/benchmarks.md; tests/test_docs.py checks them).

    python scripts/gen_bench_results.py                 # pytest-benchmark suite + tlm bench (minutes)
    python scripts/gen_bench_results.py --only tlm      # only `tlm bench ... --scaling`
    python scripts/gen_bench_results.py --only pytest   # only the pytest-benchmark suite
    python scripts/gen_bench_results.py --only pytest:bench_tlm.py,bench_startup.py  # those files' entries
    python scripts/gen_bench_results.py --only peers    # only benchmarks/peers.py (ZigZag-IMC, SCALE-Sim;
                                                        # their interpreter: TLM_PEERS_PYTHON, default this one)
    python scripts/gen_readme.py                        # then refresh docs/benchmarks.md from the file

Timings depend on the machine and its load: measure on an otherwise idle machine, and say in the commit
what it was.  The file keeps what was measured (no wall-clock dates), so a re-run on the same machine
changes only the timings.
"""
import contextlib
import io
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OUT = ROOT / "docs" / "bench-results.json"

# what `tlm bench` measures for the README: its example output, and the scaling paragraph
TLM_BENCH_ARGS = ["bench", "resnet8", "resnet18", "cifar10_vgg", "--repeat", "5"]
TLM_SCALING_ARGS = ["bench", "resnet8", "--repeat", "5", "--scaling"]


def machine() -> dict:
    import numpy
    return {"python": platform.python_version(), "numpy": numpy.__version__, "machine": platform.machine(),
            "cpus": os.cpu_count(), "system": platform.system()}


def pytest_benchmarks(files=()) -> dict:
    """The benchmarks/ suite (or only `files` of it) through pytest-benchmark: test name -> min, median (s)
    and extra_info."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "bench.json"
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--benchmark-json={out}",
                        *files], cwd=ROOT / "benchmarks", env=env, check=False)
        data = json.loads(out.read_text())
    return {b["name"]: {"min_s": b["stats"]["min"], "median_s": b["stats"]["median"],
                        "mean_s": b["stats"]["mean"], "rounds": b["stats"]["rounds"],
                        "extra_info": b.get("extra_info", {})}
            for b in sorted(data["benchmarks"], key=lambda b: b["name"])}


def tlm_bench(args) -> dict:
    """`tlm ARGS --json`: the measurements and what the command printed (the pipe width, 120 columns)."""
    from tlm.cli import main
    with tempfile.TemporaryDirectory() as tmp:
        js = Path(tmp) / "bench.json"
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            assert main([*args, "--json", str(js)]) == 0
        data = json.loads(js.read_text())
    text = "\n".join(ln.rstrip() for ln in buf.getvalue().split("\n")).strip("\n")
    return {"command": "tlm " + " ".join(args), "output": text, "json": data}


def peers() -> dict:
    """benchmarks/peers.py: whole-process times of the peers against `tlm simulate` (its JSON, with the
    machine and its load average), or None when no peer is installed (the previous figures stay)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "peers.json"
        py = os.environ.get("TLM_PEERS_PYTHON", sys.executable)
        subprocess.run([sys.executable, str(ROOT / "benchmarks" / "peers.py"), "--peer-python", py, "--json", str(out)],
                       check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
        data = json.loads(out.read_text())
    data["command"] = "python benchmarks/peers.py" + ("" if "TLM_PEERS_PYTHON" not in os.environ else
                                                      " --peer-python PEER_PYTHON")
    measured = [r for r in data["rows"] if r["tool"] != "tlm simulate" and not r.get("skipped")]
    return data if measured else None


def main():
    args = sys.argv[1:]
    if not (args == [] or (len(args) == 2 and args[0] == "--only" and args[1] in ("tlm", "pytest", "peers"))
            or (len(args) == 2 and args[0] == "--only" and args[1].startswith("pytest:") and len(args[1]) > 7)):
        print("usage: gen_bench_results.py [--only tlm|pytest|pytest:FILE,...|peers] (see the docstring)",
              file=sys.stderr)
        sys.exit(2)
    only = args[1] if args else None
    old = json.loads(OUT.read_text()) if OUT.exists() else {}
    new = {"machine": machine(),
           "pytest_benchmark": pytest_benchmarks() if only in (None, "pytest") else old.get("pytest_benchmark"),
           **({"pytest_benchmark": {**old.get("pytest_benchmark", {}), **pytest_benchmarks(only[7:].split(","))}}
              if only and only.startswith("pytest:") else {}),
           "tlm_bench": tlm_bench(TLM_BENCH_ARGS) if only in (None, "tlm") else old.get("tlm_bench"),
           "tlm_bench_scaling": tlm_bench(TLM_SCALING_ARGS) if only in (None, "tlm") else old.get("tlm_bench_scaling"),
           "peers": (peers() if only in (None, "peers") else None) or old.get("peers")}
    OUT.write_text(json.dumps(new, indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
