"""An architect's workflow (issue 16): `extends:` by shipped name or relative path, `calibrate --write`
of a config that extends another, `--set` on every command, the `-o DIR` output folder."""
import os

import pytest

from conftest import ROOT
from tlm.config.arch import load_arch
from tlm.cli import main


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def elsewhere(tmp_path, monkeypatch):
    """A working folder far from the checkout (nothing shipped next to it)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


# ---- extends: ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("ref", ["imagine", "imagine.yaml"])
def test_extends_takes_a_shipped_name_from_any_folder(elsewhere, ref):
    (elsewhere / "two.yaml").write_text(f"extends: {ref}\nmacro:\n  count: 2\n")
    a = load_arch("two.yaml")
    base = load_arch(ROOT / "configs" / "imagine.yaml")
    assert a.macro.count == 2 and base.macro.count == 1
    assert a.macro.rows == base.macro.rows and a.adc == base.adc  # the rest comes from the shipped base


def test_extends_is_relative_to_the_file_that_says_it(elsewhere):
    (elsewhere / "lib").mkdir()
    (elsewhere / "exp").mkdir()
    (elsewhere / "lib" / "base.yaml").write_text("extends: imagine\nname: mybase\nmacro:\n  count: 3\n")
    (elsewhere / "exp" / "child.yaml").write_text("extends: ../lib/base.yaml\nadc:\n  pipelined: false\n")
    os.chdir(elsewhere / "lib")  # neither the cwd nor the checkout holds the child's base path
    a = load_arch(elsewhere / "exp" / "child.yaml")
    assert (a.name, a.macro.count, a.adc.pipelined) == ("mybase", 3, False)


def test_a_file_next_to_it_wins_over_the_shipped_name(elsewhere):
    (elsewhere / "imagine.yaml").write_text("extends: " + str(ROOT / "configs" / "imagine.yaml")
                                            + "\nname: local\n")
    (elsewhere / "c.yaml").write_text("extends: imagine.yaml\n")
    assert load_arch("c.yaml").name == "local"


def test_unknown_base_lists_the_shipped_names(elsewhere, capsys):
    (elsewhere / "c.yaml").write_text("name: x\nextends: imagin\n")
    code, _, err = run(capsys, "validate", "c.yaml")
    assert code == 2
    assert err.startswith("error: c.yaml:2:1: extends: base file 'imagin' not found")
    assert "did you mean 'imagine'?" in err and err.count("\n") == 1


def test_calibrate_write_of_a_shipped_config_that_extends_loads(elsewhere, capsys):
    """The issue's case: `tlm calibrate imagine_4macro --write cal4.yaml` in another folder."""
    code, _, err = run(capsys, "calibrate", "imagine_4macro", "--write", "cal4.yaml")
    assert code == 0, err
    a = load_arch(elsewhere / "cal4.yaml")
    # the child's own fields and the base's (rows) both arrive
    assert (a.name, a.macro.count, a.dma.bandwidth_bits_per_cycle, a.macro.rows) == ("imagine-4macro", 4, 128, 1152)


def test_calibrate_write_elsewhere_rewrites_a_relative_extends(elsewhere, capsys):
    from tlm.services.calibrate import rebase_extends
    (elsewhere / "lib").mkdir()
    (elsewhere / "out").mkdir()
    (elsewhere / "lib" / "base.yaml").write_text("extends: imagine\nname: mybase\n")
    child = elsewhere / "lib" / "child.yaml"
    child.write_text("# mine\nextends: base.yaml   # my base\nmacro:\n  count: 3\n")
    text = rebase_extends(child.read_text(), child, elsewhere / "out" / "c.yaml")
    assert text == "# mine\nextends: ../lib/base.yaml   # my base\nmacro:\n  count: 3\n"
    # same folder: unchanged; a relative path to a shipped file: its name
    assert rebase_extends(child.read_text(), child, elsewhere / "lib" / "c2.yaml") == child.read_text()
    rel = os.path.relpath(ROOT / "configs" / "imagine.yaml", elsewhere / "lib")
    (elsewhere / "lib" / "s.yaml").write_text(f"extends: {rel}\n")
    assert rebase_extends((elsewhere / "lib" / "s.yaml").read_text(), elsewhere / "lib" / "s.yaml",
                          elsewhere / "out" / "deep" / "s.yaml") == "extends: imagine\n"
    code, _, err = run(capsys, "calibrate", child, "--write", elsewhere / "out" / "c.yaml")
    assert code == 0, err
    a = load_arch(elsewhere / "out" / "c.yaml")
    assert (a.name, a.macro.count) == ("mybase", 3)


