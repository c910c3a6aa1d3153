"""The command line: default run, outputs, and one-line errors with exit code 2 for bad input."""
import json
import subprocess
import sys
import textwrap

import pytest

from conftest import ROOT
from tlm.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_default_run_prints_three_tables(capsys):
    code, out, err = run(capsys, "simulate")
    assert code == 0, err
    assert "resnet8 on imagine" in out
    assert "per layer" in out and "s3_conv2" in out
    assert "energy breakdown" in out and "on-chip total" in out


def test_json_has_results_next_to_resolved_config(tmp_path, capsys):
    out = tmp_path / "r.json"
    code, _, err = run(capsys, "simulate", "imagine_4macro", "mnist_cnn", "--json", str(out), "-q")
    assert code == 0, err
    d = json.loads(out.read_text())
    assert d["config"]["macro"]["count"] == 4  # resolved through `extends:`
    assert d["config"]["macro"]["rows"] == 1152
    assert d["workload"]["layers"][0]["out_shape"] == [16, 28, 28]
    s = d["summary"]
    assert s["cycles_per_batch"] == sum(l["cycles"] for l in d["layers"])
    by_kind = d["energy_by_kind_per_batch_pj"]
    assert sum(by_kind.values()) - by_kind["external"] == pytest.approx(s["energy_per_batch_pj"])


def test_csv_outputs(tmp_path, capsys):
    code, _, err = run(capsys, "simulate", "--csv", str(tmp_path / "csv"), "-q")
    assert code == 0, err
    lines = (tmp_path / "csv" / "layers.csv").read_text().splitlines()
    assert lines[0].startswith("layer,type,in_shape,out_shape,input_bits,weight_bits,output_bits,macs,cycles")
    assert len(lines) == 1 + 15 + 1  # header, 15 layers of resnet8, image I/O


def test_validate(capsys):
    code, out, _ = run(capsys, "validate", "imagine", "resnet8")
    assert code == 0 and "ok:" in out and "12,501,632 MACs" in out


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p


def arch_with(tmp_path, old, new):
    text = (ROOT / "configs" / "imagine.yaml").read_text()
    assert old in text
    return write(tmp_path, "arch.yaml", text.replace(old, new, 1))


WL = """\
    name: w
    input: {shape: [3, 8, 8], bits: 8}
    layers:
      - {name: c1, type: conv2d, out_channels: 4, kernel: 3, padding: 1}
      - {name: c2, type: conv2d, out_channels: 4, kernel: 3}
"""


def one_error_line(code, out, err):
    assert code == 2
    assert "Traceback" not in err + out
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_unknown_key_did_you_mean(tmp_path, capsys):
    p = arch_with(tmp_path, "  dp_split_blocks: 9", "  dp_splitblocks: 9")
    line = one_error_line(*run(capsys, "validate", str(p)))
    assert f"{p}:" in line and "macro.dp_splitblocks" in line and "did you mean 'dp_split_blocks'" in line
    lineno = next(i for i, l in enumerate(p.read_text().splitlines(), 1) if "dp_splitblocks" in l)
    assert f"{p}:{lineno}:" in line


def test_wrong_type(tmp_path, capsys):
    p = arch_with(tmp_path, "  count: 1 ", "  count: two ")
    line = one_error_line(*run(capsys, "validate", str(p)))
    assert "macro.count" in line and "expected an integer" in line and "'two'" in line


def test_negative_and_zero_sizes(tmp_path, capsys):
    p = arch_with(tmp_path, "  rows: 1152", "  rows: -4")
    assert "macro.rows" in one_error_line(*run(capsys, "validate", str(p)))
    wl = write(tmp_path, "w.yaml", WL.replace("out_channels: 4, kernel: 3, padding", "out_channels: 0, kernel: 3, padding"))
    line = one_error_line(*run(capsys, "simulate", "imagine", str(wl)))
    assert "layers[0](c1).out_channels" in line and f"{wl}:4:" in line


