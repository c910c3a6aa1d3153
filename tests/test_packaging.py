"""The wheel: every package of tlm/ (found by setup.py, not listed), the shipped configs, workloads and
weights; installed in a fresh virtual environment, every `tlm` command runs from an unrelated folder and
finds them.  And every third-party module tlm imports is a declared dependency, or an optional extra
imported only where it is used (with a hint when missing: tests/test_install_hints.py), or optional
with a fallback.

Time (2 cores): building the wheel ~18 s (pip's isolated build; the first three tests need it anyway), the
venv and install ~7 s, the nine commands ~13 s."""
import ast
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT

# import name -> distribution (when they differ)
DISTRIBUTION = {"yaml": "pyyaml", "sklearn": "scikit-learn", "distributed": "dask"}
WITH_FALLBACK = {"threadpoolctl"}  # optional, and tlm works without it (tlm/functional/model.py)


SOURCES = ("pyproject.toml", "setup.py", "README.md", "tlm", "configs", "workloads")  # what the build reads


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """Built from a copy of the sources: an in-tree build/ folder of an older build (files since moved or
    deleted) never reaches the wheel, and the build needs nothing but SOURCES."""
    out, src = tmp_path_factory.mktemp("wheel"), tmp_path_factory.mktemp("src")
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / name, src / name)
    p = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                        "-w", str(out), str(src)], capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        pytest.skip(f"cannot build a wheel here: {p.stderr.strip()[-200:]}")
    return next(out.glob("imagine_tlm-*.whl"))


def test_wheel_ships_every_config_workload_and_weights_file(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for p in sorted((ROOT / "configs").glob("*.yaml")):
        assert f"tlm/_configs/{p.name}" in names
    published = sorted((ROOT / "configs" / "published").glob("*.yaml"))
    assert published
    for p in published:
        assert f"tlm/_configs/published/{p.name}" in names
    for p in sorted((ROOT / "workloads").iterdir()):
        if p.suffix in (".yaml", ".npz", ".onnx"):
            assert f"tlm/_workloads/{p.name}" in names


def test_wheel_holds_every_module_of_every_package(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    src = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "tlm").rglob("*.py"))
    packages = {p.rpartition("/")[0] for p in src if p.endswith("/__init__.py")}
    assert {"tlm/services/sweep", "tlm/engines/transaction", "tlm/cli/commands"} <= packages
    assert [p for p in src if p not in names] == []
    assert [n for n in names if n.endswith(".py") and n not in src] == []  # nothing stale either


def test_installed_layout_finds_the_shipped_files(monkeypatch, tmp_path):
    """Outside a source checkout the folders next to the package are used (tlm/_configs ...)."""
    from tlm.config import paths
    monkeypatch.setattr(paths, "_REPO", tmp_path)  # no pyproject.toml there: an installed tlm
    pkg = ROOT / "tlm"
    assert paths.shipped_dir("configs") == pkg / "_configs"
    assert paths.shipped_dir("workloads") == pkg / "_workloads"


# ---- installed in a fresh venv, every command ------------------------------------------------------
def _commands(tmp):
    """One cheap run of every command: (argv, what its output must contain)."""
    return {
        "simulate": (["simulate", "imagine", "mnist_cnn", "--engine", "analytic"], "energy"),
        "validate": (["validate", "imagine", "resnet8"], "ok: architecture 'imagine'"),
        "accuracy": (["accuracy", "--dataset", str(tmp / "eight.npz")], "ideal integer"),  # shipped weights
        "bench": (["bench", "imagine", "mnist_cnn", "--engine", "analytic", "--repeat", "1"], "HW TOPS/W"),
        "import": (["import", str(ROOT / "workloads" / "mnist_cnn.onnx"), "-o", str(tmp / "m.yaml")], "m.yaml"),
        "sweep": (["sweep", "imagine", "mnist_cnn", "--set", "macro.count=1,2", "-o", str(tmp / "s.csv")],
                  "2 design point(s)"),
        "paper": (["paper"], "against the IMAGINE paper"),
        "chips": (["chips"], "Kneip et al."),  # configs/published/ shipped too
        "calibrate": (["calibrate"], "macro.c_cell_ff"),
        "schema": (["schema", "workload"], '"layers"'),
    }


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory):
    """A fresh venv that sees this interpreter's packages (no downloads) with the wheel installed."""
    v = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(v)],
                   check=True, timeout=120)
    py = v / "bin" / "python"
    p = subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "-q",
                        str(wheel)], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    return v


