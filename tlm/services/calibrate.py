"""Calibration of an architecture: the values its circuit derives (tlm/hw/circuit.py), or, for a design
that names parameters of its own in `published.fitted`, those fitted to its figures; and writing them into
its file with every comment kept.

A design whose `circuit.derive` is on has no fitted parameter of its own: its engine parameters follow from
its structure, its node and the global constants (tlm/hw/constants.py), which `tlm calibrate --global`
fits once over all shipped designs (tlm/services/globalfit.py).  `tlm calibrate FILE` on it shows and
(--write) writes the derived values.  A design with neither is refused (it has nothing to calibrate).
"""
from __future__ import annotations

import itertools
import re
import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from tlm.services import paper
from tlm.errors import InputError, Where

SIGNIFICANT_DIGITS = 4  # fitted and derived real values are written (and used) with this many significant digits


def get(arch, dotted: str):
    sec, name = dotted.split(".")
    return getattr(getattr(arch, sec), name)


def with_values(arch, values: dict):
    """A copy of `arch` with some "section.field" values replaced."""
    by_sec: dict = {}
    for dotted, v in values.items():
        sec, name = dotted.split(".")
        by_sec.setdefault(sec, {})[name] = v
    return replace(arch, **{sec: replace(getattr(arch, sec), **kv) for sec, kv in by_sec.items()})


def round_sig(x: float, digits: int = SIGNIFICANT_DIGITS) -> float:
    return float(f"{x:.{digits}g}")


def derived_written(arch, g=None) -> dict:
    """"section.field" -> the derived value as written in a config (reals to 4 significant digits)."""
    from tlm.hw import circuit
    return {k: (v if isinstance(v, int) else round_sig(v)) for k, v in circuit.derived_values(arch, g).items()}


def refuse_uncalibratable(arch, pub, file: str) -> None:
    """One line, exit 2, for a design with nothing to calibrate: no derived circuit and no fitted parameter."""
    if arch.circuit.derive or (pub is not None and pub.fitted):
        return
    what = "no published: section" if pub is None else "an empty published.fitted"
    raise InputError(f"nothing to calibrate: '{arch.name}' has {what} and no derived circuit "
                     "(circuit.derive); name the parameters to fit in published.fitted, or describe the "
                     "circuit", Where(file), "published.fitted")


# ---- writing the fitted values into a config, keeping its comments ---------------------------------------
def format_value(v) -> str:
    """A YAML scalar that reads back as the same number (floats always carry a dot)."""
    if isinstance(v, bool) or isinstance(v, (int, np.integer)):
        return str(int(v))
    return repr(float(v))


def _section_span(lines, sec, file):
    """(header index, end index) of the block-style top-level mapping `sec:`, or None."""
    head = None
    for i, ln in enumerate(lines):
        stripped = ln.split("#", 1)[0].rstrip()
        if head is None:
            if stripped.rstrip() == f"{sec}:" and not ln.startswith((" ", "\t")):
                head = i
            elif stripped.startswith(f"{sec}:") and not ln.startswith((" ", "\t")):
                raise InputError("not a block mapping (one 'key: value' per line); cannot substitute "
                                 "fitted values in it", Where(file, i + 1, 1), sec)
        elif stripped and not ln.startswith((" ", "\t")):
            return head, i
    return (head, len(lines)) if head is not None else None


def _sub_value(line: str, key: str, value: str) -> str:
    """Replace the value of `  key: old   # comment`, keeping the comment where it was."""
    indent = line[:len(line) - len(line.lstrip())]
    rest = line.lstrip()[len(key) + 1:]
    body, hash_, comment = rest.partition("#")
    lead = body[:len(body) - len(body.lstrip())] or " "
    if not hash_:
        return f"{indent}{key}:{lead}{value}"
    gap = len(body) - len(lead) - len(value)
    return f"{indent}{key}:{lead}{value}{' ' * max(gap, 1)}#{comment}"