# ---- -o DIR: one output folder ------------------------------------------------------------------------
def _read_csv(path):
    import csv
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _walk_keys(d, prefix=""):
    if isinstance(d, dict):
        for k, v in d.items():
            yield f"{prefix}{k}"
            yield from _walk_keys(v, f"{prefix}{k}.")
    elif isinstance(d, list):
        for v in d:
            yield from _walk_keys(v, prefix)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """`tlm simulate imagine_4macro mnist_cnn -o DIR --trace --json F` once for the tests below."""
    import contextlib
    import io
    d = tmp_path_factory.mktemp("run")
    with contextlib.redirect_stdout(io.StringIO()):
        code = main(["simulate", "imagine_4macro", "mnist_cnn", "-o", str(d / "out"), "--trace",
                     "--json", str(d / "r.json")])
    assert code == 0
    return d


def test_output_folder_holds_the_whole_set(run_dir):
    import hashlib
    import json
    out = run_dir / "out"
    names = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert names == sorted(["config.yaml", "workload.yaml", "stats.json", "summary.csv", "layers.csv", "energy.csv",
                            "blocks.csv", "trace.json", "manifest.json"])
    man = json.loads((out / "manifest.json").read_text())
    # every file listed with the SHA-256 of what is on disk
    assert sorted(man["files"]) == [n for n in names if n != "manifest.json"]
    for n, h in man["files"].items():
        assert hashlib.sha256((out / n).read_bytes()).hexdigest() == h, n
    assert man["command"][:4] == ["tlm", "simulate", "imagine_4macro", "mnist_cnn"]
    from tlm import __version__
    assert man["tool"] == {"name": "imagine-tlm", "version": __version__}
    # the inputs: the config, the base it extends, the workload, with their hashes
    roles = [(i["role"], os.path.basename(i["path"])) for i in man["inputs"]]
    assert roles == [("architecture", "imagine_4macro.yaml"), ("architecture base (extends)", "imagine.yaml"),
                     ("workload", "mnist_cnn.yaml")]
    for i in man["inputs"]:
        assert hashlib.sha256(open(i["path"], "rb").read()).hexdigest() == i["sha256"]
    # stats.json is the --json content; the trace is a Perfetto trace
    assert (out / "stats.json").read_bytes() == (run_dir / "r.json").read_bytes()
    assert json.loads((out / "stats.json").read_text())["inputs"] == man["inputs"]
    assert json.loads((out / "trace.json").read_text())["traceEvents"]


def test_output_folder_config_reloads_to_the_same_architecture(run_dir):
    a = load_arch(run_dir / "out" / "config.yaml")
    assert a.to_dict() == load_arch(ROOT / "configs" / "imagine_4macro.yaml").to_dict()


def test_layers_csv_has_shapes_and_precisions(run_dir):
    rows = {r["layer"]: r for r in _read_csv(run_dir / "out" / "layers.csv")}
    # mnist_cnn: 1x28x28 -> conv 3x3 pad 1 (16 ch) -> maxpool 2 -> conv 3x3 pad 1 (32 ch) -> maxpool 2
    assert (rows["conv1"]["in_shape"], rows["conv1"]["out_shape"]) == ("1x28x28", "16x28x28")
    assert (rows["pool1"]["in_shape"], rows["pool1"]["out_shape"]) == ("16x28x28", "16x14x14")
    assert (rows["conv2"]["in_shape"], rows["conv2"]["out_shape"]) == ("16x14x14", "32x14x14")
    assert (rows["flatten"]["out_shape"]) == "1568x1x1" or rows["flatten"]["out_shape"] == "1568"
    assert [rows["conv1"][k] for k in ("input_bits", "weight_bits", "output_bits")] == ["8", "8", "8"]
    assert rows["pool1"]["weight_bits"] == ""  # no weights


