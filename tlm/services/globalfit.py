"""The global constants of the circuit model (tlm/hw/constants.py) fitted once over every shipped
published design, and the leave-one-design-out test of the model (`tlm calibrate --global`,
`tlm chips --loo`).

The fit minimizes the squared log errors log(model / paper) of every efficiency, throughput, density and
clock figure, and (model - paper) / SHARE_SCALE points of every share figure (44.8: a share 10 points off
weighs as an efficiency 25% off, the issue's two targets), of every design whose circuit
derives its parameters (`circuit.derive`), over the log of the constants, each kept inside its published
range (projected Levenberg-Marquardt with finite differences: the cycle counts are integers, so the
steps are a few percent wide), with a soft-L1 loss so that one badly predicted figure does not decide
every constant.  A weak prior pulls each constant toward the geometric middle of its range
(weight PRIOR_WEIGHT per range width), so a constant that only the left-out design informs falls back to
its range instead of drifting.  `fit_constants` is generic (a residual function of the constants);
tests/test_globalfit.py runs it on a synthetic set generated from known constants.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tlm.hw import constants as hw_const

PRIOR_WEIGHT = 0.05  # residual of a constant at an end of its range (log units over the range's log width)
# Residuals in units of issue 21's targets: an efficiency, throughput or density within 25% (a log error of
# ln 1.25 = 0.223), a breakdown share within 10 points.  A share's error in points over SHARE_SCALE then weighs
# as an efficiency's log error at the same fraction of its target: 10 points / ln 1.25 = 44.81 points per log
# unit (at 10 points per unit a share 10 points off counted as an efficiency 2.7x off, 4.5x its target).
EFFICIENCY_TOLERANCE = 0.25  # the target relative error of an efficiency, throughput or density figure
SHARE_TOLERANCE_POINTS = 10.0  # the target error of a share figure, percentage points
SHARE_SCALE = SHARE_TOLERANCE_POINTS / math.log(1.0 + EFFICIENCY_TOLERANCE)  # points per log unit (44.81)
STEP = 0.1  # finite-difference step in the log of a constant (wide: integer cycle counts make steps)
ROBUST_SCALE = 0.5  # soft-L1 loss: residuals beyond ~0.5 (a factor 1.65) count linearly, not squared


def soft_l1(r: np.ndarray, scale: float = ROBUST_SCALE) -> np.ndarray:
    """Residuals whose squares sum to the soft-L1 loss 2 s^2 (sqrt(1 + (r/s)^2) - 1): quadratic for small r,
    linear for large (one badly predicted figure does not drag every constant to its range's end)."""
    return np.sign(r) * scale * np.sqrt(2.0 * (np.sqrt(1.0 + (r / scale) ** 2) - 1.0))


def log_bounds(names) -> tuple[np.ndarray, np.ndarray]:
    c = hw_const.BY_NAME
    return (np.log([c[n].lo for n in names]), np.log([c[n].hi for n in names]))


def fit_constants(residual, names, start=None, iterations: int = 30, bounds=None,
                  prior: float = PRIOR_WEIGHT, robust: float | None = ROBUST_SCALE) -> dict:
    """The constants (name -> value) minimizing |residual(values)|^2 + prior terms, each inside its bounds
    ((log lo, log hi) arrays; the published ranges by default), starting from `start` (default: the
    geometric middle of every range, so that no fit starts from values other designs were fitted to).
    `residual` maps a dict of constants to a vector."""
    names = tuple(names)
    lo, hi = log_bounds(names) if bounds is None else bounds
    mid, width = (lo + hi) / 2, np.maximum(hi - lo, 1e-9)
    x = mid.copy() if start is None else np.clip(np.log([start[n] for n in names]), lo, hi)

    def full(xv):
        r = np.asarray(residual(dict(zip(names, np.exp(xv)))), dtype=float)
        r = soft_l1(r, robust) if robust else r
        return np.concatenate([r, prior * (xv - mid) / width])

    r0, lam = full(x), 1e-2
    for _ in range(iterations):
        J = np.empty((r0.size, x.size))
        for i in range(x.size):
            h = STEP if x[i] + STEP <= hi[i] else -STEP
            xh = x.copy()
            xh[i] += h
            J[:, i] = (full(xh) - r0) / h
        A, b = J.T @ J, J.T @ r0
        improved = False
        for _ in range(8):
            dx = -np.linalg.solve(A + lam * np.diag(np.diag(A) + 1e-12), b)
            xn = np.clip(x + dx, lo, hi)
            rn = full(xn)
            if rn @ rn < r0 @ r0 - 1e-14:
                x, r0, lam, improved = xn, rn, lam / 3, True
                break
            lam *= 4
        if not improved or np.max(np.abs(dx)) < 1e-5:
            break
    return {n: float(v) for n, v in zip(names, np.exp(x))}


# ---- the shipped designs --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Design:
    name: str
    arch: object
    published: object
    path: object = None

    @property
    def figures(self):
        return self.published.figures


def derived_designs(paths: dict | None = None) -> list:
    """Every shipped published design whose circuit derives its parameters (name -> path by default from
    tlm.services.chips.shipped_designs)."""
    from tlm.config.arch import load_with_published
    from tlm.services import chips
    out = []
    for name, path in (chips.shipped_designs() if paths is None else paths).items():
        arch, pub = load_with_published(path)
        if arch.circuit.derive and pub is not None:
            out.append(Design(name, arch, pub, path))
    return out


def figure_residual(fig, model: float) -> float:
    from tlm.services import paper
    if fig.metric in paper.SHARE_METRICS:
        return (model - fig.value) / SHARE_SCALE
    return math.log(model / fig.value)


def design_residuals(d: Design, g: dict) -> np.ndarray:
    from tlm.services import paper
    return np.array([figure_residual(f, paper.model_value(d.arch, f, g)) for f in d.figures])


START_FRACTIONS = (0.25, 0.5, 0.75)  # multi-start: the timing constant at these points of its log range


def fit(designs, start=None) -> dict:
    """The global constants fitted to every figure of `designs`: the best of a few starts (the middle of
    every range, with the clock constant `decision_fo4` at a quarter, half and three quarters of its log
    range: the cycle counts are integers, so the loss has steps a single descent can stop at)."""
    names = tuple(c.name for c in hw_const.CONSTANTS)

    def residual(g):
        return np.concatenate([design_residuals(d, g) for d in designs])

    if start is not None:
        return fit_constants(residual, names, start)
    lo, hi = log_bounds(names)
    best, best_cost = None, math.inf
    for frac in START_FRACTIONS:
        x0 = dict(zip(names, np.exp((lo + hi) / 2)))
        i = names.index("decision_fo4")
        x0["decision_fo4"] = float(np.exp(lo[i] + frac * (hi[i] - lo[i])))
        g = fit_constants(residual, names, x0)
        r = soft_l1(residual(g))
        cost = float(r @ r)
        if cost < best_cost:
            best, best_cost = g, cost
    return best


def predictions(d: Design, g: dict) -> list:
    """(figure, model, error) of one design with the constants `g`."""
    from tlm.services import paper
    return paper.comparison(d.arch, d.figures, g)


def leave_one_out(designs, fit_fn=None, predict_fn=None) -> dict:
    """name -> (constants fitted without the design, its predicted rows with them).  `fit_fn(designs)` and
    `predict_fn(design, constants)` default to the circuit model's (`fit`, `predictions`)."""
    fit_fn, predict_fn = fit_fn or fit, predict_fn or predictions
    out = {}
    for d in designs:
        g = fit_fn([e for e in designs if e.name != d.name])
        out[d.name] = (g, predict_fn(d, g))
    return out


def summary(rows) -> dict:
    """Worst and median |error| of the efficiency and throughput figures, worst share error (points)."""
    from tlm.services import paper
    eff = [abs(e) for f, _, e in rows if f.efficiency]
    share = [abs(e) * 100 for f, _, e in rows if f.metric in paper.SHARE_METRICS]
    return {"n": len(eff), "worst": max(eff, default=0.0), "median": float(np.median(eff)) if eff else 0.0,
            "within_25": sum(e <= 0.25 for e in eff), "share_worst_points": max(share, default=0.0)}


def constants_source(values: dict) -> str:
    """The text of tlm/hw/constants.py with VALUES replaced by `values`."""
    import re
    path = hw_const.__file__
    with open(path, encoding="utf-8") as f:
        text = f.read()
    body = "".join(f'    "{k}": {float(v)!r},\n' for k, v in values.items())
    new, n = re.subn(r"VALUES = \{\n(?:    .*\n)*?\}", "VALUES = {\n" + body + "}", text)
    if n != 1:
        raise RuntimeError(f"VALUES not found in {path}")
    return new


def write_global(designs, values: dict) -> list:
    """Write the constants into tlm/hw/constants.py and the values they derive into every design's file
    (comments kept, tlm/services/calibrate.substitute); returns the files written."""
    from pathlib import Path
    from tlm.config.yamlio import atomic_write, read_text
    from tlm.services import calibrate
    out = [Path(hw_const.__file__)]
    atomic_write(out[0], constants_source(values))
    for d in designs:
        vals = calibrate.derived_written(d.arch, values)
        text = calibrate.substitute(read_text(d.path, "architecture file"), vals, str(d.path))
        calibrate.check_substituted(text, vals, str(d.path))
        atomic_write(Path(d.path), text)
        out.append(Path(d.path))
    return out
