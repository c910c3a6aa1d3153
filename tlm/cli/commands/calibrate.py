"""`tlm calibrate`: the values an architecture's circuit derives (or, for a design naming its own
`published.fitted`, their fit), optionally written into its config (comments kept); `--global` fits the
circuit model's global constants over every shipped published design."""
from __future__ import annotations

import re
from pathlib import Path

from tlm.config.paths import DEFAULT_ARCH, resolve
from tlm.present.tables import Table
from tlm.config.yamlio import atomic_write, read_text
from tlm.cli.commands._common import add_arch_workload, console

NAME = "calibrate"
HELP = ("the parameters an architecture's circuit derives (--global: fit the circuit model's constants over the "
        "shipped designs)")
ORDER = 45


def add_arguments(p):
    add_arch_workload(p, workload=False)
    p.add_argument("--write", metavar="PATH", help="write the architecture file with the derived (or fitted) "
                                                   "values to PATH (may be the same file; comments are kept; an "
                                                   "extends: still names the same base from PATH's folder)")
    p.add_argument("--global", dest="global_fit", action="store_true",
                   help="fit the global constants of the circuit model (tlm/hw/constants.py) once over every "
                        "shipped published design and print every design's figures with them")
    p.add_argument("--write-global", action="store_true",
                   help="with --global: write the fitted constants into tlm/hw/constants.py and the values "
                        "they derive into every shipped config whose circuit is derived")


def derived_table(arch, written: dict) -> Table:
    from tlm.services import calibrate
    from tlm.hw import circuit
    from tlm.hw.technology_table import CONVERTERS
    fom = circuit.implied_walden_fj(calibrate.with_values(arch, written))
    env = CONVERTERS["walden_fj_per_step_cim"]
    t = Table(title=f"'{arch.name}': engine parameters derived from its circuit (tlm/hw/circuit.py)",
              caption="derived from circuit:, the node's technology table and the global constants "
                      "(tlm/hw/constants.py); no parameter of this design is fitted; * differs from the file.  "
                      f"Its converter: {fom:.3g} fJ per conversion step (Walden), survey span "
                      f"{env.lo:g}-{env.hi:g} (Murmann)")
    for c, j in (("parameter", "left"), ("in the file", "right"), ("derived", "right")):
        t.add_column(c, justify=j)
    for p, v in written.items():
        old = calibrate.get(arch, p)
        t.add_row(p, f"{old:.6g}", f"{v:.6g}" + ("" if float(old) == float(v) else " *"))
    return t


def rebase_extends(text: str, src: Path, dest: Path) -> str:
    """`text` (the file `src`) to be saved as `dest`: a top-level `extends:` rewritten so that it still
    names the same base file from `dest`'s folder (a shipped name, or a path relative to `dest`)."""

    from tlm.config.paths import shipped
    from tlm.config.yamlio import extends_reference, load_text, resolve_base
    data = load_text(text, str(src))
    name = data.get("extends") if isinstance(data, dict) else None
    if not isinstance(name, str):
        return text
    configs = shipped("configs")
    base = resolve_base(name, src, configs)
    if base is None or resolve_base(name, dest, configs) == base:
        return text  # not found (loading says so) or already names the same file from dest
    ref = extends_reference(base, dest, configs)
    line = data.where("extends").line
    lines = text.split("\n")
    new, n = re.subn(r"^(extends\s*:\s*)(\S.*?)(\s+#.*)?$", lambda m: m.group(1) + _yaml_str(ref) + (m.group(3) or ""),
                     lines[line - 1])
    if n != 1:  # e.g. a flow mapping on one line: leave the text alone rather than guess
        return text
    lines[line - 1] = new
    return "\n".join(lines)


def _yaml_str(s: str) -> str:
    import json
    return s if re.fullmatch(r"[A-Za-z0-9_./-]+", s) else json.dumps(s)


def check_loads(text: str, dest: Path, src: Path) -> None:
    """The text `calibrate --write` is about to write loads as an architecture (from `dest`'s folder, as it
    will be read): a fitted value the schema refuses (e.g. macro.rows that macro.fold does not divide) is
    one line naming the source file and the field, and `dest` is left as it was."""
    from tlm.config.arch import load_with_published
    from tlm.errors import InputError, Where
    try:
        load_with_published(dest if str(dest) != "-" else src, text)
    except InputError as e:
        raise InputError(f"the fitted values give a file that does not load ({e.message})", Where(str(src)),
                         f"published.fitted: {e.field}" if e.field else "published.fitted") from None


def published_fit_table(fit) -> Table:
    t = Table(title="fit of the design's own parameters (least squares on the log errors of all its figures)")
    for c, j in (("parameter", "left"), ("before", "right"), ("fitted", "right")):
        t.add_column(c, justify=j)
    for p in fit.params:
        t.add_row(p, f"{fit.before[p]:.6g}", f"{fit.after[p]:.6g}")
    return t


def run(args) -> int:
    from tlm.services import calibrate, paper
    from tlm.config.arch import load_with_published
    from tlm.cli.commands.paper import comparison_table
    if args.global_fit:
        return run_global(args)
    path = resolve(args.arch, "configs", DEFAULT_ARCH)
    arch, pub = load_with_published(path)
    calibrate.refuse_uncalibratable(arch, pub, str(path))
    con = console()
    figs = pub.figures if pub is not None else None
    paper.check_runnable(arch, str(path), figs)
    if pub is not None and pub.fitted:  # a design naming parameters of its own (at most two)
        pfit = calibrate.fit_published(arch, pub, str(path))
        con.print(published_fit_table(pfit))
        con.print(comparison_table(pfit.arch, pub))
        values = pfit.after
    else:  # a derived circuit: the values follow from the structure and the global constants
        values = calibrate.derived_written(arch)
        con.print(derived_table(arch, values))
        con.print(comparison_table(calibrate.with_values(arch, values), pub))
    if args.write:
        text = calibrate.substitute(read_text(path, "architecture file"), values, str(path))
        text = rebase_extends(text, path, Path(args.write))
        calibrate.check_substituted(text, values, str(args.write))
        check_loads(text, Path(args.write), path)
        atomic_write(Path(args.write), text)
        con.print(f"wrote {args.write}")
    return 0


def constants_table(before: dict, after: dict) -> Table:
    from tlm.hw import constants as hw_const
    t = Table(title="global constants of the circuit model (tlm/hw/constants.py), fitted over every shipped "
                    "published design", caption="(!) at an end of its published range")
    for c, j in (("constant", "left"), ("unit", "left"), ("before", "right"), ("fitted", "right"),
                 ("published range", "right")):
        t.add_column(c, justify=j)
    for c in hw_const.CONSTANTS:
        v = after[c.name]
        edge = " (!)" if min(abs(v / c.lo - 1), abs(v / c.hi - 1)) < 1e-3 else ""
        t.add_row(c.name, c.unit, f"{before[c.name]:.4g}", f"{v:.4g}{edge}", f"{c.lo:g}-{c.hi:g}")
    return t


def run_global(args) -> int:
    from tlm.services import globalfit
    from tlm.cli.commands.chips import loo_tables
    from tlm.hw import circuit
    con = console()
    designs = globalfit.derived_designs()
    before = circuit.constants()
    after = {k: float(f"{v:.4g}") for k, v in globalfit.fit(designs).items()}
    con.print(constants_table(before, after))
    rows = {d.name: globalfit.predictions(d, after) for d in designs}
    con.print(loo_tables(rows, rows)[0])
    if args.write_global:
        for f in globalfit.write_global(designs, after):
            con.print(f"wrote {f}")
    return 0
