"""The ONNX conversion cache (tlm/onnxio/cache.py): a hit does not import onnx, a corrupt entry is converted
again with one note, concurrent writers leave one whole entry."""
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

pytest.importorskip("onnx")
from onnx_models import small_cnn  # noqa: E402

ROOT_CODE = ("import sys, json; from tlm.onnxio.graph import load_onnx; wl = load_onnx(sys.argv[1]); "
             "print(json.dumps({'onnx': 'onnx' in sys.modules, 'macs': sum(l.macs for l in wl.layers), "
             "'name': wl.name, 'notes': wl.notes}))")


def _run(root, path, cache):
    env = {"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin", "TLM_CACHE_DIR": str(cache)}
    p = subprocess.run([sys.executable, "-c", ROOT_CODE, str(path)], capture_output=True, text=True, env=env)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def test_a_second_run_reads_the_cache_without_importing_onnx(root, tmp_path):
    model = small_cnn(tmp_path / "m.onnx")
    cache = tmp_path / "cache"
    first, second = _run(root, model, cache), _run(root, model, cache)
    assert first["onnx"] and not second["onnx"]
    assert second["macs"] == first["macs"] > 0 and second["name"] == "m"
    assert len(list((cache / "onnx").glob("*.json"))) == 1


def test_a_corrupt_entry_is_converted_again_with_one_note(tmp_path, monkeypatch):
    from tlm.onnxio.graph import load_onnx
    model = small_cnn(tmp_path / "m.onnx")
    monkeypatch.setenv("TLM_CACHE_DIR", str(tmp_path / "cache"))
    good = load_onnx(model)
    (entry,) = (tmp_path / "cache" / "onnx").glob("*.json")
    for bad in (entry.read_text()[:40], '{"layers": 3}'):  # cut short; valid JSON but not a conversion
        entry.write_text(bad)
        again = load_onnx(model)
        assert [l.macs for l in again.layers] == [l.macs for l in good.layers]
        assert sum("did not read back" in n for n in again.notes) == 1
        assert load_onnx(model).notes == good.notes  # rewritten whole
    # another name for the same bytes is another workload name: its own entry
    (tmp_path / "n.onnx").write_bytes(model.read_bytes())
    assert load_onnx(tmp_path / "n.onnx").name == "n" and load_onnx(model).name == "m"


def test_concurrent_writers_leave_one_whole_entry(root, tmp_path, monkeypatch):
    from tlm.onnxio import cache as C
    from tlm.onnxio.graph import load_onnx
    model = small_cnn(tmp_path / "m.onnx")
    monkeypatch.setenv("TLM_CACHE_DIR", str(tmp_path / "cache"))
    with ThreadPoolExecutor(8) as ex:
        got = list(ex.map(lambda _: load_onnx(model), range(16)))
    assert len({sum(l.macs for l in w.layers) for w in got}) == 1
    files = os.listdir(tmp_path / "cache" / "onnx")
    assert len(files) == 1 and files[0].endswith(".json")  # no temporary file left behind
    assert C._read(tmp_path / "cache" / "onnx" / files[0])["layers"]


def test_the_folder_stays_under_its_size(tmp_path, monkeypatch):
    from tlm.onnxio import cache as C
    monkeypatch.setattr(C, "MAX_BYTES", 2500)
    d = tmp_path / "c"
    for k in range(5):
        C._write(d / f"{k}.json", {"layers": [], "input": {}, "pad": "x" * 900})
        os.utime(d / f"{k}.json", (k, k))  # entry k used at time k
    left = sorted(p.name for p in d.glob("*.json"))
    assert left == ["3.json", "4.json"]  # ~950 bytes each: the two most recently used fit 2,500
