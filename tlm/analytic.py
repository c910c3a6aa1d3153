"""The analytic engine: cycles, utilization and energy of a whole inference, all layers at once.

Contention-free: every block is available when the schedule needs it (the TLM engine adds contention).
The formulas are the ones in tlm/hw/; this module only counts events.  Follow one layer:
mapping.py (tiles) -> hw/controller.py (tile and layer schedule) -> hw/* (energy per event) -> Result.
"""
from __future__ import annotations

import math

import numpy as np

from .hw import adc as hw_adc
from .hw import controller as hw_ctrl
from .hw import dma as hw_dma
from .hw import leakage as hw_leak
from .hw import macro as hw_macro
from .hw import postproc as hw_pp
from .hw import sram as hw_sram
from . import mapper
from .mapping import cdiv, map_layers
from .result import KIND_NAMES, Result
from .errors import InputError, Where
from .workload import VIEW_TYPES, Workload, check_against

K = {k: i for i, k in enumerate(KIND_NAMES)}


def digital_ops(layer) -> int:
    """Elementwise digital ops of a post-processing layer for one image."""
    out = math.prod(layer.out_shape)
    if layer.type in ("maxpool",):
        return out * (layer.kernel[0] * layer.kernel[1] - 1)
    if layer.type == "avgpool":
        return out * layer.kernel[0] * layer.kernel[1]
    if layer.type in ("global_avgpool", "global_maxpool"):
        return math.prod(layer.in_shape)
    if layer.type == "add":
        return out * (len(layer.inputs) - 1)
    if layer.type == "eltwise":
        return out * layer.ops_per_element
    return 0  # flatten, reshape, concat: address remapping only


def live_bits(wl: Workload) -> np.ndarray:
    """Activation bits that must be held in SRAM while each layer runs (its inputs, its output and
    every tensor a later layer still needs), for the whole batch.  A flatten or reshape is a view: it
    stores nothing and its consumers keep its source alive."""
    names = ["input"] + [l.name for l in wl.layers]
    index = {nm: j for j, nm in enumerate(names)}
    bits = np.array([math.prod(wl.input_shape) * wl.input_bits]
                    + [0 if l.type in VIEW_TYPES else math.prod(l.out_shape) * l.bits_out for l in wl.layers],
                    dtype=np.int64)
    last_use = np.arange(len(names))
    alias = {l.name: l.inputs[0] for l in wl.layers if l.type in VIEW_TYPES}
    for i, l in enumerate(wl.layers, start=1):
        for src in l.inputs:
            last_use[index[src]] = max(last_use[index[src]], i)
            while src in alias:
                src = alias[src]
                last_use[index[src]] = max(last_use[index[src]], i)
    delta = np.zeros(len(names) + 1, dtype=np.int64)
    np.add.at(delta, np.arange(len(names)), bits)
    np.add.at(delta, last_use + 1, -bits)
    return np.cumsum(delta)[1:len(names)] * wl.batch


def weights_resident(arch, tiles_total: int) -> bool:
    """All weight tiles of the network fit in the macros at once: loaded once, kept across inferences."""
    return tiles_total <= arch.macro.count


EXACT_LIMIT = 2.0**62  # every int64 count stays below this (2x margin): exact, never wrapped


