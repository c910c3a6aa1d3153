"""The cycles of a schedule's jobs (tlm/mapping/schedule.py): each distinct job of a skeleton from the
architecture and the workload's precisions (`spec_costs`), every job from its distinct one (`job_costs`).
"""
from __future__ import annotations

import math

import numpy as np

from tlm.config.workload import VIEW_TYPES
from tlm.hw import dma as hw_dma
from tlm.hw import postproc as hw_pp

# job cost kinds of a skeleton's spec (kind, layer, first row, last row, multiplier)
_ROWS, _DIGITAL, _IMAGE_IN, _IMAGE_OUT, _SPILL = range(5)


def job_costs(sk, spec) -> list:
    """The cost of every job of skeleton `sk` from the costs `spec` of its distinct jobs (spec_costs):
    [spec[k] for k in sk.spec_of], through a getter kept on the skeleton."""
    get = sk.spec_get
    if get is None:
        from operator import itemgetter
        get = sk.spec_get = itemgetter(*sk.spec_of) if len(sk.spec_of) > 1 else (
            lambda x: [x[k] for k in sk.spec_of])
    out = get(spec)
    return list(out) if isinstance(out, tuple) else out


def spec_costs(arch, wl, sk, ops, rc, spill_bits=None) -> list:
    """The cycles of each distinct job of skeleton `sk` (`sk.specs`), from the architecture and the
    workload's precisions: `rc` = layer_row_cycles, `ops[i]` digital ops of layer i per image,
    `spill_bits` per layer (layer by layer only).  Each kind of job at once (`_spec_arrays`):
      rows lo..hi of compute layer i, `mult` tile runs (x the batch): each run fills and drains the macro's
        pipeline once (tlm/hw/controller.tile_cycles): mult x (first row + (hi - lo) x further row);
      rows lo..hi of a digital layer (x the batch): its share of the layer's ops (none for a view);
      the image in and out, a layer's spill: one DMA transfer each."""
    layers, n = wl.layers, len(wl.layers)
    rows, rli, rspan, rmult, dig, dli, dlo, dhi1, dH, dmult, dma = _spec_index(sk)
    out = np.zeros(len(sk.specs), dtype=np.int64)
    if len(rows):
        r = np.zeros((n, 2), dtype=np.int64)
        for i, x in rc.items():
            r[i] = x
        out[rows] = row_job_cycles(sk, r)[1]
    if len(dig):
        o = np.array([int(x) for x in ops], dtype=np.int64)[dli]
        out[dig] = dmult * np.asarray(hw_pp.op_cycles(arch, o * dhi1 // dH - o * dlo // dH), dtype=np.int64)
    in_bits = math.prod(wl.input_shape) * wl.input_bits
    out_bits = math.prod(layers[-1].out_shape) * layers[-1].bits_out
    for k, kd, i, mk in dma:  # (a few DMA transfers)
        bits = in_bits * mk if kd == _IMAGE_IN else out_bits * mk if kd == _IMAGE_OUT else (
            0 if spill_bits is None else int(spill_bits[i]))
        out[k] = hw_dma.transfer_cycles(arch, bits)
    return out.tolist()


def row_job_cycles(sk, r):
    """(the indices of skeleton `sk`'s row jobs among its distinct jobs, their cycles) from the row cycles `r`
    (int64, (..., layers, 2): each layer's first row and further row; leading axes are points,
    tlm/mapping/pointgroup.job_costs_many): `mult` tile runs over rows lo..hi, each filling and draining the
    macro's pipeline once, mult x (first row + (hi - lo) x further row)."""
    rows, rli, rspan, rmult = _spec_index(sk)[:4]
    return rows, rmult * (r[..., rli, 0] + rspan * r[..., rli, 1])


def _spec_index(sk):
    """`_spec_arrays` as spec_costs takes them, kept on the skeleton: the row jobs (index, layer, rows
    spanned beyond the first, multiplier), the digital jobs of layers that are not views (index, layer,
    first row, last row + 1, the layer's height, multiplier), and the transfers [(index, kind, layer,
    multiplier)]."""
    if sk.spec_index is None:
        kind, li, lo, hi, mult, H, view = _spec_arrays(sk)
        rows = np.flatnonzero(kind == _ROWS)
        dig = np.flatnonzero((kind == _DIGITAL) & ~view)
        dma = [(k, int(kind[k]), int(li[k]), int(mult[k])) for k in np.flatnonzero(kind >= _IMAGE_IN).tolist()]
        sk.spec_index = (rows, li[rows], hi[rows] - lo[rows], mult[rows], dig, li[dig], lo[dig], hi[dig] + 1, H[dig],
                         mult[dig], dma)
    return sk.spec_index


def _spec_arrays(sk):
    """The skeleton's distinct jobs (`sk.specs`) as arrays: kind, layer, first and last row, multiplier,
    the layer's height and whether it is a view (kept on the skeleton)."""
    if sk.spec_arrays is None:
        a = np.array(sk.specs, dtype=np.int64).reshape(-1, 5)
        kind, li, lo, hi, mult = a.T
        H = np.array(sk.H + [1], dtype=np.int64)[np.minimum(li, len(sk.H))]
        view = np.array([t in VIEW_TYPES for t in sk.types] + [False])[np.minimum(li, len(sk.H))]
        sk.spec_arrays = (kind, li, lo, hi, mult, H, view)
    return sk.spec_arrays
