"""The points of one structure (tlm/mapping/template.py: a sweep's points that differ in timing settings
only) computed together where a point's own run computes the same numbers alone: each compute layer's row
cycles (assign.layer_row_cycles) and a stream's one-image job cycles (jobcosts.spec_costs), the points as
a numpy axis.  The timing settings that differ between the points are taken as int64 arrays of shape
(points, 1) by the same formulas (tlm/hw/controller.tile_cycles); a setting that is not an integer at
every point (or a formula that does not take arrays) leaves the points to their own runs (None).  Every
number is the one the point's own run gives (tests/test_pointgroup.py)."""
from __future__ import annotations

import copy

import numpy as np

from tlm.mapping.assign import row_cycle_arrays


def stacked(archs, settings):
    """One architecture whose `settings` ("section.field" paths: template.TIMING_SETTINGS) that differ
    between `archs` (points of one structure: they agree on every other field) are int64 arrays of shape
    (points, 1); None when one of those is not an int at every point."""
    base, secs = archs[0], {}
    for sec, name in sorted(tuple(p.split(".")) for p in settings):
        vals = [getattr(getattr(a, sec), name) for a in archs]
        if all(v == vals[0] and type(v) is type(vals[0]) for v in vals):
            continue
        if any(type(v) is not int for v in vals):
            return None
        s = secs.get(sec)
        if s is None:
            s = secs[sec] = copy.copy(getattr(base, sec))
        object.__setattr__(s, name, np.array(vals, dtype=np.int64).reshape(-1, 1))
    out = copy.copy(base)
    for sec, s in secs.items():
        object.__setattr__(out, sec, s)
    return out


def row_cycles(archs, wl, m, comp, settings):
    """[assign.layer_row_cycles(arch, wl, m, comp) of each of `archs`], points that differ in `settings` only
    (template.TIMING_SETTINGS), every point at once (`stacked`: the same rule, assign.row_cycle_arrays,
    given arrays), as an int64 array (points, compute layers, 2) of each layer's (first row, further row)
    cycles; None if not stackable."""
    a = stacked(archs, settings)
    if a is None or not comp:
        return None
    try:
        first, more = row_cycle_arrays(a, [wl.layers[i] for i in comp], m.outputs_per_tile)
    except (TypeError, ValueError):  # (a formula that branches on a value: each point on its own)
        return None
    if first.dtype != np.int64 or more.dtype != np.int64:
        return None
    shape = (len(archs), len(comp))
    return np.stack([np.broadcast_to(first, shape), np.broadcast_to(more, shape)], axis=-1)


def as_dict(rc, comp) -> dict:
    """One point's row cycles (a (compute layers, 2) slice of `row_cycles`) as layer_row_cycles gives them."""
    return dict(zip(comp, map(tuple, rc.tolist())))


def job_costs_many(sk, costs0, rcs, comp) -> list:
    """spec_costs of one-image skeleton `sk` at several points whose costs differ from `costs0` (a point's
    spec_costs) in their row jobs only -- the same digital ops, transfers and fields spec_costs reads of
    the architecture --: each point's list, its row jobs' cycles from its row cycles `rcs[k]` (a
    (compute layers, 2) int64 array) by spec_costs' own rule, mult x (first row + rows spanned x further row)."""
    from tlm.mapping.jobcosts import row_job_cycles
    out = np.tile(np.asarray(costs0, dtype=np.int64), (len(rcs), 1))
    r = np.zeros((len(rcs), len(sk.H) + 1, 2), dtype=np.int64)
    r[:, comp] = rcs
    rows, cycles = row_job_cycles(sk, r)
    out[:, rows] = cycles
    return out.tolist()


def image_key(arch, wl, asg, ops, rc) -> tuple:
    """Where schedule._kept_image keeps one_image of architecture `arch` and assignment `asg` (the objects),
    the layers (the objects), row cycles, digital ops and the image's bits and shape (and where
    tlm/engines/pretime._keep_image keeps it for a point of the same structure)."""
    return (id(arch), id(asg), tuple(map(id, wl.layers)), tuple(rc.items()), tuple(ops), wl.input_bits,
            tuple(wl.input_shape))




def same_balanced(order_less, fits, works, N) -> np.ndarray:
    """Which points packing.pack_balanced takes through the decisions of its traced run at the first point
    (row 0 of `works`: each point's work of each item, in the traced run's order of the items, int64): each
    point's items sort in that order (longest work first, then the tie-break: `order_less[t]` says item
    t's (-rows, -columns, key) is below item t + 1's), and item after item (`fits`: the macros where it fit
    in the traced run, none where that run stopped) goes to the same macro, the one of least (work so far,
    index) among those: the macros then hold what they held in the traced run, the same items at the same
    places, and a run that stopped stops there too.  A bool per point (row 0's True)."""
    P, T = works.shape
    ok = np.ones(P, dtype=bool)
    if T > 1:
        a, b = works[:, :-1], works[:, 1:]
        ok &= ((a > b) | ((a == b) & np.asarray(order_less, dtype=bool))).all(axis=1)
    load = np.zeros((P, N), dtype=np.int64)
    for t, f in enumerate(fits):
        if not f:
            break
        f = np.asarray(f, dtype=np.int64)
        k = f[load[:, f].argmin(axis=1)]
        ok &= k == k[0]
        load[:, k[0]] += works[:, t]
    return ok
