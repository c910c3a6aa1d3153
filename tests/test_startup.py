"""Start-up: a command imports what it uses and nothing else.  Each case runs the CLI in a fresh process
and lists the modules it loaded (sys.modules after the run): no other command's module, no onnx,
matplotlib, datasets or functional model unless the command uses them, no rich for `-q`, no SimPy
for the analytic engine.  The time itself is a benchmark target (benchmarks/bench_startup.py)."""
import importlib
import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT

HEAVY = ("onnx", "matplotlib", "tlm.functional.datasets", "tlm.functional.model", "tlm.services.accuracy", "tlm.onnxio.graph",
         "tlm.present.plots", "tlm.services.sweep", "scipy", "sklearn", "mlxtend", "dask")
CODE = ("import json, sys; from tlm.cli import main; rc = main(sys.argv[1:]); "
        "sys.stdout.flush(); sys.stderr.write('\\nMODULES ' + json.dumps(sorted(sys.modules)) + '\\n'); "
        "sys.exit(rc)")


def loaded(*argv) -> set:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.run([sys.executable, "-c", CODE, *argv], capture_output=True, text=True, env=env,
                       cwd=ROOT, timeout=120)
    assert p.returncode == 0, p.stderr
    line = [ln for ln in p.stderr.splitlines() if ln.startswith("MODULES ")][-1]
    return set(json.loads(line[len("MODULES "):]))


def _commands_loaded(mods):
    return {m.split(".")[3] for m in mods if m.startswith("tlm.cli.commands.") and not m.startswith("tlm.cli.commands._")}


def _heavy(mods):
    return {m for m in mods if m.split(".")[0] in HEAVY or m in HEAVY}


def test_simulate_quiet_imports_only_simulate_and_no_rich():
    mods = loaded("simulate", "resnet8", "-q")
    assert _commands_loaded(mods) == {"simulate"}
    assert not _heavy(mods)
    assert not {m for m in mods if m.split(".")[0] == "rich"}  # -q prints nothing: no rich at all
    assert "simpy" in mods  # (the default engine is the SimPy one: the check above is not vacuous)
    assert "difflib" not in mods  # did-you-mean is imported on an error path only
    # a sequential run without --trace loads neither the mapped controller nor the trace writer (json)
    assert not {"tlm.engines.transaction.pipeline", "tlm.engines.transaction.trace"} & mods


def test_analytic_engine_needs_no_simpy():
    mods = loaded("simulate", "resnet8", "-q", "--engine", "analytic")
    assert "simpy" not in mods and not any(m.startswith("tlm.engines.transaction.") for m in mods)
    assert _commands_loaded(mods) == {"simulate"}


def test_printing_commands_load_only_themselves():
    mods = loaded("validate", "imagine")
    assert _commands_loaded(mods) == {"validate"}
    assert not _heavy(mods) and "simpy" not in mods and "numpy" not in mods
    mods = loaded("validate", "imagine", "resnet8")  # with a workload it builds the plan (numpy), no engine
    assert _commands_loaded(mods) == {"validate"} and not _heavy(mods) and "simpy" not in mods
    assert not any(m.startswith("tlm.engines") for m in mods)
    mods = loaded("simulate", "resnet8", "--engine", "analytic")
    assert _commands_loaded(mods) == {"simulate"} and not _heavy(mods)
    assert "rich.table" in mods  # printed: the tables need rich (the -q case above has none)


def test_help_lists_every_command_without_importing_one():
    mods = loaded("--help")
    assert _commands_loaded(mods) == set()
    assert "numpy" not in mods and not {m for m in mods if m.split(".")[0] in ("rich", "yaml", "simpy")}


def test_command_table_matches_the_modules():
    """tlm/cli/commands/__init__.py lists every command module with its NAME, HELP and ORDER, so `tlm --help`
    prints them without importing them."""
    from tlm.cli import commands
    listed = {c.module: c for c in commands.COMMANDS}
    files = {f[:-3] for f in os.listdir(os.path.dirname(commands.__file__))
             if f.endswith(".py") and not f.startswith("_")}
    assert set(listed) <= files, f"listed without a module: {sorted(set(listed) - files)}"
    assert files <= set(listed), (f"add a Command(NAME, module, HELP, ORDER) line to COMMANDS in "
                                  f"tlm/cli/commands/__init__.py for {sorted(files - set(listed))}")
    for name, c in listed.items():
        mod = importlib.import_module(f"tlm.cli.commands.{name}")
        assert (mod.NAME, mod.HELP, getattr(mod, "ORDER", 50)) == (c.name, c.help, c.order), name


def test_an_unlisted_command_module_is_still_found(tmp_path, monkeypatch):
    """A command module added without a line in COMMANDS still runs (the parser imports it)."""
    from tlm import cli
    from tlm.cli import commands
    mod = tmp_path / "hello.py"
    mod.write_text("NAME = 'hello'\nHELP = 'say hello'\n\ndef add_arguments(p):\n    pass\n\n"
                   "def run(args):\n    print('hello there')\n    return 3\n")
    monkeypatch.setattr(commands, "__path__", [*commands.__path__, str(tmp_path)])
    monkeypatch.setattr(commands, "__file__", str(mod))  # the listing looks in this folder
    try:
        table = cli._command_table()
        assert "hello" in [c.name for c in table]
        assert cli.main(["hello"]) == 3
    finally:
        sys.modules.pop("tlm.cli.commands.hello", None)