def substitute(text: str, values: dict, file: str = "<config>") -> str:
    """`text` (a config file) with each "section.field" value replaced on its own line; fields the file
    does not set (inherited through `extends:`) are added to their section with a [fitted] comment."""
    lines = text.split("\n")
    for dotted, v in values.items():
        sec, key = dotted.split(".")
        val = format_value(v)
        span = _section_span(lines, sec, file)
        added = f"{key}: {val}  # [derived] by tlm calibrate"
        if span is None:
            at = len(lines) - 1 if lines[-1] == "" else len(lines)
            lines[at:at] = [f"{sec}:", f"  {added}"]
            continue
        head, end = span
        children = [ln for ln in lines[head + 1:end] if ln.strip() and not ln.lstrip().startswith("#")]
        indent = (children[0][:len(children[0]) - len(children[0].lstrip())] if children else "  ")
        for i in range(head + 1, end):
            ln = lines[i]
            if ln.startswith(indent) and ln[len(indent):].startswith(f"{key}:"):
                lines[i] = _sub_value(ln, key, val)
                break
        else:
            lines.insert(head + 1, f"{indent}{added}")
    return "\n".join(lines)


def check_substituted(text: str, values: dict, file: str) -> None:
    """Parse the new text and check every fitted field reads back with its value."""
    from tlm.config.yamlio import load_text
    data = load_text(text, file)
    for dotted, v in values.items():
        sec, key = dotted.split(".")
        got = data.get(sec, {}).get(key) if isinstance(data.get(sec), dict) else None
        if got is None or float(got) != float(v):
            raise RuntimeError(f"substituting {dotted} in {file} gave {got!r}, expected {v!r}")


# ---- a published design's own fit: at most two parameters, least squares on its figures -----------------
@dataclass
class PublishedFit:
    params: tuple
    before: dict
    after: dict
    errors: dict  # figure key -> relative error after the fit
    arch: object = None


def _log_errors(arch, figures) -> np.ndarray:
    return np.array([math.log(paper.model_value(arch, f) / f.value) for f in figures])


def _is_int(arch, dotted: str) -> bool:
    v = get(arch, dotted)
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def fit_published(arch, pub, file: str = "<architecture>", iterations: int = 8) -> PublishedFit:
    """`_fit_published`; a fitted value that makes the design invalid (a generated figure workload no
    longer fits it, e.g. `macro.rows` driven to 0) is the user's `published.fitted`, named in one line."""
    try:
        return _fit_published(arch, pub, file, iterations)
    except InputError as e:
        if e.where.file.startswith("<"):  # raised on a generated workload or design, not on the user's file
            raise InputError(f"fitting {', '.join(pub.fitted)} leaves no valid design ({e.field}: {e.message})",
                             Where(file), "published.fitted") from None
        raise


