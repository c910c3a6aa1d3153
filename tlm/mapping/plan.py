"""The plan of a run: everything both engines need to know *before* time starts, built once per
(architecture, workload, input density) and read by the analytic engine (tlm/engines/analytic.py, which sums
it) and by the transaction-level engine (tlm/engines/transaction/, which executes it and decides *when* each event
happens).  Core layer: it imports only arch/workload/mapping/hw; no cost formula, volume rule or
schedule rule exists anywhere else.

API
---
    plan = build_plan(arch, wl, input_density=None)      # -> Plan (raises InputError on bad input)

`Plan` (one per run):
    arch, wl, batch, rows (= layers + 1; the last row is the image I/O), names, types
    layers: list[LayerPlan]            one per workload layer, in order (row i = layer i)
    comp_idx, dig_idx: np.ndarray      rows of the compute (conv/dense) and digital layers
    mapping: tlm.mapping.geometry.Mapping       per compute layer (arrays, in comp_idx order)
    resident: bool                     all weight tiles fit the macros: loaded once, not per inference
    notes: list[str]                   the workload's notes, then the plan's remarks (row tiles, spills)
    per-row arrays (length rows - 1, int64 unless said): in_bits (first input, whole batch), in_bits_all
        (all inputs), out_elems, out_bits, macs, density (float), live_bits, spill_bits
    per compute layer arrays (comp_idx order): pixels (P = output pixels x batch), bits_in, bits_out,
        t_dp, t_cv (cycles of one pixel's DP phase / conversions), period (cycles between pixels in steady
        state), tile_cycles (nominal cycles of a full tile over the pixels of one pass: all P, or one
        image's when the layer runs image by image), passes (1, or the batch: tlm/mapping/batching.py,
        the sequential schedule's whole-batch or image-by-image choice per layer), load_cycles (weight-load
        cycles of one tile, 0 when resident), rounds, round_loads_full / round_loads_last (weight-load
        cycles before a full / the last round), psum_bits (partial-sum bits written and read back)
    per digital layer arrays (dig_idx order): ops, moves (bool), read_bits, write_bits
    io_in_bits, io_out_bits: image in (DMA -> SRAM) and the last output out (SRAM -> DMA)
    sram: SramLayout                   where every tensor lives (address ranges decide the banks)
    serial_bound_cycles: int           every block's whole demand done one after the other: no run,
                                       however contended, can take longer (the TLM watchdog's scale)

`LayerPlan` (per layer, scalars for the TLM): row, name, type, compute; for compute layers pixels,
    bits_in, bits_out, t_dp, t_cv, period, tile_cycles, load_cycles, tile_bits, chunk_pixels, rounds,
    density, n_tiles, in_addr/out_addr/psum_addr (SRAM bit addresses of its input, output and
    partial-sum buffer), psum_bits, `tiles` (list[Tile], built on first access) and `rounds_of()`
    (tiles per round, from the assignment); for digital layers ops, read_bits, write_bits, in_addrs,
    in_bits_each; spill_bits.

`Tile` (per weight tile; built lazily, ResNet-18 has thousands): index, row_tile, last_row, rows, cols,
    cells (= weight bits written when loaded), outputs (channels converted per pixel), in_lo/in_hi (the
    bit range of the layer's input it reads, relative to in_addr), ch_lo/ch_hi (its output channels),
    read_bits, write_bits, psum_read_bits (SRAM traffic over the tile's P pixels), weight_bits
    (loaded; 0 when resident), macro, round (the assignment).

The assignment of tiles to macros and rounds (`assignment`, per compute layer two int arrays
`tile_macro`, `tile_round`) is explicit so that a mapper can fill another one (`set_assignment(j,
tile_macro, tile_round)` updates the rounds and round loads); the default policy "sequential" puts tile
k on macro k mod N in round k div N (rounds of N tiles, the last one partial).  Several tiles of one
round on one macro run one after the other on it.

Volume rules (one place): tlm/mapping/rules.py (moves_data, weight_load_cycles, spill_cycles, live_bits, ...).
"""
from __future__ import annotations

import math

import numpy as np

