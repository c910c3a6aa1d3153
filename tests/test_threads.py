"""BLAS threads: `import tlm` changes no environment variable; the project's own kernels run on one BLAS
thread unless the user set a count; the `tlm` command sets one thread at its start (before numpy loads);
`tlm.set_blas_threads(n)` is the explicit process-wide switch (tlm/functional/threads.py)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytest.importorskip("threadpoolctl")

INFO = "[i['num_threads'] for i in threadpool_info() if i['user_api'] == 'blas']"


def _run(code, **env_vars):
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    env.update(PYTHONPATH=str(ROOT), **env_vars)
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def test_import_tlm_changes_no_environment_variable():
    out = _run("import os, json; before = dict(os.environ); import tlm; tlm.__version__; "
               "print(json.dumps([before == dict(os.environ), 'numpy' in __import__('sys').modules]))")
    assert out == [True, False]  # nothing set, nothing heavy imported


def test_kernels_run_on_one_blas_thread_unless_the_user_says_otherwise():
    if (os.cpu_count() or 1) < 2:
        pytest.skip("one core: one thread either way")
    code = ("import json, numpy; from threadpoolctl import threadpool_info; import tlm; "
            "from tlm.functional.threads import blas_threads; outside = " + INFO + "\n"
            "with blas_threads():\n    inside = " + INFO + "\n"
            "print(json.dumps([outside, inside]))")
    outside, inside = _run(code)
    assert outside and max(outside) > 1  # import tlm left numpy's default alone
    assert set(inside) == {1}
    outside, inside = _run(code, OPENBLAS_NUM_THREADS="2")
    assert set(inside) == set(outside) == {2}  # the user's count is kept


def test_the_command_sets_one_thread_before_numpy_loads():
    if (os.cpu_count() or 1) < 2:
        pytest.skip("one core: one thread either way")
    code = ("import json; from tlm.functional.threads import cli_defaults; cli_defaults(); import numpy; "
            "from threadpoolctl import threadpool_info; print(json.dumps(" + INFO + "))")
    assert set(_run(code)) == {1}
    assert set(_run(code, OPENBLAS_NUM_THREADS="2")) == {2}


def test_set_blas_threads_is_process_wide():
    if (os.cpu_count() or 1) < 2:
        pytest.skip("one core: one thread either way")
    code = ("import json, os, numpy; from threadpoolctl import threadpool_info; import tlm; "
            "tlm.set_blas_threads(1); print(json.dumps([" + INFO + ", os.environ['OPENBLAS_NUM_THREADS']]))")
    threads, env = _run(code)
    assert set(threads) == {1} and env == "1"
    import tlm
    with pytest.raises(ValueError):
        tlm.set_blas_threads(0)


def test_the_command_entry_sets_the_variables():
    code = ("import atexit, os, sys; atexit.register(lambda: print(os.environ.get('OPENBLAS_NUM_THREADS'))); "
            "sys.argv = ['tlm', '--version']; from tlm.cli import entry; entry()")
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    env["PYTHONPATH"] = str(ROOT)
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert p.stdout.strip().splitlines()[-1] == "1", p.stdout + p.stderr


def test_the_functional_model_runs_its_kernels_on_one_thread(monkeypatch):
    if (os.cpu_count() or 1) < 2:
        pytest.skip("one core: one thread either way")
    import numpy as np
    from threadpoolctl import threadpool_info, threadpool_limits

    from tlm.config.arch import load_arch
    from tlm.config.workload import load_workload
    from tlm.functional import model as F
    for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.delenv(v, raising=False)  # the user chose nothing
    arch, wl = load_arch(ROOT / "configs" / "imagine.yaml"), load_workload(ROOT / "workloads" / "mnist_cnn.yaml")
    net = F.build(arch, wl)
    seen = []
    inner = net._run_batch
    monkeypatch.setattr(net, "_run_batch", lambda *a: (seen.append(
        {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}), inner(*a))[1])
    with threadpool_limits(limits=2, user_api="blas"):  # the process allows two
        net.run(np.zeros((1, 1, 28, 28), dtype=np.uint8), "cim")
    assert seen == [{1}]