def _fit_published(arch, pub, file: str = "<architecture>", iterations: int = 8) -> PublishedFit:
    """Fit the parameters a design's `published.fitted` names, by Gauss-Newton least squares on the log
    of model / published over all its figures (integer parameters: the best of the neighbouring
    integers of the real solution).  Real values are written with 4 significant digits."""
    params = tuple(pub.fitted)
    figs = [f for f in pub.figures]
    before = {p: get(arch, p) for p in params}
    for p, v in before.items():
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
            raise InputError(f"'{p}' is not a number and cannot be fitted", Where(file), "published.fitted")
    if not params:
        return PublishedFit(params, before, {}, dict(zip([f.key for f in figs], np.expm1(_log_errors(arch, figs)))),
                            arch)
    x = np.array([float(get(arch, p)) for p in params])

    def at(xv, rounded=False):
        vals = {}
        for p, v in zip(params, xv):
            vals[p] = int(round(v)) if _is_int(arch, p) and rounded else (round_sig(v) if rounded else float(v))
        return with_values(arch, vals)

    def res(xv):
        # integer parameters are evaluated by linear interpolation between neighbouring integers
        ints = [i for i, p in enumerate(params) if _is_int(arch, p)]
        if not ints:
            return _log_errors(at(xv), figs)
        xf = xv.copy()
        lo = xf.copy()
        for i in ints:
            lo[i] = math.floor(xf[i])
        vals_lo = {p: (int(lo[i]) if i in ints else float(xf[i])) for i, p in enumerate(params)}
        r = _log_errors(with_values(arch, vals_lo), figs)
        for i in ints:
            hi = dict(vals_lo)
            hi[params[i]] = int(lo[i]) + 1
            r = r + (xf[i] - lo[i]) * (_log_errors(with_values(arch, hi), figs) - _log_errors(with_values(arch, vals_lo), figs))
        return r

    for _ in range(iterations):
        r0 = res(x)
        J = []
        for i, p in enumerate(params):
            h = 1.0 if _is_int(arch, p) else max(abs(x[i]) * 1e-3, 1e-9)
            xh = x.copy()
            xh[i] += h
            J.append((res(xh) - r0) / h)
        J = np.stack(J, axis=1)
        if np.linalg.matrix_rank(J) < len(params):
            raise InputError(f"the figures of '{arch.name}' do not depend on {', '.join(params)} independently",
                             Where(file), "published.fitted")
        dx, *_ = np.linalg.lstsq(J, -r0, rcond=None)
        x = x + dx
        for i, p in enumerate(params):
            if x[i] < 0:
                x[i] = 0.0
        if np.max(np.abs(dx) / np.maximum(np.abs(x), 1e-9)) < 1e-7:
            break
    # integers: the best neighbouring combination
    best, best_cost = None, math.inf
    choices = [(math.floor(v), math.ceil(v)) if _is_int(arch, p) else (v,) for p, v in zip(params, x)]
    for combo in itertools.product(*choices):
        a = at(np.array(combo, dtype=float), rounded=True)
        cost = float(np.sum(_log_errors(a, figs) ** 2))
        if cost < best_cost:
            best, best_cost = a, cost
    after = {p: get(best, p) for p in params}
    errs = dict(zip([f.key for f in figs], np.expm1(_log_errors(best, figs))))
    return PublishedFit(params, before, after, errs, best)


def sensitivity_workload(arch, wl, name: str):
    """The workload whose on-chip energy `sensitivity` breaks down: `wl`, or, when it is the default ResNet-8
    and the design supports none of its precisions (Lee's 5b, Papistas' 7b, Sinangil's 4b inputs), the
    design's own reference run at its widest supported input, weight and output bits (the peak layer,
    tlm/services/paper.py reference_workload), named so in the table."""
    from tlm.config.workload import check_against
    from tlm.errors import InputError
    if name != "resnet8":
        return wl
    try:
        check_against(wl, arch)
        return wl
    except InputError:
        p = arch.precision
        return paper.reference_workload(arch, max(p.input_bits), max(p.weight_bits), max(p.output_bits))