from tlm.records import Record, record
from tlm.errors import InputError, Where
from tlm.hw import adc as hw_adc
from tlm.hw import controller as hw_ctrl
from tlm.hw import dma as hw_dma
from tlm.hw import macro as hw_macro
from tlm.hw import postproc as hw_pp
from tlm.hw import sram as hw_sram
from tlm.mapping.geometry import Mapping, cdiv, map_layers, tile_grid
from tlm.mapping.policies import CONCRETE
from tlm.mapping import template
from tlm.mapping.perlayer import PER_LAYER_KEYS, STATIC_KEYS, static_per_layer  # noqa: F401  (re-exported)
from tlm.mapping.rules import (  # noqa: F401  (re-exported for the engines)
    SramLayout, bank_interleave_bits, digital_ops, live_bits, moves_data, spill_cycles, split_share,
    weight_load_cycles, weights_resident)
from tlm.config.workload import VIEW_TYPES, Workload, check_against

EXACT_LIMIT = 2.0**62  # every int64 count stays below this (2x margin): exact, never wrapped
MAX_PLAN_TILES = 1 << 22  # tiles one plan enumerates (the assignment: 2 x 8 bytes each, 64 MiB at most)
MAX_TILES = 200_000  # tile runs per TLM simulation: each is a few Python objects and events
MAX_COMPUTE_TXN_PER_LAYER = 100_000  # bigger chunks past this: a huge layer stays a few seconds of work


# ---- the plan ---------------------------------------------------------------------------------------
@record(slots=True, generated_init=True)  # (made per tile / per transaction: the fastest __init__)
class Tile(Record):
    """One weight tile of a layer: what it drives, converts, reads and writes, and where it runs."""

    index: int
    row_tile: int  # 0 .. row_tiles-1: which slice of the kernel rows
    last_row: bool  # its conversions are final outputs (else partial sums)
    rows: int  # rows driven per DP cycle
    cols: int  # columns pre-charged per DP cycle
    cells: int  # cells switched per DP cycle = weight bits written when loaded
    outputs: int  # output channels converted per pixel
    conversions: int  # conversions per pixel (tlm/hw/adc.conversions_per_pixel: outputs, or bit columns x phases)
    in_lo: int  # bit range [in_lo, in_hi) of the layer input it reads (relative to the layer's in_addr)
    in_hi: int
    ch_lo: int  # output channels [ch_lo, ch_hi) it produces (or partial sums of)
    ch_hi: int
    read_bits: int  # activation bits it reads from SRAM over all its pixels (= in_hi - in_lo)
    write_bits: int  # outputs or partial sums it writes over all its pixels
    psum_read_bits: int  # partial sums it reads back to accumulate (row tiles after the first)
    weight_bits: int  # weight bits loaded into its macro (0 when resident)
    macro: int  # the assignment
    round: int
    shape: object = None  # its tlm.mapping.geometry.TileShape (groups, channels and kernel rows it holds)


@record(slots=True)
class LayerPlan(Record):
    """One layer of the plan: its volumes, cycle costs and SRAM addresses (compute or digital)."""

    row: int
    name: str
    type: str
    compute: bool
    spill_bits: int = 0
    # compute layers
    pixels: int = 0  # output pixels x batch
    bits_in: int = 0
    bits_out: int = 0
    bits_w: int = 0
    dp_phases: int = 0  # DP phases per pixel (tlm/hw/macro.dp_phases)
    t_dp: int = 0
    t_cv: int = 0
    period: int = 0
    tile_cycles: int = 0
    load_cycles: int = 0  # weight-load cycles of one tile (0 when resident)
    tile_bits: int = 0  # bits of a full tile
    chunk_pixels: int = 1  # pixels per COMPUTE transaction of the TLM engine
    rounds: int = 0
    passes: int = 1  # 1: the rounds run once over the whole batch; B: once per image (batching.py)
    n_tiles: int = 0
    density: float = 0.5
    in_addr: int = 0
    out_addr: int = 0
    psum_addr: int = 0
    psum_bits: int = 0  # bits of one partial sum
    # digital layers
    ops: int = 0
    read_bits: int = 0
    write_bits: int = 0
    in_addrs: tuple = ()  # SRAM address of each input
    in_bits_each: tuple = ()  # bits read from each input (digital layers that move data)
    _plan: object = None
    _j: int = -1  # index among compute layers
    _tiles: list = None

    @property
    def tiles(self) -> list:
        """The layer's tiles in index order (group tiles x column tiles x row tiles), built once."""
        if self._tiles is None:
            self._tiles = self._plan._build_tiles(self)
        return self._tiles

    def rounds_of(self) -> list:
        """The tiles of each round, in round order (the assignment)."""
        out = [[] for _ in range(self.rounds)]
        for t in self.tiles:
            out[t.round].append(t)
        return out


