"""tlm/config/overrides.py, the `--set PATH=VALUE` core: one-value overrides equal hand-edited YAML, the precision
paths say what they change (the image's bits included), and the module stays below the services."""
import subprocess
import sys

import pytest
import yaml

from tlm.config import overrides
from tlm.errors import InputError
from tlm.config.workload import parse_workload


def edited(root, edit):
    w = yaml.safe_load((root / "workloads" / "resnet8.yaml").read_text())
    edit(w)
    return parse_workload(w, "<edited>")


def precisions(wl):
    """The image's bits and every layer's (input, weight, output) bits; a digital layer has no weights."""
    return wl.input_bits, [(l.name, l.bits_in, l.bits_w if l.is_compute else None, l.bits_out)
                           for l in wl.layers]


def test_workload_precision_also_sets_the_image_bits(arch, resnet8, root):
    _, wl = overrides.override(arch, resnet8, ["workload.precision=4"])

    def all4(w):  # what the path changes, written out: the image's bits and every compute layer's
        w["input"]["bits"] = 4
        w["precision"] = {"input": 4, "weight": 4, "output": 4}
    assert precisions(wl) == precisions(edited(root, all4))
    assert wl.input_bits == 4 and resnet8.input_bits == 8

    def only_layers(w):  # a hand edit of the top-level precision alone keeps the file's 8b image
        w["precision"] = {"input": 4, "weight": 4, "output": 4}
    hand = edited(root, only_layers)
    first = next(l for l in hand.layers if l.is_compute)
    assert hand.input_bits == 8 and first.bits_in == 8  # the first layer reads the 8b image
    assert next(l for l in wl.layers if l.is_compute).bits_in == 4
    # the weight and output paths leave the image alone
    _, ww = overrides.override(arch, resnet8, ["precision.weight=2", "precision.output=4"])
    assert ww.input_bits == 8
    assert {l.bits_w for l in ww.layers if l.is_compute} == {2}
    assert {l.bits_out for l in ww.layers if l.is_compute} == {4}


def test_every_precision_path_says_whether_it_changes_the_image_bits():
    for path in overrides.PRECISION_PATHS:
        doc = overrides.WORKLOAD_PATHS[path]
        changes_image = "input.bits" in overrides.PRECISION_CHANGES[path]
        assert ("image's bits (input.bits)" in doc) == changes_image, path
        assert ("image's bits unchanged" in doc) == (not changes_image), path
    assert "input.bits" in overrides.PRECISION_CHANGES["workload.precision"]
    assert "input.bits" in overrides.PRECISION_CHANGES["workload.precision.input"]


def test_sweep_list_shows_what_the_precision_paths_change(capsys):
    from tlm.cli import main
    assert main(["sweep", "--list"]) == 0
    out = capsys.readouterr().out
    # the meaning column (wrapped over several lines), joined back
    flat = " ".join(" ".join(line.split("│")[-1].split()) for line in out.splitlines() if "│" in line)
    assert "the image's bits (input.bits) and every compute layer's input, weight and output bits" in flat
    assert flat.count("image's bits unchanged") == 2


def test_arch_override_is_validated_and_applied(arch, resnet8):
    a, wl = overrides.override(arch, resnet8, ["macro.count=4", "arch.adc.cycles_per_bit=3"])
    assert (a.macro.count, a.adc.cycles_per_bit) == (4, 3)
    assert (arch.macro.count, arch.adc.cycles_per_bit) == (1, 1)  # the base is not changed
    assert wl is resnet8  # no workload path: the workload object is untouched
    with pytest.raises(InputError, match="expected >= 1"):
        overrides.override(arch, resnet8, ["macro.count=0"])
    with pytest.raises(InputError, match="takes one value here, found 3"):
        overrides.override(arch, resnet8, ["macro.count=1,2,4"])
    with pytest.raises(InputError, match="did you mean 'macro.count'"):
        overrides.override(arch, resnet8, ["macro.cont=2"])
    with pytest.raises(InputError, match="no workload"):
        overrides.override(arch, None, ["precision.weight=2"])
    assert overrides.override(arch, resnet8, []) == (arch, resnet8)


def test_overrides_imports_no_service_and_no_cli(root):
    code = ("import sys, tlm.config.overrides; "
            "bad = [m for m in sys.modules if m.startswith(('tlm.services.sweep', 'tlm.cli.commands', 'tlm.cli', "
            "'tlm.present.plots', 'tlm.services.parallel'))]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True,
                         env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
