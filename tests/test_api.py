"""The public Python API (tlm/api/): the same numbers as the command line, command by command (the CLI's
--json / results file against the API object's fields), overrides as a dict, what is public."""
import json
import math
import tomllib

import numpy as np
import pytest

import tlm
from conftest import ROOT
from tlm.cli import main
from tlm.errors import InputError


def _cli_json(tmp_path, *argv):
    out = tmp_path / "out.json"
    assert main([*argv, "--json", str(out)]) == 0
    return json.loads(out.read_text())


def _same(a, b, path="") -> None:
    """Equal JSON data, floats to the last bit (both sides ran the same code on the same inputs)."""
    assert type(a) is type(b) or {type(a), type(b)} <= {int, float}, path
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            _same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            _same(x, y, f"{path}[{i}]")
    else:
        assert a == b, (path, a, b)


def test_public_names_and_version():
    import importlib
    api = importlib.import_module("tlm.api")
    for name in api.__all__:
        assert getattr(tlm, name) == getattr(api, name), name
    assert tlm.__version__ == tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert tlm.DEFAULT_ENGINE in tlm.ENGINES and set(tlm.ENGINES) == {"analytic", "tlm"}
    with pytest.raises(AttributeError):
        tlm.no_such_function


@pytest.mark.parametrize("engine", ["analytic", "tlm"])
def test_simulate_same_as_cli(tmp_path, engine):
    cli = _cli_json(tmp_path, "simulate", "imagine", "resnet8", "--engine", engine, "--set", "macro.count=2",
                    "--set", "workload.precision.weight=4", "--mapping", "resident", "-q")
    r = tlm.simulate("imagine", "resnet8", engine=engine, overrides={"macro.count": 2, "workload.precision.weight": 4},
                     mapping="resident")
    api = json.loads(r.to_json())
    for key in ("summary", "energy_by_kind_per_batch_pj", "components", "layers", "config", "workload", "notes"):
        _same(cli[key], api[key], key)
    assert r.arch.macro.count == 2 and {L.bits_w for L in r.workload.layers if L.is_compute} == {4}


def test_overrides_dict_is_the_set_option():
    a = tlm.load_arch("imagine", {"macro.count": 4, "adc.cycles_per_bit": 2})
    b = tlm.load_arch("imagine", ["macro.count=4", "adc.cycles_per_bit=2"])
    assert a.to_dict() == b.to_dict() and a.macro.count == 4
    with pytest.raises(InputError) as e:
        tlm.load_arch("imagine", {"macro.cuont": 4})
    assert "macro.count" in str(e.value)  # did you mean
    with pytest.raises(InputError):
        tlm.load_arch("imagine", {"macro.count": 0})  # the schema's bound, as on the command line
    wl = tlm.load_workload("resnet8", "imagine", {"workload.precision": 4})
    assert {(L.bits_in, L.bits_w) for L in wl.layers if L.is_compute and L.name != wl.layers[0].name} == {(4, 4)}


def test_sweep_same_as_cli(tmp_path):
    out = tmp_path / "s.csv"
    assert main(["sweep", "imagine", "resnet8", "--set", "macro.count=1,2", "--set", "precision.weight=2..4",
                 "-o", str(out), "-q"]) == 0
    seen = []
    s = tlm.sweep("imagine", "resnet8", {"macro.count": [1, 2], "precision.weight": range(2, 5)},
                  on_progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (6, 6) and [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert s.csv == out.read_text()  # every cell, the base fingerprint too: the same engine options
    assert s.n_points == 6 and s.paths == ["macro.count", "workload.precision.weight"]
    one = tlm.simulate("imagine", "resnet8", engine="analytic", overrides={"macro.count": 2, "precision.weight": 3})
    i = 4  # point 4 = (macro.count 2, weight 3): the first setting varies slowest
    assert s.table["energy_per_inference_pj"][i] == pytest.approx(one.row()["energy_per_inference_pj"], rel=1e-12)


def test_accuracy_same_as_cli_with_every_models_outputs(tmp_path):
    cli = _cli_json(tmp_path, "accuracy", "--images", "20")
    a = tlm.accuracy(images=20)
    _same(cli, json.loads(json.dumps(a.to_dict())))
    assert set(cli["outputs"]) == {"float", "ideal", "cim"}
    labels = np.array(cli["labels"])
    for m, out in cli["outputs"].items():
        out = np.array(out)
        assert out.shape == (20, 10)
        assert list(out.argmax(1)) == cli["predictions"][m]  # the prediction is the outputs' argmax
        assert math.isclose(cli["accuracy"][m], (out.argmax(1) == labels).mean())
        if m != "float":  # integer models: output codes of the last layer's bits
            bits = a.workload.layers[-1].bits_out
            assert np.all(out == np.round(out)) and out.min() >= 0 and out.max() <= 2**bits - 1
    assert not np.array_equal(cli["outputs"]["float"], cli["outputs"]["ideal"])


def test_paper_same_as_cli(tmp_path):
    cli = _cli_json(tmp_path, "paper", "--set", "macro.count=2")
    p = tlm.paper("imagine", overrides={"macro.count": 2})
    _same(cli, json.loads(json.dumps(p.to_dict())))
    for f in cli["figures"]:  # error = model / paper - 1
        assert f["error"] == pytest.approx(f["model"] / f["paper"] - 1, rel=1e-9, abs=1e-12)


def test_chips_same_as_cli(tmp_path):
    cli = _cli_json(tmp_path, "chips")
    designs = tlm.chips()
    assert [d["design"] for d in cli["designs"]] == [d.name for d in designs]
    for d, o in zip(cli["designs"], designs):
        assert [(f["key"], f["model"], f["error"]) for f in d["figures"]] == [(r.figure.key, r.model, r.error)
                                                                              for r in o.rows]


def test_simulate_refuses_tlm_options_on_the_analytic_engine():
    with pytest.raises(InputError) as e:
        tlm.simulate(engine="analytic", quantum=10)
    assert "tlm engine only" in str(e.value)
    with pytest.raises(InputError):
        tlm.simulate(engine="nope")
