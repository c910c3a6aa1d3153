"""Fit the free ([fitted]) parameters of an architecture to the IMAGINE paper's figures.

Every figure is an affine function of the parameters fitted against it once the others are fixed:
area is linear in the bit-cell area, time in the DP and conversion cycle counts, energy in the switched
capacitances.  So each step measures the model (through `tlm.services.paper`, i.e. simulations) at the current
values and at each parameter + 1, and solves the small linear system (least squares) for the values
that hit the targets.  The steps run in dependency order, each with the rounded results of the
previous ones (the same values the config file gets):

1. area:   macro.bitcell_area_um2          <- macro density (periphery and converter areas assumed)
2. timing: macro.dp_cycles_per_bit,          <- 1b and 8b peak area efficiency (integer cycles: the
           adc.fixed_cycles                     best rounding of the least-squares solution)
3. macro:  macro.c_cell_ff, adc.c_abn_ff     <- 1b and 8b macro peak energy efficiency
4. system: controller.c_ff_per_row_cycle     <- 8b system-level efficiency of the reference run

Everything else is an assumption of the config and stays as written.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field, replace

import numpy as np

from tlm.services import paper
from tlm.errors import InputError, Where

SIGNIFICANT_DIGITS = 4  # fitted real values are written (and used) with this many significant digits


@dataclass(frozen=True)
class Step:
    name: str
    params: tuple[str, ...]  # "section.field"
    figures: tuple[str, ...]  # keys of paper.FIGURES
    integer: bool = False
    lowest: tuple[int, ...] = ()  # for integer steps: the smallest value each parameter may take


STEPS = (
    Step("area", ("macro.bitcell_area_um2",), ("density",)),
    Step("timing", ("macro.dp_cycles_per_bit", "adc.fixed_cycles"), ("area_1b", "area_8b"), integer=True,
         lowest=(1, 0)),
    Step("macro energy", ("macro.c_cell_ff", "adc.c_abn_ff"), ("eff_1b", "eff_8b")),
    Step("system energy", ("controller.c_ff_per_row_cycle",), ("system_8b",)),
)
FITTED = tuple(p for s in STEPS for p in s.params)


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


# ---- the linear observables behind each figure --------------------------------------------------------
def observe(arch, step: Step) -> tuple[np.ndarray, np.ndarray]:
    """(model, target) of the quantities that are affine in the step's parameters."""
    fig = {f.key: f.value for f in paper.FIGURES}
    if step.name == "area":
        from tlm.hw import area as hw_area
        from tlm.hw import macro as hw_macro
        target = hw_macro.cells(arch) / 8 / paper.KB_BYTES / fig["density"]
        return np.array([hw_area.macro_mm2(arch)]), np.array([target])
    if step.name == "timing":  # compute cycles of the peak runs; target from the area efficiency
        model, target = [], []
        for key, bits in (("area_1b", 1), ("area_8b", 8)):
            p = paper.macro_peak(arch, bits)
            model.append(p.time_ns / arch.clock.period_ns)
            target.append(p.ops / (fig[key] * 1e3 * p.area_mm2) / arch.clock.period_ns)
        return np.array(model), np.array(target)
    if step.name == "macro energy":
        ps = [paper.macro_peak(arch, b) for b in (1, 8)]
        return (np.array([p.energy_pj for p in ps]),
                np.array([p.ops / fig[k] for p, k in zip(ps, ("eff_1b", "eff_8b"))]))
    if step.name == "system energy":
        r = paper.reference_run(arch)
        return np.array([r.on_chip_energy_pj]), np.array([2.0 * r.macs / fig["system_8b"]])
    raise ValueError(step.name)


@dataclass
class StepFit:
    step: Step
    before: dict
    exact: dict  # least-squares solution, unrounded
    after: dict  # rounded values used from here on
    jacobian: np.ndarray
    target: np.ndarray
    achieved: np.ndarray


@dataclass
class Fit:
    steps: list = field(default_factory=list)
    arch: object = None  # the architecture with the fitted values

    @property
    def values(self) -> dict:
        return {k: v for s in self.steps for k, v in s.after.items()}


