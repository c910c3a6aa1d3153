"""Joins of tensors that have different scales (add, concat), in the post-processing as integer hardware
does them: every input requantized to the join's own scale.

An activation tensor travels as unsigned r-bit codes with a zero point: after a ReLU, zero point 0 and
step range / (2^r - 1); without one, zero point 2^(r-1) and step 2 x range / (2^r - 1).  Each producer's
range is calibrated on its own, so the two inputs of a residual add (a ReLU branch, a branch without
ReLU) have different steps and zero points: adding their codes would add numbers of different units.
`join_scale` gives the join its scale and each input its multiplier m_i = step_i / step_out; `requantize`
applies them.  The ops it costs are counted in tlm/mapping/rules.digital_ops (both engines).
"""
from __future__ import annotations

import numpy as np

JOIN_TYPES = ("add", "concat")  # digital layers joining tensors that may have different scales


def join_scale(L, params, rng_of, zp_of, bits_of):
    """(multiplier per input, output zero point) of join layer `L`; records its range and zero point in
    `rng_of` / `zp_of`.  Its range: `<name>.range` of the weights (calibrated like a compute layer's), else
    the worst case of its inputs (an add: the sum of their ranges; a concat: the largest).  Signed (zero point
    2^(r-1)) when an input is signed, unless a ReLU follows the add."""
    signed = any(zp_of[s] for s in L.inputs) and not (L.type == "add" and L.relu)
    worst = (sum if L.type == "add" else max)(rng_of[s] for s in L.inputs)
    r_out = float(params.get(L.name + ".range", worst))
    top = (1 << L.bits_out) - 1
    s_out = r_out * (2 if signed else 1) / top
    mult = tuple(rng_of[s] * (2 if zp_of[s] else 1) / ((1 << bits_of[s]) - 1) / s_out for s in L.inputs)
    rng_of[L.name], zp_of[L.name] = r_out, ((top + 1) // 2 if signed else 0)
    return mult, zp_of[L.name]


def requantize(t, xs, zps, join, top):
    """A join in the post-processing as integer hardware does it: input i's codes x_i (zero point z_i, step
    s_i) are brought to the output's scale, m_i * (x_i - z_i) with m_i = s_i / s_out (a fixed-point
    multiplier; modelled exact, the only rounding is the output's); then an add sums them, rounds to the
    nearest code, adds the output zero point z_o and saturates to 0..top (ReLU: clipping at z_o = 0); a
    concat rounds and saturates each input the same way.  Ops: tlm/mapping/rules.digital_ops."""
    mult, zo = join
    parts = [m * (v.astype(np.float64) - z) for v, z, m in zip(xs, zps, mult)]
    if t == "add":
        return np.clip(np.rint(sum(parts)) + zo, 0, top), zo
    return np.concatenate([np.clip(np.rint(v) + zo, 0, top) for v in parts], axis=1), zo
