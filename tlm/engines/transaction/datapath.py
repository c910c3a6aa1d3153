"""The data of a functional TLM run (`tlm simulate --functional`): real images through the blocks.

Not a hardware block: the shared state the blocks read and write when data flows, so that each block's
change stays a few lines.  Who does what:
- the controller puts the images into the activation SRAM model when the image-in DMA is over
  (`image_in`), lets post-processing run each digital layer on the SRAM tensors (`digital`) and closes a
  compute layer after its last round (`finish`: the accumulated row-tile partials -> output codes);
- a macro's COMPUTE transaction carries `data` = numpy views of its inputs (the chunk's pixels x the tile's
  rows of the layer's im2col matrix, one view per group of the tile; no copy per MAC); the macro's DPs
  are computed bit-plane by bit-plane with tlm.functional.model.macro_dp (the same kernel as
  tlm/functional/model.py) on the weights its array holds (`array`), and handed to its ADC pipeline in the
  CONVERT transaction's `data`.  For speed the kernel runs on blocks of consecutive chunks of a tile
  (BLOCK_MACS MACs, whole chunks), computed when the block's first chunk is served (`dp`): exact
  integers, so the same values as chunk by chunk; each transaction gets its slice and its own count of
  input bits that are 1 (its energy);
- the ADC pipeline applies the noise, the ABN gain/offset and the clipping (tlm.functional.model.adc_final /
  adc_partial, the same code as tlm/functional/model.py) and writes the codes (or the partials) into the
  layer's buffer in the SRAM model (`out` / `psum`).
Tiles (rows, channels, groups) are the shared plan's (tlm/mapping/plan.py); the im2col matrix of a layer is
formed once, when its first tile reads it (the macro's input-window registers in hardware).
"""
from __future__ import annotations

import numpy as np

from tlm.functional import model as F

BLOCK_MACS = 1 << 22  # MACs of one kernel call: the chunks of a tile are computed in blocks of this size


