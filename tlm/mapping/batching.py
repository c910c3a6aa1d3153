"""Whole batch or image by image, per layer (the sequential schedule): the rule, used by both engines
through the plan (tlm/mapping/plan.py).

A layer of the sequential schedule runs its rounds of tiles either once for the whole batch (`batch`:
each round's weights loaded once, every tensor it touches held for all B images) or once per image
(`image`: B passes of its rounds over one image's pixels each, the weights of every round loaded B
times unless they stay resident).  Images go through a run of consecutive image-by-image layers one
after the other, so a tensor made and used up inside such a run is held for one image only; a tensor
that crosses a whole-batch layer is held for all B.  The activation SRAM then needs
`live_bits_modes` bits while each layer runs; what does not fit spills to external memory and back
(tlm/mapping/rules.spill_cycles).

`choose` tries every run [s, e] of image-by-image layers (the rest whole-batch), all whole-batch and
all image-by-image, and keeps the fewest cycles among those that cost no more on-chip energy than all
image by image (which is B single-image runs: a batch never loses to one image at a time).  It is only
asked when the whole batch spills: without a spill, whole-batch loads the fewest weights.  A run that
would add more than MAX_EXTRA_TILE_RUNS tile runs (a bound of the TLM engine's work) is not taken.
"""
from __future__ import annotations

import numpy as np

from tlm.hw import controller as hw_ctrl
from tlm.hw import dma as hw_dma
from tlm.hw import leakage as hw_leak
from tlm.hw import macro as hw_macro
from tlm.mapping.rules import spill_cycles, tensor_lifetimes

MAX_LAYERS = 400  # runs [s, e] tried: n (n + 1) / 2 of them, RUN_BLOCK at a time (runs x layers arrays)
RUN_BLOCK = 2048
MAX_EXTRA_TILE_RUNS = 20_000  # tile runs image by image adds (tiles x (B - 1) over the run): the TLM engine
# runs each as objects and events (tlm/mapping/plan.MAX_TILES); a run past this stays whole-batch


def tensor_spans(wl):
    """Per tensor (the image, then every layer's output): (bits of one image, first and last layer
    that hold it live, first and last layer that must run image by image for it to be held for one
    image only).  Views store nothing; their consumers keep the source alive (as plan.live_bits)."""
    names, bits, last_use = tensor_lifetimes(wl)
    j = np.arange(len(names))
    live_lo = np.maximum(j - 1, 0)  # layer rows (0-based): tensor j is live while layers j-1 .. last_use-1 run
    live_hi = last_use - 1
    live_hi[0] = max(live_hi[0], 0)
    return bits, live_lo, np.maximum(live_hi, live_lo)


def live_matrix(wl):
    """(bits per image of each tensor live at each layer: tensors x layers, the tensors' spans)."""
    bits, lo, hi = tensor_spans(wl)
    n = len(wl.layers)
    i = np.arange(n)
    live = (lo[:, None] <= i[None, :]) & (i[None, :] <= hi[:, None])
    return np.where(live, bits[:, None], 0), lo, hi


def live_bits_modes(M, lo, hi, B, s, e):
    """Live activation bits at each layer when layers s..e run image by image (s > e: none) and the
    others on the whole batch.  `M`, `lo`, `hi`: live_matrix."""
    one = (lo >= s) & (hi <= e)  # made and used up inside the image-by-image run: one image held
    return M.sum(axis=0) * B - (B - 1) * M[one].sum(axis=0)


def pass_schedule_cycles(arch, tile_cyc, load_full, load_last, rounds, passes):
    """Cycles of `passes` passes of a layer's `rounds` rounds (tlm/hw/controller.layer_schedule_cycles
    for one pass): without double buffering each pass is one layer schedule; with it, the next round's
    weights (the next pass's first, across passes) load while a round computes."""
    tile_cyc, load_full, load_last, rounds, passes = (np.asarray(x, dtype=np.int64) for x in
                                                       (tile_cyc, load_full, load_last, rounds, passes))
    if not arch.macro.weight_double_buffer:
        return passes * hw_ctrl.layer_schedule_cycles(arch, tile_cyc, load_full, load_last, rounds)
    first = np.where(rounds >= 2, load_full, load_last)
    per_pass = (rounds - 1) * np.maximum(tile_cyc, load_full) + np.maximum(tile_cyc, load_last)
    return first + passes * per_pass - np.maximum(tile_cyc, first) + tile_cyc


