"""Mapping of conv and dense layers onto the CIM macros (docs/architecture.md, "The plan"), vectorized over layers.

Default mapping of one group of a conv: rows = kh*kw*c_in/groups, columns = c_out/groups * r_w.
- Row tiles when the rows exceed the macro: partial DPs converted per row tile, accumulated digitally.
- Column tiles of whole output channels when the columns exceed the macro.
- Small groups (depthwise, grouped convs) are packed block-diagonally into one tile when both their
  rows and columns fit several times; the zero blocks are still written and switched (honest cost).
- Tiles run on N macros in rounds; every tile of a layer takes the time of a full tile.
Dense layers are 1x1 convs over a 1x1 map.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from tlm import hw  # noqa: F401  (the package of cost formulas)
from tlm.records import Record, record
from tlm.errors import InputError
from tlm.hw import macro as hw_macro


def cdiv(a, b):
    return -(-a // b)


@record
class Mapping(Record):
    """Per compute layer (arrays of equal length)."""

    rows_per_group: np.ndarray
    cols_per_group: np.ndarray
    groups: np.ndarray
    groups_per_tile: np.ndarray
    row_tiles: np.ndarray
    col_tiles: np.ndarray
    group_tiles: np.ndarray
    tiles: np.ndarray
    rows_per_tile: np.ndarray  # rows driven by a full tile
    cols_per_tile: np.ndarray  # columns used by a full tile
    outputs_per_tile: np.ndarray  # output channels converted per pixel by a full tile
    active_cells: np.ndarray  # sum over tiles of rows x columns switched per DP cycle
    active_rows: np.ndarray  # sum over tiles of rows driven per DP cycle
    active_cols: np.ndarray  # sum over tiles of columns pre-charged per DP cycle
    weight_bits: np.ndarray  # useful weight bits of the layer
    spatial_utilization: np.ndarray  # useful weight bits / (tiles x macro cells)


def map_layers(arch, layers) -> Mapping:
    """Map compute layers (conv2d/dense `Layer`s) onto the macros."""
    L = len(layers)
    kh = np.array([l.kernel[0] for l in layers], dtype=np.int64).reshape(L)
    kw = np.array([l.kernel[1] for l in layers], dtype=np.int64).reshape(L)
    g = np.array([l.groups for l in layers], dtype=np.int64).reshape(L)
    cin = np.array([l.c_in for l in layers], dtype=np.int64).reshape(L)
    cout = np.array([l.c_out for l in layers], dtype=np.int64).reshape(L)
    rw = np.array([l.bits_w for l in layers], dtype=np.int64).reshape(L)
    R, C = arch.macro.rows, arch.macro.columns
    for l in layers:
        if l.bits_w > C:
            raise InputError(f"{l.bits_w}-bit weights need {l.bits_w} columns, the macro has {C}",
                             l.where, f"{l.name}.precision.weight")
    rows_g = kh * kw * (cin // g)
    cout_g = cout // g
    ch_macro = hw_macro.channels_per_macro(arch, rw)
    row_tiles = cdiv(rows_g, R)
    col_tiles = cdiv(cout_g, ch_macro)
    single = (row_tiles == 1) & (col_tiles == 1)
    gpt = np.where(single, np.minimum(np.minimum(R // rows_g, ch_macro // cout_g), g), 1)
    gpt = np.maximum(gpt, 1)
    group_tiles = cdiv(g, gpt)
    tiles = group_tiles * row_tiles * col_tiles
    cols_g = cout_g * rw
    full, rem = g // gpt, g % gpt
    sq = full * gpt * gpt + rem * rem  # sum over group tiles of (groups in tile)^2
    weight_bits = g * rows_g * cols_g
    ch_tile = np.minimum(cout_g, ch_macro)
    return Mapping(
        rows_per_group=rows_g, cols_per_group=cols_g, groups=g, groups_per_tile=gpt,
        row_tiles=row_tiles, col_tiles=col_tiles, group_tiles=group_tiles, tiles=tiles,
        rows_per_tile=np.minimum(rows_g, R) * gpt, cols_per_tile=ch_tile * rw * gpt,
        outputs_per_tile=ch_tile * gpt,
        active_cells=sq * rows_g * cols_g,
        active_rows=g * rows_g * col_tiles,
        active_cols=g * cols_g * row_tiles,
        weight_bits=weight_bits,
        spatial_utilization=weight_bits / (tiles * R * C),
    )


def row_spans(rows: int, macro_rows: int) -> list:
    """A group's kernel rows split into row tiles: (first row, rows) of full tiles of `macro_rows` rows
    first, the remainder last.  The one row-tiling rule (tile_grid; tlm/functional/model.row_tiles)."""
    return [(a, min(macro_rows, rows - a)) for a in range(0, rows, macro_rows)]


class TileShape(NamedTuple):
    """Where one weight tile sits in its layer's weights (the one tile geometry)."""

    index: int  # the tile's index in its layer (group tiles x column tiles x row tiles)
    group0: int  # first group it holds
    groups: int  # groups it holds, packed block-diagonally (1 unless small groups are packed)
    ch0: int  # first output channel it produces, within each group
    channels: int  # output channels it produces per group
    row0: int  # first kernel row it holds, within each group's kh x kw x c_in/g rows
    rows: int  # kernel rows it holds per group
    row_tile: int  # 0 .. row_tiles - 1
    last_row: bool  # its conversions are final outputs (else partial sums)


def tile_grid(arch, m: Mapping, j: int, layer):
    """The tiles of compute layer j of `m` (`layer` its workload Layer), in index order: the one tile
    enumeration that the plan (tlm/mapping/plan.py), the packer (tlm/mapping/packing.py) and the
    functional data path (through the plan's tiles) iterate."""
    R = arch.macro.rows
    g, gpt = int(m.groups[j]), int(m.groups_per_tile[j])
    rows_g = int(m.rows_per_group[j])
    cout_g = layer.c_out // g
    chm = int(hw_macro.channels_per_macro(arch, layer.bits_w))
    n_ct = int(m.col_tiles[j])
    spans = row_spans(rows_g, R)
    assert len(spans) == int(m.row_tiles[j])
    k = 0
    for gt in range(int(m.group_tiles[j])):
        g0 = gt * gpt
        ng = min(gpt, g - g0)
        for ct in range(n_ct):
            ch = min(chm, cout_g - ct * chm)
            for rt, (r0, rows) in enumerate(spans):
                yield TileShape(k, g0, ng, ct * chm, ch, r0, rows, rt, rt == len(spans) - 1)
                k += 1
