"""The Result's per-layer arrays of a plan, with what the mapping alone fixes filled in (both engines)."""
from __future__ import annotations

import numpy as np

PER_LAYER_KEYS = ("macs", "cycles", "compute_cycles", "load_cycles", "spill_cycles", "tiles", "row_tiles",
                  "col_tiles", "group_tiles", "groups_per_tile", "rounds", "rows_per_tile", "cols_per_tile",
                  "weight_bits_loaded", "conversions", "dp_cycles", "sram_read_bits", "sram_write_bits", "dma_bits",
                  "spill_bits", "postproc_ops", "live_bits", "spatial_utilization", "temporal_utilization")
STATIC_KEYS = ("macs", "tiles", "row_tiles", "col_tiles", "group_tiles", "groups_per_tile", "rounds", "rows_per_tile",
               "cols_per_tile", "live_bits", "spatial_utilization")


def static_per_layer(plan) -> dict:
    """The Result's per-layer arrays (in their order) with the numbers the mapping alone fixes filled in
    (tiles, rounds, live bits, spatial utilization...) and zeros for what an engine measures."""
    rows = plan.rows
    pl = {k: np.zeros(rows, dtype=float if k.endswith("utilization") else np.int64) for k in PER_LAYER_KEYS}
    pl["macs"][:-1] = plan.macs
    pl["live_bits"][:-1] = plan.live_bits
    m, ci = plan.mapping, plan.comp_idx
    if m is not None:
        for k, v in (("tiles", m.tiles), ("row_tiles", m.row_tiles), ("col_tiles", m.col_tiles),
                     ("group_tiles", m.group_tiles), ("groups_per_tile", m.groups_per_tile),
                     ("rounds", plan.rounds), ("rows_per_tile", m.rows_per_tile),
                     ("cols_per_tile", m.cols_per_tile), ("spatial_utilization", m.spatial_utilization)):
            pl[k][ci] = v
    return pl