def test_every_energy_name_says_per_batch_or_per_inference(run_dir):
    """The naming rule (tlm/engines/result.py): no output has a bare energy_pj; every energy names its scope."""
    import json
    d = json.loads((run_dir / "out" / "stats.json").read_text())
    keys = set(_walk_keys({k: v for k, v in d.items() if k not in ("config", "workload")}))
    for n in ("summary.csv", "layers.csv", "energy.csv"):
        keys |= set(_read_csv(run_dir / "out" / n)[0])
    energy = {k for k in keys if "energy" in k.rsplit(".", 1)[-1]}
    assert "summary.energy_per_batch_pj" in energy and "energy_per_inference_pj" in energy
    bad = sorted(k for k in energy if "_per_batch" not in k and "_per_inference" not in k)
    assert bad == []


def test_summary_csv_is_per_batch_and_per_inference_and_has_area(run_dir, tmp_path, capsys):
    import json
    wl = tmp_path / "b3.yaml"
    text = (ROOT / "workloads" / "mnist_cnn.yaml").read_text()
    assert "\nbatch:" not in text
    wl.write_text(text + "batch: 3\n")
    code, _, err = run(capsys, "simulate", "imagine_4macro", wl, "-o", tmp_path / "b3", "-q")
    assert code == 0, err
    (row,) = _read_csv(tmp_path / "b3" / "summary.csv")
    B = int(row["batch"])
    assert B == 3
    assert float(row["energy_per_batch_pj"]) == pytest.approx(B * float(row["energy_per_inference_pj"]), rel=1e-12)
    comps = [k for k in row if k.startswith("energy_") and k.endswith("_per_inference_pj")
             and k not in ("energy_per_inference_pj", "energy_external_per_inference_pj")]
    assert sum(float(row[k]) for k in comps) == pytest.approx(float(row["energy_per_inference_pj"]), rel=1e-12)
    # area: four macros against one, SRAM and controller shared (only macro.count differs in area)
    one = json.loads((run_dir / "out" / "stats.json").read_text())["summary"]
    a1 = load_arch(ROOT / "configs" / "imagine.yaml")
    from tlm.hw.area import macro_mm2 as macro_area
    assert float(row["area_mm2"]) == pytest.approx(4 * macro_area(a1) + a1.sram.area_mm2 + a1.controller.area_mm2)
    assert one["area_mm2"] == pytest.approx(float(row["area_mm2"]))
    assert float(row["tops_per_mm2"]) == pytest.approx(float(row["tops"]) / float(row["area_mm2"]), rel=1e-12)


def test_output_folder_is_all_or_nothing(tmp_path, capsys):
    out = tmp_path / "out"
    (out / "blocks.csv").mkdir(parents=True)  # one file of the set cannot be written
    code, _, err = run(capsys, "simulate", "mnist_cnn", "-o", out, "-q")
    assert code == 2 and err.count("\n") == 1 and "blocks.csv" in err
    assert sorted(p.name for p in out.iterdir()) == ["blocks.csv"]  # nothing else was written


def test_trace_without_a_path_needs_the_folder(capsys):
    code, _, err = run(capsys, "simulate", "mnist_cnn", "--trace", "-q")
    assert code == 2 and err == "error: <command line>: --trace: --trace needs a path unless -o DIR is given\n"


# ---- --set on the one-run commands ---------------------------------------------------------------------
def _json(capsys, tmp_path, *argv):
    import json
    out = tmp_path / f"r{len(list(tmp_path.iterdir()))}.json"
    code, _, err = run(capsys, "simulate", *argv, "--json", out, "-q")
    assert code == 0, err
    return json.loads(out.read_text())


def test_set_precision_is_the_hand_edited_workload(tmp_path, capsys):
    """`--set workload.precision=4` = a workload file with 4-bit image and 4-bit layers (the issue's
    376.9 vs 311.0 us: the image's bits change too), built by the YAML parser, not by --set."""
    text = (ROOT / "workloads" / "resnet8.yaml").read_text()
    assert "bits: 8" in text and "precision: {input: 8, weight: 8, output: 8}" in text
    hand = tmp_path / "r8_4b.yaml"
    hand.write_text(text.replace("bits: 8", "bits: 4", 1).replace("precision: {input: 8, weight: 8, output: 8}",
                                                                   "precision: {input: 4, weight: 4, output: 4}"))
    by_set = _json(capsys, tmp_path, "imagine", "resnet8", "--engine", "analytic", "--set", "workload.precision=4")
    by_file = _json(capsys, tmp_path, "imagine", hand, "--engine", "analytic")
    base = _json(capsys, tmp_path, "imagine", "resnet8", "--engine", "analytic")
    assert by_set["workload"]["input"]["bits"] == 4
    assert by_set["summary"] == by_file["summary"]
    def bits(wl):  # the weight bits of a layer without weights mean nothing
        return [(l["name"], l["precision"]["input"], l["precision"]["output"],
                 l["precision"]["weight"] if l["type"] in ("conv2d", "dense") else None) for l in wl["layers"]]
    assert bits(by_set["workload"]) == bits(by_file["workload"])
    # 4-bit inputs: half the DP cycles of 8-bit ones, so the run is shorter
    assert by_set["summary"]["cycles_per_batch"] < base["summary"]["cycles_per_batch"]