def test_inconsistent_shapes(tmp_path, capsys):
    wl = write(tmp_path, "w.yaml", WL + "      - {name: a, type: add, inputs: [c1, c2]}\n")
    line = one_error_line(*run(capsys, "simulate", "imagine", str(wl)))
    assert "add needs inputs of one shape" in line and "layers[2](a).inputs" in line and f"{wl}:6:" in line


def test_dense_needs_flat_input(tmp_path, capsys):
    wl = write(tmp_path, "w.yaml", WL + "      - {name: fc, type: dense, out_features: 10}\n")
    line = one_error_line(*run(capsys, "simulate", "imagine", str(wl)))
    assert "flat input" in line and "flatten" in line


def test_unsupported_precision(tmp_path, capsys):
    wl = write(tmp_path, "w.yaml", WL.replace("kernel: 3}", "kernel: 3, precision: {weight: 9}}"))
    line = one_error_line(*run(capsys, "simulate", "imagine", str(wl)))
    assert "weight precision 9b is not supported" in line and "layers[1](c2).precision.weight" in line


def test_malformed_yaml(tmp_path, capsys):
    wl = write(tmp_path, "w.yaml", WL.replace("kernel: 3}", "kernel: [3}"))
    line = one_error_line(*run(capsys, "simulate", "imagine", str(wl)))
    assert "malformed YAML" in line and f"{wl}:5:" in line


def test_missing_file_and_unknown_layer_type(tmp_path, capsys):
    line = one_error_line(*run(capsys, "simulate", "imagine", str(tmp_path / "nope.yaml")))
    assert "nope.yaml" in line and "not found" in line
    wl = write(tmp_path, "w.yaml", WL.replace("type: conv2d, out_channels: 4, kernel: 3}", "type: conv3d}"))
    line = one_error_line(*run(capsys, "simulate", "imagine", str(wl)))
    assert "unknown layer type 'conv3d'" in line and "did you mean 'conv2d'" in line


def test_bad_cli_argument(capsys):
    line = one_error_line(*run(capsys, "simulate", "--engine", "quantum"))
    assert "invalid choice" in line and "tlm simulate" in line


def test_error_leaves_no_output_file(tmp_path, capsys):
    wl = write(tmp_path, "w.yaml", WL.replace("out_channels: 4, kernel: 3}", "out_channels: 4, kernel: 30}"))
    out = tmp_path / "r.json"
    one_error_line(*run(capsys, "simulate", "imagine", str(wl), "--json", str(out)))
    assert not out.exists() and list(tmp_path.iterdir()) == [wl]


def test_console_script_in_a_fresh_process(tmp_path):
    """The real entry point, as a user runs it: exit 2 and one line, no traceback."""
    p = subprocess.run([sys.executable, "-m", "tlm", "simulate", "imagine", str(tmp_path / "x.yaml")],
                       capture_output=True, text=True, cwd=tmp_path, env={"PYTHONPATH": str(ROOT), "PATH": ""})
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "Traceback" not in p.stderr


def test_lone_workload_argument_is_the_workload(capsys, tmp_path):
    code, out, err = run(capsys, "simulate", "mnist_cnn")
    assert code == 0, err
    assert "mnist_cnn on imagine" in out
    wl = write(tmp_path, "w.yaml", WL)
    code, out, err = run(capsys, "simulate", str(wl))
    assert code == 0 and "w on imagine" in out


def test_sweep_list_shows_every_settable_field_with_its_value(capsys, arch):
    from tlm.config.schema import describe
    from tlm.config.arch import Arch
    code, out, err = run(capsys, "sweep", "--list")
    assert code == 0, err
    lines = out.splitlines()
    for path, kind, _doc, _default in describe(Arch):
        if kind in ("int", "float", "bool"):
            assert any(l.split()[:1] == [path] for l in lines), path
    row = next(l for l in lines if l.split()[:1] == ["macro.count"])
    assert row.split()[2] == str(arch.macro.count)
    assert any(l.split()[:1] == ["workload.batch"] for l in lines)
