"""The wheel carries the shipped configs, workloads and weights, and tlm finds them when installed."""
import subprocess
import sys
import zipfile

import pytest

from conftest import ROOT


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    p = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                        "-w", str(out), str(ROOT)], capture_output=True, text=True, timeout=300)
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
    for sub in ("tlm/hw/", "tlm/engines/transaction/", "tlm/cli/commands/"):
        assert any(n.startswith(sub) for n in names), sub


def test_installed_layout_finds_the_shipped_files(monkeypatch, tmp_path):
    """Outside a source checkout the folders next to the package are used (tlm/_configs ...)."""
    from tlm.config import paths
    monkeypatch.setattr(paths, "_REPO", tmp_path)  # no pyproject.toml there: an installed tlm
    pkg = ROOT / "tlm"
    assert paths.shipped_dir("configs") == pkg / "_configs"
    assert paths.shipped_dir("workloads") == pkg / "_workloads"