def _solve(arch, step: Step, file: str):
    p0 = np.array([float(get(arch, p)) for p in step.params])
    m0, target = observe(arch, step)
    cols = []
    for p in step.params:
        bumped = get(arch, p) + 1
        m1, _ = observe(with_values(arch, {p: bumped}), step)
        cols.append(m1 - m0)
    J = np.stack(cols, axis=1)
    if np.linalg.matrix_rank(J) < len(step.params):
        raise InputError(f"calibration step '{step.name}': the figures {', '.join(step.figures)} do not "
                         f"depend on {', '.join(step.params)} independently in this architecture", Where(file))
    dp, *_ = np.linalg.lstsq(J, target - m0, rcond=None)
    return p0 + dp, J, target


def _round(arch, step: Step, exact: np.ndarray, file: str) -> dict:
    if not step.integer:
        return {p: round_sig(v) for p, v in zip(step.params, exact)}
    best, best_err = None, math.inf
    for combo in itertools.product(*[(math.floor(v), math.ceil(v)) for v in exact]):
        if any(v < lo for v, lo in zip(combo, step.lowest)):
            continue
        vals = {p: int(v) for p, v in zip(step.params, combo)}
        m, t = observe(with_values(arch, vals), step)
        err = float(np.max(np.abs(m / t - 1.0)))
        if err < best_err - 1e-12:
            best, best_err = vals, err
    if best is None:
        raise InputError(f"calibration step '{step.name}': no valid integer cycle counts fit the figures",
                         Where(file))
    return best


def fit(arch, file: str = "<architecture>") -> Fit:
    """Fit every step in order; returns the fit and the fitted architecture.  `file` names the
    architecture in error messages."""
    if arch.adc.pipelined:
        raise InputError("calibration assumes DP and conversion in sequence (adc.pipelined: false); "
                         "with overlap the cycle count is not affine in the phase lengths", Where(file),
                         "adc.pipelined")
    out = Fit()
    for step in STEPS:
        before = {p: get(arch, p) for p in step.params}
        exact, J, target = _solve(arch, step, file)
        after = _round(arch, step, exact, file)
        if any(v < 0 for v in after.values()):
            raise InputError(f"calibration step '{step.name}' needs a negative value "
                             f"({', '.join(f'{k}={v:.4g}' for k, v in after.items())}): the assumed "
                             "parameters already exceed the paper's budget", Where(file))
        arch = with_values(arch, after)
        achieved, _ = observe(arch, step)
        out.steps.append(StepFit(step, before, dict(zip(step.params, map(float, exact))), after, J, target,
                                 achieved))
    out.arch = arch
    return out


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
        added = f"{key}: {val}  # [fitted] by tlm calibrate"
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


def sensitivity(arch, step: float = 0.10, workload: str = "resnet8", pub=None) -> dict:
    """For each fitted parameter (IMAGINE's tlm.services.calibrate.FITTED, or a published design's own
    `pub.fitted`): the relative change of every figure (IMAGINE's, or `pub`'s) and of `workload`'s on-chip
    energy per component when that parameter alone grows by `step` (integers by 1).
    {"figures": keys, "components": names, "share": {c: share at the fit},
    "rows": {param: {"value", "new", "figures": {key: change}, "components": {c: change}, "total"}}}."""
    from tlm.config.paths import resolve
    from tlm.config.workload import check_against, load_workload
    own = pub is not None and pub.fitted
    figs = pub.figures if own else paper.imagine_published().figures
    params = tuple(pub.fitted) if own else FITTED
    base = paper.model_figures(arch, figs)
    wl = load_workload(resolve(workload, "workloads", workload))
    check_against(wl, arch)
    r0 = paper.simulate(arch, wl)
    c0 = {c: e for c, e in r0.energy_by_component_pj.items() if c != "external"}
    t0 = r0.on_chip_energy_pj
    out = {"figures": [f.key for f in figs], "components": list(c0), "workload": wl.name,
           "share": {c: e / t0 for c, e in c0.items()}, "rows": {}}
    for p in params:
        v = get(arch, p)
        nv = v + 1 if isinstance(v, int) and not isinstance(v, bool) else v * (1 + step)
        a = with_values(arch, {p: nv})
        m = paper.model_figures(a, figs)
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