def check_count_range(arch, wl: Workload, comp, m, P, r_in, r_out) -> None:
    """Refuse a run whose cycle counts could leave the exact int64 range.  The workload limits bound
    MACs and activations, the schema bounds each parameter; their product (a huge layer on a very slow
    architecture) is bounded here, with the same formulas evaluated in float64, which cannot wrap."""
    f = np.float64
    N = arch.macro.count
    rate = min(arch.dma.bandwidth_bits_per_cycle, arch.macro.weight_write_bits_per_cycle)
    worst = np.zeros(len(wl.layers) + 1)
    if len(comp):
        tile = hw_ctrl.tile_cycles(arch, r_in.astype(f), r_out.astype(f), m.outputs_per_tile.astype(f),
                                   P.astype(f))
        load = np.minimum(N, m.tiles).astype(f) * (arch.dma.latency_cycles
                                                   + (m.rows_per_tile * m.cols_per_tile).astype(f) / rate)
        rounds = np.ceil(m.tiles.astype(f) / N)
        idx = [i for i, l in enumerate(wl.layers) if l.is_compute]
        worst[idx] = np.maximum(rounds * (tile + load) + load, m.tiles.astype(f) * tile)
    spill = np.maximum(live_bits(wl).astype(f) - arch.sram.capacity_bits, 0.0)
    worst[:-1] += 2 * (arch.dma.latency_cycles + spill / arch.dma.bandwidth_bits_per_cycle)
    total = np.cumsum(worst)
    if not total[-1] < EXACT_LIMIT:
        i = min(int(np.argmax(~(total < EXACT_LIMIT))), len(wl.layers) - 1)
        l = wl.layers[i]
        raise InputError(f"on '{arch.name}' the run would take about {total[-1]:.3g} cycles up to this layer, "
                         f"more than the {EXACT_LIMIT:.3g} the engines count exactly (a huge layer on a very "
                         "slow architecture?)", l.where or Where(wl.file), f"layers[{i}]({l.name})")