class DataPath:
    def __init__(self, net, images: np.ndarray, swing: str, noise_lsb: float, seed: int = 0):
        self.net, self.arch, self.wl = net, net.arch, net.wl
        self.images = images
        self.swing, self.noise_lsb = swing, float(noise_lsb)
        self.rng = np.random.default_rng(seed)
        self.tensors: dict = {}  # the activation SRAM model's contents (tlm.engines.transaction.sram.Sram.data): name -> codes
        self.zp = {"input": 0}
        self.stats = {n: F.LayerStats() for n in net.q}  # measured per compute layer
        self._xm: dict = {}  # row -> im2col matrix (G, M, rows per group) of the layer's input
        self._out: dict = {}  # row -> output (final codes) or accumulated partials, (G, M, Cout/G)
        self._geo: dict = {}
        self._blocks: dict = {}  # (row, tile index) -> kernel block: lo, hi, DPs per group, ones prefix, converted
        self._whole: set = set()  # rows computed a whole tile per block (mapped runs: ensure)
        # tile geometry -> per group of the tile: (combined weights, weight ones); kept with the network, so
        # that the next run on it finds its macros' arrays written (weights loaded once)
        self._arrays: dict = net.__dict__.setdefault("_tile_arrays", {})
        self.chunk_ones = 0.0  # input bits that are 1 in the last COMPUTE (for its energy)

    # ---- the controller -------------------------------------------------------------------------
    def image_in(self) -> None:
        self.tensors["input"] = self.images.astype(np.float32)

    def digital(self, plan) -> None:
        L = self.wl.layers[plan.row]
        xs = [self.tensors[s] for s in L.inputs]
        y, zp = F.digital(L, xs, [self.zp[s] for s in L.inputs], (1 << L.bits_out) - 1, False,
                          self.net.joins.get(L.name))
        self.tensors[L.name], self.zp[L.name] = y.astype(np.float32), zp

    def finish(self, plan) -> None:
        """After a compute layer's last round: row-tile partials -> codes; the tensor lands in the SRAM."""
        self._finish_tensor(plan)
        self.release(plan)

    def _finish_tensor(self, plan) -> None:
        L = self.wl.layers[plan.row]
        q = self.net.q[L.name]
        y = self._out.pop(plan.row)
        if self._partial(q):
            g = L.groups
            y = F.adc_finish(y, q.gain.reshape(g, 1, -1), q.offset.reshape(g, 1, -1), L, self.swing)
        self.tensors[L.name] = F._from_matrix_output(y, L, len(self.images)).astype(np.float32)
        self.zp[L.name] = q.zp_out

    def ensure(self, plan) -> None:
        """A mapped run (tlm/engines/transaction/pipeline.py), when the layer's first job starts: every
        tile's DPs over all its pixels (one kernel block per tile, kept until `release`), converted, and
        the layer's output tensor in the SRAM.  Its jobs' transactions, whatever their order, then carry
        slices of these (the same values as the sequential run; the noise draws in another order)."""
        self._whole.add(plan.row)
        for tile in plan.tiles:
            self.convert(plan, tile, 0, plan.pixels, None)
        self._finish_tensor(plan)

    def release(self, plan) -> None:
        """The layer's kernel blocks and im2col matrix are no longer needed."""
        self._xm.pop(plan.row, None)
        for k in [k for k in self._blocks if k[0] == plan.row]:
            del self._blocks[k]

    def _partial(self, q) -> bool:
        return self.swing != "adaptive" or len(F.row_tiles(q.w_int[0].size, self.arch.macro.rows)) > 1

    # ---- a macro ------------------------------------------------------------------------------------
    def _geometry(self, plan, tile):
        """The tile's layer, its groups, its rows in each group's im2col rows and its channels within each
        group (the plan's tile geometry, tlm/mapping/geometry.tile_grid)."""
        key = (plan.row, tile.index)
        g = self._geo.get(key)
        if g is None:
            s = tile.shape
            g = self._geo[key] = (self.wl.layers[plan.row], range(s.group0, s.group0 + s.groups),
                                  slice(s.row0, s.row0 + s.rows), slice(s.ch0, s.ch0 + s.channels))
        return g

    def array(self, plan, tile):
        """What the macro's array holds for `tile`: per group, the weights' bit columns combined in
        charge (rows, channels) and the weight bits set per row (for the DP activity)."""
        L, groups, rsl, csl = self._geometry(plan, tile)
        key = (L.name, L.bits_w, groups.start, groups.stop, rsl.start, rsl.stop, csl.start, csl.stop)
        a = self._arrays.get(key)
        if a is None:
            wm = self.net.q[L.name].weight_matrix()
            a = []
            for gi in groups:
                wcols, colw = F.weight_bit_columns(wm[gi][rsl, csl], L.bits_w)
                a.append((F.combine_columns(wcols, colw), wcols.sum(1, dtype=np.float64)))
            self._arrays[key] = a
        return a

    def inputs(self, plan, tile, lo: int, hi: int) -> list:
        """Views (no copies) of the chunk's input codes: per group of the tile, pixels [lo, hi) x its rows
        (what a COMPUTE transaction carries)."""
        return self._views(plan, tile, lo, hi)

    def _views(self, plan, tile, lo: int, hi: int) -> list:
        xm = self._xm.get(plan.row)
        if xm is None:
            L = self.wl.layers[plan.row]
            t = self.tensors[L.inputs[0]]
            if L.bits_in <= 8:  # codes as bytes: the im2col matrix is 4x smaller than in float32
                t = t.astype(np.uint8)
            xm = self._xm[plan.row] = F._as_matrix_input(t, L)
            if plan.row not in self._out:
                self._out[plan.row] = np.zeros((L.groups, xm.shape[1], L.c_out // L.groups))
        _, groups, rsl, _ = self._geometry(plan, tile)
        return [xm[gi][lo:hi, rsl] for gi in groups]

    def dp(self, plan, tile, lo: int, hi: int):
        """The charge-domain DPs of pixels [lo, hi) of `tile` (per group: pixels x channels) and the input
        bits that were 1, from the kernel block holding them (computed when its first chunk is served)."""
        blk = self._block(plan, tile, lo)
        b0 = blk[0]
        return [d[lo - b0:hi - b0] for d in blk[2]], float(blk[3][hi - b0] - blk[3][lo - b0])

    def _block(self, plan, tile, lo):
        key = (plan.row, tile.index)
        blk = self._blocks.get(key)
        if blk is None or not blk[0] <= lo < blk[1]:
            L = self.wl.layers[plan.row]
            cp = plan.chunk_pixels
            macs_px = max(1, tile.rows * tile.outputs)
            n = max(1, -(-BLOCK_MACS // (macs_px * cp))) * cp  # whole chunks
            if plan.row in self._whole:
                lo, n = 0, plan.pixels
            hi = min(lo + n, _pass_end(plan, lo))
            st = self.stats[L.name].dp
            st.bits_w = L.bits_w
            views = self._views(plan, tile, lo, hi)
            dps = [F.macro_dp(x, w, L.bits_in, st, wo) for x, (w, wo) in zip(views, self.array(plan, tile))]
            ones = np.concatenate(st.pixel_ones).reshape(len(views), -1).sum(0)
            st.pixel_ones.clear()
            blk = self._blocks[key] = (lo, hi, dps, np.concatenate(([0.0], np.cumsum(ones))), [False])
        return blk

    # ---- an ADC pipeline ------------------------------------------------------------------------------
    def convert(self, plan, tile, lo: int, hi: int, dps) -> None:
        """Noise, ABN gain/offset, rounding and clipping of the chunk's DPs; codes (or partials) into the
        layer's buffer in the SRAM model.  Conversions are elementwise: the kernel block's are done at once
        when its first chunk converts (the same values; the noise draws in another order)."""
        blk = self._block(plan, tile, lo)
        if blk[4][0]:
            return
        blk[4][0] = True
        b0, b1, dps = blk[0], blk[1], blk[2]
        L, groups, rsl, csl = self._geometry(plan, tile)
        q = self.net.q[L.name]
        out, st = self._out[plan.row], self.stats[L.name]
        n_conn = F.connected_rows(rsl.stop - rsl.start, self.arch)
        cout_g = L.c_out // L.groups
        partial = self._partial(q)
        for gi, dp in zip(groups, dps):
            c = slice(gi * cout_g + csl.start, gi * cout_g + csl.stop)
            gain, off = q.gain[c], q.offset[c]
            if partial:
                out[gi, b0:b1, csl] += F.adc_partial(dp, gain, n_conn, L, self.arch, self.swing, self.noise_lsb,
                                                     self.rng, st)
            else:
                out[gi, b0:b1, csl] = F.adc_final(dp, gain, off, n_conn, L, q.relu, self.arch, self.noise_lsb,
                                                  self.rng, st)

    # ---- the result ---------------------------------------------------------------------------------
    def outputs(self) -> np.ndarray:
        return self.tensors[self.wl.layers[-1].name]


def _pass_end(plan, lo: int) -> int:
    """The end of the pass holding pixel `lo` (tlm/mapping/batching.py: a layer run image by image makes
    `passes` passes over pixels [P b // passes, P (b + 1) // passes), each chunked from its own start, as
    the controller issues them): a kernel block never crosses a pass, so every chunk lies inside one."""
    P, n = plan.pixels, plan.passes
    if n <= 1:
        return P
    b = lo * n // P
    while P * (b + 1) // n <= lo:
        b += 1
    while b > 0 and P * b // n > lo:
        b -= 1
    return P * (b + 1) // n
