"""`tlm calibrate`: fit an architecture's free parameters to the IMAGINE paper's figures, print the fit,
and optionally write the config with the fitted values (comments kept)."""
from __future__ import annotations

import re
from pathlib import Path

from tlm.config.paths import DEFAULT_ARCH, resolve
from tlm.present.tables import Table
from tlm.config.yamlio import atomic_write, read_text
from tlm.cli.commands._common import add_arch_workload, console

NAME = "calibrate"
HELP = "fit the [fitted] parameters of an architecture to the IMAGINE paper's figures"
ORDER = 45


def add_arguments(p):
    add_arch_workload(p, workload=False)
    p.add_argument("--write", metavar="PATH", help="write the architecture file with the fitted values "
                                                   "to PATH (may be the same file; comments are kept; an "
                                                   "extends: still names the same base from PATH's folder)")


def fit_table(fit) -> Table:
    t = Table(title="calibration (each step: least squares on the simulated figures)")
    for c, j in (("step", "left"), ("parameter", "left"), ("before", "right"), ("least squares", "right"),
                 ("written", "right"), ("fits", "left")):
        t.add_column(c, justify=j)
    for s in fit.steps:
        for i, p in enumerate(s.step.params):
            t.add_row(s.step.name if i == 0 else "", p, f"{s.before[p]:.6g}", f"{s.exact[p]:.6g}",
                      f"{s.after[p]:.6g}", ", ".join(s.step.figures) if i == 0 else "")
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
    path = resolve(args.arch, "configs", DEFAULT_ARCH)
    arch, pub = load_with_published(path)
    con = console()
    if pub is not None and pub.fitted:  # a published design: its own (at most two) fitted parameters
        paper.check_runnable(arch, str(path), pub.figures)
        pfit = calibrate.fit_published(arch, pub, str(path))
        con.print(published_fit_table(pfit))
        con.print(comparison_table(pfit.arch, pub))
        values = pfit.after
    else:
        paper.check_runnable(arch, str(path))
        fit = calibrate.fit(arch, str(path))
        con.print(fit_table(fit))
        con.print(comparison_table(fit.arch))
        values = fit.values
    if args.write:
        text = calibrate.substitute(read_text(path, "architecture file"), values, str(path))
        text = rebase_extends(text, path, Path(args.write))
        calibrate.check_substituted(text, values, str(args.write))
        check_loads(text, Path(args.write), path)
        atomic_write(Path(args.write), text)
        con.print(f"wrote {args.write}")
    return 0
