"""The global fit and the leave-one-design-out test (tlm/services/globalfit.py) on a synthetic set of
designs generated from known constants: the fit must recover them and every left-out prediction must
match the generated figures.  Cheap: a closed-form model, no simulation."""
import math
from dataclasses import dataclass

import numpy as np
import pytest

from tlm.services import globalfit

TRUE = {"e_cell": 2.0, "e_conv": 40.0, "t_step": 1.5}  # the known constants
NAMES = tuple(TRUE)
BOUNDS = (np.log([0.1, 1.0, 0.1]), np.log([10.0, 400.0, 10.0]))


@dataclass(frozen=True)
class Synthetic:
    name: str
    cells: float   # structure: cells per operation
    convs: float   # conversions per operation
    v: float       # supply, V
    bits: int


def figures(d, g):
    """energy per op = (cells x e_cell + convs x e_conv) x V^2; time per op = bits x t_step / V."""
    return np.array([(d.cells * g["e_cell"] + d.convs * g["e_conv"]) * d.v ** 2, d.bits * g["t_step"] / d.v])


DESIGNS = [Synthetic("a", 1000, 16, 0.8, 8), Synthetic("b", 64, 64, 1.0, 4), Synthetic("c", 4096, 8, 0.6, 6),
           Synthetic("d", 300, 300, 0.9, 2), Synthetic("e", 2000, 2, 1.1, 8)]
PUBLISHED = {d.name: figures(d, TRUE) for d in DESIGNS}


def residual_of(designs):
    return lambda g: np.concatenate([np.log(figures(d, g) / PUBLISHED[d.name]) for d in designs])


def fit_fn(designs):
    return globalfit.fit_constants(residual_of(designs), NAMES, start={"e_cell": 1.0, "e_conv": 10.0,
                                                                          "t_step": 1.0},
                                   bounds=BOUNDS, prior=0.0, iterations=60)


def predict_fn(d, g):
    return figures(d, g)


def test_the_fit_recovers_the_generating_constants():
    g = fit_fn(DESIGNS)
    for k, v in TRUE.items():
        assert g[k] == pytest.approx(v, rel=1e-3), k


def test_each_left_out_design_is_predicted_by_constants_fitted_without_it():
    loo = globalfit.leave_one_out(DESIGNS, fit_fn, predict_fn)
    assert list(loo) == [d.name for d in DESIGNS]
    for name, (g, pred) in loo.items():
        assert pred == pytest.approx(PUBLISHED[name], rel=1e-3), name
        assert g["e_cell"] == pytest.approx(TRUE["e_cell"], rel=1e-3)


def test_a_constant_stays_inside_its_bounds():
    """Figures generated with t_step = 20 (outside its 0.1-10 bound): the fit stops at the bound."""
    pub = {d.name: figures(d, {**TRUE, "t_step": 20.0}) for d in DESIGNS}
    res = lambda g: np.concatenate([np.log(figures(d, g) / pub[d.name]) for d in DESIGNS])  # noqa: E731
    g = globalfit.fit_constants(res, NAMES, start={"e_cell": 1.0, "e_conv": 10.0, "t_step": 1.0},
                                bounds=BOUNDS, prior=0.0, iterations=60)
    assert g["t_step"] == pytest.approx(10.0, rel=1e-6)


def test_soft_l1_is_quadratic_for_small_and_linear_for_large_residuals():
    """2 s^2 (sqrt(1 + (r/s)^2) - 1): r = 0.01 -> ~r^2; r = 10 (s = 0.5) -> 2 x 0.25 x (sqrt(401) - 1)."""
    small, big = globalfit.soft_l1(np.array([0.01, 10.0]))
    assert small ** 2 == pytest.approx(0.01 ** 2, rel=1e-3)
    assert big ** 2 == pytest.approx(2 * 0.25 * (math.sqrt(401) - 1))
