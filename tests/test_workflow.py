"""An architect's workflow (issue 16): `extends:` by shipped name or relative path, `calibrate --write`
of a config that extends another, `--set` on every command, the `-o DIR` output folder."""
import os

import pytest

from conftest import ROOT
from tlm.arch import load_arch
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
    from tlm.commands.calibrate import rebase_extends
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