def simulate(arch, wl: Workload, input_density=None) -> Result:
    """Analytic simulation of `wl` on `arch`.  `input_density` (one value per layer) replaces the
    config's default input bit density, e.g. measured on data.  `arch.mapping.policy` other than
    sequential: the cycles come from the mapper's schedule (tlm/mapper.py); `auto` picks one
    (tlm/policies.py)."""
    check_against(wl, arch)
    if arch.mapping.policy == "auto":
        from .policies import simulate_auto
        return simulate_auto(simulate, arch, wl, input_density=input_density)
    ops_img = [digital_ops(l) for l in wl.layers]
    asg = mapper.assign(arch, wl, arch.mapping.policy, ops_img)
    layers = wl.layers
    n = len(layers)
    rows = n + 1  # + image I/O
    B = wl.batch
    dens = np.full(n, arch.activity.input_bit_density) if input_density is None \
        else np.asarray(input_density, dtype=float).reshape(n)
    comp_idx = np.array([i for i, l in enumerate(layers) if l.is_compute], dtype=np.int64)
    dig_idx = np.array([i for i, l in enumerate(layers) if not l.is_compute], dtype=np.int64)
    comp = [layers[i] for i in comp_idx]

    z = lambda dt=np.int64: np.zeros(rows, dtype=dt)  # noqa: E731
    pl = {k: z() for k in ("macs", "cycles", "compute_cycles", "load_cycles", "spill_cycles", "tiles",
                           "row_tiles", "col_tiles", "group_tiles", "groups_per_tile", "rounds",
                           "rows_per_tile", "cols_per_tile", "weight_bits_loaded", "conversions",
                           "dp_cycles", "sram_read_bits", "sram_write_bits", "dma_bits", "spill_bits",
                           "postproc_ops", "live_bits")}
    pl["spatial_utilization"] = z(float)
    pl["temporal_utilization"] = z(float)
    E = np.zeros((rows, len(KIND_NAMES)))
    busy = dict.fromkeys(("macro", "adc", "sram", "dma", "controller", "postproc"), 0)
    notes = list(wl.notes)

    in_bits = np.array([math.prod(l.in_shape) * l.bits_in for l in layers], dtype=np.int64) * B
    in_bits_all = np.array([sum(math.prod(s) for s in (l.in_shapes or (l.in_shape,))) * l.bits_in
                            for l in layers], dtype=np.int64) * B
    out_elems = np.array([math.prod(l.out_shape) for l in layers], dtype=np.int64) * B
    out_bits = out_elems * np.array([l.bits_out for l in layers], dtype=np.int64)
    pl["macs"][:n] = [l.macs * B for l in layers]

    resident = False
    if not len(comp):
        check_count_range(arch, wl, comp, None, None, None, None)
    else:
        m = map_layers(arch, comp)
        P = np.array([l.out_pixels for l in comp], dtype=np.int64) * B
        r_in = np.array([l.bits_in for l in comp], dtype=np.int64)
        r_out = np.array([l.bits_out for l in comp], dtype=np.int64)
        check_count_range(arch, wl, comp, m, P, r_in, r_out)
        tile = hw_ctrl.tile_cycles(arch, r_in, r_out, m.outputs_per_tile, P)
        N = arch.macro.count
        rounds = cdiv(m.tiles, N)
        last_n = m.tiles - (rounds - 1) * N
        resident = weights_resident(arch, int(m.tiles.sum())) or asg.policy != "sequential"
        tile_bits = m.rows_per_tile * m.cols_per_tile
        rate = min(arch.dma.bandwidth_bits_per_cycle, arch.macro.weight_write_bits_per_cycle)
        l_tile = hw_dma.transfer_cycles(arch, tile_bits, rate)
        ch = arch.dma.channels
        load_full = cdiv(np.minimum(N, m.tiles), ch) * l_tile
        load_last = cdiv(last_n, ch) * l_tile
        if resident:
            load_full = load_full * 0
            load_last = load_last * 0
        if resident and asg.policy == "sequential":
            notes.append(f"all {int(m.tiles.sum())} weight tiles fit in {N} macro(s): weights stay resident "
                         "and are loaded once, not per inference")
        layer_cyc = hw_ctrl.layer_schedule_cycles(arch, tile, load_full, load_last, rounds)
        compute = rounds * tile
        loaded = np.zeros_like(m.active_cells) if resident else m.active_cells
        dp_cyc = m.tiles * P * r_in
        conv = P * m.row_tiles * np.array([l.c_out for l in comp], dtype=np.int64)
        psum_elems = out_elems[comp_idx] * (m.row_tiles - 1)
        psum_bits = psum_elems * arch.controller.psum_bits
        for k, v in (("compute_cycles", compute), ("load_cycles", layer_cyc - compute), ("tiles", m.tiles),
                     ("row_tiles", m.row_tiles), ("col_tiles", m.col_tiles), ("group_tiles", m.group_tiles),
                     ("groups_per_tile", m.groups_per_tile), ("rounds", rounds),
                     ("rows_per_tile", m.rows_per_tile), ("cols_per_tile", m.cols_per_tile),
                     ("weight_bits_loaded", loaded), ("conversions", conv), ("dp_cycles", dp_cyc),
                     ("sram_read_bits", in_bits[comp_idx] * m.col_tiles + psum_bits),
                     ("sram_write_bits", out_bits[comp_idx] + psum_bits),
                     ("dma_bits", loaded), ("postproc_ops", psum_elems), ("cycles", layer_cyc)):
            pl[k][comp_idx] = v
        pl["spatial_utilization"][comp_idx] = m.spatial_utilization
        busy_macro = m.tiles * tile
        pl["temporal_utilization"][comp_idx] = busy_macro / (N * np.maximum(layer_cyc, 1))
        # energy of the macro and ADC events
        d = dens[comp_idx]
        E[comp_idx, K["dp_array"]] = hw_macro.dp_array_energy_pj(arch, m.active_cells * P * r_in,
                                                                 m.active_cols * P * r_in, d)
        E[comp_idx, K["input_drivers"]] = hw_macro.input_driver_energy_pj(arch, m.active_rows * P * r_in, d)
        E[comp_idx, K["weight_write"]] = hw_macro.weight_write_energy_pj(arch, loaded)
        E[comp_idx, K["adc"]] = conv * hw_adc.conversion_energy_pj(arch, r_out)
        E[comp_idx, K["controller"]] = hw_ctrl.window_energy_pj(arch, m.active_rows * tile)
        _, t_cv = hw_ctrl.pixel_cycles(arch, r_in, r_out, m.outputs_per_tile)
        busy["macro"] += int(busy_macro.sum())
        busy["adc"] += int((m.tiles * P * t_cv).sum())
        busy["dma"] += int(((rounds - 1) * load_full + load_last).sum())
        for i, l in enumerate(comp):
            if (m.row_tiles[i]) > 1:
                notes.append(f"{l.name}: {int(m.rows_per_group[i])} rows need {int(m.row_tiles[i])} row tiles; "
                             "partial sums are accumulated digitally")
            if m.groups[i] > 1 and m.spatial_utilization[i] < 0.25:
                notes.append(f"{l.name}: grouped conv ({int(m.groups[i])} groups) maps poorly, "
                             f"{100 * m.spatial_utilization[i]:.1f}% of the array holds useful weights")

    if len(dig_idx):
        ops = np.array([digital_ops(layers[i]) for i in dig_idx], dtype=np.int64) * B
        moves = np.array([layers[i].type not in VIEW_TYPES + ("concat",) for i in dig_idx])
        pl["postproc_ops"][dig_idx] = ops
        pl["cycles"][dig_idx] = hw_pp.op_cycles(arch, ops)
        pl["sram_read_bits"][dig_idx] = np.where(moves, in_bits_all[dig_idx], 0)
        pl["sram_write_bits"][dig_idx] = np.where(moves, out_bits[dig_idx], 0)

    # activation SRAM capacity: what does not fit is spilled to external memory and read back
    live = live_bits(wl)
    pl["live_bits"][:n] = live
    spill = np.maximum(live - arch.sram.capacity_bits, 0)
    if spill.any():
        pl["spill_bits"][:n] = spill
        pl["spill_cycles"][:n] = 2 * hw_dma.transfer_cycles(arch, spill)
        pl["cycles"][:n] += pl["spill_cycles"][:n]
        pl["dma_bits"][:n] += 2 * spill
        for i in np.nonzero(spill)[0]:
            notes.append(f"{layers[i].name}: {int(live[i])} live activation bits exceed the "
                         f"{arch.sram.capacity_bits}-bit SRAM; {int(spill[i])} bits spill to external memory")

    # image I/O: the input image in, the last layer's output out, through the DMA into/out of SRAM
    io_in = math.prod(wl.input_shape) * wl.input_bits * B
    io_out = int(out_bits[-1])
    pl["cycles"][n] = hw_dma.transfer_cycles(arch, io_in) + hw_dma.transfer_cycles(arch, io_out)
    pl["dma_bits"][n] = io_in + io_out
    pl["sram_write_bits"][n] = io_in
    pl["sram_read_bits"][n] = io_out
    busy["dma"] += int(pl["cycles"][n] + pl["spill_cycles"].sum())
    clock, makespan, sched = pl["cycles"], None, None
    if asg.policy != "sequential" and len(comp):
        sched, clock, makespan = mapper.apply(arch, wl, asg, pl, notes, ops_img)
        busy["macro"] = int(sum(sched.cost[j] for j in range(len(sched.res)) if sched.res[j] < arch.macro.count))

    # energy of the digital side, per row
    E[:, K["sram_read"]] = hw_sram.read_energy_pj(arch, pl["sram_read_bits"])
    E[:, K["sram_write"]] = hw_sram.write_energy_pj(arch, pl["sram_write_bits"])
    E[:, K["dma"]] = hw_dma.onchip_energy_pj(arch, pl["dma_bits"])
    E[:, K["external"]] = hw_dma.external_energy_pj(arch, pl["dma_bits"])
    E[:, K["postproc"]] = hw_pp.op_energy_pj(arch, pl["postproc_ops"])
    E[:, K["controller"]] += hw_ctrl.energy_pj(arch, clock)
    mdesc = mapper.describe(arch, wl, asg, sched)
    E[:, K["leakage"]] = hw_leak.energy_pj(arch, clock, mdesc["macros_used"])
    busy["sram"] += int(hw_sram.access_cycles(arch, pl["sram_read_bits"] + pl["sram_write_bits"]).sum())
    busy["postproc"] += int(hw_pp.op_cycles(arch, pl["postproc_ops"]).sum())
    busy["controller"] = int(clock.sum())
    extra = {"weights_resident": bool(resident), "mapping": mdesc}

    res = Result(engine="analytic", arch=arch, workload=wl,
                 layer_names=[l.name for l in layers] + ["(image I/O)"],
                 layer_types=[l.type for l in layers] + ["io"],
                 per_layer=pl, energy_pj=E, component_busy_cycles=busy, notes=notes, extra=extra)
    res.mapping_plan = (asg, sched)  # the mapper's plan, which the TLM engine executes (not serialized)
    return res