@pytest.mark.parametrize("argv", [["simulate", "resnet8", "-q", "--engine", "analytic"]])
def test_importtime_shows_no_other_command(argv):
    """The same check through `python -X importtime`, as the issue asks."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.run([sys.executable, "-X", "importtime", "-m", "tlm", *argv], capture_output=True,
                       text=True, env=env, cwd=ROOT, timeout=120)
    assert p.returncode == 0, p.stderr
    names = {ln.rsplit("|", 1)[-1].strip() for ln in p.stderr.splitlines() if ln.startswith("import time:")}
    assert "tlm.cli.commands.simulate" in names
    assert {n for n in names if n.startswith("tlm.cli.commands.") and n != "tlm.cli.commands._common"} == \
        {"tlm.cli.commands.simulate"}
    assert not _heavy(names) and not {n for n in names if n.split(".")[0] == "rich"}


def test_simulate_loads_no_api_module_it_does_not_call():
    """tlm/api loads its result types, the file-level commands and accuracy when first asked (`_LAZY`):
    a `tlm simulate` goes through tlm.api and needs none of them."""
    mods = loaded("simulate", "resnet8", "-q")
    assert "tlm.api" in mods  # (the command does go through the API: the check below is not vacuous)
    assert not {"tlm.api._commands", "tlm.api._results", "tlm.api._accuracy"} & mods


def test_simulate_without_set_loads_no_override_module():
    """`--set` is parsed by tlm/config/overrides.py (and its dataclass): a run without it never imports it."""
    assert "tlm.config.overrides" not in loaded("simulate", "resnet8", "-q")
    assert "tlm.config.overrides" in loaded("simulate", "resnet8", "-q", "--set", "macro.count=2")  # (not vacuous)


def test_a_named_command_builds_only_its_own_parser():
    """Each subparser costs ~0.1 ms (argparse looks its messages up through gettext): `tlm simulate` builds
    the simulate parser alone; `tlm --help` and an unknown command list them all."""
    import argparse

    from tlm import cli

    def commands(argv):
        parser, handlers = cli.build_parser(argv)
        (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        return set(sub.choices), set(handlers)
    every = {c.name for c in cli._command_table()}
    assert commands(["simulate", "resnet8"]) == ({"simulate"}, {"simulate"})
    assert commands(["--help"])[0] == commands(["simulat"])[0] == every and len(every) > 5


def test_a_listed_command_does_not_list_the_commands_folder(monkeypatch):
    """The folder of command modules is listed only to find modules COMMANDS does not name."""
    import os

    from tlm import cli

    def no_listing(path):
        raise AssertionError(f"listed {path}")
    monkeypatch.setattr(os, "listdir", no_listing)
    parser, handlers = cli.build_parser(["simulate", "resnet8"])
    assert set(handlers) == {"simulate"}
    with pytest.raises(AssertionError, match="listed"):
        cli.build_parser(["--help"])  # (not vacuous: every command is listed from the folder too)


def test_simulate_without_output_options_loads_no_output_checker():
    assert "tlm.present.outputs" not in loaded("simulate", "resnet8", "-q")
    assert "tlm.present.outputs" in loaded("simulate", "resnet8", "-q", "--json", os.devnull)  # (not vacuous)


def test_section_field_types_resolve_as_get_type_hints_without_it(monkeypatch):
    """tlm/config/schema._hints resolves the sections' field types by name (compiling a hundred annotations
    with typing.get_type_hints costs ~2 ms at every start): the same types, and loading the shipped
    architecture needs no get_type_hints at all."""
    import dataclasses
    import typing

    from tlm.config import arch, schema
    from tlm.hw import controller  # noqa: F401  (its sections)
    classes, todo = [], list(schema.Section.__subclasses__())
    while todo:
        c = todo.pop()
        todo += c.__subclasses__()
        if dataclasses.is_dataclass(c):
            classes.append(c)
    assert len(classes) >= 15
    for c in classes:
        hints = typing.get_type_hints(c)
        assert schema._hints(c) == {f.name: hints[f.name] for f in dataclasses.fields(c)}, c
    calls = []
    real = typing.get_type_hints
    monkeypatch.setattr(typing, "get_type_hints", lambda *a, **k: calls.append(a) or real(*a, **k))
    schema._hints.cache_clear()
    arch.load_arch(ROOT / "configs" / "imagine.yaml")
    assert calls == []


def test_a_sequential_run_loads_no_schedule_module():
    """The job schedule (tlm/mapping/schedule.py, ~1 ms to load) and the replica search are for the mapped
    policies only: tlm/mapping/mapper.py re-exports the schedule's names lazily, assign imports the search
    when it runs."""
    mods = loaded("simulate", "resnet8", "-q")
    assert not {"tlm.mapping.schedule", "tlm.mapping.replicate"} & mods
    mods = loaded("simulate", "mnist_cnn", "-q", "--set", "macro.count=8", "--mapping", "replicate")
    assert {"tlm.mapping.schedule", "tlm.mapping.replicate"} <= mods  # (not vacuous)
