"""The work plan of a run: per layer, the tiles (with their own rows, columns, outputs and shares of the
activation traffic), the timing constants of a tile and the spill/I-O volumes.  Everything is derived
with tlm.mapping and tlm/hw, exactly as tlm/analytic.py derives it, so the two engines count the same
events; the TLM engine then decides *when* they happen."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..analytic import digital_ops, live_bits, weights_resident
from ..hw import controller as hw_ctrl
from ..hw import macro as hw_macro
from ..errors import InputError, Where
from ..mapping import cdiv, map_layers


@dataclass(slots=True)
class Tile:
    index: int
    row_tile: int  # 0 .. row_tiles-1: which slice of the kernel rows
    last_row: bool  # its conversions are final outputs (else partial sums)
    rows: int  # rows driven per DP cycle
    cols: int  # columns pre-charged per DP cycle
    cells: int  # cells switched per DP cycle = weight bits written when loaded
    outputs: int  # output channels converted per pixel
    read_bits: int  # its share of the layer's activation reads from SRAM


@dataclass(slots=True)
class LayerPlan:
    row: int
    name: str
    compute: bool
    spill_bits: int = 0
    # compute layers
    pixels: int = 0  # output pixels x batch
    bits_in: int = 0
    bits_out: int = 0
    bits_w: int = 0
    dp_phases: int = 0  # DP phases per pixel (tlm/hw/macro.dp_phases)
    t_dp: int = 0  # cycles of one pixel's DP phase
    t_cv: int = 0  # cycles of one pixel's conversions
    period: int = 0  # cycles between pixels in steady state
    tile_cycles: int = 0  # nominal compute cycles of a full tile (clocks the rows' input windows)
    chunk_pixels: int = 1  # pixels per COMPUTE transaction
    rounds: int = 0
    tiles: list = field(default_factory=list)
    tile_bits: int = 0  # bits of a full tile: every tile's load takes its time (rows written whole)
    load_rate: float = 0.0
    density: float = 0.5
    # digital layers
    ops: int = 0
    read_bits: int = 0
    write_bits: int = 0


MAX_TILES = 200_000  # tile runs per simulation: each is a few Python objects and events
MAX_COMPUTE_TXN_PER_LAYER = 100_000  # bigger chunks past this: a huge layer stays a few seconds of work


def split_share(total: int, parts: int, k: int) -> int:
    """Part k of `total` split into `parts` integer shares that sum exactly to `total`."""
    return total * (k + 1) // parts - total * k // parts


def build_plan(arch, wl, input_density=None, compute_txn_macs=16384):
    layers = wl.layers
    n = len(layers)
    B = wl.batch
    dens = np.full(n, arch.activity.input_bit_density) if input_density is None \
        else np.asarray(input_density, dtype=float).reshape(n)
    comp = [i for i, l in enumerate(layers) if l.is_compute]
    plans = [LayerPlan(row=i, name=l.name, compute=l.is_compute) for i, l in enumerate(layers)]
    resident = False
    if comp:
        m = map_layers(arch, [layers[i] for i in comp])
        if int(m.tiles.sum()) > MAX_TILES:
            j = int(np.argmax(m.tiles))
            l = layers[comp[j]]
            raise InputError(f"{int(m.tiles.sum()):,} weight tiles in all (layer '{l.name}' alone has "
                             f"{int(m.tiles[j]):,}); the tlm engine simulates at most {MAX_TILES:,} tile runs per "
                             "simulation: use --engine analytic for a network this large",
                             l.where or Where(wl.file), f"{l.name}")
        resident = weights_resident(arch, int(m.tiles.sum()))
        rate = min(arch.dma.bandwidth_bits_per_cycle, arch.macro.weight_write_bits_per_cycle)
        R = arch.macro.rows
        for j, i in enumerate(comp):
            l, p = layers[i], plans[i]
            r_in, r_out = l.bits_in, l.bits_out
            opt = int(m.outputs_per_tile[j])
            t_dp, t_cv = hw_ctrl.pixel_cycles(arch, r_in, r_out, opt, l.bits_w)
            p.bits_w, p.dp_phases = l.bits_w, int(hw_macro.dp_phases(arch, r_in))
            p.pixels = l.out_pixels * B
            p.bits_in, p.bits_out = r_in, r_out
            p.t_dp, p.t_cv = int(t_dp), int(t_cv)
            p.period = max(p.t_dp, p.t_cv) if arch.adc.pipelined else p.t_dp + p.t_cv
            p.tile_cycles = int(hw_ctrl.tile_cycles(arch, r_in, r_out, opt, p.pixels, l.bits_w))
            macs_px = int(m.rows_per_tile[j]) * opt
            p.chunk_pixels = max(1, -(-compute_txn_macs // max(macs_px, 1)),
                                 -(-p.pixels * int(m.tiles[j]) // MAX_COMPUTE_TXN_PER_LAYER))
            p.rounds = int(cdiv(m.tiles[j], arch.macro.count))
            p.density = float(dens[i])
            tile_bits = int(m.rows_per_tile[j] * m.cols_per_tile[j])
            p.load_rate = rate
            p.tile_bits = tile_bits
            # the tiles: group tiles x column tiles x row tiles, each with its own size
            g, gpt = int(m.groups[j]), int(m.groups_per_tile[j])
            rows_g, cols_g = int(m.rows_per_group[j]), int(m.cols_per_group[j])
            cout_g = l.c_out // g
            chm = int(hw_macro.channels_per_macro(arch, l.bits_w))
            n_rt, n_ct, n_gt = int(m.row_tiles[j]), int(m.col_tiles[j]), int(m.group_tiles[j])
            T = n_rt * n_ct * n_gt
            reads = math.prod(l.in_shape) * r_in * B * n_ct
            k = 0
            for gt in range(n_gt):
                ng = min(gpt, g - gt * gpt)
                for ct in range(n_ct):
                    ch = min(chm, cout_g - ct * chm)
                    for rt in range(n_rt):
                        rows = min(R, rows_g - rt * R)
                        cols = ch * l.bits_w
                        p.tiles.append(Tile(index=k, row_tile=rt, last_row=rt == n_rt - 1, rows=ng * rows,
                                            cols=ng * cols, cells=ng * ng * rows * cols, outputs=ng * ch,
                                            read_bits=split_share(reads, T, k)))
                        k += 1
            assert k == int(m.tiles[j]) and cols_g == cout_g * l.bits_w
    for i, l in enumerate(layers):
        if not l.is_compute:
            p = plans[i]
            p.ops = digital_ops(l) * B
            if l.type not in ("flatten", "concat"):
                p.read_bits = sum(math.prod(s) for s in (l.in_shapes or (l.in_shape,))) * l.bits_in * B
                p.write_bits = math.prod(l.out_shape) * l.bits_out * B
    spill = np.maximum(live_bits(wl) - arch.sram.capacity_bits, 0)
    for i in range(n):
        plans[i].spill_bits = int(spill[i])
    io_in = math.prod(wl.input_shape) * wl.input_bits * B
    io_out = math.prod(layers[-1].out_shape) * layers[-1].bits_out * B
    return plans, resident, io_in, io_out
