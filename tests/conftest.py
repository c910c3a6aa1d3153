"""Shared fixtures.  Tests import tlm from this checkout, whatever is installed."""
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# the ONNX conversion cache (tlm/onnxio/cache.py) is off for the tests, whose subprocesses inherit this;
# tests/test_onnx_cache.py turns it on in a folder of its own
os.environ["TLM_CACHE_DIR"] = ""

from tlm.config.arch import load_arch  # noqa: E402
from tlm.config.workload import load_workload  # noqa: E402


@pytest.fixture(scope="session")
def root():
    return ROOT


def sequential(arch):
    """`arch` on the layer-by-layer schedule (`mapping.policy: sequential`): the tests of that schedule
    and of its blocks use it; the shipped default `auto` may pick another policy (tests/test_mapper.py)."""
    from tlm.mapping.mapper import with_policy
    return with_policy(arch, "sequential")


@pytest.fixture(scope="session")
def arch():
    return sequential(load_arch(ROOT / "configs" / "imagine.yaml"))


@pytest.fixture(scope="session")
def arch4():
    return sequential(load_arch(ROOT / "configs" / "imagine_4macro.yaml"))


@pytest.fixture(scope="session")
def resnet8():
    return load_workload(ROOT / "workloads" / "resnet8.yaml")


SHIPPED_WORKLOADS = sorted(p.stem for p in (ROOT / "workloads").glob("*.yaml"))