def test_set_arch_fields_give_the_shipped_4macro_config(tmp_path, capsys):
    """imagine_4macro.yaml is imagine.yaml plus three fields: setting those three on imagine gives its
    numbers (through the schema, not through `extends:`)."""
    sets = ["--set", "macro.count=4", "--set", "macro.weight_double_buffer=true",
            "--set", "dma.bandwidth_bits_per_cycle=128", "--set", "name=imagine-4macro"]
    by_set = _json(capsys, tmp_path, "imagine", "resnet8", *sets)
    shipped = _json(capsys, tmp_path, "imagine_4macro", "resnet8")
    assert by_set["config"] == shipped["config"]
    assert by_set["summary"] == shipped["summary"] and by_set["layers"] == shipped["layers"]


@pytest.mark.parametrize("cmd", [["simulate", "-q"], ["validate", "imagine"], ["paper"],
                                 ["bench", "mnist_cnn", "--repeat", "1"], ["accuracy", "--images", "8"]])
def test_set_errors_are_one_line_with_did_you_mean(capsys, cmd):
    code, out, err = run(capsys, *cmd, "--set", "macro.cont=2")
    assert code == 2 and "Traceback" not in err + out
    assert err == ("error: --set: macro.cont: unknown path (did you mean 'macro.count'?); "
                   "`tlm sweep --list` shows them all\n")
    code, _, err = run(capsys, *cmd, "--set", "macro.count=0")
    assert code == 2 and err == "error: --set macro.count=0: macro.count: expected >= 1, found 0\n"
    code, _, err = run(capsys, *cmd, "--set", "macro.count=1,2")
    assert code == 2 and "takes one value here" in err


def test_validate_set_checks_the_workload_against_the_set_arch(capsys):
    code, out, err = run(capsys, "validate", "imagine", "resnet8", "--set", "workload.precision=9")
    assert code == 2 and "9b is not supported" in err
    code, out, _ = run(capsys, "validate", "imagine", "--set", "macro.count=3")
    assert code == 0 and "3 macro(s)" in out


def test_paper_set_lower_array_supply_raises_macro_efficiency(capsys, monkeypatch):
    """The DP array's energy is C V^2 at vdd_array_v: a lower supply gives more TOPS/W at 1b."""
    import re as _re
    monkeypatch.setenv("COLUMNS", "200")  # one figure per line

    def peak_1b(*a):
        code, out, err = run(capsys, "paper", *a)
        assert code == 0, err
        return float(_re.search(r"macro peak energy efficiency, 1b\s+TOPS/W\s+\S+\s+[\d,.]+\s+([\d,.]+)", out)
                     .group(1).replace(",", ""))
    assert peak_1b("--set", "technology.vdd_array_v=0.25") > peak_1b()
    code, _, err = run(capsys, "paper", "--set", "workload.batch=2")
    assert code == 2 and "no workload" in err


def test_bench_set_applies_to_every_workload(tmp_path, capsys):
    import json
    out = tmp_path / "b.json"
    code, _, err = run(capsys, "bench", "mnist_cnn", "fc_autoencoder", "--engine", "analytic", "--repeat", "1",
                       "--set", "workload.batch=2", "--set", "macro.count=2", "--json", out)
    assert code == 0, err
    ms = json.loads(out.read_text())["measurements"]
    for m, wl in zip(ms, ("mnist_cnn", "fc_autoencoder")):
        s = _json(capsys, tmp_path, wl, "--engine", "analytic", "--set", "workload.batch=2",
                  "--set", "macro.count=2")["summary"]
        assert m["cycles"] == s["cycles_per_batch"] and m["inferences_per_s"] == s["inferences_per_s"]


