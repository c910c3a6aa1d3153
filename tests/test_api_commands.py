"""The API behind the commands that are not simulations (tlm/api/_commands.py): each command's module only
parses arguments and prints, so what it prints (or writes with --json / -o / --write) is what the API
returns -- command by command: bench, calibrate (and --global), import, validate, schema, paper's
sensitivity and controller overhead.  (simulate, sweep, accuracy, paper, chips: tests/test_api.py.)"""
import json
import re

import pytest

import tlm
from tlm.cli import main


def _lines(capsys, *argv) -> str:
    assert main(list(argv)) == 0
    return capsys.readouterr().out


def test_bench_same_as_cli(tmp_path, monkeypatch):
    """The simulated hardware's numbers of `tlm bench --json` are the API's (wall times are measured, so
    they differ from run to run: only the deterministic fields are compared).  The references and the
    fresh process's RSS are stubbed: measured by tests/test_bench.py, slow here."""
    from tlm.services import bench
    monkeypatch.setattr(bench, "references", lambda arch, wl: {
        "simpy_events_per_s": 1e6, "matmul_gflops": 1.0, "import_floor_cpu_ms": 1.0, "analytic_point_ms": 1.0,
        "analytic_point_workload": wl.name})
    monkeypatch.setattr(bench, "fresh_process_peak_rss_mb", lambda *a: None)
    out = tmp_path / "b.json"
    assert main(["bench", "imagine", "resnet8", "--engine", "analytic", "--repeat", "1", "--set", "macro.count=2",
                 "--json", str(out)]) == 0
    cli = json.loads(out.read_text())
    api = tlm.bench("imagine", ["resnet8"], engine="analytic", repeat=1, overrides={"macro.count": 2}).to_dict()
    fixed = ("workload", "engine", "repeats", "macs", "cycles", "transactions", "inferences_per_s", "tops", "tops_per_w")
    assert [{k: m[k] for k in fixed} for m in cli["measurements"]] == [{k: m[k] for k in fixed}
                                                                        for m in api["measurements"]]
    one = tlm.simulate("imagine", "resnet8", engine="analytic", overrides={"macro.count": 2})
    assert api["measurements"][0]["cycles"] == one.cycles  # --set reached the benchmarked architecture
    assert cli["references"] == api["references"] and cli["arch"] == api["arch"]
    with pytest.raises(tlm.InputError):
        tlm.bench(repeat=0)


def _table_rows(text: str, keys) -> dict:
    """{first cell: the other cells} of the printed rows whose first cell is one of `keys`."""
    out = {}
    for line in text.splitlines():
        cells = line.split()
        if cells and cells[0] in keys:
            out[cells[0]] = cells[1:]
    return out