def sensitivity(arch, step: float = 0.10, workload: str = "resnet8", pub=None, file: str = "<architecture>") -> dict:
    """For each of the design's own parameters (its `pub.fitted`, or the global constants when its circuit
    is derived): the relative change of every figure (`pub`'s, IMAGINE's when None) and of `workload`'s
    on-chip energy per component when that parameter alone grows by `step` (integers by 1).
    {"figures": keys, "components": names, "share": {c: share at the fit},
    "rows": {param: {"value", "new", "figures": {key: change}, "components": {c: change}, "total"}}}."""
    from tlm.config.paths import resolve
    from tlm.config.workload import check_against, load_workload
    from tlm.hw import circuit
    refuse_uncalibratable(arch, pub, file)
    own = pub is not None and pub.fitted
    figs = pub.figures if pub is not None else paper.imagine_published().figures
    g0 = circuit.constants()
    params = tuple(pub.fitted) if own else tuple(g0)
    base = paper.model_figures(arch, figs)
    wl = sensitivity_workload(arch, load_workload(resolve(workload, "workloads", workload)), workload)
    check_against(wl, arch)
    r0 = paper.simulate(arch, wl)
    c0 = {c: e for c, e in r0.energy_by_component_pj.items() if c != "external"}
    t0 = r0.on_chip_energy_pj
    out = {"figures": [f.key for f in figs], "components": list(c0), "workload": wl.name,
           "share": {c: e / t0 for c, e in c0.items()}, "rows": {}}
    for p in params:
        if own:
            v = get(arch, p)
            nv = v + 1 if isinstance(v, int) and not isinstance(v, bool) else v * (1 + step)
            a, g = with_values(arch, {p: nv}), None
        else:
            v = g0[p]
            nv = v * (1 + step)
            g = {**g0, p: nv}
            a = circuit.derive(arch, g)
        m = paper.model_figures(a, figs, g)
        r = paper.simulate(a, wl)
        e = r.energy_by_component_pj
        out["rows"][p] = {"value": v, "new": nv,
                          "figures": {k: m[k] / base[k] - 1 for k in base},
                          "components": {c: (e[c] / c0[c] - 1 if c0[c] else 0.0) for c in c0},
                          "total": r.on_chip_energy_pj / t0 - 1}
    return out


OVERHEAD_PARAMS = {  # controller component -> the parameters it alone switches (tlm/hw/controller.py)
    "clock tree and sequencer": ("controller.c_ff_per_cycle",),
    "row clock spine and control": ("controller.c_ff_per_row_cycle",),
    "window registers, clocked": ("controller.c_ff_per_window_bit_cycle",),
    "window registers, im2col": ("controller.c_ff_per_window_bit",),
    "ABN parameter loads": ("controller.c_ff_per_abn_bit",),
}


def overhead_breakdown(arch, wl) -> dict:
    """The controller energy of a run by named component, pJ: the same simulation with every other
    component's capacitance set to zero (the counts stay the engine's own)."""
    allp = [p for ps in OVERHEAD_PARAMS.values() for p in ps]
    out = {}
    for name, ps in OVERHEAD_PARAMS.items():
        a = with_values(arch, {p: 0.0 for p in allp if p not in ps})
        out[name] = paper.simulate(a, wl).energy_by_kind_pj["controller"]
    return out


def overhead_gap(arch, ref, macro_peak_tops_per_w: float, parts: dict | None = None) -> dict:
    """How much of the gap between a macro-peak efficiency and the reference run's system efficiency the
    named controller components explain within their published ranges (tlm/hw/controller.py).
    gap = on-chip energy - ops / macro peak (pJ; TOPS/W = ops/pJ); a component above its range leaves
    energy x (1 - hi / value) unexplained (its energy is linear in its capacitance).
    {"gap_pj", "unexplained_pj", "explained" (share of the gap), "outside": {component: value / hi}}."""
    from tlm.hw import controller as hw_ctrl
    parts = overhead_breakdown(arch, ref.workload) if parts is None else parts
    gap = ref.on_chip_energy_pj - 2.0 * ref.summary()["macs"] / macro_peak_tops_per_w  # raw ops
    unexplained, outside = 0.0, {}
    for name, e in parts.items():
        (p,) = OVERHEAD_PARAMS[name]
        v = get(arch, p)
        lo, hi = hw_ctrl.published_ff(arch, p.split(".")[1])
        if v > hi:
            unexplained += e * (1.0 - hi / v)
            outside[name] = v / hi
        elif v < lo:
            outside[name] = v / lo
    return {"gap_pj": gap, "unexplained_pj": unexplained,
            "explained": 1.0 - unexplained / gap if gap > 0 else 1.0, "outside": outside}


# ---- writing the values into the file (`tlm calibrate --write`) -------------------------------------------
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
    try:
        load_with_published(dest if str(dest) != "-" else src, text)
    except InputError as e:
        raise InputError(f"the fitted values give a file that does not load ({e.message})", Where(str(src)),
                         f"published.fitted: {e.field}" if e.field else "published.fitted") from None
