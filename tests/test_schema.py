"""`tlm schema`: JSON Schemas of the architecture and workload formats, made from the declarations that
validate them (tlm/config/json_schema.py), checked with a standard validator (jsonschema)."""
import copy
import json

import pytest

from conftest import ROOT
from tlm.cli import main
from tlm.config.yamlio import load_file
from tlm.errors import InputError

jsonschema = pytest.importorskip("jsonschema")


def _schema(capsys, kind):
    assert main(["schema", kind]) == 0
    s = json.loads(capsys.readouterr().out)
    jsonschema.Draft202012Validator.check_schema(s)
    return jsonschema.Draft202012Validator(s)


def _plain(d):
    return json.loads(json.dumps(d))  # the YAML loader's dicts as plain JSON data


SHIPPED_ARCH = sorted((ROOT / "configs").glob("*.yaml")) + sorted((ROOT / "configs" / "published").glob("*.yaml"))
SHIPPED_WL = sorted((ROOT / "workloads").glob("*.yaml"))


def test_every_shipped_file_validates(capsys):
    arch, wl = _schema(capsys, "arch"), _schema(capsys, "workload")
    assert len(SHIPPED_ARCH) >= 3 and len(SHIPPED_WL) >= 5
    for p in SHIPPED_ARCH:  # files with `extends:` are checked as partial architectures
        errs = [e.message for e in arch.iter_errors(_plain(load_file(p, "architecture file")))]
        assert not errs, (p.name, errs)
    for p in SHIPPED_WL:
        errs = [e.message for e in wl.iter_errors(_plain(load_file(p, "workload file")))]
        assert not errs, (p.name, errs)


def _errors(v, data):
    return [(list(e.absolute_path), e.validator) for e in v.iter_errors(data)]


def _paths(v, data):
    """Every error's path, the sub-errors of if/then included (where the field's own message is)."""
    out = []
    for e in v.iter_errors(data):
        for sub in [e, *e.context]:
            out.append(list(sub.absolute_path))
    return out


@pytest.mark.parametrize("change, path", [
    (("macro", "count", "four"), ["macro", "count"]),  # wrong type
    (("macro", "count", 0), ["macro", "count"]),  # out of range (>= 1)
    (("adc", "pipelined", 1), ["adc", "pipelined"]),  # wrong type (a boolean)
    (("mapping", "policy", "fastest"), ["mapping", "policy"]),  # not in the enum
    (("macro", "cuont", 4), ["macro"]),  # unknown key: reported on the section that has it
])
def test_bad_architecture_values_are_reported_at_their_path(capsys, change, path):
    v = _schema(capsys, "arch")
    data = _plain(load_file(ROOT / "configs" / "imagine.yaml", "architecture file"))
    sec, key, val = change
    data.setdefault(sec, {})[key] = val
    errs = _errors(v, data)
    assert errs and all(p == path for p, _ in errs), errs
    if key == "cuont":
        assert [k for _, k in errs] == ["additionalProperties"]
    from tlm.config.arch import arch_from_dict
    with pytest.raises(InputError):  # tlm's own loader refuses it too: one schema
        arch_from_dict(data)


def test_a_partial_architecture_is_still_checked(capsys):
    v = _schema(capsys, "arch")
    assert not _errors(v, {"extends": "imagine", "macro": {"count": 4}})
    assert _errors(v, {"extends": "imagine", "macro": {"count": -1}}) == [(["macro", "count"], "minimum")]
    assert _errors(v, {"extends": "imagine", "macro": {"cuont": 4}}) == [(["macro"], "additionalProperties")]
    assert _errors(v, {"macro": {"count": 4}})  # without extends: the required sections are missing


def test_every_bound_of_the_architecture_is_the_loaders(capsys):
    """For every numeric parameter with a lower bound: just below it, the schema and tlm's loader both
    refuse; at the bound, both accept (or the loader's cross-field checks object, never the schema)."""
    from tlm.config.arch import Arch, arch_from_dict
    from tlm.config.schema import int_params
    v = _schema(capsys, "arch")
    base = _plain(load_file(ROOT / "configs" / "imagine.yaml", "architecture file"))
    checked = 0
    for path, md in int_params(Arch):
        if md.get("lo") is None or md.get("lo_open"):
            continue
        sec, key = path.split(".")
        if isinstance(base.get(sec, {}).get(key), list):
            continue
        data = copy.deepcopy(base)
        data.setdefault(sec, {})[key] = md["lo"] - 1
        assert _errors(v, data), path
        with pytest.raises(InputError):
            arch_from_dict(data)
        checked += 1
    assert checked >= 10


@pytest.mark.parametrize("edit, path", [
    (lambda d: d["layers"][0].update(out_channels="many"), ["layers", 0, "out_channels"]),  # wrong type
    (lambda d: d["layers"][0].update(out_channels=0), ["layers", 0, "out_channels"]),  # out of range
    (lambda d: d["layers"][0].update(kernal=3), ["layers", 0]),  # unknown key for a conv2d
    (lambda d: d.update(batch=0), ["batch"]),
    (lambda d: d["layers"][0].update(type="conv3d"), ["layers", 0, "type"]),
])
def test_bad_workload_values_are_reported_at_their_path(capsys, edit, path):
    v = _schema(capsys, "workload")
    data = _plain(load_file(ROOT / "workloads" / "resnet8.yaml", "workload file"))
    edit(data)
    paths = _paths(v, data)
    assert path in paths, paths
    from tlm.config.workload import parse_workload
    with pytest.raises(InputError):
        parse_workload(data)


def test_the_workload_schema_names_the_parsers_keys():
    from tlm.config.json_schema import layer_schema, workload_schema
    from tlm.config.workload import _COMMON, _FIELDS, _TOP
    assert set(workload_schema()["properties"]) == _TOP
    rules = {r["if"]["properties"]["type"]["const"]: set(r["then"]["properties"]) for r in layer_schema()["allOf"]}
    assert rules == {t: _COMMON | f for t, f in _FIELDS.items()}