def test_every_command_runs_from_the_installed_wheel(venv, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    where = subprocess.run([str(venv / "bin" / "python"), "-c", "import tlm; print(tlm.__file__)"],
                           capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60).stdout
    assert where.startswith(str(venv)), where  # the wheel's tlm, not this checkout's
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "eight.npz", images=rng.integers(0, 256, (8, 1, 28, 28), dtype=np.uint8),
             labels=rng.integers(0, 10, 8))
    cases = _commands(tmp_path)
    from tlm.cli.commands import COMMANDS
    assert sorted(cases) == sorted(c.name for c in COMMANDS)  # a new command needs a case here
    for name, (argv, expected) in cases.items():
        p = subprocess.run([str(venv / "bin" / "tlm"), *argv], capture_output=True, text=True, cwd=tmp_path,
                           env={**env, "COLUMNS": "120"}, timeout=120)
        assert p.returncode == 0, (name, p.stderr[-2000:])
        assert expected in p.stdout, (name, p.stdout[-2000:])
    assert (tmp_path / "m.yaml").is_file() and len((tmp_path / "s.csv").read_text().splitlines()) == 3


def test_installed_numbers_are_the_checkouts(venv, tmp_path):
    """The installed tlm and this checkout print the same simulation, byte for byte."""
    argv = ["simulate", "imagine", "resnet8", "--engine", "analytic"]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["COLUMNS"] = "120"
    installed = subprocess.run([str(venv / "bin" / "tlm"), *argv], capture_output=True, text=True,
                               cwd=tmp_path, env=env, timeout=120)
    source = subprocess.run([sys.executable, "-m", "tlm", *argv], capture_output=True, text=True,
                            cwd=tmp_path, env={**env, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert installed.returncode == source.returncode == 0
    assert installed.stdout == source.stdout and "cycles" in source.stdout


# ---- declared dependencies ------------------------------------------------------------------------
def _third_party_imports():
    """(top-level module, file, line, inside a function?) of every non-stdlib, non-tlm import in tlm/."""
    out = []
    for path in sorted((ROOT / "tlm").rglob("*.py")):
        tree = ast.parse(path.read_text())
        lazy = {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
                for n in ast.walk(f) if isinstance(n, (ast.Import, ast.ImportFrom))}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module]
            else:
                continue
            for n in names:
                top = n.split(".")[0]
                if top != "tlm" and top not in sys.stdlib_module_names:
                    out.append((top, path.relative_to(ROOT).as_posix(), node.lineno, id(node) in lazy))
    return out


def _names(reqs):
    return {re.split(r"[<>=!~\[ ]", r, maxsplit=1)[0].lower() for r in reqs}


def test_every_import_is_a_declared_dependency():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    required = _names(project["dependencies"])
    optional = set().union(*(_names(v) for k, v in project["optional-dependencies"].items()
                             if k not in ("test", "all")))
    imports = _third_party_imports()
    assert {"numpy", "onnx", "threadpoolctl"} <= {m for m, *_ in imports}  # the scan sees them
    bad = []
    for mod, path, line, lazy in imports:
        dist = DISTRIBUTION.get(mod, mod)
        if dist in required:
            continue
        if dist in optional or mod in WITH_FALLBACK:
            if not lazy:  # an optional package imported with the module would break `import` without it
                bad.append(f"{path}:{line}: optional '{mod}' imported at module level")
            continue
        bad.append(f"{path}:{line}: '{mod}' is neither a dependency nor in an extra of pyproject.toml")
    assert not bad, "\n".join(bad)


def test_the_functional_model_runs_without_threadpoolctl(monkeypatch):
    """threadpoolctl only comes with scikit-learn: without it the model runs and gives the same codes."""
    from helpers import workload
    from tlm.config.arch import load_arch
    from tlm.functional import model as F
    arch = load_arch(ROOT / "configs" / "imagine.yaml")
    wl = workload([{"name": "c", "type": "conv2d", "out_channels": 4, "kernel": 3}], shape=(2, 5, 5))
    x = np.random.default_rng(0).integers(0, 256, size=(3, 2, 5, 5))
    net = F.FunctionalNet(arch, wl, F.random_params(arch, wl, x))
    with_it = net.run(x, "cim", noise_lsb=1.0).outputs
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)  # `import threadpoolctl` now raises ImportError
    assert np.array_equal(net.run(x, "cim", noise_lsb=1.0).outputs, with_it)


def test_setup_finds_the_packages():
    """No hand-kept package list in pyproject.toml (it once left out tlm/sweep)."""
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text()).get("tool", {}).get("setuptools", {})
    assert "packages" not in cfg and "find_packages(" in (ROOT / "setup.py").read_text()
