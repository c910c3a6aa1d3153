"""Weights files (.npz) that are damaged or do not fit the network: one InputError, never a crash."""
import io
import os
import shutil

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ROOT
from tlm.errors import InputError
from tlm.functional.model import load_params
from tlm.config.workload import load_workload

NPZ = (ROOT / "workloads" / "mnist_cnn.npz").read_bytes()
FUZZ = dict(deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
_SCALE = float(os.environ.get("TLM_FUZZ_SCALE", "0.5"))  # as tests/test_fuzz.py (default 0.5)


def _workload_with(tmp_path, data: bytes):
    d = tmp_path / "w"
    d.mkdir(exist_ok=True)
    shutil.copy(ROOT / "workloads" / "mnist_cnn.yaml", d / "mnist_cnn.yaml")
    (d / "mnist_cnn.npz").write_bytes(data)
    return load_workload(d / "mnist_cnn.yaml")


def test_shipped_weights_load():
    wl = load_workload(ROOT / "workloads" / "mnist_cnn.yaml")
    p = load_params(wl)
    assert p["conv1.w"].shape == (16, 1, 3, 3) and p["fc.w"].shape == (10, 1568)


@settings(max_examples=max(1, int(150 * _SCALE)), **FUZZ)
@given(cut=st.integers(0, len(NPZ)), flips=st.lists(st.tuples(st.integers(0, len(NPZ) - 1),
                                                               st.integers(1, 255)), max_size=4))
def test_damaged_file_is_refused_or_loads(tmp_path_factory, cut, flips):
    data = bytearray(NPZ[:cut] if cut < len(NPZ) else NPZ)
    for pos, x in flips:
        if pos < len(data):
            data[pos] ^= x
    wl = _workload_with(tmp_path_factory.mktemp("npz"), bytes(data))
    try:
        p = load_params(wl)
    except InputError as e:
        assert "mnist_cnn" in str(e) and "\n" not in str(e)
    else:  # a flip that zip's checks let through must still give arrays of the right shapes
        assert p["conv2.w"].shape == (32, 16, 3, 3)


KEYS = sorted(np.load(ROOT / "workloads" / "mnist_cnn.npz").files)


@pytest.mark.parametrize("change", ["drop", "slice", "nan", "object"])
@pytest.mark.parametrize("key", [k for k in KEYS if not k.startswith("input")])
def test_arrays_that_do_not_fit_are_refused(tmp_path, key, change):
    arrays = dict(np.load(ROOT / "workloads" / "mnist_cnn.npz"))
    a = arrays[key].astype(float)
    if change == "drop":
        del arrays[key]
    elif change == "slice":
        arrays[key] = a.reshape(-1)[:1] if a.ndim != 1 else a[:-1]
    elif change == "nan":
        arrays[key] = np.full_like(a, np.nan)
    else:
        arrays[key] = np.array(["x"] * max(a.size, 1)).reshape(a.shape)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    wl = _workload_with(tmp_path, buf.getvalue())
    if change == "drop" and key.endswith(".w_scale"):
        load_params(wl)  # optional: a float step may be absent
        return
    with pytest.raises(InputError) as e:
        load_params(wl)
    assert key.split(".")[0] in str(e.value)