class Plan:
    """See the module docstring."""

    def __init__(self, arch, wl: Workload, input_density=None, policy: str = "sequential", shared=None,
                 steady=False):
        if policy == "auto":  # the one refusal of `auto` by an engine (both build their plan here)
            raise InputError("mapping.policy auto is resolved above the engines (tlm/engines/registry.py: "
                             "ENGINES, run, resolve_policy); an engine runs a concrete policy",
                             Where("<plan>"), "mapping.policy")
        if policy not in CONCRETE:
            raise InputError(f"unknown assignment policy '{policy}', expected one of {', '.join(CONCRETE)}",
                             Where("<plan>"), "policy")
        self.arch, self.wl, self.policy = arch, wl, policy
        layers = wl.layers
        base = None if shared is None else shared.get("base")
        if base is None:
            check_against(wl, arch)
            from tlm.mapping.reuse import plain  # (a recording notes the fields its Mapping reads: made here)
            self._base(arch, wl, input_density, (shared or {}).get("mapping") if plain(arch) is arch else None)
            if shared is not None:  # what does not depend on the policy, for the other plans (build_plan)
                shared["base"] = {k: v for k, v in self.__dict__.items() if k not in ("arch", "policy")}
                shared["base_inputs"] = (wl, input_density)
        else:
            if shared["base_inputs"][0] is not wl or shared["base_inputs"][1] is not input_density:
                raise ValueError("build_plan(shared=...): the plans sharing a dict need the same workload and "
                                 "input density")
            self.__dict__.update(base)
        comp = [layers[i] for i in self.comp_idx]
        self._layers = None  # the LayerPlans, built on first access (the TLM engine's; the analytic sums arrays)
        self._serial = None
        self.resident = False
        self.notes = list(wl.notes)
        N = arch.macro.count
        if len(comp):
            m = self.mapping
            self.check_plan_tiles()
            self.resident = weights_resident(arch, int(m.tiles.sum())) or policy != "sequential"
            self.load_cycles = self._tile_load_cycles * (0 if self.resident else 1)
            # the assignment: policy "sequential", rounds of N tiles (a resident policy sets every layer's below)
            self.assignment = (template.sequential_assignment(self, N) if policy == "sequential"
                               else [None] * len(m.tiles))
            self.rounds = cdiv(m.tiles, N)
            full = np.minimum(N, m.tiles)  # tiles of a full round
            last = m.tiles - (self.rounds - 1) * N  # tiles of the last round
            ch = arch.dma.channels
            self.round_loads_full = cdiv(full, ch) * self.load_cycles
            self.round_loads_last = cdiv(last, ch) * self.load_cycles
            if self.resident and policy == "sequential":
                self.notes.append(f"all {int(m.tiles.sum())} weight tiles fit in {N} macro(s): weights stay "
                                  "resident and are loaded once, not per inference")
            self.passes = np.ones(len(m.tiles), dtype=np.int64)  # per compute layer: 1, or B image by image
        self.notes.extend(self._base_notes)
        self.deferred = False  # the sequential batching rule left for `finish` (auto's, see there)
        if policy == "sequential" and len(comp) and self.batch > 1 and self.spill_bits.any():
            if shared is not None and shared.get("defer_batching") and shared.get("plain"):
                self.deferred = True
            else:
                self.finish(force=True)
        # several macros (tlm/mapping/mapper.py): where every tile lives and the job schedule both engines use
        self.multi = self.schedule = None
        from tlm.mapping import mapper
        m = self.mapping
        if shared is None:
            shared = {}
        if policy != "sequential" and len(comp):
            self._resident(arch, wl, policy, shared, steady)
        self.mapping_desc = (mapper.describe(arch, wl, self.multi, self.schedule, m=m) if self.multi is not None
                             else template.sequential_desc(self, arch, wl, shared.setdefault("assign", {})))

    def finish(self, force=False) -> "Plan":
        """The sequential plan of a batch that spills with its batching rule applied (tlm/mapping/batching.py).
        auto may leave the rule for later (`shared["defer_batching"]`, a plan built plainly: kept by no one
        else, tlm/mapping/reuse.py) and skip it when a resident policy beats the lower bound of its cycles
        (tlm/engines/analytic._Deferred); nothing built after the rule reads what it changes."""
        if self.deferred or force:
            from tlm.mapping.batching import apply
            self.deferred = False
            apply(self)
        return self

    def _resident(self, arch, wl, policy, shared, steady) -> None:
        """A resident policy: the assignment (tlm/mapping/assign.py), the job schedule both engines use
        (tlm/mapping/schedule.py, shared by the plans whose assignments give the same one), every tile in
        round 0 on the macro of its copy 0, and the policy's notes."""
        from tlm.mapping import mapper
        ops_img = shared.get("ops_img")  # (digital ops per image of each layer: one list per shared dict)
        if ops_img is None:
            ops_img = shared["ops_img"] = [digital_ops(l) for l in wl.layers]
        self.multi, self.schedule = mapper.resident_schedule(arch, wl, policy, shared, ops_img, steady, self.mapping,
                                                             self.comp_idx, self.spill_bits, self._structure)
        self._all_in_round0(mapper.round0(self.multi, self.mapping.tiles, self.comp_idx))  # copy 0 of every
        # tile, all in round 0: the assignment
        self.notes = mapper.plan_notes(arch, wl, self.multi, self.schedule, self.notes)

    def _all_in_round0(self, round0) -> None:
        """Every compute layer's assignment: `round0[j]` (mapper.round0: each tile on the macro of its copy 0,
        round 0) -- what set_assignment(j, those macros, zeros) sets for each layer j, at once (a resident
        policy's places are valid macros): one round, its load over the DMA channels, no full round."""
        self.assignment[:] = round0
        self.rounds[:] = 1
        self.round_loads_last[:] = cdiv(self.mapping.tiles, self.arch.dma.channels) * self.load_cycles
        self.round_loads_full[:] = 0
        if self._layers is not None:
            for j, i in enumerate(self.comp_idx.tolist()):
                p = self._layers[i]
                p.rounds, p._tiles = 1, None

    @property
    def layers(self) -> list:
        """One LayerPlan per workload layer, in order (built on first access, from the plan's arrays)."""
        if self._layers is None:
            self._layers = [LayerPlan(row=i, name=l.name, type=l.type, compute=l.is_compute, _plan=self)
                            for i, l in enumerate(self.wl.layers)]
            self._fill_layers(compute_txn_macs=self.arch.tlm.compute_txn_macs)
        return self._layers

    @property
    def serial_bound_cycles(self) -> int:
        """Every block's whole demand done one after the other (and twice a resident policy's schedule):
        no run, however contended, can take longer (the TLM watchdog's scale)."""
        if self._serial is None:
            b = self._serial_bound()
            if self.schedule is not None:
                b = max(b, 2 * self.schedule.makespan)
            self._serial = b
        return self._serial

    def _base(self, arch, wl, input_density, mapping=None) -> None:
        """The fields that do not depend on the mapping policy (shared by the plans of one build_plan
        `shared` dict): volumes, the Mapping, timing constants, live bits, the SRAM layout, the notes
        after the policy's own (row tiles, grouped convs, spills).  Raises InputError on a run out of the
        exact range.  `mapping`: the compute layers' map_layers on this architecture, if already made.  Kept
        for the points of a structure but the timed fields, each point's own (tlm/mapping/template.py)."""
        k = template.key(arch, wl, input_density)
        got = template.get(k, wl, arch)
        if got is not None:
            return self.__dict__.update(got) or self._timing(arch, check=True)
        self._structure = {} if k is not None else None  # (what the structure's plans keep: template.py)
        layers = wl.layers
        n = len(layers)
        self.rows = n + 1
        B = self.batch = wl.batch
        self.names = [l.name for l in layers] + ["(image I/O)"]
        self.types = [l.type for l in layers] + ["io"]
        self.density = np.full(n, arch.activity.input_bit_density) if input_density is None \
            else np.asarray(input_density, dtype=float).reshape(n)
        self.comp_idx = np.array([i for i, l in enumerate(layers) if l.is_compute], dtype=np.int64)
        self.dig_idx = np.array([i for i, l in enumerate(layers) if not l.is_compute], dtype=np.int64)
        comp = [layers[i] for i in self.comp_idx]
        self.in_bits = np.array([math.prod(l.in_shape) * l.bits_in for l in layers], dtype=np.int64) * B
        self.in_bits_all = np.array([sum(math.prod(s) for s in (l.in_shapes or (l.in_shape,))) * l.bits_in
                                     for l in layers], dtype=np.int64) * B
        self.out_elems = np.array([math.prod(l.out_shape) for l in layers], dtype=np.int64) * B
        self.out_bits = self.out_elems * np.array([l.bits_out for l in layers], dtype=np.int64)
        self.macs = np.array([l.macs * B for l in layers], dtype=np.int64)
        notes = self._base_notes = []
        self.mapping: Mapping | None = None
        self.live_bits = live_bits(wl)
        if len(comp):
            m = self.mapping = map_layers(arch, comp) if mapping is None else mapping
            self.pixels = np.array([l.out_pixels for l in comp], dtype=np.int64) * B
            r_in = self.bits_in = np.array([l.bits_in for l in comp], dtype=np.int64)
            self.bits_out = np.array([l.bits_out for l in comp], dtype=np.int64)
            r_w = self.bits_w = np.array([l.bits_w for l in comp], dtype=np.int64)
            self.c_out = np.array([l.c_out for l in comp], dtype=np.int64)
            # the macro's event counts per pixel (tlm/hw/): DP phases, conversions of the whole layer
            self.dp_phases = np.asarray(hw_macro.dp_phases(arch, r_in), dtype=np.int64)
            self.conversions_per_pixel = np.asarray(hw_adc.conversions_per_pixel(arch, self.c_out, r_in, r_w),
                                                    dtype=np.int64)
            self._check_range(m)
            self.tile_bits = m.rows_per_tile * m.cols_per_tile
            self.psum_bits = self.out_elems[self.comp_idx] * (m.row_tiles - 1) * arch.controller.psum_bits
            for j, l in enumerate(comp):
                if m.row_tiles[j] > 1:
                    notes.append(f"{l.name}: {int(m.rows_per_group[j])} rows need {int(m.row_tiles[j])} "
                                 "row tiles; partial sums are accumulated digitally")
                if m.groups[j] > 1 and m.spatial_utilization[j] < 0.25:
                    notes.append(f"{l.name}: grouped conv ({int(m.groups[j])} groups) maps poorly, "
                                 f"{100 * m.spatial_utilization[j]:.1f}% of the array holds useful weights")
        else:
            self._check_range(None)
        if len(self.dig_idx):
            dl = [layers[i] for i in self.dig_idx]
            self.ops = np.array([digital_ops(l) for l in dl], dtype=np.int64) * B
            self.moves = np.array([moves_data(l) for l in dl], dtype=bool)
            self.dig_read_bits = np.where(self.moves, self.in_bits_all[self.dig_idx], 0)
            self.dig_write_bits = np.where(self.moves, self.out_bits[self.dig_idx], 0)
        self.spill_bits = np.maximum(self.live_bits - arch.sram.capacity_bits, 0)
        for i in np.nonzero(self.spill_bits)[0]:
            notes.append(f"{layers[i].name}: {int(self.live_bits[i])} live activation bits exceed the "
                         f"{arch.sram.capacity_bits}-bit SRAM; {int(self.spill_bits[i])} bits spill to "
                         "external memory")
        self.io_in_bits = math.prod(wl.input_shape) * wl.input_bits * B
        self.io_out_bits = int(self.out_bits[-1])
        self._layout()
        template.put(k, wl, self.__dict__, arch)  # (before the timed fields: they are each point's own)
        self._timing(arch)

    def _timing(self, arch, check=False) -> None:
        """The timed base fields (template.TIMED) from `arch`; `check`: the range check first (`_check_range`)."""
        if check:
            self._check_range(self.mapping)
        if (m := self.mapping) is None:
            return
        r_in, r_out, r_w = self.bits_in, self.bits_out, self.bits_w
        self.t_dp, self.t_cv = (np.asarray(x, dtype=np.int64)
                                for x in hw_ctrl.pixel_cycles(arch, r_in, r_out, m.outputs_per_tile, r_w))
        self.period = np.maximum(self.t_dp, self.t_cv) if arch.adc.pipelined else self.t_dp + self.t_cv
        self.tile_cycles = hw_ctrl.tile_cycles(arch, r_in, r_out, m.outputs_per_tile, self.pixels, r_w)
        self._tile_load_cycles = weight_load_cycles(arch, self.tile_bits)  # when not resident

    # ---- the assignment ------------------------------------------------------------------------------
    def set_assignment(self, j: int, tile_macro, tile_round) -> None:
        """Give compute layer j (index among the compute layers) another assignment: tile k runs on macro
        tile_macro[k] in round tile_round[k] (a mapper's policy).  Rounds are renumbered densely; the
        layer's round count and weight-load cycles follow (a round loads its tiles over the DMA channels;
        the analytic schedule takes its largest non-last round as the full one)."""
        m, N = self.mapping, self.arch.macro.count
        tm, tr = np.asarray(tile_macro, dtype=np.int64), np.asarray(tile_round, dtype=np.int64)
        T = int(m.tiles[j])
        bad, one_round = tm.shape != (T,) or tr.shape != (T,), False
        if T and not bad:  # (on a few tiles Python's min and max are cheaper than numpy's)
            if T <= 64:
                tml, trl = tm.tolist(), tr.tolist()
                bad, one_round = min(tml) < 0 or max(tml) >= N or min(trl) < 0, not any(trl)
            else:
                bad, one_round = tm.min() < 0 or tm.max() >= N or tr.min() < 0, not tr.any()
        if bad:
            raise ValueError(f"an assignment of layer {j} needs {T} macros in [0, {N}) and rounds >= 0")
        if one_round:  # (the resident policies): np.unique's answer, cheaply
            tr = np.zeros(T, dtype=np.int64)
            counts = np.array([T], dtype=np.int64)
        else:
            _, tr = np.unique(tr, return_inverse=True)
            tr = tr.astype(np.int64)
            counts = np.bincount(tr, minlength=1) if T else np.zeros(1, dtype=np.int64)
        self.assignment[j] = (tm, tr)
        ch = self.arch.dma.channels
        self.rounds[j] = len(counts)
        self.round_loads_last[j] = -(-int(counts[-1]) // ch) * self.load_cycles[j]
        self.round_loads_full[j] = -(-int(counts[:-1].max(initial=0)) // ch) * self.load_cycles[j]
        if self._layers is not None:  # (else they are built from these arrays when first asked for)
            p = self._layers[int(self.comp_idx[j])]
            p.rounds, p._tiles = int(self.rounds[j]), None

    # ---- checks --------------------------------------------------------------------------------------
    def _check_range(self, m) -> None:
        """Refuse a run whose cycle counts could leave the exact int64 range.  The workload limits bound
        MACs and activations, the schema bounds each parameter; their product (a huge layer on a very slow
        architecture) is bounded here, with the same formulas evaluated in float64, which cannot wrap."""
        arch, wl = self.arch, self.wl
        f = np.float64
        N = arch.macro.count
        worst = np.zeros(len(wl.layers) + 1)
        if m is not None:
            tile = hw_ctrl.tile_cycles(arch, self.bits_in.astype(f), self.bits_out.astype(f),
                                       m.outputs_per_tile.astype(f), self.pixels.astype(f), self.bits_w.astype(f))
            load = np.minimum(N, m.tiles).astype(f) * weight_load_cycles(arch, (m.rows_per_tile
                                                                                * m.cols_per_tile).astype(f))
            rounds = np.ceil(m.tiles.astype(f) / N)
            worst[self.comp_idx] = np.maximum(rounds * (tile + load) + load, m.tiles.astype(f) * tile)
        spill = np.maximum(self.live_bits.astype(f) - arch.sram.capacity_bits, 0.0)
        worst[:-1] += 2 * (arch.dma.latency_cycles + spill / arch.dma.bandwidth_bits_per_cycle)
        total = np.cumsum(worst)
        if not total[-1] < EXACT_LIMIT:
            i = min(int(np.argmax(~(total < EXACT_LIMIT))), len(wl.layers) - 1)
            l = wl.layers[i]
            raise InputError(f"on '{arch.name}' the run would take about {total[-1]:.3g} cycles up to this layer, "
                             f"more than the {EXACT_LIMIT:.3g} the engines count exactly (a huge layer on a very "
                             "slow architecture?)", l.where or Where(wl.file), f"layers[{i}]({l.name})")

    def check_plan_tiles(self) -> None:
        """Every engine enumerates the tiles (the assignment is two int64 arrays per layer): refuse a
        network past MAX_PLAN_TILES before any array of that size is asked for."""
        m = self.mapping
        if m is None or int(m.tiles.sum()) <= MAX_PLAN_TILES:
            return
        j = int(np.argmax(np.cumsum(m.tiles) > MAX_PLAN_TILES))
        l = self.wl.layers[int(self.comp_idx[j])]
        raise InputError(f"the network needs {int(m.tiles.sum()):,} weight tiles on '{self.arch.name}' (layer "
                         f"'{l.name}' alone {int(m.tiles[j]):,}), over the limit of {MAX_PLAN_TILES:,} tiles a plan "
                         "enumerates (macros of very few rows or columns for this layer?)",
                         l.where or Where(self.wl.file), f"layers[{int(self.comp_idx[j])}]({l.name})")

    def check_tile_limit(self) -> None:
        """The TLM engine runs every tile as objects and events: refuse networks past MAX_TILES."""
        m = self.mapping
        if m is None or int(m.tiles.sum()) <= MAX_TILES:
            return
        j = int(np.argmax(m.tiles))
        l = self.wl.layers[int(self.comp_idx[j])]
        raise InputError(f"{int(m.tiles.sum()):,} weight tiles in all (layer '{l.name}' alone has "
                         f"{int(m.tiles[j]):,}); the tlm engine simulates at most {MAX_TILES:,} tile runs per "
                         "simulation: use --engine analytic for a network this large",
                         l.where or Where(self.wl.file), f"{l.name}")

    # ---- layout and per-layer scalars ---------------------------------------------------------------
    def _layout(self) -> None:
        a, wl = self.arch, self.wl
        lay = self.sram = SramLayout(a.sram.capacity_bits, bank_interleave_bits(a))
        lay.place("input", self.io_in_bits)
        for i, l in enumerate(wl.layers):
            if l.type in VIEW_TYPES:
                lay.alias(l.name, l.inputs[0])
            else:
                lay.place(l.name, int(self.out_bits[i]))
        if self.mapping is not None:
            for j, i in enumerate(self.comp_idx):
                if self.psum_bits[j]:
                    lay.place(f"{wl.layers[i].name}.psum", int(self.out_elems[i]) * a.controller.psum_bits)

    def _fill_layers(self, compute_txn_macs) -> None:
        lay, wl = self.sram, self.wl
        for i, l in enumerate(wl.layers):
            p = self._layers[i]
            p.in_addrs = tuple(lay.address[s] for s in l.inputs)
            p.in_addr = p.in_addrs[0]
            p.out_addr = lay.address[l.name]
            p.spill_bits = int(self.spill_bits[i])
        m = self.mapping
        if m is not None:  # the per-layer arrays as Python ints (floats), once
            pixels, bits_in, bits_out, bits_w, dp_phases, t_dp, t_cv, period, tile_cycles, load_cycles, \
                tile_bits, rounds, tiles, rows_pt, outs_pt = (
                    a.tolist() for a in (self.pixels, self.bits_in, self.bits_out, self.bits_w, self.dp_phases,
                                         self.t_dp, self.t_cv, self.period, self.tile_cycles, self.load_cycles,
                                         self.tile_bits, self.rounds, m.tiles, m.rows_per_tile,
                                         m.outputs_per_tile))
            density = self.density.tolist()
        for j, i in enumerate(self.comp_idx.tolist()):
            p = self._layers[i]
            p._j = j
            p.pixels, p.bits_in, p.bits_out = pixels[j], bits_in[j], bits_out[j]
            p.bits_w, p.dp_phases = bits_w[j], dp_phases[j]
            p.t_dp, p.t_cv, p.period = t_dp[j], t_cv[j], period[j]
            p.tile_cycles, p.load_cycles = tile_cycles[j], load_cycles[j]
            p.tile_bits, p.rounds, p.n_tiles = tile_bits[j], rounds[j], tiles[j]
            p.passes = int(self.passes[j])
            p.density = density[i]
            p.psum_bits = self.arch.controller.psum_bits
            p.psum_addr = lay.address.get(f"{p.name}.psum", 0)
            macs_px = rows_pt[j] * outs_pt[j]
            p.chunk_pixels = max(1, -(-compute_txn_macs // max(macs_px, 1)),
                                 -(-p.pixels * p.n_tiles // MAX_COMPUTE_TXN_PER_LAYER))
        for j, i in enumerate(self.dig_idx):
            p = self._layers[i]
            p.ops = int(self.ops[j])
            p.read_bits, p.write_bits = int(self.dig_read_bits[j]), int(self.dig_write_bits[j])
            l = wl.layers[i]
            if self.moves[j]:
                p.in_bits_each = tuple(math.prod(s) * l.bits_in * self.batch for s in (l.in_shapes or (l.in_shape,)))

    def _build_tiles(self, p: LayerPlan) -> list:
        arch, m, j = self.arch, self.mapping, p._j
        l = self.wl.layers[p.row]
        g, rows_g = int(m.groups[j]), int(m.rows_per_group[j])
        cout_g = l.c_out // g
        in_total = int(self.in_bits[p.row])
        rows_total = g * rows_g
        P, psum, r_out = p.pixels, arch.controller.psum_bits, p.bits_out
        tmac, tround = self.assignment[j]
        tmac, tround = tmac.tolist(), tround.tolist()
        res = self.resident
        tiles = []
        for t in tile_grid(arch, m, j, l):  # the one tile geometry (tlm/mapping/geometry.py)
            ng, k = t.groups, t.index
            c0 = t.group0 * cout_g + t.ch0
            r0 = t.group0 * rows_g + t.row0
            r1 = r0 + ng * t.rows  # packed groups (groups per tile > 1) have a single row tile
            lo, hi = in_total * r0 // rows_total, in_total * r1 // rows_total
            cols = t.channels * l.bits_w
            outs = ng * t.channels
            cells = ng * ng * t.rows * cols
            tiles.append(Tile(index=k, row_tile=t.row_tile, last_row=t.last_row, rows=ng * t.rows, cols=ng * cols,
                              cells=cells, outputs=outs,
                              conversions=int(hw_adc.conversions_per_pixel(arch, outs, p.bits_in, l.bits_w)),
                              in_lo=lo, in_hi=hi, ch_lo=c0, ch_hi=c0 + outs, read_bits=hi - lo,
                              write_bits=P * outs * (r_out if t.last_row else psum),
                              psum_read_bits=P * outs * psum if t.row_tile > 0 else 0,
                              weight_bits=0 if res else cells, macro=tmac[k], round=tround[k], shape=t))
        assert len(tiles) == p.n_tiles
        return tiles

    def _serial_bound(self) -> int:
        """Every block's whole demand one after the other (one SRAM bank, one DMA channel, one macro):
        an upper bound of any run's cycles, contended or not."""
        a = self.arch
        dma = self.io_in_bits + self.io_out_bits + 2 * int(self.spill_bits.sum())
        total = int(hw_dma.transfer_cycles(a, dma)) + 2 * len(self.wl.layers) * (a.dma.latency_cycles + 1)
        sram = self.io_in_bits + self.io_out_bits
        ops = 0
        if self.mapping is not None:
            m = self.mapping
            total += int((m.tiles * self.passes * (self.tile_cycles + self.load_cycles)).sum())
            sram += int((self.in_bits[self.comp_idx] * m.col_tiles + self.out_bits[self.comp_idx]
                         + 2 * self.psum_bits).sum())
            ops += int(self.psum_bits.sum() // a.controller.psum_bits)
        if len(self.dig_idx):
            sram += int(self.dig_read_bits.sum() + self.dig_write_bits.sum())
            ops += int(self.ops.sum())
        total += int(hw_sram.access_cycles(a, sram, 1)) + int(hw_pp.op_cycles(a, ops))
        return total + len(self.wl.layers) + 1


def structure(arch, wl: Workload) -> dict:
    """The base fields (but the timed ones) a plan of `wl` on `arch` shares with its structure's (template.py),
    made when not kept (template.ON False: the Mapping and an empty `_structure`).  Raises as a plan would."""
    k = template.key(arch, wl)
    if k is None:
        return {"mapping": map_layers(arch, [l for l in wl.layers if l.is_compute]), "_structure": {}}
    got = template.get(k, wl, arch)
    if got is None:
        check_against(wl, arch)
        p = Plan.__new__(Plan)
        p.arch, p.wl, p.policy = arch, wl, "sequential"
        p._base(arch, wl, None)  # (kept unless `k` was a probe of the template after giving up, `_base`'s not)
    return got or template.get(k, wl) or {"mapping": p.mapping, "_structure": {}}


def build_plan(arch, wl: Workload, input_density=None, policy: str | None = None, shared: dict | None = None,
               steady: bool = False) -> Plan:
    """The plan of `wl` on `arch` (see the module docstring).  `input_density` (one value per layer)
    replaces the config's default input bit density, e.g. measured on data.  `policy`: the mapping
    policy (default `arch.mapping.policy`, which must not be `auto` here: the engines resolve it).
    `shared`: a dict handed to the plans of one architecture and workload (and input density) under
    several policies (architectures that differ in `mapping` only; tlm/analytic.choose_policy): what
    they have in common -- the policy-independent fields (Plan._base), the tile packing, the row
    cycles of the compute layers, and a schedule two policies' assignments both give (replicate
    without a replica is pipelined) -- is built by the first and read by the others, so each plan is
    the one it would be alone.  `steady`: a streamed schedule's statistics from its periodic steady state
    (tlm/mapping/steady.py: the same numbers, a cost that does not grow with the batch; the job list then
    holds a few images only, so only the analytic engine asks for it)."""
    policy = arch.mapping.policy if policy is None else policy
    if steady and input_density is None:  # (tlm/mapping/reuse.py: the same plan for points that differ only
        from tlm.mapping.reuse import shared_plan  # in fields no plan reads)
        return shared_plan(lambda a: Plan(a, wl, None, policy, shared, steady), arch, wl, policy, shared)
    return Plan(arch, wl, input_density, policy, shared, steady)
