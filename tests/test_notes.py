"""Notes grouped by kind: one line per kind with its count and an example; -v prints every note."""
import re

from helpers import with_changes
from tlm.present import report
from tlm.engines.analytic import simulate
from tlm.cli import main


def _spilling(arch, resnet8):
    """ResNet-8 with a 1 KiB activation SRAM: (almost) every layer spills."""
    return simulate(with_changes(arch, **{"sram.capacity_kib": 1}), resnet8)


def test_notes_are_grouped_by_kind_with_counts(arch, resnet8):
    r = _spilling(arch, resnet8)
    spilled = int((r.per_layer["spill_bits"][:len(resnet8.layers)] > 0).sum())  # layers that spill
    assert spilled >= 10
    text = report.notes_text(r)
    lines = text.splitlines()
    spill = [ln for ln in lines if "x spill" in ln]
    assert len(spill) == 1 and spill[0].startswith(f"note: {spilled} x spill, e.g. ")
    assert lines[-1] == f"({len(r.notes)} notes of {len(lines) - 1} kinds; -v shows all)"
    # every note is counted once: the counts of the kind lines add up to all notes
    counts = [int(m.group(1)) if (m := re.match(r"note: (\d+) x ", ln)) else 1 for ln in lines[:-1]]
    assert sum(counts) == len(r.notes)


def test_verbose_prints_every_note(arch, resnet8):
    r = _spilling(arch, resnet8)
    assert report.notes_text(r, verbose=True).splitlines() == [f"note: {n}" for n in r.notes]


def test_notes_differing_in_names_and_numbers_only_group_without_a_known_kind(arch, resnet8):
    r = simulate(arch, resnet8)
    r.notes[:] = ["conv1: odd thing 3 happened", "s1_conv1: odd thing 12 happened", "something else"]
    lines = report.notes_text(r).splitlines()
    assert lines[0] == "note: 2 x alike, e.g. conv1: odd thing 3 happened"
    assert lines[1] == "note: something else"


def test_cli_verbose_flag(capsys, tmp_path, arch):
    cfg = tmp_path / "small_sram.yaml"
    cfg.write_text("extends: " + str(arch_path()) + "\nsram: {capacity_kib: 1}\n")
    assert main(["simulate", str(cfg), "resnet8", "--engine", "analytic"]) == 0
    grouped = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("note:")]
    assert main(["simulate", str(cfg), "resnet8", "--engine", "analytic", "-v"]) == 0
    every = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("note:")]
    assert len(every) > len(grouped) >= 1


def arch_path():
    from conftest import ROOT
    return ROOT / "configs" / "imagine.yaml"
