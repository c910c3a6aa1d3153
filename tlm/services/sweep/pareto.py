"""Analysis of a sweep's results: Pareto fronts (one per batch size, never mixing them) and the best
points for an objective."""
from __future__ import annotations

import numpy as np

# objectives of the console table: name -> (result column, True when larger is better, what it says)
OBJECTIVES = {
    "energy": ("energy_per_inference_pj", False, "lowest on-chip energy per inference"),
    "latency": ("latency_per_batch_ns", False, "lowest latency per batch"),
    "throughput": ("inferences_per_s", True, "highest inferences per second"),
    "tops_per_w": ("tops_per_w", True, "highest TOPS/W"),
    "tops_per_mm2": ("tops_per_mm2", True, "highest TOPS/mm2"),
}


def pareto_front(x, y) -> np.ndarray:
    """Mask of the points no other point dominates when both x and y are minimized (a point dominates
    another when it is no worse in both and better in at least one).  Equal points are all kept."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n = len(x)
    if n == 0:
        return np.zeros(0, dtype=bool)
    order = np.lexsort((y, x))  # by x, then y
    xs, ys = x[order], y[order]
    best_before = np.concatenate(([np.inf], np.minimum.accumulate(ys)[:-1]))
    first = np.ones(n, dtype=bool)  # first of a run of equal points
    first[1:] = (xs[1:] != xs[:-1]) | (ys[1:] != ys[:-1])
    group = np.cumsum(first) - 1
    keep = (ys < best_before)[first][group]  # a run is kept when its first point beats all before it
    mask = np.zeros(n, dtype=bool)
    mask[order] = keep
    return mask


def pareto_by_batch(table: dict, x: str = "latency_per_batch_ns", y: str = "energy_per_inference_pj") -> np.ndarray:
    """Mask of the points on the Pareto front (x and y minimized) of their own batch size: a run of 4
    images is never compared with a run of one on its latency per batch."""
    batch = np.asarray(table["batch"])
    mask = np.zeros(len(batch), dtype=bool)
    for b in np.unique(batch):
        sel = np.nonzero(batch == b)[0]
        mask[sel] = pareto_front(np.asarray(table[x])[sel], np.asarray(table[y])[sel])
    return mask


def best(table: dict, objective: str, n: int) -> list:
    """Row numbers of the `n` best points for `objective` (ties: the lower point number first)."""
    col, larger, _ = OBJECTIVES[objective]
    v = np.asarray(table[col], dtype=float)
    order = np.lexsort((np.arange(len(v)), -v if larger else v))
    return order[:n].tolist()