def layer_cycles(plan, B):
    """Per compute layer, whole batch vs image by image: (cycles, cycles), and the tile cycles of one
    pass of each ((batch, image) pairs of arrays)."""
    arch, m = plan.arch, plan.mapping
    full, last, R = plan.round_loads_full, plan.round_loads_last, plan.rounds
    tile_b = plan.tile_cycles
    cyc_b = pass_schedule_cycles(arch, tile_b, full, last, R, 1)
    if B == 1:  # (one image: both modes are one pass of the plan's own tiles, over plan.pixels // 1 pixels)
        return (cyc_b, cyc_b), (tile_b, tile_b)
    tile_1 = hw_ctrl.tile_cycles(arch, plan.bits_in, plan.bits_out, m.outputs_per_tile, plan.pixels // B, plan.bits_w)
    return (cyc_b, pass_schedule_cycles(arch, tile_1, full, last, R, B)), (tile_b, tile_1)


def cycles_floor(plan) -> int:
    """A lower bound of the compute layers' cycles of the sequential schedule, whatever `choose` picks:
    each layer at the fewer of its two modes' cycles (spills left out, >= 0).  For `mapping.policy: auto`
    (tlm/engines/analytic.py), before the rule runs (Plan.finish)."""
    (cb, ci), _tiles = layer_cycles(plan, plan.batch)
    return int(np.minimum(cb, ci).sum())


def layer_costs(plan, B):
    """Per compute layer, whole batch vs image by image: (cycles, on-chip energy in pJ that differs:
    weight writes, their DMA, the tiles' window clocking), each a pair of arrays (batch, image)."""
    arch, m = plan.arch, plan.mapping
    P1 = plan.pixels // B
    cyc, (tile_b, tile_1) = layer_cycles(plan, B)
    loaded = np.zeros_like(m.active_cells) if plan.resident else m.active_cells
    outs = m.row_tiles * plan.c_out
    e = []
    for passes, tile, P in ((1, tile_b, plan.pixels), (B, tile_1, P1)):
        w = passes * loaded
        e.append(hw_macro.weight_write_energy_pj(arch, w) + hw_dma.onchip_energy_pj(arch, w)
                 + passes * hw_ctrl.tile_energy_pj(arch, m.active_rows, tile, P, plan.bits_in, outs))
    return cyc, tuple(e)


def choose(plan):
    """(first, last) layer of the image-by-image run the sequential schedule takes (last < first: all
    whole-batch), the live bits it leaves, and (cycles, energy) of every option for the note."""
    arch, wl, B = plan.arch, plan.wl, plan.batch
    n = len(wl.layers)
    cap = arch.sram.capacity_bits
    M, lo, hi = live_matrix(wl)
    (cb, ci), (eb, ei) = layer_costs(plan, B)
    comp = plan.comp_idx
    cyc_b, cyc_i = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
    en_b, en_i = np.zeros(n), np.zeros(n)
    cyc_b[comp], cyc_i[comp], en_b[comp], en_i[comp] = cb, ci, eb, ei
    e_cycle = float(hw_ctrl.energy_pj(arch, 1) + hw_leak.energy_pj(arch, 1, None))  # always-on, per cycle
    cs_b, cs_i = np.concatenate(([0], np.cumsum(cyc_b))), np.concatenate(([0], np.cumsum(cyc_i)))
    es_b, es_i = np.concatenate(([0.0], np.cumsum(en_b))), np.concatenate(([0.0], np.cumsum(en_i)))

    runs = [(0, -1), (0, n - 1)] + ([(s, e) for s in range(n) for e in range(s, n) if (s, e) != (0, n - 1)]
                                    if n <= MAX_LAYERS else [])
    costs = {}
    for k in range(0, len(runs), RUN_BLOCK):  # runs at once (runs x layers): live bits, spills, cycles, energy
        rs = runs[k:k + RUN_BLOCK]
        S, E = np.array([r[0] for r in rs]), np.array([r[1] for r in rs])
        one = (lo[None, :] >= S[:, None]) & (hi[None, :] <= E[:, None])  # tensors held for one image
        live = M.sum(axis=0)[None, :] * B - (B - 1) * (one.astype(np.int64) @ M)  # (live_bits_modes)
        spill = np.maximum(live - cap, 0)
        ins = S <= E
        cyc = cs_b[n] + np.where(ins, (cs_i[E + 1] - cs_i[S]) - (cs_b[E + 1] - cs_b[S]), 0) \
            + spill_cycles(arch, spill).sum(axis=1)
        en = es_b[n] + np.where(ins, (es_i[E + 1] - es_i[S]) - (es_b[E + 1] - es_b[S]), 0.0) \
            + hw_dma.onchip_energy_pj(arch, 2 * spill).sum(axis=1)
        costs.update({r: (c, x + e_cycle * c) for r, c, x in zip(rs, cyc.tolist(), en.tolist())})
    tiles = np.zeros(n + 1, dtype=np.int64)
    tiles[1:][comp] = plan.mapping.tiles
    tiles = np.cumsum(tiles)  # tiles of layers [0, i)
    c_img, e_img = costs[(0, n - 1)]
    allowed = [r for r in runs if r[0] > r[1] or (tiles[r[1] + 1] - tiles[r[0]]) * (B - 1) <= MAX_EXTRA_TILE_RUNS]
    ok = [r for r in allowed if costs[r][0] <= c_img and costs[r][1] <= e_img] or allowed
    best = min(ok, key=lambda r: (costs[r][0], costs[r][1], r[1] - r[0]))
    return best, live_bits_modes(M, lo, hi, B, *best), {k: costs[k] for k in ((0, -1), (0, n - 1), best)}


def apply(plan) -> None:
    """The sequential schedule with a whole batch that spills: the run of layers that goes image by
    image (`choose`), their passes, the live and spilled bits, the tile cycles of one pass, a note."""
    (s, e), live, costs = choose(plan)
    cap, B, wl = plan.arch.sram.capacity_bits, plan.batch, plan.wl
    old = int(plan.spill_bits.sum())
    plan.notes = [x for x in plan.notes if "live activation bits exceed" not in x]
    plan.live_bits = live
    plan.spill_bits = np.maximum(live - cap, 0)
    if s <= e:
        img = (plan.comp_idx >= s) & (plan.comp_idx <= e)
        plan.passes = np.where(img, B, 1).astype(np.int64)
        m = plan.mapping
        P1 = plan.pixels // B
        plan.tile_cycles = np.where(img, hw_ctrl.tile_cycles(plan.arch, plan.bits_in, plan.bits_out,
                                                             m.outputs_per_tile, P1, plan.bits_w),
                                    plan.tile_cycles)
        (c0, _), (c1, _) = costs[(0, -1)], costs[(s, e)]
        names = wl.layers[s].name + (f" .. {wl.layers[e].name}" if e > s else "")
        plan.notes.append(f"batch of {B}: layers {names} run image by image (one image's activations "
                          f"held at a time; their weights loaded once per image unless resident), the "
                          f"others on the whole batch: {int(plan.spill_bits.sum()):,} bits spill to "
                          f"external memory and back instead of {old:,}, {c1:,} cycles instead of {c0:,}")
    for i in np.nonzero(plan.spill_bits)[0]:
        plan.notes.append(f"{wl.layers[i].name}: {int(plan.live_bits[i])} live activation bits exceed the "
                          f"{cap}-bit SRAM; {int(plan.spill_bits[i])} bits spill to external memory")