def test_accuracy_set_output_bits_is_the_output_bits_option(capsys):
    pytest.importorskip("mlxtend")
    a = run(capsys, "accuracy", "--images", "40", "--set", "workload.precision.output=4")
    b = run(capsys, "accuracy", "--images", "40", "--output-bits", "4")
    c = run(capsys, "accuracy", "--images", "40")
    assert a[0] == b[0] == 0
    assert a[1] == b[1] and a[1] != c[1]


def test_an_explicit_trace_path_stays_outside_the_folder(tmp_path, capsys):
    code, _, err = run(capsys, "simulate", "mnist_cnn", "-o", tmp_path / "out", "--trace", tmp_path / "t.json",
                       "-q")
    assert code == 0, err
    assert (tmp_path / "t.json").is_file() and not (tmp_path / "out" / "trace.json").exists()
    import json
    assert "trace.json" not in json.loads((tmp_path / "out" / "manifest.json").read_text())["files"]


def test_output_folder_config_holds_the_set_changes(tmp_path, capsys):
    import json
    code, _, err = run(capsys, "simulate", "mnist_cnn", "--engine", "analytic", "--set", "macro.count=3",
                       "--set", "adc.pipelined=true", "-o", tmp_path / "o", "-q")
    assert code == 0, err
    a = load_arch(tmp_path / "o" / "config.yaml")
    assert (a.macro.count, a.adc.pipelined) == (3, True)  # the shipped value: 1, false
    assert json.loads((tmp_path / "o" / "stats.json").read_text())["config"] == json.loads(json.dumps(a.to_dict()))
    assert "changed by --set: macro.count=3, adc.pipelined=true" in json.loads(
        (tmp_path / "o" / "stats.json").read_text())["notes"]


def _roundtrip_cases():
    from conftest import SHIPPED_WORKLOADS
    cases = [(n, []) for n in SHIPPED_WORKLOADS]
    cases += [("resnet8", ["--set", "workload.precision=3"]), ("mnist_cnn", ["--set", "workload.precision.output=4",
                                                                            "--set", "workload.batch=5"])]
    return cases


@pytest.mark.parametrize("wl,sets", _roundtrip_cases(), ids=lambda v: v if isinstance(v, str) else "-".join(v))
def test_folder_reruns_to_the_same_numbers(tmp_path, capsys, wl, sets):
    """`tlm simulate DIR/config.yaml DIR/workload.yaml` gives the run's numbers again: the folder holds
    everything the run depended on (--set included)."""
    import json
    code, _, err = run(capsys, "simulate", "imagine_4macro", wl, "--engine", "analytic", *sets,
                       "-o", tmp_path / "a", "-q")
    assert code == 0, err
    code, _, err = run(capsys, "simulate", tmp_path / "a" / "config.yaml", tmp_path / "a" / "workload.yaml",
                       "--engine", "analytic", "-o", tmp_path / "b", "-q")
    assert code == 0, err
    a, b = (json.loads((tmp_path / d / "stats.json").read_text()) for d in "ab")
    for k in ("summary", "layers", "workload", "config", "energy_by_kind_per_batch_pj"):
        assert a[k] == b[k], k
    assert (tmp_path / "a" / "summary.csv").read_bytes() == (tmp_path / "b" / "summary.csv").read_bytes()
    assert (tmp_path / "a" / "workload.yaml").read_text() == (tmp_path / "b" / "workload.yaml").read_text()


def test_folder_reruns_an_onnx_model(tmp_path, capsys):
    onnx = pytest.importorskip("onnx")
    import json
    model = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "light", "light_inception_v1.onnx")
    code, _, err = run(capsys, "simulate", "imagine", model, "--engine", "analytic", "-o", tmp_path / "a", "-q")
    assert code == 0, err
    code, _, err = run(capsys, "simulate", tmp_path / "a" / "config.yaml", tmp_path / "a" / "workload.yaml",
                       "--engine", "analytic", "-o", tmp_path / "b", "-q")
    assert code == 0, err
    a, b = (json.loads((tmp_path / d / "stats.json").read_text()) for d in "ab")
    assert a["summary"] == b["summary"] and a["layers"] == b["layers"]