def test_calibrate_same_as_cli(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # one line per row
    text = _lines(capsys, "calibrate", "imagine", "--write", str(tmp_path / "a.yaml"))
    res = tlm.calibrate("imagine", write=tmp_path / "b.yaml")
    assert (tmp_path / "a.yaml").read_text() == (tmp_path / "b.yaml").read_text()  # the same values written
    rows = _table_rows(text, set(res.values))
    assert rows.keys() == res.values.keys()
    for p, v in res.values.items():  # parameter, in the file, derived (the API's value)
        assert rows[p][1] == f"{v:.6g}", p
    for fig, _model, err in res.rows:  # every figure's error against the paper, as printed
        assert f"{100 * err:+.2f}%" in text, fig.key
    assert f"{res.walden_fj:.3g} fJ per conversion step" in " ".join(text.split())


def test_calibrate_global_same_as_cli(capsys, monkeypatch):
    """The fitted constants printed are the API's (the fit itself, ~25 s, is stubbed: each constant 10%
    up; tests/test_globalfit.py checks the real one)."""
    from tlm.hw import circuit
    from tlm.services import globalfit
    monkeypatch.setattr(globalfit, "fit", lambda designs: {k: 1.1 * v for k, v in circuit.constants().items()})
    monkeypatch.setenv("COLUMNS", "200")
    text = _lines(capsys, "calibrate", "--global")
    fit = tlm.calibrate_global()
    rows = _table_rows(text, set(fit.after))
    assert rows.keys() == fit.after.keys() and not fit.written
    for c, v in fit.after.items():  # constant, unit, before, fitted
        assert f"{fit.before[c]:.4g}" in rows[c] and (f"{v:.4g}" in rows[c] or f"{v:.4g} (!)" in " ".join(rows[c]))
        assert v == pytest.approx(1.1 * fit.before[c], rel=1e-3)
    # a fit over every design leaves none out: no "left out" column (it once repeated the in-sample one)
    assert "in-sample" in text and "left out" not in text


def test_import_same_as_cli(tmp_path, capsys):
    pytest.importorskip("onnx")
    from onnx_models import small_cnn
    model = small_cnn(tmp_path / "m.onnx")
    text = " ".join(_lines(capsys, "import", str(model), "-o", str(tmp_path / "a.yaml"), "--precision", "4").split())
    res = tlm.import_onnx(model, tmp_path / "b.yaml", precision={"input": 4, "weight": 4, "output": 4})
    assert (tmp_path / "a.yaml").read_text() == res.text == (tmp_path / "b.yaml").read_text()
    wl = res.workload
    assert f"{len(wl.layers)} layers" in text and f"{wl.macs:,} MACs" in text
    assert {(L.bits_in, L.bits_w, L.bits_out) for L in wl.layers if L.is_compute} == {(4, 4, 4)}
    with pytest.raises(tlm.InputError):
        tlm.import_onnx(model, tmp_path / "c.yaml", precision={"weight": 0})
    assert not (tmp_path / "c.yaml").exists()


def test_validate_same_as_cli(capsys):
    text = " ".join(_lines(capsys, "validate", "imagine", "resnet8", "--set", "macro.count=3").split())
    arch, wl = tlm.validate("imagine", "resnet8", overrides={"macro.count": 3})
    assert arch.macro.count == 3
    assert f"'{arch.name}' (3 macro(s)" in text and f"({len(wl.layers)} layers, {wl.macs:,} MACs)" in text
    with pytest.raises(tlm.InputError):
        tlm.validate("imagine", "resnet8", overrides={"macro.count": 0})


def test_schema_same_as_cli(capsys):
    for kind in ("arch", "workload"):
        assert json.loads(_lines(capsys, "schema", kind)) == tlm.schema(kind)
    assert "macro" in tlm.schema()["then"]["properties"]  # (with extends:, every field optional)
    with pytest.raises(tlm.InputError):
        tlm.schema("nope")


def test_paper_overhead_and_sensitivity_same_as_cli(tmp_path, capsys, monkeypatch):
    """`tlm paper --sensitivity`: the controller's energy by component and the sensitivity tables print
    the API's numbers; its --json holds them too."""
    monkeypatch.setenv("COLUMNS", "200")
    out = tmp_path / "p.json"
    text = _lines(capsys, "paper", "--sensitivity", "--json", str(out))
    p = tlm.paper(sensitivity=True)
    d = json.loads(out.read_text())
    assert d == json.loads(json.dumps(p.to_dict()))
    parts = p.overhead["parts_pj"]
    assert d["controller_overhead"]["energy_pj"] == pytest.approx(parts, rel=1e-12)
    total = p.reference.on_chip_energy_pj
    for name, e in parts.items():  # energy and share of the run, as printed
        assert re.search(rf"{re.escape(name)}\s.*{100 * e / total:.1f}%", text), name
    assert sum(parts.values()) <= p.reference.energy_by_component_pj["controller"] * (1 + 1e-9)
    for param, row in p.sensitivity["rows"].items():
        assert re.search(rf"^\s*{param}\s+" + r"\s+".join(re.escape(f"{100 * v:+.2f}%") for v in row["figures"].values()),
                         text, re.M), param


# what a command module may use from the layers below the API besides the API itself: constants (UPPER
# case), exceptions, and these readers, formatters and writers of its own output -- never a simulation,
# a fit, a sweep or a model run (those are tlm.api functions, tested above against the command line)
PRINTING = {
    "tlm.config.yamlio.atomic_write", "tlm.config.yamlio.atomic_write_all",  # writing what it prints
    "tlm.config.paths.shipped", "tlm.config.paths.resolve",  # naming the input files in the outputs
    "tlm.config.arch.Arch", "tlm.config.schema.describe", "tlm.config.overrides.arch_leaves",  # sweep --list
    "tlm.functional.datasets.is_file_arg", "tlm.services.accuracy.dp_noise_text",
    "tlm.services.calibrate.get", "tlm.hw.controller.published_ff", "tlm.hw.controller.range_source",
    "tlm.services.paper.converted", "tlm.services.paper.kernel_for", "tlm.services.paper.imagine_published",
    "tlm.services.sweep.parse_settings",  # --set's values parsed, before the sweep (the plot columns)
    "tlm.services.sweep.read_table", "tlm.services.sweep.best", "tlm.services.sweep.pareto_by_batch",  # its table
    "tlm.engines.transaction.payload.TransactionError", "tlm.engines.transaction.system.SimulationStalled",
}
BELOW = ("tlm.config", "tlm.onnxio", "tlm.hw", "tlm.mapping", "tlm.functional", "tlm.engines", "tlm.services")


def _is_module(name: str) -> bool:
    import importlib.util
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def test_command_modules_only_parse_and_print():
    import ast
    from pathlib import Path
    bad = []
    for f in sorted((Path(tlm.__file__).parent / "cli" / "commands").glob("*.py")):
        tree = ast.parse(f.read_text())
        names = {}  # local name -> what it is below the API
        for n in ast.walk(tree):
            if isinstance(n, ast.ImportFrom) and n.module and n.module.startswith(BELOW):
                names.update({a.asname or a.name: f"{n.module}.{a.name}" for a in n.names})
            elif isinstance(n, ast.Import):
                bad += [f"{f.name}: import {a.name}" for a in n.names if a.name.startswith(BELOW)]
        used = set()
        for n in ast.walk(tree):
            if isinstance(n, ast.Name) and n.id in names and not _is_module(names[n.id]):
                used.add(names[n.id])
            elif isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id in names \
                    and _is_module(names[n.value.id]):  # a module imported by name: what it is used for
                used.add(f"{names[n.value.id]}.{n.attr}")
        for u in sorted(used):
            last = u.rsplit(".", 1)[1]
            if u not in PRINTING and not last.isupper():
                bad.append(f"{f.name}: {u}")
    assert not bad, bad


def test_chips_leave_one_out_same_as_cli(capsys, monkeypatch):
    """`tlm chips --loo` prints tlm.leave_one_out()'s figures and summary.  The refits (minutes) are stubbed:
    each design 'left out' is predicted with the constants 10% up; docs/validation.md holds the real tables
    (scripts/gen_validation_doc.py)."""
    from tlm.hw import circuit
    from tlm.services import globalfit
    up = {k: 1.1 * v for k, v in circuit.constants().items()}
    monkeypatch.setattr(globalfit, "leave_one_out", lambda ds: {d.name: (up, globalfit.predictions(d, up)) for d in ds})
    monkeypatch.setenv("COLUMNS", "200")
    text = _lines(capsys, "chips", "--loo")
    loo = tlm.leave_one_out()
    assert loo["in_sample"].keys() == loo["left_out"].keys()
    for label, s in loo["summary"].items():  # constants, figures, median, within 25%, worst, shares
        assert re.search(rf"^\s*{label}\s+{s['n']}\s+{100 * s['median']:.1f}%\s+{s['within_25']}\s+"
                         rf"{100 * s['worst']:.0f}%\s+{s['share_worst_points']:.0f} pt", text, re.M), label
    assert loo["summary"]["in-sample"] != loo["summary"]["left out"]  # the stub moved the figures
    for name, rows in loo["left_out"].items():
        f, model, err = rows[0]
        assert re.search(rf"{re.escape(name.split('/')[-1])}\s+{re.escape(f.key)}\s", text), name
